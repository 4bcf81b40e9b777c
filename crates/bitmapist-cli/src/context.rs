//! The store and prefix a command works on: `--store`/`--prefix`, else the environment.
//! Flags override `BITMAPIST_*` variables; a variable a flag overrides is not even read.

use anyhow::Result;
use bitmapist::{ENV_KEY_PREFIX, ENV_REDIS_URL, ENV_URL};
use std::path::Path;
use std::sync::Arc;

use bitmapist::{Bitmapist, Config, Store, Zone};
use bitmapist::{ReadOnlyEmbeddedStore, StoreUrl};
use clap::ArgMatches;

use crate::exit::usage;

/// What every command needs: the resolved configuration and the raw matches (for
/// argument order).
pub struct Ctx {
    /// Store URL, prefix and tracking settings.
    pub config: Config,
    /// The parsed command line.
    pub matches: ArgMatches,
}

impl Ctx {
    /// Resolves the configuration: the global flags (`--store`, `--prefix`, `--timezone`)
    /// first, then `BITMAPIST_*` variables, then defaults.
    pub fn new(
        store: Option<&str>,
        prefix: Option<&str>,
        timezone: Option<Zone>,
        matches: ArgMatches,
    ) -> Result<Ctx> {
        let config = Config::from_vars(|name| {
            let overridden = match name {
                ENV_URL | ENV_REDIS_URL => store.is_some(),
                ENV_KEY_PREFIX => prefix.is_some(),
                bitmapist::ENV_TIMEZONE => timezone.is_some(),
                _ => false,
            };
            if overridden {
                None
            } else {
                std::env::var(name).ok()
            }
        })?;
        let mut ctx = Ctx { config, matches };
        if let Some(zone) = timezone {
            ctx.config.timezone = zone;
        }
        if let Some(url) = store {
            ctx.config.url = url.parse::<StoreUrl>()?;
            ctx.config.url_text = Some(url.to_string());
        }
        if let Some(prefix) = prefix {
            if prefix.is_empty() {
                return Err(usage(
                    "--prefix must not be empty (every key would be an event key)",
                ));
            }
            ctx.config.key_prefix = prefix.to_string();
        }
        Ok(ctx)
    }

    /// Opens the configured store.
    pub async fn open(&self) -> Result<Bitmapist> {
        Ok(self.config.open().await?)
    }

    /// Opens the configured store for a command that only reads (`serve`), as
    /// [`Ctx::read_store`] opens it: a missing embedded file is an error naming it, never
    /// a new store. Without `read_only`, an embedded file this process may write is opened
    /// for writing (which also repairs it after a crash).
    pub async fn open_for_reading(&self, read_only: bool) -> Result<Bitmapist> {
        if let StoreUrl::File { path, .. } = &self.config.url
            && !read_only
            && path.exists()
            && writable(path)
        {
            return self.open().await;
        }
        let store = self.read_store(read_only).await?;
        Ok(self.config.builder().store(store).open().await?)
    }

    /// Opens the configured store for a one-shot query (`events`, `count`, `ids`,
    /// `cohort`, ...): see [`Ctx::read_store`].
    pub async fn open_for_query(&self) -> Result<Bitmapist> {
        let store = self.read_store(false).await?;
        Ok(self.config.builder().store(store).open().await?)
    }

    /// The configured store for a command that only reads. A read never creates a store:
    /// a missing embedded file is a usage error naming it (a typo in `--store` must not
    /// answer zeros from a new, empty file). An existing file is opened read-only, so that
    /// a query never writes to it (a writable open and close records redb's allocator
    /// state, growing the file), also when the process may not write it (mode 0444, an
    /// immutable file, a read-only filesystem). A file that was not closed cleanly (its
    /// process was killed) needs a repair a read-only open cannot make: when this process
    /// may write the file, a short writable open repairs it first (nothing else changes),
    /// with a note on stderr; otherwise the error says what happened and what to run. Any
    /// other failure of the read-only open falls back, unless `read_only`, to a writable
    /// open, which names the problem.
    pub async fn read_store(&self, read_only: bool) -> Result<Arc<dyn Store>> {
        let StoreUrl::File { path, .. } = &self.config.url else {
            return Ok(bitmapist::open_store_url(&self.config.url).await?);
        };
        if !path.exists() {
            return Err(usage(format!(
                "the store file {} does not exist (a read never creates a store: check --store or BITMAPIST_URL)",
                path.display()
            )));
        }
        match ReadOnlyEmbeddedStore::open(path) {
            Ok(store) => Ok(Arc::new(store)),
            Err(bitmapist::Error::NotClosedCleanly { .. }) if writable(path) => {
                drop(bitmapist::open_store_url(&self.config.url).await?);
                crate::output::note(&format!(
                    "note: {} was not closed cleanly (its process was killed); repaired it with a short writable open",
                    path.display()
                ));
                Ok(Arc::new(ReadOnlyEmbeddedStore::open(path)?))
            }
            Err(e @ bitmapist::Error::NotClosedCleanly { .. }) => Err(e.into()),
            Err(_) if !read_only && writable(path) => {
                Ok(bitmapist::open_store_url(&self.config.url).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens another store (by URL) with this configuration's prefix and settings.
    pub async fn open_url(&self, url: &StoreUrl) -> Result<Bitmapist> {
        let store = bitmapist::open_store_url(url).await?;
        Ok(self.config.builder().store(store).open().await?)
    }
}

/// Whether this process may open `path` for writing (a test open, nothing written).
fn writable(path: &Path) -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        ),
    }
}
