//! Data retention against real stores: a retention policy applied by `Bitmapist::prune` on
//! the memory store, the embedded file, a real redis-server and a real Redis Cluster, checked
//! against a model of the policy written here with chrono alone (which keys remain, what
//! the dry run reports, which periods read as pruned); week, month and year answers stay
//! bit-identical after days and hours are pruned; the embedded store pruning by itself on
//! its flush thread; SIGKILL during the embedded store's prune loses nothing it keeps.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitmapist::{
    Bitmap, Bitmapist, EmbeddedOptions, EmbeddedStore, KeepPolicy, MarkOptions, Period, PruneSpec,
    Store, TimeGroup, Zone,
};
use bitmapist_test_support::Rng;
use chrono::{
    DateTime, Datelike, Duration as Span, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc,
};
use common::redis_cluster::RedisCluster;
use common::redis_server::RedisServer;

const PREFIX: &str = "trackist_";
const EVENTS: [&str; 3] = ["user:logged_in", "page_viewed", "b:c"];

/// The policy the model below implements.
const POLICY: &str = "hour:3d,day:90d,week:30w";

/// One mark: event, user, time.
type Mark = (&'static str, u32, DateTime<Utc>);

/// Marks over the 500 days before `now`, denser in the last days (where the hour and day
/// cutoffs fall).
fn marks(now: DateTime<Utc>, seed: u64) -> Vec<Mark> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for i in 0..1_500 {
        let span_minutes: u64 = if i % 3 == 0 {
            8 * 24 * 60
        } else {
            500 * 24 * 60
        };
        let back = i64::try_from(rng.next() % span_minutes).expect("minutes");
        let event = EVENTS[(rng.next() % 3) as usize];
        let uid = u32::try_from(rng.next() % 5_000).expect("uid");
        out.push((event, uid, now - Span::minutes(back)));
    }
    out
}

/// The key names of a mark (hourly and unique), written out here with chrono alone.
fn model_keys(event: &str, at: DateTime<Utc>) -> [(String, Option<TimeGroup>, NaiveDateTime); 5] {
    let d = at.date_naive();
    let (iy, iw) = (d.iso_week().year(), d.iso_week().week());
    let monday = d - Span::days(i64::from(d.weekday().num_days_from_monday()));
    let hour_start = d.and_hms_opt(at.hour(), 0, 0).expect("hour");
    let midnight = |x: NaiveDate| x.and_hms_opt(0, 0, 0).expect("midnight");
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("month");
    [
        (
            format!(
                "{PREFIX}{event}_{}-{}-{}-{}",
                d.year(),
                d.month(),
                d.day(),
                at.hour()
            ),
            Some(TimeGroup::Hours),
            hour_start,
        ),
        (
            format!("{PREFIX}{event}_{}-{}-{}", d.year(), d.month(), d.day()),
            Some(TimeGroup::Days),
            midnight(d),
        ),
        (
            format!("{PREFIX}{event}_W{iy}-{iw}"),
            Some(TimeGroup::Weeks),
            midnight(monday),
        ),
        (
            format!("{PREFIX}{event}_{}-{}", d.year(), d.month()),
            Some(TimeGroup::Months),
            midnight(first),
        ),
        (format!("{PREFIX}{event}_u"), None, midnight(d)),
    ]
}

/// The model of `POLICY` at `now` (UTC): the start of the oldest kept period per group.
fn model_oldest(now: DateTime<Utc>) -> BTreeMap<TimeGroup, NaiveDateTime> {
    let n = now.naive_utc();
    let c = n - Span::hours(72);
    let hour = c.date().and_hms_opt(c.hour(), 0, 0).expect("hour");
    let day = (n - Span::days(90))
        .date()
        .and_hms_opt(0, 0, 0)
        .expect("day");
    let w = (n - Span::weeks(30)).date();
    let week = (w - Span::days(i64::from(w.weekday().num_days_from_monday())))
        .and_hms_opt(0, 0, 0)
        .expect("week");
    BTreeMap::from([
        (TimeGroup::Hours, hour),
        (TimeGroup::Days, day),
        (TimeGroup::Weeks, week),
    ])
}

/// Every key the marks write, with whether the model drops it.
fn model(marks: &[Mark], now: DateTime<Utc>) -> BTreeMap<String, (Option<TimeGroup>, bool)> {
    let oldest = model_oldest(now);
    let mut out = BTreeMap::new();
    for &(event, _, at) in marks {
        for (key, group, start) in model_keys(event, at) {
            let dropped = group
                .and_then(|g| oldest.get(&g))
                .is_some_and(|oldest| start < *oldest);
            out.insert(key, (group, dropped));
        }
    }
    out
}

async fn mark_all(bm: &Bitmapist, marks: &[Mark]) {
    let opts = MarkOptions {
        hourly: Some(true),
        unique: Some(true),
    };
    bm.mark_events(marks.iter().copied(), opts)
        .await
        .expect("mark");
    // Keys no prune may touch: another prefix, Python's temporary BITOP result.
    bm.store()
        .put(&[
            (
                "other_user:logged_in_2020-1-1".to_string(),
                Bitmap::from_iter([1u32]),
            ),
            (
                format!("{PREFIX}bitop_and_2020-1-1"),
                Bitmap::from_iter([2u32]),
            ),
        ])
        .await
        .expect("put foreign keys");
    bm.flush().await.expect("flush");
}

/// The whole check on one store: dry run = model, apply = model, weeks/months/years
/// bit-identical, the horizon recorded and read back, a second prune with a longer policy
/// moving nothing back.
async fn prune_follows_the_model(bm: &Bitmapist) {
    let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 30, 0).unwrap();
    let marks = marks(now, 0x5eed);
    mark_all(bm, &marks).await;
    let model = model(&marks, now);
    let store = bm.store();

    let before: BTreeSet<String> = store
        .keys(PREFIX)
        .await
        .expect("keys")
        .into_iter()
        .collect();
    let model_all: BTreeSet<String> = model.keys().cloned().collect();
    assert_eq!(
        before.len(),
        model_all.len() + 1,
        "the store holds the model's keys and bitop"
    );
    assert!(model_all.is_subset(&before));

    let kept_long: Vec<String> = model
        .iter()
        .filter(|(_, (g, dropped))| {
            matches!(g, Some(TimeGroup::Months) | None)
                || (*g == Some(TimeGroup::Weeks) && !dropped)
        })
        .map(|(k, _)| k.clone())
        .collect();
    let kept_long_before = store.get(&kept_long).await.expect("get");
    let years_before = year_counts(bm, now).await;

    let policy: KeepPolicy = POLICY.parse().expect("policy");
    let spec = PruneSpec::new(policy.clone()).now(now).batch(37);
    let dry = bm.prune(&spec).await.expect("dry run");
    let dropped: BTreeSet<String> = model
        .iter()
        .filter(|(_, (_, d))| *d)
        .map(|(k, _)| k.clone())
        .collect();
    assert!(!dropped.is_empty());
    assert_eq!(dry.keys, dropped.len() as u64);
    assert!(!dry.applied);
    assert_eq!(dry.deleted, 0);
    assert_eq!(dry.recorded, "", "a dry run records nothing");
    for g in &dry.groups {
        let n = model
            .values()
            .filter(|(group, d)| *d && *group == Some(g.time_group))
            .count();
        assert_eq!(g.keys, n as u64, "{:?}", g.time_group);
    }
    let sizes = store
        .value_sizes(&dropped.iter().cloned().collect::<Vec<_>>())
        .await
        .expect("sizes");
    assert_eq!(dry.bytes, sizes.iter().sum::<u64>());
    assert!(sizes.iter().all(|&s| s > 0));
    assert_eq!(
        store.keys(PREFIX).await.expect("keys").len(),
        before.len(),
        "a dry run deletes nothing"
    );
    assert!(bm.pruned_horizon().await.expect("horizon").is_empty());

    let done = bm.prune(&spec.clone().apply(true)).await.expect("apply");
    assert_eq!(done.deleted, dropped.len() as u64);
    assert_eq!(done.batch_times.len(), dropped.len().div_ceil(37));
    let after: BTreeSet<String> = store
        .keys(PREFIX)
        .await
        .expect("keys")
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = before.difference(&dropped).cloned().collect();
    assert_eq!(after, expected);
    assert_eq!(
        store.keys("other_").await.expect("keys"),
        ["other_user:logged_in_2020-1-1"]
    );

    // Weeks, months, years and unique keys: bit-identical.
    assert_eq!(store.get(&kept_long).await.expect("get"), kept_long_before);
    assert_eq!(year_counts(bm, now).await, years_before);

    // The horizon: recorded, and it says which periods are gone.
    let horizon = bm.pruned_horizon().await.expect("horizon");
    for (group, start) in model_oldest(now) {
        assert_eq!(
            horizon.get(group).and_then(|p| p.start()),
            Some(start),
            "{group:?}"
        );
        let oldest = horizon.get(group).expect("horizon");
        assert!(!horizon.is_pruned(&oldest));
        assert!(horizon.is_pruned(&oldest.prev().expect("prev")));
    }
    assert_eq!(horizon.get(TimeGroup::Months), None);
    assert_eq!(done.recorded, horizon.to_record());

    // A longer policy later moves no horizon back and deletes nothing more.
    let longer: KeepPolicy = "hour:30d,day:400d".parse().expect("policy");
    let again = bm
        .prune(&PruneSpec::new(longer).now(now).apply(true))
        .await
        .expect("again");
    assert_eq!(again.deleted, 0);
    assert_eq!(bm.pruned_horizon().await.expect("horizon"), horizon);
}

/// Counts per event of the two years the marks span.
async fn year_counts(bm: &Bitmapist, now: DateTime<Utc>) -> Vec<u64> {
    let mut out = Vec::new();
    for event in EVENTS {
        for back in [0, 400] {
            let q = bm
                .get_event_data(event, TimeGroup::Years, now - Span::days(back))
                .expect("query");
            out.push(q.count().await.expect("count"));
        }
    }
    out
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[tokio::test]
async fn memory_store_follows_the_model() {
    let bm = Bitmapist::open("memory://").await.expect("open");
    prune_follows_the_model(&bm).await;
}

#[tokio::test]
async fn embedded_store_follows_the_model_and_survives_reopen() {
    let dir = tempdir();
    let path = dir.path().join("prune.redb");
    let url = format!("file://{}", path.display());
    {
        let bm = Bitmapist::open(&url).await.expect("open");
        prune_follows_the_model(&bm).await;
    }
    // The deletes and the record were committed.
    let bm = Bitmapist::open(&url).await.expect("reopen");
    let horizon = bm.pruned_horizon().await.expect("horizon");
    assert!(horizon.get(TimeGroup::Days).is_some());
    let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 30, 0).unwrap();
    let model = model(&marks(now, 0x5eed), now);
    let left: BTreeSet<String> = bm
        .store()
        .keys(PREFIX)
        .await
        .expect("keys")
        .into_iter()
        .collect();
    for (key, (_, dropped)) in &model {
        assert_eq!(left.contains(key), !dropped, "{key}");
    }
}

#[tokio::test]
async fn redis_store_follows_the_model() {
    let server = RedisServer::start();
    let bm = Bitmapist::open(&server.url()).await.expect("open");
    prune_follows_the_model(&bm).await;
}

#[tokio::test]
async fn cluster_store_follows_the_model() {
    let cluster = RedisCluster::start(3, 0);
    let bm = Bitmapist::open(&cluster.url()).await.expect("open");
    prune_follows_the_model(&bm).await;
    // Every primary held some of the deleted keys and none holds them now.
    let mut raw = cluster.raw_connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}*"))
        .query(&mut raw)
        .unwrap_or_default();
    let now = Utc.with_ymd_and_hms(2026, 6, 15, 10, 30, 0).unwrap();
    let model = model(&marks(now, 0x5eed), now);
    for key in keys {
        assert!(!model.get(&key).is_some_and(|(_, d)| *d), "{key} survived");
    }
}

/// A bad policy is an error naming `keep` and the problem; nothing is deleted.
#[tokio::test]
async fn bad_policies_are_refused_with_the_reason() {
    for (text, needle) in [
        ("hour:7", "unit"),
        ("year:1y", "name month"),
        ("day:0d", "keeping nothing"),
        ("day", "GROUP:LENGTH"),
    ] {
        let err = text.parse::<KeepPolicy>().expect_err(text).to_string();
        assert!(
            err.contains("keep") && err.contains(needle),
            "{text}: {err}"
        );
    }
    let err = bitmapist::Config::from_vars(|n| (n == "BITMAPIST_KEEP").then(|| "hour:7x".into()))
        .expect_err("bad env");
    assert!(err.to_string().contains("BITMAPIST_KEEP"), "{err}");
    let ok = bitmapist::Config::from_vars(|n| (n == "BITMAPIST_KEEP").then(|| "hour:7d".into()))
        .expect("env");
    assert_eq!(ok.keep.to_string(), "hour:7d");
}

// ---------------------------------------------------------------------------------------
// The embedded store pruning by itself.

/// Day marks at noon, `back` days before `today`: far from every day cutoff, so that the
/// model holds whatever second the store's thread runs at.
fn noon_marks(today: NaiveDate, days: i64, users: u32) -> Vec<Mark> {
    let mut out = Vec::new();
    for back in 0..days {
        let at = (today - Span::days(back))
            .and_hms_opt(12, 0, 0)
            .expect("noon")
            .and_utc();
        for uid in 0..users {
            out.push((
                EVENTS[(back % 3) as usize],
                uid * 7 + u32::try_from(back).expect("back"),
                at,
            ));
        }
    }
    out
}

/// Day keys of the marks, and whether `day:Nd` at `today` drops them.
fn day_model(marks: &[Mark], today: NaiveDate, keep_days: i64) -> BTreeMap<String, bool> {
    let oldest = today - Span::days(keep_days);
    marks
        .iter()
        .map(|&(event, _, at)| {
            let d = at.date_naive();
            (
                format!("{PREFIX}{event}_{}-{}-{}", d.year(), d.month(), d.day()),
                d < oldest,
            )
        })
        .collect()
}

#[tokio::test]
async fn embedded_store_prunes_by_itself_and_compacts() {
    let dir = tempdir();
    let path = dir.path().join("auto.redb");
    let today = Utc::now().date_naive();
    let marks = noon_marks(today, 200, 400);
    {
        let bm = Bitmapist::open(&format!("file://{}", path.display()))
            .await
            .expect("open");
        mark_all(&bm, &marks).await;
    }
    let store = Arc::new(EmbeddedStore::open(&path, fast_options()).expect("open"));
    let file_before = store.storage_stats().await.expect("stats").file_bytes;
    let policy: KeepPolicy = "day:30d".parse().expect("policy");
    // Through the builder: the store is asked to prune by itself (once an hour)...
    let bm = Bitmapist::builder()
        .store(store.clone())
        .keep(policy.clone())
        .open()
        .await
        .expect("open");
    assert_eq!(bm.keep_policy(), &policy);
    wait_for_prunes(&store, 1).await;
    // ... so its first run is done, and the next is an hour away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.prunes_completed(), 1, "at most once an hour");

    let model = day_model(&marks, today, 30);
    let left: BTreeSet<String> = store
        .keys(PREFIX)
        .await
        .expect("keys")
        .into_iter()
        .collect();
    for (key, dropped) in &model {
        assert_eq!(left.contains(key), !dropped, "{key}");
    }
    let horizon = bm.pruned_horizon().await.expect("horizon");
    assert_eq!(
        horizon.get(TimeGroup::Days),
        Period::day(today - Span::days(30)).ok()
    );
    // 170 of 200 days went: the file was compacted.
    let stats = store.storage_stats().await.expect("stats");
    assert!(!stats.worth_compacting(), "{stats:?}");
    assert!(
        stats.file_bytes < file_before,
        "{} !< {file_before}",
        stats.file_bytes
    );

    // A quicker schedule runs again, and finds nothing more to delete.
    store.auto_prune_every(PREFIX, &policy, Zone::UTC, Duration::from_millis(20));
    wait_for_prunes(&store, 3).await;
    let again: BTreeSet<String> = store
        .keys(PREFIX)
        .await
        .expect("keys")
        .into_iter()
        .collect();
    assert_eq!(again, left);
}

fn fast_options() -> EmbeddedOptions {
    EmbeddedOptions {
        flush_interval: Duration::from_millis(10),
        ..EmbeddedOptions::default()
    }
}

async fn wait_for_prunes(store: &EmbeddedStore, n: u64) {
    let started = Instant::now();
    while store.prunes_completed() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the flush thread did not prune ({} of {n})",
            store.prunes_completed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------
// SIGKILL during the embedded store's prune.

const CHILD_FILE: &str = "BITMAPIST_PRUNE_CHILD_FILE";
const KEEP_DAYS: i64 = 20;

/// Run only as a child of `sigkill_during_prune_loses_nothing_kept`: opens the file, asks
/// for a prune on every tick, says READY, and prunes until it is killed.
#[test]
#[ignore = "child process of sigkill_during_prune_loses_nothing_kept"]
fn prune_child() {
    let path = PathBuf::from(std::env::var_os(CHILD_FILE).expect("run by the parent test"));
    let store = EmbeddedStore::open(&path, fast_options()).expect("open");
    let policy: KeepPolicy = format!("day:{KEEP_DAYS}d").parse().expect("policy");
    store.auto_prune_every(PREFIX, &policy, Zone::UTC, Duration::ZERO);
    println!("READY");
    loop {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_child(path: &Path) -> Child {
    common::child_test(module_path!(), "prune_child")
        .env(CHILD_FILE, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

#[tokio::test]
async fn sigkill_during_prune_loses_nothing_kept() {
    let dir = tempdir();
    let seed = dir.path().join("seed.redb");
    let today = Utc::now().date_naive();
    let marks = noon_marks(today, 300, 300);
    {
        let bm = Bitmapist::open(&format!("file://{}", seed.display()))
            .await
            .expect("open");
        mark_all(&bm, &marks).await;
    }
    let model = day_model(&marks, today, KEEP_DAYS);
    let original: BTreeMap<String, Bitmap> = {
        let store = EmbeddedStore::open(&seed, EmbeddedOptions::default()).expect("open");
        let keys = store.keys(PREFIX).await.expect("keys");
        let got = store.get(&keys).await.expect("get");
        keys.into_iter()
            .zip(got)
            .map(|(k, b)| (k, b.expect("exists")))
            .collect()
    };
    let mut outcomes = BTreeSet::new();
    for (round, delay_ms) in [0u64, 2, 5, 10, 20, 40, 80, 160, 320]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("round{round}.redb"));
        std::fs::copy(&seed, &path).expect("copy the seeded file");
        let mut child = spawn_child(&path);
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.contains("READY") {
            line.clear();
            assert!(
                out.read_line(&mut line).expect("read") > 0,
                "the child exited early"
            );
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");

        let store = EmbeddedStore::open(&path, EmbeddedOptions::default()).expect("reopen");
        let keys = store.keys(PREFIX).await.expect("keys");
        let got = store.get(&keys).await.expect("every value decodes");
        let left: BTreeMap<String, Bitmap> = keys
            .into_iter()
            .zip(got)
            .map(|(k, b)| (k, b.expect("exists")))
            .collect();
        // Every key left is untouched; every key gone was one the policy drops.
        for (key, bitmap) in &original {
            match left.get(key) {
                Some(b) => assert_eq!(b, bitmap, "round {round}: {key} changed"),
                None => assert!(
                    model.get(key) == Some(&true),
                    "round {round}: kept key {key} lost"
                ),
            }
        }
        let bm = Bitmapist::new(Arc::new(store));
        let horizon = bm.pruned_horizon().await.expect("horizon");
        let gone = original.len() - left.len();
        // Deletions are committed only after the horizon is.
        assert!(
            gone == 0 || !horizon.is_empty(),
            "round {round}: deleted without a record"
        );
        outcomes.insert((horizon.is_empty(), gone == 0));
        // Pruning again completes the job exactly.
        let policy: KeepPolicy = format!("day:{KEEP_DAYS}d").parse().expect("policy");
        bm.prune(&PruneSpec::new(policy).apply(true))
            .await
            .expect("prune");
        let done: BTreeSet<String> = bm
            .store()
            .keys(PREFIX)
            .await
            .expect("keys")
            .into_iter()
            .collect();
        for (key, dropped) in &model {
            assert_eq!(done.contains(key), !dropped, "round {round}: {key}");
        }
    }
    eprintln!("(record empty, nothing deleted) outcomes seen: {outcomes:?}");
    assert!(
        outcomes.len() >= 2,
        "the kills all landed at one stage: {outcomes:?}"
    );
}

/// `BITMAPIST_KEEP` through `Config`: an app opening the file with the variable set has
/// the store prune by itself (what the axum and actix extensions do with `from_env`).
#[tokio::test]
async fn the_keep_variable_makes_the_file_store_prune_itself() {
    let dir = tempdir();
    let path = dir.path().join("env.redb");
    let url = format!("file://{}?flush_ms=10", path.display());
    let today = Utc::now().date_naive();
    let marks = noon_marks(today, 40, 5);
    {
        let bm = Bitmapist::open(&url).await.expect("open");
        mark_all(&bm, &marks).await;
    }
    let config = bitmapist::Config::from_vars(|name| match name {
        "BITMAPIST_URL" => Some(url.clone()),
        "BITMAPIST_KEEP" => Some("day:10d".to_string()),
        _ => None,
    })
    .expect("config");
    let bm = config.open().await.expect("open");
    assert_eq!(bm.keep_policy().to_string(), "day:10d");
    let model = day_model(&marks, today, 10);
    let started = Instant::now();
    loop {
        let left: BTreeSet<String> = bm
            .store()
            .keys(PREFIX)
            .await
            .expect("keys")
            .into_iter()
            .collect();
        if model
            .iter()
            .all(|(key, dropped)| left.contains(key) != *dropped)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the store did not prune itself"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        bm.pruned_horizon()
            .await
            .expect("horizon")
            .get(TimeGroup::Days)
            .is_some()
    );
}
