//! The state the connections share ([`ServerState`]) and each connection's own
//! ([`ConnState`], with its transaction in progress): a leaf below `commands` and `connection`.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bitmapist::Bitmap;
use tokio::sync::Notify;

use crate::keyspace::Keyspace;
use crate::resp::Limits;
use crate::stats::{Recorder, Stats};

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
    pub multi: Option<Multi>,
    /// Whether it gave the password (`AUTH`); irrelevant without `-requirepass`.
    pub authenticated: bool,
    /// A value whose bulk header a command wrote and whose bytes are to be streamed next
    /// (see `stream`); the connection runs no other command until it is sent.
    pub stream: Option<Arc<Bitmap>>,
    /// Per-command figures not yet merged into [`Stats`].
    pub recorder: Recorder,
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

    /// The same state, counting with `stats` (built with the slow log's settings).
    pub fn with_stats(mut self, stats: Stats) -> Self {
        self.stats = stats;
        self
    }

    /// Asks the server to shut down (`SHUTDOWN`).
    pub fn request_shutdown(&self) {
        self.shutdown.notify_one();
    }

    /// The id of the next connection (`CLIENT ID`).
    pub(crate) fn next_client_id(&self) -> u64 {
        self.next_client.fetch_add(1, Ordering::Relaxed)
    }

    /// Resolves when a shutdown was requested.
    pub async fn shutdown_requested(&self) {
        self.shutdown.notified().await;
    }
}

/// A connection's transaction in progress (see `commands::transaction`).
#[derive(Debug, Default)]
pub struct Multi {
    /// The queued commands: their bytes and argument ranges.
    pub(crate) queued: Vec<(Vec<u8>, Vec<Range<usize>>)>,
    /// Bytes queued so far.
    pub(crate) bytes: usize,
    /// Whether a command was refused while queueing (`EXEC` then aborts).
    pub(crate) failed: bool,
}
