//! Stickiness and both funnel bounds checked against an independent model: per-user lists
//! of (event, instant), periods computed with chrono directly, funnels found greedily per
//! user (on periods for the bounds, on instants for the true ordered count).
//!
//! Random data covers empty periods, `now` inside a period (and marks after `now` in the
//! same period, and in later ones), users who convert only after their window, on the
//! memory and embedded stores, and one real redis-server.

use crate::common;

use std::collections::{BTreeSet, HashMap};

use bitmapist::{Bitmapist, FunnelSpec, MarkOptions, TimeGroup};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use common::redis_server::RedisServer;
use proptest::prelude::*;

const EVENTS: [&str; 3] = ["visit", "sign_up", "pay:ok"];

/// One mark: user, event index, instant.
type Mark = (u32, usize, DateTime<Utc>);

/// The first instant the generated marks may take: a Thursday, so weeks and months cut
/// through the data.
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 22, 0, 0, 0)
        .single()
        .expect("valid base")
}

/// Marks spread over 100 days, hour and minute included.
fn marks() -> impl Strategy<Value = Vec<Mark>> {
    prop::collection::vec((0u32..40, 0usize..3, 0i64..100 * 24 * 60), 0..160).prop_map(|v| {
        v.into_iter()
            .map(|(u, e, m)| (u, e, base() + Duration::minutes(m)))
            .collect()
    })
}

/// The model's period index of an instant: days since CE, weeks since CE (from Mondays),
/// months since year 0.
fn index(group: TimeGroup, t: DateTime<Utc>) -> i64 {
    let d = t.date_naive();
    match group {
        TimeGroup::Days => i64::from(d.num_days_from_ce()),
        TimeGroup::Weeks => {
            let monday = d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
            i64::from(monday.num_days_from_ce()) / 7
        }
        TimeGroup::Months => i64::from(d.year()) * 12 + i64::from(d.month0()),
        _ => unreachable!("the model covers days, weeks and months"),
    }
}

/// The model's funnel: per row, per step, (strict, true ordered, lenient) counts.
fn model_funnel(
    marks: &[Mark],
    steps: &[usize],
    group: TimeGroup,
    rows: usize,
    window: usize,
    now: DateTime<Utc>,
) -> Vec<Vec<(u64, u64, u64)>> {
    let n = index(group, now);
    let first = n - rows as i64 + 1;
    let mut per_user: HashMap<u32, Vec<(usize, DateTime<Utc>, i64)>> = HashMap::new();
    for &(u, e, t) in marks {
        per_user.entry(u).or_default().push((e, t, index(group, t)));
    }
    let mut out = vec![vec![(0u64, 0u64, 0u64); steps.len()]; rows];
    for evs in per_user.values() {
        let Some(t0) = evs
            .iter()
            .filter(|(e, _, p)| *e == steps[0] && (first..=n).contains(p))
            .map(|(_, _, p)| *p)
            .min()
        else {
            continue;
        };
        let end = (t0 + window as i64 - 1).min(n);
        let periods_of = |e: usize| -> BTreeSet<i64> {
            evs.iter()
                .filter(|(x, _, p)| *x == e && (t0..=end).contains(p))
                .map(|(_, _, p)| *p)
                .collect()
        };
        // Greedy on periods: strict needs a later period, lenient the same or a later one.
        let reach = |strict: bool| -> usize {
            let mut at = t0;
            let mut reached = 1;
            for &e in &steps[1..] {
                let next = periods_of(e)
                    .into_iter()
                    .find(|&p| if strict { p > at } else { p >= at });
                match next {
                    Some(p) => {
                        at = p;
                        reached += 1;
                    }
                    None => break,
                }
            }
            reached
        };
        // Greedy on instants: E_1 at any time in the window, each next step strictly later.
        let ordered = {
            let times = |e: usize| -> Vec<DateTime<Utc>> {
                let mut v: Vec<_> = evs
                    .iter()
                    .filter(|(x, _, p)| *x == e && (t0..=end).contains(p))
                    .map(|(_, t, _)| *t)
                    .collect();
                v.sort();
                v
            };
            let mut reached = 0;
            let mut after: Option<DateTime<Utc>> = None;
            for &e in steps {
                let next = times(e).into_iter().find(|t| after.is_none_or(|a| *t > a));
                match next {
                    Some(t) => {
                        after = Some(t);
                        reached += 1;
                    }
                    None => break,
                }
            }
            reached
        };
        let (strict, lenient) = (reach(true), reach(false));
        let row = &mut out[usize::try_from(t0 - first).expect("row index")];
        for (s, cell) in row.iter_mut().enumerate() {
            cell.0 += u64::from(s < strict);
            cell.1 += u64::from(s < ordered);
            cell.2 += u64::from(s < lenient);
        }
    }
    out
}

/// The model's stickiness: users by number of distinct active days of the period
/// containing `at`, days after `at`'s day left out.
fn model_stickiness(marks: &[Mark], event: usize, group: TimeGroup, at: DateTime<Utc>) -> Vec<u64> {
    let period = index(group, at);
    let today: NaiveDate = at.date_naive();
    let first = NaiveDate::from_ymd_opt(at.year(), at.month(), 1).expect("first of month");
    let len = match group {
        TimeGroup::Weeks => 7,
        _ => {
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .expect("next month");
            (next - first).num_days() as usize
        }
    };
    let mut days: HashMap<u32, BTreeSet<NaiveDate>> = HashMap::new();
    for &(u, e, t) in marks {
        if e == event && index(group, t) == period && t.date_naive() <= today {
            days.entry(u).or_default().insert(t.date_naive());
        }
    }
    let mut out = vec![0u64; len];
    for d in days.values() {
        out[d.len() - 1] += 1;
    }
    out
}

async fn load(bm: &Bitmapist, marks: &[Mark]) {
    bm.mark_events(
        marks.iter().map(|&(u, e, t)| (EVENTS[e], u, t)),
        MarkOptions::default(),
    )
    .await
    .expect("mark");
}

/// Checks every group, both bounds and stickiness on a loaded store.
async fn check(
    bm: &Bitmapist,
    marks: &[Mark],
    steps: &[usize],
    rows: usize,
    window: usize,
    now: DateTime<Utc>,
) {
    for group in [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months] {
        let names: Vec<&str> = steps.iter().map(|&s| EVENTS[s]).collect();
        let spec = FunnelSpec::new(names.clone())
            .time_group(group)
            .rows(rows)
            .window(window)
            .now(now);
        let lenient = bm.funnel(&spec).await.expect("lenient");
        let strict = bm.funnel(&spec.clone().strict(true)).await.expect("strict");
        let model = model_funnel(marks, steps, group, rows, window, now);
        assert_eq!(lenient.rows.len(), rows);
        for (i, m) in model.iter().enumerate() {
            let s: Vec<u64> = m.iter().map(|c| c.0).collect();
            let l: Vec<u64> = m.iter().map(|c| c.2).collect();
            assert_eq!(strict.rows[i].counts, s, "{group} strict row {i}");
            assert_eq!(lenient.rows[i].counts, l, "{group} lenient row {i}");
            for (k, &(st, tr, le)) in m.iter().enumerate() {
                assert!(
                    st <= tr && tr <= le,
                    "{group} row {i} step {k}: {st} <= {tr} <= {le}"
                );
            }
        }
        let totals: Vec<u64> = (0..steps.len())
            .map(|k| model.iter().map(|r| r[k].2).sum())
            .collect();
        assert_eq!(lenient.totals, totals, "{group} totals");
        assert_eq!(lenient.steps, names);
    }
    for group in [TimeGroup::Weeks, TimeGroup::Months] {
        for (event, name) in EVENTS.iter().enumerate() {
            let got = bm.stickiness(name, group, now).await.expect("stickiness");
            assert_eq!(
                got.days,
                model_stickiness(marks, event, group, now),
                "{group} {event}"
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A funnel's steps (2 to 4, events may repeat), rows, window and `now` (inside the data,
/// at any minute).
fn shape() -> impl Strategy<Value = (Vec<usize>, usize, usize, DateTime<Utc>)> {
    (
        prop::collection::vec(0usize..3, 2..5),
        1usize..12,
        1usize..8,
        0i64..110 * 24 * 60,
    )
        .prop_map(|(steps, rows, window, m)| (steps, rows, window, base() + Duration::minutes(m)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_matches_the_model(marks in marks(), (steps, rows, window, now) in shape()) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            load(&bm, &marks).await;
            check(&bm, &marks, &steps, rows, window, now).await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn embedded_store_matches_the_model(marks in marks(), (steps, rows, window, now) in shape()) {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("file://{}", dir.path().join("f.redb").display());
            {
                let bm = Bitmapist::open(&url).await.expect("open");
                load(&bm, &marks).await;
                bm.flush().await.expect("flush");
            }
            let bm = Bitmapist::open(&url).await.expect("reopen");
            check(&bm, &marks, &steps, rows, window, now).await;
        });
    }
}

/// A hand-made case on a real redis-server: one user converts inside the window, one only
/// after it, one out of order within a day (lenient counts them, strict does not).
#[test]
fn redis_server_funnel_and_stickiness() {
    let server = RedisServer::start();
    runtime().block_on(async {
        let bm = Bitmapist::open(&server.url()).await.expect("open redis");
        let day = |d: i64, h: u32| base() + Duration::days(d) + Duration::hours(i64::from(h));
        let marks: Vec<Mark> = vec![
            (1, 0, day(0, 9)),
            (1, 1, day(2, 9)),
            (2, 0, day(0, 10)),
            (2, 1, day(5, 10)), // after a 3-day window
            (3, 1, day(1, 8)),
            (3, 0, day(1, 9)), // signs up before visiting, the same day
            (1, 0, day(1, 9)),
            (1, 0, day(3, 9)),
        ];
        load(&bm, &marks).await;
        let now = day(6, 0);
        let spec = FunnelSpec::new(["visit", "sign_up"])
            .rows(7)
            .window(3)
            .now(now);
        let lenient = bm.funnel(&spec).await.expect("lenient");
        assert_eq!(lenient.totals, vec![3, 2]);
        assert_eq!(lenient.rows[0].counts, vec![2, 1]);
        assert_eq!(lenient.rows[1].counts, vec![1, 1]);
        let strict = bm.funnel(&spec.clone().strict(true)).await.expect("strict");
        assert_eq!(strict.totals, vec![3, 1]);
        assert_eq!(strict.conversion, vec![Some(1.0), Some(1.0 / 3.0)]);
        check(&bm, &marks, &[0, 1], 7, 3, now).await;
        let s = bm
            .stickiness("visit", TimeGroup::Weeks, now)
            .await
            .expect("stickiness");
        assert_eq!(s.days, model_stickiness(&marks, 0, TimeGroup::Weeks, now));
    });
}

#[test]
fn bad_specs_are_refused_with_the_argument_named() {
    runtime().block_on(async {
        let bm = Bitmapist::open("memory://").await.expect("open");
        for (spec, name) in [
            (FunnelSpec::new(["only"]), "steps"),
            (FunnelSpec::new(["a", ""]), "steps"),
            (FunnelSpec::new(["a", "b"]).window(0), "window"),
            (FunnelSpec::new(["a", "b"]).rows(0), "rows"),
        ] {
            let err = bm.funnel(&spec).await.expect_err("refused");
            assert!(
                matches!(&err, bitmapist::Error::InvalidArgument { name: n, .. } if *n == name),
                "{err}"
            );
        }
        let err = bm
            .stickiness("a", TimeGroup::Days, Utc::now())
            .await
            .expect_err("days are refused");
        assert!(err.to_string().contains("week or month"), "{err}");
        assert!(
            bm.stickiness("", TimeGroup::Weeks, Utc::now())
                .await
                .is_err()
        );
    });
}
