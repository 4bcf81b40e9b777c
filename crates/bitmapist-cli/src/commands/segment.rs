//! `bitmapist segment list|show|save|define|delete`: named sets of users (see "Segments" in
//! the README), and [`FilterArgs`], the `--segment`/`--breakdown` flags every analysis
//! takes, with the printing of a result broken down by property value or segment.

use std::io::Read;

use anyhow::{Context, Result};
use bitmapist::{
    Breakdown, BrokenDown, Period, SegmentDef, SegmentInfo, SegmentSource, UserSet, UsersPage,
};
use chrono::{DateTime, Utc};
use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::Ctx;
use crate::exit::usage;
use crate::output::{self, Table, TableFormat};
use crate::time::parse_time;
use crate::values::{self, PeriodKind};

/// `--segment NAME` (repeatable) and `--breakdown`, on every analysis.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only users in this segment: a saved or defined segment, or a property value
    /// `prop:value` (repeatable: users in all of them).
    #[arg(long = "segment", value_name = "NAME", action = clap::ArgAction::Append,
          value_parser = NonEmptyStringValueParser::new())]
    pub segments: Vec<String>,

    /// One result per value of a property (`plan`) or per segment (`trial,churned`; one
    /// segment: `trial,`), then the users in none.
    #[arg(long, value_name = "PROPERTY|SEG1,SEG2", value_parser = parse_breakdown)]
    pub breakdown: Option<Breakdown>,
}

fn parse_breakdown(s: &str) -> Result<Breakdown, String> {
    s.parse().map_err(|e: bitmapist::Error| e.to_string())
}

/// The label of a breakdown value: the value, or `(none)`.
pub fn value_label(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_string(), str::to_string)
}

/// Prints a broken-down result: JSON `{"breakdown", "values": [{"value", "result"}]}` (each
/// result as `to_json` makes it), CSV with a leading `value` column, or one table per value
/// under a heading.
pub fn print_by<T>(
    by: &BrokenDown<T>,
    format: TableFormat,
    to_json: impl Fn(&T) -> serde_json::Value,
    to_table: impl Fn(&T) -> Table,
) -> Result<()> {
    match format {
        TableFormat::Json => output::json(&json!({
            "breakdown": by.breakdown,
            "values": by.values.iter()
                .map(|v| json!({"value": v.value, "result": to_json(&v.result)}))
                .collect::<Vec<_>>(),
        })),
        TableFormat::Csv => {
            let mut all = Table::default();
            for v in &by.values {
                let t = to_table(&v.result);
                if all.header.is_empty() {
                    all.header = std::iter::once(by.breakdown.clone())
                        .chain(t.header.iter().cloned())
                        .collect();
                }
                for row in t.rows {
                    let mut r = vec![value_label(v.value.as_deref())];
                    r.extend(row);
                    all.push(r);
                }
            }
            Ok(output::print(&all.csv())?)
        }
        TableFormat::Table => {
            let mut out = String::new();
            for v in &by.values {
                out.push_str(&format!(
                    "{} = {}\n",
                    by.breakdown.trim_end_matches(','),
                    value_label(v.value.as_deref())
                ));
                out.push_str(&to_table(&v.result).render());
                out.push('\n');
            }
            Ok(output::print(out.trim_end())?)
        }
    }
}

/// `bitmapist segment`
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SegmentAction,
}

/// The `segment` subcommands.
#[derive(Debug, Subcommand)]
pub enum SegmentAction {
    /// List saved and defined segments.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// A segment's description, definition and users (a page of ids, by id).
    Show(ShowArgs),
    /// Save a set of users under a name: ids or external ids from a file (or `-` for
    /// stdin, one per line), or the users of an event in a period.
    Save(SaveArgs),
    /// Define a segment evaluated when used, from its JSON definition, e.g.
    /// '{"did": {"event": "active", "time_group": "days", "periods": 7}}'.
    Define(DefineArgs),
    /// Delete a saved or defined segment.
    Delete {
        /// The segment.
        name: String,
    },
}

/// `bitmapist segment show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The segment (or a property value `prop:value`).
    pub name: String,
    /// The moment a definition is evaluated at [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub page: PageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// Paging and external ids, for `ids` and `segment show`.
#[derive(Debug, Args, Clone)]
pub struct PageArgs {
    /// List only ids greater than this (the `next_after` of the page before).
    #[arg(long, value_name = "ID")]
    pub after: Option<u32>,
    /// At most this many ids.
    #[arg(long, default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=bitmapist::MAX_PAGE as i64))]
    pub limit: u32,
    /// Show each user's external id (from the id map) beside its dense id.
    #[arg(long)]
    pub external: bool,
}

/// `bitmapist segment save`
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The name: 1 to 100 of A-Z a-z 0-9 _ . -
    pub name: String,
    /// What the segment is.
    #[arg(long, default_value = "")]
    pub description: String,
    /// A file of dense ids, one per line (`-`: stdin).
    #[arg(long, value_name = "FILE", group = "source")]
    pub ids_file: Option<String>,
    /// A file of external ids, one per line (`-`: stdin).
    #[arg(long, value_name = "FILE", group = "source")]
    pub external_file: Option<String>,
    /// The users of this event (in --period containing --at).
    #[arg(long, value_name = "EVENT", group = "source")]
    pub event: Option<String>,
    /// With --event: which period.
    #[arg(long, value_parser = values::period_kind(), default_value = "day")]
    pub period: PeriodKind,
    /// With --event: a moment in the period [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
}

/// `bitmapist segment define`
#[derive(Debug, Args)]
pub struct DefineArgs {
    /// The name: 1 to 100 of A-Z a-z 0-9 _ . -
    pub name: String,
    /// The definition, as JSON (see "Segments" in the README).
    pub definition: String,
    /// What the segment is.
    #[arg(long, default_value = "")]
    pub description: String,
}

/// Runs `segment`.
pub async fn run(ctx: &Ctx, args: &SegmentArgs) -> Result<()> {
    match &args.action {
        SegmentAction::List { format } => list(ctx, *format).await,
        SegmentAction::Show(a) => show(ctx, a).await,
        SegmentAction::Save(a) => save(ctx, a).await,
        SegmentAction::Define(a) => {
            let def: SegmentDef = a
                .definition
                .parse()
                .map_err(|e: bitmapist::Error| usage(e.to_string()))?;
            let bm = ctx.open().await?;
            bm.define_segment(&a.name, def, &a.description).await?;
            bm.flush().await?;
            output::note(&format!("defined segment {:?}", a.name));
            Ok(())
        }
        SegmentAction::Delete { name } => {
            let bm = ctx.open().await?;
            if bm.delete_segment(name).await? {
                bm.flush().await?;
                output::note(&format!("deleted segment {name:?}"));
                Ok(())
            } else {
                Err(usage(format!("no segment {name:?}")))
            }
        }
    }
}

fn kind(s: &SegmentInfo) -> (&'static str, String) {
    match &s.source {
        SegmentSource::Snapshot => ("snapshot", String::new()),
        SegmentSource::Definition(d) => ("definition", d.to_string()),
    }
}

async fn list(ctx: &Ctx, format: TableFormat) -> Result<()> {
    let bm = ctx.open_for_query().await?;
    let all = bm.segments().await?;
    if format == TableFormat::Json {
        return output::json(&serde_json::to_value(&all)?);
    }
    let mut t = Table::new(["name", "kind", "description", "definition"], 4);
    for s in &all {
        let (k, d) = kind(s);
        t.push(vec![
            s.name.clone(),
            k.to_string(),
            s.description.clone(),
            d,
        ]);
    }
    if format == TableFormat::Csv {
        Ok(output::print(&t.csv())?)
    } else if all.is_empty() {
        output::note("no segments");
        Ok(())
    } else {
        Ok(output::print(&t.render())?)
    }
}

/// Prints a page of users: one id per line (with `--external`, `id<TAB>external`), JSON
/// (`{"total", "ids", "external", "next_after"}`) or CSV (`id,external`); the total and
/// the next page's `--after` go to stderr for the table.
pub async fn print_page(
    bm: &bitmapist::Bitmapist,
    set: &UserSet,
    page: &PageArgs,
    format: TableFormat,
) -> Result<()> {
    let mut p: UsersPage = bm.users_page(set, page.after, page.limit as usize).await?;
    if page.external && p.external.is_none() {
        p.external = Some(bm.resolve_ids(&p.ids).await?);
    }
    if !page.external {
        p.external = None;
    }
    match format {
        TableFormat::Json => output::json(&serde_json::to_value(&p)?),
        TableFormat::Csv | TableFormat::Table => {
            let mut out = String::new();
            if format == TableFormat::Csv {
                out.push_str(if page.external {
                    "id,external\n"
                } else {
                    "id\n"
                });
            }
            for (i, id) in p.ids.iter().enumerate() {
                out.push_str(&id.to_string());
                if let Some(ext) = &p.external {
                    let e = ext[i].as_deref().unwrap_or("");
                    let e = if format == TableFormat::Csv {
                        output::csv_field(e)
                    } else {
                        output::escape_text(e)
                    };
                    out.push(if format == TableFormat::Csv {
                        ','
                    } else {
                        '\t'
                    });
                    out.push_str(&e);
                }
                out.push('\n');
            }
            output::print(out.trim_end())?;
            if format == TableFormat::Table {
                let more = p
                    .next_after
                    .map_or_else(String::new, |a| format!("; next page: --after {a}"));
                output::note(&format!("{} users{more}", p.total));
            }
            Ok(())
        }
    }
}

async fn show(ctx: &Ctx, a: &ShowArgs) -> Result<()> {
    let bm = ctx.open_for_query().await?;
    let info = bm.segment(&a.name).await?;
    if info.is_none() && !a.name.contains(':') {
        return Err(usage(format!("no segment {:?}", a.name)));
    }
    if let Some(s) = &info
        && a.format == TableFormat::Table
    {
        let (k, d) = kind(s);
        output::note(&format!("{} ({k}): {} {d}", s.name, s.description));
    }
    let users = bm
        .segment_users(&a.name, a.now.unwrap_or_else(Utc::now))
        .await?;
    let set = UserSet::Ids(users.iter().collect());
    print_page(&bm, &set, &a.page, a.format).await
}

fn read_lines(path: &str) -> Result<Vec<String>> {
    let mut text = String::new();
    if path == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

async fn save(ctx: &Ctx, a: &SaveArgs) -> Result<()> {
    let set = if let Some(f) = &a.ids_file {
        let mut ids = Vec::new();
        for (i, line) in read_lines(f)?.iter().enumerate() {
            ids.push(line.parse::<u32>().map_err(|_| {
                usage(format!(
                    "{f}: line {}: {line:?} is not a user id (0..=4294967295)",
                    i + 1
                ))
            })?);
        }
        UserSet::Ids(ids)
    } else if let Some(f) = &a.external_file {
        UserSet::External(read_lines(f)?)
    } else if let Some(event) = &a.event {
        let period = match a.period {
            PeriodKind::Unique => Period::unique(),
            PeriodKind::Dated(g) => ctx
                .config
                .timezone
                .period_containing(g, a.at.unwrap_or_else(Utc::now))?,
        };
        UserSet::Event {
            event: event.clone(),
            period,
        }
    } else {
        return Err(usage(
            "say which users: --ids-file FILE, --external-file FILE or --event EVENT",
        ));
    };
    let bm = ctx.open().await?;
    let n = bm.save_segment(&a.name, &set, &a.description).await?;
    bm.flush().await?;
    output::note(&format!("saved {n} users as segment {:?}", a.name));
    Ok(())
}
