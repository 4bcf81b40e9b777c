//! Writes that derive keys from other keys: a computation over several bitmaps (`BITOP`) and
//! a rename. Each is atomic, as a Redis command is; a computation runs outside the cache lock.
//!
//! # Computing outside the lock
//!
//! [`EmbeddedStore::compute_into`] takes the sources' `Arc`s under the cache lock (loading
//! uncached ones from the file), releases the lock, computes, then takes the lock again and
//! stores the result only if every source is still the very same bitmap (`Arc::ptr_eq`; a
//! source that was missing is still missing). Writers copy a shared bitmap before changing
//! it (`Arc::make_mut`) and the snapshot keeps the old one alive, so an unchanged pointer
//! means unchanged contents: the command is equivalent to one run entirely at the moment
//! its result is stored. Reads and writes of other keys (and reads of the sources) proceed
//! meanwhile. When a source changed, the computation runs again; after
//! [`OPTIMISTIC_TRIES`] attempts it runs under the lock, so that it always finishes.
//!
//! # Renames
//!
//! [`EmbeddedStore::rename`] moves the bitmap (its `Arc`) under one cache lock: the new key
//! becomes dirty and the old one a tombstone, so the next commit holds both changes or
//! neither (see the [module docs](super)).

use std::sync::Arc;

use super::cache::Cache;
use super::{EmbeddedStore, FileReader, OpenFile, lock};
use crate::bitmap::Bitmap;
use crate::error::Result;

/// How many times a computation runs outside the lock before it runs under it.
pub const OPTIMISTIC_TRIES: usize = 3;

/// The sources of a computation as taken under the cache lock.
type Sources = Vec<Option<Arc<Bitmap>>>;

impl EmbeddedStore {
    /// Computes a bitmap from the bitmaps of `sources` (`None` for a missing key, in order)
    /// and stores it under `dest`, atomically; a result of length 0 deletes `dest`.
    /// Returns the result's length in bytes.
    ///
    /// `compute` normally runs without the cache lock (see the module docs) and may run more
    /// than once, when a source changes meanwhile; it must be a pure function of its input.
    pub fn compute_into(
        &self,
        dest: &str,
        sources: &[&str],
        compute: impl Fn(&[Option<&Bitmap>]) -> Bitmap,
    ) -> Result<u32> {
        let shared = &self.shared;
        for _ in 0..OPTIMISTIC_TRIES {
            let taken = {
                let mut reader = shared.reader();
                let mut cache = lock(&shared.cache);
                take_sources(&mut cache, &mut reader, sources, shared.now())?
            };
            let result = compute(&borrow(&taken));
            let mut reader = shared.reader();
            let mut cache = lock(&shared.cache);
            if unchanged(&cache, &mut reader, sources, &taken)? {
                drop(taken);
                return store_result(&mut cache, &mut reader, dest, result, shared.now());
            }
        }
        // Sources keep changing under us: compute under the lock.
        let mut reader = shared.reader();
        let mut cache = lock(&shared.cache);
        let now = shared.now();
        let taken = take_sources(&mut cache, &mut reader, sources, now)?;
        let result = compute(&borrow(&taken));
        drop(taken);
        store_result(&mut cache, &mut reader, dest, result, now)
    }

    /// Renames `src` to `dst`, replacing `dst`; false (and nothing changes) when `src` does
    /// not exist. Atomic, in memory: the next commit holds both keys' changes.
    pub fn rename(&self, src: &str, dst: &str) -> Result<bool> {
        self.shared.rename(src, dst)
    }

    /// How many write transactions were committed to the file since it was opened (batch
    /// commits, `delete_prefix`, expiry times).
    pub fn commit_count(&self) -> u64 {
        self.shared
            .commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl OpenFile {
    fn rename(&self, src: &str, dst: &str) -> Result<bool> {
        let now = self.now();
        let mut reader = self.reader();
        let mut cache = lock(&self.cache);
        let Some(bitmap) = cache.read(src, now, || reader.load(src), Arc::clone)? else {
            return Ok(false);
        };
        if src != dst {
            cache.delete(src, || reader.contains(src))?;
            cache.replace(dst, bitmap, now);
        }
        Ok(true)
    }
}

/// The sources' bitmaps, loading uncached ones.
fn take_sources(
    cache: &mut Cache,
    reader: &mut FileReader<'_>,
    sources: &[&str],
    now: u64,
) -> Result<Sources> {
    sources
        .iter()
        .map(|key| cache.read(key, now, || reader.load(key), Arc::clone))
        .collect()
}

fn borrow(taken: &Sources) -> Vec<Option<&Bitmap>> {
    taken.iter().map(Option::as_deref).collect()
}

/// Whether every source is as it was taken.
fn unchanged(
    cache: &Cache,
    reader: &mut FileReader<'_>,
    sources: &[&str],
    taken: &Sources,
) -> Result<bool> {
    for (key, before) in sources.iter().zip(taken) {
        let same = match (cache.peek(key), before) {
            (Some(now), Some(before)) => Arc::ptr_eq(now, before),
            (None, None) => cache.is_tombstoned(key) || !reader.contains(key)?,
            _ => false,
        };
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Stores `result` under `dest`, or deletes `dest` when the result has length 0.
fn store_result(
    cache: &mut Cache,
    reader: &mut FileReader<'_>,
    dest: &str,
    result: Bitmap,
    now: u64,
) -> Result<u32> {
    let len = result.byte_len();
    if len == 0 {
        cache.delete(dest, || reader.contains(dest))?;
    } else {
        cache.replace(dest, Arc::new(result), now);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::store::{EmbeddedOptions, KeyWrite};

    fn store(dir: &std::path::Path) -> EmbeddedStore {
        EmbeddedStore::open(
            &dir.join("s.redb"),
            EmbeddedOptions {
                flush_interval: Duration::from_secs(3600),
                idle_eviction: None,
            },
        )
        .unwrap()
    }

    fn or_all(sources: &[Option<&Bitmap>]) -> Bitmap {
        let mut out = Bitmap::new();
        for b in sources.iter().flatten() {
            out.or_assign(b);
        }
        out
    }

    #[test]
    fn a_computation_does_not_block_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(store(dir.path()));
        s.shared
            .write(&[
                KeyWrite::set("src".into(), 3),
                KeyWrite::set("other".into(), 5),
            ])
            .unwrap();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let computing = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let started = std::sync::Mutex::new(Some(started_tx));
                let release = std::sync::Mutex::new(release_rx);
                s.compute_into("dest", &["src"], |sources| {
                    // Hold the computation open until the reader is done.
                    if let Some(tx) = lock(&started).take() {
                        let _ = tx.send(());
                        let _ = lock(&release).recv();
                    }
                    or_all(sources)
                })
            })
        };
        started_rx.recv().expect("the computation started");
        // Reads and writes of other keys (and reads of the source) complete while the
        // computation is held open. A deadlock here would hang: a helper thread reports.
        let (done_tx, done_rx) = mpsc::channel();
        {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let read = s.read("other", |b| b.contains(5));
                let write = s.set_bit("other", 6, true);
                let source = s.read("src", Bitmap::count);
                let _ = done_tx.send((read, write, source));
            });
        }
        let got = done_rx.recv_timeout(Duration::from_secs(60));
        let _ = release_tx.send(());
        let (read, write, source) = got.expect("GETBIT/SETBIT blocked by a computation");
        assert_eq!(read.unwrap(), Some(true));
        assert!(!write.unwrap());
        assert_eq!(source.unwrap(), Some(1));
        let len = computing.join().expect("computing thread").unwrap();
        assert_eq!(len, 1);
        assert_eq!(s.read("dest", Bitmap::count).unwrap(), Some(1));
    }

    #[test]
    fn a_source_changed_meanwhile_recomputes() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.shared.write(&[KeyWrite::set("a".into(), 1)]).unwrap();
        let calls = AtomicUsize::new(0);
        let len = s
            .compute_into("d", &["a", "b"], |sources| {
                // The first run sees a stale `b` (missing): a concurrent writer creates it.
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    s.set_bit("b", 40, true).unwrap();
                }
                or_all(sources)
            })
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(len, 6);
        assert_eq!(
            s.read("d", |b| b.iter().collect::<Vec<_>>()).unwrap(),
            Some(vec![1, 40])
        );
        // Sources that change every time: the last run holds the lock and finishes.
        let calls = AtomicUsize::new(0);
        let len = s
            .compute_into("d", &["a"], |sources| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < OPTIMISTIC_TRIES {
                    s.set_bit("a", 100 + u32::try_from(n).unwrap_or(0), true)
                        .unwrap();
                }
                or_all(sources)
            })
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), OPTIMISTIC_TRIES + 1);
        assert_eq!(len, 13);
        assert_eq!(s.read("d", Bitmap::count).unwrap(), Some(4));
    }

    #[test]
    fn temporary_keys_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.shared
            .write(&[KeyWrite::set("a".into(), 1), KeyWrite::set("b".into(), 2)])
            .unwrap();
        s.shared.flush().unwrap();
        let commits = s.commit_count();
        assert_eq!(commits, 1);
        // The cohort's command mix: BITOP into temporary keys, BITCOUNT, RENAME, DEL.
        for i in 0..50 {
            let tmp = format!("tmp{i}");
            assert_eq!(s.compute_into(&tmp, &["a", "b"], or_all).unwrap(), 1);
            assert_eq!(s.read(&tmp, Bitmap::count).unwrap(), Some(2));
            assert!(s.rename(&tmp, "renamed").unwrap());
            assert_eq!(
                s.shared
                    .delete(&["renamed".into(), "renamed".into()])
                    .unwrap(),
                1
            );
        }
        // A key of the file, deleted: a tombstone, still no commit.
        assert_eq!(s.shared.delete(&["a".into(), "missing".into()]).unwrap(), 1);
        assert!(!s.exists("a").unwrap());
        assert_eq!(s.read("a", Bitmap::count).unwrap(), None);
        assert_eq!(s.shared.keys("").unwrap(), vec!["b".to_string()]);
        assert_eq!(s.key_count().unwrap(), 1);
        assert_eq!(s.commit_count(), commits, "a delete or BITOP committed");
        s.shared.flush().unwrap();
        assert_eq!(s.commit_count(), commits + 1);
        drop(s);
        let s = store(dir.path());
        assert_eq!(s.shared.keys("").unwrap(), vec!["b".to_string()]);
    }

    #[test]
    fn renames_move_the_bitmap_and_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.shared.write(&[KeyWrite::set("x".into(), 7)]).unwrap();
        s.shared.flush().unwrap();
        assert!(!s.rename("nope", "y").unwrap());
        assert!(s.rename("x", "x").unwrap());
        assert!(s.rename("x", "y").unwrap());
        assert!(!s.exists("x").unwrap());
        assert_eq!(s.read("y", Bitmap::count).unwrap(), Some(1));
        // Recreating the old name after its delete starts from empty.
        s.shared.write(&[KeyWrite::set("x".into(), 9)]).unwrap();
        assert_eq!(
            s.read("x", |b| b.iter().collect::<Vec<_>>()).unwrap(),
            Some(vec![9])
        );
        s.shared.flush().unwrap();
        drop(s);
        let s = store(dir.path());
        assert_eq!(
            s.read("y", |b| b.iter().collect::<Vec<_>>()).unwrap(),
            Some(vec![7])
        );
        assert_eq!(
            s.read("x", |b| b.iter().collect::<Vec<_>>()).unwrap(),
            Some(vec![9])
        );
    }
}
