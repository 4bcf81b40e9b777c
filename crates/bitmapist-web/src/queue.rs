//! The bounded queue between request handlers and the store, and its worker task.
//! Marking from a request never waits on the store: a full queue drops the mark and counts it.
//!
//! Why: a request must never be slowed or failed by analytics, and a busy app should
//! write in batches rather than one store round trip per request.
//!
//! How: [`Marker`](crate::Marker) pushes with `try_send`; one worker task per queue takes
//! whatever is waiting and writes it through the engine's batch calls.
//!
//! Invariants:
//! - enqueueing is `try_send` on a bounded channel: constant time, never awaits;
//! - the worker takes whatever is queued (up to [`MAX_BATCH`]) and writes it with one
//!   engine call per (options, [`MarkKind`], kind of user): `mark_events` /
//!   `unmark_events` for dense ids, `mark_events_external` / `unmark_events_external` for
//!   external ids ([`UserKey::External`]), which map the batch's ids in one id-map call
//!   (unmarks skip ids never assigned);
//! - a store error is logged with `tracing` and counted in [`Stats::store_errors`]; the
//!   marks of that group are lost (the request that made them has long been answered);
//! - every count of [`Stats`] is also recorded through the `metrics` facade
//!   (`bitmapist_marks_queued_total`, `bitmapist_marks_written_total`,
//!   `bitmapist_marks_dropped_total{reason}`, with the lost marks of a refused batch under
//!   `reason="store_error"`), with handles registered when the queue starts. Enqueueing
//!   costs nothing more than before: the worker publishes what [`Stats`]' atomics counted
//!   since its last publication (queued, dropped because full) before and after each
//!   batch, as increments, so that several queues add up. A mark dropped because the
//!   queue was full is always followed by a publication (a full queue has marks the worker
//!   will take). The worker also sets `bitmapist_mark_queue_depth` (marks waiting, the
//!   batch included) and times each engine call in `bitmapist_mark_batch_seconds`;
//! - [`MarkQueue::shutdown`] stops accepting marks, writes everything already queued, then
//!   flushes the store: after it returns, every accepted mark is in the store.
//!
//! What a crash can lose: the marks still in the queue (at most its capacity) and the
//! batch being written; what the store lost on its own crash (see its docs).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bitmapist::{Bitmapist, MarkOptions};
use chrono::{DateTime, Utc};
use metrics::{Counter, Gauge, Histogram, Unit};
use serde::Serialize;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::task::JoinHandle;

use crate::user::UserKey;

/// The most marks written in one batch.
pub const MAX_BATCH: usize = 8192;

/// Whether a queued mark sets or clears its bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkKind {
    /// Set the user's bits (`mark_event`).
    Mark,
    /// Clear them (`unmark_event`).
    Unmark,
}

/// One mark waiting to be written.
#[derive(Clone, Debug)]
pub(crate) struct QueuedMark {
    pub event: Cow<'static, str>,
    pub user: UserKey,
    pub at: DateTime<Utc>,
    pub opts: MarkOptions,
    pub kind: MarkKind,
}

/// Counters of what happened to marks, since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Marks accepted into the queue.
    pub queued: u64,
    /// Marks written to the store.
    pub written: u64,
    /// Marks dropped because the queue was full or shut down.
    pub dropped: u64,
    /// Batches the store refused (their marks are lost).
    pub store_errors: u64,
    /// Requests whose user id could not be converted to a u32.
    pub user_id_errors: u64,
}

/// Counter `bitmapist_marks_queued_total`: marks accepted into the queue.
pub const METRIC_MARKS_QUEUED: &str = "bitmapist_marks_queued_total";
/// Counter `bitmapist_marks_written_total`: marks written to the store.
pub const METRIC_MARKS_WRITTEN: &str = "bitmapist_marks_written_total";
/// Counter `bitmapist_marks_dropped_total{reason}`: marks lost, by reason: `queue_full`,
/// `shut_down`, `store_error` (the store refused their batch), `user_id` (the request's
/// user id could not be used).
pub const METRIC_MARKS_DROPPED: &str = "bitmapist_marks_dropped_total";
/// Gauge `bitmapist_mark_queue_depth`: marks waiting to be written, set once per batch.
pub const METRIC_QUEUE_DEPTH: &str = "bitmapist_mark_queue_depth";
/// Histogram `bitmapist_mark_batch_seconds`: one engine call writing a batch's marks.
pub const METRIC_MARK_BATCH_SECONDS: &str = "bitmapist_mark_batch_seconds";

/// Gives every metric of the engine ([`bitmapist::describe_metrics`]) and of the mark
/// queue its help text and unit in the installed recorder. Call it once after installing
/// the recorder; recording works without it.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    bitmapist::describe_metrics();
    describe_counter!(
        METRIC_MARKS_QUEUED,
        Unit::Count,
        "Marks accepted into the mark queue."
    );
    describe_counter!(
        METRIC_MARKS_WRITTEN,
        Unit::Count,
        "Marks written to the store."
    );
    describe_counter!(METRIC_MARKS_DROPPED, Unit::Count, "Marks lost, by reason.");
    describe_gauge!(
        METRIC_QUEUE_DEPTH,
        Unit::Count,
        "Marks waiting in the mark queue."
    );
    describe_histogram!(
        METRIC_MARK_BATCH_SECONDS,
        Unit::Seconds,
        "Durations of the engine calls that write the queued marks."
    );
}

/// The [`Stats`] counters and their `metrics` handles, registered once.
#[derive(Debug)]
pub(crate) struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    store_errors: AtomicU64,
    user_id_errors: AtomicU64,
    /// The part of `dropped` refused because the queue was full.
    full: AtomicU64,
    metrics: QueueMetrics,
}

/// The handles of the queue's metrics.
#[derive(Debug)]
struct QueueMetrics {
    queued: Counter,
    written: Counter,
    queue_full: Counter,
    shut_down: Counter,
    store_error: Counter,
    user_id: Counter,
    depth: Gauge,
    batch_seconds: Histogram,
}

impl QueueMetrics {
    fn register() -> Self {
        let dropped =
            |reason: &'static str| metrics::counter!(METRIC_MARKS_DROPPED, "reason" => reason);
        QueueMetrics {
            queued: metrics::counter!(METRIC_MARKS_QUEUED),
            written: metrics::counter!(METRIC_MARKS_WRITTEN),
            queue_full: dropped("queue_full"),
            shut_down: dropped("shut_down"),
            store_error: dropped("store_error"),
            user_id: dropped("user_id"),
            depth: metrics::gauge!(METRIC_QUEUE_DEPTH),
            batch_seconds: metrics::histogram!(METRIC_MARK_BATCH_SECONDS),
        }
    }
}

impl Counters {
    /// Zero counts, and the metrics' handles registered with the installed recorder.
    pub(crate) fn register() -> Self {
        Counters {
            queued: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
            user_id_errors: AtomicU64::new(0),
            full: AtomicU64::new(0),
            metrics: QueueMetrics::register(),
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            queued: self.queued.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            store_errors: self.store_errors.load(Ordering::Relaxed),
            user_id_errors: self.user_id_errors.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn user_id_error(&self) {
        self.user_id_errors.fetch_add(1, Ordering::Relaxed);
        self.metrics.user_id.increment(1);
    }
}

/// Why a mark was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarkError {
    /// The queue is full: the store is slower than the marks arrive.
    #[error("the mark queue is full; the mark was dropped")]
    QueueFull,
    /// The extension was shut down.
    #[error("the mark queue is shut down; the mark was dropped")]
    ShutDown,
    /// The request has no logged-in user.
    #[error("no current user to mark the event for")]
    NoUser,
    /// The request's user id is not a u32.
    #[error("the current user's id cannot be used: {0}")]
    UserId(#[from] crate::user::UserIdError),
    /// The event name is empty.
    #[error("an event name must not be empty")]
    EmptyEvent,
    /// No extension is built (or every handle on it was dropped), so code outside a
    /// request (the SeaORM hooks) has nothing to mark through (see
    /// [`Marker::installed`](crate::Marker::installed)).
    #[error("no bitmapist extension is built; the mark was dropped")]
    NotInstalled,
}

/// The sending side, shared by every request, and the worker's handle.
#[derive(Debug)]
pub(crate) struct MarkQueue {
    tx: mpsc::Sender<QueuedMark>,
    counters: Arc<Counters>,
    close: Arc<Notify>,
    worker: Mutex<Option<JoinHandle<()>>>,
    pub(crate) client: Bitmapist,
}

impl MarkQueue {
    /// Starts the worker on the current Tokio runtime.
    pub(crate) fn start(client: Bitmapist, capacity: usize, counters: Arc<Counters>) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let close = Arc::new(Notify::new());
        let worker = tokio::spawn(run(
            client.clone(),
            rx,
            Arc::clone(&counters),
            Arc::clone(&close),
        ));
        MarkQueue {
            tx,
            counters,
            close,
            worker: Mutex::new(Some(worker)),
            client,
        }
    }

    /// Queues a mark without waiting.
    pub(crate) fn push(&self, mark: QueuedMark) -> Result<(), MarkError> {
        if mark.event.is_empty() {
            return Err(MarkError::EmptyEvent);
        }
        match self.tx.try_send(mark) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                let err = match e {
                    mpsc::error::TrySendError::Full(_) => {
                        self.counters.full.fetch_add(1, Ordering::Relaxed);
                        MarkError::QueueFull
                    }
                    mpsc::error::TrySendError::Closed(_) => {
                        self.counters.metrics.shut_down.increment(1);
                        MarkError::ShutDown
                    }
                };
                tracing::warn!(error = %err, "bitmapist: mark dropped");
                Err(err)
            }
        }
    }

    /// Stops accepting marks, writes the queued ones, flushes the store.
    pub(crate) async fn shutdown(&self) -> bitmapist::Result<()> {
        self.close.notify_one();
        let worker = self.worker.lock().await.take();
        if let Some(Err(e)) = match worker {
            Some(w) => Some(w.await),
            None => None,
        } {
            tracing::error!(error = %e, "bitmapist: mark worker failed");
        }
        self.client.flush().await
    }
}

async fn run(
    client: Bitmapist,
    mut rx: mpsc::Receiver<QueuedMark>,
    counters: Arc<Counters>,
    close: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut published = Published::default();
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            () = close.notified() => {
                rx.close();
                continue;
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        published.publish(&counters);
        counters.metrics.depth.set((batch.len() + rx.len()) as f64);
        write(&client, &mut batch, &counters).await;
        counters.metrics.depth.set(rx.len() as f64);
        published.publish(&counters);
    }
}

/// What the worker has published of the counts that requests make (see the module docs).
#[derive(Debug, Default)]
struct Published {
    queued: u64,
    full: u64,
}

impl Published {
    /// Adds what was counted since the last publication to the metrics.
    fn publish(&mut self, counters: &Counters) {
        let queued = counters.queued.load(Ordering::Relaxed);
        let full = counters.full.load(Ordering::Relaxed);
        let metrics = &counters.metrics;
        metrics.queued.increment(queued.saturating_sub(self.queued));
        metrics.queue_full.increment(full.saturating_sub(self.full));
        (self.queued, self.full) = (queued, full);
    }
}

/// Writes a batch: one engine call per (options, mark or unmark, dense or external ids).
async fn write(client: &Bitmapist, batch: &mut Vec<QueuedMark>, counters: &Counters) {
    let group_of = |m: &QueuedMark| {
        let external = matches!(m.user, UserKey::External(_));
        (m.opts.hourly, m.opts.unique, m.kind, external)
    };
    batch.sort_by_key(group_of);
    for group in batch.chunk_by(|a, b| group_of(a) == group_of(b)) {
        let (opts, kind) = (group[0].opts, group[0].kind);
        let started = Instant::now();
        let result = match &group[0].user {
            UserKey::Id(_) => {
                let items = group.iter().filter_map(|m| match m.user {
                    UserKey::Id(d) => Some((m.event.as_ref(), d, m.at)),
                    UserKey::External(_) => None,
                });
                match kind {
                    MarkKind::Mark => client.mark_events(items, opts).await,
                    MarkKind::Unmark => client.unmark_events(items, opts).await,
                }
            }
            UserKey::External(_) => {
                let items = group.iter().filter_map(|m| match &m.user {
                    UserKey::External(e) => Some((m.event.as_ref(), e.as_str(), m.at)),
                    UserKey::Id(_) => None,
                });
                match kind {
                    MarkKind::Mark => client.mark_events_external(items, opts).await,
                    MarkKind::Unmark => client.unmark_events_external(items, opts).await,
                }
            }
        };
        counters.metrics.batch_seconds.record(started.elapsed());
        match result {
            Ok(n) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                counters.metrics.written.increment(n);
            }
            Err(e) => {
                counters.store_errors.fetch_add(1, Ordering::Relaxed);
                counters.metrics.store_error.increment(group.len() as u64);
                tracing::error!(error = %e, marks = group.len(), "bitmapist: writing marks failed");
            }
        }
    }
    batch.clear();
}
