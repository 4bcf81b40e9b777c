//! Python bitmapist 3.119 reading a real redis-server after a prune: its hour, day, week
//! and month counts equal ours (and a HashSet model of the marks) for every period kept,
//! pruned periods read as empty without an error, its year counts still equal ours, and
//! it keeps marking beside the prune record.
//!
//! The interpreter is `BITMAPIST_PYTHON`, else `target/pyvenv/bin/python` at the workspace
//! root (what `.ci/run` creates). A missing interpreter or module fails the test with the
//! command that installs them.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

use bitmapist::{Bitmapist, KeepPolicy, MarkOptions, Period, PruneSpec, TimeGroup};
use bitmapist_test_support::Rng;
use chrono::{Datelike, Duration, TimeZone, Timelike, Utc};
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

/// Reads the periods given as JSON on stdin (`[kind, y, a, b, c]`) and prints Python's
/// counts in order; then marks `py:after` for user 9 now.
const SCRIPT: &str = r#"
import sys, json
import bitmapist
bitmapist.setup_redis("default", "127.0.0.1", int(sys.argv[1]))
out = []
for event, kind, y, a, b, c in json.load(sys.stdin):
    if kind == "hour":
        e = bitmapist.HourEvents(event, y, a, b, c)
    elif kind == "day":
        e = bitmapist.DayEvents(event, y, a, b)
    elif kind == "week":
        e = bitmapist.WeekEvents(event, y, a)
    elif kind == "month":
        e = bitmapist.MonthEvents(event, y, a)
    else:
        e = bitmapist.YearEvents(event, y)
    out.append(e.get_count())
bitmapist.mark_event("py:after", 9)
print(json.dumps(out))
"#;

#[tokio::test]
async fn python_reads_the_pruned_store() {
    let server = RedisServer::start();
    let bm = Bitmapist::open(&server.url()).await.expect("open");
    let now = Utc::now();
    let mut rng = Rng(77);
    let mut model: BTreeMap<(String, Period), HashSet<u32>> = BTreeMap::new();
    let mut marks = Vec::new();
    for _ in 0..2_000 {
        let back = i64::try_from(rng.next() % (200 * 24 * 60)).expect("minutes");
        let at = now - Duration::minutes(back);
        let event = if rng.next().is_multiple_of(2) {
            "a:b"
        } else {
            "c_d"
        };
        let uid = u32::try_from(rng.next() % 3_000).expect("uid");
        marks.push((event, uid, at));
        for group in [
            TimeGroup::Hours,
            TimeGroup::Days,
            TimeGroup::Weeks,
            TimeGroup::Months,
            TimeGroup::Years,
        ] {
            let period = Period::containing(group, at).expect("period");
            model
                .entry((event.to_string(), period))
                .or_default()
                .insert(uid);
        }
    }
    let opts = MarkOptions {
        hourly: Some(true),
        unique: None,
    };
    bm.mark_events(marks.iter().copied(), opts)
        .await
        .expect("mark");

    let policy: KeepPolicy = "hour:2d,day:60d".parse().expect("policy");
    let report = bm
        .prune(&PruneSpec::new(policy).now(now).apply(true))
        .await
        .expect("prune");
    assert!(report.deleted > 0);
    let horizon = bm.pruned_horizon().await.expect("horizon");

    let mut asked = Vec::new();
    let mut ours = Vec::new();
    let mut expected = Vec::new();
    for ((event, period), users) in &model {
        let start = period.start().expect("start");
        let (kind, a, b, c) = match period.time_group().expect("group") {
            TimeGroup::Hours => ("hour", start.month(), start.day(), start.hour()),
            TimeGroup::Days => ("day", start.month(), start.day(), 0),
            TimeGroup::Weeks => ("week", period.iso_week().expect("week").1, 0, 0),
            TimeGroup::Months => ("month", start.month(), 0, 0),
            TimeGroup::Years => ("year", 0, 0, 0),
        };
        let year = match period.iso_week() {
            Some((iso_year, _)) => iso_year,
            None => start.year(),
        };
        asked.push(serde_json::json!([event, kind, year, a, b, c]));
        let q = bm
            .get_event_data(
                event,
                period.time_group().expect("group"),
                Utc.from_utc_datetime(&start),
            )
            .expect("query");
        ours.push(q.count().await.expect("count"));
        expected.push(if horizon.is_pruned(period) {
            0
        } else {
            users.len() as u64
        });
    }
    assert!(expected.contains(&0) && expected.iter().any(|&n| n > 0));

    let mut child = Command::new(python())
        .args(["-c", SCRIPT])
        .arg(server.port().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the Python interpreter");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(serde_json::to_string(&asked).expect("json").as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("python");
    assert!(
        out.status.success(),
        "python failed (is bitmapist 3.119 installed? {INSTALL}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<u64> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(python.len(), expected.len());
    for (i, ((p, o), e)) in python.iter().zip(&ours).zip(&expected).enumerate() {
        assert_eq!((p, o), (e, e), "period {} ({})", i, asked[i]);
    }

    // Python marked beside the record; we read its mark.
    let today = bm
        .get_event_data("py:after", TimeGroup::Days, Utc::now())
        .expect("query");
    assert!(today.contains(9).await.expect("contains"));
    assert_eq!(bm.pruned_horizon().await.expect("horizon"), horizon);
}
