//! The Redis store: bitmaps as Redis strings, shared with Python bitmapist (`redis://`).
//! PLACEHOLDER: being written; see the helper's task.

use async_trait::async_trait;

use crate::bitmap::Bitmap;
use crate::error::Result;
use crate::store::{KeyWrite, Store};

/// Placeholder.
#[derive(Debug)]
pub struct RedisStore {
    url: String,
}

impl RedisStore {
    /// Connects.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(RedisStore {
            url: url.to_string(),
        })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn write(&self, _writes: &[KeyWrite]) -> Result<()> {
        Ok(())
    }
    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        Ok(keys.iter().map(|_| None).collect())
    }
    async fn put(&self, _entries: &[(String, Bitmap)]) -> Result<()> {
        Ok(())
    }
    async fn keys(&self, _prefix: &str) -> Result<Vec<String>> {
        Ok(vec![])
    }
    async fn delete(&self, _keys: &[String]) -> Result<u64> {
        Ok(0)
    }
    async fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        crate::store::mask_password(&self.url)
    }
}
