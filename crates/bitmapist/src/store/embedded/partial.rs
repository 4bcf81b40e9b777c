//! Restricted reads of a stored roaring serialization: only the containers a restriction
//! has are fetched, from wherever the bytes lie (an inline value or page-sized rows).
//!
//! # Why
//!
//! A cohort reads an event's day bitmaps restricted to its rows' users. At ten million
//! users a day bitmap is a 1.25 MB serialization of 153 containers in ~300 rows (see
//! `rows.rs`), of which a 90-day cohort needs ~40. Gathering all rows to intersect cost one
//! redb page read (a `pread`) per row and a copy of the whole value.
//!
//! # How
//!
//! The roaring portable format starts with a header naming every container (key and
//! cardinality) and, for four or more containers, the byte offset of each. So:
//! 1. fetch the header ([`Source::fetch`] of its first bytes);
//! 2. pick the containers whose key `within` also has;
//! 3. fetch their bytes, adjacent ones (less than [`MERGE_GAP`] apart) in one span, and
//!    write them into a smaller, well-formed serialization of just those containers;
//! 4. decode that (with roaring's validation) and AND it with `within`.
//!
//! Not a lazy `Read + Seek` handed to roaring's `intersection_with_serialized_unchecked`:
//! that function unwraps read errors on its offset path (a redb error or a corrupt offset
//! would panic), skips validation (corrupt containers give wrong bits, or a panic in debug
//! builds), and reads container by container (one row lookup each).
//!
//! The same header reader serves [`DenseParts`]: a whole serialization in memory taken
//! apart container by container into 1024 words each, for trends, which count unions of
//! many days one container key at a time and never build a `RoaringBitmap`. It checks every
//! offset and length it uses; it does not check that an array's values are sorted (a
//! corrupt one still sets only values below 2^16 of its own container).
//!
//! # Invariants
//!
//! - For a well-formed serialization the result is exactly the full decode AND `within`
//!   (proptest `tests/restricted_reads.rs`, over values in 0, 1 and several rows).
//! - Containers not picked are never fetched, so a corrupt one goes unnoticed; a picked one
//!   is validated by roaring as a full decode would validate it.
//! - Never panics: every count, length and offset read from the stored bytes is checked
//!   against the serialization's length before use (a bad one is
//!   [`Error::CorruptBitmap`](crate::Error::CorruptBitmap) naming the key); the smaller
//!   serialization's header is computed here from the bytes actually copied.

use std::ops::{Range, RangeInclusive};

use roaring::RoaringBitmap;

use super::codec::corrupt;
use crate::bitmap::Bitmap;
use crate::error::Result;

/// The cookie of a serialization without run containers (then a 4-byte container count).
const COOKIE_NO_RUNS: u32 = 12_346;

/// The low 16 bits of the cookie of a serialization with run containers (the high 16 bits
/// hold the container count minus one).
const COOKIE_RUNS: u16 = 12_347;

/// From this many containers on, a serialization with run containers has an offset table
/// (one without run containers always has one).
const OFFSETS_FROM: usize = 4;

/// A container of at most this many values is an array of `u16`, above it a bitmap.
const ARRAY_LIMIT: usize = 4_096;

/// The bytes of a bitmap container.
const BITMAP_BYTES: usize = 8_192;

/// At most 2^16 containers (one per high 16 bits of a `u32`).
const MAX_CONTAINERS: usize = 1 << 16;

/// Picked containers less than this many bytes apart are fetched as one span: reading a
/// few unneeded bytes of a row is cheaper than another lookup of the same or the next row.
pub(super) const MERGE_GAP: usize = 4_096;

/// Where a roaring serialization's bytes come from.
pub(super) trait Source {
    /// The length of the whole serialization.
    fn total(&self) -> usize;

    /// Bytes `range` of the serialization (`range.end <= total()`, checked by the caller).
    fn fetch(&mut self, range: Range<usize>) -> Result<&[u8]>;

    /// Appends bytes `range` of the serialization to `out` (as [`Source::fetch`] gives them;
    /// a source reading rows appends them without a copy in between).
    fn fetch_into(&mut self, range: Range<usize>, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(self.fetch(range)?);
        Ok(())
    }
}

/// A serialization that is all in memory (an inline value).
pub(super) struct InMemory<'b>(pub &'b [u8]);

impl Source for InMemory<'_> {
    fn total(&self) -> usize {
        self.0.len()
    }

    fn fetch(&mut self, range: Range<usize>) -> Result<&[u8]> {
        // The caller keeps ranges within `total()`; an empty slice is the no-panic fallback.
        Ok(self.0.get(range).unwrap_or_default())
    }
}

/// The header of a roaring serialization.
struct Header {
    /// Per container: its key (high 16 bits) and its cardinality minus one.
    descriptions: Vec<[u16; 2]>,
    /// Per container, one bit: whether it is a run container (`None`: the format has none).
    runs: Option<Vec<u8>>,
    /// Per container: where its bytes start (read from the offset table, or computed).
    offsets: Vec<usize>,
}

impl Header {
    fn is_run(&self, i: usize) -> bool {
        self.runs
            .as_ref()
            .is_some_and(|r| r.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
    }

    /// The byte length of container `i` when its description gives it (not a run).
    fn fixed_len(&self, i: usize) -> Option<usize> {
        if self.is_run(i) {
            return None;
        }
        let cardinality = usize::from(self.descriptions[i][1]) + 1;
        Some(if cardinality <= ARRAY_LIMIT {
            2 * cardinality
        } else {
            BITMAP_BYTES
        })
    }
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads and checks the header of the serialization in `src`.
fn read_header(key: &str, src: &mut (impl Source + ?Sized)) -> Result<Header> {
    let total = src.total();
    let short = || corrupt(key, "the roaring serialization is shorter than its header");
    let first = src.fetch(0..total.min(8))?;
    let cookie = le_u32(first, 0).ok_or_else(short)?;
    let (count, has_runs, has_offsets, descriptions_at) = if cookie == COOKIE_NO_RUNS {
        let count = le_u32(first, 4).ok_or_else(short)? as usize;
        (count, false, true, 8)
    } else if cookie as u16 == COOKIE_RUNS {
        let count = (cookie >> 16) as usize + 1;
        (count, true, count >= OFFSETS_FROM, 4)
    } else {
        return Err(corrupt(
            key,
            format!("bad roaring serialization: unknown cookie {cookie}"),
        ));
    };
    if count > MAX_CONTAINERS {
        return Err(corrupt(
            key,
            format!("bad roaring serialization: {count} containers"),
        ));
    }
    let runs_len = if has_runs { count.div_ceil(8) } else { 0 };
    let offsets_at = descriptions_at + runs_len + 4 * count;
    let header_len = offsets_at + if has_offsets { 4 * count } else { 0 };
    if header_len > total {
        return Err(short());
    }
    let bytes = src.fetch(0..header_len)?;
    if bytes.len() != header_len {
        return Err(short());
    }
    let runs = has_runs.then(|| bytes[descriptions_at..descriptions_at + runs_len].to_vec());
    let descriptions: Vec<[u16; 2]> = bytes[descriptions_at + runs_len..offsets_at]
        .chunks_exact(4)
        .map(|d| {
            [
                u16::from_le_bytes([d[0], d[1]]),
                u16::from_le_bytes([d[2], d[3]]),
            ]
        })
        .collect();
    if descriptions.windows(2).any(|w| w[0][0] >= w[1][0]) {
        return Err(corrupt(
            key,
            "bad roaring serialization: container keys out of order",
        ));
    }
    let offsets = if has_offsets {
        bytes[offsets_at..header_len]
            .chunks_exact(4)
            .map(|o| u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize)
            .collect()
    } else {
        Vec::new()
    };
    let mut header = Header {
        descriptions,
        runs,
        offsets,
    };
    if !has_offsets {
        // At most three containers, laid out one after the other.
        let mut at = header_len;
        for i in 0..count {
            header.offsets.push(at);
            let len = match header.fixed_len(i) {
                Some(len) => len,
                None => {
                    if at + 2 > total {
                        return Err(short());
                    }
                    let runs = src.fetch(at..at + 2)?;
                    2 + 4 * usize::from(le_u16(runs, 0).ok_or_else(short)?)
                }
            };
            at += len;
        }
    }
    Ok(header)
}

/// The keys (high 16 bits) of the containers of `bits`, in order.
fn container_keys(bits: &RoaringBitmap) -> Vec<u16> {
    let mut keys = Vec::new();
    let mut iter = bits.iter();
    while let Some(value) = iter.next() {
        let key = (value >> 16) as u16;
        keys.push(key);
        if key == u16::MAX {
            break;
        }
        iter.advance_to((u32::from(key) + 1) << 16);
    }
    keys
}

/// The keys (high 16 bits) of the containers of the serialization in `src`, ascending,
/// from its header alone (checked as for a restricted read).
pub(super) fn keys_of(key: &str, src: &mut (impl Source + ?Sized)) -> Result<Vec<u16>> {
    Ok(read_header(key, src)?
        .descriptions
        .iter()
        .map(|[k, _]| *k)
        .collect())
}

/// Writes into `out` a serialization of the containers of `src` whose keys lie in `span`;
/// `out` is left empty when there are none. The header is read and checked as for a
/// restricted read. The containers of a span lie one after the other, so their bytes are
/// fetched as one range straight into `out` ([`Source::fetch_into`]) after a header written
/// here; they are checked when taken apart ([`DenseParts`]) or decoded.
pub(super) fn span_of(
    key: &str,
    src: &mut (impl Source + ?Sized),
    span: RangeInclusive<u16>,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.clear();
    let header = read_header(key, src)?;
    let from = header
        .descriptions
        .partition_point(|[k, _]| k < span.start());
    let to = header
        .descriptions
        .partition_point(|[k, _]| k <= span.end());
    if from >= to {
        return Ok(());
    }
    let total = src.total();
    let start = header.offsets[from];
    let end = header.offsets.get(to).copied().unwrap_or(total);
    if start > end || end > total {
        return Err(corrupt(
            key,
            format!(
                "bad roaring serialization: containers {from}..{to} at {start}..{end} of {total} bytes"
            ),
        ));
    }
    let picked: Vec<usize> = (from..to).collect();
    let layout = Layout::start(&picked, &header, out);
    for (n, &i) in picked.iter().enumerate() {
        // Offsets out of order are corrupt: they stay wrong here and are reported when the
        // containers are taken apart.
        let at = header.offsets[i].saturating_sub(start) + layout.header_len;
        layout.describe(key, out, n, &header, i, at)?;
    }
    src.fetch_into(start..end, out)?;
    if out.len() != layout.header_len + (end - start) {
        return Err(corrupt(
            key,
            format!("only part of bytes {start}..{end} are stored"),
        ));
    }
    Ok(())
}

/// The bitmap whose serialization `src` holds, stored under `key` with Redis length
/// `byte_len`, AND `within`: fetching and decoding only the containers `within` has (see
/// the module docs). `out` is scratch space for the smaller serialization.
pub(super) fn decode_within(
    key: &str,
    byte_len: u32,
    src: &mut (impl Source + ?Sized),
    within: &Bitmap,
    out: &mut Vec<u8>,
) -> Result<Bitmap> {
    // The header is read and checked even when nothing is picked, as a full decode would.
    let header = read_header(key, src)?;
    let picked = pick(&header, &container_keys(within.bits()));
    let bits = if picked.is_empty() {
        RoaringBitmap::new()
    } else {
        assemble(key, &header, &picked, src, out)?;
        let mut bits = RoaringBitmap::deserialize_from(out.as_slice())
            .map_err(|e| corrupt(key, format!("bad roaring serialization: {e}")))?;
        bits &= within.bits();
        bits
    };
    if bits.max().is_some_and(|max| max / 8 >= byte_len) {
        return Err(corrupt(
            key,
            format!("a set bit lies beyond the stored length of {byte_len} bytes"),
        ));
    }
    Ok(Bitmap::with_byte_len(bits, byte_len))
}

/// How many bits the serialization in `src` has set, from its header alone: the sum of the
/// containers' cardinalities, which the portable format records per container. Only the
/// header is fetched (for a chunked value: the first row or two), so a count costs one
/// lookup however large the bitmap. The header is checked as for a restricted read, and
/// the last container must start below the stored length of `byte_len` bytes; the
/// containers' bytes are not read, so a corrupt container goes unnoticed here (a full
/// decode reports it).
pub(super) fn count(key: &str, byte_len: u32, src: &mut (impl Source + ?Sized)) -> Result<u64> {
    let header = read_header(key, src)?;
    if let Some([last, _]) = header.descriptions.last()
        && (u64::from(*last) << 16) / 8 >= u64::from(byte_len)
    {
        return Err(corrupt(
            key,
            format!("a set bit lies beyond the stored length of {byte_len} bytes"),
        ));
    }
    Ok(header
        .descriptions
        .iter()
        .map(|[_, c]| u64::from(*c) + 1)
        .sum())
}

/// The bits of one container as 1024 little-endian words (bit `v` is bit `v % 64` of word
/// `v / 64`): what word-by-word unions of many bitmaps work on.
pub(crate) type DenseContainer = [u64; BITMAP_BYTES / 8];

/// The containers of a roaring serialization held in memory, read one at a time into a
/// [`DenseContainer`]: a bitmap container is a copy, an array or run container sets its
/// values, without building a `RoaringBitmap`.
pub(crate) struct DenseParts<'b> {
    bytes: &'b [u8],
    header: Header,
}

impl<'b> DenseParts<'b> {
    /// Reads and checks the header of `bytes` (errors name `key`).
    pub(crate) fn read(key: &str, bytes: &'b [u8]) -> Result<Self> {
        let header = read_header(key, &mut InMemory(bytes))?;
        Ok(DenseParts { bytes, header })
    }

    /// The containers' keys (high 16 bits), ascending; container `i` has the `i`-th.
    pub(crate) fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.header.descriptions.iter().map(|[key, _]| *key)
    }

    /// How many bits are set, from the header's cardinalities.
    pub(crate) fn len(&self) -> u64 {
        self.header
            .descriptions
            .iter()
            .map(|[_, c]| u64::from(*c) + 1)
            .sum()
    }

    /// Overwrites `words` with the bits of container `i` (`i < keys().count()`); every
    /// length and value is checked against the serialization (errors name `key`).
    pub(crate) fn write(&self, key: &str, i: usize, words: &mut DenseContainer) -> Result<()> {
        let bad = |what: &str| {
            corrupt(
                key,
                format!("bad roaring serialization: container {i} {what}"),
            )
        };
        let at = *self
            .header
            .offsets
            .get(i)
            .ok_or_else(|| bad("is missing"))?;
        let rest = self
            .bytes
            .get(at..)
            .ok_or_else(|| bad("starts past the end"))?;
        if self.header.is_run(i) {
            let runs = usize::from(le_u16(rest, 0).ok_or_else(|| bad("overruns"))?);
            let pairs = rest.get(2..2 + 4 * runs).ok_or_else(|| bad("overruns"))?;
            words.fill(0);
            for pair in pairs.chunks_exact(4) {
                let start = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
                let last = start + usize::from(u16::from_le_bytes([pair[2], pair[3]]));
                if last > usize::from(u16::MAX) {
                    return Err(bad("has a run past its 2^16 values"));
                }
                set_run(words, start, last);
            }
            return Ok(());
        }
        let cardinality = usize::from(self.header.descriptions[i][1]) + 1;
        if cardinality > ARRAY_LIMIT {
            let bits = rest.get(..BITMAP_BYTES).ok_or_else(|| bad("overruns"))?;
            for (w, b) in words.iter_mut().zip(bits.chunks_exact(8)) {
                *w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
        } else {
            let values = rest.get(..2 * cardinality).ok_or_else(|| bad("overruns"))?;
            words.fill(0);
            for v in values.chunks_exact(2) {
                let v = usize::from(u16::from_le_bytes([v[0], v[1]]));
                words[v / 64] |= 1 << (v % 64);
            }
        }
        Ok(())
    }
}

/// Sets bits `start..=last` (both below 2^16) of `words`.
fn set_run(words: &mut DenseContainer, start: usize, last: usize) {
    let (first_word, last_word) = (start / 64, last / 64);
    let head = u64::MAX << (start % 64);
    let tail = u64::MAX >> (63 - last % 64);
    if first_word == last_word {
        words[first_word] |= head & tail;
    } else {
        words[first_word] |= head;
        words[first_word + 1..last_word].fill(u64::MAX);
        words[last_word] |= tail;
    }
}

/// The indices of the containers in `header` whose key is in `wanted` (both in key order).
fn pick(header: &Header, wanted: &[u16]) -> Vec<usize> {
    let mut picked = Vec::new();
    let mut w = wanted.iter().peekable();
    for (i, [key, _]) in header.descriptions.iter().enumerate() {
        while w.next_if(|&&k| k < *key).is_some() {}
        match w.peek() {
            Some(&&k) if k == *key => picked.push(i),
            Some(_) => {}
            None => break,
        }
    }
    picked
}

/// Where the header of a serialization of picked containers puts each part: the cookie (and
/// count), run flags, descriptions, offsets.
struct Layout {
    cookie_len: usize,
    descriptions_at: usize,
    offsets_at: usize,
    with_offsets: bool,
    header_len: usize,
}

impl Layout {
    /// Starts `out` (empty) with the header of a serialization of the containers `picked`
    /// of `header`: the cookie and count written, the rest zero, for [`Layout::describe`].
    fn start(picked: &[usize], header: &Header, out: &mut Vec<u8>) -> Layout {
        let count = picked.len();
        let runs = picked.iter().any(|&i| header.is_run(i));
        let (cookie_len, runs_len) = if runs { (4, count.div_ceil(8)) } else { (8, 0) };
        let with_offsets = !runs || count >= OFFSETS_FROM;
        let descriptions_at = cookie_len + runs_len;
        let offsets_at = descriptions_at + 4 * count;
        let header_len = offsets_at + if with_offsets { 4 * count } else { 0 };
        out.resize(header_len, 0);
        // At most 2^16 containers: a count minus one fits in 16 bits.
        let count_minus_one = u32::try_from(count.saturating_sub(1)).unwrap_or(u32::from(u16::MAX));
        if runs {
            let cookie = u32::from(COOKIE_RUNS) | (count_minus_one << 16);
            out[..4].copy_from_slice(&cookie.to_le_bytes());
        } else {
            out[..4].copy_from_slice(&COOKIE_NO_RUNS.to_le_bytes());
            out[4..8].copy_from_slice(&(count_minus_one + 1).to_le_bytes());
        }
        Layout {
            cookie_len,
            descriptions_at,
            offsets_at,
            with_offsets,
            header_len,
        }
    }

    /// Describes container `i` of `header` as the `n`-th of `out`, its bytes at `at`.
    fn describe(
        &self,
        key: &str,
        out: &mut [u8],
        n: usize,
        header: &Header,
        i: usize,
        at: usize,
    ) -> Result<()> {
        let d = self.descriptions_at + 4 * n;
        out[d..d + 2].copy_from_slice(&header.descriptions[i][0].to_le_bytes());
        out[d + 2..d + 4].copy_from_slice(&header.descriptions[i][1].to_le_bytes());
        if self.with_offsets {
            let at = u32::try_from(at).map_err(|_| {
                corrupt(
                    key,
                    "bad roaring serialization: more than 4 GiB of containers",
                )
            })?;
            let o = self.offsets_at + 4 * n;
            out[o..o + 4].copy_from_slice(&at.to_le_bytes());
        }
        if header.is_run(i) {
            out[self.cookie_len + n / 8] |= 1 << (n % 8);
        }
        Ok(())
    }
}

/// Writes into `out` a serialization of the `picked` containers of `src` (see the module
/// docs), fetching their bytes in spans.
fn assemble(
    key: &str,
    header: &Header,
    picked: &[usize],
    src: &mut (impl Source + ?Sized),
    out: &mut Vec<u8>,
) -> Result<()> {
    let total = src.total();
    let count = picked.len();
    // Where each picked container's bytes lie, at most: a run container's length is in its
    // first two bytes, so it is bounded by the next container's start.
    let mut ranges = Vec::with_capacity(count);
    for &i in picked {
        let start = header.offsets[i];
        let end = match header.fixed_len(i) {
            Some(len) => start.saturating_add(len),
            None => header
                .offsets
                .get(i + 1)
                .copied()
                .filter(|&next| next > start && next <= total)
                .unwrap_or(total),
        };
        if end > total || start >= end {
            return Err(corrupt(
                key,
                format!(
                    "bad roaring serialization: container {i} at {start}..{end} of {total} bytes"
                ),
            ));
        }
        ranges.push(start..end);
    }
    out.clear();
    let layout = Layout::start(picked, header, out);
    let mut first = 0;
    while first < count {
        // One span: the next containers that start within MERGE_GAP of the span's end.
        let span_start = ranges[first].start;
        let mut span_end = ranges[first].end;
        let mut last = first + 1;
        while last < count
            && ranges[last].start >= span_start
            && ranges[last].start <= span_end.saturating_add(MERGE_GAP)
        {
            span_end = span_end.max(ranges[last].end);
            last += 1;
        }
        let span = src.fetch(span_start..span_end)?;
        if span.len() != span_end - span_start {
            return Err(corrupt(
                key,
                format!(
                    "only {} of bytes {span_start}..{span_end} are stored",
                    span.len()
                ),
            ));
        }
        for n in first..last {
            let i = picked[n];
            let bytes = &span[ranges[n].start - span_start..ranges[n].end - span_start];
            let bytes = if header.is_run(i) {
                let len = le_u16(bytes, 0).map(|runs| 2 + 4 * usize::from(runs));
                match len.and_then(|len| bytes.get(..len)) {
                    Some(bytes) => bytes,
                    None => {
                        return Err(corrupt(
                            key,
                            format!("bad roaring serialization: run container {i} overruns"),
                        ));
                    }
                }
            } else {
                bytes
            };
            let at = out.len();
            layout.describe(key, out, n, header, i, at)?;
            out.extend_from_slice(bytes);
        }
        first = last;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialize(bits: &RoaringBitmap) -> Vec<u8> {
        let mut out = Vec::new();
        bits.serialize_into(&mut out).unwrap();
        out
    }

    fn within(bytes: &[u8], w: &Bitmap) -> Result<Bitmap> {
        let mut out = Vec::new();
        decode_within("k", u32::MAX / 8 + 1, &mut InMemory(bytes), w, &mut out)
    }

    /// Array, bitmap and run containers; 1 to 9 containers, so both header layouts.
    fn samples() -> Vec<RoaringBitmap> {
        let mut all = Vec::new();
        for containers in 1..10u32 {
            for optimized in [false, true] {
                let mut b = RoaringBitmap::new();
                for c in 0..containers {
                    let base = c * 3 * 65_536;
                    match c % 3 {
                        0 => b.extend((0..300).map(|v| base + v * 7)),
                        1 => b.extend((0..20_000).map(|v| base + v * 3)),
                        _ => {
                            b.insert_range(base + 100..base + 9_000);
                        }
                    }
                }
                if optimized {
                    b.optimize();
                }
                all.push(b);
            }
        }
        all
    }

    /// Each container's words hold exactly the bitmap's values in that container, for
    /// array, bitmap and run containers, with and without an offset table; a 4,096-value
    /// array (as long as a bitmap container) is read as an array.
    #[test]
    fn dense_parts_hold_each_containers_values() {
        let mut all = samples();
        all.push((0..4_096u32).map(|v| 65_536 + v * 16).collect());
        for b in all {
            let bytes = serialize(&b);
            let parts = DenseParts::read("k", &bytes).unwrap();
            assert_eq!(parts.len(), b.len());
            let keys: Vec<u16> = parts.keys().collect();
            assert_eq!(keys, container_keys(&b));
            let mut words = [0u64; 1024];
            for (i, key) in keys.iter().enumerate() {
                words.fill(u64::MAX);
                parts.write("k", i, &mut words).unwrap();
                let base = u32::from(*key) << 16;
                let got: Vec<u32> = (0..65_536u32)
                    .filter(|v| words[*v as usize / 64] & (1 << (v % 64)) != 0)
                    .map(|v| base + v)
                    .collect();
                let want: Vec<u32> = b.range(base..=base + 65_535).collect();
                assert_eq!(got, want, "container {key}");
            }
        }
    }

    /// Truncated serializations are errors naming the key, never panics or wrong lengths.
    #[test]
    fn dense_parts_of_truncated_bytes_are_errors() {
        for b in samples() {
            let bytes = serialize(&b);
            for cut in (0..bytes.len()).step_by(97) {
                let Ok(parts) = DenseParts::read("k", &bytes[..cut]) else {
                    continue;
                };
                let mut words = [0u64; 1024];
                let results: Vec<_> = (0..parts.keys().count())
                    .map(|i| parts.write("k", i, &mut words))
                    .collect();
                let last = results.last().expect("a header read means containers");
                let err = last
                    .as_ref()
                    .expect_err("the last container is cut")
                    .to_string();
                assert!(err.contains("\"k\""), "{err}");
            }
        }
    }

    #[test]
    fn equals_full_decode_and_intersection() {
        for b in samples() {
            let bytes = serialize(&b);
            for w in [
                RoaringBitmap::new(),
                (0..40_000_000).step_by(5).collect(),
                [0u32].into_iter().collect(),
                [b.max().unwrap()].into_iter().collect(),
                [b.max().unwrap() + 70_000].into_iter().collect(),
                (65_536..65_536 * 4).collect(),
            ] {
                let got = within(&bytes, &Bitmap::from_bits(w.clone())).unwrap();
                assert_eq!(got.bits(), &(&b & &w));
            }
        }
    }

    #[test]
    fn corrupt_headers_and_offsets_are_errors_not_panics() {
        let w = Bitmap::from_bits((0..2_000_000).step_by(3).collect());
        for b in samples() {
            let good = serialize(&b);
            for cut in 0..good.len() {
                let _ = within(&good[..cut], &w);
            }
            for i in 0..good.len().min(600) {
                for flip in [0xA5u8, 0xFF, 0x01] {
                    let mut bad = good.clone();
                    bad[i] ^= flip;
                    let _ = within(&bad, &w);
                }
            }
        }
        assert!(within(&[], &w).is_err());
        assert!(within(&[1, 2, 3, 4], &w).is_err());
        // One array container whose offset points past the end.
        let mut bad = serialize(&(0..10).collect());
        let n = bad.len();
        bad[12..16].copy_from_slice(&(n as u32 + 100).to_le_bytes());
        assert!(within(&bad, &w).is_err());
    }

    #[test]
    fn header_counts_equal_the_decoded_counts() {
        for b in samples() {
            let bytes = serialize(&b);
            let len = b.max().unwrap() / 8 + 1;
            assert_eq!(count("k", len, &mut InMemory(&bytes)).unwrap(), b.len());
            // A last container starting at or beyond the stored length is corrupt.
            let last_start = (b.max().unwrap() >> 16) << 16;
            let short = last_start / 8;
            if short > 0 {
                assert!(count("k", short, &mut InMemory(&bytes)).is_err());
            }
            for cut in 0..bytes.len().min(200) {
                let _ = count("k", len, &mut InMemory(&bytes[..cut]));
            }
        }
        assert_eq!(
            count("k", 1, &mut InMemory(&serialize(&RoaringBitmap::new()))).unwrap(),
            0
        );
        assert!(count("k", 1, &mut InMemory(&[1, 2, 3, 4])).is_err());
    }

    #[test]
    fn container_keys_are_the_high_halves() {
        let b: RoaringBitmap = [1, 2, 65_536 * 3, 65_536 * 3 + 9, u32::MAX]
            .into_iter()
            .collect();
        assert_eq!(container_keys(&b), vec![0, 3, u16::MAX]);
        assert!(container_keys(&RoaringBitmap::new()).is_empty());
    }
}
