//! The in-memory cache of the embedded store: bitmaps by key, each clean or dirty.
//!
//! Invariants (all under the cache mutex):
//! - An entry is *dirty* when its bitmap differs, or may differ, from the file's last commit;
//!   *clean* when the file holds exactly this bitmap or the commit of this very bitmap is in
//!   progress under the flush lock (see the store's module docs).
//! - Every dirty entry's key is in `dirty` (a key is pushed when its entry goes clean -> dirty
//!   or is created dirty). `dirty` may also hold keys that are clean again or gone (deleted);
//!   [`Cache::take_dirty`] skips those, so a stale or repeated key costs one lookup.
//! - Every entry's bitmap has `byte_len > 0`: a key that exists. A deleted key has no entry;
//!   a missing key is never cached (a read of it goes to the file every time).
//! - `last_used` is the store's coarse tick at the last access; only clean entries are
//!   evicted, and only under the flush lock (by the flusher, or by `flush_release` after its
//!   commit).

use std::collections::HashMap;

use crate::bitmap::Bitmap;
use crate::error::Result;

/// One cached bitmap.
#[derive(Debug)]
pub(super) struct Entry {
    /// The bitmap as the store's callers see it now.
    pub(super) bitmap: Bitmap,
    /// Whether the file may hold something else (see the module docs).
    pub(super) dirty: bool,
    /// The tick of the last access.
    pub(super) last_used: u64,
}

/// Cached bitmaps and the keys waiting for a commit.
#[derive(Debug, Default)]
pub(super) struct Cache {
    entries: HashMap<String, Entry>,
    dirty: Vec<String>,
}

impl Cache {
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
        if let Some(entry) = self.entries.get_mut(key) {
            entry.bitmap.set_many(offsets, value);
            entry.last_used = tick;
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(key.to_owned());
            }
            return Ok(());
        }
        let mut bitmap = load()?.unwrap_or_default();
        bitmap.set_many(offsets, value);
        self.insert_dirty(key, bitmap, tick);
        Ok(())
    }

    /// ORs `bitmap` (`byte_len > 0`) into `key` (`BITOP OR key key bitmap`); `load` reads the
    /// key from the file when it is not cached. The entry ends dirty.
    pub(super) fn merge(
        &mut self,
        key: &str,
        bitmap: Bitmap,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
    ) -> Result<()> {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.bitmap.or_assign(&bitmap);
            entry.last_used = tick;
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(key.to_owned());
            }
            return Ok(());
        }
        let merged = match load()? {
            Some(mut old) => {
                old.or_assign(&bitmap);
                old
            }
            None => bitmap,
        };
        self.insert_dirty(key, merged, tick);
        Ok(())
    }

    /// Sets or clears bit `offset` of `key` (`SETBIT`) and returns its previous value; `load`
    /// reads the key from the file when it is not cached. The entry ends dirty unless the
    /// bitmap (bits and length) is unchanged.
    pub(super) fn set_bit(
        &mut self,
        key: &str,
        offset: u32,
        value: bool,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
    ) -> Result<bool> {
        if let Some(entry) = self.entries.get_mut(key) {
            let len = entry.bitmap.byte_len();
            let previous = entry.bitmap.set(offset, value);
            entry.last_used = tick;
            let changed = previous != value || entry.bitmap.byte_len() != len;
            if changed && !entry.dirty {
                entry.dirty = true;
                self.dirty.push(key.to_owned());
            }
            return Ok(previous);
        }
        let mut bitmap = load()?.unwrap_or_default();
        let previous = bitmap.set(offset, value);
        self.insert_dirty(key, bitmap, tick);
        Ok(previous)
    }

    /// Whether `key` is cached.
    pub(super) fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// How many bitmaps are cached, and how many of them are dirty.
    pub(super) fn stats(&self) -> (usize, usize) {
        let dirty = self.entries.values().filter(|e| e.dirty).count();
        (self.entries.len(), dirty)
    }

    /// Replaces the bitmap of `key` (`byte_len > 0`), dirty.
    pub(super) fn replace(&mut self, key: &str, bitmap: Bitmap, tick: u64) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.bitmap = bitmap;
            entry.last_used = tick;
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(key.to_owned());
            }
        } else {
            self.insert_dirty(key, bitmap, tick);
        }
    }

    fn insert_dirty(&mut self, key: &str, bitmap: Bitmap, tick: u64) {
        self.entries.insert(
            key.to_owned(),
            Entry {
                bitmap,
                dirty: true,
                last_used: tick,
            },
        );
        self.dirty.push(key.to_owned());
    }

    /// Applies `read` to the bitmap of `key`: the cached one, else the one `load` finds in the
    /// file (then cached, clean). `None` when the key exists in neither (and nothing is cached).
    pub(super) fn read<R>(
        &mut self,
        key: &str,
        tick: u64,
        load: impl FnOnce() -> Result<Option<Bitmap>>,
        read: impl FnOnce(&Bitmap) -> R,
    ) -> Result<Option<R>> {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.last_used = tick;
            return Ok(Some(read(&entry.bitmap)));
        }
        let Some(bitmap) = load()? else {
            return Ok(None);
        };
        let entry = self.entries.entry(key.to_owned()).or_insert(Entry {
            bitmap,
            dirty: false,
            last_used: tick,
        });
        Ok(Some(read(&entry.bitmap)))
    }

    /// The cached bitmap of `key`, if any, marked used at `tick`.
    pub(super) fn peek(&mut self, key: &str, tick: u64) -> Option<&Bitmap> {
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

    /// Forgets `key`; whether it was cached.
    pub(super) fn remove(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    /// Forgets every key that starts with `prefix`, calling `removed` with each.
    pub(super) fn remove_prefix(&mut self, prefix: &str, mut removed: impl FnMut(&str)) {
        self.entries.retain(|k, _| {
            let doomed = k.starts_with(prefix);
            if doomed {
                removed(k);
            }
            !doomed
        });
    }

    /// Marks every dirty entry clean and returns copies of their bitmaps: what the next
    /// commit must write.
    pub(super) fn take_dirty(&mut self) -> Vec<(String, Bitmap)> {
        let keys = std::mem::take(&mut self.dirty);
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.entries.get_mut(&key)
                && entry.dirty
            {
                entry.dirty = false;
                out.push((key, entry.bitmap.clone()));
            }
        }
        out
    }

    /// Marks `keys` dirty again after a failed commit (those still cached).
    pub(super) fn redirty(&mut self, keys: impl IntoIterator<Item = String>) {
        for key in keys {
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
        c.set_bits("a", &[1], true, 0, none)
            .unwrap_or_else(|e| panic!("{e}"));
        c.set_bits("a", &[2], true, 0, none)
            .unwrap_or_else(|e| panic!("{e}"));
        c.set_bits("b", &[], true, 0, none)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.len(), 1);
        let snap = c.take_dirty();
        assert_eq!(snap.len(), 1);
        assert_eq!(snap[0].1.count(), 2);
        assert_eq!(c.dirty_len(), 0);
        assert!(c.take_dirty().is_empty());
        // A write after the snapshot dirties the entry again.
        c.set_bits("a", &[3], true, 1, none)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.dirty_len(), 1);
        c.redirty(["a".to_string()]);
        assert_eq!(c.take_dirty().len(), 1);
        c.redirty(["a".to_string(), "gone".to_string()]);
        assert_eq!(c.dirty_len(), 1);
        // Dirty entries are never evicted; clean idle ones are.
        assert_eq!(c.evict_idle(100, 10), 0);
        let _ = c.take_dirty();
        assert_eq!(c.evict_idle(5, 10), 0);
        assert_eq!(c.evict_idle(100, 10), 1);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn read_caches_found_keys_only() {
        let mut c = Cache::default();
        let got = c
            .read("x", 0, none, Bitmap::count)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, None);
        assert_eq!(c.len(), 0);
        let found = || Ok(Some([4u32].into_iter().collect::<Bitmap>()));
        let got = c
            .read("x", 0, found, Bitmap::count)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, Some(1));
        assert_eq!((c.len(), c.dirty_len()), (1, 0));
    }
}
