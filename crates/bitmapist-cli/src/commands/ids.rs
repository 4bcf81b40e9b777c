//! `bitmapist ids`: the users of one event in one period, one per line: their dense ids,
//! or with `--external` their external ids from the store's id map (see "External user
//! ids" in the README).

use std::io::{BufWriter, Write};

use anyhow::Result;
use clap::Args;
use serde_json::json;

use crate::commands::count::{self, CountArgs};
use crate::context::Ctx;
use crate::output::{self, Format};

/// `bitmapist ids`
#[derive(Debug, Args)]
pub struct IdsArgs {
    /// The event and period.
    #[command(flatten)]
    pub period: CountArgs,
    /// Print each user's external id (from the id map) instead of its dense id; a user the
    /// map never handed out prints as `#N`.
    #[arg(long)]
    pub external: bool,
    /// List only ids greater than this (the `next_after` of the page before); with
    /// --after, --limit or --segment the output is one page (JSON: `{"total", "ids",
    /// "external", "next_after"}`).
    #[arg(long, value_name = "ID")]
    pub after: Option<u32>,
    /// At most this many ids (a page).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=bitmapist::MAX_PAGE as i64))]
    pub limit: Option<u32>,
}

/// Runs `ids`.
pub async fn run(ctx: &Ctx, args: &IdsArgs) -> Result<()> {
    if args.period.filter.breakdown.is_some() {
        return Err(crate::exit::usage(
            "ids lists one set of users: use --segment (a breakdown value is a segment: --segment plan:pro)",
        ));
    }
    if args.after.is_some() || args.limit.is_some() || !args.period.filter.segments.is_empty() {
        let p = count::period(ctx, &args.period)?;
        let bm = ctx.open_for_query().await?;
        let set = bitmapist::UserSet::Event {
            event: args.period.event.clone(),
            period: p,
        };
        let set = if args.period.filter.segments.is_empty() {
            set
        } else {
            bitmapist::UserSet::Within {
                set: Box::new(set),
                segments: args.period.filter.segments.clone(),
                now: args.period.at.unwrap_or_else(chrono::Utc::now),
            }
        };
        let page = crate::commands::segment::PageArgs {
            after: args.after,
            limit: args.limit.unwrap_or(bitmapist::MAX_PAGE as u32),
            external: args.external,
        };
        let format = match args.period.format {
            Format::Json => output::TableFormat::Json,
            Format::Table => output::TableFormat::Table,
        };
        return crate::commands::segment::print_page(&bm, &set, &page, format).await;
    }
    if args.external {
        return external(ctx, &args.period).await;
    }
    let args = &args.period;
    let p = count::period(ctx, args)?;
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

/// `ids EVENT --external`: the users' external ids, one per line (`#N` for a user the map
/// never handed out), control characters escaped as in tables so that one line is one id;
/// or a JSON array of the exact strings (`null` for those).
async fn external(ctx: &Ctx, args: &CountArgs) -> Result<()> {
    let p = count::period(ctx, args)?;
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
