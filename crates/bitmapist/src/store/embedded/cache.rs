//! The in-memory cache of the embedded store: bitmaps by key, each clean or dirty, and the
//! keys deleted since the last commit (tombstones).
//!
//! Invariants (all under the cache mutex):
//! - An entry is *dirty* when its bitmap differs, or may differ, from the file's last commit;
//!   *clean* when the file holds exactly this bitmap or the commit of this very bitmap is in
//!   progress under the flush lock (see the store's module docs).
//! - Every dirty entry's key is in `dirty` (a key is pushed when its entry goes clean -> dirty
//!   or is created dirty). `dirty` may also hold keys that are clean again or gone (deleted);
//!   [`Cache::take_dirty`] skips those, so a stale or repeated key costs one lookup.
//! - Every entry's bitmap has `byte_len > 0`: a key that exists. A missing key is never
//!   cached (a read of it goes to the file, unless it is tombstoned).
//! - **Tombstones.** A key deleted since the last commit whose value the file may still hold
//!   is in `tombstones`; a key is never both cached and tombstoned. A tombstoned key does not
//!   exist, whatever the file says: reads never load it, and a write starts it from empty.
//!   [`Cache::take_dirty`] hands copies of the tombstones to the commit with the dirty
//!   entries, so a commit holds a delete and the writes around it together, in one
//!   transaction; the tombstones stay until that commit succeeds
//!   ([`Cache::forget_tombstones`]), since the file holds the keys until then.
//! - `on_file` is true when the file holds some value of the key, or a commit in progress
//!   writes one (or we cannot tell cheaply). Deleting an entry with `on_file` false (created
//!   and deleted between two commits) leaves no tombstone: the file never hears of the key.
//! - Bitmaps are shared (`Arc`): a commit snapshot and a computation outside the lock
//!   (`BITOP`) hold clones of the `Arc`, not of the bitmap. Writers use `Arc::make_mut`, so a
//!   bitmap is copied only when a writer changes it while someone else holds it, and a
//!   pointer seen earlier is still the entry's bitmap exactly when nothing changed it.
//! - `last_used` is the store's coarse tick at the last access; only clean entries are
//!   evicted, and only under the flush lock (by the flusher, or by `flush_release` after its
//!   commit).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::bitmap::Bitmap;
use crate::error::Result;

/// One cached bitmap.
#[derive(Debug)]
pub(super) struct Entry {
    /// The bitmap as the store's callers see it now.
    pub(super) bitmap: Arc<Bitmap>,
    /// Whether the file may hold something else (see the module docs).
    pub(super) dirty: bool,
    /// Whether the file may hold some value of this key (see the module docs).
    pub(super) on_file: bool,
    /// The tick of the last access.
    pub(super) last_used: u64,
}

/// What the next commit must write: bitmaps to store and keys to remove.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    /// Dirty bitmaps, now marked clean.
    pub(super) writes: Vec<(String, Arc<Bitmap>)>,
    /// Tombstoned keys (still tombstoned in the cache until the commit succeeds).
    pub(super) deletes: Vec<String>,
}

impl Snapshot {
    /// Whether the commit has nothing to do.
    pub(super) fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }
}

/// Cached bitmaps, the keys waiting for a commit, and the tombstones.
#[derive(Debug, Default)]
pub(super) struct Cache {
    entries: HashMap<String, Entry>,
    dirty: Vec<String>,
    tombstones: HashSet<String>,
}

impl Cache {
    /// Runs `write` on the entry of `key` (the cached one, or a new one holding what `load`
    /// finds in the file, nothing for a tombstoned key), with the dirty list and whether
    /// the entry is new. One hash lookup with `&str` when the key is cached.
    fn write_entry<R>(
        &mut self,
        key: &str,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
        write: impl FnOnce(&mut Entry, &mut Vec<String>, bool) -> R,
    ) -> Result<R> {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.last_used = tick;
            return Ok(write(entry, &mut self.dirty, false));
        }
        let (bitmap, on_file) = if self.tombstones.remove(key) {
            (Bitmap::default(), true)
        } else {
            match load()? {
                Some(b) => (b, true),
                None => (Bitmap::default(), false),
            }
        };
        let entry = self.entries.entry(key.to_owned()).or_insert(Entry {
            bitmap: Arc::new(bitmap),
            dirty: false,
            on_file,
            last_used: tick,
        });
        Ok(write(entry, &mut self.dirty, true))
    }

    /// Marks `entry` (of `key`) dirty.
    fn mark_dirty(dirty: &mut Vec<String>, entry: &mut Entry, key: &str) {
        if !entry.dirty {
            entry.dirty = true;
            dirty.push(key.to_owned());
        }
    }

    /// Sets or clears `offsets` in `key`; `load` reads the key from the file when it is not
    /// cached. The entry ends dirty. Does nothing when `offsets` is empty (no `SETBIT` ran).
    pub(super) fn set_bits(
        &mut self,
        key: &str,
        offsets: &[u32],
        value: bool,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        self.write_entry(key, tick, load, |entry, dirty, _| {
            Arc::make_mut(&mut entry.bitmap).set_many(offsets, value);
            Self::mark_dirty(dirty, entry, key);
        })
    }

    /// ORs `bitmap` (`byte_len > 0`) into `key` (`BITOP OR key key bitmap`); `load` reads the
    /// key from the file when it is not cached. The entry ends dirty.
    pub(super) fn merge(
        &mut self,
        key: &str,
        bitmap: &Bitmap,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
    ) -> Result<()> {
        self.write_entry(key, tick, load, |entry, dirty, _| {
            Arc::make_mut(&mut entry.bitmap).or_assign(bitmap);
            Self::mark_dirty(dirty, entry, key);
        })
    }

    /// Sets or clears bit `offset` of `key` (`SETBIT`) and returns its previous value; `load`
    /// reads the key from the file when it is not cached. The entry ends dirty unless the
    /// bitmap (bits and length) is unchanged.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(super) fn set_bit(
        &mut self,
        key: &str,
        offset: u32,
        value: bool,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
    ) -> Result<bool> {
        self.write_entry(key, tick, load, |entry, dirty, created| {
            let unchanged = !created
                && entry.bitmap.contains(offset) == value
                && u64::from(entry.bitmap.byte_len()) > u64::from(offset / 8);
            if unchanged {
                return value;
            }
            let previous = Arc::make_mut(&mut entry.bitmap).set(offset, value);
            Self::mark_dirty(dirty, entry, key);
            previous
        })
    }

    /// Whether `key` is cached.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Whether `key` was deleted since the last commit (the file's value does not count).
    pub(super) fn is_tombstoned(&self, key: &str) -> bool {
        self.tombstones.contains(key)
    }

    /// Whether what callers see of `key` is what the file holds once no commit is in
    /// progress: neither dirty nor deleted since the last commit.
    pub(super) fn is_settled(&self, key: &str) -> bool {
        !self.tombstones.contains(key) && self.entries.get(key).is_none_or(|e| !e.dirty)
    }

    /// The keys deleted since the last commit, in no order.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(super) fn tombstones(&self) -> impl Iterator<Item = &String> {
        self.tombstones.iter()
    }

    /// How many bitmaps are cached, and how many of them are dirty.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(super) fn stats(&self) -> (usize, usize) {
        let dirty = self.entries.values().filter(|e| e.dirty).count();
        (self.entries.len(), dirty)
    }

    /// Replaces the bitmap of `key` (`byte_len > 0`), dirty.
    pub(super) fn replace(&mut self, key: &str, bitmap: Arc<Bitmap>, tick: u64) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.bitmap = bitmap;
            entry.last_used = tick;
            Self::mark_dirty(&mut self.dirty, entry, key);
            return;
        }
        self.tombstones.remove(key);
        // Whether the file holds the key is unknown without a lookup: assume it does (a
        // delete then leaves a tombstone, which costs one no-op removal in the next commit).
        self.entries.insert(
            key.to_owned(),
            Entry {
                bitmap,
                dirty: true,
                on_file: true,
                last_used: tick,
            },
        );
        self.dirty.push(key.to_owned());
    }

    /// Applies `read` to the bitmap of `key`: the cached one, else the one `load` finds in the
    /// file (then cached, clean). `None` when the key exists in neither, or is tombstoned
    /// (and nothing is cached).
    pub(super) fn read<R>(
        &mut self,
        key: &str,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
        read: impl FnOnce(&Arc<Bitmap>) -> R,
    ) -> Result<Option<R>> {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.last_used = tick;
            return Ok(Some(read(&entry.bitmap)));
        }
        if self.tombstones.contains(key) {
            return Ok(None);
        }
        let Some(bitmap) = load()? else {
            return Ok(None);
        };
        let entry = self.entries.entry(key.to_owned()).or_insert(Entry {
            bitmap: Arc::new(bitmap),
            dirty: false,
            on_file: true,
            last_used: tick,
        });
        Ok(Some(read(&entry.bitmap)))
    }

    /// The bitmap of `key` as cached now, without loading or touching it.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(super) fn peek(&self, key: &str) -> Option<&Arc<Bitmap>> {
        self.entries.get(key).map(|e| &e.bitmap)
    }

    /// The cached bitmap of `key`, if any, marked used at `tick`.
    pub(super) fn peek_used(&mut self, key: &str, tick: u64) -> Option<&Bitmap> {
        let entry = self.entries.get_mut(key)?;
        entry.last_used = tick;
        Some(&entry.bitmap)
    }

    /// Cached keys that start with `prefix`, in no order.
    pub(super) fn keys_with_prefix<'c>(
        &'c self,
        prefix: &'c str,
    ) -> impl Iterator<Item = &'c String> + 'c {
        self.entries.keys().filter(move |k| k.starts_with(prefix))
    }

    /// Deletes `key`: forgets its entry and tombstones it if the file may hold it.
    /// `in_file` tells whether the file holds the key (asked only for a key neither cached
    /// nor tombstoned). Whether the key existed.
    pub(super) fn delete(
        &mut self,
        key: &str,
        in_file: impl FnOnce() -> Result<bool>,
    ) -> Result<bool> {
        if let Some(entry) = self.entries.remove(key) {
            if entry.on_file {
                self.tombstones.insert(key.to_owned());
            }
            return Ok(true);
        }
        if self.tombstones.contains(key) || !in_file()? {
            return Ok(false);
        }
        self.tombstones.insert(key.to_owned());
        Ok(true)
    }

    /// Forgets every entry and tombstone whose key starts with `prefix` (the file no longer
    /// holds any), calling `removed` with each cached key.
    pub(super) fn remove_prefix(&mut self, prefix: &str, mut removed: impl FnMut(&str)) {
        self.entries.retain(|k, _| {
            let doomed = k.starts_with(prefix);
            if doomed {
                removed(k);
            }
            !doomed
        });
        self.tombstones.retain(|k| !k.starts_with(prefix));
    }

    /// Marks every dirty entry clean and takes the tombstones: what the next commit must
    /// write. The bitmaps are shared with the cache, not copied.
    pub(super) fn take_dirty(&mut self) -> Snapshot {
        let keys = std::mem::take(&mut self.dirty);
        let mut writes = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.entries.get_mut(&key)
                && entry.dirty
            {
                entry.dirty = false;
                entry.on_file = true;
                writes.push((key, Arc::clone(&entry.bitmap)));
            }
        }
        let deletes = self.tombstones.iter().cloned().collect();
        Snapshot { writes, deletes }
    }

    /// After a successful commit of `deletes`: the file no longer holds those keys, so their
    /// tombstones (those not replaced by a write since) can go.
    pub(super) fn forget_tombstones(&mut self, deletes: &[String]) {
        for key in deletes {
            self.tombstones.remove(key);
        }
        if self.tombstones.capacity() > 4 * self.tombstones.len().max(64) {
            self.tombstones.shrink_to_fit();
        }
    }

    /// Puts a failed commit's writes back: its keys dirty again (those still cached). Its
    /// deletes are still tombstoned.
    pub(super) fn redirty(&mut self, snapshot: Snapshot) {
        for (key, _) in snapshot.writes {
            if let Some(entry) = self.entries.get_mut(&key)
                && !entry.dirty
            {
                entry.dirty = true;
                self.dirty.push(key);
            }
        }
    }

    /// Drops clean entries last used `idle_ticks` or more ticks before `now`; how many.
    pub(super) fn evict_idle(&mut self, now: u64, idle_ticks: u64) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| e.dirty || now.saturating_sub(e.last_used) < idle_ticks);
        if self.entries.capacity() > 4 * self.entries.len().max(16) {
            self.entries.shrink_to_fit();
        }
        before - self.entries.len()
    }

    /// How many bitmaps are cached, and their serialized size in bytes (an estimate of
    /// the memory they take).
    pub(super) fn footprint(&self) -> (usize, usize) {
        let bytes = self
            .entries
            .values()
            .map(|e| e.bitmap.bits().serialized_size())
            .sum();
        (self.entries.len(), bytes)
    }

    /// How many bitmaps are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many cached bitmaps are dirty.
    #[cfg(test)]
    pub(super) fn dirty_len(&self) -> usize {
        self.entries.values().filter(|e| e.dirty).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Result<Option<Bitmap>> {
        Ok(None)
    }

    #[test]
    fn dirty_tracking() {
        let mut c = Cache::default();
        c.set_bits("a", &[1], true, 0, none).unwrap();
        c.set_bits("a", &[2], true, 0, none).unwrap();
        c.set_bits("b", &[], true, 0, none).unwrap();
        assert_eq!(c.len(), 1);
        let snap = c.take_dirty();
        assert_eq!(snap.writes.len(), 1);
        assert_eq!(snap.writes[0].1.count(), 2);
        assert_eq!(c.dirty_len(), 0);
        assert!(c.take_dirty().is_empty());
        // A write after the snapshot dirties the entry again.
        c.set_bits("a", &[3], true, 1, none).unwrap();
        assert_eq!(c.dirty_len(), 1);
        c.redirty(Snapshot {
            writes: vec![("a".to_string(), Arc::new(Bitmap::new()))],
            deletes: Vec::new(),
        });
        let snap = c.take_dirty();
        assert_eq!(snap.writes.len(), 1);
        c.redirty(snap);
        assert_eq!(c.dirty_len(), 1);
        // Dirty entries are never evicted; clean idle ones are.
        assert_eq!(c.evict_idle(100, 10), 0);
        let _ = c.take_dirty();
        assert_eq!(c.evict_idle(5, 10), 0);
        assert_eq!(c.evict_idle(100, 10), 1);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn tombstones() {
        let mut c = Cache::default();
        c.set_bits("a", &[1], true, 0, none).unwrap();
        let _ = c.take_dirty();
        // A delete of an entry the file never held leaves no tombstone; of one it holds, one.
        let ok = |r: Result<bool>| r.unwrap();
        c.set_bits("new", &[1], true, 0, none).unwrap();
        assert!(ok(c.delete("new", || Ok(false))));
        assert!(!c.is_tombstoned("new"));
        assert!(ok(c.delete("a", || Ok(true))));
        assert!(c.is_tombstoned("a") && !ok(c.delete("a", || Ok(true))));
        assert!(ok(c.delete("filed", || Ok(true))));
        let snap = c.take_dirty();
        assert!(snap.writes.is_empty());
        let mut deletes = snap.deletes.clone();
        deletes.sort();
        assert_eq!(deletes, ["a", "filed"]);
        // Until the commit succeeds, the keys stay deleted; a write starts from empty.
        assert!(c.is_tombstoned("a") && c.is_tombstoned("filed"));
        c.set_bits("a", &[5], true, 0, || {
            panic!("a tombstoned key is never loaded")
        })
        .unwrap();
        assert!(!c.is_tombstoned("a"));
        c.forget_tombstones(&snap.deletes);
        assert!(!c.is_tombstoned("filed"));
        let snap = c.take_dirty();
        assert_eq!((snap.writes.len(), snap.deletes.len()), (1, 0));
        assert_eq!(snap.writes[0].1.count(), 1);
    }

    #[test]
    fn read_caches_found_keys_only() {
        let mut c = Cache::default();
        let got = c.read("x", 0, none, |b| b.count()).unwrap();
        assert_eq!(got, None);
        assert_eq!(c.len(), 0);
        let found = || Ok(Some([4u32].into_iter().collect::<Bitmap>()));
        let got = c.read("x", 0, found, |b| b.count()).unwrap();
        assert_eq!(got, Some(1));
        assert_eq!((c.len(), c.dirty_len()), (1, 0));
    }
}
