//! `bitmapist seed`: realistic, deterministic fake activity through `bitmapist::seed`.
//! A progress bar per day on stderr, then a summary: marks per event and marks per second.

use anyhow::Result;
use bitmapist::seed::{self, MAX_DAYS, MAX_USERS, SeedPlan, Summary};
use chrono::{DateTime, Utc};
use serde_json::json;

use clap::Args;

use crate::context::Ctx;
use crate::output::Format;
use crate::output::{self, Table, thousands};
use crate::progress;
use crate::time::parse_time;

/// `bitmapist seed`
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many users (ids 1..=N, in sign-up order).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_USERS)))]
    pub users: u32,

    /// How many days of activity, ending with the day of --end.
    #[arg(long, value_name = "D", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    pub days: u32,

    /// The random seed: the same seed (and --users, --days, --end) gives the same data.
    #[arg(long = "seed", value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Also write hour keys (also on when BITMAPIST_TRACK_HOURLY is set).
    #[arg(long)]
    pub hourly: bool,

    /// The last instant of the range [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub end: Option<DateTime<Utc>>,

    /// Delete every key under the prefix first.
    #[arg(long)]
    pub reset: bool,

    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `seed`.
pub async fn run(ctx: &Ctx, args: &SeedArgs) -> Result<()> {
    let end = args.end.unwrap_or_else(Utc::now);
    let plan = SeedPlan::new(args.users, args.days, end)
        .seed(args.seed)
        .hourly(args.hourly || ctx.config.track_hourly);
    plan.validate()?;
    let bm = ctx.open().await?;
    bm.record_timezone().await?;
    let store = bm.store().describe();
    if args.reset {
        let n = bm.delete_all().await?;
        output::note(&format!(
            "deleted {} keys under {:?} in {store}",
            thousands(n),
            bm.layout().prefix()
        ));
    }
    let bar = progress::bar(u64::from(plan.days), "days");
    let summary = seed::run(&bm, &plan, |p| {
        bar.set_position(u64::from(p.days_done));
        bar.set_message(format!("{} ({} marks)", p.date, thousands(p.marks)));
    })
    .await?;
    bar.finish_and_clear();
    let compaction = super::compact::after_bulk_write(&bm).await?;
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&summary)?;
            if let Some(obj) = value.as_object_mut() {
                obj.insert("store".into(), json!(store));
                obj.insert("prefix".into(), json!(bm.layout().prefix()));
                obj.insert("compaction".into(), json!(compaction));
            }
            output::json(&value)
        }
        Format::Table => {
            output::print(&table(&summary).render())?;
            output::note(&format!(
                "{} marks for {} users over {} days ({} to {}) in {:.2} s: {:.2} M marks/s, into {store} (seed {})",
                thousands(summary.marks),
                thousands(u64::from(plan.users)),
                plan.days,
                summary.start,
                plan.end.format("%Y-%m-%dT%H:%M:%SZ"),
                summary.seconds,
                summary.marks_per_second / 1e6,
                plan.seed,
            ));
            Ok(())
        }
    }
}

/// Marks per event, then per unique flag, then the total.
fn table(summary: &Summary) -> Table {
    let mut t = Table::new(["event", "marks"], 1);
    for (event, n) in &summary.events {
        t.push(vec![event.clone(), thousands(*n)]);
    }
    for (flag, n) in &summary.flags {
        t.push(vec![format!("{flag} (unique)"), thousands(*n)]);
    }
    t.push(vec!["total".into(), thousands(summary.marks)]);
    t
}
