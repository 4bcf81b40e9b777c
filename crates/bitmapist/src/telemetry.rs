//! The metrics the engine records through the [`metrics`] facade: query durations by kind,
//! the embedded store's commits and cache, Redis round trips, store errors by kind.
//!
//! Why: a team runs bitmapist the way it runs any service, with Prometheus and Grafana; a
//! library must not choose the exporter, so the engine records through the `metrics` facade
//! and the application installs a recorder (`metrics-exporter-prometheus` in our binaries
//! and demos). Without a recorder every handle is a no-op.
//!
//! How: every component registers its handles once, when it is built (a store when it
//! opens, a [`Bitmapist`](crate::Bitmapist) handle when it is made), with `&'static str`
//! labels; recording is then an atomic operation on a handle: no registry lookup, no label
//! formatting, no allocation. A query method times itself with one line,
//! `let _timer = self.time(QueryKind::Cohort);` (a new kind of query adds a variant to
//! [`QueryKind`] and that line), which records the elapsed
//! time into `bitmapist_query_seconds{kind="cohort"}` when it is dropped (answered, failed
//! or cancelled alike).
//!
//! Invariants:
//! - the metric names and labels are the constants below, each listed once in the
//!   README's Operations table; [`describe_metrics`] gives each its help text and unit;
//! - a handle is bound to the recorder installed when it was registered: install the
//!   recorder before opening stores and handles (a component built earlier records
//!   nothing);
//! - nothing here can fail or panic: recording never returns an error.
//!
//! What a crash can lose: the counts since the last scrape (they live in the recorder's
//! memory, as Prometheus expects of a counter that restarts from zero).

use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Unit};

/// Histogram `bitmapist_query_seconds{kind}`: how long a query took, by kind.
pub const METRIC_QUERY_SECONDS: &str = "bitmapist_query_seconds";
/// Histogram `bitmapist_store_commit_seconds`: the embedded store's commits (one redb write
/// transaction with fsync each).
pub const METRIC_COMMIT_SECONDS: &str = "bitmapist_store_commit_seconds";
/// Histogram `bitmapist_store_commit_keys`: keys written or removed per embedded commit.
pub const METRIC_COMMIT_KEYS: &str = "bitmapist_store_commit_keys";
/// Histogram `bitmapist_store_commit_bytes`: serialized bitmap bytes per embedded commit.
pub const METRIC_COMMIT_BYTES: &str = "bitmapist_store_commit_bytes";
/// Counter `bitmapist_store_errors_total{store,kind}`: store failures, by store and kind.
pub const METRIC_STORE_ERRORS: &str = "bitmapist_store_errors_total";
/// Gauge `bitmapist_cache_bytes`: the embedded store's cached bitmaps, serialized size.
pub const METRIC_CACHE_BYTES: &str = "bitmapist_cache_bytes";
/// Gauge `bitmapist_cache_bitmaps`: how many bitmaps the embedded store has cached.
pub const METRIC_CACHE_BITMAPS: &str = "bitmapist_cache_bitmaps";
/// Counter `bitmapist_cache_evictions_total`: idle bitmaps dropped from the embedded cache.
pub const METRIC_CACHE_EVICTIONS: &str = "bitmapist_cache_evictions_total";
/// Counter `bitmapist_redis_round_trips_total{store}`: requests (a pipeline counts once)
/// sent to Redis (`store="redis"`) or to a Redis Cluster node (`store="cluster"`).
pub const METRIC_REDIS_ROUND_TRIPS: &str = "bitmapist_redis_round_trips_total";

/// Gives every engine metric its help text and unit in the installed recorder (the
/// Prometheus exporter prints them as `# HELP`). Call it once after installing the
/// recorder; recording works without it.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        METRIC_QUERY_SECONDS,
        Unit::Seconds,
        "Query durations by kind."
    );
    describe_histogram!(
        METRIC_COMMIT_SECONDS,
        Unit::Seconds,
        "Embedded store commit durations (one write transaction, fsync included)."
    );
    describe_histogram!(
        METRIC_COMMIT_KEYS,
        Unit::Count,
        "Keys written or removed per embedded store commit."
    );
    describe_histogram!(
        METRIC_COMMIT_BYTES,
        Unit::Bytes,
        "Serialized bitmap bytes written per embedded store commit."
    );
    describe_counter!(
        METRIC_STORE_ERRORS,
        Unit::Count,
        "Store failures by store and kind."
    );
    describe_gauge!(
        METRIC_CACHE_BYTES,
        Unit::Bytes,
        "Serialized size of the bitmaps the embedded store caches."
    );
    describe_gauge!(
        METRIC_CACHE_BITMAPS,
        Unit::Count,
        "Bitmaps the embedded store caches."
    );
    describe_counter!(
        METRIC_CACHE_EVICTIONS,
        Unit::Count,
        "Idle bitmaps evicted from the embedded store's cache."
    );
    describe_counter!(
        METRIC_REDIS_ROUND_TRIPS,
        Unit::Count,
        "Requests sent to Redis or a Redis Cluster node (a pipeline counts once)."
    );
}

/// The kinds of query timed in `bitmapist_query_seconds` (its `kind` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueryKind {
    /// `Query::count`, `Bitmapist::count_events`.
    Count,
    /// `Query::bitmap`, `Query::ids`: an expression's members.
    Bitmap,
    /// `Bitmapist::get_cohort`.
    Cohort,
    /// `Bitmapist::retention`.
    Retention,
    /// `Bitmapist::funnel`.
    Funnel,
    /// `Bitmapist::stickiness`.
    Stickiness,
    /// `Bitmapist::lifecycle`.
    Lifecycle,
    /// `Bitmapist::trends`.
    Trends,
}

impl QueryKind {
    const ALL: [QueryKind; 8] = [
        QueryKind::Count,
        QueryKind::Bitmap,
        QueryKind::Cohort,
        QueryKind::Retention,
        QueryKind::Funnel,
        QueryKind::Stickiness,
        QueryKind::Lifecycle,
        QueryKind::Trends,
    ];

    /// The `kind` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            QueryKind::Count => "count",
            QueryKind::Bitmap => "bitmap",
            QueryKind::Cohort => "cohort",
            QueryKind::Retention => "retention",
            QueryKind::Funnel => "funnel",
            QueryKind::Stickiness => "stickiness",
            QueryKind::Lifecycle => "lifecycle",
            QueryKind::Trends => "trends",
        }
    }
}

/// One histogram per query kind, registered when a handle is made.
#[derive(Clone)]
pub(crate) struct QueryTimers {
    by_kind: [Histogram; QueryKind::ALL.len()],
}

impl QueryTimers {
    pub(crate) fn register() -> Self {
        QueryTimers {
            by_kind: QueryKind::ALL
                .map(|kind| metrics::histogram!(METRIC_QUERY_SECONDS, "kind" => kind.label())),
        }
    }

    /// Starts timing a query of `kind`; the time is recorded when the guard drops.
    pub(crate) fn start(&self, kind: QueryKind) -> QueryTimer<'_> {
        let index = QueryKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default();
        QueryTimer {
            histogram: &self.by_kind[index],
            started: Instant::now(),
        }
    }
}

/// Records the time since [`QueryTimers::start`] when dropped.
pub(crate) struct QueryTimer<'a> {
    histogram: &'a Histogram,
    started: Instant,
}

impl Drop for QueryTimer<'_> {
    fn drop(&mut self) {
        self.histogram.record(self.started.elapsed());
    }
}

/// A Redis or Redis Cluster store's round trips and failures.
#[derive(Clone)]
pub(crate) struct RedisMetrics {
    round_trips: Counter,
    timeouts: Counter,
    connection: Counter,
    response: Counter,
}

impl RedisMetrics {
    /// Registers the handles of a store labelled `store` (`redis` or `cluster`).
    pub(crate) fn register(store: &'static str) -> Self {
        let errors = |kind: &'static str| metrics::counter!(METRIC_STORE_ERRORS, "store" => store, "kind" => kind);
        RedisMetrics {
            round_trips: metrics::counter!(METRIC_REDIS_ROUND_TRIPS, "store" => store),
            timeouts: errors("timeout"),
            connection: errors("connection"),
            response: errors("response"),
        }
    }

    /// One request sent (a pipeline counts once).
    pub(crate) fn round_trip(&self) {
        self.round_trips.increment(1);
    }

    /// One request failed: `timeout`, `connection` (refused, dropped, I/O) or `response`
    /// (an error reply or a reply of the wrong shape).
    pub(crate) fn error(&self, e: &redis::RedisError) {
        if e.is_timeout() {
            self.timeouts.increment(1);
        } else if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
            self.connection.increment(1);
        } else {
            self.response.increment(1);
        }
    }

    /// A command of a request got an error reply (`WRONGTYPE`, ...).
    pub(crate) fn error_reply(&self) {
        self.response.increment(1);
    }
}

/// The embedded store's commits and cache.
pub(crate) struct EmbeddedMetrics {
    commit_seconds: Histogram,
    commit_keys: Histogram,
    commit_bytes: Histogram,
    commit_errors: Counter,
    cache_bytes: Gauge,
    cache_bitmaps: Gauge,
    evictions: Counter,
}

impl EmbeddedMetrics {
    pub(crate) fn register() -> Self {
        EmbeddedMetrics {
            commit_seconds: metrics::histogram!(METRIC_COMMIT_SECONDS),
            commit_keys: metrics::histogram!(METRIC_COMMIT_KEYS),
            commit_bytes: metrics::histogram!(METRIC_COMMIT_BYTES),
            commit_errors: metrics::counter!(METRIC_STORE_ERRORS, "store" => "embedded", "kind" => "commit"),
            cache_bytes: metrics::gauge!(METRIC_CACHE_BYTES),
            cache_bitmaps: metrics::gauge!(METRIC_CACHE_BITMAPS),
            evictions: metrics::counter!(METRIC_CACHE_EVICTIONS),
        }
    }

    /// A commit that succeeded: its duration, keys and bytes.
    pub(crate) fn committed(&self, started: Instant, keys: usize, bytes: usize) {
        self.commit_seconds.record(started.elapsed());
        self.commit_keys.record(keys as f64);
        self.commit_bytes.record(bytes as f64);
    }

    /// A commit that failed (its entries stay dirty for the next).
    pub(crate) fn commit_failed(&self) {
        self.commit_errors.increment(1);
    }

    /// Bitmaps evicted from the cache.
    pub(crate) fn evicted(&self, n: usize) {
        self.evictions.increment(n as u64);
    }

    /// What the cache holds now.
    pub(crate) fn cache_footprint(&self, bitmaps: usize, bytes: usize) {
        self.cache_bitmaps.set(bitmaps as f64);
        self.cache_bytes.set(bytes as f64);
    }
}
