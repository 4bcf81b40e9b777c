//! Retention modes on 1M users x 365 days (the `seed` generator) in the embedded file: the
//! 30 x 30 daily table in every mode, and `get_cohort`, in the same run.
//! Run: `cargo bench -p bitmapist --bench retention` (seeding takes a while first).
//!
//! The target: on-or-after at most 2x first return.

use std::time::Duration;

use bitmapist::seed::{self, SeedPlan};
use bitmapist::{Bitmapist, CohortKind, CohortSpec, Criterion as Mode, RetentionSpec};
use chrono::{Duration as Days, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const USERS: u32 = 1_000_000;
const DAYS: u32 = 365;

fn retention(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("retention.redb").display());
    let end = Utc
        .with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("valid");
    let bm = rt.block_on(async {
        let bm = Bitmapist::open(&file).await.expect("file");
        let plan = SeedPlan::new(USERS, DAYS, end).seed(1);
        seed::run(&bm, &plan, |_| {}).await.expect("seed");
        bm.flush().await.expect("flush");
        bm
    });
    let base = CohortSpec::new("user:signed_up", "user:logged_in")
        .rows(30)
        .cols(30)
        .now(end - Days::hours(1));
    let mut g = c.benchmark_group("retention/30x30 days, 1M users x 365 days, embedded");
    g.measurement_time(Duration::from_secs(8));
    g.sample_size(20);
    g.bench_function(BenchmarkId::from_parameter("get_cohort"), |b| {
        b.to_async(&rt).iter(|| bm.get_cohort(&base))
    });
    for kind in [CohortKind::Recurring, CohortKind::FirstTime] {
        for mode in Mode::ALL {
            let spec = RetentionSpec::new(base.clone()).kind(kind).criterion(mode);
            let name = format!(
                "{}{}",
                if kind == CohortKind::FirstTime {
                    "first-time "
                } else {
                    ""
                },
                mode.as_str()
            );
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.to_async(&rt).iter(|| bm.retention(&spec))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, retention);
criterion_main!(benches);
