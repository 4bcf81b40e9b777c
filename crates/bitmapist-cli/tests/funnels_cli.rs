//! `bitmapist stickiness` and `bitmapist funnel` run as processes on an embedded file
//! written by the library: JSON equal to the engine's answers, table and CSV shapes, and
//! bad input as one `error:` line with exit code 2.

use crate::common::run;
use crate::common::{json_of, succeed};

use std::path::Path;

use bitmapist::{Bitmapist, FunnelSpec, MarkOptions, TimeGroup};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

const NOW: &str = "2026-11-22T18:00:00Z";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("a valid time")
}

/// A store file with sign-ups over 10 days, logins and purchases after them.
fn fixture(dir: &Path) -> (String, Bitmapist, tokio::runtime::Runtime) {
    let url = format!("file://{}", dir.join("f.redb").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bm = rt.block_on(async {
        let bm = Bitmapist::open(&url).await.expect("open");
        let mut marks = Vec::new();
        for uid in 0..200u32 {
            let day = i64::from(uid % 10);
            let t = now() - Duration::days(day) - Duration::hours(6);
            marks.push(("signed_up", uid, t));
            for later in 0..=(uid % 4) {
                marks.push(("logged_in", uid, t + Duration::days(i64::from(later))));
            }
            if uid % 3 == 0 {
                marks.push(("bought", uid, t + Duration::days(2)));
            }
        }
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("marks");
        bm.flush().await.expect("flush");
        bm
    });
    (url, bm, rt)
}

#[test]
fn funnel_and_stickiness_match_the_library() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, bm, rt) = fixture(dir.path());
    let expected = rt.block_on(async {
        let spec = FunnelSpec::new(["signed_up", "logged_in", "bought"])
            .rows(12)
            .window(3)
            .now(now());
        let lenient = bm.funnel(&spec).await.expect("lenient");
        let strict = bm.funnel(&spec.clone().strict(true)).await.expect("strict");
        let week = bm
            .stickiness("logged_in", TimeGroup::Weeks, now())
            .await
            .expect("week");
        let month = bm
            .stickiness("logged_in", TimeGroup::Months, now())
            .await
            .expect("month");
        (lenient, strict, week, month)
    });
    // The file is opened by one process at a time.
    drop(bm);
    drop(rt);
    let d = dir.path();
    let base = [
        "funnel",
        "signed_up",
        "logged_in",
        "bought",
        "--rows",
        "12",
        "--window",
        "3",
        "--now",
        NOW,
        "--store",
        &url,
    ];
    let lenient = json_of(d, &base);
    assert_eq!(lenient, serde_json::to_value(&expected.0).expect("json"));
    assert_eq!(lenient["totals"][0], 200);
    let mut strict_args = base.to_vec();
    strict_args.push("--strict");
    let strict = json_of(d, &strict_args);
    assert_eq!(strict, serde_json::to_value(&expected.1).expect("json"));
    // Logging in on the sign-up day counts for lenient only.
    assert!(strict["totals"][1].as_u64() < lenient["totals"][1].as_u64());

    let week = json_of(
        d,
        &[
            "stickiness",
            "logged_in",
            "--time-group",
            "weeks",
            "--at",
            NOW,
            "--store",
            &url,
        ],
    );
    assert_eq!(week, serde_json::to_value(&expected.2).expect("json"));
    assert_eq!(week["period"], "2026-W47");
    assert_eq!(week["start"], "2026-11-16");
    assert_eq!(week["days"].as_array().map(Vec::len), Some(7));
    let month = json_of(
        d,
        &[
            "stickiness",
            "logged_in",
            "--time-group",
            "months",
            "--at",
            NOW,
            "--store",
            &url,
        ],
    );
    assert_eq!(month, serde_json::to_value(&expected.3).expect("json"));
    assert_eq!(month["days"].as_array().map(Vec::len), Some(30));

    // Table and CSV.
    let table = succeed(d, &base).stdout;
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|h| h.contains("signed_up") && h.contains("bought"))
    );
    assert!(table.contains("conversion"));
    assert!(table.contains("100.0%"));
    let mut csv_args = base.to_vec();
    csv_args.extend(["--format", "csv"]);
    let csv = succeed(d, &csv_args).stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "period,signed_up,logged_in,bought");
    assert_eq!(lines.len(), 12 + 3);
    assert!(lines[13].starts_with("total,200,"), "{}", lines[13]);
    let sticky = succeed(
        d,
        &["stickiness", "logged_in", "--at", NOW, "--store", &url],
    )
    .stdout;
    assert!(sticky.contains("days active"));
    assert!(sticky.contains("2026-W47"));
    assert_eq!(json!(week["days"].as_array().map(Vec::len)), json!(7));
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let url = "memory://";
    for (args, needle) in [
        (
            vec!["funnel", "only_one", "--store", url],
            "at least 2 steps",
        ),
        (
            vec!["funnel", "a", "b", "--window", "0", "--store", url],
            "window",
        ),
        (
            vec!["funnel", "a", "b", "--rows", "0", "--store", url],
            "rows",
        ),
        (
            vec!["funnel", "a", "b", "--time-group", "years", "--store", url],
            "years",
        ),
        (
            vec!["funnel", "a", "", "--store", url],
            "a value is required",
        ),
        (vec!["funnel", "--store", url], "required"),
        (
            vec!["stickiness", "a", "--time-group", "days", "--store", url],
            "days",
        ),
        (
            vec!["stickiness", "a", "--at", "soon", "--store", url],
            "--at",
        ),
        (
            vec!["stickiness", "", "--store", url],
            "a value is required",
        ),
    ] {
        let r = run(d, &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
}
