//! Dashboard benchmarks: the cohort page end to end, beside the same table computed the way
//! Flask-Bitmapist computes it on Redis. Run: `cargo bench -p axum-bitmapist --bench
//! dashboard` (needs `redis-server` installed; starts its own on a free port).
//!
//! Data: the engine benchmark's (`crates/bitmapist/benches/engine.rs`): 100,000 users whose
//! activity spans 60 days, about 1.1 million marks, loaded into the embedded store and into
//! Redis. Workloads:
//!
//! - `dashboard/cohort page 30x30 days`: `GET /bitmapist/cohort?...&num_rows=30&num_cols=30`
//!   through the router (parsing, the table, HTML rendering, the body read whole), on the
//!   embedded store and on Redis;
//! - `dashboard/cohort json 30x30 days`: `GET /bitmapist/api/cohort?...` on the embedded store;
//! - `dashboard/overview page`: `GET /bitmapist` on the embedded store (2 events);
//! - `python-way/redis 30x30 days`: Flask-Bitmapist's algorithm on the same Redis: per row a
//!   `BITCOUNT` of the primary key, per cell `EXISTS` of the secondary key, `BITOP AND` into
//!   a temporary key and `BITCOUNT` of it, and (without replacement) `BITOP XOR` of the
//!   row's users with it into another temporary key; one round trip per command, as
//!   redis-py sends them; the temporary keys deleted at the end. The temporary keys get
//!   short names here: the original names them after their inputs, and those names double
//!   at every cell of a row (a 30x30 table exceeds Redis's 512 MB argument limit), so this
//!   is the best case for the original.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum_bitmapist::{Access, Dashboard};
use bitmapist::{Bitmapist, CohortSpec, MarkOptions, Period, TimeGroup};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

use bitmapist_test_support::redis_server;

const USERS: u32 = 100_000;
const DAYS: i64 = 60;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

/// The moment the tables are drawn at: noon of the last day.
fn now() -> DateTime<Utc> {
    start() + Days::days(DAYS - 1) + Days::hours(12)
}

/// The benchmarks' dataset ([`bitmapist_test_support::activity`]).
fn activity() -> Vec<bitmapist_test_support::Mark> {
    bitmapist_test_support::activity(USERS, DAYS, start())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn dashboard(bm: &Bitmapist) -> Router {
    Router::new().nest(
        "/bitmapist",
        Dashboard::new(bm.clone()).access(Access::Public).router(),
    )
}

async fn get(app: &Router, uri: &str) -> usize {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), 200, "{uri}");
    axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body")
        .len()
}

/// Flask-Bitmapist's `get_cohort` on Redis, one command per round trip.
fn python_way(
    con: &mut redis::Connection,
    spec: &CohortSpec,
    layout: &bitmapist::KeyLayout,
) -> Vec<Vec<Option<u64>>> {
    let periods = spec.periods().expect("periods");
    let mut temporary: Vec<String> = Vec::new();
    let mut table = Vec::new();
    for (i, p) in periods.iter().enumerate() {
        let primary = layout.key(&spec.primary, p);
        let total: u64 = redis::cmd("BITCOUNT")
            .arg(&primary)
            .query(con)
            .expect("BITCOUNT");
        if total == 0 {
            table.push(vec![None; spec.cols]);
            continue;
        }
        let mut users = primary;
        let mut row = Vec::with_capacity(spec.cols);
        for j in 0..spec.cols {
            let cell_period: Period = p.offset(j as i64).expect("period");
            let secondary = layout.key(&spec.secondary, &cell_period);
            let exists: bool = redis::cmd("EXISTS")
                .arg(&secondary)
                .query(con)
                .expect("EXISTS");
            if !exists {
                row.push(None);
                continue;
            }
            let and = format!("bench_bitop_and_{i}_{j}");
            let _: i64 = redis::cmd("BITOP")
                .arg("AND")
                .arg(&and)
                .arg(&secondary)
                .arg(&users)
                .query(con)
                .expect("BITOP AND");
            let n: u64 = redis::cmd("BITCOUNT")
                .arg(&and)
                .query(con)
                .expect("BITCOUNT");
            temporary.push(and.clone());
            if !spec.with_replacement {
                let xor = format!("bench_bitop_xor_{i}_{j}");
                let _: i64 = redis::cmd("BITOP")
                    .arg("XOR")
                    .arg(&xor)
                    .arg(&users)
                    .arg(&and)
                    .query(con)
                    .expect("BITOP XOR");
                temporary.push(xor.clone());
                users = xor;
            }
            row.push(Some(n));
        }
        table.push(row);
    }
    let _: i64 = redis::cmd("DEL").arg(&temporary).query(con).expect("DEL");
    table
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let redis = redis_server::RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("dashboard.redb").display());
    let marks = activity();
    let (embedded, on_redis) = rt.block_on(async {
        let embedded = Bitmapist::open(&file).await.expect("embedded");
        let on_redis = Bitmapist::open(&redis.url()).await.expect("redis");
        for bm in [&embedded, &on_redis] {
            bm.mark_events(marks.iter().copied(), MarkOptions::default())
                .await
                .expect("load");
            bm.flush().await.expect("flush");
        }
        (embedded, on_redis)
    });
    let now = now();
    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .time_group(TimeGroup::Days)
        .rows(30)
        .cols(30)
        .now(now);
    let query = format!(
        "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=days\
         &num_rows=30&num_cols=30&now={}",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );

    // The original's way must draw the same table.
    let mut con = redis.raw_connection();
    let expected = rt
        .block_on(embedded.get_cohort(&spec))
        .expect("cohort")
        .cohort;
    assert_eq!(python_way(&mut con, &spec, embedded.layout()), expected);

    let mut g = c.benchmark_group("dashboard/cohort page 30x30 days");
    g.measurement_time(Duration::from_secs(5));
    for (name, bm) in [("embedded", &embedded), ("redis", &on_redis)] {
        let app = dashboard(bm);
        let uri = format!("/bitmapist/cohort?{query}");
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| get(&app, &uri))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("dashboard/cohort json 30x30 days");
    g.measurement_time(Duration::from_secs(5));
    let app = dashboard(&embedded);
    let uri = format!("/bitmapist/api/cohort?{query}");
    g.bench_function(BenchmarkId::from_parameter("embedded"), |b| {
        b.to_async(&rt).iter(|| get(&app, &uri))
    });
    g.finish();

    let mut g = c.benchmark_group("dashboard/overview page");
    g.measurement_time(Duration::from_secs(5));
    let uri = format!("/bitmapist?now={}", now.format("%Y-%m-%dT%H:%M:%SZ"));
    g.bench_function(BenchmarkId::from_parameter("embedded"), |b| {
        b.to_async(&rt).iter(|| get(&app, &uri))
    });
    g.finish();

    let mut g = c.benchmark_group("python-way/redis 30x30 days");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function(BenchmarkId::from_parameter("BITOP per cell"), |b| {
        b.iter(|| python_way(&mut con, &spec, embedded.layout()))
    });
    g.finish();
}

criterion_group!(dashboard_benches, benches);
criterion_main!(dashboard_benches);
