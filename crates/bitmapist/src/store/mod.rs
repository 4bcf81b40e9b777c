//! Where bitmaps live: one [`Store`] trait and its implementations.
//! The engine above speaks only in keys and bits; a store knows nothing of events or periods.
//!
//! | URL | store |
//! |---|---|
//! | `memory://` | [`MemoryStore`]: a map in this process, gone at exit |
//! | `file://PATH` | [`EmbeddedStore`]: a redb file, hot bitmaps cached (the default) |
//! | `redis://[:password@]host[:port][/db]`, `rediss://...` | [`RedisStore`]: shared with other processes and with Python bitmapist |
//! | `redis+cluster://[:password@]h1:p1[,h2:p2...]`, `rediss+cluster://...` | [`ClusterStore`]: a Redis (or Valkey) Cluster, same keys as Python bitmapist |

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::bitmap::Bitmap;
use crate::error::{Error, Result};
use crate::keep::KeepPolicy;
use crate::zone::Zone;

mod cluster;
mod embedded;
mod memory;
mod redis;
mod redis_config;
mod redis_ids;
mod stats;
mod url;

pub use self::cluster::{ClusterConfig, ClusterStore};
pub use self::embedded::{
    BACKUP_TAKE_TIMEOUT, DEFAULT_FILE_CACHE_BYTES, EmbeddedOptions, EmbeddedStore,
    ReadOnlyEmbeddedStore, backup_file,
};
pub(crate) use self::embedded::{DenseContainer, DenseParts};
pub use self::memory::{IdTable, MemoryStore};
pub use self::redis::RedisStore;
pub use self::redis_ids::{ASSIGN_SCRIPT, EXHAUSTED_CODE, redis_keys};
pub use self::stats::{BackupReport, CompactReport, StorageStats};
pub use self::url::{DEFAULT_FILE, StoreUrl};

/// Bits to set (or clear) in one key, as a run of `SETBIT key offset value` commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyWrite {
    /// The key.
    pub key: String,
    /// `true` to set the bits, `false` to clear them.
    pub value: bool,
    /// The bit offsets (user ids), in any order.
    pub offsets: Vec<u32>,
}

impl KeyWrite {
    /// Set bit `offset` of `key`.
    pub fn set(key: String, offset: u32) -> Self {
        KeyWrite {
            key,
            value: true,
            offsets: vec![offset],
        }
    }
}

/// What [`Store::get_serialized_spans`] hands spans to: one per thread of the walk, fed that
/// thread's spans in turn (so a visitor keeps its working memory from span to span).
pub trait SpanVisitor: Send {
    /// One span: for each key in order, the roaring serialization of its containers in the
    /// span (empty: the key is missing or has none there).
    fn visit(&mut self, span: &[&[u8]]) -> Result<()>;
}

/// Makes the [`SpanVisitor`] of one thread of a [`Store::get_serialized_spans`] walk.
pub type SpanVisitors<'v> = dyn Fn() -> Box<dyn SpanVisitor + 'v> + Sync + 'v;

/// A place to keep bitmaps by key: batched bit writes, batched reads, counts, listing
/// by prefix, deletes.
///
/// Semantics are Redis's: a key exists once any `SETBIT` touched it (even one that cleared
/// a bit); a missing key reads as `None` and counts 0. Every method takes a batch so that a
/// networked store can pipeline it.
///
/// Implementations must be cheap to share (`Arc<dyn Store>`) and safe to call from many
/// tasks at once. Writes in one call are applied in order.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Applies the writes, in order.
    async fn write(&self, writes: &[KeyWrite]) -> Result<()>;

    /// Reads whole bitmaps; `None` for a missing key. The answer has one entry per key,
    /// in order.
    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>>;

    /// Reads each key's bitmap restricted to the bits of `within` (`key AND within`), with
    /// the key's own length; `None` for a missing key. The same as [`Store::get`] then an
    /// `AND`, but a store may read only the parts `within` touches: the embedded file decodes
    /// only the roaring containers `within` has (and does not cache the result), which is
    /// what keeps a large cohort cheap (its rows' users are few next to an event's users).
    async fn get_within(&self, keys: &[String], within: &Bitmap) -> Result<Vec<Option<Bitmap>>> {
        Ok(self
            .get(keys)
            .await?
            .into_iter()
            .map(|b| b.map(|b| restrict(&b, within)))
            .collect())
    }

    /// Reads whole bitmaps as roaring portable serializations (the format of
    /// `RoaringBitmap::serialize_into`); `None` for a missing key. For a computation that
    /// reads many whole bitmaps once and takes them apart container by container (trends):
    /// the embedded file hands over its stored serialization without decoding or caching
    /// it. The default serializes [`Store::get`]'s bitmaps.
    async fn get_serialized(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        Ok(self
            .get(keys)
            .await?
            .into_iter()
            .map(|b| b.map(|b| serialize(&b)))
            .collect())
    }

    /// Reads whole bitmaps a span of roaring containers at a time, for a computation that
    /// needs many whole bitmaps at once but takes them apart one container key at a time
    /// (trends, stickiness): each thread of the walk makes one visitor with `visitors` and
    /// hands it its spans in turn, each with, for each key in order, the roaring portable
    /// serialization of the key's containers in that span (empty: the key is missing or has
    /// none there). The spans are disjoint ranges of container keys (the high 16 bits of a
    /// bit's offset) that together cover every container of every key, so a sum over spans
    /// of per-container counts is the whole bitmaps' count. The first error, of a read or a
    /// visitor, stops the walk and is returned; the visitors are dropped when the walk ends.
    ///
    /// The embedded file reads one span's rows at a time on up to two threads, so memory is
    /// a span of every bitmap per thread, not the bitmaps. The default makes one visitor and
    /// hands it [`Store::get_serialized`]'s whole serializations as one span.
    ///
    /// The answer is each key's version ([`Store::versions`]) as the walk read it: the
    /// version of exactly the content the visitors saw, or `None` (the default).
    async fn get_serialized_spans(
        &self,
        keys: &[String],
        visitors: &SpanVisitors<'_>,
    ) -> Result<Vec<Option<u64>>> {
        let whole = self.get_serialized(keys).await?;
        let views: Vec<&[u8]> = whole
            .iter()
            .map(|b| b.as_deref().unwrap_or_default())
            .collect();
        visitors().visit(&views)?;
        Ok(vec![None; keys.len()])
    }

    /// Each key's write version: a number that names the key's current content for the
    /// store's whole life (every change gives a new one, never an earlier one), 0 for a
    /// missing key; `None` where the store cannot vouch for one. A count computed from
    /// bitmaps can be kept with its inputs' versions ([`Store::put_derived`]) and used again
    /// while they are the same. The embedded file keeps versions and reports none for a key
    /// with uncommitted changes; the default reports none.
    async fn versions(&self, keys: &[String]) -> Result<Vec<Option<u64>>> {
        Ok(vec![None; keys.len()])
    }

    /// The values kept under `names` by [`Store::put_derived`] (`None`: nothing kept). A
    /// store may drop kept values at any time; the default keeps none.
    async fn get_derived(&self, names: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        Ok(vec![None; names.len()])
    }

    /// Keeps values derived from bitmaps, each under a name, for [`Store::get_derived`]: a
    /// cache, which a crash may lose. A name starts with the first key the value was derived
    /// from and U+001F; a store that removes a key may drop the values named after it. The
    /// embedded file keeps them in the file and drops them with the key (see its docs); the
    /// default, and a store that cannot write, keep nothing.
    async fn put_derived(&self, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let _ = entries;
        Ok(())
    }

    /// Replaces whole bitmaps (used by import and by `SET`). A bitmap of length 0
    /// deletes the key.
    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()>;

    /// ORs each bitmap into its key, as `BITOP OR key key bitmap` would: the key is created
    /// when missing, its length becomes the longer of the two. Entries of length 0 are
    /// skipped. Bulk loads (the `seed` generator) use it to write whole bitmaps instead of bits.
    ///
    /// The default reads the keys, ORs and [`Store::put`]s them back: not atomic against
    /// other writers of the same keys. The embedded and memory stores merge under their
    /// lock; Redis sets the bits with `SETBIT`, atomic per bit.
    async fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        // A key given twice is merged once, with the OR of both.
        let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut combined: Vec<(String, Bitmap)> = Vec::with_capacity(entries.len());
        for (key, bitmap) in entries.into_iter().filter(|(_, b)| b.byte_len() > 0) {
            match at.get(&key) {
                Some(&i) => combined[i].1.or_assign(&bitmap),
                None => {
                    at.insert(key.clone(), combined.len());
                    combined.push((key, bitmap));
                }
            }
        }
        let entries = combined;
        let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
        let old = self.get(&keys).await?;
        let merged: Vec<(String, Bitmap)> = entries
            .into_iter()
            .zip(old)
            .map(|((key, mut bitmap), old)| {
                if let Some(old) = old {
                    bitmap.or_assign(&old);
                }
                (key, bitmap)
            })
            .collect();
        self.put(&merged).await
    }

    /// Like [`Store::flush`], then lets go of the copies a caching store keeps in memory
    /// (they are read again from storage when needed). A bulk load calls it between
    /// batches so that its memory stays bounded by one batch. The default only flushes.
    async fn flush_release(&self) -> Result<()> {
        self.flush().await
    }

    /// Counts the set bits of each key (`BITCOUNT`); 0 for a missing key.
    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        Ok(self
            .get(keys)
            .await?
            .iter()
            .map(|b| b.as_ref().map_or(0, Bitmap::count))
            .collect())
    }

    /// Whether bit `offset` of `key` is set (`GETBIT`).
    async fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        let got = self.get(&[key.to_string()]).await?;
        Ok(got
            .first()
            .and_then(Option::as_ref)
            .is_some_and(|b| b.contains(offset)))
    }

    /// Every key that starts with `prefix`, sorted, without duplicates.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>>;

    /// Deletes the keys; returns how many existed.
    async fn delete(&self, keys: &[String]) -> Result<u64>;

    /// Deletes every key that starts with `prefix`; returns how many existed.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let keys = self.keys(prefix).await?;
        self.delete(&keys).await
    }

    /// Makes every write acknowledged so far durable (a no-op where writes are durable as
    /// soon as they are acknowledged, or where nothing is durable).
    async fn flush(&self) -> Result<()>;

    /// The footprint on disk of the committed state (see [`StorageStats`]); `None` for a
    /// store without a file of its own (memory, Redis).
    async fn storage_stats(&self) -> Result<Option<StorageStats>> {
        Ok(None)
    }

    /// Rewrites the store's file into a compact one (see [`EmbeddedStore::compact`]);
    /// `None` for a store without a file of its own.
    async fn compact(&self) -> Result<Option<CompactReport>> {
        Ok(None)
    }

    /// The store's external-id map, when it keeps one (see [`IdStore`]). The default: none,
    /// so marking by external id on this store answers [`Error::IdMap`].
    fn id_store(&self) -> Option<&dyn IdStore> {
        None
    }

    /// The store's URL, with any password masked, for logs and messages.
    fn describe(&self) -> String;

    /// Reads a store metadata value: a small string kept outside the event keys (the
    /// recorded time zone, under `{prefix}.timezone`), never listed by [`Store::keys`] of an
    /// event prefix nor deleted with the events. Redis keeps it as a plain string key (the
    /// braces make it a hash tag, and no `trackist_*` pattern matches it); the embedded file
    /// in a redb table of its own. `None` when unset. The default (a store that keeps no
    /// metadata) reads nothing.
    async fn get_meta(&self, _key: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// Writes a store metadata value (see [`Store::get_meta`]). The default (a store that
    /// keeps no metadata) keeps nothing.
    async fn set_meta(&self, _key: &str, _value: &str) -> Result<()> {
        Ok(())
    }

    // --- data lifecycle (retention policy, prune) ---

    /// The bytes each key's value takes in the store, 0 for a missing key: what a prune
    /// reports it frees. Redis: `STRLEN`; the embedded file: the stored roaring
    /// serialization; the default: the Redis length of the bitmap.
    async fn value_sizes(&self, keys: &[String]) -> Result<Vec<u64>> {
        Ok(self
            .get(keys)
            .await?
            .iter()
            .map(|b| b.as_ref().map_or(0, |b| u64::from(b.byte_len())))
            .collect())
    }

    /// Deletes the keys as one small batch that holds the server only briefly; returns how
    /// many existed. Redis: `UNLINK` (values freed in the background; `DEL` where the server
    /// has no `UNLINK`); a cluster: one such pipeline per primary, concurrently. The default
    /// is [`Store::delete`].
    async fn unlink(&self, keys: &[String]) -> Result<u64> {
        self.delete(keys).await
    }

    /// Asks the store to apply `policy` to the keys under `prefix` by itself; `false` (the
    /// default) when it does not, and a caller runs [`Bitmapist::prune`](crate::Bitmapist::prune)
    /// instead. The embedded store does, on its flush thread (see `store/embedded/prune.rs`).
    /// Periods are taken on `zone`'s wall clock.
    fn auto_prune(&self, prefix: &str, policy: &KeepPolicy, zone: Zone) -> bool {
        let _ = (prefix, policy, zone);
        false
    }

    // --- end data lifecycle ---
}

/// The external-id map a store keeps beside its bitmaps: app user ids (strings) to dense
/// `u32` ids, per space (a key prefix), append-only. A store that keeps one implements this
/// trait and returns itself from [`Store::id_store`]; [`IdMap`](crate::IdMap) adds the
/// checks, batching and the in-process cache on top.
///
/// Every method takes a batch (one round trip on a networked store) and answers one entry
/// per input, in order. Where each store keeps the map: `memory.rs` ([`IdTable`]),
/// `embedded/idmap.rs` (redb tables), `redis_ids.rs` (hashes changed only by
/// [`ASSIGN_SCRIPT`], shared by Redis and Redis Cluster).
#[async_trait]
pub trait IdStore: Send + Sync {
    /// The dense id of each of `external` in the map of `space`, assigning the next free
    /// ids (1, 2, ...) to those missing, atomically: concurrent callers, in any process, get
    /// one id per external id.
    async fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>>;

    /// The dense ids of `external` in the map of `space`, `None` for those never assigned.
    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>>;

    /// The external ids of `dense` in the map of `space`, `None` for those never handed out.
    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>>;
}

/// The roaring portable serialization of `bitmap`.
pub(crate) fn serialize(bitmap: &Bitmap) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(bitmap.bits().serialized_size());
    // Writing into a `Vec` cannot fail.
    let _ = bitmap.bits().serialize_into(&mut bytes);
    bytes
}

/// `bitmap AND within`, with `bitmap`'s length.
pub(crate) fn restrict(bitmap: &Bitmap, within: &Bitmap) -> Bitmap {
    Bitmap::with_byte_len(bitmap.bits() & within.bits(), bitmap.byte_len())
}

/// Opens the store a URL names (see the module docs for the schemes).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let store = bitmapist::open_store("memory://").await?;
/// assert_eq!(store.describe(), "memory://");
/// # Ok(()) }
/// ```
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    open_store_url(&url.parse::<StoreUrl>()?).await
}

/// Opens the store a parsed [`StoreUrl`] names.
pub async fn open_store_url(url: &StoreUrl) -> Result<Arc<dyn Store>> {
    Ok(match url {
        StoreUrl::Memory => Arc::new(MemoryStore::new()),
        StoreUrl::File { path, options } => Arc::new(EmbeddedStore::open(path, options.clone())?),
        StoreUrl::Redis { url } => Arc::new(RedisStore::connect(url).await?),
        StoreUrl::Cluster(config) => Arc::new(ClusterStore::connect_with(config.clone()).await?),
    })
}

/// Masks the password of a URL for messages: `redis://:***@host`. Works on URLs that do
/// not parse too, so that an error about a malformed URL never shows its password.
pub(crate) fn mask_password(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://").map(|i| i + 3) else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return raw.to_string();
    };
    let userinfo = &rest[..at];
    let masked = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_string(),
    };
    format!("{}{}{}", &raw[..scheme_end], masked, &rest[at..])
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            context: "I/O".to_string(),
            source,
        }
    }
}
