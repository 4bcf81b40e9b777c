//! One module per subcommand; `run` dispatches a parsed command to it.
//! Each command opens its store through the context and writes data to stdout only.

use anyhow::Result;

use crate::cli::Command;
use crate::context::Ctx;

mod cohort;
pub mod compact;
mod count;
mod events;
mod external;
pub mod funnel;
mod import;
mod mark;
mod seed;
mod serve;
pub mod stickiness;
pub mod timezone;

/// Runs one command.
pub async fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::Seed(args) => seed::run(ctx, &args).await,
        Command::Mark(args) => mark::run(ctx, &args, true).await,
        Command::Unmark(args) => mark::run(ctx, &args, false).await,
        Command::Events(args) => events::run(ctx, &args).await,
        Command::Count(args) => count::count(ctx, &args).await,
        Command::Ids(args) if args.external => external::ids(ctx, &args.period).await,
        Command::Ids(args) => count::ids(ctx, &args.period).await,
        Command::Cohort(args) => cohort::run(ctx, &args).await,
        Command::Import(args) => import::run(ctx, &args).await,
        Command::Serve(args) => serve::run(ctx, &args).await,
        Command::Compact(args) => compact::run(ctx, &args).await,
        Command::Stickiness(args) => stickiness::run(ctx, &args).await,
        Command::Funnel(args) => funnel::run(ctx, &args).await,
        Command::Resolve(args) => external::resolve(ctx, &args).await,
        Command::Timezone(args) => timezone::run(ctx, &args).await,
    }
}
