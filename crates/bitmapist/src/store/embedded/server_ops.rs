//! Inherent operations of the embedded store beyond the [`Store`] trait, for a Redis-protocol
//! server on top of it: `SETBIT` with its previous bit, reads under the cache lock, key pages
//! in sorted order, key counts, and expiry times kept beside the bitmaps (backups: `backup.rs`).
//!
//! Everything here keeps the invariants of the [module docs](super): loads happen under the
//! cache lock, writes dirty the cache entry (committed by the flusher or [`Store::flush`]),
//! and whatever writes the file takes the flush lock.
//!
//! # Expiry times
//!
//! The store does not interpret expiry times; it only keeps them, in a third table of the
//! same file, `expiries: &str -> u64` (a deadline, for bitmapist-server Unix milliseconds).
//! [`EmbeddedStore::save_expiries`] commits changes at once (with `fsync`); deleting a key
//! does not remove its expiry time (the caller does). Code that does not know the table
//! ignores it, so the file stays readable by every version that reads format 1.
//!
//! [`Store`]: crate::store::Store
//! [`Store::flush`]: crate::store::Store::flush

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use redb::{ReadableTable, ReadableTableMetadata, TableError};

use super::at_path::AtPath;
use super::rows::redb_err;
use super::{BITMAPS, EXPIRIES, EmbeddedOptions, EmbeddedStore, OpenFile, lock};
use crate::bitmap::Bitmap;
use crate::error::Result;

impl EmbeddedStore {
    /// Opens the file as [`EmbeddedStore::open`] does, with a page cache of
    /// `file_cache_bytes` for redb (`open` uses [`DEFAULT_FILE_CACHE_BYTES`](crate::DEFAULT_FILE_CACHE_BYTES)). The cache holds
    /// file pages read or written recently; the bitmaps in use are cached separately.
    pub fn open_with_file_cache(
        path: &Path,
        options: EmbeddedOptions,
        file_cache_bytes: usize,
    ) -> Result<Self> {
        Self::open_inner(path, options, Some(file_cache_bytes))
    }

    /// Sets or clears bit `offset` of `key` (`SETBIT`), creating the key if missing, and
    /// returns the bit's previous value. Atomic: runs under the cache lock.
    pub fn set_bit(&self, key: &str, offset: u32, value: bool) -> Result<bool> {
        let shared = &self.shared;
        let now = shared.now();
        let mut reader = shared.reader();
        let mut cache = lock(&shared.cache);
        cache.set_bit(key, offset, value, now, || reader.load(key))
    }

    /// Applies `read` to the bitmap of `key` (cached, or loaded from the file and cached);
    /// `None` when the key does not exist. `read` runs under the cache lock: keep it short
    /// (a count, a range count, a clone), never blocking.
    pub fn read<R>(&self, key: &str, read: impl FnOnce(&Bitmap) -> R) -> Result<Option<R>> {
        let shared = &self.shared;
        let now = shared.now();
        let mut reader = shared.reader();
        let mut cache = lock(&shared.cache);
        cache.read(key, now, || reader.load(key), |b| read(b))
    }

    /// The bitmap of `key` (cached, or loaded from the file and cached), shared with the
    /// cache rather than copied; `None` when the key does not exist. Later writes to the key
    /// copy it first, so the returned bitmap never changes.
    pub fn read_shared(&self, key: &str) -> Result<Option<Arc<Bitmap>>> {
        let shared = &self.shared;
        let now = shared.now();
        let mut reader = shared.reader();
        let mut cache = lock(&shared.cache);
        cache.read(key, now, || reader.load(key), Arc::clone)
    }

    /// Whether `key` exists, without loading its bitmap into memory.
    pub fn exists(&self, key: &str) -> Result<bool> {
        let shared = &self.shared;
        let cache = lock(&shared.cache);
        if cache.contains_key(key) {
            return Ok(true);
        }
        if cache.is_tombstoned(key) {
            return Ok(false);
        }
        // Under the cache lock, so that no commit or delete slips in between (see the
        // module docs).
        let txn = shared.db.begin_read().at(&shared.path)?;
        let table = txn.open_table(BITMAPS).at(&shared.path)?;
        Ok(table.get(key).at(&shared.path)?.is_some())
    }

    /// Up to `limit` keys that sort after `after` (all keys when `None`), in ascending byte
    /// order: one page of a scan of the whole key space. A key that exists for the whole of
    /// a scan made of calls that each pass the last key of the previous page is returned by
    /// exactly one of them.
    pub fn keys_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let shared = &self.shared;
        let later = |k: &str| after.is_none_or(|a| k > a);
        // The file is read under the cache lock, so that the two views agree.
        let cache = lock(&shared.cache);
        let mut keys: Vec<String> = cache
            .keys_with_prefix("")
            .filter(|k| later(k))
            .cloned()
            .collect();
        if keys.len() > limit {
            keys.select_nth_unstable(limit - 1);
            keys.truncate(limit);
        }
        let txn = shared.db.begin_read().at(&shared.path)?;
        let table = txn.open_table(BITMAPS).at(&shared.path)?;
        let range = match after {
            Some(a) => table.range::<&str>((Bound::Excluded(a), Bound::Unbounded)),
            None => table.range::<&str>(..),
        }
        .at(&shared.path)?;
        let mut from_file = 0;
        for item in range {
            if from_file == limit {
                break;
            }
            let (key, _) = item.at(&shared.path)?;
            let key = key.value();
            if !cache.is_tombstoned(key) {
                keys.push(key.to_owned());
                from_file += 1;
            }
        }
        drop(cache);
        keys.sort_unstable();
        keys.dedup();
        keys.truncate(limit);
        Ok(keys)
    }

    /// How many keys exist (the file's and the cached ones not yet committed).
    pub fn key_count(&self) -> Result<u64> {
        let shared = &self.shared;
        let cache = lock(&shared.cache);
        let txn = shared.db.begin_read().at(&shared.path)?;
        let table = txn.open_table(BITMAPS).at(&shared.path)?;
        let mut count = table.len().at(&shared.path)?;
        for key in cache.keys_with_prefix("") {
            if table.get(key.as_str()).at(&shared.path)?.is_none() {
                count += 1;
            }
        }
        for key in cache.tombstones() {
            if table.get(key.as_str()).at(&shared.path)?.is_some() {
                count = count.saturating_sub(1);
            }
        }
        Ok(count)
    }

    /// How many bitmaps are in memory, and how many of those are not yet committed.
    pub fn cache_stats(&self) -> (usize, usize) {
        lock(&self.shared.cache).stats()
    }

    /// Every stored expiry time (see the module docs), in key order.
    pub fn load_expiries(&self) -> Result<Vec<(String, u64)>> {
        let shared = &self.shared;
        let txn = shared.db.begin_read().at(&shared.path)?;
        let table = match txn.open_table(EXPIRIES) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(redb_err(&shared.path, e)),
        };
        let mut out = Vec::new();
        for item in table.iter().at(&shared.path)? {
            let (key, deadline) = item.at(&shared.path)?;
            out.push((key.value().to_owned(), deadline.value()));
        }
        Ok(out)
    }

    /// Sets (`Some`) or removes (`None`) expiry times, in one committed transaction (durable
    /// when this returns). Runs on Tokio's blocking pool when a runtime is present.
    pub async fn save_expiries(&self, changes: Vec<(String, Option<u64>)>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.blocking(move |shared| shared.save_expiries(&changes))
            .await
    }
}

impl OpenFile {
    fn save_expiries(&self, changes: &[(String, Option<u64>)]) -> Result<()> {
        let _commit = lock(&self.flush_lock);
        let txn = self.db.begin_write().at(&self.path)?;
        {
            let mut table = txn.open_table(EXPIRIES).at(&self.path)?;
            for (key, deadline) in changes {
                match deadline {
                    Some(at) => {
                        table.insert(key.as_str(), *at).at(&self.path)?;
                    }
                    None => {
                        table.remove(key.as_str()).at(&self.path)?;
                    }
                }
            }
        }
        txn.commit().at(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::KeyWrite;

    fn store(dir: &Path) -> EmbeddedStore {
        EmbeddedStore::open_with_file_cache(
            &dir.join("s.redb"),
            EmbeddedOptions {
                flush_interval: Duration::from_secs(3600),
                idle_eviction: None,
            },
            1 << 20,
        )
        .unwrap()
    }

    #[test]
    fn set_bit_returns_the_previous_bit_and_grows_like_setbit() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert!(!s.set_bit("k", 9, true).unwrap());
        assert!(s.set_bit("k", 9, true).unwrap());
        assert!(s.set_bit("k", 9, false).unwrap());
        assert!(!s.set_bit("c", 100, false).unwrap());
        assert_eq!(s.read("c", Bitmap::byte_len).unwrap(), Some(13));
        assert_eq!(s.read("k", Bitmap::count).unwrap(), Some(0));
        assert_eq!(s.read("missing", Bitmap::count).unwrap(), None);
        assert!(s.exists("c").unwrap() && !s.exists("missing").unwrap());
        s.shared.flush().unwrap();
        assert!(!s.set_bit("k", 9, false).unwrap());
    }

    #[test]
    fn key_pages_merge_cache_and_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for k in ["b", "d", "f"] {
            s.shared.write(&[KeyWrite::set(k.into(), 1)]).unwrap();
        }
        s.shared.flush().unwrap();
        for k in ["a", "c", "e", "d"] {
            s.shared.write(&[KeyWrite::set(k.into(), 2)]).unwrap();
        }
        assert_eq!(s.key_count().unwrap(), 6);
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.keys_after(after.as_deref(), 4).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().cloned();
            seen.extend(page);
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(s.keys_after(Some("c"), 2).unwrap(), ["d", "e"]);
    }

    #[test]
    fn expiries_and_backups_persist() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let backup = dir.path().join("bak").join("copy.redb");
        {
            let s = store(dir.path());
            assert!(s.load_expiries().unwrap().is_empty());
            s.shared.write(&[KeyWrite::set("k".into(), 3)]).unwrap();
            rt.block_on(s.save_expiries(vec![("k".into(), Some(42)), ("j".into(), Some(7))]))
                .unwrap();
            rt.block_on(s.save_expiries(vec![("j".into(), None)]))
                .unwrap();
            rt.block_on(s.backup_to(&backup)).unwrap();
            // Written after the backup: not in it.
            s.shared.write(&[KeyWrite::set("later".into(), 1)]).unwrap();
        }
        let copy = EmbeddedStore::open(&backup, EmbeddedOptions::default()).unwrap();
        assert_eq!(copy.load_expiries().unwrap(), vec![("k".to_string(), 42)]);
        assert_eq!(copy.read("k", Bitmap::count).unwrap(), Some(1));
        assert!(!copy.exists("later").unwrap());
    }
}
