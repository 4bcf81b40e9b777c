//! `bitmapist funnel`: of the users who did step 1 in each period, how many did the later
//! steps within a window, as the engine's lenient or strict bound; table, CSV or JSON.

use anyhow::{Context, Result};
use bitmapist::{Funnel, FunnelSpec, TimeGroup};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;
use crate::values::{self, MAX_COHORT_SIDE};

/// The period sizes a funnel runs on.
const FUNNEL_GROUPS: [TimeGroup; 3] = [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months];

/// `bitmapist funnel`
#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// The steps, in order (at least two events).
    #[arg(required = true, value_name = "EVENT",
          value_parser = NonEmptyStringValueParser::new())]
    pub steps: Vec<String>,

    /// The period size.
    #[arg(long, value_parser = values::time_group(&FUNNEL_GROUPS),
          default_value_t = TimeGroup::Days)]
    pub time_group: TimeGroup,

    /// How many entry periods (rows), the last one containing --now; at most 400.
    #[arg(long, default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub rows: u32,

    /// Periods a user has to complete the funnel, the entry period included; at most 400.
    #[arg(long, default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub window: u32,

    /// The strict bound: each step in a later period than the one before (default: the
    /// lenient bound, the same period or later).
    #[arg(long)]
    pub strict: bool,

    /// The moment the funnel is computed at [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Runs `funnel`.
pub async fn run(ctx: &Ctx, args: &FunnelArgs) -> Result<()> {
    let spec = FunnelSpec::new(args.steps.iter().cloned())
        .time_group(args.time_group)
        .rows(args.rows as usize)
        .window(args.window as usize)
        .strict(args.strict)
        .now(args.now.unwrap_or_else(Utc::now));
    // Bad input is a usage error, before the store is opened.
    spec.validate().map_err(|e| usage(e.to_string()))?;
    spec.periods()
        .context("--now and --rows ask for periods outside the years 1..=9999")?;
    let bm = ctx.open_for_query().await?;
    let funnel = bm.funnel(&spec).await?;
    let steps: Vec<&str> = spec.steps.iter().map(String::as_str).collect();
    output::warn_unmarked(&bm, &steps).await?;
    match args.format {
        TableFormat::Json => output::json(&serde_json::to_value(&funnel)?),
        TableFormat::Csv => Ok(output::print(&table(&funnel, true).csv())?),
        TableFormat::Table => Ok(output::print(&table(&funnel, false).render())?),
    }
}

/// One row per entry period (its step counts), then the totals and the conversion.
fn table(f: &Funnel, raw: bool) -> Table {
    let mut header = vec!["period".to_string()];
    header.extend(f.steps.iter().cloned());
    let mut t = Table::new(header, 1);
    let num = |n: u64| {
        if raw {
            n.to_string()
        } else {
            output::thousands(n)
        }
    };
    for row in &f.rows {
        let label = if raw {
            row.start.clone()
        } else {
            row.period.clone()
        };
        let mut cells = vec![label];
        cells.extend(row.counts.iter().map(|&n| num(n)));
        t.push(cells);
    }
    let mut totals = vec!["total".to_string()];
    totals.extend(f.totals.iter().map(|&n| num(n)));
    t.push(totals);
    let mut conversion = vec!["conversion".to_string()];
    conversion.extend(f.conversion.iter().map(|c| match (c, raw) {
        (Some(c), true) => format!("{c:.4}"),
        (Some(c), false) => format!("{:.1}%", c * 100.0),
        (None, _) => String::new(),
    }));
    t.push(conversion);
    t
}
