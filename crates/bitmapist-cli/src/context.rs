//! The store and prefix a command works on: `--store`/`--prefix`, else the environment.
//! Flags override `BITMAPIST_*` variables; a variable a flag overrides is not even read.

use anyhow::Result;
use bitmapist::config::{ENV_KEY_PREFIX, ENV_REDIS_URL, ENV_URL};
use bitmapist::store::StoreUrl;
use bitmapist::{Bitmapist, Config};
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
                _ => false,
            };
            if overridden {
                None
            } else {
                std::env::var(name).ok()
            }
        })?;
        let mut ctx = Ctx { config, matches };
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

    /// Opens another store (by URL) with this configuration's prefix and settings.
    pub async fn open_url(&self, url: &StoreUrl) -> Result<Bitmapist> {
        let store = bitmapist::store::open_url(url).await?;
        Ok(self.config.builder().store(store).open().await?)
    }
}
