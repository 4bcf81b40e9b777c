//! Lifecycle and trends benchmarks on the seed's 1M users x 365 days, in process on the
//! memory store, with the plain alternative for the rolling windows in the same run.
//! Run: `cargo bench -p bitmapist --features seed --bench lifecycle` (seeding takes a few
//! seconds first).
//!
//! Workloads (numbers in BENCHMARKS.md):
//! - `lifecycle/26 weeks (first-ever)`: `user:logged_in` per ISO week, new users from the
//!   event's whole history (every stored key before the first row, read restricted);
//! - `lifecycle/26 weeks (new from sign-up)`: new users = `user:signed_up` in the week;
//! - `trends/90 days + previous (engine)`: DAU, WAU, MAU for 180 days, by blocks;
//! - `trends/90 days + previous (plain unions)`: the same windows as 7 and 30 ORs per day,
//!   on the same day bitmaps (fetched once outside the timing): the alternative.

use std::time::Duration;

use bitmapist::seed::{self, SeedPlan};
use bitmapist::{Bitmap, Bitmapist, LifecycleSpec, Period, TimeGroup, TrendsSpec};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

const USERS: u32 = 1_000_000;
const DAYS: u32 = 365;

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("valid")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn seeded(rt: &tokio::runtime::Runtime) -> Bitmapist {
    rt.block_on(async {
        let bm = Bitmapist::open("memory://").await.expect("memory");
        let plan = SeedPlan::new(USERS, DAYS, end()).seed(3);
        let summary = seed::run(&bm, &plan, |_| {}).await.expect("seed");
        eprintln!("seeded {} marks", summary.marks);
        bm
    })
}

/// DAU, WAU and MAU of each of the last `n` days as plain unions of 1, 7 and 30 days.
fn plain_windows(days: &[Bitmap], n: usize) -> Vec<(u64, u64, u64)> {
    (days.len() - n..days.len())
        .map(|e| {
            let union = |w: usize| {
                let mut u = Bitmap::new();
                for d in &days[e + 1 - w..=e] {
                    u.or_assign(d);
                }
                u.count()
            };
            (days[e].count(), union(7), union(30))
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let bm = seeded(&rt);
    let first = LifecycleSpec::new("user:logged_in")
        .time_group(TimeGroup::Weeks)
        .periods(26)
        .now(end());
    let from = first.clone().new_from(Some("user:signed_up".to_string()));
    let l = rt.block_on(bm.lifecycle(&first)).expect("lifecycle");
    eprintln!("last week {:?}", l.rows.last());

    let mut g = c.benchmark_group("lifecycle");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("26 weeks (first-ever)", |b| {
        b.iter(|| rt.block_on(bm.lifecycle(&first)).expect("lifecycle"))
    });
    g.bench_function("26 weeks (new from sign-up)", |b| {
        b.iter(|| rt.block_on(bm.lifecycle(&from)).expect("lifecycle"))
    });
    g.finish();

    let trends = TrendsSpec::new("user:logged_in")
        .days(90)
        .compare(true)
        .now(end());
    // The same day bitmaps the engine reads: 90 + 90 + 29 days.
    let last = bm.period_containing(TimeGroup::Days, end()).expect("day");
    let days: Vec<Period> = (0..209i64)
        .rev()
        .map(|back| last.offset(-back).expect("day"))
        .collect();
    let keys: Vec<String> = days
        .iter()
        .map(|d| bm.layout().key("user:logged_in", d))
        .collect();
    let bitmaps: Vec<Bitmap> = rt
        .block_on(bm.store().get(&keys))
        .expect("days")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let engine = rt.block_on(bm.trends(&trends)).expect("trends");
    let plain = plain_windows(&bitmaps, 90);
    let ours: Vec<(u64, u64, u64)> = engine.days.iter().map(|d| (d.dau, d.wau, d.mau)).collect();
    assert_eq!(ours, plain, "both give the same windows");

    let mut g = c.benchmark_group("trends");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("90 days + previous (engine)", |b| {
        b.iter(|| rt.block_on(bm.trends(&trends)).expect("trends"))
    });
    g.bench_function("90 days + previous (plain unions)", |b| {
        b.iter(|| plain_windows(&bitmaps, 180))
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
