//! Compaction: rewrites the store's file into a fresh one holding only the live rows,
//! run-optimized and packed in key order, then swaps it in; plus the footprint report.
//!
//! # How
//!
//! Under the flush lock (so no commit, delete or eviction runs meanwhile), the store
//! commits its dirty bitmaps, then copies the last commit, read in one read transaction,
//! into a new redb file `.NAME.compact` beside the file: every bitmap decoded, run-optimized
//! and written again (chunked, see `rows.rs`) in ascending key order, which redb packs into
//! full pages; the `meta` and `expiries` tables as they are. The new file is committed with
//! `fsync`, renamed over the old one, and the directory is synced; then the store's
//! [`Db`] handle is swapped to the new database. Read transactions begun on the old
//! database finish on it (its file stays open until they end); they see the same data.
//!
//! # Crash safety
//!
//! The old file is never written during a compaction. Until the rename it is the file;
//! after the rename the new file, committed and synced before the rename, is. A crash at
//! any point (SIGKILL, power loss) leaves at the path a complete file with every committed
//! bitmap, and perhaps a stale `.NAME.compact`, which the next open or compaction removes.
//!
//! # Cost
//!
//! Time: one read and one write of every live byte, plus decoding and encoding each bitmap.
//! Disk: the new file exists beside the old one until the rename (peak: old + new). What it
//! blocks: commits, deletes and expiry changes wait for the flush lock (writes keep landing
//! in memory; reads keep being served, from the cache or the old file).
//!
//! # Invariants
//!
//! - Every write transaction is begun and committed under the flush lock, so none is live
//!   on the old database when the handle is swapped.
//! - A table the copy does not know is refused (an error, nothing swapped), never dropped.

use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

use redb::{
    Database, MultimapTableHandle, ReadTransaction, ReadableDatabase, ReadableTable, TableError,
    TableHandle, TransactionError, WriteTransaction,
};

use super::at_path::AtPath;
use super::rows::{CHUNKS, PARTS, ReadTables, WriteTables, redb_err};
use super::{BITMAPS, EXPIRIES, META, OpenFile, codec, lock};
use crate::error::{Error, Result};
use crate::store::{CompactReport, StorageStats};

/// Whether a copy knows how to carry over the table `name`.
fn known_table(name: &str) -> bool {
    [BITMAPS.name(), CHUNKS.name(), META.name(), EXPIRIES.name()].contains(&name)
        || PARTS.iter().any(|p| p.name() == name)
        || super::idmap::table_names().contains(&name)
        || name == super::meta::STORE_META.name()
        || name == super::versions::VERSIONS.name()
        || name == super::versions::DERIVED.name()
}

/// The store's database handle, swappable by a compaction.
pub(super) struct Db(RwLock<Database>);

impl Db {
    pub(super) fn new(db: Database) -> Self {
        Db(RwLock::new(db))
    }

    /// Begins a read transaction on the current database.
    pub(super) fn begin_read(&self) -> std::result::Result<ReadTransaction, TransactionError> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .begin_read()
    }

    /// Begins a write transaction on the current database (under the flush lock).
    pub(super) fn begin_write(&self) -> std::result::Result<WriteTransaction, TransactionError> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .begin_write()
    }

    /// Puts `db` in place of the current database; the old one.
    fn replace(&self, db: Database) -> Database {
        std::mem::replace(
            &mut *self.0.write().unwrap_or_else(PoisonError::into_inner),
            db,
        )
    }
}

/// How a copy writes bitmaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CopyMode {
    /// Rows as they are (a backup).
    Raw,
    /// Decoded, run-optimized and encoded again (a compaction).
    Reencode,
}

/// Where a compaction builds the new file: `.NAME.compact` beside `path`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bitmapist".to_string());
    path.with_file_name(format!(".{name}.compact"))
}

/// Removes a stale compaction file left by a crash (the caller holds the file's lock).
pub(super) fn remove_stale(path: &Path) -> Result<()> {
    let tmp = temp_path(path);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {
            tracing::info!(path = %tmp.display(), "removed the file of an interrupted compaction");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io {
            context: format!("removing the stale compaction file {}", tmp.display()),
            source,
        }),
    }
}

/// The footprint of the commit `tables` were opened on (see [`StorageStats`]): one scan of
/// the `bitmaps` table, reading value headers (chunk rows are not read), and the file's size.
pub(super) fn footprint(path: &Path, tables: &ReadTables) -> Result<StorageStats> {
    let mut stats = StorageStats::default();
    for item in tables.bitmaps().iter().at(path)? {
        let (key, value) = item.at(path)?;
        stats.keys += 1;
        match ReadTables::roaring_len(key.value(), value.value()) {
            Ok(n) => stats.roaring_bytes += n,
            Err(_) => stats.corrupt_keys += 1,
        }
    }
    stats.file_bytes = file_len(path)?;
    Ok(stats)
}

pub(super) fn file_len(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| Error::Io {
            context: format!("reading the size of {}", path.display()),
            source,
        })
}

/// Copies every known table of `read` (the file at `src`) into `write` (the file at `dst`),
/// but `versions` and `derived`: the keys copied get a newer version than any they had, and
/// nothing derived at an old version comes along.
pub(super) fn copy_tables(
    src: &Path,
    read: &ReadTransaction,
    dst: &Path,
    write: &WriteTransaction,
    how: CopyMode,
) -> Result<()> {
    for table in read.list_tables().at(src)? {
        if !known_table(table.name()) {
            return Err(unknown_table(src, table.name()));
        }
    }
    if let Some(table) = read.list_multimap_tables().at(src)?.next() {
        return Err(unknown_table(src, table.name()));
    }

    // `meta` first: its write sequence number goes on, so the keys copied are stamped with
    // a version newer than any they had (see `versions.rs`).
    {
        let src_meta = read.open_table(META).at(src)?;
        let mut dst_meta = write.open_table(META).at(dst)?;
        for item in src_meta.iter().at(src)? {
            let (key, value) = item.at(src)?;
            dst_meta.insert(key.value(), value.value()).at(dst)?;
        }
    }
    let tables = ReadTables::open(src, read)?;
    {
        let mut out = WriteTables::open(dst, write)?;
        for item in tables.bitmaps().iter().at(src)? {
            let (key, value) = item.at(src)?;
            let (key, value) = (key.value(), value.value());
            match how {
                CopyMode::Raw => out.copy_raw(&tables, key, value)?,
                CopyMode::Reencode => {
                    let mut bitmap = tables.decode(src, key, value)?;
                    codec::optimize(&mut bitmap);
                    out.insert(key, &bitmap)?;
                }
            }
        }
    }
    match read.open_table(EXPIRIES) {
        Ok(src_exp) => {
            let mut dst_exp = write.open_table(EXPIRIES).at(dst)?;
            for item in src_exp.iter().at(src)? {
                let (key, value) = item.at(src)?;
                dst_exp.insert(key.value(), value.value()).at(dst)?;
            }
        }
        Err(TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(redb_err(src, e)),
    }
    super::idmap::copy_ids(src, read, dst, write)?;
    super::meta::copy(read, write).at(src)?;
    Ok(())
}

fn unknown_table(path: &Path, name: &str) -> Error {
    Error::Io {
        context: format!("copying {}", path.display()),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file has a table {name:?} this bitmapist does not know; refusing to copy it without that table"
            ),
        ),
    }
}

/// Syncs the directory holding `path`, so that a rename in it is durable.
pub(super) fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Io {
            context: format!("syncing the directory {}", dir.display()),
            source,
        })
}

impl OpenFile {
    /// The footprint of the last commit (see [`StorageStats`]): one scan of the `bitmaps`
    /// table, reading value headers (chunk rows are not read).
    pub(super) fn storage_stats(&self) -> Result<StorageStats> {
        let read = self.db.begin_read().at(&self.path)?;
        footprint(&self.path, &ReadTables::open(&self.path, &read)?)
    }

    /// Compacts the file (see the module docs).
    pub(super) fn compact(&self) -> Result<CompactReport> {
        let started = Instant::now();
        let _commit = lock(&self.flush_lock);
        self.flush_locked()?;
        let before_bytes = file_len(&self.path)?;
        let tmp = temp_path(&self.path);
        remove_stale(&self.path)?;
        let built = self.build_compacted(&tmp).and_then(|db| {
            std::fs::rename(&tmp, &self.path).map_err(|source| Error::Io {
                context: format!(
                    "renaming the compacted file {} to {}",
                    tmp.display(),
                    self.path.display()
                ),
                source,
            })?;
            Ok(db)
        });
        let db = match built {
            Ok(db) => db,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let old = self.db.replace(db);
        drop(old);
        // The new file is in place; a failed directory sync only weakens durability of the
        // rename (the old file, identical in content, may come back after a power loss).
        if let Err(e) = sync_dir(&self.path) {
            tracing::warn!(error = %e, "compaction: directory sync failed");
        }
        let after = self.storage_stats()?;
        Ok(CompactReport {
            before_bytes,
            after,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Writes the compacted copy of the last commit to `tmp`; its open database.
    fn build_compacted(&self, tmp: &Path) -> Result<Database> {
        let mut out = match self.file_cache_bytes {
            Some(bytes) => Database::builder().set_cache_size(bytes).create(tmp),
            None => Database::create(tmp),
        }
        .at(tmp)?;
        let read = self.db.begin_read().at(&self.path)?;
        let write = out.begin_write().at(tmp)?;
        copy_tables(&self.path, &read, tmp, &write, CopyMode::Reencode)?;
        write.commit().at(tmp)?;
        // redb grows a file by doubling it and gives back only part of the unused end at a
        // commit; its own compaction (on this private, freshly packed file, so it moves
        // little) truncates the file to its last used page.
        out.compact().at(tmp)?;
        Ok(out)
    }
}
