//! The embedded store: bitmaps in a redb file, hot ones cached in memory (`file://PATH`).
//! PLACEHOLDER: being written; see the helper's task.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use crate::bitmap::Bitmap;
use crate::error::Result;
use crate::store::{KeyWrite, Store};

/// Tuning of the embedded store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// How often dirty bitmaps are committed to the file (default 1 s). A crash loses at
    /// most the writes acknowledged since the last commit.
    pub flush_interval: Duration,
    /// Clean bitmaps not used for this long leave memory (default 10 minutes); `None`
    /// keeps everything that was read in memory.
    pub idle_eviction: Option<Duration>,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            flush_interval: Duration::from_secs(1),
            idle_eviction: Some(Duration::from_secs(600)),
        }
    }
}

/// Placeholder.
#[derive(Debug)]
pub struct EmbeddedStore {
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (or creates) the file.
    pub fn open(path: &Path, _options: EmbeddedOptions) -> Result<Self> {
        Ok(EmbeddedStore {
            path: path.to_path_buf(),
        })
    }
}

#[async_trait]
impl Store for EmbeddedStore {
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
        format!("file://{}", self.path.display())
    }
}
