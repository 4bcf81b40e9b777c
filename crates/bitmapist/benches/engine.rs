//! Marking and cohort benchmarks: the embedded store, Redis and memory, in the same run.
//! Run: `cargo bench -p bitmapist --bench engine` (needs `redis-server` installed).
//!
//! Workloads (the targets are in BENCHMARKS.md):
//! - `mark/single`: one `mark_event` call (month, week and day keys) awaited at a time;
//! - `mark/batch`: `mark_events` with 100,000 marks spread over 30 days and 8 events;
//! - `cohort/30x30 days`: a 30 x 30 daily cohort, no replacement, over 100,000 users whose
//!   activity spans 60 days (sign-ups spread over the range, activity decaying with age).

use std::future::IntoFuture;
use std::time::Duration;

use bitmapist::{Bitmapist, CohortSpec, MarkOptions};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use bitmapist_test_support::{Rng, redis_server};

const USERS: u32 = 100_000;
const DAYS: i64 = 60;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

/// The benchmarks' dataset ([`bitmapist_test_support::activity`]).
fn activity() -> Vec<bitmapist_test_support::Mark> {
    bitmapist_test_support::activity(USERS, DAYS, start())
}

struct Stores {
    _redis: redis_server::RedisServer,
    _dir: tempfile::TempDir,
    list: Vec<(&'static str, Bitmapist)>,
}

fn stores(rt: &tokio::runtime::Runtime, tag: &str) -> Stores {
    let redis = redis_server::RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!(
        "file://{}",
        dir.path().join(format!("{tag}.redb")).display()
    );
    let list = rt.block_on(async {
        vec![
            ("embedded", Bitmapist::open(&file).await.expect("file")),
            ("redis", Bitmapist::open(&redis.url()).await.expect("redis")),
            (
                "memory",
                Bitmapist::open("memory://").await.expect("memory"),
            ),
        ]
    });
    Stores {
        _redis: redis,
        _dir: dir,
        list,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn mark(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt, "mark");
    let t = start();

    let mut g = c.benchmark_group("mark/single");
    g.throughput(Throughput::Elements(1));
    for (name, bm) in &s.list {
        let mut uid = 0u32;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| {
                uid = (uid + 7919) % USERS;
                bm.mark_event("bench:single", uid).at(t).into_future()
            })
        });
    }
    g.finish();

    let batch: Vec<(&str, u32, DateTime<Utc>)> = {
        let events = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
        let mut rng = Rng(42);
        (0..100_000)
            .map(|_| {
                let e = events[(rng.next() % 8) as usize];
                let uid = (rng.next() % u64::from(USERS)) as u32;
                (e, uid, t + Days::hours((rng.next() % (30 * 24)) as i64))
            })
            .collect()
    };
    let mut g = c.benchmark_group("mark/batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    for (name, bm) in &s.list {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt)
                .iter(|| bm.mark_events(batch.iter().copied(), MarkOptions::default()))
        });
    }
    g.finish();
}

fn cohort(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt, "cohort");
    let marks = activity();
    rt.block_on(async {
        for (_, bm) in &s.list {
            bm.mark_events(marks.iter().copied(), MarkOptions::default())
                .await
                .expect("load");
            bm.flush().await.expect("flush");
        }
    });
    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .rows(30)
        .cols(30)
        .now(start() + Days::days(DAYS - 1) + Days::hours(12));
    let mut g = c.benchmark_group("cohort/30x30 days");
    g.measurement_time(Duration::from_secs(5));
    for (name, bm) in &s.list {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| bm.get_cohort(&spec))
        });
    }
    g.finish();
}

criterion_group!(benches, mark, cohort);
criterion_main!(benches);
