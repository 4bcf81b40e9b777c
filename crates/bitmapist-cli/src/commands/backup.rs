//! `bitmapist backup --to PATH`: a consistent copy of a file:// store, also while an app
//! holding it keeps marking. Prints one line (or JSON): keys, size, time, and who made the
//! copy (the process holding the store, at this command's request, or this command when
//! no process holds it). With `--verify`, then reads and decodes every bitmap of the copy,
//! as `bitmapist check` does.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use bitmapist::{BackupReport, ReadOnlyEmbeddedStore, StoreUrl, backup_file};
use clap::Args;
use serde_json::json;

use crate::commands::compact::{footprint, mb};
use crate::context::Ctx;
use crate::exit::usage;
use crate::output;
use crate::output::Format;

/// `bitmapist backup`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy. An existing file there is replaced only once the copy is
    /// whole (it is built beside it as `.NAME.backup-tmp`, then renamed).
    #[arg(long, value_name = "PATH")]
    pub to: PathBuf,
    /// Then read and decode every bitmap of the copy (as `bitmapist check` does).
    #[arg(long)]
    pub verify: bool,
    /// Seconds to wait for the process holding the store to take the request.
    #[arg(long, value_name = "SECS", default_value_t = bitmapist::BACKUP_TAKE_TIMEOUT.as_secs())]
    pub wait_secs: u64,
    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `backup`.
pub async fn run(ctx: &Ctx, args: &BackupArgs) -> Result<()> {
    let StoreUrl::File { path, .. } = &ctx.config.url else {
        return Err(usage(
            "backup copies a file:// store; a Redis store is backed up by Redis itself (BGSAVE, or `redis-cli --rdb FILE`)",
        ));
    };
    if !path.exists() {
        return Err(usage(format!(
            "the store file {} does not exist (check --store or BITMAPIST_URL)",
            path.display()
        )));
    }
    let (src, dest) = (path.clone(), args.to.clone());
    let wait = Duration::from_secs(args.wait_secs);
    let report = tokio::task::spawn_blocking(move || backup_file(&src, &dest, wait))
        .await
        .context("the backup task")??;
    let verified = if args.verify {
        let dest = args.to.clone();
        let stats =
            tokio::task::spawn_blocking(move || ReadOnlyEmbeddedStore::open(&dest)?.verify())
                .await
                .context("the verify task")??;
        if stats.corrupt_keys > 0 {
            anyhow::bail!(
                "the copy {} has {} keys that do not decode; do not restore it",
                args.to.display(),
                stats.corrupt_keys
            );
        }
        Some(stats)
    } else {
        None
    };
    match args.format {
        Format::Json => output::json(&json!({
            "store": path.display().to_string(),
            "to": args.to.display().to_string(),
            "backup": report,
            "verified": verified,
        })),
        Format::Table => {
            let mut line = sentence(&path.display().to_string(), &args.to, &report);
            if let Some(stats) = &verified {
                line.push_str(&format!("; verified: {}", footprint(stats)));
            }
            Ok(output::print(&line)?)
        }
    }
}

/// `backed up ./a.redb to /b/copy.redb: 3,875 keys, 71.2 MB in 1.20 s (made by the process holding the store)`
fn sentence(store: &str, to: &std::path::Path, r: &BackupReport) -> String {
    format!(
        "backed up {store} to {}: {} keys, {} in {:.2} s ({})",
        to.display(),
        output::thousands(r.keys),
        mb(r.bytes),
        r.seconds,
        if r.by_running_process {
            "made by the process holding the store"
        } else {
            "no process held the store"
        }
    )
}
