//! How one bitmap maps to rows: a value in the `bitmaps` table, and for a bitmap larger than
//! a small tail, rows of fixed sizes (1, 1/2, 1/4, 1/8 page) that redb packs without gaps.
//!
//! # Why
//!
//! redb keeps a pair that does not fit in one 4 KiB page in a page of its own whose size is
//! rounded up to a power of two: a 130 KiB bitmap (16 full roaring containers) took 256 KiB
//! of file. And a leaf holds whole pairs only: values of 2-4 KiB leave pages half empty. So
//! a serialization of `T` bytes is cut into:
//! - `N = T / C` full-page chunks of exactly `C` bytes in `chunks`, where `C` makes the
//!   chunk and its key fill one page ([`row_len`] with k = 1);
//! - then at most one row in each of `chunks_half`, `chunks_quarter`, `chunks_eighth`,
//!   sized so that exactly 2, 4 or 8 such pairs fill a page, whatever their keys (each pair
//!   takes at most its share of the page); a table holds rows of one size class only, so
//!   its pages fill up;
//! - and the rest, less than about 1/8 page, inline in the `bitmaps` value (see
//!   `codec.rs`), among small values that pack well.
//!
//! A serialization that needs no rows stays an inline value (format 1).
//!
//! # Invariants
//!
//! - Row `(key, i)` of `chunks` exists for `i < N` exactly when the key's `bitmaps` value is
//!   a chunked header saying `N`; row `(key, 0)` of the 1/2^j table exists exactly when bit
//!   j-1 of its parts mask is set. No other rows exist: [`WriteTables::insert`] removes
//!   what the new value does not use, [`WriteTables::remove`] removes all of a key's rows,
//!   in the same write transaction as the `bitmaps` row.
//! - A full-page chunk whose bytes did not change is not rewritten (a changed bit in a
//!   128 KiB bitmap rewrites one or two 4 KiB pages, not 32).
//! - Every value written is run-optimized first by the caller (`codec::optimize`).
//! - Row `(key, i)` of `chunks` holds bytes `i * C .. (i + 1) * C` of the serialization, so a
//!   byte range maps to its rows by division alone; the part rows and the tail hold bytes
//!   `N * C ..` in mask order. A restricted read (`partial.rs`) relies on this to read only
//!   the rows of the roaring header and of the containers it needs, never all rows.

use std::cell::RefCell;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, TableError, TableHandle,
    WriteTransaction,
};

use super::BITMAPS;
use super::at_path::AtPath;
use super::codec::{self, ChunkedHeader, Stored};
use super::partial::{self, InMemory};
use super::versions;
use crate::bitmap::Bitmap;
use crate::error::Result;

/// A table of rows: `(key, index)` -> bytes of the key's serialization.
type RowTable = TableDefinition<'static, (&'static str, u32), &'static [u8]>;

/// Full-page chunks: `(key, i)` -> exactly `chunk_len` bytes.
pub(super) const CHUNKS: RowTable = TableDefinition::new("chunks");

/// The part tables, 1/2, 1/4 and 1/8 page: `(key, 0)` -> one row.
pub(super) const PARTS: [RowTable; 3] = [
    TableDefinition::new("chunks_half"),
    TableDefinition::new("chunks_quarter"),
    TableDefinition::new("chunks_eighth"),
];

/// redb's page size (4 KiB; not configurable in redb 4).
const PAGE: usize = 4096;

/// redb's leaf page header.
const LEAF_HEADER: usize = 4;

/// redb's bytes per pair besides key and value: its key end and value end.
const PAIR_OVERHEAD: usize = 8;

/// Bytes left unused in each page, in case a redb version grows its leaf header: a row one
/// byte too big would take two pages.
const MARGIN: usize = 16;

/// Rows shorter than this are not worth a row (very long keys).
const MIN_ROW: usize = 128;

/// The length of a row of `key` such that `k` such pairs (of any keys) fill one page;
/// `None` when the key is so long that the row would be small.
pub(super) fn row_len(key: &str, k: usize) -> Option<usize> {
    let encoded = <(&str, u32) as redb::Value>::as_bytes(&(key, 0u32));
    let key_bytes = AsRef::<[u8]>::as_ref(&encoded).len();
    ((PAGE - LEAF_HEADER - MARGIN) / k)
        .checked_sub(PAIR_OVERHEAD + key_bytes)
        .filter(|&c| c >= MIN_ROW)
}

/// How a serialization of `len` bytes under `key` is cut: (full chunks, their length,
/// parts mask, part lengths).
fn plan(key: &str, len: usize) -> (usize, usize, u8, [usize; 3]) {
    let Some(c) = row_len(key, 1) else {
        return (0, 0, 0, [0; 3]);
    };
    let chunks = len / c;
    let mut rest = len - chunks * c;
    let mut mask = 0u8;
    let mut lens = [0usize; 3];
    for (j, k) in [2usize, 4, 8].into_iter().enumerate() {
        if let Some(part) = row_len(key, k)
            && rest >= part
        {
            mask |= 1 << j;
            lens[j] = part;
            rest -= part;
        }
    }
    (chunks, c, mask, lens)
}

/// A row table open for reading.
type ReadRows = ReadOnlyTable<(&'static str, u32), &'static [u8]>;

/// The tables of a read transaction, for loading bitmaps.
pub(super) struct ReadTables {
    bitmaps: ReadOnlyTable<&'static str, &'static [u8]>,
    /// `chunks` then the part tables; `None` where missing (a file never written by
    /// format 2, opened read-only).
    rows: [Option<ReadRows>; 4],
    /// Where a chunked value's serialization is gathered before decoding, reused from key
    /// to key: a fresh buffer per value (1.25 MB for ten million users) cost a mapping and
    /// its page faults each time.
    scratch: RefCell<Vec<u8>>,
    /// Where a restricted read assembles the containers it needs (see `partial.rs`).
    assembled: RefCell<Vec<u8>>,
}

pub(super) use super::at_path::redb_err;

/// `chunks` followed by the part tables.
fn row_tables() -> [RowTable; 4] {
    [CHUNKS, PARTS[0], PARTS[1], PARTS[2]]
}

impl ReadTables {
    /// Opens the tables in `txn`.
    pub(super) fn open(path: &Path, txn: &ReadTransaction) -> Result<Self> {
        let bitmaps = txn.open_table(BITMAPS).at(path)?;
        let mut rows = [None, None, None, None];
        for (slot, def) in rows.iter_mut().zip(row_tables()) {
            *slot = match txn.open_table(def) {
                Ok(t) => Some(t),
                Err(TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(redb_err(path, e)),
            };
        }
        Ok(ReadTables {
            bitmaps,
            rows,
            scratch: RefCell::new(Vec::new()),
            assembled: RefCell::new(Vec::new()),
        })
    }

    /// The `bitmaps` table.
    pub(super) fn bitmaps(&self) -> &ReadOnlyTable<&'static str, &'static [u8]> {
        &self.bitmaps
    }

    /// The bitmap of `key`; `None` when it does not exist.
    pub(super) fn load(&self, path: &Path, key: &str) -> Result<Option<Bitmap>> {
        match self.bitmaps.get(key).at(path)? {
            Some(value) => self.decode(path, key, value.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Appends rows `(key, 0..count)` of table `t` to `body`; `len` checks each row's
    /// length when given.
    fn append_rows(
        &self,
        path: &Path,
        key: &str,
        t: usize,
        count: u32,
        len: Option<u32>,
        body: &mut Vec<u8>,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let Some(table) = &self.rows[t] else {
            return Err(codec::corrupt(key, "its rows are missing (no row table)"));
        };
        let mut next = 0u32;
        for item in table.range((key, 0u32)..(key, count)).at(path)? {
            let (k, v) = item.at(path)?;
            let (index, row) = (k.value().1, v.value());
            if index != next || len.is_some_and(|l| row.len() != l as usize) {
                return Err(codec::corrupt(
                    key,
                    format!(
                        "row {next} of {count} in {} is missing or malformed",
                        row_tables()[t].name()
                    ),
                ));
            }
            body.extend_from_slice(row);
            next += 1;
        }
        if next != count {
            return Err(codec::corrupt(
                key,
                format!(
                    "only {next} of its {count} rows in {} are stored",
                    row_tables()[t].name()
                ),
            ));
        }
        Ok(())
    }

    /// Runs `read` on the roaring serialization of `key` as a [`partial::Source`] (its
    /// inline bytes, or its rows read as `read` asks for byte ranges) with its Redis length;
    /// `None` when the key does not exist.
    fn with_source<T>(
        &self,
        path: &Path,
        key: &str,
        read: impl FnOnce(&mut dyn partial::Source, u32) -> Result<T>,
    ) -> Result<Option<T>> {
        let Some(value) = self.bitmaps.get(key).at(path)? else {
            return Ok(None);
        };
        let read = match codec::parse(key, value.value())? {
            Stored::Inline { byte_len, roaring } => read(&mut InMemory(roaring), byte_len)?,
            Stored::Chunked {
                byte_len,
                total,
                chunks,
                chunk_len,
                parts,
                tail,
            } => {
                let mut scratch = self.scratch.borrow_mut();
                let mut rows = RowSource {
                    tables: self,
                    path,
                    key,
                    total: total as usize,
                    chunks,
                    chunk_len: chunk_len as usize,
                    parts,
                    tail,
                    fetched: &mut scratch,
                    end: None,
                };
                read(&mut rows, byte_len)?
            }
        };
        Ok(Some(read))
    }

    /// The bitmap of `key` AND `within`, fetching and decoding only the roaring containers
    /// `within` has, so only the rows holding them are read (see `partial.rs`); `None` when
    /// it does not exist.
    pub(super) fn load_within(
        &self,
        path: &Path,
        key: &str,
        within: &Bitmap,
    ) -> Result<Option<Bitmap>> {
        let mut assembled = self.assembled.borrow_mut();
        self.with_source(path, key, |src, byte_len| {
            partial::decode_within(key, byte_len, src, within, &mut assembled)
        })
    }

    /// How many bits `key` has set, from the roaring header alone (see `partial::count`):
    /// one lookup of the value and, for a chunked one, of its first row; `None` when it
    /// does not exist.
    pub(super) fn count(&self, path: &Path, key: &str) -> Result<Option<u64>> {
        self.with_source(path, key, |src, byte_len| {
            partial::count(key, byte_len, src)
        })
    }

    /// The keys of `key`'s roaring containers, from the roaring header alone (empty when it
    /// does not exist).
    pub(super) fn container_keys(&self, path: &Path, key: &str) -> Result<Vec<u16>> {
        Ok(self
            .with_source(path, key, |src, _| partial::keys_of(key, src))?
            .unwrap_or_default())
    }

    /// Writes into `out` the serialization of `key`'s containers whose keys lie in `span`
    /// (see `partial::span_of`): only the rows of the header and of those containers are
    /// read. `out` is left empty when the key does not exist or has none there.
    pub(super) fn load_span(
        &self,
        path: &Path,
        key: &str,
        span: RangeInclusive<u16>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        self.with_source(path, key, |src, _| partial::span_of(key, src, span, out))?;
        Ok(())
    }

    /// Decodes the `bitmaps` value `bytes` of `key`, reading its rows if it has any.
    pub(super) fn decode(&self, path: &Path, key: &str, bytes: &[u8]) -> Result<Bitmap> {
        self.decode_with(path, key, bytes, codec::decode_roaring)
    }

    /// Gathers the roaring serialization of the `bitmaps` value `bytes` of `key` (reading
    /// its rows if it has any) and decodes it with `decode(key, byte_len, serialization)`.
    fn decode_with(
        &self,
        path: &Path,
        key: &str,
        bytes: &[u8],
        decode: impl FnOnce(&str, u32, &[u8]) -> Result<Bitmap>,
    ) -> Result<Bitmap> {
        match codec::parse(key, bytes)? {
            Stored::Inline { byte_len, roaring } => decode(key, byte_len, roaring),
            stored @ Stored::Chunked { byte_len, .. } => {
                let mut body = self.scratch.borrow_mut();
                body.clear();
                self.append_chunked(path, key, &stored, &mut body)?;
                decode(key, byte_len, &body)
            }
        }
    }

    /// The roaring serialization of `key` as stored (its rows gathered), not decoded: for a
    /// reader that takes the containers apart itself (`partial::DenseParts`, which checks
    /// every length it uses). `None` when the key does not exist.
    pub(super) fn load_serialized(&self, path: &Path, key: &str) -> Result<Option<Vec<u8>>> {
        let Some(value) = self.bitmaps.get(key).at(path)? else {
            return Ok(None);
        };
        let mut body = Vec::new();
        match codec::parse(key, value.value())? {
            Stored::Inline { roaring, .. } => body.extend_from_slice(roaring),
            stored => self.append_chunked(path, key, &stored, &mut body)?,
        }
        Ok(Some(body))
    }

    /// Appends to `body` the serialization of the chunked value `stored`: its rows, then its
    /// tail, checking the total length. An inline value appends nothing.
    fn append_chunked(
        &self,
        path: &Path,
        key: &str,
        stored: &Stored<'_>,
        body: &mut Vec<u8>,
    ) -> Result<()> {
        let Stored::Chunked {
            total,
            chunks,
            chunk_len,
            parts,
            tail,
            ..
        } = *stored
        else {
            return Ok(());
        };
        let start = body.len();
        body.reserve(total as usize);
        self.append_rows(path, key, 0, chunks, Some(chunk_len), body)?;
        for j in 0..3 {
            if parts & (1 << j) != 0 {
                self.append_rows(path, key, j + 1, 1, None, body)?;
            }
        }
        body.extend_from_slice(tail);
        if body.len() - start != total as usize {
            return Err(codec::corrupt(
                key,
                format!(
                    "its rows hold {} bytes, the header says {total}",
                    body.len() - start
                ),
            ));
        }
        Ok(())
    }

    /// Reads rows `(key, i)` for `i` in `rows` of the `chunks` table, each exactly
    /// `chunk_len` long, calling `each(i, row)` in order (one range scan).
    fn for_chunks(
        &self,
        path: &Path,
        key: &str,
        rows: Range<u32>,
        chunk_len: usize,
        mut each: impl FnMut(u32, &[u8]),
    ) -> Result<()> {
        let Some(table) = &self.rows[0] else {
            return Err(codec::corrupt(key, "its rows are missing (no row table)"));
        };
        let mut next = rows.start;
        for item in table.range((key, rows.start)..(key, rows.end)).at(path)? {
            let (k, v) = item.at(path)?;
            let (index, row) = (k.value().1, v.value());
            if index != next || row.len() != chunk_len {
                return Err(codec::corrupt(
                    key,
                    format!("row {next} in chunks is missing or malformed"),
                ));
            }
            each(index, row);
            next += 1;
        }
        if next != rows.end {
            return Err(codec::corrupt(
                key,
                format!("row {next} in chunks is missing"),
            ));
        }
        Ok(())
    }

    /// The length of the roaring serialization stored under `bytes` (a `bitmaps` value),
    /// from its header alone.
    pub(super) fn roaring_len(key: &str, bytes: &[u8]) -> Result<u64> {
        Ok(codec::parse(key, bytes)?.roaring_len())
    }
}

/// A chunked value's serialization, read row by row as `partial.rs` asks for byte ranges:
/// a range within the full-page chunks reads only the chunk rows it overlaps (one redb
/// range scan); the part rows and the tail are read together, once, when first touched.
struct RowSource<'a> {
    tables: &'a ReadTables,
    path: &'a Path,
    key: &'a str,
    /// The serialization's length.
    total: usize,
    /// How many full-page chunks, each `chunk_len` bytes.
    chunks: u32,
    chunk_len: usize,
    /// The parts mask of the header.
    parts: u8,
    /// The tail, from the header.
    tail: &'a [u8],
    /// The bytes of the last fetch.
    fetched: &'a mut Vec<u8>,
    /// The part rows then the tail, once read.
    end: Option<Vec<u8>>,
}

impl RowSource<'_> {
    /// Bytes from the end of the full-page chunks on: the part rows, then the tail.
    fn end(&mut self) -> Result<&[u8]> {
        if self.end.is_none() {
            let mut end = Vec::new();
            for j in 0..3 {
                if self.parts & (1 << j) != 0 {
                    self.tables
                        .append_rows(self.path, self.key, j + 1, 1, None, &mut end)?;
                }
            }
            end.extend_from_slice(self.tail);
            let full = self.chunks as usize * self.chunk_len;
            if full + end.len() != self.total {
                return Err(codec::corrupt(
                    self.key,
                    format!(
                        "its rows hold {} bytes, the header says {}",
                        full + end.len(),
                        self.total
                    ),
                ));
            }
            self.end = Some(end);
        }
        Ok(self.end.as_deref().unwrap_or_default())
    }
}

impl RowSource<'_> {
    /// Appends bytes `range` to `out`: the chunk rows it overlaps (one range scan), then
    /// what lies in the part rows and the tail.
    fn append(&mut self, range: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        if range.start > range.end || range.end > self.total {
            return Err(codec::corrupt(
                self.key,
                format!("bytes {range:?} lie outside its {} bytes", self.total),
            ));
        }
        let c = self.chunk_len;
        let full = self.chunks as usize * c;
        if range.start < full.min(range.end) {
            // parse() checked chunks * chunk_len <= total, so these indices fit in u32.
            let first = u32::try_from(range.start / c).unwrap_or(u32::MAX);
            let last = u32::try_from((range.end.min(full) - 1) / c).unwrap_or(u32::MAX);
            self.tables.for_chunks(
                self.path,
                self.key,
                first..last.saturating_add(1),
                c,
                |i, row| {
                    let at = i as usize * c;
                    let from = range.start.max(at) - at;
                    let to = range.end.min(at + c) - at;
                    out.extend_from_slice(&row[from..to]);
                },
            )?;
        }
        if range.end > full {
            let from = range.start.max(full) - full;
            let to = range.end - full;
            let end = self.end()?;
            out.extend_from_slice(end.get(from..to).unwrap_or_default());
        }
        Ok(())
    }
}

impl partial::Source for RowSource<'_> {
    fn total(&self) -> usize {
        self.total
    }

    fn fetch(&mut self, range: Range<usize>) -> Result<&[u8]> {
        let mut fetched = std::mem::take(self.fetched);
        fetched.clear();
        let appended = self.append(range, &mut fetched);
        *self.fetched = fetched;
        appended?;
        Ok(self.fetched.as_slice())
    }

    fn fetch_into(&mut self, range: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        self.append(range, out)
    }
}

/// The tables of a write transaction, for storing and removing bitmaps.
pub(super) struct WriteTables<'t> {
    path: &'t Path,
    bitmaps: Table<'t, &'static str, &'static [u8]>,
    /// `chunks` then the part tables.
    rows: [Table<'t, (&'static str, u32), &'static [u8]>; 4],
    /// Each stored key's version: `seq` (see `versions.rs`).
    versions: Table<'t, &'static str, u64>,
    /// Values kept from bitmaps, named after their first key (see `versions.rs`): opened by
    /// the first removal, so that a commit that only stores bitmaps does not touch it.
    derived: Option<Table<'t, &'static str, &'static [u8]>>,
    txn: &'t WriteTransaction,
    /// This transaction's write sequence number.
    seq: u64,
    roaring: Vec<u8>,
    value: Vec<u8>,
}

impl<'t> WriteTables<'t> {
    /// Opens (creating if missing) the tables in `txn`, taking the transaction's write
    /// sequence number: every key stored through these tables gets it as its version.
    pub(super) fn open(path: &'t Path, txn: &'t WriteTransaction) -> Result<Self> {
        let [a, b, c, d] = row_tables();
        let open = |def: RowTable| txn.open_table(def).at(path);
        let seq = versions::next_seq(path, txn)?;
        Ok(WriteTables {
            path,
            bitmaps: txn.open_table(BITMAPS).at(path)?,
            rows: [open(a)?, open(b)?, open(c)?, open(d)?],
            versions: txn.open_table(versions::VERSIONS).at(path)?,
            derived: None,
            txn,
            seq,
            roaring: Vec::new(),
            value: Vec::new(),
        })
    }

    /// Gives `key` this transaction's version: it was stored (or is being stamped by an
    /// upgrade).
    pub(super) fn stamp(&mut self, key: &str) -> Result<()> {
        self.versions.insert(key, self.seq).at(self.path)?;
        Ok(())
    }

    /// Stores `bitmap` under `key`, replacing what was there (see the module docs). The
    /// caller run-optimizes it first.
    pub(super) fn insert(&mut self, key: &str, bitmap: &Bitmap) -> Result<()> {
        codec::serialize_into(key, bitmap, &mut self.roaring)?;
        let len = self.roaring.len();
        let (chunks, c, mask, lens) = plan(key, len);
        let total = u32::try_from(len).ok();
        let (Some(total), true) = (total, chunks > 0 || mask != 0) else {
            codec::inline_into(bitmap.byte_len(), &self.roaring, &mut self.value);
            self.bitmaps
                .insert(key, self.value.as_slice())
                .at(self.path)?;
            for t in 0..4 {
                self.remove_rows_from(key, t, 0)?;
            }
            return self.stamp(key);
        };
        let mut at = 0usize;
        for i in 0..chunks {
            let row = &self.roaring[at..at + c];
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let same = self.rows[0]
                .get((key, index))
                .at(self.path)?
                .is_some_and(|old| old.value() == row);
            if !same {
                self.rows[0].insert((key, index), row).at(self.path)?;
            }
            at += c;
        }
        let chunks = u32::try_from(chunks).unwrap_or(u32::MAX);
        self.remove_rows_from(key, 0, chunks)?;
        for (j, part_len) in lens.into_iter().enumerate() {
            if mask & (1 << j) != 0 {
                let row = &self.roaring[at..at + part_len];
                self.rows[j + 1].insert((key, 0u32), row).at(self.path)?;
                at += part_len;
            } else {
                self.remove_rows_from(key, j + 1, 0)?;
            }
        }
        let header = ChunkedHeader {
            byte_len: bitmap.byte_len(),
            total,
            chunks,
            // Below the page size.
            chunk_len: u32::try_from(c).unwrap_or(u32::MAX),
            parts: mask,
        };
        codec::chunked_into(header, &self.roaring[at..], &mut self.value);
        self.bitmaps
            .insert(key, self.value.as_slice())
            .at(self.path)?;
        self.stamp(key)
    }

    /// Copies a `bitmaps` value and its rows unchanged from `src` (a backup).
    pub(super) fn copy_raw(&mut self, src: &ReadTables, key: &str, bytes: &[u8]) -> Result<()> {
        self.bitmaps.insert(key, bytes).at(self.path)?;
        for (from, to) in src.rows.iter().zip(self.rows.iter_mut()) {
            let Some(from) = from else { continue };
            for item in from.range((key, 0u32)..=(key, u32::MAX)).at(self.path)? {
                let (k, v) = item.at(self.path)?;
                to.insert(k.value(), v.value()).at(self.path)?;
            }
        }
        self.stamp(key)
    }

    /// Removes `key`, its rows, its version and the values kept from it (named after it:
    /// `key`, U+001F, ...); whether it existed.
    pub(super) fn remove(&mut self, key: &str) -> Result<bool> {
        let existed = self.bitmaps.remove(key).at(self.path)?.is_some();
        for t in 0..4 {
            self.remove_rows_from(key, t, 0)?;
        }
        self.versions.remove(key).at(self.path)?;
        let derived = match &mut self.derived {
            Some(table) => table,
            None => self
                .derived
                .insert(self.txn.open_table(versions::DERIVED).at(self.path)?),
        };
        let named = format!("{key}\u{1f}");
        let mut kept = Vec::new();
        for entry in derived.range(named.as_str()..).at(self.path)? {
            let (name, _) = entry.at(self.path)?;
            if !name.value().starts_with(&named) {
                break;
            }
            kept.push(name.value().to_string());
        }
        for name in kept {
            derived.remove(name.as_str()).at(self.path)?;
        }
        Ok(existed)
    }

    /// The `bitmaps` table (for scans by the caller).
    pub(super) fn bitmaps(&mut self) -> &mut Table<'t, &'static str, &'static [u8]> {
        &mut self.bitmaps
    }

    /// Removes the rows of `key` in table `t` from index `from` on.
    fn remove_rows_from(&mut self, key: &str, t: usize, from: u32) -> Result<()> {
        self.rows[t]
            .retain_in((key, from)..=(key, u32::MAX), |_, _| false)
            .at(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_rows_and_their_keys_fill_one_leaf_page() {
        for key in ["k", "trackist_user:logged_in_2026-11-30", &"x".repeat(400)] {
            let encoded = <(&str, u32) as redb::Value>::as_bytes(&(key, 7u32));
            let key_bytes = AsRef::<[u8]>::as_ref(&encoded).len();
            for k in [1, 2, 4, 8] {
                let Some(c) = row_len(key, k) else { continue };
                let pair = c + key_bytes + PAIR_OVERHEAD;
                assert!(LEAF_HEADER + k * pair <= PAGE, "{key:?} {k}");
                assert!(
                    LEAF_HEADER + k * pair + MARGIN + k > PAGE,
                    "{key:?} {k}: loose"
                );
            }
        }
        assert_eq!(row_len(&"x".repeat(3_950), 1), None);
    }

    #[test]
    fn plans_cover_the_serialization() {
        let key = "trackist_page:viewed_2026-11-30";
        for len in [
            0, 1, 400, 600, 1_000, 2_000, 3_000, 4_000, 4_100, 10_000, 131_208,
        ] {
            let (chunks, c, mask, lens) = plan(key, len);
            let parts: usize = (0..3)
                .filter(|j| mask & (1 << j) != 0)
                .map(|j| lens[j])
                .sum();
            let tail = len - chunks * c - parts;
            assert!(
                tail < row_len(key, 8).unwrap_or(0) * 2,
                "{len}: tail {tail}"
            );
        }
    }
}
