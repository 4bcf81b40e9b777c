//! Lifecycle and trends against an independent per-user model: each user's marks as
//! instants, periods numbered with chrono directly (not through the crate's periods or
//! keys), statuses and rolling windows computed per user by their definitions.
//!
//! Checked for hours, days, weeks and months, with first-ever new users and with a creation
//! event, with marks before the range (history) and after `now` (never read); both
//! lifecycle identities on every row; the users behind every bar part; the rolling 1-, 7-
//! and 30-day windows with and without the previous range; a segment filter (a saved
//! snapshot) and a breakdown by a property, each against the model restricted to those
//! users. Runs on the memory store and on a real redis-server; trends also on the embedded
//! file (writable, reopened and read-only), with days of bitmap, array and run containers
//! over several container keys, changed by late marks and unmarks between reads.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bitmapist::{
    Argument, Bitmapist, Breakdown, Error, Lifecycle, LifecycleSpec, LifecycleStatus, MarkOptions,
    ReadOnlyEmbeddedStore, StickinessSpec, TimeGroup, Trends, TrendsSpec, UserSet,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use common::redis_server::RedisServer;
use proptest::prelude::*;

const EVENT: &str = "user:active";
const CREATED: &str = "user:created";
/// Users are `0..USERS`.
const USERS: u32 = 24;
const PLANS: [&str; 3] = ["free", "pro", "team"];

/// The users' plan (a property; `None` for some) and whether they are in the saved
/// segment `picked`, both from the case's `seed`.
fn plan_of(seed: u32, u: u32) -> Option<&'static str> {
    PLANS.get(((u * 5 + seed) % 4) as usize).copied()
}

fn picked(seed: u32, u: u32) -> bool {
    (u * 7 + seed).is_multiple_of(3)
}

/// Gives every user their plan and saves the `picked` segment.
async fn load_users(bm: &Bitmapist, seed: u32) {
    for u in 0..USERS {
        if let Some(plan) = plan_of(seed, u) {
            bm.set_property("plan", plan, u).await.expect("plan");
        }
    }
    let ids: Vec<u32> = (0..USERS).filter(|&u| picked(seed, u)).collect();
    bm.save_segment("picked", &UserSet::Ids(ids), "model users")
        .await
        .expect("save");
}

/// The model's "users of each breakdown value": the plans, then the users with none.
fn plan_groups(seed: u32) -> Vec<(Option<String>, BTreeSet<u32>)> {
    let mut out: Vec<(Option<String>, BTreeSet<u32>)> = PLANS
        .iter()
        .map(|p| {
            let users = (0..USERS)
                .filter(|&u| plan_of(seed, u) == Some(p))
                .collect();
            (Some(p.to_string()), users)
        })
        .collect();
    out.push((
        None,
        (0..USERS).filter(|&u| plan_of(seed, u).is_none()).collect(),
    ));
    out
}

/// A period's ordinal in its time group, from chrono only: hours and days since the
/// epoch, weeks by their Monday, months as `year * 12 + month0`.
fn ordinal(group: TimeGroup, t: DateTime<Utc>) -> i64 {
    let d: NaiveDate = t.date_naive();
    match group {
        TimeGroup::Hours => t.timestamp().div_euclid(3600),
        TimeGroup::Days => i64::from(d.num_days_from_ce()),
        TimeGroup::Weeks => {
            let monday = d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
            i64::from(monday.num_days_from_ce()) / 7
        }
        TimeGroup::Months => i64::from(d.year()) * 12 + i64::from(d.month0()),
        TimeGroup::Years => i64::from(d.year()),
    }
}

/// The length of one period in hours, roughly: how far apart generated marks are spread.
fn unit_hours(group: TimeGroup) -> i64 {
    match group {
        TimeGroup::Hours => 1,
        TimeGroup::Days => 24,
        TimeGroup::Weeks => 24 * 7,
        _ => 24 * 30,
    }
}

#[derive(Clone, Debug)]
struct Case {
    group: TimeGroup,
    periods: usize,
    new_from: bool,
    now: DateTime<Utc>,
    seed: u32,
    /// (uid, hours from `now`) of the event and of the creation event.
    active: Vec<(u32, i64)>,
    created: Vec<(u32, i64)>,
}

fn group() -> impl Strategy<Value = TimeGroup> {
    prop_oneof![
        Just(TimeGroup::Hours),
        Just(TimeGroup::Days),
        Just(TimeGroup::Weeks),
        Just(TimeGroup::Months),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        group(),
        1usize..7,
        any::<bool>(),
        0i64..(24 * 400),
        0u32..12,
    )
        .prop_flat_map(|(group, periods, new_from, now_shift, seed)| {
            let unit = unit_hours(group);
            // From well before the first row (history) to a little after `now`.
            let span = -(periods as i64 + 4) * unit..2 * unit;
            let marks = prop::collection::vec((0u32..USERS, span), 0..80);
            let now =
                Utc.with_ymd_and_hms(2025, 1, 1, 0, 17, 0).unwrap() + Duration::hours(now_shift);
            (marks.clone(), marks).prop_map(move |(active, created)| Case {
                group,
                periods,
                new_from,
                now,
                seed,
                active,
                created,
            })
        })
}

/// The model's users of each status in each row, oldest row first.
fn model_lifecycle(case: &Case) -> Vec<BTreeMap<LifecycleStatus, BTreeSet<u32>>> {
    model_lifecycle_of(case, &|_| true)
}

/// The same, for the users `keep` keeps only.
fn model_lifecycle_of(
    case: &Case,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<BTreeMap<LifecycleStatus, BTreeSet<u32>>> {
    let kept = |marks: &[(u32, i64)]| -> Vec<(u32, i64)> {
        marks.iter().copied().filter(|&(u, _)| keep(u)).collect()
    };
    let case = &Case {
        active: kept(&case.active),
        created: kept(&case.created),
        ..case.clone()
    };
    let g = case.group;
    let now = ordinal(g, case.now);
    let at = |h: i64| case.now + Duration::hours(h);
    let users_in = |marks: &[(u32, i64)], t: i64| -> BTreeSet<u32> {
        marks
            .iter()
            .filter(|&&(_, h)| ordinal(g, at(h)) == t)
            .map(|&(u, _)| u)
            .collect()
    };
    let mut first: BTreeMap<u32, i64> = BTreeMap::new();
    for &(u, h) in &case.active {
        let t = ordinal(g, at(h));
        first.entry(u).and_modify(|f| *f = (*f).min(t)).or_insert(t);
    }
    let first_row = now - case.periods as i64 + 1;
    (first_row..=now)
        .map(|t| {
            let a = users_in(&case.active, t);
            let prev = users_in(&case.active, t - 1);
            let c: BTreeSet<u32> = if case.new_from {
                users_in(&case.created, t)
            } else {
                first
                    .iter()
                    .filter(|&(_, &f)| f == t)
                    .map(|(&u, _)| u)
                    .collect()
            };
            let mut out = BTreeMap::new();
            out.insert(LifecycleStatus::New, &a & &c);
            out.insert(LifecycleStatus::Returning, &(&a & &prev) - &c);
            out.insert(LifecycleStatus::Resurrecting, &(&a - &prev) - &c);
            out.insert(LifecycleStatus::Dormant, &prev - &a);
            out
        })
        .collect()
}

/// `|A_t ∧ A_{t-1} ∧ C_t|` of row `row` in the model: users new in `t` though already
/// active in `t - 1` (only possible with a creation event).
fn model_recreated(case: &Case, row: usize) -> u64 {
    let g = case.group;
    let t = ordinal(g, case.now) - case.periods as i64 + 1 + row as i64;
    let users_in = |marks: &[(u32, i64)], t: i64| -> BTreeSet<u32> {
        marks
            .iter()
            .filter(|&&(_, h)| ordinal(g, case.now + Duration::hours(h)) == t)
            .map(|&(u, _)| u)
            .collect()
    };
    let new: BTreeSet<u32> = if case.new_from {
        users_in(&case.created, t)
    } else {
        model_lifecycle(case)[row][&LifecycleStatus::New].clone()
    };
    let both = &users_in(&case.active, t) & &users_in(&case.active, t - 1);
    (&both & &new).len() as u64
}

async fn load(bm: &Bitmapist, case: &Case) {
    for (event, marks) in [(EVENT, &case.active), (CREATED, &case.created)] {
        for &(u, h) in marks {
            bm.mark_event(event, u)
                .at(case.now + Duration::hours(h))
                .hourly(true)
                .await
                .expect("mark");
        }
    }
}

/// The counts of `got` against the model's sets.
fn same_counts(
    got: &Lifecycle,
    want: &[BTreeMap<LifecycleStatus, BTreeSet<u32>>],
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.rows.len(), want.len());
    for (i, (row, model)) in got.rows.iter().zip(want).enumerate() {
        for status in LifecycleStatus::ALL {
            prop_assert_eq!(
                row.count(status),
                model[&status].len() as u64,
                "{} row {} {}",
                what,
                i,
                status
            );
        }
    }
    Ok(())
}

async fn check_lifecycle(bm: &Bitmapist, case: &Case) -> Result<(), TestCaseError> {
    load(bm, case).await;
    load_users(bm, case.seed).await;
    let spec = LifecycleSpec::new(EVENT)
        .time_group(case.group)
        .periods(case.periods)
        .new_from(case.new_from.then(|| CREATED.to_string()))
        .now(case.now);
    let got = bm.lifecycle(&spec).await.expect("lifecycle");
    let want = model_lifecycle(case);
    prop_assert_eq!(got.rows.len(), want.len());
    prop_assert_eq!(got.time_group, case.group);
    prop_assert_eq!(got.new_from.is_some(), case.new_from);
    for (i, (row, model)) in got.rows.iter().zip(&want).enumerate() {
        for status in LifecycleStatus::ALL {
            prop_assert_eq!(
                row.count(status),
                model[&status].len() as u64,
                "row {} {}",
                i,
                status
            );
        }
        // The identities, on the engine's own numbers. The second one needs C_t disjoint
        // from A_{t-1}: always true of first-ever users; with a creation event, users active
        // before their creation are new in t and neither returning nor dormant.
        prop_assert_eq!(row.active(), row.new + row.returning + row.resurrecting);
        if i > 0 {
            let prev = got.rows[i - 1].active();
            let recreated = model_recreated(case, i);
            if !case.new_from {
                prop_assert_eq!(recreated, 0);
            }
            prop_assert_eq!(row.returning + row.dormant + recreated, prev);
        }
    }
    // The users behind each bar part of one row: exactly the model's set.
    let row = case.periods - 1;
    for status in LifecycleStatus::ALL {
        let set = UserSet::Lifecycle {
            spec: spec.clone(),
            row,
            status,
        };
        let users: BTreeSet<u32> = bm.users(&set).await.expect("users").iter().collect();
        prop_assert_eq!(&users, &want[row][&status], "users of {}", status);
    }
    // Filtered by a segment: the model on the picked users only (and their users).
    let seed = case.seed;
    let only = spec.clone().segment("picked");
    let want_picked = model_lifecycle_of(case, &|u| picked(seed, u));
    same_counts(
        &bm.lifecycle(&only).await.expect("filtered"),
        &want_picked,
        "picked",
    )?;
    let set = UserSet::Lifecycle {
        spec: only,
        row,
        status: LifecycleStatus::Dormant,
    };
    let users: BTreeSet<u32> = bm.users(&set).await.expect("users").iter().collect();
    prop_assert_eq!(&users, &want_picked[row][&LifecycleStatus::Dormant]);
    // Broken down by plan: each value is the model on its users; "none" last.
    let by = bm
        .lifecycle_by(&spec, &Breakdown::Property("plan".into()))
        .await
        .expect("breakdown");
    prop_assert_eq!(by.breakdown.as_str(), "plan");
    let groups = plan_groups(seed);
    prop_assert_eq!(by.values.len(), groups.len());
    for (value, (name, users)) in by.values.iter().zip(&groups) {
        prop_assert_eq!(&value.value, name);
        let want = model_lifecycle_of(case, &|u| users.contains(&u));
        same_counts(&value.result, &want, "breakdown")?;
    }
    Ok(())
}

#[derive(Clone, Debug)]
struct TrendsCase {
    days: usize,
    compare: bool,
    now: DateTime<Utc>,
    seed: u32,
    /// (uid, days from `now`).
    marks: Vec<(u32, i64)>,
}

fn trends_case() -> impl Strategy<Value = TrendsCase> {
    (1usize..45, any::<bool>(), 0i64..400, 0u32..12).prop_flat_map(
        |(days, compare, shift, seed)| {
            let back = (days * 2 + 35) as i64;
            let now = Utc.with_ymd_and_hms(2025, 3, 1, 13, 0, 0).unwrap() + Duration::days(shift);
            prop::collection::vec((0u32..USERS, -back..3i64), 0..200).prop_map(move |marks| {
                TrendsCase {
                    days,
                    compare,
                    now,
                    seed,
                    marks,
                }
            })
        },
    )
}

/// The model's (day, dau, wau, mau) for the `days` days ending `end_back` days before now.
fn model_trends(case: &TrendsCase, end_back: i64) -> Vec<(String, u64, u64, u64)> {
    model_trends_of(case, end_back, &|_| true)
}

/// The same, for the users `keep` keeps only.
fn model_trends_of(
    case: &TrendsCase,
    end_back: i64,
    keep: &dyn Fn(u32) -> bool,
) -> Vec<(String, u64, u64, u64)> {
    let today = case.now.date_naive();
    let window = |day: NaiveDate, w: i64| -> u64 {
        case.marks
            .iter()
            .filter(|&&(u, _)| keep(u))
            .filter(|&&(_, d)| {
                let md = (case.now + Duration::days(d)).date_naive();
                md <= day && md > day - Duration::days(w)
            })
            .map(|&(u, _)| u)
            .collect::<BTreeSet<u32>>()
            .len() as u64
    };
    (0..case.days as i64)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back + end_back);
            (
                day.format("%Y-%m-%d").to_string(),
                window(day, 1),
                window(day, 7),
                window(day, 30),
            )
        })
        .collect()
}

type Row = (String, u64, u64, u64);

fn series(days: &[bitmapist::TrendsDay]) -> Vec<Row> {
    days.iter()
        .map(|d| (d.day.clone(), d.dau, d.wau, d.mau))
        .collect()
}

/// `got` (and its previous range) against the model on the users `keep` keeps.
fn same_trends(
    got: &Trends,
    case: &TrendsCase,
    keep: &dyn Fn(u32) -> bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(series(&got.days), model_trends_of(case, 0, keep));
    if let Some(prev) = &got.previous {
        prop_assert_eq!(series(prev), model_trends_of(case, case.days as i64, keep));
    }
    Ok(())
}

async fn check_trends(bm: &Bitmapist, case: &TrendsCase) -> Result<(), TestCaseError> {
    load_users(bm, case.seed).await;
    for &(u, d) in &case.marks {
        bm.mark_event(EVENT, u)
            .at(case.now + Duration::days(d))
            .await
            .expect("mark");
    }
    let spec = TrendsSpec::new(EVENT)
        .days(case.days)
        .compare(case.compare)
        .now(case.now);
    let got = bm.trends(&spec).await.expect("trends");
    prop_assert_eq!(series(&got.days), model_trends(case, 0));
    for d in &got.days {
        let ratio = (d.mau > 0).then(|| d.dau as f64 / d.mau as f64);
        prop_assert_eq!(d.dau_mau, ratio);
    }
    match (&got.previous, case.compare) {
        (Some(prev), true) => {
            prop_assert_eq!(series(prev), model_trends(case, case.days as i64));
        }
        (None, false) => {}
        (p, c) => prop_assert!(false, "previous {:?} with compare {}", p.is_some(), c),
    }
    let seed = case.seed;
    let only = bm
        .trends(&spec.clone().segment("picked"))
        .await
        .expect("filtered");
    same_trends(&only, case, &|u| picked(seed, u))?;
    let by = bm
        .trends_by(&spec, &Breakdown::Property("plan".into()))
        .await
        .expect("breakdown");
    let groups = plan_groups(seed);
    prop_assert_eq!(by.values.len(), groups.len());
    for (value, (name, users)) in by.values.iter().zip(&groups) {
        prop_assert_eq!(&value.value, name);
        same_trends(&value.result, case, &|u| users.contains(&u))?;
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
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_agrees_with_model(case in case()) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            check_lifecycle(&bm, &case).await
        })?;
    }

    #[test]
    fn trends_agree_with_model(case in trends_case()) {
        runtime().block_on(async {
            let bm = Bitmapist::open("memory://").await.expect("open");
            check_trends(&bm, &case).await
        })?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The same checks through a real redis-server (one per test thread, a key prefix per case).
    #[test]
    fn redis_lifecycle_and_trends_agree_with_model(case in case(), trends in trends_case()) {
        thread_local! {
            static SERVER: (RedisServer, std::cell::Cell<u32>) =
                (RedisServer::start(), std::cell::Cell::new(0));
        }
        let (url, n) = SERVER.with(|(s, n)| { n.set(n.get() + 1); (s.url(), n.get()) });
        runtime().block_on(async {
            for (i, part) in ["l", "t"].iter().enumerate() {
                let bm = Bitmapist::builder()
                    .url(url.clone())
                    .key_prefix(format!("case{n}{part}_"))
                    .open()
                    .await
                    .expect("open");
                if i == 0 {
                    check_lifecycle(&bm, &case).await?;
                } else {
                    check_trends(&bm, &trends).await?;
                }
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// Days of the embedded-file case, oldest first: `FILE_DAYS` days ending at `file_now()`.
const FILE_DAYS: i64 = 65;

fn file_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 10, 12, 0, 0).unwrap()
}

/// Day `d`'s users: dense in container key 0 (a bitmap container), sparse in keys 2 and 3
/// (arrays), a range in key 5 (a run); some days have only some parts, some none.
fn file_day(d: u32) -> BTreeSet<u32> {
    let mut users = BTreeSet::new();
    if d % 11 == 5 {
        return users;
    }
    if d % 3 != 1 {
        users
            .extend((0..65_536u32).filter(|u| (u.wrapping_mul(2_654_435_761) >> 7) % 12 == d % 12));
    }
    users.extend((0..300u32).map(|i| 131_072 + (d * 37 + i * 101) % 131_072));
    if d % 4 != 2 {
        let at = 5 * 65_536 + d * 500;
        users.extend(at..at + 5_000);
    }
    users
}

/// The model's (day, dau, wau, mau) for the `n` days ending `end_back` days before the last:
/// per user the set of its days (bit `d` of a mask), counted in each window by definition.
fn file_model(days: &[BTreeSet<u32>], n: i64, end_back: i64) -> Vec<Row> {
    let mut active: BTreeMap<u32, u128> = BTreeMap::new();
    for (d, users) in days.iter().enumerate() {
        for &u in users {
            *active.entry(u).or_default() |= 1 << d;
        }
    }
    let window = |e: i64, w: i64| -> u64 {
        let mask = ((e - w + 1).max(0)..=e).fold(0u128, |m, d| m | 1 << d);
        active.values().filter(|&&a| a & mask != 0).count() as u64
    };
    (0..n)
        .rev()
        .map(|back| {
            let e = FILE_DAYS - 1 - back - end_back;
            let day = (file_now() - Duration::days(FILE_DAYS - 1 - e)).date_naive();
            (
                day.format("%Y-%m-%d").to_string(),
                window(e, 1),
                window(e, 7),
                window(e, 30),
            )
        })
        .collect()
}

async fn check_file_trends(bm: &Bitmapist, days: &[BTreeSet<u32>], what: &str) {
    let spec = TrendsSpec::new(EVENT)
        .days(18)
        .compare(true)
        .now(file_now());
    let got = bm.trends(&spec).await.expect("trends");
    assert_eq!(series(&got.days), file_model(days, 18, 0), "{what}: range");
    let prev = got.previous.expect("previous");
    assert_eq!(
        series(&prev),
        file_model(days, 18, 18),
        "{what}: previous range"
    );
    check_file_stickiness(bm, days, what).await;
}

/// The day of the file model's day `d`.
fn file_date(d: usize) -> NaiveDate {
    (file_now() - Duration::days(FILE_DAYS - 1 - d as i64)).date_naive()
}

/// Stickiness read from the embedded file (counted container by container on its stored
/// serializations) against each user's days in the model: this week and month, and a
/// whole past month and a week seen from its middle; every bucket's users of the month.
async fn check_file_stickiness(bm: &Bitmapist, days: &[BTreeSet<u32>], what: &str) {
    let may_end = Utc.with_ymd_and_hms(2025, 5, 31, 20, 0, 0).unwrap();
    for (group, at) in [
        (TimeGroup::Weeks, file_now()),
        (TimeGroup::Months, file_now()),
        (TimeGroup::Weeks, may_end),
        (TimeGroup::Months, may_end),
    ] {
        let got = bm.stickiness(EVENT, group, at).await.expect("stickiness");
        let date = at.date_naive();
        let first = match group {
            TimeGroup::Weeks => date - Duration::days(date.weekday().num_days_from_monday().into()),
            _ => date.with_day(1).expect("first of the month"),
        };
        let length = match group {
            TimeGroup::Weeks => 7,
            _ => {
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .expect("next");
                (next - first).num_days() as usize
            }
        };
        let mut per_user: BTreeMap<u32, usize> = BTreeMap::new();
        for (d, users) in days.iter().enumerate() {
            if (first..=date).contains(&file_date(d)) {
                users
                    .iter()
                    .for_each(|&u| *per_user.entry(u).or_default() += 1);
            }
        }
        let mut want = vec![0u64; length];
        per_user.values().for_each(|&k| want[k - 1] += 1);
        assert_eq!(got.days, want, "{what}: stickiness of {group} at {at}");
        if group == TimeGroup::Months && at == may_end {
            let spec = StickinessSpec::new(EVENT).time_group(group).at(at);
            for k in 1..=length {
                let users = bm
                    .users(&UserSet::StickinessBucket {
                        spec: spec.clone(),
                        days: k,
                    })
                    .await
                    .expect("bucket users");
                let want: Vec<u32> = per_user
                    .iter()
                    .filter(|&(_, &c)| c == k)
                    .map(|(&u, _)| u)
                    .collect();
                assert_eq!(
                    users.iter().collect::<Vec<u32>>(),
                    want,
                    "{what}: {k} days' users"
                );
            }
        }
    }
}

/// Trends and stickiness read from the embedded file (its stored serializations, taken apart
/// container by container) against plain unions of the model's sets: cached and uncached days mixed after
/// late marks and unmarks, then the file reopened, then opened read-only.
#[tokio::test]
async fn file_trends_agree_with_plain_unions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("trends.redb");
    let url = format!("file://{}", path.display());
    let mut days: Vec<BTreeSet<u32>> = (0..FILE_DAYS as u32).map(file_day).collect();
    let at = |d: usize| file_now() - Duration::days(FILE_DAYS - 1 - d as i64);
    {
        let bm = Bitmapist::open(&url).await.expect("open");
        for (d, users) in days.iter().enumerate() {
            let marks = users.iter().map(|&u| (EVENT, u, at(d)));
            bm.mark_events(marks, MarkOptions::default())
                .await
                .expect("mark");
        }
        bm.store().flush().await.expect("flush");
        check_file_trends(&bm, &days, "written").await;
        // A late mark in a new container key, and unmarks of a dense and a run part.
        bm.mark_events([(EVENT, 9 * 65_536 + 3, at(20))], MarkOptions::default())
            .await
            .expect("late mark");
        days[20].insert(9 * 65_536 + 3);
        let gone: Vec<u32> = days[40].iter().copied().filter(|u| u % 5 == 0).collect();
        let unmarks = gone.iter().map(|&u| (EVENT, u, at(40)));
        bm.unmark_events(unmarks, MarkOptions::default())
            .await
            .expect("unmark");
        gone.iter().for_each(|u| {
            days[40].remove(u);
        });
        check_file_trends(&bm, &days, "changed, partly cached").await;
        bm.store().flush().await.expect("flush");
    }
    let bm = Bitmapist::open(&url).await.expect("reopen");
    check_file_trends(&bm, &days, "reopened").await;
    drop(bm);
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("open read-only");
    let bm = Bitmapist::builder()
        .store(Arc::new(ro))
        .open()
        .await
        .expect("open read-only");
    check_file_trends(&bm, &days, "read-only").await;
}

#[tokio::test]
async fn bad_specs_name_the_argument() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let arg = |e: Error| match e {
        Error::InvalidArgument { argument, .. } => argument,
        other => panic!("not an argument error: {other}"),
    };
    let years = LifecycleSpec::new(EVENT).time_group(TimeGroup::Years);
    assert_eq!(
        arg(bm.lifecycle(&years).await.unwrap_err()),
        Argument::TimeGroup
    );
    let zero = LifecycleSpec::new(EVENT).periods(0);
    assert_eq!(
        arg(bm.lifecycle(&zero).await.unwrap_err()),
        Argument::Periods
    );
    let empty = LifecycleSpec::new(EVENT).new_from(Some(String::new()));
    assert_eq!(
        arg(bm.lifecycle(&empty).await.unwrap_err()),
        Argument::NewFrom
    );
    let row = bm
        .users(&UserSet::Lifecycle {
            spec: LifecycleSpec::new(EVENT).periods(3),
            row: 3,
            status: LifecycleStatus::New,
        })
        .await
        .unwrap_err();
    assert_eq!(arg(row), Argument::Rows);
    let unknown = LifecycleSpec::new(EVENT).segment("nobody");
    bm.mark_event(EVENT, 1).await.expect("mark");
    assert_eq!(
        arg(bm.lifecycle(&unknown).await.unwrap_err()),
        Argument::Segment
    );
    let days = TrendsSpec::new(EVENT).days(401);
    assert_eq!(arg(bm.trends(&days).await.unwrap_err()), Argument::Days);
    assert_eq!(
        arg("gone".parse::<LifecycleStatus>().unwrap_err()),
        Argument::Status
    );
}

/// The JSON shape the CLI and the API print.
#[tokio::test]
async fn lifecycle_json_has_the_documented_keys() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    let now = Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap();
    bm.mark_event(EVENT, 1).at(now).await.expect("mark");
    let spec = LifecycleSpec::new(EVENT)
        .time_group(TimeGroup::Days)
        .periods(1)
        .now(now);
    let json = serde_json::to_value(bm.lifecycle(&spec).await.expect("lifecycle")).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "event": EVENT, "time_group": "days", "new_from": null,
            "rows": [{"period": "2026-11-18", "start": "2026-11-18", "new": 1,
                      "returning": 0, "resurrecting": 0, "dormant": 0}]
        })
    );
}
