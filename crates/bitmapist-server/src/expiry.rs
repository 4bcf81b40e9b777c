//! Expiry deadlines in memory: key -> Unix milliseconds, indexed by key and by time.
//! The keyspace persists every change through the store; this index only answers questions.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The deadlines of the keys that have one.
///
/// Invariant: `by_key` and `by_time` hold the same pairs; `earliest` is the smallest
/// deadline (`u64::MAX` when there is none), readable without the lock so that the common
/// case, no key due, costs one atomic load.
#[derive(Debug)]
pub struct Expiry {
    inner: Mutex<Index>,
    earliest: AtomicU64,
}

#[derive(Debug, Default)]
struct Index {
    by_key: HashMap<String, u64>,
    by_time: BTreeSet<(u64, String)>,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            inner: Mutex::new(Index::default()),
            earliest: AtomicU64::new(u64::MAX),
        }
    }
}

impl Expiry {
    fn lock(&self) -> MutexGuard<'_, Index> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refresh(&self, index: &Index) {
        let earliest = index.by_time.first().map_or(u64::MAX, |(t, _)| *t);
        self.earliest.store(earliest, Ordering::Release);
    }

    /// Whether some key is due at `now` (one atomic load).
    pub fn any_due(&self, now: u64) -> bool {
        self.earliest.load(Ordering::Acquire) <= now
    }

    /// Whether `key` has a deadline at or before `now`.
    pub fn is_due(&self, key: &str, now: u64) -> bool {
        self.any_due(now) && self.lock().by_key.get(key).is_some_and(|&t| t <= now)
    }

    /// The deadline of `key`, if it has one.
    pub fn get(&self, key: &str) -> Option<u64> {
        if self.earliest.load(Ordering::Acquire) == u64::MAX {
            return None;
        }
        self.lock().by_key.get(key).copied()
    }

    /// Sets the deadline of `key`; the previous one.
    pub fn set(&self, key: &str, at: u64) -> Option<u64> {
        let mut index = self.lock();
        let previous = index.by_key.insert(key.to_owned(), at);
        if let Some(old) = previous {
            index.by_time.remove(&(old, key.to_owned()));
        }
        index.by_time.insert((at, key.to_owned()));
        self.refresh(&index);
        previous
    }

    /// Removes the deadline of `key`; the one it had.
    pub fn remove(&self, key: &str) -> Option<u64> {
        if self.earliest.load(Ordering::Acquire) == u64::MAX {
            return None;
        }
        let mut index = self.lock();
        let previous = index.by_key.remove(key);
        if let Some(old) = previous {
            index.by_time.remove(&(old, key.to_owned()));
            self.refresh(&index);
        }
        previous
    }

    /// Removes every deadline; the keys that had one.
    pub fn clear(&self) -> Vec<String> {
        let mut index = self.lock();
        let keys = index.by_key.drain().map(|(k, _)| k).collect();
        index.by_time.clear();
        self.refresh(&index);
        keys
    }

    /// The keys due at `now`, earliest first.
    pub fn due(&self, now: u64) -> Vec<String> {
        if !self.any_due(now) {
            return Vec::new();
        }
        self.lock()
            .by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// How many keys have a deadline.
    pub fn len(&self) -> usize {
        if self.earliest.load(Ordering::Acquire) == u64::MAX {
            return 0;
        }
        self.lock().by_key.len()
    }

    /// How many keys have a deadline, and their average time to live at `now` in
    /// milliseconds (`INFO keyspace`'s `expires` and `avg_ttl`; Redis estimates the
    /// average from samples, this is exact).
    pub fn summary(&self, now: u64) -> (usize, u64) {
        let index = self.lock();
        let n = index.by_key.len();
        if n == 0 {
            return (0, 0);
        }
        let total: u64 = index.by_key.values().map(|at| at.saturating_sub(now)).sum();
        (n, total / n as u64)
    }

    /// Whether no key has a deadline.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_tracks_deadlines() {
        let e = Expiry::default();
        assert!(!e.any_due(u64::MAX - 1));
        assert_eq!(e.set("a", 100), None);
        assert_eq!(e.set("b", 50), None);
        assert_eq!(e.set("a", 200), Some(100));
        assert!(e.is_due("b", 50) && !e.is_due("a", 199) && !e.is_due("zz", 1000));
        assert_eq!(e.due(300), vec!["b".to_string(), "a".to_string()]);
        assert_eq!(e.remove("b"), Some(50));
        assert_eq!(e.due(300), vec!["a".to_string()]);
        assert_eq!(e.get("a"), Some(200));
        assert_eq!(e.len(), 1);
        assert_eq!(e.clear(), vec!["a".to_string()]);
        assert!(e.is_empty() && !e.any_due(u64::MAX - 1));
    }
}
