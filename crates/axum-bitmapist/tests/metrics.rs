//! The metrics an app publishes, scraped over real HTTP from the Prometheus exporter: the
//! counts of marks queued, written and dropped match what the app's requests were told,
//! while redis-server answers, while it hangs (paused: batches fail, the queue fills) and
//! after it recovers; queries and Redis round trips are counted; the embedded store's
//! commits are measured.
//!
//! One test: the recorder is global to the process, and every count here is a difference
//! between two scrapes of it.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::routing::{get, post};
use axum_bitmapist::{AxumBitmapist, MarkError, Tracker};
use bitmapist::TimeGroup;
use chrono::Utc;
use common::redis_server::{RedisServer, free_port};
use common::{get as http_get, post as http_post, serve};
use metrics_exporter_prometheus::PrometheusBuilder;

const EVENT: &str = "metrics:visit";

#[derive(serde::Deserialize)]
struct User {
    user: u32,
}

/// `POST /mark?user=N` marks [`EVENT`] for N through the tracker and answers what the queue
/// said; `GET /count` answers how many users did [`EVENT`] today (a count query).
fn routes() -> Router {
    Router::new()
        .route(
            "/mark",
            post(|tracker: Tracker, Query(u): Query<User>| async move {
                match tracker.mark_event_for(EVENT, u.user) {
                    Ok(()) => "queued".to_string(),
                    Err(MarkError::QueueFull) => "full".to_string(),
                    Err(e) => format!("other: {e}"),
                }
            }),
        )
        .route(
            "/count",
            get(|tracker: Tracker| async move {
                let q = tracker
                    .client()
                    .get_event_data(EVENT, TimeGroup::Days, Utc::now())
                    .expect("query");
                q.count().await.expect("count").to_string()
            }),
        )
}

/// The exporter's samples: series (name with its labels, as printed) to value.
async fn scrape(exporter: SocketAddr) -> HashMap<String, f64> {
    let reply = http_get(exporter, "/metrics", None).await;
    assert_eq!(reply.status, 200, "scrape: {}", reply.body);
    reply
        .body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// A series' value (0 when the exporter does not print it yet).
fn value(samples: &HashMap<String, f64>, series: &str) -> u64 {
    samples.get(series).copied().unwrap_or(0.0) as u64
}

const QUEUED: &str = "bitmapist_marks_queued_total";
const WRITTEN: &str = "bitmapist_marks_written_total";
const FULL: &str = "bitmapist_marks_dropped_total{reason=\"queue_full\"}";
const STORE_ERROR: &str = "bitmapist_marks_dropped_total{reason=\"store_error\"}";

/// The counts that move in this test, read from one scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counts {
    queued: u64,
    written: u64,
    full: u64,
    store_error: u64,
}

async fn counts(exporter: SocketAddr) -> Counts {
    let s = scrape(exporter).await;
    Counts {
        queued: value(&s, QUEUED),
        written: value(&s, WRITTEN),
        full: value(&s, FULL),
        store_error: value(&s, STORE_ERROR),
    }
}

/// Scrapes until `queued` marks are counted as queued and each of them as written or
/// dropped by a store error (the queue is empty), at most 60 s. (The queue publishes its
/// counts as its worker takes marks, so a scrape may lag a request by one batch.)
async fn settled(exporter: SocketAddr, queued: u64) -> Counts {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = counts(exporter).await;
        if c.queued == queued && c.queued == c.written + c.store_error {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "the queue never drained, or the count of queued marks is not {queued}: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `POST /mark` for each user; how many the queue accepted and how many it refused
/// because it was full (anything else fails the test).
async fn mark_all(app: SocketAddr, users: impl Iterator<Item = u32>) -> (u64, u64) {
    let (mut queued, mut full) = (0, 0);
    for u in users {
        let r = http_post(app, &format!("/mark?user={u}"), None).await;
        assert_eq!(r.status, 200);
        match r.body.as_str() {
            "queued" => queued += 1,
            "full" => full += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    (queued, full)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_counts_match_the_marks_made() {
    let port = free_port();
    PrometheusBuilder::new()
        .with_http_listener(([127, 0, 0, 1], port))
        .install()
        .expect("install the Prometheus exporter");
    axum_bitmapist::describe_metrics();
    let exporter = SocketAddr::from(([127, 0, 0, 1], port));

    // --- redis-server answering: every mark is queued and written.
    let redis = RedisServer::start();
    // A hung server costs a request 2 s, then calls fail fast for 2 s (see RedisStore).
    let url = format!(
        "{}?connect_timeout_ms=2000&response_timeout_ms=2000",
        redis.url()
    );
    let ext = AxumBitmapist::builder()
        .url(url)
        .queue_capacity(4)
        .build()
        .await
        .expect("build");
    let app = serve(ext.init_app(routes())).await;
    let start = counts(exporter).await;

    let (mut healthy, mut healthy_full) = (0, 0);
    for batch in 0..5u32 {
        let (queued, full) = mark_all(app, (batch * 10 + 1)..=(batch * 10 + 10)).await;
        healthy += queued;
        healthy_full += full;
        settled(exporter, start.queued + healthy).await;
    }
    assert!(healthy > 0);
    let after_healthy = settled(exporter, start.queued + healthy).await;
    assert_eq!(after_healthy.queued - start.queued, healthy);
    assert_eq!(after_healthy.written - start.written, healthy);
    assert_eq!(after_healthy.full - start.full, healthy_full);
    assert_eq!(after_healthy.store_error, start.store_error);

    // The count query sees the users whose marks were accepted (each a different user), and
    // is timed as a `count` query.
    let queries_before = value(
        &scrape(exporter).await,
        "bitmapist_query_seconds_count{kind=\"count\"}",
    );
    for _ in 0..3 {
        let r = http_get(app, "/count", None).await;
        assert_eq!(r.body, healthy.to_string());
    }
    let s = scrape(exporter).await;
    assert_eq!(
        value(&s, "bitmapist_query_seconds_count{kind=\"count\"}") - queries_before,
        3
    );
    assert!(value(&s, "bitmapist_redis_round_trips_total{store=\"redis\"}") >= 5 + 3);

    // --- redis-server hung: batches fail (their marks dropped as store errors) and the
    // queue fills (marks dropped as queue_full). The answers say which.
    let errors_before = value(
        &s,
        "bitmapist_store_errors_total{store=\"redis\",kind=\"timeout\"}",
    ) + value(
        &s,
        "bitmapist_store_errors_total{store=\"redis\",kind=\"connection\"}",
    );
    redis.pause();
    let (queued, full) = mark_all(app, 1001..=1040).await;
    assert_eq!(queued + full, 40);
    assert!(full > 0, "a hung store fills the 4-mark queue");
    let after_fault = settled(exporter, after_healthy.queued + queued).await;
    assert_eq!(after_fault.queued - after_healthy.queued, queued);
    assert_eq!(after_fault.full - after_healthy.full, full);
    assert_eq!(after_fault.store_error - after_healthy.store_error, queued);
    assert_eq!(after_fault.written, after_healthy.written);
    let s = scrape(exporter).await;
    let errors_after = value(
        &s,
        "bitmapist_store_errors_total{store=\"redis\",kind=\"timeout\"}",
    ) + value(
        &s,
        "bitmapist_store_errors_total{store=\"redis\",kind=\"connection\"}",
    );
    assert!(
        errors_after > errors_before,
        "the failures are counted by kind"
    );

    // --- redis-server back: marks are written again.
    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut recovered = 0;
    let mut user = 2001;
    while recovered < 10 {
        assert!(Instant::now() < deadline, "marks never written again");
        let before = counts(exporter).await;
        let (queued, _) = mark_all(app, user..=user).await;
        user += 1;
        let after = settled(exporter, before.queued + queued).await;
        if after.written > before.written {
            assert_eq!(after.written - before.written, queued);
            recovered += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    ext.shutdown().await.expect("shutdown");

    // --- the embedded store: commits are measured (one event, one day: three keys).
    let dir = tempfile::tempdir().expect("temp dir");
    let before = scrape(exporter).await;
    let file = AxumBitmapist::builder()
        .url(format!("file://{}", dir.path().join("m.redb").display()))
        .build()
        .await
        .expect("build on a file");
    let app = serve(file.init_app(routes())).await;
    let (queued, _) = mark_all(app, 1..=5).await;
    assert_eq!(queued, 5);
    file.shutdown().await.expect("shutdown writes and commits");
    settled(exporter, value(&before, QUEUED) + 5).await;
    let after = scrape(exporter).await;
    assert!(
        value(&after, "bitmapist_store_commit_seconds_count")
            > value(&before, "bitmapist_store_commit_seconds_count")
    );
    assert!(
        value(&after, "bitmapist_store_commit_keys_sum")
            >= value(&before, "bitmapist_store_commit_keys_sum") + 3
    );
    assert_eq!(value(&after, WRITTEN) - value(&before, WRITTEN), 5);
}
