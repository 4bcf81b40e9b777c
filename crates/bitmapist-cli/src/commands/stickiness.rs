//! `bitmapist stickiness`: users of an event by the number of days of a week or month they
//! were active on, from the engine's `stickiness`; output as a table or JSON.

use anyhow::Result;
use bitmapist::{Stickiness, TimeGroup};
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Ctx;
use crate::output::Format;
use crate::output::{self, Table};
use crate::time::parse_time;
use crate::values;

/// `bitmapist stickiness`
#[derive(Debug, Args)]
pub struct StickinessArgs {
    /// The event.
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// The period: the ISO week or the month containing --at.
    #[arg(long, value_parser = values::time_group(&[TimeGroup::Weeks, TimeGroup::Months]),
          default_value_t = TimeGroup::Weeks)]
    pub time_group: TimeGroup,

    /// A moment in the period; days after it are not counted [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Output format: a table, or JSON `{"event", "period", "start", "days": [n_1, ...]}`.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `stickiness`.
pub async fn run(ctx: &Ctx, args: &StickinessArgs) -> Result<()> {
    let bm = ctx.open_for_query().await?;
    let s = bm
        .stickiness(
            &args.event,
            args.time_group,
            args.at.unwrap_or_else(Utc::now),
        )
        .await?;
    match args.format {
        Format::Json => output::json(&serde_json::to_value(&s)?),
        Format::Table => Ok(output::print(&table(&s).render())?),
    }
}

/// One row per number of active days, with the share of the period's users.
fn table(s: &Stickiness) -> Table {
    let mut t = Table::new(["days active", "users", "share"], 1);
    let users = s.users();
    for (k, n) in s.days.iter().enumerate() {
        let share = if users > 0 {
            format!("{:.1}%", *n as f64 * 100.0 / users as f64)
        } else {
            String::new()
        };
        t.push(vec![(k + 1).to_string(), output::thousands(*n), share]);
    }
    t.push(vec![
        format!("total ({} from {})", s.period, s.start),
        output::thousands(users),
        String::new(),
    ]);
    t
}
