//! `bitmapist resolve N...`: the external ids of dense user ids, from the store's id map
//! (see "External user ids" in the README).

use std::io::{BufWriter, Write};

use anyhow::Result;
use clap::Args;
use serde_json::json;

use crate::context::Ctx;
use crate::output::{self, Format};

/// `bitmapist resolve`
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Dense user ids.
    #[arg(required = true, value_name = "N")]
    pub ids: Vec<u32>,
    /// Output: `N<TAB>EXTERNAL` lines (nothing after the tab for an id never handed
    /// out), or a JSON object {"N": "external" | null}.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `resolve N...`: `N<TAB>EXTERNAL` per id (control characters escaped, as in tables), or
/// a JSON object of the exact strings.
pub async fn run(ctx: &Ctx, args: &ResolveArgs) -> Result<()> {
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
