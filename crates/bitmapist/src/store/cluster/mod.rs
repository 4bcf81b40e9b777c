//! The Redis Cluster store (`redis+cluster://h1:p1,h2:p2`, `rediss+cluster://` for TLS):
//! Python bitmapist's keys spread over a cluster's slots, every feature evaluated in memory.
//!
//! # Layout
//!
//! Exactly the keys and bytes of [`RedisStore`](crate::store::RedisStore) and Python
//! bitmapist: no hash tags are added, so one event's day, week and month keys hash to
//! different slots, and Python bitmapist marking through redis-py's `RedisCluster` writes
//! the same keys this store reads (and the reverse). Since all set algebra (`AND`, `OR`,
//! years, cohorts) runs in memory on fetched bitmaps, nothing ever needs two keys in one
//! slot; Python bitmapist's `BITOP` cannot run on a cluster at all (`CROSSSLOT`).
//!
//! # Routing
//!
//! - **Writes, reads, counts, puts and deletes** are single-key commands (`SETBIT`, `GET`,
//!   `BITCOUNT`, `SET`, `DEL`) grouped by the primary that owns their key's hash slot (see
//!   `routing.rs`), from the store's own slot table (`CLUSTER SLOTS`, see `nodes.rs`). Each
//!   primary's commands go, in order, as pipelines of many slots (a pipeline of single-key
//!   commands may span slots on one node) over the store's own multiplexed connection to
//!   that node; primaries concurrently. So a batch of ~60 `GET`s is three pipelines on
//!   three primaries, not ~60, and none passes through redis-rs's cluster task.
//! - **Listing** (`keys`, `delete_prefix`) asks `CLUSTER SLOTS` for the primaries and runs
//!   `SCAN MATCH` on each of them concurrently; the union is sorted and de-duplicated (a key
//!   being migrated can be seen on two nodes).
//! - Reads go to primaries, never to replicas, so a read sees every acknowledged write.
//!
//! # Redirections and failover
//!
//! A reply `MOVED slot addr` corrects that slot in the table; `ASK slot addr` sends that
//! command again as `ASKING` + command to the node named. Only the redirected commands (and
//! later ones of the same slot, to keep per-key order) are resent, at most
//! [`MAX_REDIRECT_ROUNDS`] rounds in a row. When a primary dies, commands for its slots fail
//! until the cluster promotes a replica (after its `cluster-node-timeout`); the store
//! retries such failures (connection refused or dropped, `CLUSTERDOWN`, `TRYAGAIN`,
//! `MASTERDOWN`, a timeout), fetching a new slot table from a live node and waiting 50 ms,
//! then twice as long each time up to 1 s, until the call's time limit (`timeout_ms`,
//! default 20 s) is spent, and then fails with [`Error::Redis`] saying how many attempts it
//! made in how long and what the last failure was. Listing and the id map (`ids.rs`) go
//! through redis-rs's cluster connection, which follows `MOVED`/`ASK` by itself (at most
//! [`CLIENT_RETRIES`] times).
//!
//! Two measures keep one dead node from wedging the client, both found necessary with a
//! real failover (tests/cluster.rs): an attempt may wait at most a quarter of `timeout_ms`
//! (at least 5 s), since a request to a killed primary can stay pending; and after a
//! failure the connection to that node is dropped (the next use reconnects), as is, for
//! listing and the id map, redis-rs's cluster connection (replaced at most once a second,
//! in the background: the fresh one reads the new slot map from live nodes and carries
//! none of the requests that callers who gave up left behind in the old one's queue). Every command
//! is safe to resend: `SETBIT` with an explicit value, `SET`, `DEL`, reads. (A `DEL` resent
//! after a lost reply may count a key it deleted as missing.) Errors that retrying cannot
//! fix (a wrong password, a key of another type) fail at once.
//!
//! Set `timeout_ms` above the cluster's `cluster-node-timeout` (Redis's default: 15 s) for
//! calls to ride through a failover; set it lower for calls that should give up sooner. It
//! is at most 300,000 (5 minutes).
//!
//! Once a call gave up (the cluster did not recover within `timeout_ms`: a primary without
//! a replica is down, or the cluster lost its majority), the store knows the cluster is
//! down: calls fail at once for the connection timeout (at least 1 s), then each call is a
//! probe limited to that long, until one succeeds. So only the first request after a node
//! goes down waits `timeout_ms`; a dashboard answers the next ones with a 503 at once.

mod config;
mod ids;
mod nodes;
mod routing;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use redis::aio::ConnectionLike as _;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{ErrorKind, Pipeline, RedisError, RedisResult, ServerErrorKind, Value};

pub use self::config::ClusterConfig;
use self::nodes::{Addr, Nodes};
use self::routing::{group_by_node, primaries_from_slots, slot_of};
use crate::bitmap::Bitmap;
use crate::error::{Error, Result};
use crate::store::redis::{
    DELETE_CHUNK, PUT_CHUNK_BYTES, READ_CHUNK, WRITE_CHUNK, escape_glob, get_reply,
    keys_with_prefix, reply_error, scan_command, unexpected,
};
use crate::store::{IdStore, KeyWrite, Store};
use crate::telemetry::RedisMetrics;

/// Slot groups (pipelines) in flight at once per call.
pub const CONCURRENCY: usize = 64;
/// The first wait before a retry; each further wait doubles, up to [`RETRY_MAX_WAIT`].
const RETRY_FIRST_WAIT: Duration = Duration::from_millis(50);
/// The longest wait between two retries.
const RETRY_MAX_WAIT: Duration = Duration::from_secs(1);

/// The pace of one call's retries, shared by both retry loops (a single command, and the
/// per-node pipelines): the call's deadline, the attempts made, and the wait before the
/// next one, from [`RETRY_FIRST_WAIT`] doubling up to [`RETRY_MAX_WAIT`].
#[derive(Clone, Copy, Debug)]
struct Backoff {
    /// When the call started.
    started: Instant,
    /// The call's time limit.
    limit: Duration,
    /// `started + limit`: no attempt or wait goes past it.
    deadline: Instant,
    /// The wait before the next attempt.
    wait: Duration,
    /// Attempts made so far.
    tries: u32,
}

impl Backoff {
    /// A call starting now with this time limit.
    fn new(limit: Duration) -> Self {
        let started = Instant::now();
        Backoff {
            started,
            limit,
            deadline: started + limit,
            wait: RETRY_FIRST_WAIT,
            tries: 0,
        }
    }

    /// Whether the next wait ends before the deadline (if not, the call gives up).
    fn can_wait(&self) -> bool {
        Instant::now() + self.wait < self.deadline
    }

    /// Waits before the next attempt; the one after waits twice as long (up to the most).
    async fn wait(&mut self) {
        tokio::time::sleep(self.wait).await;
        self.wait = (self.wait * 2).min(RETRY_MAX_WAIT);
    }
}
/// The least time one attempt may wait for its answer (see `attempt_limit`).
const MIN_ATTEMPT: Duration = Duration::from_secs(5);
/// The least time calls fail at once after one gave up, and the least a probe call may take
/// then (see `ClusterStore::call_limit`).
const MIN_DOWN_WINDOW: Duration = Duration::from_secs(1);
/// The shortest time between two replacements of the cluster connection.
const RENEW_INTERVAL: Duration = Duration::from_secs(1);
/// Retries redis-rs makes by itself within one attempt: enough to follow a `MOVED` or an
/// `ASK`. Longer waits (a failover) are this store's retries, which stop when the call's
/// time limit is spent; redis-rs's own would go on in its background task after the
/// caller gave up, and pile up there while a node is down.
pub const CLIENT_RETRIES: u32 = 2;
/// Rounds of `MOVED`/`ASK` redirections in a row one call follows before it fails.
pub const MAX_REDIRECT_ROUNDS: u32 = 16;

/// What one reply says to do.
enum Reply {
    /// An answer (or an error that resending cannot fix, such as `WRONGTYPE`).
    Done(Value),
    /// `MOVED slot addr`: the slot lives there now.
    Moved(u16, Addr),
    /// `ASK slot addr`: this key is there during a migration.
    Ask(Addr),
    /// `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `LOADING`: resend later.
    Again(RedisError),
}

/// Reads a reply from the node at `from` (whose host stands in for an empty one in a
/// redirection).
fn classify(reply: Value, from: &Addr) -> Reply {
    let Value::ServerError(err) = &reply else {
        return Reply::Done(reply);
    };
    match err.kind() {
        Some(kind @ (ServerErrorKind::Moved | ServerErrorKind::Ask)) => {
            let target = err.details().and_then(|d| {
                let mut parts = d.split_ascii_whitespace();
                let slot: u16 = parts.next()?.parse().ok()?;
                let (host, port) = parts.next()?.rsplit_once(':')?;
                let host = if host.is_empty() {
                    from.0.clone()
                } else {
                    host.to_string()
                };
                Some((slot, (host, port.parse::<u16>().ok()?)))
            });
            match (kind, target) {
                (ServerErrorKind::Moved, Some((slot, to))) => Reply::Moved(slot, to),
                (_, Some((_, to))) => Reply::Ask(to),
                _ => Reply::Done(reply),
            }
        }
        Some(
            ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::BusyLoading,
        ) => Reply::Again(RedisError::from(err.clone())),
        _ => Reply::Done(reply),
    }
}

/// What [`ClusterStore::run_node`] did with one primary's commands.
#[derive(Default)]
struct NodeReport {
    /// Answered: (command index, reply).
    done: Vec<(usize, Value)>,
    /// Redirected by `MOVED`: (command index, slot, new owner).
    moved: Vec<(usize, u16, Addr)>,
    /// Redirected by `ASK`: (command index, node to ask).
    asks: Vec<(usize, Addr)>,
    /// To resend (after a failure, or behind a redirected command of the same slot).
    again: Vec<usize>,
    /// The failure, if one stopped the node's commands.
    error: Option<RedisError>,
}

/// Bitmaps on a Redis Cluster (or Valkey cluster), as Python bitmapist keeps them.
///
/// Cheap to share: every call clones a handle to one cluster connection (one multiplexed
/// connection per node, kept and repaired by redis-rs).
///
/// ```no_run
/// use bitmapist::{ClusterStore, KeyWrite, Store};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let store = ClusterStore::connect("redis+cluster://10.0.0.1:7000,10.0.0.2:7000").await?;
/// store.write(&[KeyWrite::set("trackist_user:logged_in_2024-12-30".into(), 42)]).await?;
/// assert!(store.contains("trackist_user:logged_in_2024-12-30", 42).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClusterStore {
    shared: Arc<ConnectionSlot>,
    /// The slot table and a connection per primary, for single-key commands.
    nodes: Arc<Nodes>,
    config: ClusterConfig,
    /// When a call last gave up because the cluster did not recover within its time limit,
    /// and why: while set, calls fail fast (see [`ClusterStore::call_limit`]).
    down: Arc<Mutex<Option<(Instant, String)>>>,
    /// Round trips to the nodes and failures (`bitmapist_redis_round_trips_total`,
    /// `bitmapist_store_errors_total`, `store="cluster"`).
    metrics: RedisMetrics,
}

/// The connection every call clones, and what is needed to replace it.
struct ConnectionSlot {
    client: ClusterClient,
    current: Mutex<Current>,
}

struct Current {
    conn: ClusterConnection,
    /// When `conn` was made (or last replaced), to replace it at most once per
    /// [`RENEW_INTERVAL`].
    since: Instant,
}

impl fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterStore")
            .field("url", &self.config.masked())
            .finish_non_exhaustive()
    }
}

/// Whether retrying a failed request can help: the node is unreachable or the cluster's
/// layout is changing. Everything else (wrong password, bad reply) fails at once.
fn worth_retrying(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
        || matches!(
            e.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::BusyLoading
                )
        )
}

/// A quarter of `timeout`, at least [`MIN_ATTEMPT`], at most `timeout`.
fn attempt_limit(timeout: Duration) -> Duration {
    (timeout / 4).max(MIN_ATTEMPT).min(timeout)
}

impl ClusterStore {
    /// Connects to the cluster a `redis+cluster://` or `rediss+cluster://` URL names: reads
    /// the slot layout from the first seed that answers, connects to every primary, and
    /// checks one with `PING`, so that unreachable seeds, a wrong password or a server
    /// without cluster mode fail here, with the URL (password masked) in the error.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(ClusterConfig::parse(url)?).await
    }

    /// Connects with an already parsed [`ClusterConfig`].
    pub async fn connect_with(config: ClusterConfig) -> Result<Self> {
        if config.tls() {
            // Another part of the process may have installed a provider already; either
            // one will do.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let masked = config.masked().to_string();
        let redis_err = |source| Error::Redis {
            url: masked.clone(),
            source,
        };
        let mut builder = ClusterClient::builder(config.node_urls());
        let root_cert = match config.ca() {
            Some(ca) => Some(std::fs::read(ca).map_err(|e| Error::InvalidUrl {
                url: masked.clone(),
                reason: format!("ca={}: cannot read the CA file: {e}", ca.display()),
            })?),
            None => None,
        };
        if let Some(root) = &root_cert {
            builder = builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root.clone()),
            });
        }
        let client = builder
            .connection_timeout(config.connect_timeout())
            .response_timeout(config.timeout())
            .overall_response_timeout(Some(config.timeout()))
            .retries(CLIENT_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()
            .map_err(|e| Error::InvalidUrl {
                url: masked.clone(),
                reason: e.to_string(),
            })?;
        let connecting = async {
            let mut conn = client.get_async_connection().await?;
            conn.route_command(
                redis::cmd("PING"),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
            )
            .await?
            .extract_error()?;
            Ok::<_, RedisError>(conn)
        };
        // Bound the whole handshake: every seed may time out in turn.
        let limit = config.timeout() + config.connect_timeout();
        let conn = match tokio::time::timeout(limit, connecting).await {
            Ok(conn) => conn.map_err(redis_err)?,
            Err(_) => {
                return Err(redis_err(RedisError::from((
                    ErrorKind::Io,
                    "no seed node answered",
                    format!("gave up after {} ms", limit.as_millis()),
                ))));
            }
        };
        let nodes = Nodes::new(config.clone(), root_cert, attempt_limit(config.timeout()));
        match tokio::time::timeout(limit, nodes.refresh(0)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(redis_err(e)),
            Err(_) => {
                return Err(redis_err(RedisError::from((
                    ErrorKind::Io,
                    "no node answered CLUSTER SLOTS",
                    format!("gave up after {} ms", limit.as_millis()),
                ))));
            }
        }
        Ok(ClusterStore {
            metrics: RedisMetrics::register("cluster"),
            nodes: Arc::new(nodes),
            shared: Arc::new(ConnectionSlot {
                client,
                current: Mutex::new(Current {
                    conn,
                    since: Instant::now(),
                }),
            }),
            config,
            down: Arc::new(Mutex::new(None)),
        })
    }

    /// How long the call starting now may take. Normally `timeout_ms`, enough to ride
    /// through a failover. Once a call gave up (the cluster did not recover within
    /// `timeout_ms`, e.g. a primary without replica is down), calls fail at once for
    /// [`ClusterStore::down_window`] after that, and then each call is a probe limited to
    /// that window: a failover that completed meanwhile is found (the probe refreshes the
    /// slot table), and a cluster still down costs a caller one short wait, not the full
    /// `timeout_ms` per request (a dashboard page answers 503 at once).
    fn call_limit(&self) -> Result<Duration> {
        let down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        match down.as_ref() {
            None => Ok(self.config.timeout()),
            Some((at, why)) if at.elapsed() < self.down_window() => {
                Err(self.redis_error(RedisError::from((
                    ErrorKind::Io,
                    "the cluster is down (not retried yet)",
                    why.clone(),
                ))))
            }
            Some(_) => Ok(self.down_window().min(self.config.timeout())),
        }
    }

    /// How long calls fail at once after one gave up, and how long a probe call may take
    /// then: the connection timeout, at least [`MIN_DOWN_WINDOW`].
    fn down_window(&self) -> Duration {
        self.config.connect_timeout().max(MIN_DOWN_WINDOW)
    }

    /// Records that a call gave up (`Some(why)`) or reached the cluster (`None`).
    fn note_down(&self, why: Option<String>) {
        let mut down = self.down.lock().unwrap_or_else(PoisonError::into_inner);
        match why {
            Some(why) => *down = Some((Instant::now(), why)),
            None if down.is_some() => *down = None,
            None => {}
        }
    }

    /// The error of a call that gave up after the attempts `backoff` counted, the last one
    /// failing with `e`; recorded so that the next calls fail fast.
    fn gave_up(&self, e: &RedisError, backoff: &Backoff) -> Error {
        let Backoff {
            tries,
            started,
            limit,
            ..
        } = *backoff;
        let err = RedisError::from((
            e.kind(),
            "the cluster did not recover in time",
            format!(
                "gave up after {tries} attempts in {} ms (limit {} ms, timeout_ms={}); last error: {e}",
                started.elapsed().as_millis(),
                limit.as_millis(),
                self.config.timeout().as_millis()
            ),
        ));
        self.note_down(Some(err.to_string()));
        self.redis_error(err)
    }

    /// A handle to the current cluster connection.
    fn conn(&self) -> ClusterConnection {
        self.shared
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .conn
            .clone()
    }

    /// Replaces the cluster connection with a fresh one (new slot map, new node
    /// connections, no requests left over from callers that gave up), unless it was made
    /// less than [`RENEW_INTERVAL`] ago. Failing to connect keeps the old one.
    async fn renew(&self) {
        {
            let mut current = self
                .shared
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if current.since.elapsed() < RENEW_INTERVAL {
                return;
            }
            current.since = Instant::now();
        }
        let within = self.config.timeout() + self.config.connect_timeout();
        let fresh = tokio::time::timeout(within, self.shared.client.get_async_connection()).await;
        if let Ok(Ok(conn)) = fresh {
            let mut current = self
                .shared
                .current
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            current.conn = conn;
            current.since = Instant::now();
        }
    }

    /// The parsed URL this store was opened with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Wraps a client error, counting it by kind.
    fn redis_error(&self, source: RedisError) -> Error {
        self.metrics.error(&source);
        Error::Redis {
            url: self.config.masked().to_string(),
            source,
        }
    }

    /// How long one attempt may wait for its answer: a quarter of the call's limit, at least
    /// [`MIN_ATTEMPT`], at most what is left until the call's `deadline`. An attempt that
    /// takes longer is treated as hung (requests to a node that died can stay pending in
    /// the client) and resent.
    fn attempt_limit(&self, deadline: Instant) -> Duration {
        attempt_limit(self.config.timeout()).min(deadline.saturating_duration_since(Instant::now()))
    }

    /// Runs `attempt` until it succeeds, fails with an error retrying cannot fix, or the
    /// call's time limit is spent (see the module docs).
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let mut backoff = Backoff::new(self.call_limit()?);
        loop {
            backoff.tries += 1;
            self.metrics.round_trip();
            let limit = self.attempt_limit(backoff.deadline);
            let outcome = match tokio::time::timeout(limit, attempt()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(RedisError::from((
                    ErrorKind::Io,
                    "timed out",
                    format!("no answer within {} ms", limit.as_millis()),
                ))),
            };
            let e = match outcome {
                Ok(v) => {
                    self.note_down(None);
                    return Ok(v);
                }
                Err(e) if !worth_retrying(&e) => return Err(self.redis_error(e)),
                Err(e) => e,
            };
            // In the background, so that a call near its limit (or one whose attempt hung)
            // still leaves a fresh connection for the next.
            let store = self.clone();
            tokio::spawn(async move { store.renew().await });
            if !backoff.can_wait() {
                return Err(self.gave_up(&e, &backoff));
            }
            tracing::debug!(error = %e, wait = ?backoff.wait, "bitmapist: cluster request failed; retrying");
            backoff.wait().await;
        }
    }

    /// Sends one primary's pipelines, in order, over the store's own connection to it (see
    /// `routing.rs`'s invariants). Stops at the first pipeline that fails or has a command
    /// redirected or refused: that pipeline's commands of the affected slots, and every
    /// later pipeline, are handed back to be resent.
    async fn run_node(
        &self,
        addr: Addr,
        pipelines: Vec<Vec<usize>>,
        slots: &[u16],
        build: &(dyn Fn(&mut Pipeline, usize) + Sync),
        deadline: Instant,
    ) -> NodeReport {
        let mut report = NodeReport::default();
        let mut rest = pipelines.into_iter();
        while let Some(indices) = rest.next() {
            let attempt = async {
                let mut conn = self.nodes.connection(&addr).await?;
                let mut pipe = Pipeline::with_capacity(indices.len());
                for &i in &indices {
                    build(&mut pipe, i);
                }
                conn.req_packed_commands(&pipe, 0, indices.len()).await
            };
            self.metrics.round_trip();
            let limit = self.attempt_limit(deadline);
            let outcome = match tokio::time::timeout(limit, attempt).await {
                Ok(Ok(replies)) if replies.len() == indices.len() => Ok(replies),
                Ok(Ok(replies)) => Err(RedisError::from((
                    ErrorKind::UnexpectedReturnType,
                    "pipeline reply count differs from its command count",
                    format!("{} replies for {} commands", replies.len(), indices.len()),
                ))),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(RedisError::from((
                    ErrorKind::Io,
                    "timed out",
                    format!(
                        "{}:{} did not answer within {} ms",
                        addr.0,
                        addr.1,
                        limit.as_millis()
                    ),
                ))),
            };
            let replies = match outcome {
                Ok(replies) => replies,
                Err(e) => {
                    self.nodes.forget(&addr);
                    report.again.extend(indices);
                    report.again.extend(rest.flatten());
                    report.error = Some(e);
                    return report;
                }
            };
            let mut stalled: Vec<u16> = Vec::new();
            for (i, reply) in indices.into_iter().zip(replies) {
                let slot = slots.get(i).copied().unwrap_or(0);
                match classify(reply, &addr) {
                    Reply::Done(value) if !stalled.contains(&slot) => report.done.push((i, value)),
                    Reply::Done(_) => report.again.push(i),
                    Reply::Moved(moved_slot, to) => {
                        stalled.push(slot);
                        report.moved.push((i, moved_slot, to));
                    }
                    Reply::Ask(to) => {
                        stalled.push(slot);
                        report.asks.push((i, to));
                    }
                    Reply::Again(e) => {
                        stalled.push(slot);
                        report.again.push(i);
                        report.error = Some(e);
                    }
                }
            }
            if !stalled.is_empty() {
                report.again.extend(rest.flatten());
                return report;
            }
        }
        report
    }

    /// Sends commands redirected by `ASK`, one at a time in order, each as `ASKING` + the
    /// command to the node named; after one of a slot fails, the later ones of that slot
    /// wait for the next round.
    async fn run_asks(
        &self,
        asks: Vec<(usize, Addr)>,
        slots: &[u16],
        build: &(dyn Fn(&mut Pipeline, usize) + Sync),
        deadline: Instant,
    ) -> NodeReport {
        let mut report = NodeReport::default();
        let mut stalled: Vec<u16> = Vec::new();
        for (i, to) in asks {
            let slot = slots.get(i).copied().unwrap_or(0);
            if stalled.contains(&slot) {
                report.again.push(i);
                continue;
            }
            let attempt = async {
                let mut conn = self.nodes.connection(&to).await?;
                let mut pipe = Pipeline::with_capacity(2);
                pipe.cmd("ASKING");
                build(&mut pipe, i);
                conn.req_packed_commands(&pipe, 0, 2).await
            };
            self.metrics.round_trip();
            let reply = match tokio::time::timeout(self.attempt_limit(deadline), attempt).await {
                Ok(Ok(mut replies)) if replies.len() == 2 => Ok(replies.swap_remove(1)),
                Ok(Ok(_)) => Err(RedisError::from((
                    ErrorKind::UnexpectedReturnType,
                    "ASKING + command did not get two replies",
                ))),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(RedisError::from((ErrorKind::Io, "timed out"))),
            };
            match reply.map(|r| classify(r, &to)) {
                Ok(Reply::Done(value)) => report.done.push((i, value)),
                Ok(Reply::Moved(moved_slot, addr)) => {
                    stalled.push(slot);
                    report.moved.push((i, moved_slot, addr));
                }
                Ok(Reply::Ask(addr)) => {
                    stalled.push(slot);
                    report.asks.push((i, addr));
                }
                Ok(Reply::Again(e)) | Err(e) => {
                    stalled.push(slot);
                    report.again.push(i);
                    report.error = Some(e);
                }
            }
        }
        report
    }

    /// Sends command `i` (built by `build`, on `keys[i]`) to the primary that owns the slot
    /// of `keys[i]`: one pipeline (or a few, within `max_commands`) per primary, primaries
    /// concurrently. Redirected commands are resent after the slot table is corrected, at
    /// most [`MAX_REDIRECT_ROUNDS`] rounds in a row; failures (a node down, `CLUSTERDOWN`)
    /// are retried with a fresh table until the call's time limit, as [`Self::retrying`]
    /// does. Returns one reply per command, in order. An error reply becomes an error
    /// naming its key (`WRONGTYPE`: [`Error::CorruptBitmap`]).
    async fn per_node<K: AsRef<str> + Sync>(
        &self,
        keys: &[K],
        max_commands: usize,
        weight: impl Fn(usize) -> usize,
        build: &(dyn Fn(&mut Pipeline, usize) + Sync),
    ) -> Result<Vec<Value>> {
        let slots: Vec<u16> = keys.iter().map(|k| slot_of(k.as_ref())).collect();
        let mut out = vec![Value::Nil; keys.len()];
        let mut pending: Vec<usize> = (0..keys.len()).collect();
        let mut asks: Vec<(usize, Addr)> = Vec::new();
        let mut backoff = Backoff::new(self.call_limit()?);
        let deadline = backoff.deadline;
        let mut redirect_rounds = 0u32;
        while !pending.is_empty() || !asks.is_empty() {
            backoff.tries += 1;
            let table = self.nodes.table();
            let mut reports = Vec::new();
            let mut failure = None;
            if !asks.is_empty() {
                // Asked commands go before anything later of their slot: a round of their own.
                reports.push(
                    self.run_asks(std::mem::take(&mut asks), &slots, build, deadline)
                        .await,
                );
            } else {
                let (groups, unrouted) = group_by_node(
                    &slots,
                    &pending,
                    |slot| table.owner_index(slot),
                    max_commands,
                    PUT_CHUNK_BYTES,
                    &weight,
                );
                pending = unrouted;
                let mut routed = Vec::with_capacity(groups.len());
                for group in groups {
                    match table.node(group.node) {
                        Some(addr) => routed.push((addr.clone(), group.pipelines)),
                        None => pending.extend(group.pipelines.into_iter().flatten()),
                    }
                }
                if !pending.is_empty() {
                    failure = Some(RedisError::from((
                        ErrorKind::Server(ServerErrorKind::ClusterDown),
                        "no known primary serves some slots",
                    )));
                }
                reports = stream::iter(routed)
                    .map(|(addr, pipelines)| {
                        self.run_node(addr, pipelines, &slots, build, deadline)
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
            }
            for report in reports {
                for (i, value) in report.done {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = value;
                    }
                }
                for (i, slot, to) in report.moved {
                    self.nodes.moved(slot, to);
                    pending.push(i);
                }
                asks.extend(report.asks);
                pending.extend(report.again);
                if let Some(e) = report.error {
                    if !worth_retrying(&e) {
                        return Err(self.redis_error(e));
                    }
                    failure = Some(e);
                }
            }
            pending.sort_unstable();
            asks.sort_unstable_by_key(|(i, _)| *i);
            if pending.is_empty() && asks.is_empty() {
                break;
            }
            let Some(e) = failure else {
                redirect_rounds += 1;
                if redirect_rounds > MAX_REDIRECT_ROUNDS {
                    return Err(self.redis_error(RedisError::from((
                        ErrorKind::Server(ServerErrorKind::Moved),
                        "redirected too many times",
                        format!("{MAX_REDIRECT_ROUNDS} rounds of MOVED/ASK in a row"),
                    ))));
                }
                continue;
            };
            redirect_rounds = 0;
            if !backoff.can_wait() {
                return Err(self.gave_up(&e, &backoff));
            }
            tracing::debug!(error = %e, wait = ?backoff.wait, "bitmapist: cluster request failed; retrying");
            let left = deadline.saturating_duration_since(Instant::now());
            if let Ok(Err(e)) =
                tokio::time::timeout(left, self.nodes.refresh(table.generation)).await
                && !worth_retrying(&e)
            {
                return Err(self.redis_error(e));
            }
            backoff.wait().await;
        }
        self.note_down(None);
        for (i, reply) in out.iter().enumerate() {
            if let Value::ServerError(err) = reply {
                let key = keys.get(i).map_or("", AsRef::as_ref);
                self.metrics.error_reply();
                return Err(reply_error(err, key, self.config.masked()));
            }
        }
        Ok(out)
    }

    /// An integer reply (`BITCOUNT`, `DEL`, `GETBIT`).
    fn int_reply(&self, reply: &Value, what: &'static str) -> Result<i64> {
        match reply {
            Value::Int(n) => Ok(*n),
            other => Err(self.redis_error(unexpected(what, other))),
        }
    }

    /// The primaries that own slots now, from `CLUSTER SLOTS`.
    async fn primaries(&self) -> Result<Vec<(String, u16)>> {
        let reply = self
            .retrying(|| {
                let mut conn = self.conn();
                async move {
                    conn.route_command(
                        redis::cmd("CLUSTER").arg("SLOTS").clone(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
                    )
                    .await?
                    .extract_error()
                }
            })
            .await?;
        primaries_from_slots(&reply).ok_or_else(|| {
            self.redis_error(unexpected(
                "CLUSTER SLOTS did not answer a slot table",
                &reply,
            ))
        })
    }

    /// One `SCAN` step on one node: the next cursor and the keys of this batch that really
    /// start with `prefix` (keys that are not UTF-8 are skipped).
    async fn scan_step(
        &self,
        node: &(String, u16),
        cursor: u64,
        pattern: &str,
        prefix: &str,
    ) -> Result<(u64, Vec<String>)> {
        let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: node.0.clone(),
            port: node.1,
        });
        let scan = scan_command(cursor, pattern);
        let reply = self
            .retrying(|| {
                let mut conn = self.conn();
                let (scan, route) = (scan.clone(), route.clone());
                async move { conn.route_command(scan, route).await?.extract_error() }
            })
            .await?;
        let (next, batch): (u64, Vec<Vec<u8>>) =
            redis::from_redis_value(reply).map_err(|e| self.redis_error(e.into()))?;
        Ok((next, keys_with_prefix(batch, prefix)))
    }

    /// Scans one node to the end, handing each batch to `each` (which returns how many of
    /// them it dealt with); the sum of those.
    async fn scan_node<F, Fut>(
        &self,
        node: (String, u16),
        prefix: &str,
        each: F,
    ) -> Result<(Vec<String>, u64)>
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<String>, u64)>>,
    {
        let pattern = format!("{}*", escape_glob(prefix));
        let (mut kept, mut total) = (Vec::new(), 0u64);
        let mut cursor = 0u64;
        loop {
            let (next, batch) = self.scan_step(&node, cursor, &pattern, prefix).await?;
            let (keys, n) = each(batch).await?;
            kept.extend(keys);
            total += n;
            if next == 0 {
                return Ok((kept, total));
            }
            cursor = next;
        }
    }
}

#[async_trait]
impl Store for ClusterStore {
    /// `SETBIT key offset 0|1` grouped by slot: one slot's commands in order, in pipelines
    /// of up to 10,000; slots concurrently.
    async fn write(&self, writes: &[KeyWrite]) -> Result<()> {
        let mut keys: Vec<&str> = Vec::new();
        let mut bits: Vec<(u32, u8)> = Vec::new();
        for w in writes {
            for &offset in &w.offsets {
                keys.push(&w.key);
                bits.push((offset, u8::from(w.value)));
            }
        }
        let build = |pipe: &mut Pipeline, i: usize| {
            if let (Some(key), Some((offset, value))) = (keys.get(i), bits.get(i)) {
                pipe.cmd("SETBIT").arg(*key).arg(*offset).arg(*value);
            }
        };
        self.per_node(&keys, WRITE_CHUNK, |_| 0, &build).await?;
        Ok(())
    }

    /// `SETBIT` of every set bit, grouped by slot, as on one Redis (the length grows only
    /// as far as the highest set bit; see `RedisStore`'s `merge`).
    async fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        self.write(&crate::store::redis::merge_writes(entries))
            .await
    }

    /// Concurrent single-key `GET`s (one pipeline per slot).
    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some(key) = keys.get(i) {
                pipe.cmd("GET").arg(key);
            }
        };
        let replies = self.per_node(keys, READ_CHUNK, |_| 0, &build).await?;
        replies
            .into_iter()
            .zip(keys)
            .map(|(reply, key)| get_reply(reply, key))
            .collect()
    }

    /// `SET key bytes`, or `DEL key` for a bitmap of length 0, grouped by slot.
    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()> {
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some((key, bitmap)) = entries.get(i) {
                if bitmap.byte_len() == 0 {
                    pipe.cmd("DEL").arg(key);
                } else {
                    pipe.cmd("SET").arg(key).arg(bitmap.to_redis_bytes());
                }
            }
        };
        let weight = |i: usize| entries.get(i).map_or(0, |(_, b)| b.byte_len() as usize);
        self.per_node(&keys, READ_CHUNK, weight, &build).await?;
        Ok(())
    }

    /// Concurrent single-key `BITCOUNT`s (one pipeline per slot).
    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some(key) = keys.get(i) {
                pipe.cmd("BITCOUNT").arg(key);
            }
        };
        self.per_node(keys, READ_CHUNK, |_| 0, &build)
            .await?
            .iter()
            .map(|r| {
                self.int_reply(r, "BITCOUNT did not answer an integer")
                    .map(|n| u64::try_from(n).unwrap_or(0))
            })
            .collect()
    }

    /// `GETBIT key offset` on the key's primary.
    async fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        let build = |pipe: &mut Pipeline, _: usize| {
            pipe.cmd("GETBIT").arg(key).arg(offset);
        };
        let replies = self.per_node(&[key], 1, |_| 0, &build).await?;
        match replies.first() {
            Some(reply) => Ok(self.int_reply(reply, "GETBIT did not answer an integer")? == 1),
            None => Err(self.redis_error(unexpected("GETBIT got no reply", &Value::Nil))),
        }
    }

    /// `GET key` on the key's primary (a metadata string key, see [`Store::get_meta`]).
    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let build = |pipe: &mut Pipeline, _: usize| {
            pipe.cmd("GET").arg(key);
        };
        let replies = self.per_node(&[key], 1, |_| 0, &build).await?;
        crate::store::redis::meta_reply(replies.first(), key)
    }

    /// `SET key value` on the key's primary.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let build = |pipe: &mut Pipeline, _: usize| {
            pipe.cmd("SET").arg(key).arg(value);
        };
        self.per_node(&[key], 1, |_| 0, &build).await.map(drop)
    }

    /// `SCAN 0 MATCH <prefix>* COUNT 1000` on every primary concurrently, until each
    /// cursor returns to 0; sorted and de-duplicated.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let nodes = self.primaries().await?;
        let per_node: Vec<(Vec<String>, u64)> = stream::iter(nodes)
            .map(|node| {
                self.scan_node(
                    node,
                    prefix,
                    |batch| async move { Ok::<_, Error>((batch, 0)) },
                )
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut all: Vec<String> = per_node.into_iter().flat_map(|(k, _)| k).collect();
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// `DEL` grouped by slot, in pipelines of up to 1,000; the sum of the replies.
    async fn delete(&self, keys: &[String]) -> Result<u64> {
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some(key) = keys.get(i) {
                pipe.cmd("DEL").arg(key);
            }
        };
        let mut total = 0u64;
        for reply in self.per_node(keys, DELETE_CHUNK, |_| 0, &build).await? {
            let n = self.int_reply(&reply, "DEL did not answer an integer")?;
            total += u64::try_from(n).unwrap_or(0);
        }
        Ok(total)
    }

    // --- data lifecycle (retention policy, prune) ---

    /// `STRLEN` on each key's primary, one pipeline per primary.
    async fn value_sizes(&self, keys: &[String]) -> Result<Vec<u64>> {
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some(key) = keys.get(i) {
                pipe.cmd("STRLEN").arg(key);
            }
        };
        self.per_node(keys, READ_CHUNK, |_| 0, &build)
            .await?
            .iter()
            .map(|r| {
                self.int_reply(r, "STRLEN did not answer an integer")
                    .map(|n| u64::try_from(n).unwrap_or(0))
            })
            .collect()
    }

    /// `UNLINK` on each key's primary: one pipeline per primary, primaries concurrently.
    async fn unlink(&self, keys: &[String]) -> Result<u64> {
        let build = |pipe: &mut Pipeline, i: usize| {
            if let Some(key) = keys.get(i) {
                pipe.cmd("UNLINK").arg(key);
            }
        };
        let mut total = 0u64;
        for reply in self.per_node(keys, DELETE_CHUNK, |_| 0, &build).await? {
            let n = self.int_reply(&reply, "UNLINK did not answer an integer")?;
            total += u64::try_from(n).unwrap_or(0);
        }
        Ok(total)
    }

    // --- end data lifecycle ---

    /// `SCAN` on every primary as [`ClusterStore::keys`] does, deleting each batch (per
    /// slot) as it comes; a key seen twice is counted once because the second `DEL`
    /// answers 0.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let nodes = self.primaries().await?;
        let per_node: Vec<(Vec<String>, u64)> = stream::iter(nodes)
            .map(|node| {
                self.scan_node(node, prefix, |batch| async move {
                    Ok((Vec::new(), self.delete(&batch).await?))
                })
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(per_node.iter().map(|(_, n)| n).sum())
    }

    /// Nothing to do: each primary has applied every write it acknowledged (replication to
    /// replicas is asynchronous, as always with Redis Cluster).
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn id_store(&self) -> Option<&dyn IdStore> {
        Some(self)
    }

    /// The URL, password masked.
    fn describe(&self) -> String {
        self.config.masked().to_string()
    }
}

#[async_trait]
impl IdStore for ClusterStore {
    /// `EVALSHA` of the id script on the map's slot (see `ids.rs`).
    async fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>> {
        self.assign_ids_on_slot(space, external).await
    }

    /// `HMGET` on the forward hash, on the map's slot.
    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        self.lookup_ids_on_slot(space, external).await
    }

    /// `HMGET` on the reverse hash, on the map's slot.
    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        self.resolve_ids_on_slot(space, dense).await
    }
}
