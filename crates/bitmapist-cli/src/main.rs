//! The `bitmapist` command line: parses the arguments and dispatches to `commands`.
//! Errors are one `error: ...` line on stderr; exit 2 for usage errors, 1 for failures.

mod cli;
mod commands;
mod context;
mod exit;
mod output;
mod progress;
mod time;
mod values;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use crate::cli::Cli;
use crate::context::Ctx;

fn main() -> ExitCode {
    exit::install_panic_hook();
    // TIME values without an offset are read in the store's zone: known before parsing.
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(zone) = time::zone_of_args(&args) {
        time::set_zone(zone);
    }
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return exit::clap_error(&e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return exit::clap_error(&e),
    };
    init_logging();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || run(cli, matches)))
        .unwrap_or(ExitCode::from(exit::RUNTIME))
}

/// Logs (the engine's warnings, `RUST_LOG` for more) go to stderr.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn run(cli: Cli, matches: clap::ArgMatches) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("starting the runtime")),
    };
    let result = runtime.block_on(async move {
        let global = &cli.global;
        let ctx = Ctx::new(
            global.store.as_deref(),
            global.prefix.as_deref(),
            global.timezone,
            matches,
        )?;
        cli.command.run(&ctx).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
