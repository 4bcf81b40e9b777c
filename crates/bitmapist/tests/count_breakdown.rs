//! The events overview's breakdown (`count_by`) against a model: per-user sets of (event,
//! day) marks and per-value sets of users (HashSets), in the memory and the embedded
//! file store. A property's values are written either with `set_property` (disjoint) or
//! with raw `mark_unique("plan:VALUE")` marks, which can put one user under two values:
//! each value's count is exactly its users', and "none" exactly the users in no value,
//! whichever way the values were written; the users of "none" (`UserSet::NoneOf`) are
//! exactly the model's.

use std::collections::{BTreeSet, HashMap, HashSet};

use bitmapist::{Bitmapist, CountSpec, MarkOptions, Period, UserSet};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

const EVENTS: [&str; 2] = ["a", "b"];
const PLANS: [&str; 3] = ["free", "pro", "team"];
const USERS: u32 = 40;
const DAYS: i64 = 28;

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
}

fn at(day: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0)
        .single()
        .expect("time")
        + Duration::days(day)
}

/// One case: marks, and the plan values given, raw or through `set_property`.
#[derive(Clone, Debug)]
struct World {
    /// (user, event index, day offset)
    marks: Vec<(u32, usize, i64)>,
    /// (user, plan index)
    plans: Vec<(u32, usize)>,
    /// Whether the plans are raw `mark_unique` marks (may overlap) or `set_property`.
    raw: bool,
    /// A segment filter of explicit ids, when given.
    filter: Option<BTreeSet<u32>>,
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec((0..USERS, 0..EVENTS.len(), 0..DAYS), 0..150),
        prop::collection::vec((0..USERS, 0..PLANS.len()), 0..40),
        any::<bool>(),
        prop::option::of(prop::collection::btree_set(0..USERS, 0..30)),
    )
        .prop_map(|(marks, plans, raw, filter)| World {
            marks,
            plans,
            raw,
            filter,
        })
}

impl World {
    /// Each value's users as the store ends up holding them.
    fn values(&self) -> HashMap<&'static str, HashSet<u32>> {
        let mut out: HashMap<&'static str, HashSet<u32>> = HashMap::new();
        if self.raw {
            for &(u, p) in &self.plans {
                out.entry(PLANS[p]).or_default().insert(u);
            }
        } else {
            // set_property: the last value given wins.
            let mut last: HashMap<u32, usize> = HashMap::new();
            for &(u, p) in &self.plans {
                last.insert(u, p);
            }
            for (u, p) in last {
                out.entry(PLANS[p]).or_default().insert(u);
            }
        }
        out
    }

    /// The users of `event` in the days of `period`.
    fn users(&self, event: usize, period: &Period) -> HashSet<u32> {
        let (start, end) = (period.start().expect("start"), period.end().expect("end"));
        self.marks
            .iter()
            .filter(|&&(_, e, d)| {
                e == event && at(d).naive_utc() >= start && at(d).naive_utc() < end
            })
            .map(|&(u, _, _)| u)
            .collect()
    }

    async fn store(&self, bm: &Bitmapist) {
        let marks: Vec<(&str, u32, DateTime<Utc>)> = self
            .marks
            .iter()
            .map(|&(u, e, d)| (EVENTS[e], u, at(d)))
            .collect();
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("marks");
        for &(u, p) in &self.plans {
            if self.raw {
                bm.mark_unique(&format!("plan:{}", PLANS[p]), u)
                    .await
                    .expect("unique");
            } else {
                bm.set_property("plan", PLANS[p], u)
                    .await
                    .expect("property");
            }
        }
        if let Some(ids) = &self.filter {
            bm.save_segment("f", &UserSet::Ids(ids.iter().copied().collect()), "ids")
                .await
                .expect("save");
        }
    }
}

fn periods() -> Vec<Period> {
    let d = day0() + Duration::days(17);
    vec![
        Period::day(d).expect("day"),
        Period::week_of(d).expect("week"),
        Period::month(2026, 11).expect("month"),
        Period::year(2026).expect("year"),
    ]
}

async fn check(world: &World, bm: &Bitmapist) -> Result<(), TestCaseError> {
    world.store(bm).await;
    let values = world.values();
    if values.is_empty() {
        return Ok(());
    }
    let mut spec = CountSpec::new(EVENTS, periods()).now(at(DAYS));
    if world.filter.is_some() {
        spec = spec.segment("f");
    }
    let by = bm
        .count_by(&spec, &"plan".parse().expect("breakdown"))
        .await
        .expect("count_by");
    prop_assert_eq!(by.breakdown.as_str(), "plan");
    let names: Vec<Option<String>> = by.values.iter().map(|v| v.value.clone()).collect();
    let mut want_names: Vec<Option<String>> = PLANS
        .iter()
        .filter(|p| values.contains_key(*p))
        .map(|p| Some(p.to_string()))
        .collect();
    want_names.push(None);
    prop_assert_eq!(&names, &want_names);
    let any: HashSet<u32> = values.values().flatten().copied().collect();
    let keep = |u: &u32| world.filter.as_ref().is_none_or(|f| f.contains(u));
    for v in &by.values {
        for (e, row) in v.result.iter().enumerate() {
            for (p, (&got, period)) in row.iter().zip(&periods()).enumerate() {
                let cell = world.users(e, period);
                let want = cell
                    .iter()
                    .filter(|u| keep(u))
                    .filter(|u| match &v.value {
                        Some(name) => values[name.as_str()].contains(u),
                        None => !any.contains(u),
                    })
                    .count() as u64;
                prop_assert_eq!(got, want, "value {:?} event {} period {}", v.value, e, p);
            }
        }
    }
    // The users of "none" of each cell, through the users API.
    for (e, event) in EVENTS.iter().enumerate() {
        for period in periods() {
            let set = UserSet::NoneOf {
                set: Box::new(UserSet::Event {
                    event: event.to_string(),
                    period,
                }),
                breakdown: "plan".parse().expect("breakdown"),
                now: at(DAYS),
            };
            let got: BTreeSet<u32> = bm.users(&set).await.expect("users").iter().collect();
            let want: BTreeSet<u32> = world
                .users(e, &period)
                .into_iter()
                .filter(|u| !any.contains(u))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn count_by_agrees_with_the_model_in_memory_and_embedded(world in world()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("memory");
            check(&world, &bm).await?;
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("file://{}", dir.path().join("c.redb").display());
            let bm = Bitmapist::open(&url).await.expect("file");
            check(&world, &bm).await?;
            bm.flush().await.expect("flush");
            Ok::<(), TestCaseError>(())
        })?;
    }
}
