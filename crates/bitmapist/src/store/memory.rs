//! The memory store: bitmaps in a sorted map inside this process.
//! For tests and short-lived tools; everything is gone when the process ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;

use super::{IdStore, KeyWrite, Store};
use crate::bitmap::Bitmap;
use crate::error::{Error, Result};

/// Bitmaps in a `BTreeMap` behind a lock (`memory://`).
///
/// ```
/// use bitmapist::{KeyWrite, MemoryStore, Store};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let store = MemoryStore::new();
/// store.write(&[KeyWrite::set("k".into(), 7)]).await?;
/// assert_eq!(store.count(&["k".into()]).await?, vec![1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<String, Bitmap>>,
    /// The external-id maps, by space (see [`IdMap`](crate::IdMap)); not keys.
    ids: std::sync::Mutex<HashMap<String, IdTable>>,
    meta: RwLock<BTreeMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The external-id map of one space in memory: the memory store's map (and a model in
/// tests).
#[derive(Debug, Default, Clone)]
pub struct IdTable {
    forward: HashMap<String, u32>,
    reverse: HashMap<u32, String>,
    last: u32,
}

impl IdTable {
    /// The ids of `external`, assigning the next ones to those missing.
    pub fn assign(&mut self, external: &[String]) -> Result<Vec<u32>> {
        external
            .iter()
            .map(|ext| {
                if let Some(&id) = self.forward.get(ext) {
                    return Ok(id);
                }
                let id = self.last.checked_add(1).ok_or(Error::IdsExhausted)?;
                self.last = id;
                self.forward.insert(ext.clone(), id);
                self.reverse.insert(id, ext.clone());
                Ok(id)
            })
            .collect()
    }

    /// The ids of `external`, `None` for those never assigned.
    pub fn lookup(&self, external: &[String]) -> Vec<Option<u32>> {
        external
            .iter()
            .map(|e| self.forward.get(e).copied())
            .collect()
    }

    /// The external ids of `dense`, `None` for those never handed out.
    pub fn resolve(&self, dense: &[u32]) -> Vec<Option<String>> {
        dense.iter().map(|d| self.reverse.get(d).cloned()).collect()
    }
}

/// Every key of `map` that starts with `prefix`, in order.
pub(crate) fn keys_with_prefix<'m, V>(
    map: &'m BTreeMap<String, V>,
    prefix: &'m str,
) -> impl Iterator<Item = &'m String> + 'm {
    map.range::<str, _>((
        std::ops::Bound::Included(prefix),
        std::ops::Bound::Unbounded,
    ))
    .map(|(k, _)| k)
    .take_while(move |k| k.starts_with(prefix))
}

#[async_trait]
impl Store for MemoryStore {
    async fn write(&self, writes: &[KeyWrite]) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        for w in writes {
            if let Some(b) = map.get_mut(w.key.as_str()) {
                b.set_many(&w.offsets, w.value);
            } else if !w.offsets.is_empty() {
                let mut b = Bitmap::new();
                b.set_many(&w.offsets, w.value);
                map.insert(w.key.clone(), b);
            }
        }
        Ok(())
    }

    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    }

    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        for (k, b) in entries {
            if b.byte_len() == 0 {
                map.remove(k);
            } else {
                map.insert(k.clone(), b.clone());
            }
        }
        Ok(())
    }

    async fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        for (k, b) in entries.into_iter().filter(|(_, b)| b.byte_len() > 0) {
            match map.get_mut(k.as_str()) {
                Some(old) => old.or_assign(&b),
                None => {
                    map.insert(k, b);
                }
            }
        }
        Ok(())
    }

    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .iter()
            .map(|k| map.get(k).map_or(0, Bitmap::count))
            .collect())
    }

    async fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(key).is_some_and(|b| b.contains(offset)))
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let meta = self.meta.read().unwrap_or_else(PoisonError::into_inner);
        Ok(meta.get(key).cloned())
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let mut meta = self.meta.write().unwrap_or_else(PoisonError::into_inner);
        meta.insert(key.to_string(), value.to_string());
        Ok(())
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        Ok(keys_with_prefix(&map, prefix).cloned().collect())
    }

    async fn delete(&self, keys: &[String]) -> Result<u64> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .iter()
            .filter(|k| map.remove(k.as_str()).is_some())
            .count() as u64)
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let doomed: Vec<String> = keys_with_prefix(&map, prefix).cloned().collect();
        for k in &doomed {
            map.remove(k);
        }
        Ok(doomed.len() as u64)
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn describe(&self) -> String {
        "memory://".to_string()
    }

    fn id_store(&self) -> Option<&dyn IdStore> {
        Some(self)
    }
}

#[async_trait]
impl IdStore for MemoryStore {
    async fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>> {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.entry(space.to_string()).or_default().assign(external)
    }

    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        let ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match ids.get(space) {
            Some(t) => t.lookup(external),
            None => vec![None; external.len()],
        })
    }

    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        let ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match ids.get(space) {
            Some(t) => t.resolve(dense),
            None => vec![None; dense.len()],
        })
    }
}
