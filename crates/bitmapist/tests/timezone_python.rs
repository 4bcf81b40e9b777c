//! Python bitmapist 3.119 marks with zone-aware datetimes (`zoneinfo`) into a real
//! redis-server; our counts in the same zone agree with Python's and with a HashSet model,
//! across local midnight and both DST changes; Python reads what we mark; Python's
//! `delete_all_events` leaves the recorded zone alone.
//!
//! The interpreter is `BITMAPIST_PYTHON`, else `target/pyvenv/bin/python` at the workspace
//! root (what `.ci/run` creates). A missing interpreter or module fails the test with the
//! command that installs them.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

use bitmapist::{Bitmapist, TimeGroup, Zone, set_recorded_zone};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use common::redis_server::RedisServer;

const INSTALL: &str = "python3 -m venv target/pyvenv && target/pyvenv/bin/pip install bitmapist==3.119 \
                       (from the workspace root; .ci/run does this)";

fn python() -> PathBuf {
    let p = std::env::var_os("BITMAPIST_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyvenv/bin/python"),
        PathBuf::from,
    );
    assert!(
        p.exists(),
        "no Python interpreter at {} (set BITMAPIST_PYTHON); install with: {INSTALL}",
        p.display()
    );
    p
}

/// Marks random minutes around local midnights and both DST changes of `zone` (2025),
/// hourly, then prints the marks and Python's own day and hour counts as JSON.
const SCRIPT: &str = r#"
import sys, json, random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
import bitmapist
port, db, zone, rust_day = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
bitmapist.setup_redis("default", "127.0.0.1", port, db=db)
tz = ZoneInfo(zone)
rng = random.Random(12)
marks = []
for start in ["2025-03-07T12:00:00", "2025-03-28T12:00:00", "2025-10-24T12:00:00", "2025-10-31T12:00:00"]:
    base = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
    for _ in range(400):
        t = base + timedelta(minutes=rng.randrange(4 * 24 * 60))
        uid = rng.randrange(300)
        local = t.astimezone(tz)  # zone-aware, fold set by astimezone
        bitmapist.mark_event("py:active", uid, now=local, track_hourly=True)
        marks.append([uid, int(t.timestamp())])
days, hours = {}, {}
for uid, ts in marks:
    local = datetime.fromtimestamp(ts, tz)
    d = bitmapist.DayEvents.from_date("py:active", local)
    h = bitmapist.HourEvents.from_date("py:active", local)
    days[d.redis_key] = d.get_count()
    hours[h.redis_key] = h.get_count()
y, m, d = map(int, rust_day.split("-"))
ours = bitmapist.DayEvents("rs:marked", y, m, d).get_count()
print(json.dumps({"marks": marks, "days": days, "hours": hours, "ours": ours}))
bitmapist.delete_all_events()
"#;

async fn agree_in(zone_name: &str, server: &RedisServer, db: u32) {
    let zone: Zone = zone_name.parse().expect("zone");
    let tz: Tz = zone_name.parse().expect("tz");
    let url = format!("{}/{db}", server.url());
    let store = bitmapist::open_store(&url).await.expect("connect");
    // A store Python writes to gets its zone recorded first (`bitmapist timezone set`).
    set_recorded_zone(store.as_ref(), "trackist_", zone, false)
        .await
        .expect("record");
    let bm = Bitmapist::builder()
        .store(store.clone())
        .timezone(zone)
        .track_hourly(true)
        .open()
        .await
        .expect("open");
    // We mark 22:30 local on 2025-11-01 for three users: Python must see them that day.
    let evening = zone
        .instant(
            NaiveDate::from_ymd_opt(2025, 11, 1)
                .and_then(|d| d.and_hms_opt(22, 30, 0))
                .expect("time"),
        )
        .expect("instant");
    for uid in [4, 5, 6] {
        bm.mark_event("rs:marked", uid)
            .at(evening)
            .await
            .expect("mark");
    }

    let out = Command::new(python())
        .args(["-c", SCRIPT])
        .arg(server.port().to_string())
        .arg(db.to_string())
        .arg(zone_name)
        .arg("2025-11-01")
        .output()
        .expect("run the Python interpreter");
    assert!(
        out.status.success(),
        "python failed (is bitmapist 3.119 installed? {INSTALL}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        doc["ours"], 3,
        "Python reads our local-evening marks on their day"
    );

    // Python's delete_all_events ran last: the events are gone, the zone record is not.
    assert!(bm.event_names(None).await.expect("names").is_empty());
    assert_eq!(
        bitmapist::recorded_zone(store.as_ref(), "trackist_")
            .await
            .expect("recorded"),
        Some(zone)
    );

    // Mark the same again from Rust (Python's copy is deleted) and compare: Python's counts,
    // ours, and the model's.
    let marks: Vec<(u32, DateTime<Utc>)> = doc["marks"]
        .as_array()
        .expect("marks")
        .iter()
        .map(|m| {
            let uid = u32::try_from(m[0].as_u64().expect("uid")).expect("u32");
            let at = DateTime::from_timestamp(m[1].as_i64().expect("ts"), 0).expect("ts");
            (uid, at)
        })
        .collect();
    assert_eq!(marks.len(), 1600);
    bm.mark_events(
        marks.iter().map(|&(uid, at)| ("py:active", uid, at)),
        Default::default(),
    )
    .await
    .expect("mark");
    let mut model_days: BTreeMap<String, HashSet<u32>> = BTreeMap::new();
    let mut model_hours: BTreeMap<String, HashSet<u32>> = BTreeMap::new();
    let mut probe: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for &(uid, at) in &marks {
        let l = at.with_timezone(&tz);
        let day = l.format("trackist_py:active_%Y-%-m-%-d").to_string();
        let hour = format!("{day}-{}", l.format("%-H"));
        model_days.entry(day.clone()).or_default().insert(uid);
        model_hours.entry(hour.clone()).or_default().insert(uid);
        probe.insert(day, at);
        probe.insert(hour, at);
    }
    let python_days = doc["days"].as_object().expect("days");
    let python_hours = doc["hours"].as_object().expect("hours");
    assert_eq!(python_days.len(), model_days.len());
    assert_eq!(python_hours.len(), model_hours.len());
    for (group, python, model) in [
        (TimeGroup::Days, python_days, &model_days),
        (TimeGroup::Hours, python_hours, &model_hours),
    ] {
        for (key, users) in model {
            let ours = bm
                .get_event_data("py:active", group, probe[key])
                .expect("query")
                .count()
                .await
                .expect("count");
            assert_eq!(ours, users.len() as u64, "{zone_name} {key}: ours vs model");
            assert_eq!(
                python[key].as_u64(),
                Some(ours),
                "{zone_name} {key}: Python vs ours"
            );
        }
    }
    // The DST days are there: a 23- and a 25-hour local day were marked across.
    assert!(model_hours.len() > 300, "{}", model_hours.len());
}

#[tokio::test]
async fn python_zone_aware_marks_agree_with_ours() {
    let server = RedisServer::start();
    agree_in("America/New_York", &server, 0).await;
    agree_in("Europe/Berlin", &server, 1).await;
}
