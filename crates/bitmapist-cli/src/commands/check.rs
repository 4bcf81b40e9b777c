//! `bitmapist check`: reads and decodes every bitmap of a file:// store (a backup before it
//! is restored, say), read-only: nothing is written, not even a repair. Prints the
//! footprint; exits 1 when a value does not decode or the file is not whole (a file that
//! was not closed cleanly, such as an interrupted copy, is refused, not repaired).

use anyhow::{Context, Result};
use bitmapist::{ReadOnlyEmbeddedStore, StoreUrl};
use clap::Args;
use serde_json::json;

use crate::commands::compact::footprint;
use crate::context::Ctx;
use crate::exit::usage;
use crate::output;
use crate::output::Format;

/// `bitmapist check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `check`.
pub async fn run(ctx: &Ctx, args: &CheckArgs) -> Result<()> {
    let StoreUrl::File { path, .. } = &ctx.config.url else {
        return Err(usage("check reads a file:// store"));
    };
    if !path.exists() {
        return Err(usage(format!(
            "the store file {} does not exist (check --store or BITMAPIST_URL)",
            path.display()
        )));
    }
    let file = path.clone();
    let stats = tokio::task::spawn_blocking(move || ReadOnlyEmbeddedStore::open(&file)?.verify())
        .await
        .context("the check task")??;
    if stats.corrupt_keys > 0 {
        anyhow::bail!(
            "{}: {} keys do not decode (of {})",
            path.display(),
            stats.corrupt_keys,
            stats.keys
        );
    }
    match args.format {
        Format::Json => output::json(&json!({
            "store": path.display().to_string(),
            "ok": true,
            "stats": stats,
        })),
        Format::Table => Ok(output::print(&format!(
            "{}: every bitmap decodes; {}",
            path.display(),
            footprint(&stats)
        ))?),
    }
}
