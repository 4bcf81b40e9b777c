//! `bitmapist cohort`: a retention table from the engine's `retention` (any mode).
//! `--and`/`--or` chain in the order given; output as an aligned table, CSV or JSON.

use anyhow::{Context, Result};
use bitmapist::{
    Average, ChainedEvent, Cohort, CohortSpec, Criterion, Retention, RetentionSpec, TimeGroup,
};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde_json::json;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;
use crate::values::{self, MAX_COHORT_SIDE};

/// `bitmapist cohort`
#[derive(Debug, Args)]
pub struct CohortArgs {
    /// The event that defines each row's users (e.g. user:signed_up).
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub primary: String,

    /// The event counted in each cell (e.g. user:logged_in).
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub secondary: String,

    /// Chain `and EVENT` (repeatable; --and/--or apply in the order given).
    #[arg(long, value_name = "EVENT", action = clap::ArgAction::Append,
          value_parser = NonEmptyStringValueParser::new())]
    pub and: Vec<String>,

    /// Chain `or EVENT`: ORed with the event just before it (repeatable).
    #[arg(long, value_name = "EVENT", action = clap::ArgAction::Append,
          value_parser = NonEmptyStringValueParser::new())]
    pub or: Vec<String>,

    /// The period size.
    #[arg(long, value_parser = values::time_group(&TimeGroup::ALL),
          default_value_t = TimeGroup::Days)]
    pub time_group: TimeGroup,

    /// How many periods back (rows), at most 400 as on the dashboard.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub rows: u32,

    /// How many periods forward from each row (columns), at most 400 as on the dashboard.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub cols: u32,

    /// The moment the table is drawn at: its last row is the period containing it
    /// [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Count a user again in later cells (default: once, in the first period they return);
    /// the same as `--retention on`.
    #[arg(long)]
    pub with_replacement: bool,

    /// When a returning user counts: `first-return` (once, in the first period they
    /// return), `on` (in every period they return), `on-or-after` (in a period if they
    /// returned then or later, up to now) [default: first-return].
    #[arg(long, value_name = "CRITERION", value_parser = values::criterion())]
    pub retention: Option<Criterion>,

    /// Rows are first-time cohorts: users whose first-ever primary event (in the event's
    /// whole stored history) falls in the row's period.
    #[arg(long)]
    pub first_time: bool,

    /// How column averages are taken: `simple` (mean of the row fractions) or `weighted`
    /// (column users over cohort users).
    #[arg(long, value_parser = values::average(), default_value_t = Average::Simple)]
    pub average: Average,

    /// Leave the current, incomplete period out of the averages.
    #[arg(long)]
    pub complete_only: bool,

    /// Show cells as a percentage of the row's users (JSON: adds "fractions").
    #[arg(long)]
    pub percent: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// The chained events in command-line order (clap keeps `--and` and `--or` apart; their
/// positions on the command line put them back in order).
fn chain(ctx: &Ctx, args: &CohortArgs) -> Vec<ChainedEvent> {
    let sub = ctx.matches.subcommand_matches("cohort");
    let positions = |id: &str| -> Vec<usize> {
        sub.and_then(|m| m.indices_of(id))
            .map(Iterator::collect)
            .unwrap_or_default()
    };
    let (and_at, or_at) = (positions("and"), positions("or"));
    let mut all: Vec<(usize, ChainedEvent)> = Vec::new();
    for (k, name) in args.and.iter().enumerate() {
        let at = and_at.get(k).copied().unwrap_or(usize::MAX);
        all.push((at, ChainedEvent::and(name.clone())));
    }
    for (k, name) in args.or.iter().enumerate() {
        let at = or_at.get(k).copied().unwrap_or(usize::MAX);
        all.push((at, ChainedEvent::or(name.clone())));
    }
    all.sort_by_key(|(at, _)| *at); // stable: a missing position keeps the given order
    all.into_iter().map(|(_, c)| c).collect()
}

/// Runs `cohort`.
pub async fn run(ctx: &Ctx, args: &CohortArgs) -> Result<()> {
    let spec = CohortSpec::new(args.primary.clone(), args.secondary.clone())
        .additional(chain(ctx, args))
        .time_group(args.time_group)
        .rows(args.rows as usize)
        .cols(args.cols as usize)
        .with_replacement(args.with_replacement)
        .now(args.now.unwrap_or_else(Utc::now));
    // Rows reaching outside the supported years: a usage error, before the store is opened.
    spec.periods()
        .context("--now and --rows ask for periods outside the years 1..=9999")?;
    let criterion = match (args.retention, args.with_replacement) {
        (None, false) => Criterion::FirstReturn,
        (None, true) => Criterion::On,
        (Some(r), false) => r,
        (Some(Criterion::On), true) => Criterion::On,
        (Some(r), true) => {
            return Err(usage(format!(
                "--with-replacement means --retention on, not --retention {r}"
            )));
        }
    };
    let spec = RetentionSpec::new(spec)
        .criterion(criterion)
        .first_time(args.first_time)
        .average(args.average)
        .complete_only(args.complete_only);
    let bm = ctx.open_for_query().await?;
    let retention = bm.retention(&spec).await?;
    let cohort_spec = &spec.cohort;
    let events: Vec<&str> = [cohort_spec.primary.as_str(), cohort_spec.secondary.as_str()]
        .into_iter()
        .chain(cohort_spec.additional.iter().map(|c| c.name.as_str()))
        .collect();
    output::warn_unmarked(&bm, &events).await?;
    let cohort = &retention.table;
    match args.format {
        TableFormat::Json => output::json(&to_json_retention(&retention, args.percent)),
        TableFormat::Csv => Ok(output::print(&table(cohort, args.percent, true).csv())?),
        TableFormat::Table => Ok(output::print(&table(cohort, args.percent, false).render())?),
    }
}

/// The JSON document: the listed keys, plus labels, and fractions with `--percent`.
pub fn to_json(c: &Cohort, percent: bool) -> serde_json::Value {
    let mut v = json!({
        "time_group": c.time_group,
        "cohort": c.cohort,
        "dates": c.dates,
        "labels": c.labels,
        "totals": c.totals,
        "averages": c.averages,
        "col_totals": c.col_totals,
        "total": c.total,
    });
    if percent && let Some(obj) = v.as_object_mut() {
        obj.insert("fractions".into(), json!(c.fractions));
        obj.insert("average_fractions".into(), json!(c.average_fractions));
    }
    v
}

/// [`to_json`] of the table, plus the mode: `retention`, `first_time`, `average`,
/// `complete_only`.
pub fn to_json_retention(r: &Retention, percent: bool) -> serde_json::Value {
    let mut v = to_json(&r.table, percent);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("retention".into(), json!(r.criterion));
        obj.insert(
            "first_time".into(),
            json!(r.kind == bitmapist::CohortKind::FirstTime),
        );
        obj.insert("average".into(), json!(r.average));
        obj.insert("complete_only".into(), json!(r.complete_only));
    }
    v
}

/// Rows of the table, then averages and column totals. Future cells are blank. In CSV
/// (`raw`) numbers carry no `%` and no rounding beyond 2 decimals.
fn table(c: &Cohort, percent: bool, raw: bool) -> Table {
    let cols = c.col_totals.len();
    let mut header = vec![c.time_group.unit().to_string(), "users".to_string()];
    header.extend((0..cols).map(|j| format!("+{j}")));
    let mut t = Table::new(header, 1);
    let pct = |f: f64| {
        if raw {
            format!("{:.2}", f * 100.0)
        } else {
            format!("{:.1}%", f * 100.0)
        }
    };
    for (i, label) in c.labels.iter().enumerate() {
        let mut row = vec![label.clone(), c.totals[i].to_string()];
        for j in 0..cols {
            row.push(if percent {
                c.fractions[i][j].map(pct).unwrap_or_default()
            } else {
                c.cohort[i][j].map(|n| n.to_string()).unwrap_or_default()
            });
        }
        t.push(row);
    }
    let mut averages = vec!["average".to_string(), String::new()];
    for j in 0..cols {
        averages.push(if percent {
            c.average_fractions[j].map(pct).unwrap_or_default()
        } else {
            c.averages[j].map(|a| format!("{a:.2}")).unwrap_or_default()
        });
    }
    t.push(averages);
    let mut totals = vec!["total".to_string(), c.total.to_string()];
    totals.extend(c.col_totals.iter().map(u64::to_string));
    t.push(totals);
    t
}
