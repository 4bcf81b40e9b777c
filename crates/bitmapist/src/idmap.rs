//! The external-id map: app user ids (strings, UUIDs, i64/u64) to dense `u32` bit offsets.
//! Global and append-only, kept by the store beside the bitmaps, cached in this process.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::error::{Error, Result};
use crate::store::{IdStore, Store};

mod cache;

use cache::ForwardCache;

/// The longest external id, in bytes of UTF-8.
pub const MAX_EXTERNAL_ID_BYTES: usize = 512;

/// How many pairs each direction of the in-process cache holds before it is emptied.
pub const CACHE_LIMIT: usize = 2_000_000;

/// The largest dense id.
pub const MAX_DENSE_ID: u32 = u32::MAX;

/// How many external ids one store call (one Lua script run on Redis) carries.
pub const BATCH: usize = 10_000;

/// Rejects an external id the map cannot hold (empty, or longer than
/// [`MAX_EXTERNAL_ID_BYTES`]).
pub fn check_external(external: &str) -> Result<()> {
    if external.is_empty() {
        return Err(Error::invalid(
            "external id",
            "must not be empty".to_string(),
        ));
    }
    if external.len() > MAX_EXTERNAL_ID_BYTES {
        return Err(Error::invalid(
            "external id",
            format!(
                "{} bytes is longer than the limit of {MAX_EXTERNAL_ID_BYTES} bytes",
                external.len()
            ),
        ));
    }
    Ok(())
}

/// The external-id map of one space on one store, with an in-process cache (see Model,
/// Limits and Caching below). Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = bitmapist::Bitmapist::open("memory://").await?;
/// let ids = bm.ids();
/// let dense = ids.assign(&["alice".into(), "bob".into(), "alice".into()]).await?;
/// assert_eq!(dense, vec![1, 2, 1]);
/// assert_eq!(ids.resolve(&[2, 9]).await?, vec![Some("bob".to_string()), None]);
/// assert_eq!(ids.lookup(&["carol".into()]).await?, vec![None]);
/// # Ok(()) }
/// ```
///
/// # Details
///
/// # Model
///
/// Bitmaps index users by `u32`. Apps identify them by UUIDs, strings or 64-bit database
/// ids. The map gives each external id, the first time it is seen, the next dense id
/// (1, 2, 3, ...; 0 is never handed out) and never changes or forgets it: a per-day or
/// reusable map would break every cross-day operation (cohorts, retention). Integers and
/// UUIDs are mapped through their text (`42`, `-7`,
/// `67e55044-10b1-426f-9247-bb680e5fe0c8`), so `42` the integer and `"42"` the string are
/// the same user.
///
/// There is one map per key prefix (a *space*: `trackist_` by default), shared by every
/// event. It lives outside the event key namespace, so that Python's
/// `delete_all_events` and the event listing never see it:
///
/// | store | where |
/// |---|---|
/// | `memory://` | maps in the process |
/// | `file://` | redb tables `ids_forward` (`(space, external) -> u32`), `ids_reverse` (`(space, u32) -> external`) and `ids_next` (`space -> last id`), written in one transaction, committed (fsync) before the ids are returned |
/// | `redis://`, `redis+cluster://` | `{bitmapist.ids.SPACE}:fwd` (hash external -> id), `...:rev` (hash id -> external), `...:next` (counter), changed only by [`ID_MAP_ASSIGN_SCRIPT`](crate::ID_MAP_ASSIGN_SCRIPT) (atomic; one hash tag, so one cluster slot) |
///
/// # Limits
///
/// - An external id is 1 to [`MAX_EXTERNAL_ID_BYTES`] bytes of UTF-8; anything else is
///   [`Error::InvalidArgument`] naming it.
/// - Dense ids are `u32`: after 4,294,967,295 assignments the map answers
///   [`Error::IdsExhausted`].
///
/// # Caching
///
/// Since the map never changes an assignment, this process keeps the pairs it has seen (up
/// to [`CACHE_LIMIT`] each way, then starts over): marking a known user costs a hash
/// lookup, not a store round trip. A batch reads the cache under one shared lock (batches
/// on other threads read at the same time) and allocates nothing per id. The cache is a
/// compact open-addressing table (16-byte slots holding a hash fingerprint and the dense id,
/// the ids' bytes in 64-byte lines beside it; hashed with foldhash, randomly seeded per
/// process) read 32 ids at a time in passes whose cache misses overlap: about 7 MB for
/// 100,000 e-mail-sized ids, at most 64 MB of slots plus the ids' bytes at the limit. Only
/// ids not cached are copied, sent to the store and added under the write lock. Deleting the map's keys by hand while processes run is
/// not supported (they would keep using their cached ids).
#[derive(Clone)]
pub struct IdMap {
    store: Arc<dyn Store>,
    space: String,
    cache: Arc<Cache>,
}

/// A `HashMap` with foldhash: several times faster than the default SipHash on short
/// keys, randomly seeded per process (minimal HashDoS resistance; the keys are the app's
/// own user ids, and the cache never grows past [`CACHE_LIMIT`]).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The in-process cache: read-mostly, so a batch of cached ids takes one shared read lock
/// (concurrent batches do not wait for each other), and only new pairs take the write lock.
struct Cache {
    forward: RwLock<ForwardCache>,
    reverse: RwLock<FastMap<u32, Box<str>>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            forward: RwLock::new(ForwardCache::new(CACHE_LIMIT)),
            reverse: RwLock::default(),
        }
    }
}

impl std::fmt::Debug for IdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdMap")
            .field("store", &self.store.describe())
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

fn remember<K: std::hash::Hash + Eq, V>(map: &mut FastMap<K, V>, k: K, v: V) {
    if map.len() >= CACHE_LIMIT {
        map.clear();
    }
    map.insert(k, v);
}

impl IdMap {
    /// The map of `space` (a key prefix) on `store`.
    pub fn new(store: Arc<dyn Store>, space: impl Into<String>) -> Self {
        IdMap {
            store,
            space: space.into(),
            cache: Arc::new(Cache::default()),
        }
    }

    /// The store's map, or an error saying the store keeps none.
    fn id_store(&self) -> Result<&dyn IdStore> {
        self.store.id_store().ok_or_else(|| {
            Error::id_map(self.store.describe(), "this store keeps no external-id map")
        })
    }

    /// The space (key prefix) this map belongs to.
    pub fn space(&self) -> &str {
        &self.space
    }

    /// The dense ids of `external`, one per entry and in order, assigning new ones to
    /// those never seen (atomically in the store: two processes assigning the same new id
    /// get the same answer). One store round trip per [`BATCH`] ids not cached.
    pub async fn assign(&self, external: &[String]) -> Result<Vec<u32>> {
        self.dense_of(external, String::as_str, true).await
    }

    /// The dense ids of `external`, `None` for ids never assigned (nothing is assigned).
    pub async fn lookup(&self, external: &[String]) -> Result<Vec<Option<u32>>> {
        let dense = self.dense_of(external, String::as_str, false).await?;
        Ok(dense.into_iter().map(|d| (d != 0).then_some(d)).collect())
    }

    /// The dense id of `key(item)` for each of `items`, in order: 0 for an id never
    /// assigned when `assign` is false (the map never hands out 0).
    ///
    /// The hot path of marking by external id. Cached ids cost one hash look-up each
    /// (grouped so that their cache misses overlap) under one shared read lock for the
    /// whole batch, with no allocation per item; only the ids not
    /// cached are checked, deduplicated, copied and sent to the store (one round trip per
    /// [`BATCH`] of them), and the cache is then updated under one write lock.
    pub(crate) async fn dense_of<T, F>(&self, items: &[T], key: F, assign: bool) -> Result<Vec<u32>>
    where
        F: Fn(&T) -> &str,
    {
        let mut out: Vec<u32> = Vec::with_capacity(items.len());
        let missing = self
            .cache
            .forward
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get_many(items, |item| key(item).as_bytes(), &mut out);
        if missing == 0 {
            return Ok(out);
        }
        // Each distinct missing id once, checked before anything is assigned (an id that
        // fails the check is never cached, so it is always among the missing).
        let mut first: FastMap<&str, usize> = FastMap::default();
        let mut ask: Vec<String> = Vec::new();
        let mut pending: Vec<(usize, usize)> = Vec::with_capacity(missing);
        for (i, item) in items.iter().enumerate() {
            if out[i] != 0 {
                continue;
            }
            let e = key(item);
            let j = match first.get(e) {
                Some(&j) => j,
                None => {
                    check_external(e)?;
                    first.insert(e, ask.len());
                    ask.push(e.to_owned());
                    ask.len() - 1
                }
            };
            pending.push((i, j));
        }
        drop(first);
        let mut answers: Vec<Option<u32>> = Vec::with_capacity(ask.len());
        for chunk in ask.chunks(BATCH) {
            if assign {
                let got = self.id_store()?.assign_ids(&self.space, chunk).await?;
                answers.extend(got.into_iter().map(Some));
            } else {
                answers.extend(self.id_store()?.lookup_ids(&self.space, chunk).await?);
            }
        }
        if answers.len() != ask.len() {
            return Err(Error::IdMap {
                store: self.store.describe(),
                reason: format!("asked for {} ids, got {} answers", ask.len(), answers.len()),
            });
        }
        {
            let mut fwd = self
                .cache
                .forward
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let mut rev = self
                .cache
                .reverse
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (e, a) in ask.iter().zip(&answers) {
                if let Some(d) = *a {
                    if d == 0 {
                        return Err(Error::IdMap {
                            store: self.store.describe(),
                            reason: format!("the map holds id 0 for {e:?} (ids start at 1)"),
                        });
                    }
                    fwd.insert(e.as_bytes(), d);
                    remember(&mut rev, d, e.as_str().into());
                }
            }
        }
        for (i, j) in pending {
            out[i] = answers[j].unwrap_or(0);
        }
        Ok(out)
    }

    /// The external ids of `dense`, one per entry and in order; `None` for ids the map
    /// never handed out (e.g. users marked by `u32` directly). One store round trip per
    /// [`BATCH`] ids not cached.
    pub async fn resolve(&self, dense: &[u32]) -> Result<Vec<Option<String>>> {
        let mut out: Vec<Option<String>> = Vec::with_capacity(dense.len());
        let mut missing: Vec<usize> = Vec::new();
        {
            let cache = self
                .cache
                .reverse
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            for (i, d) in dense.iter().enumerate() {
                let hit = cache.get(d).map(|e| e.to_string());
                if hit.is_none() {
                    missing.push(i);
                }
                out.push(hit);
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let mut ask: Vec<u32> = missing.iter().map(|&i| dense[i]).collect();
        ask.sort_unstable();
        ask.dedup();
        let mut found: HashMap<u32, String> = HashMap::new();
        for chunk in ask.chunks(BATCH) {
            let got = self.id_store()?.resolve_ids(&self.space, chunk).await?;
            found.extend(
                chunk
                    .iter()
                    .zip(got)
                    .filter_map(|(&d, e)| e.map(|e| (d, e))),
            );
        }
        {
            let mut rev = self
                .cache
                .reverse
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            for (&d, e) in &found {
                remember(&mut rev, d, e.as_str().into());
            }
        }
        for &i in &missing {
            out[i] = found.get(&dense[i]).cloned();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids on both sides of the cache's line and word sizes are cached and found again,
    /// each its own user, and the cache agrees with the store (a fresh map with no cache).
    #[tokio::test(flavor = "current_thread")]
    async fn cached_ids_on_both_sides_of_the_line_size() -> Result<()> {
        let bm = crate::Bitmapist::open("memory://").await?;
        let line = cache::LINE;
        let ext: Vec<String> = [1, 7, 8, 9, line - 1, line, line + 1, 2 * line, 200, 512]
            .iter()
            .flat_map(|&n| ["a".repeat(n), "b".repeat(n)])
            .collect();
        let first = bm.ids().assign(&ext).await?;
        let want: Vec<u32> = (1..=u32::try_from(ext.len()).expect("small")).collect();
        assert_eq!(first, want);
        // Answered from the cache: the same ids, in any order and repeated.
        let mut again = ext.clone();
        again.reverse();
        again.extend(ext.iter().cloned());
        let mut expect = want.clone();
        expect.reverse();
        expect.extend(want.iter().copied());
        assert_eq!(bm.ids().assign(&again).await?, expect);
        // A prefix of a cached id, or a longer id, is another user.
        assert_eq!(
            bm.ids()
                .lookup(&["a".repeat(line - 2), "a".repeat(line + 2)])
                .await?,
            vec![None, None]
        );
        let fresh = IdMap::new(Arc::clone(bm.store()), bm.ids().space());
        let stored = fresh.lookup(&ext).await?;
        assert_eq!(stored, want.iter().map(|&d| Some(d)).collect::<Vec<_>>());
        Ok(())
    }
}
