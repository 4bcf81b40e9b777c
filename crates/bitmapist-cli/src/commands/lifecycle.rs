//! `bitmapist lifecycle`: an event's users per period split into new, returning and
//! resurrecting ones, and how many of the previous period's users went dormant (the
//! engine's `LifecycleSpec` gives the exact definitions); table, CSV or JSON.

use anyhow::{Context, Result};
use bitmapist::{Lifecycle, LifecycleSpec, LifecycleStatus, TimeGroup};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;
use crate::values::{self, MAX_COHORT_SIDE};

/// The period sizes a lifecycle runs on.
const LIFECYCLE_GROUPS: [TimeGroup; 4] = [
    TimeGroup::Hours,
    TimeGroup::Days,
    TimeGroup::Weeks,
    TimeGroup::Months,
];

/// `bitmapist lifecycle`
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The event whose users are split.
    #[arg(value_name = "EVENT", value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// The period size.
    #[arg(long, value_parser = values::time_group(&LIFECYCLE_GROUPS),
          default_value_t = TimeGroup::Weeks)]
    pub time_group: TimeGroup,

    /// How many periods, the last one containing --now; at most 400.
    #[arg(long, default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub periods: u32,

    /// A creation event (user:created): its users in a period are that period's new users
    /// [default: the users whose first-ever EVENT is in the period].
    #[arg(long, value_name = "EVENT", value_parser = NonEmptyStringValueParser::new())]
    pub new_from: Option<String>,

    /// The moment the lifecycle is computed at [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Runs `lifecycle`.
pub async fn run(ctx: &Ctx, args: &LifecycleArgs) -> Result<()> {
    let spec = LifecycleSpec::new(args.event.clone())
        .time_group(args.time_group)
        .periods(args.periods as usize)
        .new_from(args.new_from.clone())
        .now(args.now.unwrap_or_else(Utc::now));
    // Bad input is a usage error, before the store is opened.
    spec.validate().map_err(|e| usage(e.to_string()))?;
    bitmapist::Zone::UTC
        .period_containing(spec.time_group, spec.now)
        .context("--now is outside the years 1..=9999")?;
    let bm = ctx.open_for_query().await?;
    let lifecycle = bm.lifecycle(&spec).await?;
    let mut events = vec![spec.event.as_str()];
    events.extend(spec.new_from.as_deref());
    output::warn_unmarked(&bm, &events).await?;
    match args.format {
        TableFormat::Json => output::json(&serde_json::to_value(&lifecycle)?),
        TableFormat::Csv => Ok(output::print(&table(&lifecycle, true).csv())?),
        TableFormat::Table => Ok(output::print(&table(&lifecycle, false).render())?),
    }
}

/// One row per period: its four counts and its active users.
fn table(l: &Lifecycle, raw: bool) -> Table {
    let mut header = vec!["period".to_string()];
    header.extend(LifecycleStatus::ALL.iter().map(|s| s.as_str().to_string()));
    header.push("active".to_string());
    let mut t = Table::new(header, 1);
    let num = |n: u64| {
        if raw {
            n.to_string()
        } else {
            output::thousands(n)
        }
    };
    for row in &l.rows {
        let label = if raw {
            row.start.clone()
        } else {
            row.period.clone()
        };
        let mut cells = vec![label];
        cells.extend(LifecycleStatus::ALL.iter().map(|&s| num(row.count(s))));
        cells.push(num(row.active()));
        t.push(cells);
    }
    t
}
