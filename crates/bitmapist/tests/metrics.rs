//! The engine's metrics, read from a real Prometheus recorder: Redis round trips counted
//! one per request on redis-server and on a Redis Cluster, failures counted by kind when
//! the server is gone, query durations counted by kind, the embedded store's commits
//! measured.
//!
//! One test: the recorder is global to the process; every count is a difference between
//! two renders of it.

use bitmapist::{Bitmapist, CohortSpec, FunnelSpec, TimeGroup};
use bitmapist_test_support::redis_cluster::RedisCluster;
use bitmapist_test_support::redis_server::RedisServer;
use chrono::Utc;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// A series' value in the rendered text (0 when not printed).
fn value(handle: &PrometheusHandle, series: &str) -> u64 {
    handle
        .render()
        .lines()
        .find_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            (name == series).then(|| v.parse::<f64>().ok())?
        })
        .unwrap_or(0.0) as u64
}

const REDIS_TRIPS: &str = "bitmapist_redis_round_trips_total{store=\"redis\"}";
const CLUSTER_TRIPS: &str = "bitmapist_redis_round_trips_total{store=\"cluster\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_records_round_trips_queries_errors_and_commits() {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("install the recorder");
    bitmapist::describe_metrics();

    // redis-server: one count of one day key is one request.
    let mut redis = RedisServer::start();
    let bm = Bitmapist::open(&redis.url()).await.expect("open");
    let now = Utc::now();
    for uid in 1..=10 {
        bm.mark_event("a", uid).await.expect("mark");
    }
    let trips = value(&handle, REDIS_TRIPS);
    let counts = value(&handle, "bitmapist_query_seconds_count{kind=\"count\"}");
    for _ in 0..7 {
        let day = bm.get_event_data("a", TimeGroup::Days, now).expect("query");
        assert_eq!(day.count().await.expect("count"), 10);
    }
    assert_eq!(value(&handle, REDIS_TRIPS) - trips, 7);
    assert_eq!(
        value(&handle, "bitmapist_query_seconds_count{kind=\"count\"}") - counts,
        7
    );

    // Cohorts and funnels are timed under their own kinds.
    let cohorts = value(&handle, "bitmapist_query_seconds_count{kind=\"cohort\"}");
    let funnels = value(&handle, "bitmapist_query_seconds_count{kind=\"funnel\"}");
    bm.get_cohort(&CohortSpec::new("a", "a").rows(3).cols(3))
        .await
        .expect("cohort");
    bm.funnel(&FunnelSpec::new(["a", "b"]).rows(2))
        .await
        .expect("funnel");
    assert_eq!(
        value(&handle, "bitmapist_query_seconds_count{kind=\"cohort\"}") - cohorts,
        1
    );
    assert_eq!(
        value(&handle, "bitmapist_query_seconds_count{kind=\"funnel\"}") - funnels,
        1
    );

    // The server gone: the failure is counted as a connection error.
    let errors = "bitmapist_store_errors_total{store=\"redis\",kind=\"connection\"}";
    let before = value(&handle, errors);
    redis.kill();
    let day = bm.get_event_data("a", TimeGroup::Days, now).expect("query");
    assert!(day.count().await.is_err(), "the server is gone");
    assert!(value(&handle, errors) > before, "{}", handle.render());

    // A Redis Cluster: every request to a node is counted.
    let cluster = RedisCluster::start(3, 0);
    let bm = Bitmapist::open(&cluster.url()).await.expect("open cluster");
    let trips = value(&handle, CLUSTER_TRIPS);
    for uid in 1..=10 {
        bm.mark_event("c", uid).await.expect("mark");
    }
    let day = bm.get_event_data("c", TimeGroup::Days, now).expect("query");
    assert_eq!(day.count().await.expect("count"), 10);
    assert!(
        value(&handle, CLUSTER_TRIPS) >= trips + 11,
        "ten marks and one count: {}",
        handle.render()
    );

    // The embedded store: a flush commits the three keys of one event on one day.
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().join("m.redb").display());
    let bm = Bitmapist::open(&url).await.expect("open file");
    let commits = value(&handle, "bitmapist_store_commit_seconds_count");
    let keys = value(&handle, "bitmapist_store_commit_keys_sum");
    bm.mark_event("e", 1).await.expect("mark");
    bm.flush().await.expect("flush");
    assert!(value(&handle, "bitmapist_store_commit_seconds_count") > commits);
    assert!(value(&handle, "bitmapist_store_commit_keys_sum") >= keys + 3);
}
