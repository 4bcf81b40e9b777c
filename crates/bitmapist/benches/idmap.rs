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
//!
//! `cargo bench -p bitmapist --bench idmap -- --interleaved [ROUNDS] [STORE...]` measures
//! instead the u32 and the cached external batch alternately, round after round (default 30
//! rounds, the order swapped every round; stores `embedded`, `memory`, `redis`, default
//! all), and prints per store the median wall-clock and process CPU time of each and the
//! median of the per-round ratios: on a machine shared with other work, a ratio of two
//! measurements taken moments apart is steadier than two criterion runs a minute apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, MarkOptions};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

use bitmapist_test_support::{Rng, redis_server};

const USERS: u32 = 100_000;

/// The users and the batch of marks both workloads write.
struct Fixture {
    /// `user-N@example.com`, each its own heap string; user N has dense id N + 1.
    names: Vec<String>,
    /// 100,000 marks by `u32` over 8 events and 30 days.
    batch: Vec<(&'static str, u32, DateTime<Utc>)>,
}

impl Fixture {
    fn new() -> Self {
        let t = Utc
            .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let events = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];
        let names: Vec<String> = (0..USERS)
            .map(|i| format!("user-{i}@example.com"))
            .collect();
        let mut rng = Rng(42);
        let batch = (0..100_000)
            .map(|_| {
                let e = events[(rng.next() % 8) as usize];
                let uid = (rng.next() % u64::from(USERS)) as u32;
                (e, uid, t + Days::hours((rng.next() % (30 * 24)) as i64))
            })
            .collect();
        Fixture { names, batch }
    }

    /// The same marks with string ids, built before any measurement as the u32 batch is
    /// (each id is its own heap string, read at random as a running app's requests are).
    fn external(&self) -> Vec<(&'static str, &str, DateTime<Utc>)> {
        self.batch
            .iter()
            .map(|&(e, u, at)| (e, self.names[u as usize].as_str(), at))
            .collect()
    }
}

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
    let f = Fixture::new();
    let (names, batch) = (&f.names, &f.batch);
    let external = f.external();
    // Assign every user once (ids 1..=USERS in order), outside the measurement.
    for (_, bm) in &stores {
        rt.block_on(bm.ids().assign(names)).expect("assign");
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

/// The process's CPU time so far, in nanoseconds: the sum over its live threads (Linux
/// `/proc/self/task/*/schedstat`); `None` where that is not readable.
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `--interleaved [ROUNDS] [STORE...]`: see the module docs.
fn interleaved(rounds: usize, only: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = redis_server::RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("idmap.redb").display());
    let f = Fixture::new();
    let external = f.external();
    println!(
        "interleaved: {rounds} rounds of {} marks each way, load average {}",
        f.batch.len(),
        load_average()
    );
    println!(
        "store      u32 wall   ext wall   u32/ext wall (min-max)    u32 cpu    ext cpu   u32/ext cpu (min-max)"
    );
    for (name, url) in [
        ("embedded", file.as_str()),
        ("memory", "memory://"),
        ("redis", redis.url().as_str()),
    ] {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let bm = rt.block_on(Bitmapist::open(url)).expect("open");
        rt.block_on(bm.ids().assign(&f.names)).expect("assign");
        let run = |external_ids: bool| -> (f64, Option<u64>) {
            let cpu = process_cpu_ns();
            let t = Instant::now();
            if external_ids {
                rt.block_on(
                    bm.mark_events_external(external.iter().copied(), MarkOptions::default()),
                )
                .expect("mark");
            } else {
                rt.block_on(bm.mark_events(f.batch.iter().copied(), MarkOptions::default()))
                    .expect("mark");
            }
            let wall = t.elapsed().as_secs_f64() * 1e3;
            let cpu = process_cpu_ns().zip(cpu).map(|(b, a)| b.saturating_sub(a));
            (wall, cpu)
        };
        for _ in 0..3 {
            run(false);
            run(true);
        }
        let (mut uw, mut ew, mut uc, mut ec, mut rw, mut rc) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for round in 0..rounds {
            let (u, e) = if round % 2 == 0 {
                let u = run(false);
                (u, run(true))
            } else {
                let e = run(true);
                (run(false), e)
            };
            uw.push(u.0);
            ew.push(e.0);
            rw.push(u.0 / e.0);
            if let (Some(a), Some(b)) = (u.1, e.1) {
                uc.push(a as f64 / 1e6);
                ec.push(b as f64 / 1e6);
                rc.push(a as f64 / b as f64);
            }
        }
        let span = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            (lo * 100.0, hi * 100.0)
        };
        let (wlo, whi) = span(&rw);
        let cpu = if rc.is_empty() {
            "n/a".to_string()
        } else {
            let (clo, chi) = span(&rc);
            format!(
                "{:7.2} ms {:7.2} ms  {:5.1} % ({clo:3.0}-{chi:3.0} %)",
                median(&mut uc),
                median(&mut ec),
                median(&mut rc) * 100.0
            )
        };
        let (mw, me, mr) = (median(&mut uw), median(&mut ew), median(&mut rw) * 100.0);
        println!("{name:9} {mw:7.2} ms {me:7.2} ms  {mr:5.1} % ({wlo:3.0}-{whi:3.0} %)   {cpu}");
    }
    println!("load average after: {}", load_average());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--interleaved") {
        // `cargo bench` appends `--bench`; the rest is [ROUNDS] [STORE...].
        let mut rest = args[at + 1..]
            .iter()
            .filter(|a| !a.starts_with("--"))
            .peekable();
        let rounds = rest
            .next_if(|r| r.parse::<usize>().is_ok())
            .and_then(|r| r.parse().ok())
            .unwrap_or(30);
        let only: Vec<String> = rest.cloned().collect();
        interleaved(rounds, &only);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

criterion_group!(benches, idmap);
