//! Marking cost in UTC against a zone with DST (Europe/Berlin), in the same run, on the
//! memory store (the engine's own cost, where a zone's share is largest) and the embedded
//! file store. Run: `cargo bench -p bitmapist --bench timezone`.
//!
//! - `tz mark/batch/{store}/{zone}`: `mark_events` with 100,000 marks at random minutes over
//!   30 days that include the autumn DST change, 8 events, hourly keys on;
//! - `tz mark/single/{store}/{zone}`: one `mark_event` awaited at a time;
//! - `tz local day/{zone}`: the zone's own share, the local day of each of the 100,000
//!   instants (`Zone::period_containing`), no store.

use std::future::IntoFuture;

use bitmapist::{Bitmapist, MarkOptions, Zone};
use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// xorshift: the same marks for every variant.
fn marks(start: DateTime<Utc>) -> Vec<(&'static str, u32, DateTime<Utc>)> {
    let events = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
    let mut rng = bitmapist_test_support::Rng(42);
    let mut next = move || rng.next();
    (0..100_000)
        .map(|_| {
            let e = events[(next() % 8) as usize];
            let uid = (next() % 100_000) as u32;
            (
                e,
                uid,
                start + Duration::minutes((next() % (30 * 24 * 60)) as i64),
            )
        })
        .collect()
}

/// Commits every store's pending writes.
fn flush_all(rt: &tokio::runtime::Runtime, handles: &[(String, Bitmapist)]) {
    for (_, bm) in handles {
        rt.block_on(bm.flush()).expect("flush");
    }
}

fn mark(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Utc
        .with_ymd_and_hms(2026, 10, 10, 0, 0, 0)
        .single()
        .expect("valid");
    let batch = marks(start);
    let berlin: Zone = "Europe/Berlin".parse().expect("zone");
    let mut handles: Vec<(String, Bitmapist)> = Vec::new();
    for store in ["memory", "file"] {
        for zone in [Zone::UTC, berlin] {
            let url = match store {
                "memory" => "memory://".to_string(),
                _ => format!(
                    "file://{}",
                    dir.path()
                        .join(format!("{}.redb", zone.name().replace('/', "_")))
                        .display()
                ),
            };
            let bm = rt
                .block_on(
                    Bitmapist::builder()
                        .url(url)
                        .timezone(zone)
                        .track_hourly(true)
                        .open(),
                )
                .expect("open");
            handles.push((format!("{store}/{zone}"), bm));
        }
    }

    let mut g = c.benchmark_group("tz mark/batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(20);
    for (name, bm) in &handles {
        // Every file committed first: no background flush of one variant runs during another.
        flush_all(&rt, &handles);
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt)
                .iter(|| bm.mark_events(batch.iter().copied(), MarkOptions::default()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tz mark/single");
    g.throughput(Throughput::Elements(1));
    for (name, bm) in &handles {
        flush_all(&rt, &handles);
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 7919) % batch.len();
                let (e, uid, at) = batch[i];
                bm.mark_event(e, uid).at(at).into_future()
            })
        });
    }
    g.finish();
}

/// The zone's own share: the local period of each of the batch's 100,000 instants (what a
/// mark adds for its zone), UTC against Europe/Berlin.
fn local(c: &mut Criterion) {
    let start = Utc
        .with_ymd_and_hms(2026, 10, 10, 0, 0, 0)
        .single()
        .expect("valid");
    let batch = marks(start);
    let berlin: Zone = "Europe/Berlin".parse().expect("zone");
    let mut g = c.benchmark_group("tz local day");
    g.throughput(Throughput::Elements(batch.len() as u64));
    for zone in [Zone::UTC, berlin] {
        g.bench_function(BenchmarkId::from_parameter(zone), |b| {
            b.iter(|| {
                batch
                    .iter()
                    .filter(|(_, _, at)| {
                        zone.period_containing(bitmapist::TimeGroup::Days, *at)
                            .is_ok()
                    })
                    .count()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, mark, local);
criterion_main!(benches);
