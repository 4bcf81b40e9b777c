//! Retention modes checked against an independent model: per-user sets of (event, day),
//! every mode computed directly per user, with periods from chrono (not the crate's code).
//!
//! Random marks over ~100 days around the table cover empty periods, `now` inside a
//! period, users who return only late, and first-time cohorts whose users had the primary
//! event before the table's first row. Memory store (many cases), the embedded file and a
//! real redis-server (fewer cases).

use crate::common;

use std::collections::{HashMap, HashSet};

use bitmapist::{
    Average, Bitmapist, ChainedEvent, CohortKind, CohortSpec, Criterion, MarkOptions,
    RetentionSpec, TimeGroup,
};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use common::redis_server::RedisServer;
use proptest::prelude::*;

const PRIMARY: &str = "p";
const SECONDARY: &str = "s";
const EXTRA: &str = "x";
const EVENTS: [&str; 3] = [PRIMARY, SECONDARY, EXTRA];

/// One mark: event index, user, days after the base date.
type Mark = (usize, u32, i64);

fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 9, 1).expect("date")
}

fn day(offset: i64) -> NaiveDate {
    base_date() + Duration::days(offset)
}

/// How the model extends the secondary event.
#[derive(Clone, Copy, Debug)]
enum Chain {
    None,
    And,
    Or,
}

#[derive(Clone, Debug)]
struct Case {
    group: TimeGroup,
    rows: usize,
    cols: usize,
    chain: Chain,
    now: DateTime<Utc>,
    kind: CohortKind,
    criterion: Criterion,
    average: Average,
    complete_only: bool,
}

impl Case {
    fn spec(&self) -> RetentionSpec {
        let additional = match self.chain {
            Chain::None => vec![],
            Chain::And => vec![ChainedEvent::and(EXTRA)],
            Chain::Or => vec![ChainedEvent::or(EXTRA)],
        };
        RetentionSpec::new(
            CohortSpec::new(PRIMARY, SECONDARY)
                .additional(additional)
                .time_group(self.group)
                .rows(self.rows)
                .cols(self.cols)
                .now(self.now),
        )
        .kind(self.kind)
        .criterion(self.criterion)
        .average(self.average)
        .complete_only(self.complete_only)
    }
}

/// The start of the model's period of `group` containing `d`.
fn model_start(group: TimeGroup, d: NaiveDate) -> NaiveDate {
    match group {
        TimeGroup::Days => d,
        TimeGroup::Weeks => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        TimeGroup::Months => d.with_day(1).expect("first"),
        _ => unreachable!("the model covers days, weeks and months"),
    }
}

/// The start of the period `n` periods after the one starting at `start` (n may be < 0).
fn model_shift(group: TimeGroup, start: NaiveDate, n: i64) -> NaiveDate {
    match group {
        TimeGroup::Days => start + Duration::days(n),
        TimeGroup::Weeks => start + Duration::days(7 * n),
        TimeGroup::Months if n >= 0 => start + Months::new(n as u32),
        TimeGroup::Months => start - Months::new((-n) as u32),
        _ => unreachable!(),
    }
}

/// The model's table: cells, totals, mean counts and average fractions.
#[allow(clippy::type_complexity, clippy::needless_range_loop)] // indices mirror the definitions
fn model(
    marks: &[Mark],
    case: &Case,
) -> (
    Vec<Vec<Option<u64>>>,
    Vec<u64>,
    Vec<Option<f64>>,
    Vec<Option<f64>>,
) {
    let rows = case.rows;
    let last = model_start(case.group, case.now.date_naive());
    let starts: Vec<NaiveDate> = (0..=rows)
        .map(|k| model_shift(case.group, last, k as i64 - (rows as i64 - 1)))
        .collect();
    // Per event: user -> days.
    let mut days: HashMap<(&str, u32), HashSet<NaiveDate>> = HashMap::new();
    for &(e, u, d) in marks {
        days.entry((EVENTS[e], u)).or_default().insert(day(d));
    }
    let users: HashSet<u32> = marks.iter().map(|m| m.1).collect();
    let did = |event: &str, u: u32, t: usize| {
        days.get(&(event, u))
            .is_some_and(|ds| ds.iter().any(|d| *d >= starts[t] && *d < starts[t + 1]))
    };
    let secondary_any: Vec<bool> = (0..rows)
        .map(|t| users.iter().any(|&u| did(SECONDARY, u, t)))
        .collect();
    let returned = |u: u32, t: usize| {
        secondary_any[t]
            && match case.chain {
                Chain::None => did(SECONDARY, u, t),
                Chain::And => did(SECONDARY, u, t) && did(EXTRA, u, t),
                Chain::Or => did(SECONDARY, u, t) || did(EXTRA, u, t),
            }
    };
    let first_primary = |u: u32| {
        days.get(&(PRIMARY, u))
            .and_then(|ds| ds.iter().min().copied())
    };
    let mut cells = Vec::new();
    let mut totals = Vec::new();
    for i in 0..rows {
        let cohort: Vec<u32> = users
            .iter()
            .copied()
            .filter(|&u| did(PRIMARY, u, i))
            .filter(|&u| match case.kind {
                CohortKind::Recurring => true,
                CohortKind::FirstTime => first_primary(u).is_some_and(|f| f >= starts[i]),
            })
            .collect();
        totals.push(cohort.len() as u64);
        let row: Vec<Option<u64>> = (0..case.cols)
            .map(|j| {
                let t = i + j;
                if cohort.is_empty() || t >= rows {
                    return None;
                }
                Some(
                    cohort
                        .iter()
                        .filter(|&&u| match case.criterion {
                            Criterion::On => returned(u, t),
                            Criterion::OnOrAfter => (t..rows).any(|s| returned(u, s)),
                            Criterion::FirstReturn => {
                                (i..rows).find(|&s| returned(u, s)) == Some(t)
                            }
                        })
                        .count() as u64,
                )
            })
            .collect();
        cells.push(row);
    }
    let mut counts = Vec::new();
    let mut fractions = Vec::new();
    for j in 0..case.cols {
        let inc: Vec<(f64, f64)> = (0..rows)
            .filter(|&i| !(case.complete_only && i + j == rows - 1))
            .filter_map(|i| cells[i][j].map(|c| (c as f64, totals[i] as f64)))
            .collect();
        if inc.is_empty() {
            counts.push(None);
            fractions.push(None);
            continue;
        }
        let n = inc.len() as f64;
        counts.push(Some(inc.iter().map(|x| x.0).sum::<f64>() / n));
        fractions.push(Some(match case.average {
            Average::Simple => inc.iter().map(|x| x.0 / x.1).sum::<f64>() / n,
            Average::Weighted => {
                inc.iter().map(|x| x.0).sum::<f64>() / inc.iter().map(|x| x.1).sum::<f64>()
            }
        }));
    }
    (cells, totals, counts, fractions)
}

fn close(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            (None, None) => true,
            _ => false,
        })
}

fn marks_strategy() -> impl Strategy<Value = Vec<Mark>> {
    prop::collection::vec((0usize..3, 0u32..40, 0i64..100), 0..160)
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            Just(TimeGroup::Days),
            Just(TimeGroup::Weeks),
            Just(TimeGroup::Months)
        ],
        1usize..14,
        1usize..14,
        prop_oneof![Just(Chain::None), Just(Chain::And), Just(Chain::Or)],
        0i64..(110 * 24 * 60),
        prop_oneof![Just(CohortKind::Recurring), Just(CohortKind::FirstTime)],
        prop_oneof![
            Just(Criterion::FirstReturn),
            Just(Criterion::On),
            Just(Criterion::OnOrAfter)
        ],
        prop_oneof![Just(Average::Simple), Just(Average::Weighted)],
        any::<bool>(),
    )
        .prop_map(
            |(group, rows, cols, chain, minutes, kind, criterion, average, complete_only)| {
                let rows = if group == TimeGroup::Months {
                    rows.min(5)
                } else {
                    rows
                };
                Case {
                    group,
                    rows,
                    cols,
                    chain,
                    now: Utc
                        .from_utc_datetime(&base_date().and_hms_opt(0, 0, 0).expect("midnight"))
                        + Duration::minutes(minutes),
                    kind,
                    criterion,
                    average,
                    complete_only,
                }
            },
        )
}

async fn load(bm: &Bitmapist, marks: &[Mark]) {
    let batch = marks.iter().map(|&(e, u, d)| {
        let t = Utc.from_utc_datetime(&day(d).and_hms_opt(13, 0, 0).expect("noon"));
        (EVENTS[e], u, t)
    });
    bm.mark_events(batch, MarkOptions::default())
        .await
        .expect("mark");
}

async fn check(bm: &Bitmapist, marks: &[Mark], case: &Case) -> Result<(), TestCaseError> {
    let got = bm.retention(&case.spec()).await.expect("retention");
    let (cells, totals, counts, fractions) = model(marks, case);
    prop_assert_eq!(&got.table.totals, &totals, "totals {:?}", case);
    prop_assert_eq!(&got.table.cohort, &cells, "cells {:?}", case);
    prop_assert!(
        close(&got.table.averages, &counts),
        "averages {:?} vs {:?} {:?}",
        got.table.averages,
        counts,
        case
    );
    prop_assert!(
        close(&got.table.average_fractions, &fractions),
        "average fractions {:?} vs {:?} {:?}",
        got.table.average_fractions,
        fractions,
        case
    );
    prop_assert_eq!(got.criterion, case.criterion);
    prop_assert_eq!(got.kind, case.kind);
    // The legacy table is the special case, to the bit.
    if case.kind == CohortKind::Recurring
        && case.criterion != Criterion::OnOrAfter
        && case.average == Average::Simple
        && !case.complete_only
    {
        let legacy = case
            .spec()
            .cohort
            .with_replacement(case.criterion == Criterion::On);
        let old = bm.get_cohort(&legacy).await.expect("get_cohort");
        prop_assert_eq!(&old, &got.table);
        let again = bm
            .retention(&RetentionSpec::from(legacy))
            .await
            .expect("retention");
        prop_assert_eq!(&old, &again.table);
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_mode_matches_the_model_on_the_memory_store(
        marks in marks_strategy(),
        cases in prop::collection::vec(case_strategy(), 1..6),
    ) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            load(&bm, &marks).await;
            for case in &cases {
                check(&bm, &marks, case).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_mode_matches_the_model_on_the_embedded_and_redis_stores(
        marks in marks_strategy(),
        cases in prop::collection::vec(case_strategy(), 1..4),
    ) {
        thread_local! {
            static SERVER: (RedisServer, std::cell::Cell<u32>) = (RedisServer::start(), std::cell::Cell::new(0));
        }
        let (url, n) = SERVER.with(|(s, n)| { n.set(n.get() + 1); (s.url(), n.get()) });
        let dir = tempfile::tempdir().expect("tempdir");
        let file = format!("file://{}", dir.path().join("r.redb").display());
        runtime().block_on(async {
            let redis = Bitmapist::builder().url(url).key_prefix(format!("r{n}_")).open().await.expect("redis");
            let embedded = Bitmapist::open(&file).await.expect("file");
            for bm in [&redis, &embedded] {
                load(bm, &marks).await;
                for case in &cases {
                    check(bm, &marks, case).await?;
                }
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// A hand-made table: sign-ups on day 0, two users back on day 1, one of them again on
/// day 3, one only on day 3; an old user who signed up before the table and again on day 0.
#[test]
fn a_small_table_in_every_mode() {
    runtime().block_on(async {
        let bm = Bitmapist::open("memory://").await.expect("open");
        let at = |d: i64| Utc.from_utc_datetime(&day(d).and_hms_opt(9, 0, 0).expect("t"));
        let marks = [
            ("p", 9, at(-30)),
            ("p", 9, at(0)),
            ("p", 1, at(0)),
            ("p", 2, at(0)),
            ("p", 3, at(0)),
            ("s", 1, at(1)),
            ("s", 2, at(1)),
            ("s", 1, at(3)),
            ("s", 3, at(3)),
            ("s", 9, at(3)),
        ];
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("mark");
        let base = CohortSpec::new("p", "s").rows(4).cols(4).now(at(3));
        let run = |criterion, first_time| {
            let spec = RetentionSpec::new(base.clone())
                .criterion(criterion)
                .first_time(first_time);
            let bm = bm.clone();
            async move { bm.retention(&spec).await.expect("retention").table }
        };
        let s = |v: &[u64]| v.iter().map(|&n| Some(n)).collect::<Vec<_>>();
        let first = run(Criterion::FirstReturn, false).await;
        assert_eq!(first.totals[0], 4);
        assert_eq!(first.cohort[0], s(&[0, 2, 0, 2]));
        let on = run(Criterion::On, false).await;
        assert_eq!(on.cohort[0], s(&[0, 2, 0, 3]));
        let after = run(Criterion::OnOrAfter, false).await;
        assert_eq!(after.cohort[0], s(&[4, 4, 3, 3]));
        let new_users = run(Criterion::OnOrAfter, true).await;
        assert_eq!(new_users.totals[0], 3, "user 9 signed up before the table");
        assert_eq!(new_users.cohort[0], s(&[3, 3, 2, 2]));
    });
}

#[test]
fn names_parse_and_bad_ones_are_errors() {
    assert_eq!(
        "on-or-after".parse::<Criterion>().ok(),
        Some(Criterion::OnOrAfter)
    );
    assert_eq!(
        "First_Return".parse::<Criterion>().ok(),
        Some(Criterion::FirstReturn)
    );
    assert!("later".parse::<Criterion>().is_err());
    assert_eq!("weighted".parse::<Average>().ok(), Some(Average::Weighted));
    let err = "median".parse::<Average>().expect_err("bad");
    assert!(err.to_string().contains("median"), "{err}");
}
