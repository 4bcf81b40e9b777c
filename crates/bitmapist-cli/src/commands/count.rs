//! `bitmapist count`: the number of users of one event in one period (hour to year, or the
//! date-less unique key). Its [`CountArgs`] also name what `ids` lists.

use anyhow::Result;
use bitmapist::{Period, TimeGroup};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;
use serde_json::json;

use crate::context::Ctx;
use crate::output;
use crate::output::Format;
use crate::time::parse_time;
use crate::values::{self, PeriodKind};

/// `bitmapist count`, and the event and period `ids` lists
#[derive(Debug, Args)]
pub struct CountArgs {
    /// The event.
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// Which period.
    #[arg(long, value_parser = values::period_kind(), default_value = "day")]
    pub period: PeriodKind,

    /// A moment in the period [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The period the arguments name.
pub fn period(ctx: &Ctx, args: &CountArgs) -> Result<Period> {
    let at = args.at.unwrap_or_else(Utc::now);
    match args.period {
        PeriodKind::Unique => Ok(Period::unique()),
        PeriodKind::Dated(group) => Ok(ctx.config.timezone.period_containing(group, at)?),
    }
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
pub async fn run(ctx: &Ctx, args: &CountArgs) -> Result<()> {
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
