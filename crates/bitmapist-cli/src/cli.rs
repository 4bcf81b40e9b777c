//! The command line's shape: global options, subcommands and their arguments (clap derive).
//! Parsing and validation of single values only; `commands/` does the work.

use bitmapist::TimeGroup;
/// The most rows and columns of a cohort table or funnel: the engine's cap, which is the
/// dashboard's (larger tables take gigabytes of memory and output).
pub const MAX_COHORT_SIDE: i64 = bitmapist::MAX_COHORT_SIZE as i64;
use bitmapist::seed::{MAX_DAYS, MAX_USERS};
use chrono::{DateTime, Utc};
use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::time::parse_time;

/// Bitmap-based user analytics from the command line: seed, mark, count, cohorts, import.
#[derive(Debug, Parser)]
#[command(
    name = "bitmapist",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (before or after the subcommand).
#[derive(Debug, Args)]
pub struct Global {
    /// Store URL: memory://, file://PATH, redis://[:password@]host[:port][/db], rediss://...,
    /// redis+cluster://[:password@]h1:p1[,h2:p2...], rediss+cluster://...
    /// [default: $BITMAPIST_URL, else $BITMAPIST_REDIS_URL, else file://./bitmapist.redb]
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,

    /// Key prefix [default: $BITMAPIST_KEY_PREFIX, else trackist_]
    #[arg(long, global = true, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// The store's IANA time zone (Europe/Berlin): periods follow its wall clock, and a
    /// TIME without an offset is read in it; must match the zone the store records
    /// [default: $BITMAPIST_TIMEZONE, else UTC]
    #[arg(long, global = true, value_name = "ZONE", value_parser = crate::time::parse_zone)]
    pub timezone: Option<bitmapist::Zone>,
}

/// The subcommands. (`serve`, the dashboard, comes with the dashboard crate.)
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write realistic, deterministic fake activity (sign-ups, sessions, purchases...).
    ///
    /// Memory is bounded, whatever --days is: days are generated 8 at a time (in parallel)
    /// and written as whole bitmaps; after each batch the store commits and lets go of its
    /// cached copies. Peak memory is about 24 bytes per user, plus two batches of day
    /// bitmaps, plus one week and one month of bitmaps per event (at most 1.25 MB each for
    /// 10 million users), plus the store's buffers for one batch. Measured peak RSS into a
    /// file store over --days 365: 109 MB for --users 1000000, 650 MB for --users 10000000
    /// (the file: 1.0 GB). Into a Redis store the bitmaps are sent bit by bit (SETBIT).
    Seed(SeedArgs),
    /// Mark an event for users (month, ISO week and day keys; hour and unique on request).
    Mark(MarkArgs),
    /// Clear what `mark` sets, with the same options.
    Unmark(MarkArgs),
    /// List events with their counts today, this week and this month.
    Events(EventsArgs),
    /// Count the users of an event in one period.
    Count(PeriodArgs),
    /// List the users of an event in one period, one id per line (--external: their
    /// external ids).
    Ids(IdsArgs),
    /// A retention table: users of PRIMARY per period, and how many did SECONDARY later.
    Cohort(CohortArgs),
    /// Copy every bitmapist key from one store to another, then verify the counts.
    Import(ImportArgs),
    /// Serve the dashboard alone (loopback clients only unless --public).
    Serve(ServeArgs),
    /// Rewrite a file:// store compactly (reclaims free space; run-optimizes old bitmaps).
    Compact(CompactArgs),
    /// Users of an event by the number of days of a week or month they were active on.
    Stickiness(crate::commands::stickiness::StickinessArgs),
    /// A funnel: users who did step 1 per period, and how many did the next steps in order
    /// within a window (lenient bound, or --strict).
    Funnel(crate::commands::funnel::FunnelArgs),
    /// Print the external ids of dense user ids (see "External user ids" in the README).
    Resolve(ResolveArgs),
    /// Show or change the time zone recorded in the store.
    Timezone(crate::commands::timezone::TimezoneArgs),
}

/// `bitmapist ids`
#[derive(Debug, Args)]
pub struct IdsArgs {
    /// The event and period.
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Print each user's external id (from the id map) instead of its dense id; a user the
    /// map never handed out prints as `#N`.
    #[arg(long)]
    pub external: bool,
}

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

/// `bitmapist compact`
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `bitmapist serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Let any client see the dashboard (by default only loopback clients may).
    #[arg(long)]
    pub public: bool,
    /// Open an embedded store file read-only (any write is refused; a file the process
    /// may not write is opened read-only even without this flag). The file must exist; one
    /// left unclean by a killed process is first repaired by a short writable open when
    /// the process may write it. SIGTERM or Ctrl-C stops the server cleanly (exit 0).
    #[arg(long)]
    pub read_only: bool,
    /// Seconds a client may take to send a request's headers, and to start its next
    /// request on a kept-alive connection; slower connections are closed.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// How many heavy requests (overview, cohort, event page, funnel) the dashboard computes
    /// at once; more get 503 + Retry-After
    /// [default: the number of CPUs].
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_heavy_requests: Option<u32>,
}

/// Output of commands that print one summary or value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned, for a terminal.
    Table,
    /// JSON on stdout alone.
    Json,
}

/// Output of commands that print a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned, for a terminal.
    Table,
    /// JSON on stdout alone.
    Json,
    /// Comma-separated values with a header line.
    Csv,
}

/// `bitmapist seed`
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many users (ids 1..=N, in sign-up order).
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_USERS)))]
    pub users: u32,

    /// How many days of activity, ending with the day of --end.
    #[arg(long, value_name = "D", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
    pub days: u32,

    /// The random seed: the same seed (and --users, --days, --end) gives the same data.
    #[arg(long = "seed", value_name = "S", default_value_t = 42)]
    pub seed: u64,

    /// Also write hour keys (also on when BITMAPIST_TRACK_HOURLY is set).
    #[arg(long)]
    pub hourly: bool,

    /// The last instant of the range [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub end: Option<DateTime<Utc>>,

    /// Delete every key under the prefix first.
    #[arg(long)]
    pub reset: bool,

    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

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

/// `bitmapist events`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events whose names start with this (e.g. `user:`).
    #[arg(value_name = "NAME_PREFIX")]
    pub name_prefix: Option<String>,

    /// The moment "today", "week" and "month" refer to [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// The period of `count` and `ids`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeriodKind {
    /// The hour containing --at (needs hour keys).
    Hour,
    /// The day.
    Day,
    /// The ISO week (Monday to Sunday).
    Week,
    /// The month.
    Month,
    /// The year (its twelve months).
    Year,
    /// The date-less unique key.
    Unique,
}

/// `bitmapist count` and `ids`
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// The event.
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub event: String,

    /// Which period.
    #[arg(long, value_enum, default_value_t = PeriodKind::Day)]
    pub period: PeriodKind,

    /// A moment in the period [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The period size of a cohort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimeGroupArg {
    /// Hours (needs hour keys).
    Hours,
    /// Days.
    Days,
    /// ISO weeks.
    Weeks,
    /// Months.
    Months,
    /// Years.
    Years,
}

impl From<TimeGroupArg> for TimeGroup {
    fn from(t: TimeGroupArg) -> TimeGroup {
        match t {
            TimeGroupArg::Hours => TimeGroup::Hours,
            TimeGroupArg::Days => TimeGroup::Days,
            TimeGroupArg::Weeks => TimeGroup::Weeks,
            TimeGroupArg::Months => TimeGroup::Months,
            TimeGroupArg::Years => TimeGroup::Years,
        }
    }
}

/// When a returning user counts in a cohort cell (`bitmapist::Criterion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RetentionArg {
    /// Once, in the first period they return.
    FirstReturn,
    /// In every period they return.
    On,
    /// In a period if they returned then or in any later period up to now.
    OnOrAfter,
}

impl From<RetentionArg> for bitmapist::Criterion {
    fn from(r: RetentionArg) -> Self {
        match r {
            RetentionArg::FirstReturn => bitmapist::Criterion::FirstReturn,
            RetentionArg::On => bitmapist::Criterion::On,
            RetentionArg::OnOrAfter => bitmapist::Criterion::OnOrAfter,
        }
    }
}

/// How cohort column averages are taken (`bitmapist::Average`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AverageArg {
    /// The mean of the row fractions.
    Simple,
    /// The column's users over the cohorts' users.
    Weighted,
}

impl From<AverageArg> for bitmapist::Average {
    fn from(a: AverageArg) -> Self {
        match a {
            AverageArg::Simple => bitmapist::Average::Simple,
            AverageArg::Weighted => bitmapist::Average::Weighted,
        }
    }
}

/// `bitmapist cohort`
#[derive(Debug, Args)]
pub struct CohortArgs {
    /// The event that defines each row's users (e.g. user:signed_up).
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub primary: String,

    /// The event counted in each cell (e.g. user:logged_in).
    #[arg(value_parser = NonEmptyStringValueParser::new())]
    pub secondary: String,

    /// Chain `and EVENT` (repeatable; --and/--or apply in the order given).
    #[arg(long, value_name = "EVENT", action = clap::ArgAction::Append,
          value_parser = NonEmptyStringValueParser::new())]
    pub and: Vec<String>,

    /// Chain `or EVENT`: ORed with the event just before it (repeatable).
    #[arg(long, value_name = "EVENT", action = clap::ArgAction::Append,
          value_parser = NonEmptyStringValueParser::new())]
    pub or: Vec<String>,

    /// The period size.
    #[arg(long, value_enum, default_value_t = TimeGroupArg::Days)]
    pub time_group: TimeGroupArg,

    /// How many periods back (rows), at most 400 as on the dashboard.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub rows: u32,

    /// How many periods forward from each row (columns), at most 400 as on the dashboard.
    #[arg(long, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=MAX_COHORT_SIDE))]
    pub cols: u32,

    /// The moment the table is drawn at: its last row is the period containing it
    /// [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,

    /// Count a user again in later cells (default: once, in the first period they return);
    /// the same as `--retention on`.
    #[arg(long)]
    pub with_replacement: bool,

    /// When a returning user counts: `first-return` (once, in the first period they
    /// return), `on` (in every period they return), `on-or-after` (in a period if they
    /// returned then or later, up to now) [default: first-return].
    #[arg(long, value_enum, value_name = "CRITERION")]
    pub retention: Option<RetentionArg>,

    /// Rows are first-time cohorts: users whose first-ever primary event (in the event's
    /// whole stored history) falls in the row's period.
    #[arg(long)]
    pub first_time: bool,

    /// How column averages are taken: `simple` (mean of the row fractions) or `weighted`
    /// (column users over cohort users).
    #[arg(long, value_enum, default_value_t = AverageArg::Simple)]
    pub average: AverageArg,

    /// Leave the current, incomplete period out of the averages.
    #[arg(long)]
    pub complete_only: bool,

    /// Show cells as a percentage of the row's users (JSON: adds "fractions").
    #[arg(long)]
    pub percent: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

/// `bitmapist import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The store to copy from [default: the --store store].
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,

    /// The store to copy into.
    #[arg(long, value_name = "URL")]
    pub to: String,

    /// Keys per batch (one read and one write each).
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,

    /// List what would be copied, copy nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Output of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
