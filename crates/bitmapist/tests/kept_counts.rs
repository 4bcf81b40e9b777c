//! Write versions and kept counts in the embedded file: every write gives a key a version it
//! never had, a key with uncommitted changes has none, and trends kept in the file are used
//! exactly while their days are unchanged. Every trend is checked against plain unions of
//! the day bitmaps as the store holds them (decoded, into hash sets) after late marks,
//! unmarks, uncommitted marks, deletes, a compaction, a reopen, a read-only open, a backup,
//! an upgrade from format 2 and a SIGKILL.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitmapist::{
    Bitmapist, Breakdown, CountSpec, EmbeddedOptions, EmbeddedStore, KeyWrite, MarkOptions, Period,
    ReadOnlyEmbeddedStore, StickinessSpec, Store, TimeGroup, TrendsSpec, backup_file,
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use crate::common;

const EVENT: &str = "kept:active";
/// Days of data, oldest first, the last one containing `now()`.
const DAYS: i64 = 70;
/// The trend checked: 20 days and the 20 before, reading 69 days.
const RANGE: usize = 20;
/// Users below this one may have a `tier`.
const TIERED: u32 = 500_000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 20, 12, 0, 0).unwrap()
}

fn date(d: i64) -> NaiveDate {
    (now() - Duration::days(DAYS - 1 - d)).date_naive()
}

fn at(d: i64) -> DateTime<Utc> {
    now() - Duration::days(DAYS - 1 - d)
}

fn day_key(bm: &Bitmapist, d: i64) -> String {
    bm.layout().key(EVENT, &Period::day(date(d)).expect("day"))
}

/// Day `d`'s users: a dense part (bitmap containers), a sparse part, a run; some days none.
fn users_of(d: i64) -> Vec<u32> {
    if d % 13 == 6 {
        return Vec::new();
    }
    let d = d as u32;
    let mut users: Vec<u32> = (0..70_000u32)
        .filter(|u| (u.wrapping_mul(2_654_435_761) >> 9) % 9 == d % 9)
        .collect();
    users.extend((0..200u32).map(|i| 200_000 + (d * 71 + i * 113) % 100_000));
    let run = 400_000 + d * 300;
    users.extend(run..run + 3_000);
    users
}

/// The `tier` property of user `u`, for the breakdown (users from 500,000 on have none).
fn tier_of(u: u32) -> Option<&'static str> {
    if u >= TIERED {
        return None;
    }
    match u % 7 {
        0 => Some("gold"),
        1 => Some("silver"),
        2 if u > 100_000 => Some("bronze"),
        _ => None,
    }
}

async fn load(bm: &Bitmapist) {
    let tiers: Vec<(u32, &str)> = (0..TIERED)
        .filter_map(|u| tier_of(u).map(|t| (u, t)))
        .collect();
    bm.set_properties("tier", &tiers).await.expect("tiers");
    for d in 0..DAYS {
        let marks = users_of(d).into_iter().map(|u| (EVENT, u, at(d)));
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("mark");
    }
    bm.store().flush().await.expect("flush");
}

/// Each user's days (bit `d`: active on day `d`) in the day bitmaps the store holds now,
/// decoded.
async fn stored_days(bm: &Bitmapist) -> HashMap<u32, u128> {
    let keys: Vec<String> = (0..DAYS).map(|d| day_key(bm, d)).collect();
    let mut active: HashMap<u32, u128> = HashMap::new();
    let days = bm.store().get(&keys).await.expect("days");
    for (d, day) in days.into_iter().enumerate() {
        for u in day.iter().flat_map(|b| b.iter()) {
            *active.entry(u).or_default() |= 1 << d;
        }
    }
    active
}

/// The (dau, wau, mau) of the checked trend's 40 days by definition, per group of users
/// (`group` of a user; `None` leaves the user out): per window, the users with a day in it.
fn model<G: std::hash::Hash + Eq>(
    active: &HashMap<u32, u128>,
    group: &dyn Fn(u32) -> Option<G>,
) -> HashMap<G, Vec<(u64, u64, u64)>> {
    let from = DAYS as usize - 2 * RANGE;
    let mut out: HashMap<G, Vec<(u64, u64, u64)>> = HashMap::new();
    for (&u, &days) in active {
        let Some(g) = group(u) else { continue };
        let rows = out.entry(g).or_insert_with(|| vec![(0, 0, 0); 2 * RANGE]);
        // Bit `e` of `within(w)`: a day of the user in `e - w + 1 ..= e`.
        let within = |w: usize| (0..w).fold(0u128, |m, s| m | days << s);
        let (week, month) = (within(7), within(30));
        for (i, row) in rows.iter_mut().enumerate() {
            let bit = 1u128 << (from + i);
            row.0 += u64::from(days & bit != 0);
            row.1 += u64::from(week & bit != 0);
            row.2 += u64::from(month & bit != 0);
        }
    }
    out
}

fn spec() -> TrendsSpec {
    TrendsSpec::new(EVENT).days(RANGE).compare(true).now(now())
}

/// The 40 days of a trend, oldest first.
fn rows(got: &bitmapist::Trends) -> Vec<(u64, u64, u64)> {
    got.previous
        .as_ref()
        .expect("previous")
        .iter()
        .chain(&got.days)
        .map(|d| (d.dau, d.wau, d.mau))
        .collect()
}

/// The checked trend's 40 days, oldest first.
async fn trend(bm: &Bitmapist) -> Vec<(u64, u64, u64)> {
    rows(&bm.trends(&spec()).await.expect("trends"))
}

/// The tiers of the users as the store holds them (the property's value bitmaps, decoded).
async fn stored_tiers(bm: &Bitmapist) -> HashMap<u32, &'static str> {
    let keys: Vec<String> = TIERS.iter().map(|t| tier_key(bm, t)).collect();
    let mut tiers = HashMap::new();
    let values = bm.store().get(&keys).await.expect("tiers");
    for (tier, users) in TIERS.iter().zip(values) {
        for u in users.iter().flat_map(|b| b.iter()) {
            assert!(tiers.insert(u, *tier).is_none(), "user {u} has two tiers");
        }
    }
    tiers
}

/// The property's values, in the order a breakdown lists them.
const TIERS: [&str; 3] = ["bronze", "gold", "silver"];

fn tier_key(bm: &Bitmapist, tier: &str) -> String {
    bm.layout().key(&format!("tier:{tier}"), &Period::unique())
}

/// The checked trend against the model, and broken down by `tier`, each value (and the
/// users in none) against the model of its users, all from what the store holds.
async fn check(bm: &Bitmapist, what: &str) {
    let active = stored_days(bm).await;
    let empty = vec![(0, 0, 0); 2 * RANGE];
    let all = model(&active, &|_| Some(()));
    assert_eq!(&trend(bm).await, all.get(&()).unwrap_or(&empty), "{what}");
    let tiers = stored_tiers(bm).await;
    let per = model(&active, &|u| Some(tiers.get(&u).copied()));
    let by = bm
        .trends_by(&spec(), &Breakdown::Property("tier".into()))
        .await
        .expect("by tier");
    let names: Vec<Option<&str>> = by.values.iter().map(|v| v.value.as_deref()).collect();
    let want: Vec<Option<&str>> = TIERS.iter().map(|t| Some(*t)).chain([None]).collect();
    assert_eq!(names, want, "{what}: the values");
    for value in &by.values {
        let name = value.value.as_deref();
        let want = per.get(&name).unwrap_or(&empty);
        assert_eq!(&rows(&value.result), want, "{what}: tier {name:?}");
    }
    // Counts by tier of a day, a week, this month and this year (its months' union), against
    // the cells' bitmaps as the store holds them, decoded.
    let periods: Vec<Period> = [
        TimeGroup::Days,
        TimeGroup::Weeks,
        TimeGroup::Months,
        TimeGroup::Years,
    ]
    .into_iter()
    .map(|g| Period::containing(g, at(DAYS - 3)).expect("period"))
    .collect();
    let counts = bm
        .count_by(
            &CountSpec::new([EVENT], periods.iter().copied()),
            &Breakdown::Property("tier".into()),
        )
        .await
        .expect("counts by tier");
    for (p, period) in periods.iter().enumerate() {
        let keys = bm.layout().keys(EVENT, period);
        let mut users: HashMap<u32, ()> = HashMap::new();
        for b in bm
            .store()
            .get(&keys)
            .await
            .expect("cell")
            .into_iter()
            .flatten()
        {
            users.extend(b.iter().map(|u| (u, ())));
        }
        for value in &counts.values {
            let name = value.value.as_deref();
            let want = users
                .keys()
                .filter(|u| tiers.get(u).copied() == name)
                .count() as u64;
            assert_eq!(
                value.result[0][p], want,
                "{what}: {period} of tier {name:?}"
            );
        }
    }
    // This month's stickiness by tier: per user, its days of the month so far.
    let month = StickinessSpec::new(EVENT)
        .time_group(TimeGroup::Months)
        .at(now());
    let by = bm
        .stickiness_by(&month, &Breakdown::Property("tier".into()))
        .await
        .expect("stickiness by tier");
    let first = (0..DAYS)
        .rev()
        .find(|&d| date(d).day() == 1)
        .expect("the first of the month");
    let in_month = (first..DAYS).fold(0u128, |m, d| m | 1 << d);
    let mut want: HashMap<Option<&str>, Vec<u64>> = HashMap::new();
    for (&u, &days) in &active {
        let k = (days & in_month).count_ones() as usize;
        if k > 0 {
            want.entry(tiers.get(&u).copied())
                .or_insert_with(|| vec![0; 31])[k - 1] += 1;
        }
    }
    for value in &by.values {
        let name = value.value.as_deref();
        let got = &value.result.days;
        let mut want = want.remove(&name).unwrap_or_else(|| vec![0; 31]);
        want.truncate(got.len());
        assert_eq!(got, &want, "{what}: stickiness of tier {name:?}");
    }
}

/// The kept trend of day `d` (`None`: nothing kept).
async fn kept(store: &dyn Store, bm: &Bitmapist, d: i64) -> Option<Vec<u8>> {
    let name = format!("{}\u{1f}trends", day_key(bm, d));
    store.get_derived(&[name]).await.expect("derived").remove(0)
}

/// Replaces the value kept under `name` (it must be kept) by what `edit` makes of it, to show
/// that a computation uses it; returns the value as it was, to put back.
async fn edit_kept(store: &dyn Store, name: &str, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let was = store
        .get_derived(&[name.to_string()])
        .await
        .expect("derived")
        .remove(0)
        .unwrap_or_else(|| panic!("{name:?} is kept"));
    let mut bytes = was.clone();
    edit(&mut bytes);
    store
        .put_derived(&[(name.to_string(), bytes)])
        .await
        .expect("put");
    was
}

/// Sets the last count of a kept value (`mau` of a trend's day) to `n`.
fn last_count(n: u64) -> impl FnOnce(&mut [u8]) {
    move |bytes| {
        let last = bytes.len() - 8;
        bytes[last..].copy_from_slice(&n.to_le_bytes());
    }
}

/// A new file at `path` with the days and tiers loaded, checked once.
async fn loaded(path: &Path) -> Bitmapist {
    let bm = open(path).await;
    load(&bm).await;
    check(&bm, "loaded").await;
    bm
}

async fn open(path: &Path) -> Bitmapist {
    Bitmapist::open(&format!("file://{}", path.display()))
        .await
        .expect("open")
}

async fn read_only(path: &Path) -> Bitmapist {
    let ro = ReadOnlyEmbeddedStore::open(path).expect("open read-only");
    Bitmapist::builder()
        .store(Arc::new(ro))
        .open()
        .await
        .expect("open read-only")
}

/// A write gives a key a version it never had; a key with uncommitted changes has none; a
/// missing key has 0; a walk of spans reports the versions of what it read; a reopen, a
/// read-only open and a compaction keep the rules.
#[tokio::test]
async fn versions_name_each_content_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("versions.redb");
    let store = EmbeddedStore::open(&path, EmbeddedOptions::default()).expect("open");
    let keys = vec!["a".to_string(), "b".to_string(), "never".to_string()];
    // Per key, the versions it had: each new one is new to the key.
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); 2];
    let mut fresh = |key: usize, v: Option<u64>| {
        let v = v.expect("a version");
        assert!(
            v > 0 && !seen[key].contains(&v),
            "{v} seen before: {seen:?}"
        );
        seen[key].push(v);
    };
    store
        .write(&[KeyWrite::set("a".into(), 1), KeyWrite::set("b".into(), 2)])
        .await
        .expect("write");
    assert_eq!(
        versions(&store, &keys).await,
        vec![None, None, Some(0)],
        "dirty"
    );
    store.flush().await.expect("flush");
    let v = versions(&store, &keys).await;
    fresh(0, v[0]);
    fresh(1, v[1]);
    assert_eq!(v[2], Some(0));
    // Spans report the versions of what they read.
    let walked = store
        .get_serialized_spans(&keys, &|| Box::new(Ignore))
        .await
        .expect("walk");
    assert_eq!(walked, v, "a walk's versions");
    for round in 0..3u32 {
        store
            .write(&[KeyWrite::set("a".into(), 10 + round)])
            .await
            .expect("write");
        store.flush().await.expect("flush");
        let now = versions(&store, &keys).await;
        fresh(0, now[0]);
        assert_eq!(now[1], v[1], "b did not change");
    }
    store.delete(&["a".into()]).await.expect("delete");
    assert_eq!(
        versions(&store, &keys).await[0],
        None,
        "deleted, not committed"
    );
    store.flush().await.expect("flush");
    assert_eq!(versions(&store, &keys).await[0], Some(0), "deleted");
    store
        .write(&[KeyWrite::set("a".into(), 5)])
        .await
        .expect("write");
    store.flush().await.expect("flush");
    let before = versions(&store, &keys).await;
    fresh(0, before[0]);
    drop(store);

    let store = EmbeddedStore::open(&path, EmbeddedOptions::default()).expect("reopen");
    assert_eq!(versions(&store, &keys).await, before, "reopened");
    drop(store);
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only");
    assert_eq!(
        ro.versions(&keys).await.expect("versions"),
        before,
        "read-only"
    );
    drop(ro);

    let store = EmbeddedStore::open(&path, EmbeddedOptions::default()).expect("reopen");
    store.compact().await.expect("compact");
    let after = versions(&store, &keys).await;
    fresh(0, after[0]);
    fresh(1, after[1]);
    assert_eq!(after[2], Some(0));
}

async fn versions(store: &EmbeddedStore, keys: &[String]) -> Vec<Option<u64>> {
    store.versions(keys).await.expect("versions")
}

/// A visitor that counts nothing.
struct Ignore;

impl bitmapist::SpanVisitor for Ignore {
    fn visit(&mut self, _: &[&[u8]]) -> bitmapist::Result<()> {
        Ok(())
    }
}

/// Trends kept in the file are used while their days are unchanged (a kept value changed
/// by hand shows), and counted again after every kind of change.
#[tokio::test]
async fn kept_trends_follow_every_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kept.redb");
    {
        let bm = loaded(&path).await;
        let store = bm.store().as_ref();
        for d in DAYS - 2 * RANGE as i64..DAYS {
            assert!(kept(store, &bm, d).await.is_some(), "day {d} is kept");
        }
        // A kept value is used: its last count (mau) changed by hand shows.
        let name = format!("{}\u{1f}trends", day_key(&bm, 55));
        edit_kept(store, &name, last_count(987_654)).await;
        let got = trend(&bm).await;
        assert_eq!(got[(55 - (DAYS - 2 * RANGE as i64)) as usize].2, 987_654);
        // Counts by tier are kept per cell too: the day's gold count changed by hand shows.
        let day = Period::containing(TimeGroup::Days, at(DAYS - 3)).expect("day");
        let name = format!(
            "{}\u{1f}count\u{1f}tier\u{1f}{}",
            bm.layout().key(EVENT, &day),
            TIERS.join("\u{1f}")
        );
        // The counts end the value: the cell, each tier in order, then some tier.
        let gold = 1 + TIERS.iter().position(|t| *t == "gold").expect("gold");
        let was = edit_kept(store, &name, |bytes| {
            let at = bytes.len() - 8 * (TIERS.len() + 2 - gold);
            bytes[at..at + 8].copy_from_slice(&123_456u64.to_le_bytes());
        })
        .await;
        let by = bm
            .count_by(
                &CountSpec::new([EVENT], [day]),
                &Breakdown::Property("tier".into()),
            )
            .await
            .expect("counts by tier");
        assert_eq!(by.get(Some("gold")), Some(&vec![vec![123_456]]));
        // Put back: the cell does not change below until the tiers do.
        store.put_derived(&[(name, was)]).await.expect("put back");
        // A late mark on a day of that window: the window is counted again.
        bm.mark_events([(EVENT, 3_000_001, at(50))], MarkOptions::default())
            .await
            .expect("late mark");
        check(&bm, "late mark, not committed").await;
        bm.store().flush().await.expect("flush");
        check(&bm, "late mark").await;
        let gone: Vec<u32> = users_of(60).into_iter().filter(|u| u % 3 == 0).collect();
        bm.unmark_events(
            gone.iter().map(|&u| (EVENT, u, at(60))),
            MarkOptions::default(),
        )
        .await
        .expect("unmark");
        bm.store().flush().await.expect("flush");
        check(&bm, "unmarks").await;
        // A value's kept windows are used too (its mau changed by hand shows), then put back.
        let name = format!("{}\u{1f}trends\u{1f}tier\u{1f}gold", day_key(&bm, 50));
        let was = edit_kept(store, &name, last_count(654_321)).await;
        let by = bm
            .trends_by(&spec(), &Breakdown::Property("tier".into()))
            .await
            .expect("by tier");
        let gold = by.get(Some("gold")).expect("gold");
        assert_eq!(
            rows(gold)[(50 - (DAYS - 2 * RANGE as i64)) as usize].2,
            654_321
        );
        store.put_derived(&[(name, was)]).await.expect("put back");
        // A user moves from one value to another: both values' windows change.
        let active_gold = *users_of(49)
            .iter()
            .find(|&&u| tier_of(u) == Some("gold"))
            .expect("a gold user");
        bm.set_property("tier", "silver", active_gold)
            .await
            .expect("move");
        check(&bm, "a user moved, not committed").await;
        bm.store().flush().await.expect("flush");
        check(&bm, "a user moved").await;
        bm.store()
            .delete(&[day_key(&bm, 47)])
            .await
            .expect("delete");
        check(&bm, "a day deleted, not committed").await;
        bm.store().flush().await.expect("flush");
        check(&bm, "a day deleted").await;
        // The commit that removes a day drops what was kept under its name (counted again,
        // without the day, when asked for).
        assert!(
            kept(store, &bm, 48).await.is_some(),
            "kept before the delete"
        );
        bm.store()
            .delete(&[day_key(&bm, 48)])
            .await
            .expect("delete");
        bm.store().flush().await.expect("flush");
        assert!(kept(store, &bm, 48).await.is_none(), "dropped with the day");
        check(&bm, "another day deleted").await;
        bm.store().compact().await.expect("compact");
        check(&bm, "compacted").await;
        check(&bm, "compacted, kept again").await;
    }
    let bm = open(&path).await;
    check(&bm, "reopened").await;
    drop(bm);
    let backup = dir.path().join("backup.redb");
    backup_file(&path, &backup, std::time::Duration::from_secs(30)).expect("backup");
    check(&read_only(&path).await, "read-only").await;
    check(&read_only(&backup).await, "backup, read-only").await;
}

/// A format-2 file (no versions) is read as it is, and its keys are stamped when it is first
/// opened for writing; kept values are used from then on.
#[tokio::test]
async fn format_2_files_get_versions_on_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.redb");
    let keys;
    {
        let bm = open(&path).await;
        load(&bm).await;
        keys = (0..DAYS).map(|d| day_key(&bm, d)).collect::<Vec<_>>();
    }
    {
        // What format 2 wrote: no versions, nothing kept.
        let db = redb::Database::create(&path).expect("redb");
        let txn = db.begin_write().expect("begin");
        let versions: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("versions");
        let derived: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("derived");
        txn.delete_table(versions).expect("drop versions");
        txn.delete_table(derived).expect("drop derived");
        let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");
        txn.open_table(meta)
            .expect("meta")
            .insert("format_version", 2)
            .expect("format 2");
        txn.commit().expect("commit");
    }
    let missing: Vec<bool> = (0..DAYS).map(|d| users_of(d).is_empty()).collect();
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only");
    let old: Vec<Option<u64>> = ro.versions(&keys).await.expect("versions");
    let want: Vec<Option<u64>> = missing.iter().map(|&m| m.then_some(0)).collect();
    assert_eq!(old, want, "format 2: no versions, 0 for the missing keys");
    drop(ro);
    check(&read_only(&path).await, "format 2, read-only").await;
    let bm = open(&path).await;
    let versions = bm.store().versions(&keys).await.expect("versions");
    let zero: Vec<bool> = versions.iter().map(|v| *v == Some(0)).collect();
    assert!(
        versions.iter().all(Option::is_some),
        "stamped: {versions:?}"
    );
    assert_eq!(zero, missing, "0 is the missing keys");
    check(&bm, "upgraded").await;
    let store = bm.store().as_ref();
    assert!(
        kept(store, &bm, DAYS - 1).await.is_some(),
        "kept after the upgrade"
    );
    check(&bm, "upgraded, kept").await;
}

const CHILD_FILE: &str = "BITMAPIST_KEPT_CHILD_FILE";

fn child_file() -> Option<PathBuf> {
    std::env::var_os(CHILD_FILE).map(PathBuf::from)
}

/// The child of the SIGKILL test: late marks on past days and tiers for the marked users,
/// each committed, each followed by trends (plain and by tier) that keep their windows, in
/// a loop until killed.
#[test]
#[ignore = "child process of the SIGKILL test"]
fn kept_crash_child() {
    let Some(path) = child_file() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let bm = open(&path).await;
        let mut stdout = std::io::stdout();
        for n in 0u32.. {
            let d = 30 + i64::from(n % 40);
            bm.mark_events([(EVENT, 4_000_000 + n, at(d))], MarkOptions::default())
                .await
                .expect("mark");
            bm.set_property("tier", TIERS[n as usize % 3], 4_000_000 + n)
                .await
                .expect("tier");
            bm.store().flush().await.expect("flush");
            trend(&bm).await;
            bm.trends_by(&spec(), &Breakdown::Property("tier".into()))
                .await
                .expect("by tier");
            writeln!(stdout, "KEPT {n}").expect("stdout");
            stdout.flush().expect("stdout");
        }
    });
}

/// SIGKILL a process that marks past days and keeps trends, at different moments: after
/// each kill the trends (kept ones included) equal plain unions of the stored days.
#[tokio::test]
async fn sigkill_leaves_no_stale_kept_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.redb");
    drop(loaded(&path).await);
    for (round, lines) in [1, 4, 9].into_iter().enumerate() {
        let mut child =
            common::spawn_child(module_path!(), "kept_crash_child", &[(CHILD_FILE, &path)]);
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        common::wait_tagged(
            &mut reader,
            "KEPT ",
            lines,
            &format!("the child (round {round})"),
        );
        child.kill().expect("SIGKILL");
        assert!(!child.wait().expect("wait").success(), "killed");
        let bm = open(&path).await;
        check(&bm, &format!("after kill {round}")).await;
    }
}
