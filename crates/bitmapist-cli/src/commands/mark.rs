//! `bitmapist mark` and `unmark`: set or clear an event's bits for one or more users.
//! Month, ISO week and day keys; the hour and unique keys on request or by configuration.

use anyhow::Result;
use bitmapist::MarkOptions;
use chrono::Utc;

use crate::cli::MarkArgs;
use crate::context::Ctx;
use crate::output;

/// Runs `mark` (`value` true) or `unmark` (false).
pub async fn run(ctx: &Ctx, args: &MarkArgs, value: bool) -> Result<()> {
    if !args.external.is_empty() {
        return super::external::mark(ctx, args, value).await;
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
