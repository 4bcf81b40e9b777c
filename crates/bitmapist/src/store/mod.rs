//! Where bitmaps live: one [`Store`] trait and its implementations.
//! The engine above speaks only in keys and bits; a store knows nothing of events or periods.
//!
//! | URL | store |
//! |---|---|
//! | `memory://` | [`MemoryStore`]: a map in this process, gone at exit |
//! | `file://PATH` | [`EmbeddedStore`]: a redb file, hot bitmaps cached (the default) |
//! | `redis://[:password@]host[:port][/db]`, `rediss://...` | [`RedisStore`]: shared with other processes and with Python bitmapist |

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::bitmap::Bitmap;
use crate::error::{Error, Result};

pub mod embedded;
pub mod memory;
pub mod redis;
mod url;

pub use self::embedded::{EmbeddedOptions, EmbeddedStore, ReadOnlyEmbeddedStore};
pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;
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

    /// Replaces whole bitmaps (used by import and by `SET`). A bitmap of length 0
    /// deletes the key.
    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()>;

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

    /// The store's URL, with any password masked, for logs and messages.
    fn describe(&self) -> String;
}

/// Opens the store a URL names (see the module docs for the schemes).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let store = bitmapist::store::open("memory://").await?;
/// assert_eq!(store.describe(), "memory://");
/// # Ok(()) }
/// ```
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_url(&url.parse::<StoreUrl>()?).await
}

/// Opens the store a parsed [`StoreUrl`] names.
pub async fn open_url(url: &StoreUrl) -> Result<Arc<dyn Store>> {
    Ok(match url {
        StoreUrl::Memory => Arc::new(MemoryStore::new()),
        StoreUrl::File { path, options } => Arc::new(EmbeddedStore::open(path, options.clone())?),
        StoreUrl::Redis { url } => Arc::new(RedisStore::connect(url).await?),
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
