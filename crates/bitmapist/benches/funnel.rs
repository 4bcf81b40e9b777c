//! Funnel and stickiness benchmarks on the seed's 1M users x 365 days, in process on the
//! memory store, with the 30 x 30 daily cohort on the same data as the point of comparison.
//! Run: `cargo bench -p bitmapist --bench funnel` (seeding takes a few seconds first).
//!
//! Workloads (targets in BENCHMARKS.md):
//! - `funnel/5 steps, 30 rows, 14-day window (lenient|strict)`: sign-up, login, page view,
//!   purchase, upgrade; 150 day bitmaps fetched in one batch;
//! - `stickiness/week|month`: `user:logged_in` in the week / month of the seed's last day;
//! - `cohort/30x30 days`: `get_cohort` sign-up -> login, no replacement.

use std::time::Duration;

use bitmapist::seed::{self, SeedPlan};
use bitmapist::{Bitmapist, CohortSpec, FunnelSpec, TimeGroup};
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

fn benches(c: &mut Criterion) {
    let rt = runtime();
    let bm = seeded(&rt);
    let steps = [
        "user:signed_up",
        "user:logged_in",
        "page:viewed",
        "user:purchased",
        "user:upgraded",
    ];
    let spec = FunnelSpec::new(steps).rows(30).window(14).now(end());
    let lenient = rt.block_on(bm.funnel(&spec)).expect("funnel");
    eprintln!("lenient totals {:?}", lenient.totals);
    let strict_spec = spec.clone().strict(true);
    let strict = rt.block_on(bm.funnel(&strict_spec)).expect("funnel");
    eprintln!("strict totals {:?}", strict.totals);

    let mut g = c.benchmark_group("funnel");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("5 steps, 30 rows, 14-day window (lenient)", |b| {
        b.iter(|| rt.block_on(bm.funnel(&spec)).expect("funnel"))
    });
    g.bench_function("5 steps, 30 rows, 14-day window (strict)", |b| {
        b.iter(|| rt.block_on(bm.funnel(&strict_spec)).expect("funnel"))
    });
    g.finish();

    let mut g = c.benchmark_group("stickiness");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    for (name, group) in [("week", TimeGroup::Weeks), ("month", TimeGroup::Months)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(bm.stickiness("user:logged_in", group, end()))
                    .expect("stickiness")
            })
        });
    }
    g.finish();

    let cohort = CohortSpec::new("user:signed_up", "user:logged_in")
        .rows(30)
        .cols(30)
        .now(end());
    let mut g = c.benchmark_group("cohort");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("30x30 days", |b| {
        b.iter(|| rt.block_on(bm.get_cohort(&cohort)).expect("cohort"))
    });
    g.finish();
}

criterion_group!(funnel, benches);
criterion_main!(funnel);
