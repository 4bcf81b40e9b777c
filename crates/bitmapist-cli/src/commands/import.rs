//! `bitmapist import`: copy every bitmapist key under the prefix from one store to another.
//! Batched reads and whole-bitmap writes (re-running is safe), then a count check per key.

use std::time::Instant;

use anyhow::{Result, bail};
use bitmapist::StoreUrl;
use bitmapist::{Bitmap, Bitmapist};
use clap::Args;
use serde_json::json;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::Format;
use crate::output::{self, thousands};
use crate::progress;

/// `bitmapist import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store to copy from [default: the --store store].
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,

    /// The store to copy into.
    #[arg(long, value_name = "URL")]
    pub to: String,

    /// Keys per batch (one read and one write each).
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,

    /// List what would be copied, copy nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How many mismatching keys are named in the error.
const SHOWN_MISMATCHES: usize = 5;

/// Runs `import`.
pub async fn run(ctx: &Ctx, args: &ImportArgs) -> Result<()> {
    let (src, dst) = open_stores(ctx, args).await?;
    let (src_name, dst_name) = (src.store().describe(), dst.store().describe());
    let started = Instant::now();
    let prefix = src.layout().prefix().to_string();
    let (keys, skipped) = event_keys(&src, &prefix).await?;
    if args.dry_run {
        return report(
            args.format,
            &json!({
                "from": src_name, "to": dst_name, "prefix": prefix, "dry_run": true,
                "keys": keys.len(), "skipped": skipped,
            }),
        );
    }

    let batch = args.batch as usize;
    let copied = copy(&src, &dst, &keys, batch).await?;
    let copy_seconds = started.elapsed().as_secs_f64();
    let compaction = super::compact::after_bulk_write(&dst).await?;

    let mismatches = verify(&src, &dst, &keys, batch).await?;
    let summary = json!({
        "from": src_name, "to": dst_name, "prefix": prefix,
        "keys": copied.keys, "bits": copied.bits, "vanished": copied.vanished,
        "skipped": skipped, "mismatches": mismatches.len(), "seconds": copy_seconds,
        "compaction": compaction,
    });
    report(args.format, &summary)?;
    fail_on_mismatches(&mismatches)
}

/// The source (`--from`, else the configured store) and the destination (`--to`, its time
/// zone recorded); the same store twice is a usage error.
async fn open_stores(ctx: &Ctx, args: &ImportArgs) -> Result<(Bitmapist, Bitmapist)> {
    let from: StoreUrl = match &args.from {
        Some(url) => url.parse()?,
        None => ctx.config.url.clone(),
    };
    let to: StoreUrl = args.to.parse()?;
    if from == to && from != StoreUrl::Memory {
        return Err(usage("--from and --to name the same store"));
    }
    // The source is only read: a mistyped file must not become a new, empty store.
    if let StoreUrl::File { path, .. } = &from
        && !path.exists()
    {
        return Err(usage(format!(
            "the source store file {} does not exist (check --from or --store)",
            path.display()
        )));
    }
    let src = ctx.open_url(&from).await?;
    let dst = ctx.open_url(&to).await?;
    dst.record_timezone().await?;
    Ok((src, dst))
}

/// The event keys under `prefix` and how many other keys were skipped (Python's temporary
/// `bitop_` results and foreign keys stay behind), with a note when there are any.
async fn event_keys(src: &Bitmapist, prefix: &str) -> Result<(Vec<String>, usize)> {
    let listed = src.store().keys(prefix).await?;
    let keys: Vec<String> = listed
        .iter()
        .filter(|k| src.layout().parse(k).is_some())
        .cloned()
        .collect();
    let skipped = listed.len() - keys.len();
    if skipped > 0 {
        output::note(&format!(
            "skipping {} keys under {prefix:?} that are not event keys (e.g. Python's bitop_ results)",
            thousands(skipped as u64)
        ));
    }
    Ok((keys, skipped))
}

/// What [`copy`] wrote.
struct Copied {
    /// Keys copied.
    keys: u64,
    /// Keys listed but gone by the time they were read.
    vanished: u64,
    /// Set bits copied.
    bits: u64,
}

/// Copies `keys` in batches of whole bitmaps, then flushes the destination.
async fn copy(src: &Bitmapist, dst: &Bitmapist, keys: &[String], batch: usize) -> Result<Copied> {
    let bar = progress::bar(keys.len() as u64, "keys");
    let mut copied = Copied {
        keys: 0,
        vanished: 0,
        bits: 0,
    };
    for chunk in keys.chunks(batch) {
        let got = src.store().get(chunk).await?;
        let entries: Vec<(String, Bitmap)> = chunk
            .iter()
            .zip(got)
            .filter_map(|(k, b)| b.map(|b| (k.clone(), b)))
            .collect();
        copied.vanished += (chunk.len() - entries.len()) as u64;
        copied.keys += entries.len() as u64;
        copied.bits += entries.iter().map(|(_, b)| b.count()).sum::<u64>();
        dst.store().put(&entries).await?;
        bar.inc(chunk.len() as u64);
    }
    dst.flush().await?;
    bar.finish_and_clear();
    Ok(copied)
}

/// An error naming the first few keys that differ, if any.
fn fail_on_mismatches(mismatches: &[(String, u64, u64)]) -> Result<()> {
    if mismatches.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = mismatches
        .iter()
        .take(SHOWN_MISMATCHES)
        .map(|(k, a, b)| format!("{k} ({a} in the source, {b} in the copy)"))
        .collect();
    bail!(
        "verification failed: {} keys differ (the source may have changed during the copy; run import again): {}",
        mismatches.len(),
        shown.join(", ")
    );
}

/// Keys whose bit counts differ between the stores: `(key, source, copy)`.
async fn verify(
    src: &Bitmapist,
    dst: &Bitmapist,
    keys: &[String],
    batch: usize,
) -> Result<Vec<(String, u64, u64)>> {
    let bar = progress::bar(keys.len() as u64, "keys verified");
    let mut out = Vec::new();
    for chunk in keys.chunks(batch) {
        let a = src.store().count(chunk).await?;
        let b = dst.store().count(chunk).await?;
        for ((k, a), b) in chunk.iter().zip(a).zip(b) {
            if a != b {
                out.push((k.clone(), a, b));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Prints the summary as JSON, or as a sentence for people.
fn report(format: Format, s: &serde_json::Value) -> Result<()> {
    match format {
        Format::Json => output::json(s),
        Format::Table => {
            let n = |k: &str| s[k].as_u64().unwrap_or(0);
            let text = if s["dry_run"].as_bool() == Some(true) {
                format!(
                    "would copy {} keys from {} to {} (prefix {})",
                    thousands(n("keys")),
                    s["from"].as_str().unwrap_or_default(),
                    s["to"].as_str().unwrap_or_default(),
                    s["prefix"],
                )
            } else {
                format!(
                    "copied {} keys ({} bits) from {} to {} in {:.2} s; verified: {} keys differ",
                    thousands(n("keys")),
                    thousands(n("bits")),
                    s["from"].as_str().unwrap_or_default(),
                    s["to"].as_str().unwrap_or_default(),
                    s["seconds"].as_f64().unwrap_or_default(),
                    thousands(n("mismatches")),
                )
            };
            Ok(output::print(&text)?)
        }
    }
}
