//! The `bitmapist-server` binary: reads the Go server's flags, opens the store, listens,
//! and handles signals (SIGTERM/SIGINT: save and exit; SIGUSR1: write the `-bak` copy).
//!
//! What a SIGKILL (or a power loss) can lose: the writes acknowledged since the last
//! completed commit, i.e. at most `-save-every` (default 1 s) of them, deletes (`DEL`,
//! `RENAME`, `BITOP`) included; expiry times, and everything before a completed `SAVE`,
//! `BGSAVE` or `FLUSHALL`, survive.
//! The file is never corrupt (redb commits are atomic). SIGTERM, SIGINT and `SHUTDOWN`
//! stop accepting connections, wait for the commands in progress (at most
//! [`SHUTDOWN_WAIT`]), commit everything acknowledged, end every connection, close the file
//! cleanly (a read-only open needs no repair afterwards), and exit 0.

use std::sync::Arc;

use anyhow::Context as _;
use bitmapist::EmbeddedOptions;
use bitmapist_server::{
    Flags, FlagsError, Keyspace, KeyspaceOptions, Limits, ServerState, Stats, USAGE, accept_loop,
    check_db_parent, parse_flags, sweep_loop,
};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// The allocator: jemalloc, with its background threads purging freed pages (after about
/// [`DIRTY_DECAY_MS`]), so that the resident size falls when idle bitmaps leave memory, and
/// tracks the live bitmaps closely after bursts (an import, a large commit). glibc's malloc
/// keeps small freed blocks (roaring containers are at most 8 KiB) in its arenas, where an
/// evicted bitmap would go on counting in RSS.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How long freed pages stay resident for reuse before jemalloc returns them to the system
/// (its default is 10 s). A commit's transient buffers (redb's pages, encoded values) would
/// otherwise count in RSS for that long after every large commit.
const DIRTY_DECAY_MS: isize = 1000;

/// Sets jemalloc's dirty-page decay for existing arenas and those created later, and starts
/// its background purging thread.
fn tune_allocator() -> Result<(), tikv_jemalloc_ctl::Error> {
    use tikv_jemalloc_ctl::{Access as _, AsName as _};
    "arenas.dirty_decay_ms\0".name().write(DIRTY_DECAY_MS)?;
    let arenas = tikv_jemalloc_ctl::arenas::narenas::read()?;
    for i in 0..arenas {
        // Arenas not initialized yet refuse this; they take the default set above.
        let _ = format!("arena.{i}.dirty_decay_ms\0")
            .as_str()
            .name()
            .write(DIRTY_DECAY_MS);
    }
    tikv_jemalloc_ctl::max_background_threads::write(1)?;
    tikv_jemalloc_ctl::background_thread::write(true)
}

fn main() -> anyhow::Result<()> {
    let flags = match parse_flags(std::env::args().skip(1)) {
        Ok(flags) => flags,
        Err(FlagsError::Help) => {
            print!("{}", USAGE);
            return Ok(());
        }
        Err(e) => {
            eprintln!("{e}\n{}", USAGE);
            std::process::exit(2);
        }
    };
    if flags.version {
        println!("bitmapist-server {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if let Err(e) = check_db_parent(&flags.db) {
        eprintln!("bitmapist-server: {e}");
        std::process::exit(2);
    }
    if let Err(e) = tune_allocator() {
        eprintln!("bitmapist-server: jemalloc background purging unavailable: {e}");
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("BITMAPIST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(flags.worker_threads(cpus))
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    let saved = runtime.block_on(run(flags))?;
    // Ends every connection task and waits for blocking work (a commit, an encoder) at
    // most SHUTDOWN_WAIT; the last reference to the store goes with them, and dropping it
    // commits what is left and closes the file.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    if saved {
        tracing::info!("saved and closed; bye");
        Ok(())
    } else {
        std::process::exit(1)
    }
}

/// How long a shutdown waits for the commands in progress, then for blocking work.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `:6379` (Go: every interface) becomes `0.0.0.0:6379`.
fn listen_address(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    }
}

/// Serves until a signal or `SHUTDOWN`; whether the final save succeeded.
async fn run(flags: Flags) -> anyhow::Result<bool> {
    if flags.relaxed {
        tracing::info!(
            "-relaxed has no effect: writes always land in memory and are committed every -save-every"
        );
    }
    let backup = flags.bak.clone().filter(|b| *b != flags.db);
    let keyspace = Keyspace::open(KeyspaceOptions {
        path: flags.db.clone(),
        store: EmbeddedOptions {
            flush_interval: flags.save_every,
            idle_eviction: flags.idle,
        },
        file_cache_bytes: flags.file_cache_mb.saturating_mul(1 << 20),
        backup: backup.clone(),
    })
    .await
    .with_context(|| format!("opening the database {}", flags.db.display()))?;
    let addr = listen_address(&flags.addr);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener
        .local_addr()
        .context("reading the listening address")?;
    tracing::info!(addr = %local, db = %flags.db.display(), "bitmapist-server ready");

    let limits = Limits {
        max_output: flags.max_output_mb.saturating_mul(1 << 20),
        ..Limits::default()
    };
    let password = flags
        .requirepass
        .clone()
        .or_else(|| std::env::var("BITMAPIST_REQUIREPASS").ok())
        .filter(|p| !p.is_empty());
    let state = Arc::new(
        ServerState::new(keyspace, local.port(), limits, flags.debug)
            .with_password(password.map(String::into_bytes))
            .with_stats(Stats::new(flags.slowlog_slower_than, flags.slowlog_max_len)),
    );
    let accepting = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
    tokio::spawn(sweep_loop(Arc::clone(&state)));

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut usr1 = signal(SignalKind::user_defined1()).context("installing the SIGUSR1 handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: saving and exiting"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: saving and exiting"); break; }
            () = state.shutdown_requested() => { tracing::info!("SHUTDOWN: saving and exiting"); break; }
            _ = usr1.recv() => {
                match &backup {
                    Some(path) => {
                        let started = std::time::Instant::now();
                        match state.keyspace.save_and_backup().await {
                            Ok(_) => tracing::info!(path = %path.display(), elapsed = ?started.elapsed(), "backup saved"),
                            Err(e) => tracing::error!(path = %path.display(), error = %e, "backup failed"),
                        }
                    }
                    None => tracing::warn!("SIGUSR1 ignored: no -bak path (or it is the -db path)"),
                }
            }
        }
    }
    accepting.abort();
    let saved = match tokio::time::timeout(SHUTDOWN_WAIT, state.keyspace.shut_down()).await {
        Ok((_gate, saved)) => saved,
        Err(_) => {
            tracing::warn!(
                wait = ?SHUTDOWN_WAIT,
                "commands still running; closing anyway (the store commits on close)"
            );
            Ok(())
        }
    };
    match saved {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::error!(error = %e, "final save failed");
            Ok(false)
        }
    }
}
