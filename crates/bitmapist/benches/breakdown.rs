//! Breakdowns against the plain analysis, in the same run, on 1M users x 120 days (the
//! `seed` generator, whose users each have one of five `plan` values) in the embedded file:
//! a 12 x 12 weekly cohort, a 3-step daily funnel, a month's stickiness and the events
//! overview's counts, each plain and broken down by `plan` (k = 5 values plus "none").
//! Run: `cargo bench -p bitmapist --features seed --bench breakdown`
//! (`BREAKDOWN_USERS=10000000` for 10M users; `-- overview` for the overview's counts only).
//!
//! The target: a breakdown into k values costs at most (1 + k/2) times the plain result
//! (3.5x for k = 5): the data is fetched once, only the compute phase runs per value.
//! The overview's counts are measured three ways: plain (the stored sizes, no bitmap
//! read), plain from the decoded bitmaps (what a breakdown must read: the fair baseline),
//! and by plan.

use std::time::Duration;

use bitmapist::seed::{self, SeedPlan};
use bitmapist::{
    Bitmapist, Breakdown, CohortSpec, CountSpec, FunnelSpec, RetentionSpec, StickinessSpec,
    TimeGroup,
};
use chrono::{Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Users, unless `BREAKDOWN_USERS` says otherwise.
const USERS: u32 = 1_000_000;
const DAYS: u32 = 120;

fn breakdown(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("breakdown.redb").display());
    let end = Utc
        .with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("valid");
    let bm = rt.block_on(async {
        let bm = Bitmapist::open(&file).await.expect("file");
        let users = std::env::var("BREAKDOWN_USERS")
            .ok()
            .and_then(|u| u.parse().ok())
            .unwrap_or(USERS);
        let plan = SeedPlan::new(users, DAYS, end).seed(1);
        seed::run(&bm, &plan, |_| {}).await.expect("seed");
        bm.flush().await.expect("flush");
        bm
    });
    let plan: Breakdown = "plan".parse().expect("breakdown");
    let now = end - Days::hours(1);
    let cohort = RetentionSpec::new(
        CohortSpec::new("user:signed_up", "user:logged_in")
            .time_group(TimeGroup::Weeks)
            .rows(12)
            .cols(12)
            .now(now),
    );
    let funnel = FunnelSpec::new(["user:signed_up", "user:logged_in", "user:purchased"])
        .rows(30)
        .window(7)
        .now(now);
    let stickiness = StickinessSpec::new("user:logged_in")
        .time_group(TimeGroup::Months)
        .at(now);
    let periods = [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months]
        .map(|g| bm.period_containing(g, now).expect("period"));
    let count = CountSpec::new(seed::EVENTS, periods).now(now);
    // The overview's columns: 30 days, 12 weeks, the month and the year (its months).
    let day = bm.period_containing(TimeGroup::Days, now).expect("day");
    let week = bm.period_containing(TimeGroup::Weeks, now).expect("week");
    let mut columns: Vec<_> = (0..30)
        .rev()
        .map(|i| day.offset(-i).expect("day"))
        .collect();
    columns.extend((0..12).rev().map(|i| week.offset(-i).expect("week")));
    columns.push(bm.period_containing(TimeGroup::Months, now).expect("month"));
    columns.push(bm.period_containing(TimeGroup::Years, now).expect("year"));
    let overview = CountSpec::new(seed::EVENTS, columns).now(now);
    let users = std::env::var("BREAKDOWN_USERS").unwrap_or_else(|_| USERS.to_string());

    let mut g = c.benchmark_group(format!(
        "breakdown by plan (k=5), {users} users x 120 days, embedded"
    ));
    g.measurement_time(Duration::from_secs(6));
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("cohort 12x12 weeks", "plain"), |b| {
        b.to_async(&rt).iter(|| bm.retention(&cohort))
    });
    g.bench_function(BenchmarkId::new("cohort 12x12 weeks", "by plan"), |b| {
        b.to_async(&rt).iter(|| bm.retention_by(&cohort, &plan))
    });
    g.bench_function(BenchmarkId::new("funnel 3 steps 30 days", "plain"), |b| {
        b.to_async(&rt).iter(|| bm.funnel(&funnel))
    });
    g.bench_function(BenchmarkId::new("funnel 3 steps 30 days", "by plan"), |b| {
        b.to_async(&rt).iter(|| bm.funnel_by(&funnel, &plan))
    });
    g.bench_function(BenchmarkId::new("stickiness month", "plain"), |b| {
        b.to_async(&rt).iter(|| bm.stickiness_of(&stickiness))
    });
    g.bench_function(BenchmarkId::new("stickiness month", "by plan"), |b| {
        b.to_async(&rt)
            .iter(|| bm.stickiness_by(&stickiness, &plan))
    });
    g.bench_function(BenchmarkId::new("events overview counts", "plain"), |b| {
        b.to_async(&rt).iter(|| bm.count(&count))
    });
    g.bench_function(BenchmarkId::new("events overview counts", "by plan"), |b| {
        b.to_async(&rt).iter(|| bm.count_by(&count, &plan))
    });
    g.bench_function(
        BenchmarkId::new("overview 44 columns", "plain (stored sizes)"),
        |b| b.to_async(&rt).iter(|| bm.count(&overview)),
    );
    g.bench_function(
        BenchmarkId::new("overview 44 columns", "plain (decoded bitmaps)"),
        |b| b.to_async(&rt).iter(|| bm.count_decoded(&overview)),
    );
    g.bench_function(BenchmarkId::new("overview 44 columns", "by plan"), |b| {
        b.to_async(&rt).iter(|| bm.count_by(&overview, &plan))
    });
    g.finish();
}

criterion_group!(benches, breakdown);
criterion_main!(benches);
