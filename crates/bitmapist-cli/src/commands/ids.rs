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
}

/// Runs `ids`.
pub async fn run(ctx: &Ctx, args: &IdsArgs) -> Result<()> {
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
