//! `bitmapist trends`: an event's rolling daily, weekly (7-day) and monthly (30-day)
//! actives on each day, and DAU/MAU, optionally beside the previous range; table, CSV or
//! JSON.

use anyhow::{Context, Result};
use bitmapist::{Trends, TrendsDay, TrendsSpec};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;
use crate::values::MAX_COHORT_SIDE;

/// `bitmapist trends`
#[derive(Debug, Args)]
pub struct TrendsArgs {
    /// The event.
    #[arg(value_name = "EVENT", value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// How many days, the last one containing --now; at most 400.
    #[arg(long, default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub days: u32,

    /// Also compute the same series for the range before (columns prefixed `prev_`).
    #[arg(long)]
    pub compare: bool,

    /// The moment the trends are computed at [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Runs `trends`.
pub async fn run(ctx: &Ctx, args: &TrendsArgs) -> Result<()> {
    let spec = TrendsSpec::new(args.event.clone())
        .days(args.days as usize)
        .compare(args.compare)
        .now(args.now.unwrap_or_else(Utc::now));
    spec.validate().map_err(|e| usage(e.to_string()))?;
    bitmapist::Zone::UTC
        .period_containing(bitmapist::TimeGroup::Days, spec.now)
        .context("--now is outside the years 1..=9999")?;
    let bm = ctx.open_for_query().await?;
    let trends = bm.trends(&spec).await?;
    output::warn_unmarked(&bm, &[spec.event.as_str()]).await?;
    match args.format {
        TableFormat::Json => output::json(&serde_json::to_value(&trends)?),
        TableFormat::Csv => Ok(output::print(&table(&trends, true).csv())?),
        TableFormat::Table => Ok(output::print(&table(&trends, false).render())?),
    }
}

/// One row per day: DAU, WAU, MAU, DAU/MAU, then the previous range's day and numbers.
fn table(tr: &Trends, raw: bool) -> Table {
    let cols = ["dau", "wau", "mau", "dau/mau"];
    let mut header = vec!["day".to_string()];
    header.extend(cols.iter().map(|c| c.to_string()));
    if tr.previous.is_some() {
        header.push("prev_day".to_string());
        header.extend(cols.iter().map(|c| format!("prev_{c}")));
    }
    let mut t = Table::new(header, 1);
    let cells = |d: &TrendsDay| -> Vec<String> {
        let num = |n: u64| {
            if raw {
                n.to_string()
            } else {
                output::thousands(n)
            }
        };
        let ratio = match (d.dau_mau, raw) {
            (Some(r), true) => format!("{r:.4}"),
            (Some(r), false) => format!("{:.1}%", r * 100.0),
            (None, _) => String::new(),
        };
        vec![d.day.clone(), num(d.dau), num(d.wau), num(d.mau), ratio]
    };
    for (i, d) in tr.days.iter().enumerate() {
        let mut row = cells(d);
        if let Some(prev) = tr.previous.as_ref().and_then(|p| p.get(i)) {
            row.extend(cells(prev));
        }
        t.push(row);
    }
    t
}
