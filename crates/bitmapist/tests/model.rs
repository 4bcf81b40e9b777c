//! Random marks, unmarks, batches and nested expressions on every store, checked against a
//! plain `HashSet` model that computes periods with chrono directly (not through our keys).
//!
//! The model also keeps Redis string lengths (the highest offset ever written, set or
//! cleared), because `NOT` complements up to that length on every store.

use crate::common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use bitmapist::{Bitmapist, Expr, MarkOptions, Period, TimeGroup};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use common::redis_cluster;
use common::redis_server::RedisServer;
use proptest::prelude::*;

const EVENTS: [&str; 3] = ["user:logged_in", "user_signed_up", "a:b_c"];

/// Instants chosen so that periods overlap in interesting ways: ISO week 2025-1 starts on
/// 2024-12-30, 2021-01-03 is in week 2020-53, a leap day, hour boundaries.
fn instants() -> Vec<DateTime<Utc>> {
    [
        (2024, 12, 29, 23),
        (2024, 12, 30, 0),
        (2024, 12, 31, 23),
        (2025, 1, 1, 0),
        (2025, 1, 1, 5),
        (2021, 1, 3, 12),
        (2020, 12, 28, 8),
        (2024, 2, 29, 8),
        (2024, 3, 1, 8),
    ]
    .into_iter()
    .map(|(y, m, d, h)| {
        Utc.with_ymd_and_hms(y, m, d, h, 30, 0)
            .single()
            .expect("valid instant")
    })
    .collect()
}

/// A period as the model names it, computed without the crate's period code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ModelPeriod {
    Hour(NaiveDate, u32),
    Day(NaiveDate),
    Week(i32, u32),
    Month(i32, u32),
    Unique,
}

fn model_periods(t: DateTime<Utc>, hourly: bool, unique: bool) -> Vec<ModelPeriod> {
    let d = t.date_naive();
    let w = d.iso_week();
    let mut out = vec![
        ModelPeriod::Month(d.year(), d.month()),
        ModelPeriod::Week(w.year(), w.week()),
        ModelPeriod::Day(d),
    ];
    if hourly {
        out.push(ModelPeriod::Hour(d, t.hour()));
    }
    if unique {
        out.push(ModelPeriod::Unique);
    }
    out
}

/// A key's state in the model: the set bits and the Redis string length in bytes.
#[derive(Clone, Debug, Default)]
struct ModelBits {
    set: HashSet<u32>,
    len: u64,
}

impl ModelBits {
    fn write(&mut self, uid: u32, value: bool) {
        self.len = self.len.max(u64::from(uid) / 8 + 1);
        if value {
            self.set.insert(uid);
        } else {
            self.set.remove(&uid);
        }
    }
}

/// A binary operation on the model's sets.
type SetOp<'a> = &'a dyn Fn(&HashSet<u32>, &HashSet<u32>) -> HashSet<u32>;

#[derive(Default)]
struct Model {
    keys: HashMap<(String, ModelPeriod), ModelBits>,
}

impl Model {
    fn mark(
        &mut self,
        event: &str,
        uid: u32,
        t: DateTime<Utc>,
        hourly: bool,
        unique: bool,
        value: bool,
    ) {
        for p in model_periods(t, hourly, unique) {
            self.keys
                .entry((event.to_string(), p))
                .or_default()
                .write(uid, value);
        }
    }

    /// A leaf: one period, or a year as the union of its months (length: the longest).
    fn leaf(&self, event: &str, group: TimeGroup, t: DateTime<Utc>) -> ModelBits {
        let d = t.date_naive();
        let w = d.iso_week();
        let single = |p: ModelPeriod| {
            self.keys
                .get(&(event.to_string(), p))
                .cloned()
                .unwrap_or_default()
        };
        match group {
            TimeGroup::Hours => single(ModelPeriod::Hour(d, t.hour())),
            TimeGroup::Days => single(ModelPeriod::Day(d)),
            TimeGroup::Weeks => single(ModelPeriod::Week(w.year(), w.week())),
            TimeGroup::Months => single(ModelPeriod::Month(d.year(), d.month())),
            TimeGroup::Years => {
                let mut acc = ModelBits::default();
                for m in 1..=12 {
                    let b = single(ModelPeriod::Month(d.year(), m));
                    acc.set.extend(b.set);
                    acc.len = acc.len.max(b.len);
                }
                acc
            }
        }
    }

    fn eval(&self, e: &ModelExpr, times: &[DateTime<Utc>]) -> ModelBits {
        let fold = |items: &[ModelExpr], f: SetOp| {
            let mut it = items.iter().map(|x| self.eval(x, times));
            let mut acc = it.next().unwrap_or_default();
            for b in it {
                acc.set = f(&acc.set, &b.set);
                acc.len = acc.len.max(b.len);
            }
            acc
        };
        match e {
            ModelExpr::Leaf(ev, g, ti) => self.leaf(EVENTS[*ev], *g, times[*ti]),
            ModelExpr::And(v) => fold(v, &|a, b| a & b),
            ModelExpr::Or(v) => fold(v, &|a, b| a | b),
            ModelExpr::Xor(v) => fold(v, &|a, b| a ^ b),
            ModelExpr::Diff(a, b) => {
                let (a, b) = (self.eval(a, times), self.eval(b, times));
                ModelBits {
                    set: &a.set - &b.set,
                    len: a.len.max(b.len),
                }
            }
            ModelExpr::Not(a) => {
                let a = self.eval(a, times);
                let all: HashSet<u32> = (0..a.len * 8)
                    .map(|b| u32::try_from(b).expect("small"))
                    .collect();
                ModelBits {
                    set: &all - &a.set,
                    len: a.len,
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum ModelExpr {
    Leaf(usize, TimeGroup, usize),
    And(Vec<ModelExpr>),
    Or(Vec<ModelExpr>),
    Xor(Vec<ModelExpr>),
    Diff(Box<ModelExpr>, Box<ModelExpr>),
    Not(Box<ModelExpr>),
}

impl ModelExpr {
    fn to_expr(&self, times: &[DateTime<Utc>]) -> Expr {
        let all = |v: &[ModelExpr]| v.iter().map(|x| x.to_expr(times)).collect::<Vec<_>>();
        match self {
            ModelExpr::Leaf(ev, g, ti) => Expr::events(
                EVENTS[*ev],
                Period::containing(*g, times[*ti]).expect("in range"),
            ),
            ModelExpr::And(v) => Expr::And(all(v)),
            ModelExpr::Or(v) => Expr::Or(all(v)),
            ModelExpr::Xor(v) => Expr::Xor(all(v)),
            ModelExpr::Diff(a, b) => a.to_expr(times) - b.to_expr(times),
            ModelExpr::Not(a) => !a.to_expr(times),
        }
    }
}

fn group() -> impl Strategy<Value = TimeGroup> {
    prop::sample::select(TimeGroup::ALL.to_vec())
}

fn model_expr(n_times: usize) -> impl Strategy<Value = ModelExpr> {
    let leaf =
        (0..EVENTS.len(), group(), 0..n_times).prop_map(|(e, g, t)| ModelExpr::Leaf(e, g, t));
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(ModelExpr::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(ModelExpr::Or),
            prop::collection::vec(inner.clone(), 1..4).prop_map(ModelExpr::Xor),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| ModelExpr::Diff(Box::new(a), Box::new(b))),
            inner.prop_map(|a| ModelExpr::Not(Box::new(a))),
        ]
    })
}

#[derive(Clone, Debug)]
enum Op {
    Mark {
        ev: usize,
        uid: u32,
        t: usize,
        hourly: bool,
        unique: bool,
        value: bool,
    },
    Batch {
        marks: Vec<(usize, u32, usize)>,
        hourly: bool,
        value: bool,
    },
    DeleteEvent(usize),
}

fn uid() -> impl Strategy<Value = u32> {
    prop_oneof![9 => 0u32..300, 1 => 100_000u32..100_050]
}

fn op(n_times: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..EVENTS.len(), uid(), 0..n_times, any::<bool>(), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(ev, uid, t, hourly, unique, value)| Op::Mark { ev, uid, t, hourly, unique, value }),
        3 => (prop::collection::vec((0..EVENTS.len(), uid(), 0..n_times), 0..40), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(marks, hourly, value)| Op::Batch { marks, hourly, value }),
        1 => (0..EVENTS.len()).prop_map(Op::DeleteEvent),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    ops: Vec<Op>,
    queries: Vec<ModelExpr>,
}

fn case() -> impl Strategy<Value = Case> {
    let n = instants().len();
    (
        prop::collection::vec(op(n), 1..40),
        prop::collection::vec(model_expr(n), 1..12),
    )
        .prop_map(|(ops, queries)| Case { ops, queries })
}

/// Applies the case to the store and the model, then compares every query.
async fn check(bm: &Bitmapist, case: &Case) -> Result<Model, TestCaseError> {
    let model = apply(bm, case).await?;
    verify(bm, &model, &case.queries).await?;
    Ok(model)
}

/// Applies the case's operations to the store and to a fresh model.
async fn apply(bm: &Bitmapist, case: &Case) -> Result<Model, TestCaseError> {
    let times = instants();
    let mut model = Model::default();
    for op in &case.ops {
        match op {
            Op::Mark {
                ev,
                uid,
                t,
                hourly,
                unique,
                value,
            } => {
                let m = if *value {
                    bm.mark_event(EVENTS[*ev], *uid)
                } else {
                    bm.unmark_event(EVENTS[*ev], *uid)
                };
                m.at(times[*t])
                    .hourly(*hourly)
                    .unique(*unique)
                    .await
                    .expect("mark");
                model.mark(EVENTS[*ev], *uid, times[*t], *hourly, *unique, *value);
            }
            Op::Batch {
                marks,
                hourly,
                value,
            } => {
                let items = marks
                    .iter()
                    .map(|(ev, uid, t)| (EVENTS[*ev], *uid, times[*t]));
                let opts = MarkOptions {
                    hourly: Some(*hourly),
                    unique: Some(false),
                };
                let n = if *value {
                    bm.mark_events(items, opts).await
                } else {
                    bm.unmark_events(items, opts).await
                };
                prop_assert_eq!(n.expect("batch"), marks.len() as u64);
                for (ev, uid, t) in marks {
                    model.mark(EVENTS[*ev], *uid, times[*t], *hourly, false, *value);
                }
            }
            Op::DeleteEvent(ev) => {
                bm.delete_event(EVENTS[*ev]).await.expect("delete");
                model.keys.retain(|(e, _), _| e != EVENTS[*ev]);
            }
        }
    }
    Ok(model)
}

/// Compares every query, and the event listing, with the model.
async fn verify(bm: &Bitmapist, model: &Model, queries: &[ModelExpr]) -> Result<(), TestCaseError> {
    let times = instants();
    for q in queries {
        let want = model.eval(q, &times);
        let query = bm.query(q.to_expr(&times));
        let got = query.bitmap().await.expect("evaluate");
        let got_ids: BTreeSet<u32> = got.iter().collect();
        let want_ids: BTreeSet<u32> = want.set.iter().copied().collect();
        prop_assert_eq!(&got_ids, &want_ids, "query {:?}", q);
        prop_assert_eq!(u64::from(got.byte_len()), want.len, "length of {:?}", q);
        prop_assert_eq!(query.count().await.expect("count"), want.set.len() as u64);
        for probe in [0u32, 1, 42, 299, 100_001] {
            prop_assert_eq!(
                query.contains(probe).await.expect("contains"),
                want.set.contains(&probe)
            );
        }
        prop_assert_eq!(
            query.has_events().await.expect("has_events"),
            !want.set.is_empty()
        );
    }
    // Event listing agrees with the keys the model has (an unmark creates a key too).
    let listed = bm.event_names(None).await.expect("event names");
    let expected: BTreeSet<String> = model.keys.keys().map(|(e, _)| e.clone()).collect();
    prop_assert_eq!(listed, expected.into_iter().collect::<Vec<_>>());
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn memory_store_agrees_with_model(case in case()) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            check(&bm, &case).await.map(drop)
        })?;
    }

    #[test]
    fn embedded_store_agrees_with_model(case in case(), reopen in any::<bool>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("file://{}", dir.path().join("model.redb").display());
        runtime().block_on(async {
            let bm = Bitmapist::open(&url).await.expect("open");
            let model = check(&bm, &case).await?;
            if reopen {
                // Everything survives a close and reopen: the same answers from the file.
                drop(bm);
                let bm = Bitmapist::open(&url).await.expect("reopen");
                verify(&bm, &model, &case.queries).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// The model check on a networked store at `url`, under a key prefix of its own.
fn check_at(url: &str, prefix: String, case: &Case) -> Result<(), TestCaseError> {
    runtime().block_on(async {
        let bm = Bitmapist::builder()
            .url(url.to_string())
            .key_prefix(prefix)
            .open()
            .await
            .expect("open");
        check(&bm, case).await.map(drop)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn redis_store_agrees_with_model(case in case()) {
        thread_local! {
            static SERVER: (RedisServer, std::cell::Cell<u32>) = (RedisServer::start(), std::cell::Cell::new(0));
        }
        let (url, n) = SERVER.with(|(s, n)| { n.set(n.get() + 1); (s.url(), n.get()) });
        check_at(&url, format!("case{n}_"), &case)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same cases on a 3-primary Redis Cluster: one event's keys spread over slots.
    #[test]
    fn cluster_store_agrees_with_model(case in case()) {
        static CASE: AtomicU32 = AtomicU32::new(0);
        let n = CASE.fetch_add(1, Ordering::Relaxed);
        check_at(&redis_cluster::shared().0, format!("model{n}_"), &case)?;
    }
}
