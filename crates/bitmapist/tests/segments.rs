//! Segments, filters, breakdowns and the users behind a number, checked against an
//! independent model: per-user sets of (event, day) and a property value per user, with
//! periods computed from chrono dates directly (not through the crate's periods).
//!
//! - every segment source (property values, snapshots, each definition kind, nested
//!   AND/OR/NOT and references) against the model's sets;
//! - every filter: an analysis filtered by a segment on the full store equals the same
//!   analysis, unfiltered, on a second store holding only the segment's users' marks;
//! - every breakdown by a property: each value's result equals the filter by that value,
//!   and the values plus "none" add up to the unfiltered result (the values partition);
//! - the users behind each cohort cell, funnel step and stickiness bucket: as many as the
//!   number, and the right ones.
//!
//! Definitions and descriptions persist on every backend (memory, embedded file reopened,
//! Redis, Redis Cluster).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use bitmapist::{
    Argument, Average, Bitmap, Bitmapist, Breakdown, CohortKind, CohortSpec, CountSpec, Criterion,
    Error, FunnelSpec, Period, RetentionSpec, SegmentDef, SegmentSource, StickinessSpec, TimeGroup,
    UserSet,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

const USERS: u32 = 40;
const DAYS: i64 = 35;
const EVENTS: [&str; 2] = ["a", "b"];
const PLANS: [&str; 3] = ["free", "pro", "team"];

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 26).expect("date")
}

fn now() -> DateTime<Utc> {
    Utc.from_utc_datetime(
        &(day0() + Duration::days(DAYS - 1))
            .and_hms_opt(12, 0, 0)
            .expect("time"),
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The marks and properties of one case.
#[derive(Clone, Debug)]
struct World {
    /// (user, event index, day offset)
    marks: Vec<(u32, usize, i64)>,
    /// user -> plan index
    plans: BTreeMap<u32, usize>,
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec((0..USERS, 0..EVENTS.len(), 0..DAYS), 0..160),
        prop::collection::btree_map(0..USERS, 0..PLANS.len(), 1..30),
    )
        .prop_map(|(marks, plans)| World { marks, plans })
}

/// The Monday that starts `d`'s week (ISO weeks run Monday to Sunday).
fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

impl World {
    fn days_of(&self, uid: u32, event: usize) -> BTreeSet<NaiveDate> {
        self.marks
            .iter()
            .filter(|&&(u, e, _)| u == uid && e == event)
            .map(|&(_, _, d)| day0() + Duration::days(d))
            .collect()
    }

    /// The period ids (a day, or a week's Monday) of the last `n` periods up to now.
    fn window(group: TimeGroup, n: usize) -> Vec<NaiveDate> {
        let today = now().date_naive();
        let n = n as i64;
        match group {
            TimeGroup::Days => (0..n).rev().map(|i| today - Duration::days(i)).collect(),
            TimeGroup::Weeks => (0..n)
                .rev()
                .map(|i| monday(today) - Duration::weeks(i))
                .collect(),
            _ => unreachable!("the model knows days and weeks"),
        }
    }

    fn period_of(group: TimeGroup, d: NaiveDate) -> NaiveDate {
        match group {
            TimeGroup::Days => d,
            _ => monday(d),
        }
    }

    /// The users of a definition, over the universe 0..USERS (the model's complement).
    fn eval(&self, def: &SegmentDef, saved: &BTreeMap<String, BTreeSet<u32>>) -> BTreeSet<u32> {
        let all: BTreeSet<u32> = (0..USERS).collect();
        let ev = |name: &str| EVENTS.iter().position(|e| *e == name).expect("event");
        match def {
            SegmentDef::Did {
                event,
                time_group,
                periods,
            }
            | SegmentDef::DidNot {
                event,
                time_group,
                periods,
            } => {
                let w: BTreeSet<NaiveDate> =
                    Self::window(*time_group, *periods).into_iter().collect();
                let did: BTreeSet<u32> = all
                    .iter()
                    .copied()
                    .filter(|&u| {
                        self.days_of(u, ev(event))
                            .iter()
                            .any(|&d| w.contains(&Self::period_of(*time_group, d)))
                    })
                    .collect();
                if matches!(def, SegmentDef::Did { .. }) {
                    did
                } else {
                    all.difference(&did).copied().collect()
                }
            }
            SegmentDef::FirstTime {
                event,
                time_group,
                periods,
            } => {
                let w = Self::window(*time_group, *periods);
                let start = w[0];
                let end = *w.last().expect("window");
                all.iter()
                    .copied()
                    .filter(|&u| {
                        let days = self.days_of(u, ev(event));
                        days.first().is_some_and(|&first| {
                            first >= start && Self::period_of(*time_group, first) <= end
                        })
                    })
                    .collect()
            }
            SegmentDef::ActiveIn {
                event,
                time_group,
                at_least,
                of,
            } => {
                let w: BTreeSet<NaiveDate> = Self::window(*time_group, *of).into_iter().collect();
                all.iter()
                    .copied()
                    .filter(|&u| {
                        let active: BTreeSet<NaiveDate> = self
                            .days_of(u, ev(event))
                            .into_iter()
                            .map(|d| Self::period_of(*time_group, d))
                            .filter(|p| w.contains(p))
                            .collect();
                        active.len() >= *at_least
                    })
                    .collect()
            }
            SegmentDef::Segment(name) => saved.get(name).cloned().unwrap_or_else(|| {
                let plan = name.strip_prefix("plan:").expect("a plan value");
                self.plan_users(plan)
            }),
            SegmentDef::And(list) => list
                .iter()
                .map(|d| self.eval(d, saved))
                .reduce(|a, b| a.intersection(&b).copied().collect())
                .unwrap_or_default(),
            SegmentDef::Or(list) => list
                .iter()
                .map(|d| self.eval(d, saved))
                .reduce(|a, b| a.union(&b).copied().collect())
                .unwrap_or_default(),
            SegmentDef::Not(inner) => all.difference(&self.eval(inner, saved)).copied().collect(),
        }
    }

    fn plan_users(&self, plan: &str) -> BTreeSet<u32> {
        self.plans
            .iter()
            .filter(|&(_, &p)| PLANS[p] == plan)
            .map(|(&u, _)| u)
            .collect()
    }

    /// A store with the marks (of `only` users, when given) and the plans.
    async fn store(&self, only: Option<&BTreeSet<u32>>) -> Bitmapist {
        let bm = Bitmapist::open("memory://").await.expect("open");
        let keep = |u: &u32| only.is_none_or(|o| o.contains(u));
        let marks: Vec<(&str, u32, DateTime<Utc>)> = self
            .marks
            .iter()
            .filter(|(u, _, _)| keep(u))
            .map(|&(u, e, d)| {
                let t = Utc.from_utc_datetime(
                    &(day0() + Duration::days(d))
                        .and_hms_opt(9, 0, 0)
                        .expect("t"),
                );
                (EVENTS[e], u, t)
            })
            .collect();
        bm.mark_events(marks, Default::default())
            .await
            .expect("mark");
        let plans: Vec<(u32, &str)> = self
            .plans
            .iter()
            .filter(|(u, _)| keep(u))
            .map(|(&u, &p)| (u, PLANS[p]))
            .collect();
        if !plans.is_empty() {
            bm.set_properties("plan", &plans).await.expect("plans");
        }
        bm
    }
}

fn leaf() -> impl Strategy<Value = SegmentDef> {
    let event = prop::sample::select(EVENTS.to_vec()).prop_map(str::to_string);
    let group = prop::sample::select(vec![TimeGroup::Days, TimeGroup::Weeks]);
    prop_oneof![
        (event.clone(), group.clone(), 1..10usize).prop_map(|(e, g, n)| SegmentDef::did(e, g, n)),
        (event.clone(), group.clone(), 1..10usize)
            .prop_map(|(e, g, n)| SegmentDef::did_not(e, g, n)),
        (event.clone(), group.clone(), 1..10usize)
            .prop_map(|(e, g, n)| SegmentDef::first_time(e, g, n)),
        (event, group, 1..8usize, 0..8usize).prop_map(|(e, g, n, k)| SegmentDef::active_in(
            e,
            g,
            k % n + 1,
            n
        )),
        prop::sample::select(vec!["plan:free", "plan:pro", "saved"]).prop_map(SegmentDef::segment),
    ]
}

fn definition() -> impl Strategy<Value = SegmentDef> {
    leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(SegmentDef::And),
            prop::collection::vec(inner.clone(), 1..3).prop_map(SegmentDef::Or),
            inner.prop_map(SegmentDef::not),
        ]
    })
}

fn bits(b: &Bitmap) -> BTreeSet<u32> {
    b.iter().collect()
}

/// Every analysis of the case, as comparable values.
#[derive(Debug, PartialEq)]
struct Results {
    retention: Vec<bitmapist::Cohort>,
    funnel: Vec<Vec<u64>>,
    stickiness: Vec<Vec<u64>>,
    count: Vec<Vec<u64>>,
}

#[derive(Clone, Debug)]
struct Specs {
    retention: Vec<RetentionSpec>,
    funnel: Vec<FunnelSpec>,
    stickiness: Vec<StickinessSpec>,
    count: CountSpec,
}

fn specs() -> impl Strategy<Value = Specs> {
    (
        1..7usize,
        1..7usize,
        any::<bool>(),
        prop::sample::select(Criterion::ALL.to_vec()),
        any::<bool>(),
        1..6usize,
    )
        .prop_map(|(rows, cols, first_time, criterion, strict, window)| {
            let base = CohortSpec::new("a", "b").rows(rows).cols(cols).now(now());
            let weekly = base.clone().time_group(TimeGroup::Weeks);
            let retention = [base, weekly]
                .into_iter()
                .map(|c| {
                    RetentionSpec::new(c)
                        .first_time(first_time)
                        .criterion(criterion)
                        .average(Average::Weighted)
                })
                .collect();
            let funnel = vec![
                FunnelSpec::new(["a", "b"])
                    .rows(rows * 3)
                    .window(window)
                    .strict(strict)
                    .now(now()),
                FunnelSpec::new(["b", "a", "b"])
                    .time_group(TimeGroup::Weeks)
                    .rows(rows)
                    .window(window)
                    .now(now()),
            ];
            let stickiness = [TimeGroup::Weeks, TimeGroup::Months]
                .into_iter()
                .map(|g| StickinessSpec::new("a").time_group(g).at(now()))
                .collect();
            let periods = vec![
                Period::day(now().date_naive()).expect("day"),
                Period::week_of(now().date_naive()).expect("week"),
                Period::month(2026, 11).expect("month"),
                Period::year(2026).expect("year"),
            ];
            let count = CountSpec::new(EVENTS, periods).now(now());
            Specs {
                retention,
                funnel,
                stickiness,
                count,
            }
        })
}

impl Specs {
    fn with_segment(&self, name: &str) -> Specs {
        let mut s = self.clone();
        s.retention = s.retention.into_iter().map(|r| r.segment(name)).collect();
        s.funnel = s.funnel.into_iter().map(|f| f.segment(name)).collect();
        s.stickiness = s.stickiness.into_iter().map(|x| x.segment(name)).collect();
        s.count = s.count.segment(name);
        s
    }

    async fn run(&self, bm: &Bitmapist) -> Results {
        let mut r = Results {
            retention: Vec::new(),
            funnel: Vec::new(),
            stickiness: Vec::new(),
            count: bm.count(&self.count).await.expect("count"),
        };
        for s in &self.retention {
            r.retention
                .push(bm.retention(s).await.expect("retention").table);
        }
        for s in &self.funnel {
            r.funnel.push(bm.funnel(s).await.expect("funnel").totals);
        }
        for s in &self.stickiness {
            r.stickiness
                .push(bm.stickiness_of(s).await.expect("stickiness").days);
        }
        r
    }

    /// Each analysis broken down by `b`, as one `Results` per value (none last).
    async fn run_by(&self, bm: &Bitmapist, b: &Breakdown) -> Vec<(Option<String>, Results)> {
        let count = bm.count_by(&self.count, b).await.expect("count_by");
        let mut out: Vec<(Option<String>, Results)> = count
            .values
            .into_iter()
            .map(|v| {
                (
                    v.value,
                    Results {
                        retention: Vec::new(),
                        funnel: Vec::new(),
                        stickiness: Vec::new(),
                        count: v.result,
                    },
                )
            })
            .collect();
        for s in &self.retention {
            let by = bm.retention_by(s, b).await.expect("retention_by");
            for (o, v) in out.iter_mut().zip(by.values) {
                assert_eq!(o.0, v.value);
                o.1.retention.push(v.result.table);
            }
        }
        for s in &self.funnel {
            let by = bm.funnel_by(s, b).await.expect("funnel_by");
            for (o, v) in out.iter_mut().zip(by.values) {
                assert_eq!(o.0, v.value);
                o.1.funnel.push(v.result.totals);
            }
        }
        for s in &self.stickiness {
            let by = bm.stickiness_by(s, b).await.expect("stickiness_by");
            for (o, v) in out.iter_mut().zip(by.values) {
                assert_eq!(o.0, v.value);
                o.1.stickiness.push(v.result.days);
            }
        }
        out
    }
}

/// Cells, totals, funnel totals, stickiness days and counts, added up.
type Sums = (
    Vec<Vec<Vec<Option<u64>>>>,
    Vec<Vec<u64>>,
    Vec<Vec<u64>>,
    Vec<Vec<u64>>,
    Vec<Vec<u64>>,
);

/// Adds up the additive measures of `parts` (cells and totals, funnel totals, stickiness
/// days, counts).
fn sum(parts: &[&Results]) -> Sums {
    let first = parts[0];
    let add = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    let mut cells: Vec<Vec<Vec<Option<u64>>>> =
        first.retention.iter().map(|t| t.cohort.clone()).collect();
    let mut totals: Vec<Vec<u64>> = first.retention.iter().map(|t| t.totals.clone()).collect();
    let mut funnel = first.funnel.clone();
    let mut stick = first.stickiness.clone();
    let mut count = first.count.clone();
    for p in &parts[1..] {
        for (i, t) in p.retention.iter().enumerate() {
            add(&mut totals[i], &t.totals);
            for (r, row) in t.cohort.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let mine = &mut cells[i][r][c];
                    *mine = match (*mine, *cell) {
                        (None, None) => None,
                        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                    };
                }
            }
        }
        for (a, b) in funnel.iter_mut().zip(&p.funnel) {
            add(a, b);
        }
        for (a, b) in stick.iter_mut().zip(&p.stickiness) {
            add(a, b);
        }
        for (a, b) in count.iter_mut().zip(&p.count) {
            add(a, b);
        }
    }
    (cells, totals, funnel, stick, count)
}

/// A row of zeros where the unfiltered table has a cohort is `None` in an empty part: the
/// sum of parts is compared cell by cell with `None` read as 0.
fn zeroed(cells: &[Vec<Vec<Option<u64>>>]) -> Vec<Vec<Vec<u64>>> {
    cells
        .iter()
        .map(|t| {
            t.iter()
                .map(|r| r.iter().map(|c| c.unwrap_or(0)).collect())
                .collect()
        })
        .collect()
}

async fn check(
    world: &World,
    def: &SegmentDef,
    saved_ids: &BTreeSet<u32>,
    specs: &Specs,
) -> Result<(), TestCaseError> {
    let bm = world.store(None).await;
    // A snapshot of explicit ids, and a definition over it, the plans and the events.
    let n = bm
        .save_segment(
            "saved",
            &UserSet::Ids(saved_ids.iter().copied().collect()),
            "ids",
        )
        .await
        .expect("save");
    prop_assert_eq!(n, saved_ids.len() as u64);
    bm.define_segment("def", def.clone(), "random")
        .await
        .expect("define");
    let saved: BTreeMap<String, BTreeSet<u32>> = [("saved".to_string(), saved_ids.clone())].into();
    let want = world.eval(def, &saved);

    // Sources: listing gives the model's set, or (a complement) the typed error.
    match bm.segment_users("def", now()).await {
        Ok(b) => prop_assert_eq!(bits(&b), want.clone(), "{}", def),
        Err(Error::InvalidArgument {
            argument: Argument::Segment,
            ..
        }) => {}
        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
    }
    for plan in PLANS {
        let got = bm.segment_users(&format!("plan:{plan}"), now()).await;
        let model = world.plan_users(plan);
        match got {
            Ok(b) => prop_assert_eq!(bits(&b), model),
            Err(_) => prop_assert!(model.is_empty()),
        }
    }

    // Filters: the filtered analyses are the plain ones on a store of the segment's users.
    let filtered = specs.with_segment("def").run(&bm).await;
    let only = world.store(Some(&want)).await;
    let expected = specs.run(&only).await;
    prop_assert_eq!(&filtered, &expected, "{}", def);

    // Breakdown by plan: each value is the filter by it; values and none add up.
    if !world.plans.is_empty() {
        let b: Breakdown = "plan".parse().expect("breakdown");
        let parts = specs.run_by(&bm, &b).await;
        prop_assert_eq!(parts.last().map(|p| p.0.clone()), Some(None));
        for (value, res) in &parts[..parts.len() - 1] {
            let v = value.as_deref().expect("a value");
            let by_filter = specs.with_segment(&format!("plan:{v}")).run(&bm).await;
            prop_assert_eq!(res, &by_filter, "value {}", v);
        }
        let plain = specs.run(&bm).await;
        let all: Vec<&Results> = parts.iter().map(|(_, r)| r).collect();
        let (cells, totals, funnel, stick, count) = sum(&all);
        let (pc, pt, pf, ps, pn) = sum(&[&plain]);
        prop_assert_eq!(zeroed(&cells), zeroed(&pc));
        prop_assert_eq!(totals, pt);
        prop_assert_eq!(funnel, pf);
        prop_assert_eq!(stick, ps);
        prop_assert_eq!(count, pn);

        // A segment-list breakdown with the same sets gives the same results.
        let seg_b: Breakdown = parts[..parts.len() - 1]
            .iter()
            .map(|(v, _)| format!("plan:{}", v.as_deref().expect("value")))
            .map(|v| v + ",")
            .collect::<String>()
            .parse()
            .expect("segments");
        if let Breakdown::Segments(_) = seg_b {
            let by_seg = specs.run_by(&bm, &seg_b).await;
            for (a, b) in by_seg.iter().zip(&parts) {
                prop_assert_eq!(&a.1, &b.1);
            }
        }
    }

    // The users behind each number: as many as it says, and exactly the model's.
    let filtered_specs = specs.with_segment("def");
    for spec in &filtered_specs.retention {
        let table = bm.retention(spec).await.expect("retention").table;
        for (row, cells) in table.cohort.iter().enumerate() {
            let cohort = bm
                .users(&UserSet::CohortRow {
                    spec: spec.clone(),
                    row,
                })
                .await
                .expect("row");
            prop_assert_eq!(cohort.count(), table.totals[row]);
            prop_assert!(bits(&cohort).is_subset(&want));
            for (col, cell) in cells.iter().enumerate() {
                let users = bm
                    .users(&UserSet::CohortCell {
                        spec: spec.clone(),
                        row,
                        col,
                    })
                    .await
                    .expect("cell");
                prop_assert_eq!(users.count(), cell.unwrap_or(0));
                prop_assert!(bits(&users).is_subset(&bits(&cohort)));
            }
        }
    }
    for spec in &filtered_specs.funnel {
        let f = bm.funnel(spec).await.expect("funnel");
        for (row, r) in f.rows.iter().enumerate() {
            for (step, &n) in r.counts.iter().enumerate() {
                let users = bm
                    .users(&UserSet::FunnelStep {
                        spec: spec.clone(),
                        row,
                        step,
                    })
                    .await
                    .expect("step");
                prop_assert_eq!(users.count(), n);
                prop_assert!(bits(&users).is_subset(&want));
            }
        }
    }
    for spec in &filtered_specs.stickiness {
        let s = bm.stickiness_of(spec).await.expect("stickiness");
        let mut seen = BTreeSet::new();
        for (k, &n) in s.days.iter().enumerate() {
            let users = bits(
                &bm.users(&UserSet::StickinessBucket {
                    spec: spec.clone(),
                    days: k + 1,
                })
                .await
                .expect("bucket"),
            );
            prop_assert_eq!(users.len() as u64, n);
            prop_assert!(users.is_disjoint(&seen), "buckets are disjoint");
            seen.extend(users);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn segments_filters_breakdowns_and_users_agree_with_the_model(
        world in world(),
        def in definition(),
        saved in prop::collection::btree_set(0..USERS, 0..20),
        specs in specs(),
    ) {
        rt().block_on(check(&world, &def, &saved, &specs))?;
    }
}

#[test]
fn users_pages_walk_the_set_by_id_and_resolve_external_ids() {
    rt().block_on(async {
        let bm = Bitmapist::builder()
            .url("memory://")
            .id_map(true)
            .open()
            .await
            .expect("open");
        for name in ["ann", "bob", "cy", "dee", "eve"] {
            bm.mark_external("signed_up", name).await.expect("mark");
        }
        let day = Period::day(Utc::now().date_naive()).expect("day");
        let set = UserSet::Event {
            event: "signed_up".into(),
            period: day,
        };
        let mut after = None;
        let mut seen = Vec::new();
        let mut names = Vec::new();
        loop {
            let page = bm.users_page(&set, after, 2).await.expect("page");
            assert_eq!(page.total, 5);
            assert!(page.ids.len() <= 2);
            names.extend(page.external.expect("id map on").into_iter().flatten());
            seen.extend(page.ids);
            match page.next_after {
                Some(a) => after = Some(a),
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(seen, sorted, "ascending, each once");
        assert_eq!(seen.len(), 5);
        names.sort();
        assert_eq!(names, ["ann", "bob", "cy", "dee", "eve"]);
        // A new mark below the cursor does not shift the next page.
        let first = bm.users_page(&set, None, 2).await.expect("page");
        bm.mark_event("signed_up", 0).await.expect("mark 0");
        let next = bm
            .users_page(&set, first.next_after, 2)
            .await
            .expect("page");
        assert_eq!(next.ids, seen[2..4]);
        // External ids of the set, by name.
        let ext = bm
            .users(&UserSet::External(vec!["bob".into(), "nobody".into()]))
            .await
            .expect("external");
        assert_eq!(ext.count(), 1);
        assert!(matches!(
            bm.users_page(&set, None, 0).await,
            Err(Error::InvalidArgument {
                argument: Argument::Limit,
                ..
            })
        ));
    });
}

#[test]
fn bad_names_and_definitions_are_refused_naming_the_problem() {
    rt().block_on(async {
        let bm = Bitmapist::open("memory://").await.expect("open");
        let spec = RetentionSpec::new(CohortSpec::new("a", "b").now(now())).segment("nope");
        let err = bm.retention(&spec).await.expect_err("unknown");
        assert!(
            matches!(err, Error::InvalidArgument { argument: Argument::Segment, ref reason, .. } if reason.contains("nope")),
            "{err}"
        );
        for bad in ["", "a:b", "a,b", "with space"] {
            assert!(
                bm.define_segment(bad, SegmentDef::did("a", TimeGroup::Days, 1), "")
                    .await
                    .is_err(),
                "{bad:?}"
            );
        }
        let refuse = |d: SegmentDef| {
            let bm = bm.clone();
            async move { bm.define_segment("x", d, "").await.expect_err("refused") }
        };
        refuse(SegmentDef::did("a", TimeGroup::Days, 0)).await;
        refuse(SegmentDef::active_in("a", TimeGroup::Days, 3, 2)).await;
        refuse(SegmentDef::And(vec![])).await;
        refuse(SegmentDef::segment("missing")).await;
        refuse(SegmentDef::segment("x")).await;
        // A cycle through another definition.
        bm.define_segment("y", SegmentDef::did("a", TimeGroup::Days, 1), "")
            .await
            .expect("y");
        bm.define_segment("x", SegmentDef::segment("y"), "")
            .await
            .expect("x");
        let err = bm
            .define_segment("y", SegmentDef::segment("x").not(), "")
            .await
            .expect_err("cycle");
        assert!(err.to_string().contains("itself"), "{err}");
        // In use: not deleted.
        assert!(bm.delete_segment("y").await.is_err());
        assert!(bm.delete_segment("x").await.expect("x"));
        assert!(bm.delete_segment("y").await.expect("y"));
        assert!(!bm.delete_segment("y").await.expect("gone"));
        assert!("".parse::<Breakdown>().is_err());
        assert!("plan:pro".parse::<Breakdown>().is_err());
        assert!(bm
            .count_by(&CountSpec::new(["a"], [Period::month(2026, 11).expect("m")]), &"plan".parse().expect("b"))
            .await
            .is_err());
        assert!(bm.set_property("plan", "a:b", 1).await.is_err());
        assert!(bm.set_property("", "x", 1).await.is_err());
        assert!("{\"did\": 3}".parse::<SegmentDef>().is_err());
    });
}

/// Definitions, snapshots and descriptions on one backend: written by one handle, read by
/// a fresh one.
async fn persists(first: Bitmapist, reopen: impl std::future::Future<Output = Bitmapist>) {
    first.mark_event("a", 3).at(now()).await.expect("mark");
    first.set_property("plan", "pro", 3).await.expect("prop");
    first
        .save_segment("snap", &UserSet::Ids(vec![1, 5, 9]), "three users")
        .await
        .expect("save");
    let def = SegmentDef::did("a", TimeGroup::Days, 7).and(SegmentDef::segment("plan:pro"));
    first
        .define_segment("active-pro", def.clone(), "active pros")
        .await
        .expect("define");
    first.flush().await.expect("flush");
    drop(first);
    let bm = reopen.await;
    let list = bm.segments().await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name, "active-pro");
    assert_eq!(list[0].description, "active pros");
    assert_eq!(list[0].source, SegmentSource::Definition(def));
    assert_eq!(list[1].name, "snap");
    assert_eq!(list[1].description, "three users");
    assert_eq!(list[1].source, SegmentSource::Snapshot);
    assert_eq!(
        bits(&bm.segment_users("snap", now()).await.expect("snap")),
        BTreeSet::from([1, 5, 9])
    );
    assert_eq!(
        bits(&bm.segment_users("active-pro", now()).await.expect("def")),
        BTreeSet::from([3])
    );
    // The snapshot is a unique event Python bitmapist reads as UniqueEvents.
    let key = bm
        .layout()
        .key(&bitmapist::segment_event("snap"), &Period::unique());
    assert_eq!(bm.store().count(&[key]).await.expect("count"), vec![3]);
    assert_eq!(bm.property_values("plan").await.expect("values"), ["pro"]);
    assert!(bm.delete_segment("snap").await.expect("delete"));
    assert_eq!(bm.segments().await.expect("list").len(), 1);
}

#[test]
fn segments_persist_in_memory_embedded_redis_and_cluster() {
    rt().block_on(async {
        let store = bitmapist::open_store("memory://").await.expect("memory");
        let again = std::sync::Arc::clone(&store);
        persists(Bitmapist::new(store), async move { Bitmapist::new(again) }).await;

        let dir = tempfile::tempdir().expect("dir");
        let url = format!("file://{}", dir.path().join("seg.redb").display());
        persists(Bitmapist::open(&url).await.expect("file"), async {
            Bitmapist::open(&url).await.expect("reopen")
        })
        .await;

        let server = common::redis_server::RedisServer::start();
        let url = server.url();
        persists(
            Bitmapist::builder()
                .url(&url)
                .key_prefix("seg_")
                .open()
                .await
                .expect("redis"),
            async {
                Bitmapist::builder()
                    .url(&url)
                    .key_prefix("seg_")
                    .open()
                    .await
                    .expect("redis")
            },
        )
        .await;

        let cluster = &common::redis_cluster::shared().0;
        persists(
            Bitmapist::builder()
                .url(cluster)
                .key_prefix("segc_")
                .open()
                .await
                .expect("cluster"),
            async {
                Bitmapist::builder()
                    .url(cluster)
                    .key_prefix("segc_")
                    .open()
                    .await
                    .expect("cluster")
            },
        )
        .await;
    });
}

#[test]
fn kinds_and_criteria_are_named_as_the_spec_names_them() {
    rt().block_on(async {
        let bm = Bitmapist::open("memory://").await.expect("open");
        let spec = RetentionSpec::new(CohortSpec::new("a", "b").now(now()))
            .kind(CohortKind::FirstTime)
            .criterion(Criterion::On);
        let r = bm.retention(&spec).await.expect("retention");
        assert_eq!((r.kind, r.criterion), (spec.kind, spec.criterion));
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["retention"], "on");
        assert_eq!(json["first_time"], true);
    });
}
