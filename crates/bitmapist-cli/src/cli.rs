//! The command line's shape: the global options, the list of subcommands, and the
//! dispatch of a parsed subcommand to its `run` (clap derive). Each subcommand's own
//! arguments live beside its `run` in `commands/` (see the module docs there).

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::context::Ctx;

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
    Seed(commands::seed::SeedArgs),
    /// Mark an event for users (month, ISO week and day keys; hour and unique on request).
    Mark(commands::mark::MarkArgs),
    /// Clear what `mark` sets, with the same options.
    Unmark(commands::mark::MarkArgs),
    /// List events with their counts today, this week and this month.
    Events(commands::events::EventsArgs),
    /// Count the users of an event in one period.
    Count(commands::count::CountArgs),
    /// List the users of an event in one period, one id per line (--external: their
    /// external ids).
    Ids(commands::ids::IdsArgs),
    /// A retention table: users of PRIMARY per period, and how many did SECONDARY later.
    Cohort(commands::cohort::CohortArgs),
    /// Copy every bitmapist key from one store to another, then verify the counts.
    Import(commands::import::ImportArgs),
    /// Serve the dashboard alone (loopback clients only unless --public).
    Serve(commands::serve::ServeArgs),
    /// Rewrite a file:// store compactly (reclaims free space; run-optimizes old bitmaps).
    Compact(commands::compact::CompactArgs),
    /// Users of an event by the number of days of a week or month they were active on.
    Stickiness(commands::stickiness::StickinessArgs),
    /// A funnel: users who did step 1 per period, and how many did the next steps in order
    /// within a window (lenient bound, or --strict).
    Funnel(commands::funnel::FunnelArgs),
    /// Print the external ids of dense user ids (see "External user ids" in the README).
    Resolve(commands::resolve::ResolveArgs),
    /// Show or change the time zone recorded in the store.
    Timezone(commands::timezone::TimezoneArgs),
    /// An event's users per period as new, returning, resurrecting, and the dormant ones
    /// (PostHog's lifecycle, exact).
    Lifecycle(commands::lifecycle::LifecycleArgs),
    /// Rolling daily, weekly and monthly actives of an event per day, and DAU/MAU.
    Trends(commands::trends::TrendsArgs),
}

impl Command {
    /// Runs the subcommand.
    pub async fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            Command::Seed(args) => commands::seed::run(ctx, &args).await,
            Command::Mark(args) => commands::mark::run(ctx, &args, true).await,
            Command::Unmark(args) => commands::mark::run(ctx, &args, false).await,
            Command::Events(args) => commands::events::run(ctx, &args).await,
            Command::Count(args) => commands::count::run(ctx, &args).await,
            Command::Ids(args) => commands::ids::run(ctx, &args).await,
            Command::Cohort(args) => commands::cohort::run(ctx, &args).await,
            Command::Import(args) => commands::import::run(ctx, &args).await,
            Command::Serve(args) => commands::serve::run(ctx, &args).await,
            Command::Compact(args) => commands::compact::run(ctx, &args).await,
            Command::Stickiness(args) => commands::stickiness::run(ctx, &args).await,
            Command::Funnel(args) => commands::funnel::run(ctx, &args).await,
            Command::Resolve(args) => commands::resolve::run(ctx, &args).await,
            Command::Timezone(args) => commands::timezone::run(ctx, &args).await,
            Command::Lifecycle(args) => commands::lifecycle::run(ctx, &args).await,
            Command::Trends(args) => commands::trends::run(ctx, &args).await,
        }
    }
}
