//! One module per subcommand, named after it: its arguments and the code that runs it.
//!
//! Why: a reader looking at `bitmapist funnel` finds everything about it, flags and work, in
//! `commands/funnel.rs`; `cli.rs` only lists the subcommands.
//!
//! How to add a subcommand `NAME`:
//! 1. `commands/NAME.rs`: a module doc saying what it prints; `pub struct NameArgs`
//!    (`#[derive(Debug, clap::Args)]`, one doc comment per flag: it is the `--help` text);
//!    `pub async fn run(ctx: &Ctx, args: &NameArgs) -> anyhow::Result<()>`.
//! 2. `pub mod NAME;` below.
//! 3. In `cli.rs`: a `Command` variant `Name(commands::NAME::NameArgs)` whose doc comment
//!    is the one-line summary, and its arm in `Command::run`.
//!
//! Conventions a subcommand follows:
//! - Values that name an engine type are parsed by `crate::values` (time groups,
//!   `--period`, `--retention`, `--average`), times by `crate::time::parse_time`; `--format`
//!   is `output::Format` (one value) or `output::TableFormat` (a table, also CSV).
//! - Data goes to stdout through `output` (tables, CSV, JSON); messages to stderr with
//!   `output::note`. A mistake clap cannot see is `exit::usage(..)` (exit 2), found before
//!   the store is opened.
//! - A command that only reads opens the store with `ctx.open_for_query()` (never creates
//!   a store, never writes a file); one that writes with `ctx.open()` and flushes.
//! - A module imports from `crate::{context, output, values, time, exit, progress}` and
//!   from sibling commands (`ids` uses `count::CountArgs`), never from the `cli` module: the
//!   command line depends on the commands, not the other way round.

pub mod backup;
pub mod check;
pub mod cohort;
pub mod compact;
pub mod count;
pub mod events;
pub mod funnel;
pub mod ids;
pub mod import;
pub mod lifecycle;
pub mod mark;
pub mod property;
pub mod prune;
pub mod resolve;
pub mod seed;
pub mod segment;
pub mod serve;
pub mod stickiness;
pub mod timezone;
pub mod trends;
