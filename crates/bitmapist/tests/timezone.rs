//! Time zones: local wall-clock bucketing against an independent model (keys formatted
//! from `chrono-tz`'s local fields, the way Python's `datetime` attributes name them),
//! period bounds across DST, counts against a HashSet model, and the zone recorded in
//! memory, embedded (also read-only) and real Redis stores.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use bitmapist::{Bitmapist, Error, TimeGroup, Zone, set_recorded_zone, zone_meta_key};
use bitmapist::{EmbeddedOptions, EmbeddedStore, MemoryStore, ReadOnlyEmbeddedStore, Store};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use common::redis_server::RedisServer;
use proptest::prelude::*;

const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Apia",
    "Pacific/Chatham",
];

fn zone(name: &str) -> Zone {
    name.parse().expect("zone")
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid")
}

/// The model: the keys Python bitmapist writes for `at` seen in `tz`, from the local
/// fields (`dt.year`, `dt.month`, `dt.day`, `dt.hour`, `dt.isocalendar()`).
fn model_keys(event: &str, tz: Tz, at: DateTime<Utc>) -> Vec<String> {
    let l = at.with_timezone(&tz);
    let iso = l.iso_week();
    let mut keys = vec![
        format!("trackist_{event}_{}-{}", l.year(), l.month()),
        format!("trackist_{event}_W{}-{}", iso.year(), iso.week()),
        format!("trackist_{event}_{}-{}-{}", l.year(), l.month(), l.day()),
        format!(
            "trackist_{event}_{}-{}-{}-{}",
            l.year(),
            l.month(),
            l.day(),
            l.hour()
        ),
    ];
    keys.sort();
    keys
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2000-01-01 .. 2040-01-01, to the second.
    (946_684_800i64..2_208_988_800).prop_map(|s| DateTime::from_timestamp(s, 0).expect("ts"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// One mark writes exactly the model's keys.
    #[test]
    fn marks_write_the_local_wall_clock_keys(at in instant(), z in 0..ZONES.len()) {
        let name = ZONES[z];
        let keys = runtime().block_on(async {
            let bm = Bitmapist::builder().url("memory://").timezone(zone(name)).open().await?;
            bm.mark_event("e", 1).at(at).hourly(true).await?;
            bm.store().keys("trackist_").await
        }).expect("mark");
        prop_assert_eq!(keys, model_keys("e", name.parse().expect("tz"), at));
    }

    /// Every period containing an instant starts at or before it and ends after it; its end
    /// is the next period's start.
    #[test]
    fn period_bounds_contain_the_instant(at in instant(), z in 0..ZONES.len(), g in 0..4usize) {
        let zone = zone(ZONES[z]);
        let group = [TimeGroup::Hours, TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months][g];
        let p = zone.period_containing(group, at).expect("period");
        let (start, end) = (zone.start(&p).expect("start"), zone.end(&p).expect("end"));
        prop_assert!(start <= at && at < end, "{} {} {} {}", p, start, at, end);
        prop_assert_eq!(zone.start(&p.next().expect("next")), Some(end));
        // The period of its start is itself (a start never lands in the previous period).
        prop_assert_eq!(zone.period_containing(group, start).expect("again"), p);
    }

    /// Counts per local day agree with a HashSet model over random marks.
    #[test]
    fn local_day_counts_match_a_model(
        marks in proptest::collection::vec((0u32..50, 0i64..(10 * 24 * 60)), 1..80),
        z in 0..ZONES.len(),
    ) {
        let name = ZONES[z];
        let tz: Tz = name.parse().expect("tz");
        let base = utc(2025, 10, 28, 0, 0); // spans the EU and US fall-back days
        let mut model: BTreeMap<chrono::NaiveDate, HashSet<u32>> = BTreeMap::new();
        for &(uid, minute) in &marks {
            let at = base + Duration::minutes(minute);
            model.entry(at.with_timezone(&tz).date_naive()).or_default().insert(uid);
        }
        runtime().block_on(async {
            let bm = Bitmapist::builder().url("memory://").timezone(zone(name)).open().await?;
            let batch = marks.iter().map(|&(uid, m)| ("e", uid, base + Duration::minutes(m)));
            bm.mark_events(batch, Default::default()).await?;
            for (date, users) in &model {
                let noon = tz.from_local_datetime(&date.and_hms_opt(12, 0, 0).expect("noon"))
                    .earliest().expect("noon exists").with_timezone(&Utc);
                let q = bm.get_event_data("e", TimeGroup::Days, noon)?;
                assert_eq!(q.count().await?, users.len() as u64, "{name} {date}");
            }
            Ok::<_, Error>(())
        }).expect("run");
    }
}

/// The example: 23:30 in New York on 2025-01-13 is the 13th, not the 14th.
#[tokio::test]
async fn new_york_evening_is_counted_on_its_own_day() {
    let bm = Bitmapist::builder()
        .url("memory://")
        .timezone(zone("America/New_York"))
        .open()
        .await
        .expect("open");
    bm.mark_event("ev", 1)
        .at(utc(2025, 1, 14, 4, 30))
        .await
        .expect("mark");
    let keys = bm.store().keys("trackist_ev_").await.expect("keys");
    assert!(
        keys.contains(&"trackist_ev_2025-1-13".to_string()),
        "{keys:?}"
    );
    assert!(!keys.contains(&"trackist_ev_2025-1-14".to_string()));
}

/// DST in New York: a 23-hour and a 25-hour day, one merged fall-back hour, no key for the
/// skipped spring-forward hour.
#[tokio::test]
async fn dst_days_and_hours() {
    let ny = zone("America/New_York");
    let bm = Bitmapist::builder()
        .url("memory://")
        .timezone(ny)
        .track_hourly(true)
        .open()
        .await
        .expect("open");
    // Every minute of 2025-03-08 12:00 UTC .. 2025-03-10 12:00 UTC: user = minute index.
    let spring = utc(2025, 3, 8, 12, 0);
    let marks = (0..48 * 60u32).map(|m| ("s", m, spring + Duration::minutes(i64::from(m))));
    bm.mark_events(marks, Default::default())
        .await
        .expect("mark");
    let day = bm
        .get_event_data("s", TimeGroup::Days, utc(2025, 3, 9, 12, 0))
        .expect("q");
    assert_eq!(day.count().await.expect("count"), 23 * 60);
    let hours = bm.event_periods("s").await.expect("periods");
    let labels: Vec<String> = hours.iter().map(|p| p.label()).collect();
    assert!(labels.contains(&"2025-03-09 01:00".to_string()));
    assert!(
        !labels.contains(&"2025-03-09 02:00".to_string()),
        "{labels:?}"
    );
    assert!(labels.contains(&"2025-03-09 03:00".to_string()));

    let fall = utc(2025, 11, 1, 12, 0);
    let marks = (0..48 * 60u32).map(|m| ("f", m, fall + Duration::minutes(i64::from(m))));
    bm.mark_events(marks, Default::default())
        .await
        .expect("mark");
    let day = bm
        .get_event_data("f", TimeGroup::Days, utc(2025, 11, 2, 12, 0))
        .expect("q");
    assert_eq!(day.count().await.expect("count"), 25 * 60);
    // 01:30 EDT (05:30 UTC) and 01:30 EST (06:30 UTC) are in one hour key of 120 minutes.
    let hour = bm
        .get_event_data("f", TimeGroup::Hours, utc(2025, 11, 2, 5, 30))
        .expect("q");
    assert_eq!(hour.count().await.expect("count"), 120);
    let same = bm
        .get_event_data("f", TimeGroup::Hours, utc(2025, 11, 2, 6, 30))
        .expect("q");
    assert_eq!(same.count().await.expect("count"), 120);
}

/// Cohort rows follow the zone: the newest row is the local day containing `now`.
#[tokio::test]
async fn cohort_rows_are_local_periods() {
    let berlin = zone("Europe/Berlin");
    let bm = Bitmapist::builder()
        .url("memory://")
        .timezone(berlin)
        .open()
        .await
        .expect("open");
    // 23:30 UTC on Nov 21 is 00:30 on Nov 22 in Berlin.
    let now = utc(2026, 11, 21, 23, 30);
    bm.mark_event("a", 1).at(now).await.expect("mark");
    let spec = bitmapist::CohortSpec::new("a", "a")
        .rows(2)
        .cols(2)
        .now(now);
    let c = bm.get_cohort(&spec).await.expect("cohort");
    assert_eq!(c.dates, vec!["2026-11-21", "2026-11-22"]);
    assert_eq!(c.totals, vec![0, 1]);
    assert_eq!(spec.periods().expect("utc")[1].label(), "2026-11-21");
}

/// The zone is recorded on the first write, outside the event keys; a different zone is
/// refused naming both; `delete_all` keeps the record; a forced change is allowed. `prefix`
/// and `other` are the two key prefixes used (a shared cluster needs prefixes of its own).
async fn record_cases(store: Arc<dyn Store>, prefix: &str, other: &str) {
    let berlin = zone("Europe/Berlin");
    let key = zone_meta_key(prefix);
    let bm = Bitmapist::builder()
        .store(store.clone())
        .key_prefix(prefix)
        .timezone(berlin)
        .open()
        .await
        .expect("open");
    assert_eq!(
        store.get_meta(&key).await.expect("meta"),
        None,
        "no write yet"
    );
    bm.mark_event("ev", 1).await.expect("mark");
    assert_eq!(
        store.get_meta(&key).await.expect("meta").as_deref(),
        Some("Europe/Berlin")
    );
    assert_eq!(bm.event_names(None).await.expect("names"), vec!["ev"]);
    assert!(
        store
            .keys(prefix)
            .await
            .expect("keys")
            .iter()
            .all(|k| k.starts_with(&format!("{prefix}ev_")))
    );

    let err = Bitmapist::builder()
        .store(store.clone())
        .key_prefix(prefix)
        .timezone(zone("America/New_York"))
        .open()
        .await
        .expect_err("mismatch");
    let msg = err.to_string();
    assert!(
        msg.contains("Europe/Berlin") && msg.contains("America/New_York"),
        "{msg}"
    );
    assert!(matches!(err, Error::TimeZoneMismatch { .. }));

    assert!(bm.delete_all().await.expect("delete") > 0);
    assert_eq!(
        bitmapist::recorded_zone(store.as_ref(), prefix)
            .await
            .expect("recorded"),
        Some(berlin)
    );
    // Another prefix has its own record.
    let other_handle = Bitmapist::builder()
        .store(store.clone())
        .key_prefix(other)
        .open()
        .await
        .expect("other prefix, UTC");
    other_handle.mark_event("x", 1).await.expect("mark");
    assert_eq!(
        bitmapist::recorded_zone(store.as_ref(), other)
            .await
            .expect("recorded"),
        Some(Zone::UTC)
    );

    // A deliberate change: refused without force when events exist, done with it.
    bm.mark_event("ev", 2).await.expect("mark");
    let ny = zone("America/New_York");
    let refused = set_recorded_zone(store.as_ref(), prefix, ny, false)
        .await
        .expect_err("events exist");
    assert!(refused.to_string().contains("Europe/Berlin"), "{refused}");
    let before = set_recorded_zone(store.as_ref(), prefix, ny, true)
        .await
        .expect("forced");
    assert_eq!(before, Some(berlin));
    Bitmapist::builder()
        .store(store)
        .key_prefix(prefix)
        .timezone(ny)
        .open()
        .await
        .expect("now New York");
}

/// A store with events but no record was written in UTC by an earlier version.
async fn legacy_cases(store: Arc<dyn Store>) {
    let legacy = Bitmapist::new(store.clone()); // neither checks nor records
    legacy.mark_event("old", 1).await.expect("mark");
    let err = Bitmapist::builder()
        .store(store.clone())
        .timezone(zone("Asia/Tokyo"))
        .open()
        .await
        .expect_err("unrecorded, with events");
    assert!(matches!(err, Error::UnrecordedTimeZone { .. }), "{err}");
    assert!(err.to_string().contains("Asia/Tokyo"));
    let utc_handle = Bitmapist::builder()
        .store(store.clone())
        .open()
        .await
        .expect("UTC is what it was written in");
    utc_handle.mark_event("old", 2).await.expect("mark");
    assert_eq!(
        bitmapist::recorded_zone(store.as_ref(), "trackist_")
            .await
            .expect("recorded"),
        Some(Zone::UTC)
    );
}

#[tokio::test]
async fn memory_store_records_the_zone() {
    record_cases(Arc::new(MemoryStore::new()), "trackist_", "bitmapist_").await;
    legacy_cases(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn embedded_store_records_the_zone_and_read_only_reads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("z.redb");
    {
        let store = Arc::new(EmbeddedStore::open(&path, EmbeddedOptions::default()).expect("open"));
        record_cases(store.clone(), "trackist_", "bitmapist_").await;
        // Compaction keeps the record.
        store.compact().await.expect("compact");
        assert_eq!(
            bitmapist::recorded_zone(store.as_ref(), "trackist_")
                .await
                .expect("recorded"),
            Some(zone("America/New_York"))
        );
        store.flush().await.expect("flush");
    }
    let ro = Arc::new(ReadOnlyEmbeddedStore::open(&path).expect("read-only"));
    assert_eq!(
        bitmapist::recorded_zone(ro.as_ref(), "trackist_")
            .await
            .expect("recorded"),
        Some(zone("America/New_York"))
    );
    let err = Bitmapist::builder()
        .store(ro)
        .open()
        .await
        .expect_err("UTC configured");
    assert!(err.to_string().contains("America/New_York"), "{err}");

    let legacy = dir.path().join("legacy.redb");
    legacy_cases(Arc::new(
        EmbeddedStore::open(&legacy, EmbeddedOptions::default()).expect("open"),
    ))
    .await;
}

#[tokio::test]
async fn redis_store_records_the_zone_under_a_hash_tagged_key() {
    let server = RedisServer::start();
    let store = bitmapist::open_store(&server.url()).await.expect("connect");
    record_cases(store, "trackist_", "bitmapist_").await;
    let mut raw = server.raw_connection();
    let value: Option<String> = redis::cmd("GET")
        .arg("{trackist_}.timezone")
        .query(&mut raw)
        .expect("GET");
    assert_eq!(value.as_deref(), Some("America/New_York"));
    let flushed = RedisServer::start();
    legacy_cases(
        bitmapist::open_store(&flushed.url())
            .await
            .expect("connect"),
    )
    .await;
}

/// On a Redis Cluster the record is one key (its hash tag gives it one slot), read and
/// written on that slot's primary. The shared cluster's other users keep the default
/// prefix in UTC, so this test records its zones under prefixes of its own.
#[tokio::test]
async fn cluster_store_records_the_zone() {
    let url = &common::redis_cluster::shared().0;
    let store = bitmapist::open_store(url).await.expect("connect");
    record_cases(store.clone(), "tz_", "tzother_").await;
    let value: Option<String> = redis::cmd("GET")
        .arg("{tz_}.timezone")
        .query(&mut common::redis_cluster::shared_raw_connection())
        .expect("GET");
    assert_eq!(value.as_deref(), Some("America/New_York"));
}
