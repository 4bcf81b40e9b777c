//! `bitmapist segment`, `property`, `ids` pages and `--segment`/`--breakdown` on every
//! analysis, run as processes on an embedded file: each JSON answer equals the engine's on
//! the same file, and bad input is one `error:` line with exit code 2.

use crate::common::run;
use crate::common::{json_of, succeed};

use std::path::Path;

use bitmapist::{
    Bitmapist, Breakdown, CohortSpec, CountSpec, FunnelSpec, MarkOptions, Period, RetentionSpec,
    StickinessSpec, TimeGroup,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

const NOW: &str = "2026-11-22T18:00:00Z";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("a valid time")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Sign-ups over 10 days, logins after them; plans set through the CLI.
fn fixture(dir: &Path) -> String {
    let url = format!("file://{}", dir.join("s.redb").display());
    rt().block_on(async {
        let bm = Bitmapist::open(&url).await.expect("open");
        let mut marks = Vec::new();
        for uid in 0..120u32 {
            let t = now() - Duration::days(i64::from(uid % 10)) - Duration::hours(6);
            marks.push(("signed_up", uid, t));
            for later in 0..=(uid % 4) {
                marks.push(("logged_in", uid, t + Duration::days(i64::from(later))));
            }
        }
        bm.mark_events(marks, MarkOptions::default())
            .await
            .expect("marks");
        bm.flush().await.expect("flush");
    });
    url
}

#[test]
fn segments_filters_and_breakdowns_from_the_command_line_match_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let url = fixture(d);
    let s = ["--store", url.as_str()];
    // Properties: three plans by id.
    let pro: Vec<String> = (0..120)
        .filter(|u| u % 3 == 0)
        .map(|u| u.to_string())
        .collect();
    let free: Vec<String> = (0..120)
        .filter(|u| u % 3 == 1)
        .map(|u| u.to_string())
        .collect();
    for (value, ids) in [("pro", &pro), ("free", &free)] {
        let mut args = vec!["property", "set", "plan", value];
        args.extend(ids.iter().map(String::as_str));
        args.extend(s);
        succeed(d, &args);
    }
    // Moving one user clears their old value.
    succeed(
        d,
        &["property", "set", "plan", "free", "0", "--store", &url],
    );
    let values = json_of(d, &["property", "values", "plan", "--store", &url]);
    assert_eq!(
        values,
        json!([{"value": "free", "users": 41}, {"value": "pro", "users": 39}])
    );
    // A snapshot from a file, and a definition.
    let ids_file = d.join("ids.txt");
    std::fs::write(&ids_file, "5\n7\n\n9\n").expect("ids");
    succeed(
        d,
        &[
            "segment",
            "save",
            "few",
            "--ids-file",
            ids_file.to_str().expect("path"),
            "--description",
            "three users",
            "--store",
            &url,
        ],
    );
    let def = r#"{"and": [{"did": {"event": "logged_in", "time_group": "days", "periods": 3}}, {"segment": "plan:pro"}]}"#;
    succeed(
        d,
        &[
            "segment",
            "define",
            "recent-pro",
            def,
            "--description",
            "pros active lately",
            "--store",
            &url,
        ],
    );
    let list = json_of(d, &["segment", "list", "--store", &url]);
    assert_eq!(list[0]["name"], "few");
    assert_eq!(list[0]["kind"], "snapshot");
    assert_eq!(list[0]["description"], "three users");
    assert_eq!(list[1]["name"], "recent-pro");
    assert_eq!(list[1]["kind"], "definition");
    assert_eq!(
        list[1]["definition"],
        serde_json::from_str::<Value>(def).expect("def")
    );
    let shown = json_of(d, &["segment", "show", "few", "--store", &url]);
    assert_eq!(
        shown,
        json!({"total": 3, "ids": [5, 7, 9], "external": null, "next_after": null})
    );

    // The engine's answers on the same file (one process at a time opens it).
    let (cohort, cohort_by, funnel, funnel_by, stick_by, count, events_by, recent) =
        rt().block_on(async {
            let bm = Bitmapist::open(&url).await.expect("open");
            let plan: Breakdown = "plan".parse().expect("plan");
            let base = CohortSpec::new("signed_up", "logged_in")
                .rows(7)
                .cols(7)
                .now(now());
            let r = RetentionSpec::new(base).segment("plan:pro");
            let cohort = bm.retention(&r).await.expect("retention");
            let mut unfiltered = r.cohort.clone();
            unfiltered.segments.clear();
            let cohort_by = bm
                .retention_by(&RetentionSpec::new(unfiltered), &plan)
                .await
                .expect("by");
            let f = FunnelSpec::new(["signed_up", "logged_in"])
                .rows(10)
                .window(3)
                .now(now());
            let funnel = bm.funnel(&f.clone().segment("few")).await.expect("funnel");
            let funnel_by = bm
                .funnel_by(&f, &"few,recent-pro".parse().expect("b"))
                .await
                .expect("funnel_by");
            let st = StickinessSpec::new("logged_in")
                .time_group(TimeGroup::Weeks)
                .at(now());
            let stick_by = bm.stickiness_by(&st, &plan).await.expect("stick");
            let day = Period::day(now().date_naive()).expect("day");
            let count = bm
                .count(
                    &CountSpec::new(["logged_in"], [day])
                        .segment("plan:free")
                        .now(now()),
                )
                .await
                .expect("count");
            let periods = [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months]
                .map(|g| bm.period_containing(g, now()).expect("p"));
            let events_by = bm
                .count_by(
                    &CountSpec::new(["logged_in", "signed_up"], periods).now(now()),
                    &plan,
                )
                .await
                .expect("events");
            let recent = bm.segment_users("recent-pro", now()).await.expect("recent");
            (
                cohort, cohort_by, funnel, funnel_by, stick_by, count, events_by, recent,
            )
        });
    let cohort_cli = json_of(
        d,
        &[
            "cohort",
            "signed_up",
            "logged_in",
            "--rows",
            "7",
            "--cols",
            "7",
            "--now",
            NOW,
            "--segment",
            "plan:pro",
            "--store",
            &url,
        ],
    );
    assert_eq!(cohort_cli["cohort"], json!(cohort.table.cohort));
    assert_eq!(cohort_cli["totals"], json!(cohort.table.totals));
    let by = json_of(
        d,
        &[
            "cohort",
            "signed_up",
            "logged_in",
            "--rows",
            "7",
            "--cols",
            "7",
            "--now",
            NOW,
            "--breakdown",
            "plan",
            "--store",
            &url,
        ],
    );
    assert_eq!(by["breakdown"], "plan");
    let values: Vec<Value> = by["values"].as_array().expect("values").clone();
    assert_eq!(values.len(), 3);
    assert_eq!(values[2]["value"], Value::Null);
    for (cli, eng) in values.iter().zip(&cohort_by.values) {
        assert_eq!(cli["value"], json!(eng.value));
        assert_eq!(cli["result"]["cohort"], json!(eng.result.table.cohort));
    }
    // The pro value of the breakdown is the pro filter.
    assert_eq!(values[1]["result"]["cohort"], cohort_cli["cohort"]);

    let f = json_of(
        d,
        &[
            "funnel",
            "signed_up",
            "logged_in",
            "--rows",
            "10",
            "--window",
            "3",
            "--now",
            NOW,
            "--segment",
            "few",
            "--store",
            &url,
        ],
    );
    assert_eq!(f, serde_json::to_value(&funnel).expect("json"));
    assert_eq!(f["totals"][0], 3);
    let fb = json_of(
        d,
        &[
            "funnel",
            "signed_up",
            "logged_in",
            "--rows",
            "10",
            "--window",
            "3",
            "--now",
            NOW,
            "--breakdown",
            "few,recent-pro",
            "--store",
            &url,
        ],
    );
    assert_eq!(fb, serde_json::to_value(&funnel_by).expect("json"));
    let sb = json_of(
        d,
        &[
            "stickiness",
            "logged_in",
            "--at",
            NOW,
            "--breakdown",
            "plan",
            "--store",
            &url,
        ],
    );
    assert_eq!(sb, serde_json::to_value(&stick_by).expect("json"));
    let c = json_of(
        d,
        &[
            "count",
            "logged_in",
            "--at",
            NOW,
            "--segment",
            "plan:free",
            "--store",
            &url,
        ],
    );
    assert_eq!(c["count"], count[0][0]);
    let eb = json_of(
        d,
        &[
            "events",
            "--at",
            NOW,
            "--breakdown",
            "plan",
            "--store",
            &url,
        ],
    );
    for (cli, eng) in eb["values"]
        .as_array()
        .expect("values")
        .iter()
        .zip(&events_by.values)
    {
        assert_eq!(cli["value"], json!(eng.value));
        let row = |name: &str| {
            cli["result"]
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| r["event"] == name)
                .cloned()
                .expect("listed")
        };
        assert_eq!(row("logged_in")["week"], eng.result[0][1]);
        assert_eq!(row("signed_up")["month"], eng.result[1][2]);
    }
    // CSV carries the value in a first column.
    let csv = succeed(
        d,
        &[
            "events",
            "--at",
            NOW,
            "--breakdown",
            "plan",
            "--format",
            "csv",
            "--store",
            &url,
        ],
    )
    .stdout;
    assert!(csv.starts_with("plan,event,today,week,month\n"), "{csv}");
    assert!(csv.contains("\n(none),logged_in,"), "{csv}");

    // ids: a filtered page, then the next one.
    let want: Vec<u32> = recent.iter().collect();
    assert!(want.len() > 3, "the fixture has recent pros: {want:?}");
    let page = json_of(
        d,
        &[
            "ids",
            "logged_in",
            "--period",
            "month",
            "--at",
            NOW,
            "--segment",
            "recent-pro",
            "--limit",
            "3",
            "--store",
            &url,
        ],
    );
    assert_eq!(page["total"], want.len());
    assert_eq!(page["ids"], json!(want[..3]));
    let after = page["next_after"].as_u64().expect("more").to_string();
    let next = json_of(
        d,
        &[
            "ids",
            "logged_in",
            "--period",
            "month",
            "--at",
            NOW,
            "--segment",
            "recent-pro",
            "--after",
            &after,
            "--limit",
            "1000",
            "--store",
            &url,
        ],
    );
    assert_eq!(next["ids"], json!(want[3..]));
    assert_eq!(next["next_after"], Value::Null);

    // Bad input: one error line, exit 2, nothing lost.
    for args in [
        vec!["cohort", "signed_up", "logged_in", "--segment", "nope"],
        vec![
            "cohort",
            "signed_up",
            "logged_in",
            "--breakdown",
            "plan:pro",
        ],
        vec!["segment", "define", "x", "{\"did\": 1}"],
        vec!["segment", "define", "bad name", r#"{"segment": "few"}"#],
        vec!["segment", "delete", "nothing"],
        vec!["property", "set", "plan", "a:b", "1"],
        vec!["ids", "logged_in", "--breakdown", "plan"],
    ] {
        let mut all = args.clone();
        all.extend(["--store", url.as_str()]);
        let r = run(d, &all);
        assert_eq!(r.code, 2, "{args:?}: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.starts_with("error:"), "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
    }
    succeed(d, &["segment", "delete", "few", "--store", &url]);
    assert_eq!(
        json_of(d, &["segment", "list", "--store", &url])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
