//! The keyspace: the embedded store plus expiry deadlines, behind one gate that orders commands.
//! Single-key commands share the gate; commands that touch several keys or the key set take it alone.
//!
//! # Ordering
//!
//! Redis runs one command at a time. Here `SETBIT`, `GETBIT`, `BITCOUNT`, `GET`, `STRLEN`,
//! `TTL` and `PTTL` run concurrently under a shared gate (each is atomic on its key: the
//! store applies it under its cache lock), and so does `BITOP` when its destination has no
//! deadline: the store computes it from snapshots of its sources without holding the cache
//! lock and stores the result only if no source changed meanwhile (see the store's
//! `derive.rs`), so it is atomic too and never stalls commands on other keys. Every other
//! command that reads or writes keys takes the gate exclusively, so `RENAME`, `DEL`,
//! `MGET`, `KEYS`... see and leave a state no other command is halfway through. Under the
//! shared gate no deadline changes (every change takes the exclusive gate). Methods that
//! need the exclusive gate take its guard ([`ExclusiveGate`]) as a proof.
//!
//! # Deletes
//!
//! `DEL`, `RENAME` and `BITOP` change the store in memory, like writes: they are committed
//! with the next batch, so a temporary key costs no disk write. Deadlines are committed at
//! once; so that a crash never leaves a key without the deadline it had, a command that
//! removes the deadline of a deleted key first commits the store (`flush`), then the
//! deadline.
//!
//! # Expiry
//!
//! Deadlines are Unix milliseconds, kept in memory ([`Expiry`]) and in the store's
//! `expiries` table; every change is committed before the command answers. A key past its
//! deadline is deleted before any command touches it (lazily) and by a sweep every 100 ms
//! (see `server.rs`). After a restart the deadlines are loaded again, deadlines of keys that
//! no longer exist are dropped, and keys whose deadline passed while the server was down
//! are deleted on first use or by the first sweep. A crash can lose a key's bitmap writes of
//! the last save interval, but never its deadline: a deadline is durable when `EXPIRE`
//! answers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bitmapist::{Bitmap, Error, Result};
use bitmapist::{EmbeddedOptions, EmbeddedStore, Store};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::expiry::{Expiry, now_ms};
use crate::glob;
use crate::scan::{Cursors, Resume};

/// The shared gate (single-key commands).
pub type SharedGate<'a> = RwLockReadGuard<'a, ()>;
/// The exclusive gate (every other command that touches keys).
pub type ExclusiveGate<'a> = RwLockWriteGuard<'a, ()>;

/// How many `SCAN` cursors are remembered.
const SCAN_CURSORS: usize = 16_384;

/// Where and how the keyspace keeps its data.
#[derive(Clone, Debug)]
pub struct KeyspaceOptions {
    /// The database file (`-db`).
    pub path: PathBuf,
    /// Commit interval and idle eviction of the embedded store.
    pub store: EmbeddedOptions,
    /// The size of redb's page cache in bytes.
    pub file_cache_bytes: usize,
    /// Where `BGSAVE` and SIGUSR1 write a consistent copy (`-bak`), if anywhere.
    pub backup: Option<PathBuf>,
}

/// The embedded store, the keys' expiry deadlines, and the gate that orders commands.
///
/// Single-key commands (`SETBIT`, `GETBIT`, `BITCOUNT`, `GET`, `STRLEN`, `TTL`, `PTTL`, and
/// `BITOP` into a key without a deadline) share the gate and run concurrently, each atomic
/// on its key; every other command that reads or writes keys takes it exclusively
/// ([`ExclusiveGate`]), so it sees and leaves a state no command is halfway through.
/// Deletes and renames are committed with the next batch of writes; deadlines (Unix
/// milliseconds) are committed before the command answers, and a key past its deadline is
/// deleted before any command touches it and by the server's sweep.
#[derive(Debug)]
pub struct Keyspace {
    store: EmbeddedStore,
    gate: RwLock<()>,
    expiry: Expiry,
    cursors: Mutex<Cursors>,
    backup: Option<PathBuf>,
    last_save: AtomicU64,
    expired: AtomicU64,
}

/// What a `SCAN` call returns: the next cursor (0 when done) and the keys.
pub type ScanPage = (u64, Vec<String>);

impl Keyspace {
    /// Opens the store and loads the deadlines, dropping those of keys that do not exist.
    pub async fn open(options: KeyspaceOptions) -> Result<Self> {
        let store = EmbeddedStore::open_with_file_cache(
            &options.path,
            options.store.clone(),
            options.file_cache_bytes,
        )?;
        let expiry = Expiry::default();
        let mut orphans = Vec::new();
        for (key, at) in store.load_expiries()? {
            if store.exists(&key)? {
                expiry.set(&key, at);
            } else {
                orphans.push((key, None));
            }
        }
        store.save_expiries(orphans).await?;
        Ok(Keyspace {
            store,
            gate: RwLock::new(()),
            expiry,
            cursors: Mutex::new(Cursors::new(SCAN_CURSORS, now_ms().saturating_mul(1000))),
            backup: options.backup,
            last_save: AtomicU64::new(now_ms() / 1000),
            expired: AtomicU64::new(0),
        })
    }

    /// The store.
    pub fn store(&self) -> &EmbeddedStore {
        &self.store
    }

    /// The deadlines.
    pub fn expiry(&self) -> &Expiry {
        &self.expiry
    }

    /// Where backups go, if configured.
    pub fn backup_path(&self) -> Option<&PathBuf> {
        self.backup.as_ref()
    }

    /// The Unix time (seconds) of the last successful save.
    pub fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    /// Keys deleted because their deadline passed (`INFO stats`: `expired_keys`).
    pub fn expired_keys(&self) -> u64 {
        self.expired.load(Ordering::Relaxed)
    }

    /// Zeroes [`Keyspace::expired_keys`] (`CONFIG RESETSTAT`).
    pub fn reset_expired_keys(&self) {
        self.expired.store(0, Ordering::Relaxed);
    }

    fn cursors(&self) -> MutexGuard<'_, Cursors> {
        self.cursors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared gate for a command on `key`, after deleting `key` if it is past its
    /// deadline.
    pub async fn shared_for(&self, key: &str) -> Result<SharedGate<'_>> {
        loop {
            let guard = self.gate.read().await;
            if !self.expiry.is_due(key, now_ms()) {
                return Ok(guard);
            }
            drop(guard);
            let _exclusive = self.exclusive().await?;
        }
    }

    /// The shared gate for a command on `key` if it is free at once and `key` is not past
    /// its deadline; `None` otherwise (then [`Keyspace::shared_for`] waits, and deletes).
    pub fn try_shared_for(&self, key: &str) -> Option<SharedGate<'_>> {
        let guard = self.gate.try_read().ok()?;
        (!self.expiry.is_due(key, now_ms())).then_some(guard)
    }

    /// The shared gate for a command on `keys`, after deleting those past their deadline.
    pub async fn shared_for_keys(&self, keys: &[&str]) -> Result<SharedGate<'_>> {
        loop {
            let guard = self.gate.read().await;
            let now = now_ms();
            if !keys.iter().any(|k| self.expiry.is_due(k, now)) {
                return Ok(guard);
            }
            drop(guard);
            let _exclusive = self.exclusive().await?;
        }
    }

    /// The exclusive gate, after deleting every key past its deadline.
    pub async fn exclusive(&self) -> Result<ExclusiveGate<'_>> {
        let guard = self.gate.write().await;
        self.expire_due(&guard).await?;
        Ok(guard)
    }

    /// Deletes the keys past their deadline; how many.
    pub async fn expire_due(&self, _gate: &ExclusiveGate<'_>) -> Result<u64> {
        let due = self.expiry.due(now_ms());
        if due.is_empty() {
            return Ok(0);
        }
        let deleted = self.store.delete(&due).await?;
        // The deletes reach the file before the deadlines leave it (see the module docs).
        self.store.flush().await?;
        let mut changes = Vec::with_capacity(due.len());
        for key in due {
            self.expiry.remove(&key);
            changes.push((key, None));
        }
        self.store.save_expiries(changes).await?;
        self.expired.fetch_add(deleted, Ordering::Relaxed);
        Ok(deleted)
    }

    /// Deletes keys that are past their deadline, if any (the periodic sweep).
    pub async fn sweep(&self) -> Result<u64> {
        if !self.expiry.any_due(now_ms()) {
            return Ok(0);
        }
        let gate = self.gate.write().await;
        self.expire_due(&gate).await
    }

    /// Removes the deadline of `key`, durably; whether it had one.
    async fn clear_deadline(&self, key: &str) -> Result<bool> {
        if self.expiry.remove(key).is_none() {
            return Ok(false);
        }
        self.store
            .save_expiries(vec![(key.to_owned(), None)])
            .await?;
        Ok(true)
    }

    /// Sets the deadline of `key` (Unix ms), durably.
    pub async fn set_deadline(&self, _gate: &ExclusiveGate<'_>, key: &str, at: u64) -> Result<()> {
        self.expiry.set(key, at);
        self.store
            .save_expiries(vec![(key.to_owned(), Some(at))])
            .await
    }

    /// Removes the deadline of `key` (`PERSIST`); whether it had one.
    pub async fn persist(&self, _gate: &ExclusiveGate<'_>, key: &str) -> Result<bool> {
        self.clear_deadline(key).await
    }

    /// Replaces the bitmap of `key` (`byte_len > 0`); its deadline is removed unless
    /// `keep_deadline`.
    pub async fn put(
        &self,
        _gate: &ExclusiveGate<'_>,
        key: &str,
        bitmap: Bitmap,
        keep_deadline: bool,
    ) -> Result<()> {
        if bitmap.byte_len() == 0 {
            return Err(Error::InvalidArgument {
                name: "bitmap",
                argument: bitmapist::Argument::Other,
                reason: "an empty string cannot be stored as a bitmap".into(),
            });
        }
        self.store.put_owned(key, bitmap)?;
        if !keep_deadline {
            self.clear_deadline(key).await?;
        }
        Ok(())
    }

    /// Deletes keys; how many existed (each counted once).
    pub async fn delete(&self, _gate: &ExclusiveGate<'_>, keys: &[String]) -> Result<u64> {
        let deleted = self.store.delete(keys).await?;
        let mut changes = Vec::new();
        for key in keys {
            if self.expiry.remove(key).is_some() {
                changes.push((key.clone(), None));
            }
        }
        if !changes.is_empty() {
            // The deletes reach the file before the deadlines leave it.
            self.store.flush().await?;
            self.store.save_expiries(changes).await?;
        }
        Ok(deleted)
    }

    /// Renames `src` to `dst` (replacing it); `dst` takes the deadline of `src`. False when
    /// `src` does not exist. The store moves the bitmap in memory and commits both keys'
    /// changes in one transaction (a crash leaves the old state or the new one); when a
    /// deadline moves or goes, the store is committed first.
    pub async fn rename(&self, gate: &ExclusiveGate<'_>, src: &str, dst: &str) -> Result<bool> {
        if src == dst {
            return self.store.exists(src);
        }
        let deadline = self.expiry.get(src);
        let replaced = self.expiry.get(dst);
        if !self.store.rename(src, dst)? {
            return Ok(false);
        }
        if deadline.is_none() && replaced.is_none() {
            return Ok(true);
        }
        self.store.flush().await?;
        if deadline.is_some() {
            self.clear_deadline(src).await?;
        }
        match deadline {
            Some(at) => self.set_deadline(gate, dst, at).await?,
            None => {
                self.clear_deadline(dst).await?;
            }
        }
        Ok(true)
    }

    /// Deletes every key and deadline.
    pub async fn flush_all(&self, _gate: &ExclusiveGate<'_>) -> Result<()> {
        self.store.delete_prefix("").await?;
        let changes = self.expiry.clear().into_iter().map(|k| (k, None)).collect();
        self.store.save_expiries(changes).await
    }

    /// Every key matching the glob `pattern`, sorted.
    pub async fn keys(&self, _gate: &ExclusiveGate<'_>, pattern: &[u8]) -> Result<Vec<String>> {
        let prefix = std::str::from_utf8(glob::literal_prefix(pattern)).unwrap_or("");
        let mut keys = self.store.keys(prefix).await?;
        // `*` is every key, the empty one included, as in Redis.
        if pattern != b"*" {
            keys.retain(|k| glob::matches(pattern, k.as_bytes()));
        }
        Ok(keys)
    }

    /// One `SCAN` step: examines up to `count` keys after the cursor's position, returns
    /// those matching `pattern` (all when `None`) and the next cursor (see `scan.rs`).
    pub fn scan(
        &self,
        _gate: &ExclusiveGate<'_>,
        cursor: u64,
        count: usize,
        pattern: Option<&[u8]>,
    ) -> Result<ScanPage> {
        let after = match self.cursors().resume(cursor) {
            Resume::Start => None,
            Resume::After(key) => Some(key),
            Resume::Restart => {
                tracing::debug!(cursor, "SCAN: unknown cursor, restarting the scan");
                None
            }
        };
        let count = count.max(1);
        let mut page = self
            .store
            .keys_after(after.as_deref(), count.saturating_add(1))?;
        let more = page.len() > count;
        page.truncate(count);
        let next = match page.last() {
            Some(last) if more => self.cursors().issue(last.clone()),
            _ => 0,
        };
        if let Some(p) = pattern {
            page.retain(|k| glob::matches(p, k.as_bytes()));
        }
        Ok((next, page))
    }

    /// How many keys exist.
    pub fn len(&self, _gate: &ExclusiveGate<'_>) -> Result<u64> {
        self.store.key_count()
    }

    /// Commits every acknowledged write (`SAVE`, and the first step of `BGSAVE`).
    pub async fn save(&self) -> Result<()> {
        self.store.flush().await?;
        self.last_save.store(now_ms() / 1000, Ordering::Relaxed);
        Ok(())
    }

    /// Commits, then writes a consistent copy to the `-bak` path if one is configured;
    /// whether a copy was written.
    pub async fn save_and_backup(&self) -> Result<bool> {
        self.save().await?;
        let Some(path) = &self.backup else {
            return Ok(false);
        };
        self.store.backup_to(path).await?;
        Ok(true)
    }

    /// Stops every command for good and commits everything acknowledged: the last step
    /// before the process exits. The returned guard must live until then.
    pub async fn shut_down(&self) -> (ExclusiveGate<'_>, Result<()>) {
        let gate = self.gate.write().await;
        let result = self.save().await;
        (gate, result)
    }
}
