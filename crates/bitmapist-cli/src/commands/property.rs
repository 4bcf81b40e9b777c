//! `bitmapist property set|values`: a user property is unique events `prop:value` (see
//! "Segments" in the README); `set` moves users to one value and clears them from the
//! property's other values, `values` lists the values with their users.

use anyhow::Result;
use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Ctx;
use crate::output::{self, Table, TableFormat};

/// `bitmapist property`
#[derive(Debug, Args)]
pub struct PropertyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PropertyAction,
}

/// The `property` subcommands.
#[derive(Debug, Subcommand)]
pub enum PropertyAction {
    /// Set PROP to VALUE for users (clearing their other values of PROP).
    Set {
        /// The property (e.g. plan).
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        prop: String,
        /// The value (e.g. pro); no ':'.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        value: String,
        /// The users' ids.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<u32>,
    },
    /// List a property's values and how many users have each.
    Values {
        /// The property.
        #[arg(value_parser = NonEmptyStringValueParser::new())]
        prop: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

/// Runs `property`.
pub async fn run(ctx: &Ctx, args: &PropertyArgs) -> Result<()> {
    match &args.action {
        PropertyAction::Set { prop, value, ids } => {
            let bm = ctx.open().await?;
            let values: Vec<(u32, &str)> = ids.iter().map(|&id| (id, value.as_str())).collect();
            bm.set_properties(prop, &values).await?;
            bm.flush().await?;
            output::note(&format!("{prop} = {value} for {} users", ids.len()));
            Ok(())
        }
        PropertyAction::Values { prop, format } => {
            let bm = ctx.open_for_query().await?;
            let values = bm.property_values(prop).await?;
            let keys: Vec<String> = values
                .iter()
                .map(|v| {
                    bm.layout()
                        .key(&format!("{prop}:{v}"), &bitmapist::Period::unique())
                })
                .collect();
            let counts = bm.store().count(&keys).await?;
            match format {
                TableFormat::Json => output::json(&json!(
                    values
                        .iter()
                        .zip(&counts)
                        .map(|(v, n)| json!({"value": v, "users": n}))
                        .collect::<Vec<_>>()
                )),
                _ => {
                    let mut t = Table::new(["value", "users"], 1);
                    for (v, n) in values.iter().zip(&counts) {
                        t.push(vec![v.clone(), n.to_string()]);
                    }
                    if *format == TableFormat::Csv {
                        Ok(output::print(&t.csv())?)
                    } else {
                        Ok(output::print(&t.render())?)
                    }
                }
            }
        }
    }
}
