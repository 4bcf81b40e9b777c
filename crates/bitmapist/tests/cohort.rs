//! Cohort tables checked against an independent model of the reference semantics.
//! The model computes periods with chrono and sets with `HashSet`, and chains events the
//! way Flask-Bitmapist does (folding each `or` into its predecessor, working backwards).

use crate::common;

use std::collections::HashSet;

use bitmapist::{Bitmapist, ChainOp, ChainedEvent, CohortSpec, Error, MarkOptions, TimeGroup};
use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc,
};
use common::redis_server::RedisServer;
use proptest::prelude::*;

type Mark = (String, u32, DateTime<Utc>);

/// The start of the period of `group` containing `t`.
fn start_of(group: TimeGroup, t: DateTime<Utc>) -> NaiveDateTime {
    let d = t.date_naive();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight");
    match group {
        TimeGroup::Hours => d.and_hms_opt(t.hour(), 0, 0).expect("hour"),
        TimeGroup::Days => midnight(d),
        TimeGroup::Weeks => {
            midnight(d - Duration::days(i64::from(d.weekday().num_days_from_monday())))
        }
        TimeGroup::Months => midnight(d.with_day(1).expect("day 1")),
        TimeGroup::Years => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("jan 1")),
    }
}

/// `start` moved by `n` periods.
fn shift(group: TimeGroup, start: NaiveDateTime, n: i64) -> NaiveDateTime {
    match group {
        TimeGroup::Hours => start + Duration::hours(n),
        TimeGroup::Days => start + Duration::days(n),
        TimeGroup::Weeks => start + Duration::weeks(n),
        TimeGroup::Months | TimeGroup::Years => {
            let months = if group == TimeGroup::Years { n * 12 } else { n };
            let m = Months::new(u32::try_from(months.unsigned_abs()).expect("small"));
            if months >= 0 { start + m } else { start - m }
        }
    }
}

fn users(marks: &[Mark], event: &str, group: TimeGroup, start: NaiveDateTime) -> HashSet<u32> {
    let end = shift(group, start, 1);
    marks
        .iter()
        .filter(|(e, _, t)| e == event && t.naive_utc() >= start && t.naive_utc() < end)
        .map(|(_, u, _)| *u)
        .collect()
}

/// Flask-Bitmapist's chain_events, on a copy of the list.
fn model_chain(
    marks: &[Mark],
    base: &str,
    chained: &[ChainedEvent],
    g: TimeGroup,
    s: NaiveDateTime,
) -> HashSet<u32> {
    let mut base_set = users(marks, base, g, s);
    let mut sets: Vec<HashSet<u32>> = chained
        .iter()
        .map(|c| users(marks, &c.name, g, s))
        .collect();
    let or_indices: Vec<usize> = chained
        .iter()
        .enumerate()
        .filter(|(_, c)| c.op == ChainOp::Or)
        .map(|(i, _)| i)
        .collect();
    for &idx in or_indices.iter().rev() {
        if idx == 0 {
            base_set = &base_set | &sets[0];
        } else {
            sets[idx - 1] = &sets[idx - 1] | &sets[idx];
        }
        sets.remove(idx);
    }
    for s in sets {
        base_set = &base_set & &s;
    }
    base_set
}

struct ModelCohort {
    cells: Vec<Vec<Option<u64>>>,
    starts: Vec<NaiveDateTime>,
    totals: Vec<u64>,
}

fn model_cohort(marks: &[Mark], spec: &CohortSpec) -> ModelCohort {
    let g = spec.time_group;
    let current = start_of(g, spec.now);
    let mut out = ModelCohort {
        cells: vec![],
        starts: vec![],
        totals: vec![],
    };
    for i in 0..spec.rows {
        let row_start = shift(g, current, -((spec.rows - 1 - i) as i64));
        let mut primary = users(marks, &spec.primary, g, row_start);
        out.starts.push(row_start);
        out.totals.push(primary.len() as u64);
        let mut row = vec![None; spec.cols];
        if !primary.is_empty() {
            for (j, cell) in row.iter_mut().enumerate() {
                let s = shift(g, row_start, j as i64);
                if s > spec.now.naive_utc() {
                    continue;
                }
                if users(marks, &spec.secondary, g, s).is_empty() {
                    *cell = Some(0);
                    continue;
                }
                let chained = model_chain(marks, &spec.secondary, &spec.additional, g, s);
                let hit: HashSet<u32> = &chained & &primary;
                *cell = Some(hit.len() as u64);
                if !spec.with_replacement {
                    primary = &primary - &hit;
                }
            }
        }
        out.cells.push(row);
    }
    out
}

async fn load(bm: &Bitmapist, marks: &[Mark]) {
    let items = marks.iter().map(|(e, u, t)| (e.as_str(), *u, *t));
    bm.mark_events(
        items,
        MarkOptions {
            hourly: Some(true),
            unique: Some(false),
        },
    )
    .await
    .expect("marks");
}

async fn assert_matches_model(
    bm: &Bitmapist,
    marks: &[Mark],
    spec: &CohortSpec,
) -> Result<(), TestCaseError> {
    let before = spec.additional.clone();
    let got = bm.get_cohort(spec).await.expect("cohort");
    prop_assert_eq!(
        &spec.additional,
        &before,
        "the caller's chain is not modified"
    );
    let want = model_cohort(marks, spec);
    prop_assert_eq!(&got.cohort, &want.cells, "spec {:?}", spec);
    prop_assert_eq!(&got.totals, &want.totals);
    let starts: Vec<NaiveDateTime> = got
        .periods()
        .iter()
        .map(|p| p.start().expect("dated"))
        .collect();
    prop_assert_eq!(starts, want.starts);
    // Derived values, recomputed here from the cells.
    for j in 0..spec.cols {
        let col: Vec<u64> = want.cells.iter().filter_map(|r| r[j]).collect();
        prop_assert_eq!(got.col_totals[j], col.iter().sum::<u64>());
        let avg = (!col.is_empty()).then(|| col.iter().sum::<u64>() as f64 / col.len() as f64);
        prop_assert_eq!(got.averages[j], avg);
    }
    prop_assert_eq!(got.total, want.totals.iter().sum::<u64>());
    for (i, row) in got.fractions.iter().enumerate() {
        for (j, f) in row.iter().enumerate() {
            let expect = want.cells[i][j].map(|c| c as f64 / want.totals[i] as f64);
            prop_assert_eq!(*f, expect);
        }
    }
    Ok(())
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid")
}

const NAMES: [&str; 4] = ["P", "S", "X", "Y"];

fn marks_strategy() -> impl Strategy<Value = Vec<Mark>> {
    // 2024-10-01 .. about 2025-03-01, hour resolution: crosses a year, ISO week 2025-1,
    // month ends, and a leap-free February.
    prop::collection::vec((0..NAMES.len(), 0u32..40, 0i64..(150 * 24)), 0..250).prop_map(|v| {
        v.into_iter()
            .map(|(e, u, h)| {
                (
                    NAMES[e].to_string(),
                    u,
                    utc(2024, 10, 1, 0) + Duration::hours(h),
                )
            })
            .collect()
    })
}

fn spec_strategy() -> impl Strategy<Value = CohortSpec> {
    (
        prop::sample::select(TimeGroup::ALL.to_vec()),
        1usize..9,
        1usize..9,
        prop::collection::vec((1..NAMES.len(), any::<bool>()), 0..4),
        any::<bool>(),
        0i64..(150 * 24 * 60),
        0..NAMES.len(),
        0..NAMES.len(),
    )
        .prop_map(|(g, rows, cols, add, repl, minutes, p, s)| {
            let additional = add
                .into_iter()
                .map(|(e, or)| {
                    if or {
                        ChainedEvent::or(NAMES[e])
                    } else {
                        ChainedEvent::and(NAMES[e])
                    }
                })
                .collect();
            CohortSpec::new(NAMES[p], NAMES[s])
                .additional(additional)
                .time_group(g)
                .rows(rows)
                .cols(cols)
                .with_replacement(repl)
                .now(utc(2024, 10, 1, 0) + Duration::minutes(minutes))
        })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn cohorts_match_the_reference_model(marks in marks_strategy(), specs in prop::collection::vec(spec_strategy(), 1..6)) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            load(&bm, &marks).await;
            for spec in &specs {
                assert_matches_model(&bm, &marks, spec).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn cohorts_on_the_embedded_and_redis_stores_match_the_model(marks in marks_strategy(), spec in spec_strategy()) {
        thread_local! {
            static SERVER: (RedisServer, std::cell::Cell<u32>) = (RedisServer::start(), std::cell::Cell::new(0));
        }
        let (url, n) = SERVER.with(|(s, n)| { n.set(n.get() + 1); (s.url(), n.get()) });
        let dir = tempfile::tempdir().expect("tempdir");
        let file = format!("file://{}", dir.path().join("c.redb").display());
        runtime().block_on(async {
            let redis = Bitmapist::builder().url(url).key_prefix(format!("c{n}_")).open().await.expect("redis");
            let embedded = Bitmapist::open(&file).await.expect("file");
            for bm in [&redis, &embedded] {
                load(bm, &marks).await;
                assert_matches_model(bm, &marks, &spec).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The same cohorts on a 3-primary Redis Cluster (Python bitmapist's BITOP cannot run
    /// there at all: its operands live in different slots).
    #[test]
    fn cohorts_on_a_cluster_match_the_model(marks in marks_strategy(), spec in spec_strategy()) {
        static CASE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = common::redis_cluster::shared().0.clone();
        runtime().block_on(async {
            let bm = Bitmapist::builder().url(url).key_prefix(format!("k{n}_")).open().await.expect("cluster");
            load(&bm, &marks).await;
            assert_matches_model(&bm, &marks, &spec).await
        })?;
    }
}

/// Marks each `(event, users)` at `t`.
async fn mark_all(bm: &Bitmapist, t: DateTime<Utc>, sets: &[(&str, &[u32])]) {
    for (event, uids) in sets {
        for &u in *uids {
            bm.mark_event(event, u).at(t).await.expect("mark");
        }
    }
}

/// One cell of a one-row, one-column daily cohort where every user is primary.
async fn single_cell(sets: &[(&str, &[u32])], spec: CohortSpec) -> Option<u64> {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let t = utc(2026, 11, 18, 10);
    mark_all(&bm, t, sets).await;
    let all: Vec<u32> = (0..100).collect();
    mark_all(&bm, t, &[("P", &all)]).await;
    let c = bm
        .get_cohort(&spec.rows(1).cols(1).now(t))
        .await
        .expect("cohort");
    c.cohort[0][0]
}

#[tokio::test]
async fn or_binds_to_its_predecessor_a_and_b_and_c_or_d() {
    // A∧B∧(C∨D) = {1,2}; (A∧B∧C)∨D would be {1,2,9}.
    let sets: &[(&str, &[u32])] = &[
        ("A", &[1, 2, 3]),
        ("B", &[1, 2]),
        ("C", &[1]),
        ("D", &[2, 9]),
    ];
    let spec = CohortSpec::new("P", "A").and("B").and("C").or("D");
    assert_eq!(single_cell(sets, spec).await, Some(2));
}

#[tokio::test]
async fn or_binds_to_its_predecessor_a_and_b_or_c_and_d() {
    // A∧(B∨C)∧D = {2}; ((A∧B)∨C)∧D would be {2,7}.
    let sets: &[(&str, &[u32])] = &[("A", &[1, 2]), ("B", &[1]), ("C", &[2, 7]), ("D", &[2, 7])];
    let spec = CohortSpec::new("P", "A").and("B").or("C").and("D");
    assert_eq!(single_cell(sets, spec).await, Some(1));
}

#[tokio::test]
async fn or_on_the_first_additional_event_joins_the_base() {
    // (A∨B)∧C = {1,5}; A∨(B∧C) would be {1,2,5}.
    let sets: &[(&str, &[u32])] = &[("A", &[1, 2]), ("B", &[5]), ("C", &[1, 5])];
    let spec = CohortSpec::new("P", "A").or("B").and("C");
    assert_eq!(single_cell(sets, spec).await, Some(2));
}

#[tokio::test]
async fn seed_example_first_and_second_and_third_or_fourth() {
    // The Python bitmapist article's infomercial example: made_first ∧ (made_second ∨ returned).
    let sets: &[(&str, &[u32])] = &[
        ("first", &[1, 2, 3, 4]),
        ("second", &[1]),
        ("returned", &[2, 8]),
    ];
    let spec = CohortSpec::new("P", "first").and("second").or("returned");
    assert_eq!(single_cell(sets, spec).await, Some(2));
}

#[tokio::test]
async fn secondary_without_users_makes_the_cell_zero_even_if_an_or_has_users() {
    let sets: &[(&str, &[u32])] = &[("B", &[1, 2])];
    let spec = CohortSpec::new("P", "A").or("B");
    assert_eq!(single_cell(sets, spec).await, Some(0));
}

#[tokio::test]
async fn replacement_counts_users_once_or_every_time() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let d0 = utc(2026, 11, 2, 9); // a Monday
    mark_all(&bm, d0, &[("signup", &[1, 2, 3, 4])]).await;
    for day in 0..3 {
        mark_all(&bm, d0 + Duration::days(day), &[("active", &[1, 2])]).await;
    }
    mark_all(&bm, d0 + Duration::days(2), &[("active", &[3])]).await;
    let spec = CohortSpec::new("signup", "active")
        .rows(3)
        .cols(3)
        .now(d0 + Duration::days(2));
    let once = bm.get_cohort(&spec).await.expect("cohort");
    assert_eq!(once.cohort[0], vec![Some(2), Some(0), Some(1)]);
    let every = bm
        .get_cohort(&spec.clone().with_replacement(true))
        .await
        .expect("cohort");
    assert_eq!(every.cohort[0], vec![Some(2), Some(2), Some(3)]);
    // Rows without sign-ups are all None; cells after now are None.
    assert_eq!(once.cohort[1], vec![None, None, None]);
    assert_eq!(once.totals, vec![4, 0, 0]);
}

#[tokio::test]
async fn future_cells_are_none_and_now_mid_period_counts_the_current_period() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    // Now is Wednesday 2026-11-18 15:00; the current ISO week began Monday 2026-11-16.
    let now = utc(2026, 11, 18, 15);
    let monday = utc(2026, 11, 16, 8);
    mark_all(&bm, monday - Duration::weeks(1), &[("signup", &[1, 2])]).await;
    mark_all(&bm, monday, &[("signup", &[3]), ("active", &[1, 3])]).await;
    let spec = CohortSpec::new("signup", "active")
        .time_group(TimeGroup::Weeks)
        .rows(2)
        .cols(3)
        .now(now);
    let c = bm.get_cohort(&spec).await.expect("cohort");
    assert_eq!(c.labels, vec!["2026-W46", "2026-W47"]);
    assert_eq!(c.dates, vec!["2026-11-09", "2026-11-16"]);
    assert_eq!(c.cohort[0], vec![Some(0), Some(1), None]);
    assert_eq!(c.cohort[1], vec![Some(1), None, None]);
}

#[tokio::test]
async fn every_time_group_labels_its_rows() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let now = utc(2025, 1, 1, 0);
    mark_all(&bm, now, &[("a", &[1])]).await;
    bm.mark_event("a", 1)
        .at(now)
        .hourly(true)
        .await
        .expect("hourly");
    let expect = [
        (TimeGroup::Hours, "2024-12-31T23:00:00", "2024-12-31 23:00"),
        (TimeGroup::Days, "2024-12-31", "2024-12-31"),
        (TimeGroup::Weeks, "2024-12-23", "2024-W52"),
        (TimeGroup::Months, "2024-12-01", "Dec 2024"),
        (TimeGroup::Years, "2024-01-01", "2024"),
    ];
    for (g, date, label) in expect {
        let c = bm
            .get_cohort(
                &CohortSpec::new("a", "a")
                    .time_group(g)
                    .rows(2)
                    .cols(2)
                    .now(now),
            )
            .await
            .expect("cohort");
        assert_eq!(c.dates[0], date, "{g}");
        assert_eq!(c.labels[0], label, "{g}");
        assert_eq!(
            c.cohort[1],
            vec![Some(1), None],
            "{g}: the current period has the mark"
        );
    }
}

#[tokio::test]
async fn bad_arguments_are_errors_not_panics() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let base = CohortSpec::new("a", "b");
    for (spec, name) in [
        (base.clone().rows(0), "rows"),
        (base.clone().cols(0), "cols"),
        (base.clone().rows(1_000_000), "rows"),
        (CohortSpec::new("", "b"), "primary"),
        (CohortSpec::new("a", ""), "secondary"),
        (base.clone().and(""), "additional"),
    ] {
        match bm.get_cohort(&spec).await {
            Err(Error::InvalidArgument { name: n, .. }) => assert_eq!(n, name),
            other => panic!("expected an error naming {name}, got {other:?}"),
        }
    }
    assert!(matches!(
        "fortnight".parse::<TimeGroup>(),
        Err(Error::UnknownTimeGroup(_))
    ));
    let far = Utc
        .with_ymd_and_hms(1, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    assert!(bm.get_cohort(&base.clone().now(far).rows(3)).await.is_err());
}

#[tokio::test]
async fn the_result_serializes_with_every_derived_value() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let t = utc(2026, 11, 20, 12);
    mark_all(&bm, t, &[("a", &[1, 2]), ("b", &[1])]).await;
    let c = bm
        .get_cohort(&CohortSpec::new("a", "b").rows(2).cols(2).now(t))
        .await
        .expect("cohort");
    let json = serde_json::to_value(&c).expect("json");
    for key in [
        "cohort",
        "dates",
        "labels",
        "totals",
        "fractions",
        "averages",
        "average_fractions",
        "col_totals",
        "total",
        "time_group",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["cohort"][1][0], 1);
    assert_eq!(json["cohort"][0][0], serde_json::Value::Null);
    assert_eq!(json["fractions"][1][0], 0.5);
}

#[tokio::test]
async fn chain_events_and_get_event_data_on_the_handle() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let t = utc(2026, 11, 20, 12);
    mark_all(&bm, t, &[("A", &[1, 2, 3]), ("B", &[1]), ("C", &[3])]).await;
    let chain = [ChainedEvent::and("B"), ChainedEvent::or("C")];
    let q = bm
        .chain_events("A", &chain, TimeGroup::Months, t)
        .expect("chain");
    assert_eq!(q.ids().await.expect("ids").collect::<Vec<_>>(), vec![1, 3]);
    let d = bm.get_event_data("A", TimeGroup::Years, t).expect("data");
    assert_eq!(d.count().await.expect("count"), 3);
}
