//! The store and prefix a command works on: `--store`/`--prefix`, else the environment.
//! Flags override `BITMAPIST_*` variables; a variable a flag overrides is not even read.

use anyhow::Result;
use bitmapist::{ENV_KEY_PREFIX, ENV_REDIS_URL, ENV_URL};
use std::path::Path;
use std::sync::Arc;

use bitmapist::{Bitmapist, Config};
use bitmapist::{ReadOnlyEmbeddedStore, StoreUrl};
use clap::ArgMatches;

use crate::cli::Global;
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
    /// Resolves the configuration: flags first, then `BITMAPIST_*` variables, then defaults.
    pub fn new(global: &Global, matches: ArgMatches) -> Result<Ctx> {
        let config = Config::from_vars(|name| {
            let overridden = match name {
                ENV_URL | ENV_REDIS_URL => global.store.is_some(),
                ENV_KEY_PREFIX => global.prefix.is_some(),
                bitmapist::ENV_TIMEZONE => global.timezone.is_some(),
                _ => false,
            };
            if overridden {
                None
            } else {
                std::env::var(name).ok()
            }
        })?;
        let mut ctx = Ctx { config, matches };
        if let Some(zone) = global.timezone {
            ctx.config.timezone = zone;
        }
        if let Some(url) = &global.store {
            ctx.config.url = url.parse::<StoreUrl>()?;
            ctx.config.url_text = Some(url.clone());
        }
        if let Some(prefix) = &global.prefix {
            if prefix.is_empty() {
                return Err(usage(
                    "--prefix must not be empty (every key would be an event key)",
                ));
            }
            ctx.config.key_prefix = prefix.clone();
        }
        Ok(ctx)
    }

    /// Opens the configured store.
    pub async fn open(&self) -> Result<Bitmapist> {
        Ok(self.config.open().await?)
    }

    /// Opens the configured store for a command that only reads. An embedded file the
    /// process may not write (mode 0444 for a non-root user, an immutable file, a
    /// read-only filesystem) is opened read-only, as it is always with `read_only`;
    /// otherwise the store opens as usual (a writable open also repairs a file after a
    /// crash, which a read-only open cannot).
    pub async fn open_for_reading(&self, read_only: bool) -> Result<Bitmapist> {
        let StoreUrl::File { path, .. } = &self.config.url else {
            return self.open().await;
        };
        if !read_only && (!path.exists() || writable(path)) {
            return self.open().await;
        }
        let store = ReadOnlyEmbeddedStore::open(path)?;
        Ok(self.config.builder().store(Arc::new(store)).open().await?)
    }

    /// Opens the configured store for a one-shot query (`events`, `count`, `ids`, `cohort`):
    /// an existing embedded file is opened read-only, so that a query never writes to it
    /// (a writable open and close records redb's allocator state, growing the file); if
    /// the read-only open fails (a file that needs repair after a crash, say), the store
    /// opens as [`Context::open_for_reading`] opens it, which repairs or names the problem.
    pub async fn open_for_query(&self) -> Result<Bitmapist> {
        if let StoreUrl::File { path, .. } = &self.config.url
            && path.exists()
            && let Ok(store) = ReadOnlyEmbeddedStore::open(path)
        {
            return Ok(self.config.builder().store(Arc::new(store)).open().await?);
        }
        self.open_for_reading(false).await
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
