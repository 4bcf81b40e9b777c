//! Marking by external id beside marking by `u32`, same data, same run: the embedded file,
//! Redis and memory. Run: `cargo bench -p bitmapist --bench idmap` (needs `redis-server`).
//!
//! Workloads (100,000 marks over 8 events and 30 days, 100,000 distinct users):
//! - `idmap/u32`: `mark_events` with `u32` ids (the baseline);
//! - `idmap/external`: `mark_events_external` with string ids `user-N@example.com`, all
//!   already in the map and in this handle's cache (the steady state of a running app); the
//!   batch of `(event, &str, time)` is built before the measurement, as the u32 one is;
//! - `idmap/external-uncached`: the same through a fresh handle per batch (no cache: every
//!   id is looked up in the store: a redb read, or one `HMGET` per 10,000 ids on Redis).

use std::sync::Arc;
use std::time::Duration;

use bitmapist::{Bitmapist, MarkOptions};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use bitmapist_test_support::{Rng, redis_server};

const USERS: u32 = 100_000;

fn idmap(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = redis_server::RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("idmap.redb").display());
    let stores: Vec<(&str, Bitmapist)> = rt.block_on(async {
        vec![
            ("embedded", Bitmapist::open(&file).await.expect("file")),
            ("redis", Bitmapist::open(&redis.url()).await.expect("redis")),
            (
                "memory",
                Bitmapist::open("memory://").await.expect("memory"),
            ),
        ]
    });
    let t = Utc
        .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let events = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
    let names: Vec<String> = (0..USERS)
        .map(|i| format!("user-{i}@example.com"))
        .collect();
    let mut rng = Rng(42);
    let batch: Vec<(&str, u32, DateTime<Utc>)> = (0..100_000)
        .map(|_| {
            let e = events[(rng.next() % 8) as usize];
            let uid = (rng.next() % u64::from(USERS)) as u32;
            (e, uid, t + Days::hours((rng.next() % (30 * 24)) as i64))
        })
        .collect();
    // The same marks with string ids, built before the measurement as the u32 batch is
    // (each id is its own heap string, read at random as a running app's requests are).
    let external: Vec<(&str, &str, DateTime<Utc>)> = batch
        .iter()
        .map(|&(e, u, at)| (e, names[u as usize].as_str(), at))
        .collect();
    // Assign every user once (ids 1..=USERS in order), outside the measurement.
    for (_, bm) in &stores {
        rt.block_on(bm.ids().assign(&names)).expect("assign");
    }

    let mut g = c.benchmark_group("idmap");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (name, bm) in &stores {
        g.bench_function(BenchmarkId::new("u32", name), |b| {
            b.to_async(&rt)
                .iter(|| bm.mark_events(batch.iter().copied(), MarkOptions::default()))
        });
        g.bench_function(BenchmarkId::new("external", name), |b| {
            b.to_async(&rt)
                .iter(|| bm.mark_events_external(external.iter().copied(), MarkOptions::default()))
        });
        g.bench_function(BenchmarkId::new("external-uncached", name), |b| {
            b.to_async(&rt).iter(|| async {
                let fresh = Bitmapist::builder()
                    .store(Arc::clone(bm.store()))
                    .open()
                    .await
                    .expect("handle");
                fresh
                    .mark_events_external(external.iter().copied(), MarkOptions::default())
                    .await
            })
        });
    }
    g.finish();
}

criterion_group!(benches, idmap);
criterion_main!(benches);
