//! The embedded store: bitmaps in a redb file, hot ones cached in memory (`file://PATH`).
//!
//! One process owns the file. Writes land in an in-memory cache and are committed to the file
//! in batches, by a background thread every `flush_interval` (default 1 s), by
//! [`Store::flush`], and when the store is dropped.
//!
//! # File layout
//!
//! A redb database with these tables:
//! - `bitmaps: &str -> &[u8]`: one row per existing key. The value is 1 byte of value format
//!   version, the Redis byte length as 4 bytes little-endian ([`Bitmap::byte_len`]), then
//!   the roaring portable serialization of the set bits, run-optimized, either whole
//!   (version 1) or, for a bitmap larger than one page, as a header whose body lies in
//!   page-sized rows of `chunks` (version 2); see `codec.rs` and `rows.rs`.
//! - `chunks`, `chunks_half`, `chunks_quarter`, `chunks_eighth`: `(&str, u32) -> &[u8]`,
//!   the rows of version-2 values (see `rows.rs`).
//! - `meta: &str -> u64`: `format_version` = 3, and `write_seq`, the last write sequence
//!   number. Checked on open; a file written by a newer format is refused with a message
//!   saying so, never misread. A format-1 file (inline values only) or format-2 file (no
//!   versions) is read as it is and upgraded on the first open for writing, every key
//!   stamped with a version in the upgrade's transaction.
//! - `versions: &str -> u64`: every key's write version, the sequence number of the commit
//!   that last stored it; `derived: &str -> &[u8]`: counts kept with the versions of the
//!   bitmaps they came from (see `versions.rs`).
//! - `expiries` (see `server_ops.rs`, feature `server`).
//! - `ids_forward`, `ids_reverse`, `ids_next`: the external-id map (see `idmap.rs`).
//! - `store_meta: &str -> &str`: store metadata kept apart from the bitmaps, such as the
//!   recorded time zone `{prefix}.timezone` (see `meta.rs`); committed at once, never listed
//!   as a key.
//!
//! `compact.rs` rewrites the file into a fresh, packed one and swaps it in (see there for
//! what it costs and why a crash during it loses nothing). `backup.rs` copies one commit
//! into another file while writes go on, for this process or at another's request.
//!
//! # Invariants
//!
//! - **Cache.** `cache: Mutex<Cache>` maps keys to `Entry { bitmap, dirty, on_file,
//!   last_used }` and holds the tombstones (keys deleted since the last commit; see
//!   `cache.rs`). A cached bitmap is what callers see; the file is only consulted for keys
//!   neither cached nor tombstoned. A dirty entry's key is in the cache's dirty list. A key
//!   read from the file is cached clean; a key found in neither is not cached. Every cached
//!   bitmap has `byte_len > 0`. Bitmaps are `Arc`-shared and changed with `Arc::make_mut`.
//! - **Loads happen under the cache lock.** A write or read of an uncached key opens a read
//!   transaction while holding the cache lock, so no commit or delete can slip between the
//!   load and the insertion into the cache.
//! - **Commits.** `flush_lock: Mutex<()>` serializes everything that writes the file (commits,
//!   `delete_prefix`, expiry times) and eviction. A commit takes, under the cache lock, a
//!   snapshot of the dirty entries (the `Arc` of each bitmap, not a copy; entry marked clean)
//!   and of the tombstones (copies: they stay until the commit succeeds), releases the cache
//!   lock, and writes the whole snapshot, bitmaps and removals, in one redb write
//!   transaction with `Durability::Immediate` (the default: the commit returns after
//!   `fsync`). A write that
//!   lands after the snapshot dirties the entry again (copying the bitmap if the commit still
//!   holds it), so it goes into the next commit. If the commit fails, the snapshot's keys are
//!   marked dirty again (its removals are still tombstoned), and the error is returned;
//!   nothing is lost from memory.
//! - **Clean means committed or being committed.** An entry is clean only when the file holds
//!   its bitmap or a commit of it is in progress under the flush lock; eviction (which drops
//!   only clean entries) takes the flush lock, so it never drops an entry the file does not
//!   yet hold.
//! - **Deletes** happen in memory, under the cache lock: the entry leaves the cache and the
//!   key becomes a tombstone if the file may hold it (an entry created and deleted between
//!   two commits leaves none, so a temporary key never reaches the file). A tombstoned key
//!   reads as missing and is never loaded from the file; the next commit removes it from
//!   the file in the same transaction as the writes before and after it, so a commit never
//!   holds half of a `RENAME`. `delete_prefix` (`FLUSHALL`) is the exception: it removes
//!   the keys from the file in its own committed transaction under the flush lock, then
//!   from the cache (entries and tombstones); a write that loads a key between the two is
//!   ordered before the delete and deleted with it.
//! - **Ticks.** `last_used` is a coarse clock: an `AtomicU64` the flusher thread increments
//!   once per interval, read with one relaxed load per call. With `idle_eviction` set, the
//!   flusher drops clean entries unused for `idle_eviction / flush_interval` ticks.
//!   `flush_release` (bulk loads) commits and then drops every clean entry, also under the
//!   flush lock.
//! - **Walks of spans** (`get_serialized_spans`, trends and stickiness) hold the flush lock
//!   and the cache lock for the whole walk, so the versions they report are those of what
//!   they read (see `spans.rs`).
//! - **Restricted reads** (`get_within`, cohorts) read a cached bitmap under the cache lock,
//!   or an uncached one from the file (also under the cache lock, like a load) fetching and
//!   decoding only the containers asked for, so only the rows holding them (`partial.rs`);
//!   what they read from the file is not cached.
//! - **Counts** (`count`) of uncached keys read only the stored roaring header, whose
//!   container descriptions hold the cardinalities (`partial::count`), under the cache lock
//!   like a load; nothing is decoded or cached. A cached key counts its cached bitmap.
//! - **Merges** (`merge`, bulk loads) OR whole bitmaps into entries under the cache lock, like
//!   a `write` of every set bit: loaded from the file first when not cached, dirty after.
//! - **Hot path.** A write of offsets to a cached key takes one lock and one hash lookup
//!   with `&str`, and allocates nothing (except the key's entry in the dirty list, once per
//!   commit interval). `count` and `contains` never clone a bitmap.
//! - **Blocking.** Cached reads and writes, `put` and `delete` run inline in the caller's
//!   task (a delete of an uncached key reads the file to learn whether it exists). `flush`
//!   and `delete_prefix` commit with `fsync`; under a Tokio runtime they run on its blocking
//!   pool (a cancelled call still completes there). The final commit on drop runs in the
//!   dropping thread.
//!
//! # What a crash can lose
//!
//! A write is acknowledged when it is in the cache, not when it is on disk. A crash
//! (SIGKILL, panic with `panic = "abort"`, power loss) loses exactly the writes acknowledged
//! after the start of the last commit that completed: at most one `flush_interval` of writes
//! (default 1 s) plus those of the commit in progress. Deletes are writes: a lost delete
//! brings the key back with the value it had in the file. Everything acknowledged before a
//! completed [`Store::flush`] (or a completed `delete_prefix`) survives. A redb commit is atomic:
//! after a crash the file opens (redb repairs its allocator state if needed) and holds
//! exactly the state of some completed commit, never half of one, and never a torn value.
//! Since one `write` call is applied to the cache under one lock, a commit holds all of a
//! `write` call or none of it.
//!
//! # Processes
//!
//! redb locks the file: a second process (or a second open in this one) gets
//! [`Error::AlreadyOpen`]. Use Redis or bitmapist-server to share data between processes.

mod at_path;
mod backup;
mod cache;
mod codec;
mod compact;
#[cfg(feature = "server")]
mod derive;
mod flusher;
mod idmap;
mod meta;
mod partial;
mod prune;
mod readonly;
mod rows;
#[cfg(feature = "server")]
mod server_ops;
mod spans;
mod versions;

pub use self::backup::{BACKUP_TAKE_TIMEOUT, backup_file};
pub(crate) use self::partial::{DenseContainer, DenseParts};
pub use self::readonly::ReadOnlyEmbeddedStore;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableDefinition};

use self::at_path::AtPath;
use self::cache::{Cache, Snapshot};
use self::compact::Db;
use self::flusher::Flusher;
use self::rows::{ReadTables, WriteTables};
use self::spans::Held;
use crate::bitmap::Bitmap;
use crate::error::{Error, Result};
use crate::keep::KeepPolicy;
use crate::store::{CompactReport, IdStore, KeyWrite, SpanVisitors, StorageStats, Store};
use crate::telemetry::EmbeddedMetrics;
use crate::zone::Zone;

/// The bitmaps: key -> encoded value (see `codec.rs`).
const BITMAPS: TableDefinition<&str, &[u8]> = TableDefinition::new("bitmaps");
/// Expiry times: key -> deadline (the caller's unit; bitmapist-server uses Unix ms). Only
/// the `server` feature reads and writes it; compaction copies it.
const EXPIRIES: TableDefinition<&str, u64> = TableDefinition::new("expiries");
/// File metadata: [`FORMAT_VERSION_KEY`] -> format version.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The key of the format version in [`META`].
const FORMAT_VERSION_KEY: &str = "format_version";
/// The file format this code writes; it reads this one and formats 1 and 2.
const FORMAT_VERSION: u64 = 3;
/// The older format without write versions (see `versions.rs`), read as it is and upgraded
/// on the first open for writing.
const FORMAT_VERSION_UNVERSIONED: u64 = 2;
/// The oldest format this code reads (inline values only) and upgrades on open.
const FORMAT_VERSION_INLINE_ONLY: u64 = 1;

/// The size of redb's page cache with [`EmbeddedStore::open`]: 16 MiB. The bitmaps in use
/// are cached, decoded, by the store itself; redb's cache only keeps recently read or
/// written file pages (a copy of each value read), so redb's own default (1 GiB) mostly
/// doubled the memory of large reads and bulk loads (a 10-million-user seed: 1.56 GB peak).
pub const DEFAULT_FILE_CACHE_BYTES: usize = 16 << 20;

/// Tuning of the embedded store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// How often dirty bitmaps are committed to the file (default 1 s). A crash loses at
    /// most the writes acknowledged since the last commit.
    pub flush_interval: Duration,
    /// Clean bitmaps not used for this long leave memory (default 10 minutes); `None`
    /// keeps everything that was read in memory.
    pub idle_eviction: Option<Duration>,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            flush_interval: Duration::from_secs(1),
            idle_eviction: Some(Duration::from_secs(600)),
        }
    }
}

/// Bitmaps in a redb file, hot ones cached in memory (`file://PATH`).
///
/// Writes are acknowledged once in memory and committed every
/// [`EmbeddedOptions::flush_interval`], on [`Store::flush`], and on drop. A crash loses at
/// most the writes acknowledged after the start of the last completed commit (one
/// `flush_interval`, plus the commit in progress); a redb commit is atomic, and one `write`
/// call is committed whole or not at all. Dropping the store stops its flusher thread and
/// commits what is left.
///
/// ```
/// use bitmapist::{EmbeddedOptions, EmbeddedStore, KeyWrite, Store};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("analytics.redb");
/// let store = EmbeddedStore::open(&path, EmbeddedOptions::default())?;
/// store.write(&[KeyWrite::set("k".into(), 7)]).await?;
/// store.flush().await?; // durable from here on
/// assert_eq!(store.count(&["k".into()]).await?, vec![1]);
/// # Ok(()) }
/// ```
pub struct EmbeddedStore {
    shared: Arc<OpenFile>,
    flusher: Flusher,
    options: EmbeddedOptions,
}

/// What the store and its flusher thread share.
struct OpenFile {
    path: PathBuf,
    db: Db,
    /// redb's page cache size the file was opened with (`None`: redb's default); a
    /// compacted file is opened with the same.
    file_cache_bytes: Option<usize>,
    cache: Mutex<Cache>,
    /// Serializes commits, deletes and eviction (see the module docs).
    flush_lock: Mutex<()>,
    /// One backup at a time (see `backup.rs`).
    backup_lock: Mutex<()>,
    /// The coarse clock of `Entry::last_used`.
    tick: AtomicU64,
    /// How many write transactions were committed since the file was opened.
    commits: AtomicU64,
    /// The retention policy the flusher thread applies, if any (see `prune.rs`).
    auto_prune: Mutex<Option<prune::AutoPrune>>,
    /// How many of those prunes completed since the file was opened.
    prunes: AtomicU64,
    /// Commit durations and sizes, cache footprint and evictions (see `telemetry.rs`).
    metrics: EmbeddedMetrics,
    /// Test-only fault injection: the next commit fails after writing its tables, before
    /// committing them (the transaction is dropped, so redb rolls it back).
    #[cfg(test)]
    fail_next_commit: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.shared.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the file and starts the flusher thread. The directory must exist
    /// (a missing one is an [`Error::Io`] of kind `NotFound` naming it: a mistyped path
    /// never starts an empty store somewhere unexpected).
    ///
    /// Fails with [`Error::AlreadyOpen`] when another process (or another store in this
    /// one) has the file open, and with [`Error::Embedded`] when it is not a redb database.
    ///
    /// redb's page cache is [`DEFAULT_FILE_CACHE_BYTES`](crate::DEFAULT_FILE_CACHE_BYTES) (see
    /// `EmbeddedStore::open_with_file_cache`, feature `server`).
    pub fn open(path: &Path, options: EmbeddedOptions) -> Result<Self> {
        Self::open_inner(path, options, Some(DEFAULT_FILE_CACHE_BYTES))
    }

    /// Opens the file as [`EmbeddedStore::open`] does; `file_cache_bytes` sets the size of
    /// redb's page cache (`None`: redb's default, 1 GiB).
    fn open_inner(
        path: &Path,
        options: EmbeddedOptions,
        file_cache_bytes: Option<usize>,
    ) -> Result<Self> {
        let shared = Arc::new(OpenFile::open(path, file_cache_bytes)?);
        let flusher = Flusher::spawn(Arc::clone(&shared), &options)?;
        Ok(EmbeddedStore {
            shared,
            flusher,
            options,
        })
    }

    /// Applies `policy` to the keys under `prefix` on the flusher thread, every `every`
    /// (the first run on its next tick), periods taken on `zone`'s wall clock (see
    /// `store/embedded/prune.rs`). [`Store::auto_prune`] is this with one hour.
    pub fn auto_prune_every(&self, prefix: &str, policy: &KeepPolicy, zone: Zone, every: Duration) {
        let request = (!policy.is_empty())
            .then(|| prune::AutoPrune::new(prefix, policy.clone(), zone, every));
        *lock(&self.shared.auto_prune) = request;
    }

    /// How many prunes the flusher thread completed since the file was opened.
    pub fn prunes_completed(&self) -> u64 {
        self.shared.prunes.load(Ordering::Relaxed)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &EmbeddedOptions {
        &self.options
    }

    /// Stores `bitmap` under `key` (as [`Store::put`] does, without copying the bitmap); a
    /// bitmap of length 0 deletes the key. In memory: the next commit writes it.
    pub fn put_owned(&self, key: &str, bitmap: Bitmap) -> Result<()> {
        let shared = &self.shared;
        if bitmap.byte_len() == 0 {
            return shared.delete(&[key.to_owned()]).map(|_| ());
        }
        let now = shared.now();
        lock(&shared.cache).replace(key, Arc::new(bitmap), now);
        Ok(())
    }

    /// The footprint of the last commit: keys, the sum of their serialized roaring sizes and
    /// the file's size (see [`StorageStats`]). Reads the header of every value (not the
    /// chunk rows); runs on Tokio's blocking pool when a runtime is present.
    pub async fn storage_stats(&self) -> Result<StorageStats> {
        self.blocking(OpenFile::storage_stats).await
    }

    /// Commits what is dirty, then rewrites the file into a fresh one holding only the live
    /// bitmaps, run-optimized and packed, and swaps it in. Crash-safe: a crash at any point
    /// leaves a file with every committed bitmap. Commits and deletes wait meanwhile; reads
    /// and cached writes do not. Needs free disk for the new file beside the old one.
    pub async fn compact(&self) -> Result<CompactReport> {
        self.blocking(OpenFile::compact).await
    }

    /// Runs `f` on the shared state, on Tokio's blocking pool when a runtime is present
    /// (for calls that commit, and so wait for `fsync`).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&OpenFile) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return f(&self.shared);
        };
        let shared = Arc::clone(&self.shared);
        match handle.spawn_blocking(move || f(&shared)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Io {
                context: format!("embedded store {}", self.shared.path.display()),
                source: std::io::Error::other(e),
            }),
        }
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.flusher.stop();
        if let Err(e) = self.shared.flush() {
            tracing::warn!(
                path = %self.shared.path.display(),
                error = %e,
                "embedded store: final commit on close failed; writes since the last commit are lost"
            );
        }
    }
}

/// At most this many threads read one batch of serializations from the file.
const READ_THREADS: usize = 2;

/// Fills `out[i]` for each index `i` of `missing` with what `read` gives for `keys[i]`:
/// `read` runs over those keys cut into up to [`READ_THREADS`] consecutive shares, each in
/// its own thread (each opens its own read transaction). Many large values are read in
/// about half the time on two cores: their cost is page reads and copies, not a lock. Each
/// value is one commit's whole value; the writable store reads under its cache lock and a
/// read-only handle sees one snapshot.
pub(super) fn read_missing<T: Send>(
    keys: &[String],
    missing: Vec<usize>,
    out: &mut [Option<T>],
    read: impl Fn(&[&str]) -> Result<Vec<Option<T>>> + Sync,
) -> Result<()> {
    let wanted: Vec<&str> = missing.iter().map(|&i| keys[i].as_str()).collect();
    let mut read_back = Vec::with_capacity(wanted.len());
    for share in crate::threads::in_shares(&wanted, READ_THREADS, read) {
        read_back.extend(share?);
    }
    for (i, value) in missing.into_iter().zip(read_back) {
        out[i] = value;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads keys from the file within one read transaction, opened on first use.
struct FileReader<'s> {
    shared: &'s OpenFile,
    tables: Option<ReadTables>,
}

impl FileReader<'_> {
    fn load(&mut self, key: &str) -> Result<Option<Bitmap>> {
        let path = &self.shared.path;
        self.tables()?.load(path, key)
    }

    /// The stored roaring serialization of `key`, not decoded.
    fn load_serialized(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let path = &self.shared.path;
        self.tables()?.load_serialized(path, key)
    }

    /// The bitmap of `key` AND `within`, decoding only the containers `within` has.
    fn load_within(&mut self, key: &str, within: &Bitmap) -> Result<Option<Bitmap>> {
        let path = &self.shared.path;
        self.tables()?.load_within(path, key, within)
    }

    /// The roaring length stored for `key` (0 when the file does not hold it), from the
    /// value's header.
    fn value_size(&mut self, key: &str) -> Result<u64> {
        let path = &self.shared.path;
        match self.tables()?.bitmaps().get(key).at(path)? {
            Some(value) => ReadTables::roaring_len(key, value.value()),
            None => Ok(0),
        }
    }

    /// How many bits `key` has set in the file, from the roaring header alone.
    fn count(&mut self, key: &str) -> Result<Option<u64>> {
        let path = &self.shared.path;
        self.tables()?.count(path, key)
    }

    /// Whether the file holds `key`, without decoding its value.
    fn contains(&mut self, key: &str) -> Result<bool> {
        let path = &self.shared.path;
        Ok(self.tables()?.bitmaps().get(key).at(path)?.is_some())
    }

    fn tables(&mut self) -> Result<&ReadTables> {
        let tables = match &mut self.tables {
            Some(tables) => tables,
            slot @ None => {
                let txn = self.shared.db.begin_read().at(&self.shared.path)?;
                slot.insert(ReadTables::open(&self.shared.path, &txn)?)
            }
        };
        Ok(tables)
    }
}

impl OpenFile {
    fn open(path: &Path, file_cache_bytes: Option<usize>) -> Result<Self> {
        // A mistyped directory must not silently start an empty store (bitmapist-server
        // refuses it too): the file is created when missing, its directory never.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(Error::Io {
                context: format!(
                    "the directory {} of the embedded store {} does not exist (create it first; the store does not create directories)",
                    dir.display(),
                    path.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let created = match file_cache_bytes {
            Some(bytes) => Database::builder().set_cache_size(bytes).create(path),
            None => Database::create(path),
        };
        let db = match created {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch) => {
                return Err(Error::AlreadyOpen {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(rows::redb_err(path, e)),
        };

        // A file already in this format needs no write: opening it for a query must not
        // commit (a commit waits for fsync, twice). Anything else takes the write path below.
        if !current_format(&db) {
            Self::init_format(&db, path)?;
        }

        compact::remove_stale(path)?;

        Ok(OpenFile {
            path: path.to_path_buf(),
            db: Db::new(db),
            file_cache_bytes,
            cache: Mutex::new(Cache::default()),
            flush_lock: Mutex::new(()),
            backup_lock: Mutex::new(()),
            tick: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            auto_prune: Mutex::new(None),
            prunes: AtomicU64::new(0),
            metrics: EmbeddedMetrics::register(),
            #[cfg(test)]
            fail_next_commit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Creates the tables and records the format version, or refuses another version.
    fn init_format(db: &Database, path: &Path) -> Result<()> {
        let txn = db.begin_write().at(path)?;
        {
            txn.open_table(BITMAPS).at(path)?;
            let mut tables = WriteTables::open(path, &txn)?;
            let mut meta = txn.open_table(META).at(path)?;
            let version = meta.get(FORMAT_VERSION_KEY).at(path)?.map(|v| v.value());
            match version {
                None | Some(FORMAT_VERSION_INLINE_ONLY | FORMAT_VERSION_UNVERSIONED) => {
                    // Every key gets a version in the upgrade's transaction.
                    let mut keys = Vec::new();
                    for item in tables.bitmaps().iter().at(path)? {
                        keys.push(item.at(path)?.0.value().to_owned());
                    }
                    for key in &keys {
                        tables.stamp(key)?;
                    }
                    meta.insert(FORMAT_VERSION_KEY, FORMAT_VERSION).at(path)?;
                }
                Some(FORMAT_VERSION) => {}
                Some(v) => {
                    let reason = if v > FORMAT_VERSION {
                        format!(
                            "file format version {v} was written by a newer bitmapist; this one reads version {FORMAT_VERSION}: upgrade bitmapist"
                        )
                    } else {
                        format!(
                            "unknown file format version {v} (this bitmapist reads version {FORMAT_VERSION})"
                        )
                    };
                    return Err(Error::UnsupportedFormat {
                        path: path.to_path_buf(),
                        version: v,
                        reason,
                    });
                }
            }
        }
        txn.commit().at(path)
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn reader(&self) -> FileReader<'_> {
        FileReader {
            shared: self,
            tables: None,
        }
    }

    fn now(&self) -> u64 {
        self.tick.load(Ordering::Relaxed)
    }

    /// Advances the clock by one tick; the new tick.
    fn advance_tick(&self) -> u64 {
        self.tick.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn write(&self, writes: &[KeyWrite]) -> Result<()> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        for w in writes {
            cache.set_bits(&w.key, &w.offsets, w.value, now, || reader.load(&w.key))?;
        }
        Ok(())
    }

    fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        for (key, bitmap) in entries.into_iter().filter(|(_, b)| b.byte_len() > 0) {
            cache.merge(&key, &bitmap, now, || reader.load(&key))?;
        }
        Ok(())
    }

    /// Applies `read` to each key's bitmap, from the cache or the file.
    fn read_each<R>(&self, keys: &[String], read: impl Fn(&Bitmap) -> R) -> Result<Vec<Option<R>>> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        keys.iter()
            .map(|key| cache.read(key, now, || reader.load(key), |b| read(b)))
            .collect()
    }

    /// How many bits each key has set: a cached bitmap counts itself, an uncached one is
    /// counted from its stored roaring header (no decode) and not cached; a missing or
    /// tombstoned key counts 0.
    fn count_each(&self, keys: &[String]) -> Result<Vec<u64>> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        keys.iter()
            .map(|key| {
                if let Some(bitmap) = cache.peek_used(key, now) {
                    return Ok(bitmap.count());
                }
                if cache.is_tombstoned(key) {
                    return Ok(0);
                }
                Ok(reader.count(key)?.unwrap_or(0))
            })
            .collect()
    }

    /// Each key's roaring serialization: a cached bitmap serialized, an uncached one as the
    /// file stores it (not decoded, not cached; read by [`read_missing`], all under the cache
    /// lock as any read); a missing or tombstoned key is `None`.
    fn read_serialized(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let now = self.now();
        let mut cache = lock(&self.cache);
        let mut out = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match cache.peek_used(key, now) {
                Some(bitmap) => out.push(Some(crate::store::serialize(bitmap))),
                None => {
                    out.push(None);
                    if !cache.is_tombstoned(key) {
                        missing.push(i);
                    }
                }
            }
        }
        read_missing(keys, missing, &mut out, |mine| {
            let mut reader = self.reader();
            mine.iter().map(|key| reader.load_serialized(key)).collect()
        })?;
        drop(cache);
        Ok(out)
    }

    /// Hands each span of the keys' containers to a visitor (see `spans.rs`): a cached
    /// bitmap serialized once, an uncached one from the file a span at a time, a missing or
    /// tombstoned one empty; under the flush lock and the cache lock, so that no write or
    /// commit lands during the walk (writes wait for it, counting included) and the
    /// versions read before it are those of what it reads. The answer is those versions.
    fn read_serialized_spans(
        &self,
        keys: &[String],
        visitors: &SpanVisitors<'_>,
    ) -> Result<Vec<Option<u64>>> {
        let _commits = lock(&self.flush_lock);
        let now = self.now();
        let mut cache = lock(&self.cache);
        let versions = self.versions_locked(&cache, keys)?;
        let mut cached: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let mut tombstoned = Vec::with_capacity(keys.len());
        for key in keys {
            cached.push(cache.peek_used(key, now).map(crate::store::serialize));
            tombstoned.push(cache.is_tombstoned(key));
        }
        let held: Vec<Held<'_>> = cached
            .iter()
            .zip(tombstoned)
            .map(|(bytes, tombstoned)| match bytes {
                Some(bytes) => Held::Memory(bytes),
                None if tombstoned => Held::Missing,
                None => Held::File,
            })
            .collect();
        let open = || -> Result<Option<ReadTables>> {
            let txn = self.db.begin_read().at(&self.path)?;
            ReadTables::open(&self.path, &txn).map(Some)
        };
        spans::walk(&self.path, keys, &held, open, visitors)?;
        drop(cache);
        Ok(versions)
    }

    /// The versions of `keys` (see `versions.rs`) with the cache locked: none for a key
    /// with uncommitted changes, the file's for the others. The caller holds the flush lock
    /// when the versions must stay those of the file while it reads.
    fn versions_locked(&self, cache: &Cache, keys: &[String]) -> Result<Vec<Option<u64>>> {
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let txn = self.db.begin_read().at(&self.path)?;
        let read = versions::read(&self.path, &txn, &names)?;
        Ok(keys
            .iter()
            .zip(read)
            .map(|(k, v)| v.filter(|_| cache.is_settled(k)))
            .collect())
    }

    /// Each key's bitmap AND `within`: from the cache when cached, else from the file
    /// decoding only what `within` touches, and not cached.
    fn read_within(&self, keys: &[String], within: &Bitmap) -> Result<Vec<Option<Bitmap>>> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        keys.iter()
            .map(|key| {
                if let Some(bitmap) = cache.peek_used(key, now) {
                    return Ok(Some(crate::store::restrict(bitmap, within)));
                }
                if cache.is_tombstoned(key) {
                    return Ok(None);
                }
                reader.load_within(key, within)
            })
            .collect()
    }

    fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        Ok(cache
            .read(key, now, || reader.load(key), |b| b.contains(offset))?
            .unwrap_or(false))
    }

    /// Stores each bitmap (`byte_len > 0`) and deletes each key of `deletes`, atomically
    /// (under one cache lock), in memory: the next commit writes them.
    fn replace_all<'e>(
        &self,
        entries: impl IntoIterator<Item = (&'e str, &'e Bitmap)>,
        deletes: &[String],
    ) -> Result<()> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        for key in deletes {
            cache.delete(key, || reader.contains(key))?;
        }
        for (key, bitmap) in entries {
            cache.replace(key, Arc::new(bitmap.clone()), now);
        }
        Ok(())
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        // The file snapshot is taken under the cache lock, so that the two views agree.
        let cache = lock(&self.cache);
        let mut keys: Vec<String> = cache.keys_with_prefix(prefix).cloned().collect();
        let txn = self.db.begin_read().at(&self.path)?;
        let table = txn.open_table(BITMAPS).at(&self.path)?;
        for item in table.range(prefix..).at(&self.path)? {
            let (key, _) = item.at(&self.path)?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            if !cache.is_tombstoned(key) {
                keys.push(key.to_owned());
            }
        }
        drop(cache);
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// Commits every dirty entry and tombstone (see the module docs).
    fn flush(&self) -> Result<()> {
        let _commit = lock(&self.flush_lock);
        self.flush_locked()
    }

    /// [`OpenFile::flush`] for a caller that holds the flush lock.
    fn flush_locked(&self) -> Result<()> {
        let snapshot = lock(&self.cache).take_dirty();
        if snapshot.is_empty() {
            return Ok(());
        }
        let result = self.commit(&snapshot);
        let mut cache = lock(&self.cache);
        match result {
            Ok(()) => cache.forget_tombstones(&snapshot.deletes),
            Err(_) => {
                self.metrics.commit_failed();
                cache.redirty(snapshot);
            }
        }
        result
    }

    /// Writes `snapshot` in one write transaction, each bitmap run-optimized first (a copy:
    /// the cache keeps sharing its own). The caller holds the flush lock.
    fn commit(&self, snapshot: &Snapshot) -> Result<()> {
        let started = Instant::now();
        let mut bytes = 0usize;
        let txn = self.db.begin_write().at(&self.path)?;
        {
            let mut tables = WriteTables::open(&self.path, &txn)?;
            for (key, bitmap) in &snapshot.writes {
                let mut optimized = Bitmap::clone(bitmap);
                codec::optimize(&mut optimized);
                tables.insert(key, &optimized)?;
                bytes += optimized.bits().serialized_size();
            }
            for key in &snapshot.deletes {
                tables.remove(key)?;
            }
        }
        #[cfg(test)]
        if self.fail_next_commit.swap(false, Ordering::SeqCst) {
            return Err(Error::Io {
                context: format!("committing to {} (injected fault)", self.path.display()),
                source: std::io::Error::other("injected commit failure"),
            });
        }
        txn.commit().at(&self.path)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        let keys = snapshot.writes.len() + snapshot.deletes.len();
        self.metrics.committed(started, keys, bytes);
        Ok(())
    }

    /// Deletes keys in memory (tombstones, see the module docs); how many existed, each
    /// counted once.
    fn delete(&self, keys: &[String]) -> Result<u64> {
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        let mut gone = 0u64;
        for key in keys {
            if cache.delete(key, || reader.contains(key))? {
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Deletes every key that starts with `prefix`, from the file (committed) and memory.
    fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let _commit = lock(&self.flush_lock);
        let txn = self.db.begin_write().at(&self.path)?;
        let mut in_file: HashSet<String> = HashSet::new();
        {
            let mut tables = WriteTables::open(&self.path, &txn)?;
            for item in tables.bitmaps().range(prefix..).at(&self.path)? {
                let (key, _) = item.at(&self.path)?;
                let key = key.value();
                if !key.starts_with(prefix) {
                    break;
                }
                in_file.insert(key.to_owned());
            }
            for key in &in_file {
                tables.remove(key)?;
            }
        }
        txn.commit().at(&self.path)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        let mut cache = lock(&self.cache);
        // Keys of the file that were deleted already (tombstoned) did not exist.
        let mut gone = in_file.iter().filter(|k| !cache.is_tombstoned(k)).count() as u64;
        cache.remove_prefix(prefix, |key| {
            if !in_file.contains(key) {
                gone += 1;
            }
        });
        Ok(gone)
    }

    /// Drops clean entries unused for `idle_ticks` ticks; how many.
    fn evict_idle(&self, idle_ticks: u64) -> usize {
        let _commit = lock(&self.flush_lock);
        let now = self.now();
        let evicted = lock(&self.cache).evict_idle(now, idle_ticks);
        self.metrics.evicted(evicted);
        evicted
    }

    /// Publishes how many bitmaps the cache holds and their serialized size (a walk of the
    /// cache under its lock: the flusher calls it every few ticks, not per write).
    fn measure_cache(&self) {
        let (bitmaps, bytes) = lock(&self.cache).footprint();
        self.metrics.cache_footprint(bitmaps, bytes);
    }
}

/// Whether the file has both tables and this format version (read only).
fn current_format(db: &Database) -> bool {
    let Ok(txn) = db.begin_read() else {
        return false;
    };
    if txn.open_table(BITMAPS).is_err() {
        return false;
    }
    txn.open_table(META).ok().and_then(|meta| {
        meta.get(FORMAT_VERSION_KEY)
            .ok()
            .flatten()
            .map(|v| v.value())
    }) == Some(FORMAT_VERSION)
}

/// Splits a `put` into bitmaps to store and keys to delete; the last entry of a key wins.
fn split_put(entries: &[(String, Bitmap)]) -> (Vec<(&str, &Bitmap)>, Vec<String>) {
    let mut last: HashMap<&str, &Bitmap> = HashMap::with_capacity(entries.len());
    for (key, bitmap) in entries {
        last.insert(key, bitmap);
    }
    let mut sets = Vec::with_capacity(last.len());
    let mut deletes = Vec::new();
    for (key, bitmap) in last {
        if bitmap.byte_len() == 0 {
            deletes.push(key.to_owned());
        } else {
            sets.push((key, bitmap));
        }
    }
    (sets, deletes)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn write(&self, writes: &[KeyWrite]) -> Result<()> {
        self.shared.write(writes)
    }

    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        self.shared.read_each(keys, Bitmap::clone)
    }

    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()> {
        let (sets, deletes) = split_put(entries);
        self.shared.replace_all(sets, &deletes)
    }

    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        self.shared.count_each(keys)
    }

    async fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        self.shared.contains(key, offset)
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.shared.keys(prefix)
    }

    async fn delete(&self, keys: &[String]) -> Result<u64> {
        self.shared.delete(keys)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let prefix = prefix.to_owned();
        self.blocking(move |s| s.delete_prefix(&prefix)).await
    }

    async fn flush(&self) -> Result<()> {
        self.blocking(OpenFile::flush).await
    }

    async fn storage_stats(&self) -> Result<Option<StorageStats>> {
        EmbeddedStore::storage_stats(self).await.map(Some)
    }

    async fn compact(&self) -> Result<Option<CompactReport>> {
        EmbeddedStore::compact(self).await.map(Some)
    }

    /// Cached keys from the cache; others from the file, only the containers `within` has.
    async fn get_serialized(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.shared.read_serialized(keys)
    }

    async fn get_serialized_spans(
        &self,
        keys: &[String],
        visitors: &SpanVisitors<'_>,
    ) -> Result<Vec<Option<u64>>> {
        self.shared.read_serialized_spans(keys, visitors)
    }

    /// None for a key with uncommitted changes; the file's for the others. Under the flush
    /// lock, so that no commit is halfway (a clean entry is then a committed one).
    async fn versions(&self, keys: &[String]) -> Result<Vec<Option<u64>>> {
        let _commits = lock(&self.shared.flush_lock);
        let cache = lock(&self.shared.cache);
        self.shared.versions_locked(&cache, keys)
    }

    async fn get_derived(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        let txn = self.shared.db.begin_read().at(&self.shared.path)?;
        versions::get_derived(&self.shared.path, &txn, names)
    }

    /// In the file, committed without waiting for the disk (see `versions.rs`).
    async fn put_derived(&self, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let _commits = lock(&self.shared.flush_lock);
        let txn = self.shared.db.begin_write().at(&self.shared.path)?;
        versions::put_derived(&self.shared.path, txn, entries)
    }

    async fn get_within(&self, keys: &[String], within: &Bitmap) -> Result<Vec<Option<Bitmap>>> {
        self.shared.read_within(keys, within)
    }

    /// Under the cache lock, like `write`.
    async fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        self.shared.merge(entries)
    }

    /// Commits, then drops every clean cached bitmap (whatever `idle_eviction` says).
    async fn flush_release(&self) -> Result<()> {
        self.blocking(|s| {
            s.flush()?;
            s.evict_idle(0);
            Ok(())
        })
        .await
    }

    fn id_store(&self) -> Option<&dyn IdStore> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("file://{}", self.shared.path.display())
    }

    // --- data lifecycle (retention policy, prune) ---

    /// The roaring serialization's length: of the cached bitmap, else from the file's
    /// value header (nothing is decoded or cached).
    async fn value_sizes(&self, keys: &[String]) -> Result<Vec<u64>> {
        let mut reader = self.shared.reader();
        let cache = lock(&self.shared.cache);
        keys.iter()
            .map(|key| {
                if let Some(bitmap) = cache.peek(key) {
                    return Ok(bitmap.bits().serialized_size() as u64);
                }
                if cache.is_tombstoned(key) {
                    return Ok(0);
                }
                reader.value_size(key)
            })
            .collect()
    }

    /// On the flusher thread, once an hour (see `store/embedded/prune.rs`).
    fn auto_prune(&self, prefix: &str, policy: &KeepPolicy, zone: Zone) -> bool {
        self.auto_prune_every(prefix, policy, zone, prune::PRUNE_INTERVAL);
        true
    }

    // --- end data lifecycle ---

    /// From the `store_meta` table.
    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let txn = self.shared.db.begin_read().at(&self.shared.path)?;
        meta::read(&txn, key).at(&self.shared.path)
    }

    /// Into the `store_meta` table, committed at once (not with the bitmaps' batches).
    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.blocking(move |s| {
            let txn = s.db.begin_write().at(&s.path)?;
            meta::write(&txn, &key, &value).at(&s.path)?;
            txn.commit().at(&s.path)
        })
        .await
    }
}

#[async_trait]
impl IdStore for EmbeddedStore {
    /// In the file's `ids_*` tables, committed with `fsync` before returning (see
    /// `idmap.rs`); on Tokio's blocking pool when new ids are assigned.
    async fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>> {
        let known = self.shared.lookup_ids(space, external)?;
        if let Some(all) = known.into_iter().collect::<Option<Vec<u32>>>() {
            return Ok(all);
        }
        let (space, external) = (space.to_owned(), external.to_vec());
        self.blocking(move |s| s.assign_ids(&space, &external))
            .await
    }

    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        self.shared.lookup_ids(space, external)
    }

    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        self.shared.resolve_ids(space, dense)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(flush_ms: u64, idle_ms: Option<u64>) -> EmbeddedOptions {
        EmbeddedOptions {
            flush_interval: Duration::from_millis(flush_ms),
            idle_eviction: idle_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn idle_clean_entries_leave_memory_dirty_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("s.redb"), options(5, Some(20))).unwrap();
        store.shared.write(&[KeyWrite::set("a".into(), 1)]).unwrap();
        assert_eq!(lock(&store.shared.cache).len(), 1);
        // The flusher commits, then evicts the entry once idle.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lock(&store.shared.cache).len() > 0 {
            assert!(std::time::Instant::now() < deadline, "never evicted");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Still readable from the file; the read caches it again, clean.
        assert_eq!(
            store
                .shared
                .read_each(&["a".into()], Bitmap::count)
                .unwrap(),
            vec![Some(1)]
        );
        let cache = lock(&store.shared.cache);
        assert_eq!((cache.len(), cache.dirty_len()), (1, 0));
    }

    #[test]
    /// A commit that fails (injected after the tables are written, before redb commits)
    /// leaves the file as it was, puts the taken entries and tombstones back as dirty, and
    /// the next successful flush writes them.
    fn redirty_puts_taken_entries_back_for_the_next_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            EmbeddedStore::open(&dir.path().join("s.redb"), options(3_600_000, None)).unwrap();
        let shared = &store.shared;
        let on_file = |key: &str| shared.reader().contains(key).unwrap();
        shared.write(&[KeyWrite::set("gone".into(), 7)]).unwrap();
        shared.flush().unwrap();
        assert!(on_file("gone"));
        let commits = shared.commits.load(Ordering::Relaxed);

        shared.write(&[KeyWrite::set("a".into(), 1)]).unwrap();
        assert_eq!(shared.delete(&["gone".into()]).unwrap(), 1);
        shared.fail_next_commit.store(true, Ordering::SeqCst);
        let failed = shared.flush();
        assert!(
            matches!(&failed, Err(Error::Io { context, .. }) if context.contains("injected")),
            "{failed:?}"
        );
        // Nothing reached the file; the write is dirty again and the delete still pending.
        assert!(!on_file("a"));
        assert!(on_file("gone"));
        assert_eq!(shared.commits.load(Ordering::Relaxed), commits);
        assert_eq!(lock(&shared.cache).dirty_len(), 1);
        assert_eq!(
            shared
                .read_each(&["a".into(), "gone".into()], Bitmap::count)
                .unwrap(),
            vec![Some(1), None]
        );

        shared.flush().unwrap();
        assert_eq!(lock(&shared.cache).dirty_len(), 0);
        assert_eq!(shared.commits.load(Ordering::Relaxed), commits + 1);
        assert!(on_file("a"));
        assert!(!on_file("gone"));
        assert_eq!(
            shared.reader().load("a").unwrap().map(|b| b.count()),
            Some(1)
        );
    }

    #[test]
    fn split_put_last_entry_wins() {
        let one: Bitmap = [1u32].into_iter().collect();
        let entries = vec![
            ("a".to_string(), one.clone()),
            ("a".to_string(), Bitmap::new()),
            ("b".to_string(), Bitmap::new()),
            ("b".to_string(), one.clone()),
        ];
        let (sets, deletes) = split_put(&entries);
        assert_eq!(sets, vec![("b", &one)]);
        assert_eq!(deletes, vec!["a".to_string()]);
    }
}
