//! `bitmapist compact`: rewrite a file:// store into a compact file, and the compaction
//! `seed` and `import` run when they are done writing, with the one-line report they print.

use anyhow::Result;
use bitmapist::Bitmapist;
use bitmapist::{CompactReport, StorageStats};
use clap::Args;
use serde_json::json;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output;
use crate::output::Format;

/// `bitmapist compact`
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `compact`.
pub async fn run(ctx: &Ctx, args: &CompactArgs) -> Result<()> {
    let bm = ctx.open().await?;
    let Some(report) = bm.store().compact().await? else {
        return Err(usage(format!(
            "compact works on a file:// store; {} has no file of its own",
            bm.store().describe()
        )));
    };
    match args.format {
        Format::Json => output::json(&json!({
            "store": bm.store().describe(),
            "compaction": report,
        })),
        Format::Table => Ok(output::print(&sentence(&bm, &report))?),
    }
}

/// Compacts the store after a bulk write (`seed`, `import`), printing a note to stderr;
/// `None` for stores without a file.
pub async fn after_bulk_write(bm: &Bitmapist) -> Result<Option<CompactReport>> {
    let report = bm.store().compact().await?;
    if let Some(r) = &report {
        output::note(&sentence(bm, r));
    }
    Ok(report)
}

/// `compacted file://x: 109.0 MB -> 71.2 MB, 1.04x the serialized bitmaps (68.4 MB), in 1.20 s`
fn sentence(bm: &Bitmapist, r: &CompactReport) -> String {
    format!(
        "compacted {}: {} -> {}, {} in {:.2} s",
        bm.store().describe(),
        mb(r.before_bytes),
        mb(r.after.file_bytes),
        footprint(&r.after),
        r.seconds
    )
}

/// `1.04x the serialized bitmaps (68.4 MB, 3,875 keys)`
pub fn footprint(s: &StorageStats) -> String {
    format!(
        "{:.2}x the serialized bitmaps ({}, {} keys)",
        s.ratio(),
        mb(s.roaring_bytes),
        output::thousands(s.keys)
    )
}

/// Bytes in MB (10^6), one decimal.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
