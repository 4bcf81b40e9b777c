//! `bitmapist mark` and `unmark`: set or clear an event's bits for one or more users.
//! Month, ISO week and day keys; the hour and unique keys on request or by configuration.

use anyhow::Result;
use bitmapist::MarkOptions;
use chrono::{DateTime, Utc};
use clap::Args;
use clap::builder::NonEmptyStringValueParser;

use crate::context::Ctx;
use crate::output;
use crate::time::parse_time;

/// `bitmapist mark` and `unmark`
#[derive(Debug, Args)]
pub struct MarkArgs {
    /// The event, e.g. user:logged_in.
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// One or more user ids (0..=4294967295).
    #[arg(required_unless_present = "external", value_name = "UID")]
    pub uids: Vec<u32>,

    /// External user ids (strings, UUIDs, 64-bit numbers; 1 to 512 bytes each) instead of
    /// UIDs, mapped to dense ids through the store's id map (new ones are assigned).
    #[arg(long, value_name = "ID", num_args = 1.., allow_negative_numbers = true,
          conflicts_with_all = ["uids", "unique_only"])]
    pub external: Vec<String>,

    /// When it happened [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Also the date-less unique key ({prefix}{event}_u).
    #[arg(long, conflicts_with = "unique_only")]
    pub unique: bool,

    /// Only the date-less unique key (a flag such as user:premium), no dated keys.
    #[arg(long, conflicts_with_all = ["hourly", "at"])]
    pub unique_only: bool,

    /// Also the hour key.
    #[arg(long)]
    pub hourly: bool,
}

/// Runs `mark` (`value` true) or `unmark` (false).
pub async fn run(ctx: &Ctx, args: &MarkArgs, value: bool) -> Result<()> {
    if !args.external.is_empty() {
        return external(ctx, args, value).await;
    }
    let bm = ctx.open().await?;
    let verb = if value { "marked" } else { "unmarked" };
    let users = match args.uids.len() {
        1 => format!("user {}", args.uids[0]),
        n => format!("{n} users"),
    };
    if args.unique_only {
        for &uid in &args.uids {
            if value {
                bm.mark_unique(&args.event, uid).await?;
            } else {
                bm.unmark_unique(&args.event, uid).await?;
            }
        }
        bm.flush().await?;
        output::note(&format!(
            "{verb} {} (unique key only) for {users}",
            output::escape_text(&args.event)
        ));
        return Ok(());
    }
    let at = args.at.unwrap_or_else(Utc::now);
    let opts = MarkOptions {
        hourly: args.hourly.then_some(true),
        unique: args.unique.then_some(true),
    };
    let marks = args.uids.iter().map(|&uid| (args.event.as_str(), uid, at));
    if value {
        bm.mark_events(marks, opts).await?;
    } else {
        bm.unmark_events(marks, opts).await?;
    }
    bm.flush().await?;
    let mut keys = vec!["month", "week", "day"];
    if opts.hourly.unwrap_or(bm.tracks_hourly()) {
        keys.push("hour");
    }
    if opts.unique.unwrap_or(bm.tracks_unique()) {
        keys.push("unique");
    }
    output::note(&format!(
        "{verb} {} for {users} at {} ({} keys)",
        output::escape_text(&args.event),
        at.format("%Y-%m-%dT%H:%M:%SZ"),
        keys.join(", ")
    ));
    Ok(())
}

/// `mark`/`unmark EVENT --external ID...`: one id-map call, one write. Unmarking an id
/// never assigned clears nothing and assigns nothing.
async fn external(ctx: &Ctx, args: &MarkArgs, value: bool) -> Result<()> {
    let bm = ctx.open().await?;
    let at = args.at.unwrap_or_else(Utc::now);
    let opts = MarkOptions {
        hourly: args.hourly.then_some(true),
        unique: args.unique.then_some(true),
    };
    let marks = args
        .external
        .iter()
        .map(|e| (args.event.as_str(), e.as_str(), at));
    let n = if value {
        bm.mark_events_external(marks, opts).await?
    } else {
        bm.unmark_events_external(marks, opts).await?
    };
    bm.flush().await?;
    let verb = if value { "marked" } else { "unmarked" };
    output::note(&format!(
        "{verb} {} for {n} external id(s) at {}",
        output::escape_text(&args.event),
        at.format("%Y-%m-%dT%H:%M:%SZ")
    ));
    Ok(())
}
