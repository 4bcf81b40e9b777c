//! `bitmapist prune`: what a retention policy deletes (keys, bytes, and the oldest period
//! kept per time group), and with `--apply` deleting it (in batches: `UNLINK` pipelines on
//! Redis, one per node on a cluster), recording the horizon in the store first.

use anyhow::Result;
use bitmapist::{Bitmapist, DEFAULT_PRUNE_BATCH, KeepPolicy, PruneReport, PruneSpec, StoreUrl};
use clap::Args;
use clap::builder::RangedU64ValueParser;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Format, Table, thousands};
use crate::time::parse_time;

/// `bitmapist prune`
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The retention policy, e.g. `hour:7d,day:400d` (lengths in h, d, w, m, y; groups
    /// hour, day, week, month). Default: BITMAPIST_KEEP. Groups not named, and unique
    /// keys, are kept.
    #[arg(long, value_parser = parse_keep)]
    pub keep: Option<KeepPolicy>,
    /// Delete the keys (without it, only report what would be deleted).
    #[arg(long)]
    pub apply: bool,
    /// Keys per delete batch (1 to 100,000).
    #[arg(long, default_value_t = DEFAULT_PRUNE_BATCH, value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub batch: usize,
    /// Count the policy's lengths back from this time instead of now (YYYY-MM-DD,
    /// YYYY-MM-DDTHH:MM in the store's zone, or RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Output of the report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn parse_keep(s: &str) -> Result<KeepPolicy, String> {
    let policy: KeepPolicy = s.parse().map_err(|e: bitmapist::Error| e.to_string())?;
    if policy.is_empty() {
        return Err("the policy names no time group (e.g. hour:7d,day:400d)".to_string());
    }
    Ok(policy)
}

/// Runs `prune`.
pub async fn run(ctx: &Ctx, args: &PruneArgs) -> Result<()> {
    let policy = match &args.keep {
        Some(p) => p.clone(),
        None if !ctx.config.keep.is_empty() => ctx.config.keep.clone(),
        None => {
            return Err(usage(
                "no retention policy: pass --keep (e.g. hour:7d,day:400d) or set BITMAPIST_KEEP",
            ));
        }
    };
    if let StoreUrl::File { path, .. } = &ctx.config.url
        && !path.exists()
    {
        return Err(usage(format!(
            "the store file {} does not exist (check --store or BITMAPIST_URL)",
            path.display()
        )));
    }
    // This command is the prune: the store must not start its own beside it.
    let store = bitmapist::open_store_url(&ctx.config.url).await?;
    let bm: Bitmapist = ctx
        .config
        .builder()
        .keep(KeepPolicy::default())
        .store(store)
        .open()
        .await?;
    let mut spec = PruneSpec::new(policy).apply(args.apply).batch(args.batch);
    if let Some(now) = args.now {
        spec = spec.now(now);
    }
    let report = bm.prune(&spec).await?;
    match args.format {
        Format::Json => output::json(&serde_json::to_value(&report)?),
        Format::Table => Ok(output::print(&table(&report))?),
    }
}

/// The report as a table and a closing line.
fn table(r: &PruneReport) -> String {
    let mut t = Table::new(["group", "keep", "oldest kept", "keys", "bytes"], 1);
    for g in &r.groups {
        t.push(vec![
            g.time_group.to_string(),
            g.keep.clone(),
            g.oldest_kept.clone().unwrap_or_else(|| "(all)".to_string()),
            thousands(g.keys),
            thousands(g.bytes),
        ]);
    }
    t.push(vec![
        "total".to_string(),
        String::new(),
        String::new(),
        thousands(r.keys),
        thousands(r.bytes),
    ]);
    let last = if r.applied {
        format!(
            "deleted {} keys from {} in {} batches; pruned periods recorded: {}",
            thousands(r.deleted),
            r.store,
            r.batch_times.len(),
            if r.recorded.is_empty() {
                "none"
            } else {
                &r.recorded
            }
        )
    } else {
        format!(
            "dry run on {}: nothing deleted (add --apply to delete these keys)",
            r.store
        )
    };
    format!("{}\n{last}", t.render())
}
