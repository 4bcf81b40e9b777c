//! `bitmapist events`: every event name with its counts today, this week and this month.
//! One key listing and one batched count (a single pipeline on Redis) for the whole table;
//! for a file store, also its footprint (JSON `storage`, a note on stderr for the table).

use anyhow::Result;
use bitmapist::{Period, TimeGroup};
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;

use crate::context::Ctx;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;

/// `bitmapist events`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events whose names start with this (e.g. `user:`).
    #[arg(value_name = "NAME_PREFIX")]
    pub name_prefix: Option<String>,

    /// The moment "today", "week" and "month" refer to [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Runs `events`.
pub async fn run(ctx: &Ctx, args: &EventsArgs) -> Result<()> {
    let bm = ctx.open_for_query().await?;
    let at = args.at.unwrap_or_else(Utc::now);
    let names = bm.event_names(args.name_prefix.as_deref()).await?;
    let periods = [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months]
        .into_iter()
        .map(|g| bm.period_containing(g, at))
        .collect::<Result<Vec<Period>, _>>()?;
    let counts = bm.count_events(&names, &periods).await?;
    let rows: Vec<(&String, &[u64])> = names.iter().zip(counts.iter().map(Vec::as_slice)).collect();
    let storage = bm.store().storage_stats().await?;
    match args.format {
        TableFormat::Json => output::json(&json!({
            "store": bm.store().describe(),
            "events": rows.iter()
                .map(|(name, c)| json!({"event": name, "today": c[0], "week": c[1], "month": c[2]}))
                .collect::<Vec<_>>(),
            "storage": storage,
        })),
        TableFormat::Table | TableFormat::Csv => {
            let mut t = Table::new(["event", "today", "week", "month"], 1);
            for (name, c) in &rows {
                t.push(vec![
                    (*name).clone(),
                    c[0].to_string(),
                    c[1].to_string(),
                    c[2].to_string(),
                ]);
            }
            if args.format == TableFormat::Csv {
                Ok(output::print(&t.csv())?)
            } else if names.is_empty() {
                output::note(&format!(
                    "no events under prefix {:?} in {}",
                    bm.layout().prefix(),
                    bm.store().describe()
                ));
                Ok(())
            } else {
                output::print(&t.render())?;
                if let Some(s) = &storage {
                    output::note(&format!(
                        "{}: {} on disk, {}",
                        bm.store().describe(),
                        super::compact::mb(s.file_bytes),
                        super::compact::footprint(s)
                    ));
                }
                Ok(())
            }
        }
    }
}
