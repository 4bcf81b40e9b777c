//! `bitmapist lifecycle` and `bitmapist trends` run as processes on an embedded file
//! written by the library: JSON equal to the engine's answers (plain, filtered by a
//! segment, broken down by a property), table and CSV shapes, and bad input as one
//! `error:` line with exit code 2.

use crate::common::run;
use crate::common::{json_of, succeed};

use std::path::Path;

use bitmapist::{Bitmapist, Breakdown, LifecycleSpec, MarkOptions, TimeGroup, TrendsSpec};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

const NOW: &str = "2026-11-22T18:00:00Z";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("a valid time")
}

/// A store file where users sign up over 40 days and come back irregularly.
fn fixture(dir: &Path) -> (String, Bitmapist, tokio::runtime::Runtime) {
    let url = format!("file://{}", dir.join("l.redb").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bm = rt.block_on(async {
        let bm = Bitmapist::open(&url).await.expect("open");
        let mut marks = Vec::new();
        for uid in 0..300u32 {
            let start = now() - Duration::days(i64::from(uid % 40)) - Duration::hours(3);
            marks.push(("user:created", uid, start));
            for k in 0..(uid % 7) {
                let t = start + Duration::days(i64::from(k * (1 + uid % 5)));
                if t <= now() {
                    marks.push(("active", uid, t));
                }
            }
        }
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("marks");
        for uid in 0..300u32 {
            let plan = ["free", "pro", "team"][(uid % 3) as usize];
            if uid % 5 != 0 {
                bm.set_property("plan", plan, uid).await.expect("plan");
            }
        }
        bm.flush().await.expect("flush");
        bm
    });
    (url, bm, rt)
}

#[test]
fn lifecycle_and_trends_match_the_library() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (url, bm, rt) = fixture(d);
    let spec = LifecycleSpec::new("active")
        .time_group(TimeGroup::Days)
        .periods(20)
        .now(now());
    let with_from = spec.clone().new_from(Some("user:created".to_string()));
    let trends = TrendsSpec::new("active").days(14).compare(true).now(now());
    let plan = Breakdown::Property("plan".into());
    let (plain, created, tr, pro, by, tr_by) = rt.block_on(async {
        (
            bm.lifecycle(&spec).await.expect("lifecycle"),
            bm.lifecycle(&with_from).await.expect("lifecycle"),
            bm.trends(&trends).await.expect("trends"),
            bm.lifecycle(&spec.clone().segment("plan:pro"))
                .await
                .expect("filtered"),
            bm.lifecycle_by(&spec, &plan).await.expect("breakdown"),
            bm.trends_by(&trends, &plan).await.expect("breakdown"),
        )
    });
    // The CLI opens the file itself.
    drop(bm);
    assert!(plain.rows.iter().any(|r| r.dormant > 0 && r.returning > 0));

    let base = [
        "lifecycle",
        "active",
        "--time-group",
        "days",
        "--periods",
        "20",
        "--now",
        NOW,
        "--store",
        &url,
    ];
    assert_eq!(
        json_of(d, &base),
        serde_json::to_value(&plain).expect("json")
    );
    let mut from = base.to_vec();
    from.extend(["--new-from", "user:created"]);
    let got = json_of(d, &from);
    assert_eq!(got, serde_json::to_value(&created).expect("json"));
    assert_eq!(got["new_from"], "user:created");

    // CSV: a header, then one line per period with raw numbers.
    let mut csv = base.to_vec();
    csv.extend(["--format", "csv"]);
    let out = succeed(d, &csv).stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "period,new,returning,resurrecting,dormant,active");
    assert_eq!(lines.len(), 21);
    let last = &plain.rows[19];
    assert_eq!(
        lines[20],
        format!(
            "{},{},{},{},{},{}",
            last.start,
            last.new,
            last.returning,
            last.resurrecting,
            last.dormant,
            last.active()
        )
    );
    let mut seg = base.to_vec();
    seg.extend(["--segment", "plan:pro"]);
    assert_eq!(json_of(d, &seg), serde_json::to_value(&pro).expect("json"));
    assert!(
        pro.rows.iter().map(|r| r.active()).sum::<u64>()
            < plain.rows.iter().map(|r| r.active()).sum::<u64>()
    );
    let mut brk = base.to_vec();
    brk.extend(["--breakdown", "plan"]);
    assert_eq!(json_of(d, &brk), serde_json::to_value(&by).expect("json"));
    brk.extend(["--format", "csv"]);
    let out = succeed(d, &brk).stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "plan,period,new,returning,resurrecting,dormant,active"
    );
    // Three plans and "(none)", 20 periods each.
    assert_eq!(lines.len(), 1 + 4 * 20);
    assert!(lines[80].starts_with("(none),2026-11-22,"));
    let table = succeed(d, &base).stdout;
    assert!(table.contains("resurrecting") && table.contains("2026-11-22"));

    let targs = [
        "trends",
        "active",
        "--days",
        "14",
        "--compare",
        "--now",
        NOW,
        "--store",
        &url,
    ];
    // Both sides through the same float parser: the ratios are compared as printed.
    let want: Value =
        serde_json::from_str(&serde_json::to_string(&tr).expect("json")).expect("parse");
    assert_eq!(json_of(d, &targs), want);
    let mut tcsv = targs.to_vec();
    tcsv.extend(["--format", "csv"]);
    let out = succeed(d, &tcsv).stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "day,dau,wau,mau,dau/mau,prev_day,prev_dau,prev_wau,prev_mau,prev_dau/mau"
    );
    assert_eq!(lines.len(), 15);
    assert!(lines[14].starts_with(&format!("2026-11-22,{},", tr.days[13].dau)));
    let mut tby = targs.to_vec();
    tby.extend(["--breakdown", "plan"]);
    let want: Value =
        serde_json::from_str(&serde_json::to_string(&tr_by).expect("json")).expect("parse");
    assert_eq!(json_of(d, &tby), want);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let url = "memory://";
    for (args, needle) in [
        (
            vec!["lifecycle", "a", "--time-group", "years", "--store", url],
            "years",
        ),
        (
            vec!["lifecycle", "a", "--periods", "0", "--store", url],
            "periods",
        ),
        (
            vec!["lifecycle", "a", "--new-from", "", "--store", url],
            "a value is required",
        ),
        (vec!["lifecycle", "", "--store", url], "a value is required"),
        (
            vec!["lifecycle", "a", "--now", "soon", "--store", url],
            "--now",
        ),
        (vec!["trends", "a", "--days", "401", "--store", url], "days"),
        (vec!["trends", "--store", url], "required"),
        (
            vec!["lifecycle", "a", "--breakdown", "plan:pro", "--store", url],
            "property value",
        ),
        (
            vec!["trends", "a", "--segment", "", "--store", url],
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
