//! The embedded store opened read-only: reads a redb file that cannot (or must not) be
//! written, e.g. a `chmod 0444` file, an immutable one, or one on a read-only filesystem.
//!
//! # Invariants
//!
//! - **Nothing is written.** The file is opened with redb's `open_read_only` (a read-only
//!   file descriptor); every write (`write`, `put`, `delete`, `delete_prefix`) is refused
//!   with [`Error::Io`] of kind `PermissionDenied` naming the file, before touching anything.
//!   `flush` has nothing to commit and succeeds.
//! - **One snapshot, cached across requests.** A redb read-only database sees one snapshot
//!   (the last commit made before the open), so a decoded bitmap never goes stale: whole
//!   reads (`get`) keep what they decoded in a cache shared by every request, bounded at
//!   [`READ_ONLY_CACHE_BYTES`] of roaring serialization (least recently used first out; a
//!   bitmap larger than the bound is not kept). Counts read only the stored roaring header
//!   (`partial::count`) and restricted reads only the containers asked for, neither
//!   cached. Memory is the cache, what the answer holds, and redb's page cache, bounded at
//!   [`DEFAULT_FILE_CACHE_BYTES`].
//! - **Same format checks as a writable open.** The `meta` table's format version must be
//!   one this code reads (1 or 2); values are decoded by the same codec and row tables, so
//!   a corrupt value is [`Error::CorruptBitmap`] as it would be in the writable store.
//! - **What it refuses.** redb refuses a read-only open of a file another process has open
//!   for writing ([`Error::AlreadyOpen`]) and of a file that was not closed cleanly (its
//!   process was killed), which needs a repair only a writable open performs
//!   ([`Error::NotClosedCleanly`], which says so); open it writable once to repair it. A
//!   missing file is an [`Error::Io`] of kind `NotFound` naming it: nothing is created.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use redb::{DatabaseError, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableError};

use super::at_path::AtPath;
use super::compact::{file_len, footprint};
use super::rows::{ReadTables, redb_err};
use super::spans::{self, Held};
use super::versions;
use super::{
    BITMAPS, DEFAULT_FILE_CACHE_BYTES, FORMAT_VERSION, FORMAT_VERSION_INLINE_ONLY,
    FORMAT_VERSION_KEY, FORMAT_VERSION_UNVERSIONED, META, read_missing,
};
use crate::bitmap::Bitmap;
use crate::error::{Error, Result};
use crate::store::{IdStore, KeyWrite, SpanVisitors, StorageStats, Store};

/// An embedded store file opened read-only (see the module docs).
///
/// ```
/// use bitmapist::{EmbeddedOptions, EmbeddedStore, KeyWrite, ReadOnlyEmbeddedStore, Store};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("analytics.redb");
/// let store = EmbeddedStore::open(&path, EmbeddedOptions::default())?;
/// store.write(&[KeyWrite::set("k".into(), 7)]).await?;
/// drop(store); // commits and closes
/// let ro = ReadOnlyEmbeddedStore::open(&path)?;
/// assert_eq!(ro.count(&["k".into()]).await?, vec![1]);
/// assert!(ro.write(&[KeyWrite::set("k".into(), 8)]).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReadOnlyEmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: ReadOnlyDatabase,
    cache: Mutex<Decoded>,
}

/// How many bytes of roaring serialization the read-only store keeps decoded (256 MiB):
/// at ten million users a month bitmap is about 1.25 MB, so a year of months for the
/// hundred events of a large overview page fits.
pub(crate) const READ_ONLY_CACHE_BYTES: usize = 256 << 20;

/// Decoded bitmaps of the file's one snapshot, least recently used out first.
#[derive(Default)]
struct Decoded {
    /// Key -> (bitmap, its serialized size, the tick of its last use).
    entries: HashMap<String, (Arc<Bitmap>, usize, u64)>,
    /// The sum of the entries' serialized sizes (at most `budget`).
    bytes: usize,
    /// Incremented on every use.
    tick: u64,
}

impl Decoded {
    fn get(&mut self, key: &str) -> Option<Arc<Bitmap>> {
        self.tick += 1;
        let tick = self.tick;
        let (bitmap, _, used) = self.entries.get_mut(key)?;
        *used = tick;
        Some(Arc::clone(bitmap))
    }

    /// Keeps `bitmap` under `key`, dropping the least recently used entries until the
    /// sizes fit in `budget`; a bitmap larger than `budget` alone is not kept.
    fn insert(&mut self, key: &str, bitmap: Arc<Bitmap>, budget: usize) {
        let size = bitmap.bits().serialized_size();
        if size > budget || self.entries.contains_key(key) {
            return;
        }
        while self.bytes + size > budget {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, freed, _)) = self.entries.remove(&oldest) {
                self.bytes -= freed;
            }
        }
        self.tick += 1;
        self.bytes += size;
        self.entries
            .insert(key.to_owned(), (bitmap, size, self.tick));
    }
}

impl std::fmt::Debug for ReadOnlyEmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOnlyEmbeddedStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl ReadOnlyEmbeddedStore {
    /// Opens an existing store file for reading only; the file must exist. redb's page
    /// cache is [`DEFAULT_FILE_CACHE_BYTES`] (16 MiB), as for a writable open: with redb's
    /// default (1 GiB) every page a query read stayed in memory, each in a freshly faulted
    /// allocation (a 90x90 daily cohort on ten million users: 150 MB and a third of its time).
    pub fn open(path: &Path) -> Result<Self> {
        let db = match redb::Builder::new()
            .set_cache_size(DEFAULT_FILE_CACHE_BYTES)
            .open_read_only(path)
        {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch) => {
                return Err(Error::AlreadyOpen {
                    path: path.to_path_buf(),
                });
            }
            Err(DatabaseError::RepairAborted) => {
                return Err(Error::NotClosedCleanly {
                    path: path.to_path_buf(),
                });
            }
            Err(DatabaseError::Storage(redb::StorageError::Io(e)))
                if e.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(Error::Io {
                    context: format!("the embedded store file {} does not exist", path.display()),
                    source: e,
                });
            }
            Err(e) => return Err(redb_err(path, e)),
        };
        let txn = db.begin_read().at(path)?;
        let version = match txn.open_table(META) {
            Ok(meta) => meta.get(FORMAT_VERSION_KEY).at(path)?.map(|v| v.value()),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(redb_err(path, e)),
        };
        if let Some(v) = version.filter(|&v| {
            ![
                FORMAT_VERSION,
                FORMAT_VERSION_UNVERSIONED,
                FORMAT_VERSION_INLINE_ONLY,
            ]
            .contains(&v)
        }) {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                version: v,
                reason: format!(
                    "file format version {v}; this bitmapist reads versions {FORMAT_VERSION_INLINE_ONLY} to {FORMAT_VERSION}"
                ),
            });
        }
        Ok(ReadOnlyEmbeddedStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                db,
                cache: Mutex::new(Decoded::default()),
            }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Reads and decodes every bitmap of the last commit: a whole-file check (of a backup
    /// before it is restored, say). The footprint, with `corrupt_keys` counting the values
    /// that do not decode (a failure to read the file is an error).
    pub fn verify(&self) -> Result<StorageStats> {
        let path = &self.inner.path;
        let Some(tables) = self.tables()? else {
            return self.footprint();
        };
        let mut stats = footprint(path, &tables)?;
        stats.corrupt_keys = 0;
        for item in tables.bitmaps().iter().at(path)? {
            let (key, value) = item.at(path)?;
            match tables.decode(path, key.value(), value.value()) {
                Ok(_) => {}
                Err(Error::CorruptBitmap { .. }) => stats.corrupt_keys += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(stats)
    }

    /// Begins a read transaction: a snapshot of the last commit.
    pub(super) fn begin_read(&self) -> Result<redb::ReadTransaction> {
        self.inner.db.begin_read().at(&self.inner.path)
    }

    /// The tables of a new read transaction; `None` when the file holds no `bitmaps` table
    /// (an empty store).
    fn tables(&self) -> Result<Option<ReadTables>> {
        let path = &self.inner.path;
        let txn = self.begin_read()?;
        match txn.open_table(BITMAPS) {
            Ok(_) => ReadTables::open(path, &txn).map(Some),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(redb_err(path, e)),
        }
    }

    fn refuse(&self, operation: &str) -> Error {
        Error::Io {
            context: format!(
                "{operation} on the embedded store {}",
                self.inner.path.display()
            ),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the store is open read-only",
            ),
        }
    }

    /// Reads `keys` in one read transaction (a missing table is an empty store), each
    /// restricted to `within` when given (decoding only the containers it has).
    fn read(&self, keys: &[String], within: Option<&Bitmap>) -> Result<Vec<Option<Bitmap>>> {
        let Some(tables) = self.tables()? else {
            return Ok(vec![None; keys.len()]);
        };
        let path = &self.inner.path;
        keys.iter()
            .map(|key| match within {
                Some(within) => tables.load_within(path, key, within),
                None => tables.load(path, key),
            })
            .collect()
    }

    /// The roaring serializations of `keys`: a cached bitmap serialized, the others as the
    /// file stores them (read by `read_missing`, a read transaction per thread).
    fn read_serialized(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        {
            let mut cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for (i, key) in keys.iter().enumerate() {
                match cache.get(key) {
                    Some(bitmap) => out.push(Some(crate::store::serialize(&bitmap))),
                    None => {
                        out.push(None);
                        missing.push(i);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        read_missing(keys, missing, &mut out, |mine| {
            let path = &self.inner.path;
            let Some(tables) = self.tables()? else {
                return Ok(vec![None; mine.len()]);
            };
            mine.iter()
                .map(|key| tables.load_serialized(path, key))
                .collect()
        })?;
        Ok(out)
    }

    /// Hands each span of the keys' containers to a visitor (see `spans.rs`): a cached
    /// bitmap serialized once, the others from the file a span at a time; all of one
    /// snapshot, whose versions are the answer.
    fn read_serialized_spans(
        &self,
        keys: &[String],
        visitors: &SpanVisitors<'_>,
    ) -> Result<Vec<Option<u64>>> {
        let versions = self.versions_of(keys)?;
        let cached: Vec<Option<Vec<u8>>> = {
            let mut cache = self
                .inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            keys.iter()
                .map(|key| cache.get(key).map(|b| crate::store::serialize(&b)))
                .collect()
        };
        let held: Vec<Held<'_>> = cached
            .iter()
            .map(|bytes| bytes.as_deref().map_or(Held::File, Held::Memory))
            .collect();
        spans::walk(&self.inner.path, keys, &held, || self.tables(), visitors)?;
        Ok(versions)
    }

    /// The versions of `keys` in the file's snapshot (see `versions.rs`).
    fn versions_of(&self, keys: &[String]) -> Result<Vec<Option<u64>>> {
        let path = &self.inner.path;
        let txn = self.inner.db.begin_read().at(path)?;
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        versions::read(path, &txn, &names)
    }

    /// Counts `keys` from their stored roaring headers, in one read transaction (see
    /// `partial::count`): nothing is decoded.
    fn count_all(&self, keys: &[String]) -> Result<Vec<u64>> {
        let Some(tables) = self.tables()? else {
            return Ok(vec![0; keys.len()]);
        };
        let path = &self.inner.path;
        keys.iter()
            .map(|key| Ok(tables.count(path, key)?.unwrap_or(0)))
            .collect()
    }

    /// Whole bitmaps of `keys`: cached ones from the cache, the others decoded from the
    /// file in one read transaction and cached.
    fn get_cached(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        let lock = || {
            self.inner
                .cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        let mut out: Vec<Option<Bitmap>> = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        {
            let mut cache = lock();
            for (i, key) in keys.iter().enumerate() {
                match cache.get(key) {
                    Some(bitmap) => out.push(Some(Bitmap::clone(&bitmap))),
                    None => {
                        out.push(None);
                        missing.push(i);
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let wanted: Vec<String> = missing.iter().map(|&i| keys[i].clone()).collect();
        let read = self.read(&wanted, None)?;
        let mut cache = lock();
        for (i, bitmap) in missing.into_iter().zip(read) {
            if let Some(bitmap) = &bitmap {
                cache.insert(&keys[i], Arc::new(bitmap.clone()), READ_ONLY_CACHE_BYTES);
            }
            out[i] = bitmap;
        }
        Ok(out)
    }

    /// The footprint of the file (see [`StorageStats`]).
    fn footprint(&self) -> Result<StorageStats> {
        let path = &self.inner.path;
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        match txn.open_table(BITMAPS) {
            Ok(_) => footprint(path, &ReadTables::open(path, &txn)?),
            Err(TableError::TableDoesNotExist(_)) => Ok(StorageStats {
                file_bytes: file_len(path)?,
                ..StorageStats::default()
            }),
            Err(e) => Err(redb_err(&self.inner.path, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        let table = match txn.open_table(BITMAPS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(redb_err(&self.inner.path, e)),
        };
        let mut keys = Vec::new();
        for item in table.range::<&str>(prefix..).at(&self.inner.path)? {
            let (key, _) = item.at(&self.inner.path)?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            keys.push(key.to_string());
        }
        Ok(keys)
    }
}

#[async_trait]
impl Store for ReadOnlyEmbeddedStore {
    async fn write(&self, _writes: &[KeyWrite]) -> Result<()> {
        Err(self.refuse("write"))
    }

    /// From the cache of decoded bitmaps, else from the file (then cached).
    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        self.get_cached(keys)
    }

    /// From the stored roaring headers: a count decodes nothing.
    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        self.count_all(keys)
    }

    /// Cached bitmaps serialized, the others as the file stores them (not decoded, not
    /// cached).
    async fn get_serialized(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.read_serialized(keys)
    }

    /// From the file a span at a time (see `spans.rs`), not decoded, not cached.
    async fn get_serialized_spans(
        &self,
        keys: &[String],
        visitors: &SpanVisitors<'_>,
    ) -> Result<Vec<Option<u64>>> {
        self.read_serialized_spans(keys, visitors)
    }

    /// The file's versions: its one snapshot is what every read sees.
    async fn versions(&self, keys: &[String]) -> Result<Vec<Option<u64>>> {
        self.versions_of(keys)
    }

    /// Values kept by the process that wrote the file; a read-only store keeps none itself
    /// (`put_derived` keeps nothing).
    async fn get_derived(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        versions::get_derived(&self.inner.path, &txn, names)
    }

    /// From the file, decoding only the containers `within` has.
    async fn get_within(&self, keys: &[String], within: &Bitmap) -> Result<Vec<Option<Bitmap>>> {
        self.read(keys, Some(within))
    }

    async fn storage_stats(&self) -> Result<Option<StorageStats>> {
        self.footprint().map(Some)
    }

    async fn put(&self, _entries: &[(String, Bitmap)]) -> Result<()> {
        Err(self.refuse("put"))
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.list(prefix)
    }

    async fn delete(&self, _keys: &[String]) -> Result<u64> {
        Err(self.refuse("delete"))
    }

    async fn delete_prefix(&self, _prefix: &str) -> Result<u64> {
        Err(self.refuse("delete"))
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn id_store(&self) -> Option<&dyn IdStore> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("file://{} (read-only)", self.inner.path.display())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        super::meta::read(&txn, key).at(&self.inner.path)
    }

    async fn set_meta(&self, _key: &str, _value: &str) -> Result<()> {
        Err(self.refuse("record metadata"))
    }
}

#[async_trait]
impl IdStore for ReadOnlyEmbeddedStore {
    async fn assign_ids(&self, _space: &str, _external: &[String]) -> Result<Vec<u32>> {
        Err(self.refuse("assigning external ids"))
    }

    /// Reads the map from the file (see `idmap.rs`).
    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        super::idmap::lookup_in(&self.inner.path, &txn, space, external)
    }

    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        let txn = self.inner.db.begin_read().at(&self.inner.path)?;
        super::idmap::resolve_in(&self.inner.path, &txn, space, dense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(n: u32) -> Arc<Bitmap> {
        Arc::new(Bitmap::from_bits((0..n).map(|v| v * 2).collect()))
    }

    #[test]
    fn the_cache_keeps_its_bound_and_drops_the_least_recently_used() {
        let size = bitmap(1_000).bits().serialized_size();
        let budget = 3 * size;
        let mut cache = Decoded::default();
        for key in ["a", "b", "c"] {
            cache.insert(key, bitmap(1_000), budget);
        }
        assert_eq!(cache.bytes, 3 * size);
        // "a" used again, so "b" is the least recently used when "d" needs room.
        assert!(cache.get("a").is_some());
        cache.insert("d", bitmap(1_000), budget);
        assert!(cache.bytes <= budget);
        assert!(cache.get("b").is_none());
        for key in ["a", "c", "d"] {
            assert_eq!(cache.get(key).as_deref(), Some(&*bitmap(1_000)), "{key}");
        }
        // Larger than the whole bound: not kept, nothing dropped for it.
        cache.insert("huge", bitmap(100_000), budget);
        assert!(cache.get("huge").is_none());
        assert_eq!(cache.entries.len(), 3);
    }
}
