//! The external-id commands: `mark`/`unmark --external ID...`, `ids --external` and
//! `resolve N...`, all through the store's id map (see "External user ids" in the README).

use std::io::{BufWriter, Write};

use anyhow::Result;
use bitmapist::MarkOptions;
use chrono::Utc;
use serde_json::json;

use crate::cli::{Format, MarkArgs, PeriodArgs, ResolveArgs};
use crate::context::Ctx;
use crate::output;

/// `mark`/`unmark EVENT --external ID...`: one id-map call, one write. Unmarking an id
/// never assigned clears nothing and assigns nothing.
pub async fn mark(ctx: &Ctx, args: &MarkArgs, value: bool) -> Result<()> {
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

/// `ids EVENT --external`: the users' external ids, one per line (`#N` for a user the map
/// never handed out), control characters escaped as in tables so that one line is one id;
/// or a JSON array of the exact strings (`null` for those).
pub async fn ids(ctx: &Ctx, args: &PeriodArgs) -> Result<()> {
    let p = super::count::period(ctx, args)?;
    let bm = ctx.open_for_query().await?;
    let users = bm.events(&args.event, p).external_ids().await?;
    match args.format {
        Format::Json => output::json(&json!(
            users
                .into_iter()
                .map(|(_, e)| e)
                .collect::<Vec<Option<String>>>()
        )),
        Format::Table => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            for (d, e) in users {
                match e {
                    Some(e) => writeln!(out, "{}", output::escape_text(&e))?,
                    None => writeln!(out, "#{d}")?,
                }
            }
            out.flush()?;
            Ok(())
        }
    }
}

/// `resolve N...`: `N<TAB>EXTERNAL` per id (control characters escaped, as in tables), or
/// a JSON object of the exact strings.
pub async fn resolve(ctx: &Ctx, args: &ResolveArgs) -> Result<()> {
    let bm = ctx.open_for_query().await?;
    let external = bm.resolve_ids(&args.ids).await?;
    match args.format {
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = args
                .ids
                .iter()
                .zip(external)
                .map(|(d, e)| (d.to_string(), json!(e)))
                .collect();
            output::json(&serde_json::Value::Object(map))
        }
        Format::Table => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            for (d, e) in args.ids.iter().zip(external) {
                writeln!(out, "{d}\t{}", output::escape_text(&e.unwrap_or_default()))?;
            }
            out.flush()?;
            Ok(())
        }
    }
}
