//! `bitmapist count` and `ids`: the users of one event in one period (hour to year, or
//! the date-less unique key); a count, or the ids one per line.

use std::io::{BufWriter, Write};

use anyhow::Result;
use bitmapist::{Period, TimeGroup};
use chrono::Utc;
use serde_json::json;

use crate::cli::{Format, PeriodArgs, PeriodKind};
use crate::context::Ctx;
use crate::output;

/// The period the arguments name.
pub(super) fn period(ctx: &Ctx, args: &PeriodArgs) -> Result<Period> {
    let at = args.at.unwrap_or_else(Utc::now);
    let group = match args.period {
        PeriodKind::Unique => return Ok(Period::unique()),
        PeriodKind::Hour => TimeGroup::Hours,
        PeriodKind::Day => TimeGroup::Days,
        PeriodKind::Week => TimeGroup::Weeks,
        PeriodKind::Month => TimeGroup::Months,
        PeriodKind::Year => TimeGroup::Years,
    };
    Ok(ctx.config.timezone.period_containing(group, at)?)
}

/// The period's start for JSON (`null` for unique).
fn start(p: &Period) -> serde_json::Value {
    match p.start() {
        Some(s) if p.time_group() == Some(TimeGroup::Hours) => {
            json!(s.format("%Y-%m-%dT%H:%M:%S").to_string())
        }
        Some(s) => json!(s.format("%Y-%m-%d").to_string()),
        None => serde_json::Value::Null,
    }
}

/// Runs `count`.
pub async fn count(ctx: &Ctx, args: &PeriodArgs) -> Result<()> {
    let p = period(ctx, args)?;
    let bm = ctx.open_for_query().await?;
    let n = bm.events(&args.event, p).count().await?;
    match args.format {
        Format::Table => Ok(output::print(&n.to_string())?),
        Format::Json => output::json(&json!({
            "event": args.event,
            "period": p.label(),
            "start": start(&p),
            "count": n,
        })),
    }
}

/// Runs `ids`.
pub async fn ids(ctx: &Ctx, args: &PeriodArgs) -> Result<()> {
    let p = period(ctx, args)?;
    let bm = ctx.open_for_query().await?;
    let ids = bm.events(&args.event, p).ids().await?;
    match args.format {
        Format::Json => output::json(&json!(ids.collect::<Vec<u32>>())),
        Format::Table => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            for id in ids {
                writeln!(out, "{id}")?;
            }
            out.flush()?;
            Ok(())
        }
    }
}
