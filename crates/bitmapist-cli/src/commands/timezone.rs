//! `bitmapist timezone show|set`: the time zone recorded in the store for the prefix.
//! Changing it is deliberate: with events in the store, `set` needs `--force`.

use anyhow::Result;
use bitmapist::Zone;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Ctx;
use crate::output;
use crate::output::Format;

/// `bitmapist timezone`
#[derive(Debug, Args)]
pub struct TimezoneArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TimezoneAction,
}

/// `bitmapist timezone show` / `set`.
#[derive(Debug, Subcommand)]
pub enum TimezoneAction {
    /// Print the zone recorded in the store and the configured one.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Record ZONE as the store's zone. Existing keys are not rewritten: periods already
    /// marked stay bucketed on the old zone's wall clock. With events in the store under
    /// another zone, this needs --force.
    Set {
        /// An IANA zone (Europe/Berlin, America/New_York, UTC).
        #[arg(value_name = "ZONE", value_parser = crate::time::parse_zone)]
        zone: Zone,
        /// Change the zone of a store that has events under another zone.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `timezone`.
pub async fn run(ctx: &Ctx, args: &TimezoneArgs) -> Result<()> {
    // The raw store: opening a handle would check (and refuse) a zone that differs.
    let prefix = ctx.config.key_prefix.as_str();
    match &args.action {
        TimezoneAction::Show { format } => {
            // A read: never creates a store, and works on a file it may not write.
            let store = ctx.read_store(false).await?;
            let recorded = bitmapist::recorded_zone(store.as_ref(), prefix).await?;
            let configured = ctx.config.timezone;
            match format {
                Format::Json => output::json(&json!({
                    "prefix": prefix,
                    "recorded": recorded.map(|z| z.name()),
                    "configured": configured.name(),
                })),
                Format::Table => {
                    let recorded = recorded.map_or_else(
                        || "none (UTC if the store has events from an earlier version)".to_string(),
                        |z| z.to_string(),
                    );
                    Ok(output::print(&format!(
                        "recorded: {recorded}\nconfigured: {configured}\n"
                    ))?)
                }
            }
        }
        TimezoneAction::Set { zone, force } => {
            let store = bitmapist::open_store_url(&ctx.config.url).await?;
            let before =
                bitmapist::set_recorded_zone(store.as_ref(), prefix, *zone, *force).await?;
            store.flush().await?;
            let was = before.map_or_else(|| "none".to_string(), |z| z.to_string());
            Ok(output::print(&format!(
                "recorded {zone} for prefix {prefix} (was {was})\n"
            ))?)
        }
    }
}
