//! The server's shared state and its background tasks: the accept loop (one task per
//! connection) and the expiry sweep. Startup, signals and the final save are in `main.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::keyspace::Keyspace;
use crate::resp::Limits;

/// How often keys past their deadline are deleted (besides on access).
pub const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Counters for `INFO`.
#[derive(Debug, Default)]
pub struct Stats {
    clients: AtomicUsize,
    connections: AtomicU64,
    commands: AtomicU64,
}

impl Stats {
    /// Connected clients now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Connections accepted since the start.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Commands run since the start.
    pub fn commands(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// Counts `n` more commands.
    pub fn add_commands(&self, n: u64) {
        self.commands.fetch_add(n, Ordering::Relaxed);
    }
}

/// Everything the connections share.
#[derive(Debug)]
pub struct ServerState {
    /// The data.
    pub keyspace: Keyspace,
    /// The port the server listens on (for `INFO`).
    pub port: u16,
    /// When the server started.
    pub started: Instant,
    /// Counters.
    pub stats: Stats,
    /// The protocol limits of every connection.
    pub limits: Limits,
    /// Whether to log every command (`-debug`).
    pub debug: bool,
    /// The password clients must give with `AUTH` or `HELLO AUTH` (`-requirepass`).
    pub requirepass: Option<Vec<u8>>,
    shutdown: Notify,
    next_client: AtomicU64,
}

/// One connection's own state.
#[derive(Debug)]
pub struct ConnState {
    /// Its id (`CLIENT ID`, `HELLO`).
    pub id: u64,
    /// Its name (`CLIENT SETNAME`).
    pub name: Option<Vec<u8>>,
    /// The peer's address.
    pub peer: String,
    /// The transaction in progress (`MULTI`), if any.
    pub multi: Option<crate::commands::Multi>,
    /// Whether it gave the password (`AUTH`); irrelevant without `-requirepass`.
    pub authenticated: bool,
}

impl ServerState {
    /// The state of a server on `keyspace`, listening on `port`.
    pub fn new(keyspace: Keyspace, port: u16, limits: Limits, debug: bool) -> Self {
        ServerState {
            keyspace,
            port,
            started: Instant::now(),
            stats: Stats::default(),
            limits,
            debug,
            requirepass: None,
            shutdown: Notify::new(),
            next_client: AtomicU64::new(1),
        }
    }

    /// The same state, requiring `password` (when `Some`) before any other command.
    pub fn with_password(mut self, password: Option<Vec<u8>>) -> Self {
        self.requirepass = password;
        self
    }

    /// Asks the server to shut down (`SHUTDOWN`).
    pub fn request_shutdown(&self) {
        self.shutdown.notify_one();
    }

    /// Resolves when a shutdown was requested.
    pub async fn shutdown_requested(&self) {
        self.shutdown.notified().await;
    }
}

/// Decrements the client count when a connection ends, however it ends.
struct ClientGuard<'a>(&'a Stats);

impl Drop for ClientGuard<'_> {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts connections forever, one task each.
pub async fn accept_loop(listener: TcpListener, state: Arc<ServerState>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let id = state.next_client.fetch_add(1, Ordering::Relaxed);
                state.stats.connections.fetch_add(1, Ordering::Relaxed);
                state.stats.clients.fetch_add(1, Ordering::Relaxed);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let _guard = ClientGuard(&state.stats);
                    let conn = ConnState {
                        id,
                        name: None,
                        peer: peer.to_string(),
                        multi: None,
                        authenticated: false,
                    };
                    crate::connection::serve(stream, &state, conn).await;
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Deletes keys past their deadline every [`SWEEP_EVERY`], forever.
pub async fn sweep_loop(state: Arc<ServerState>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.keyspace.sweep().await {
            tracing::warn!(error = %e, "expiry sweep failed; will retry");
        }
    }
}
