//! Retention modes on the dashboard: the cohort form's choices, the JSON/CSV API, the
//! default view (weekly, on-or-after, percent), the retention curve and 400s naming the
//! parameter.

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use bitmapist::{Average, CohortSpec, Criterion, RetentionSpec, TimeGroup};
use serde_json::json;

const Q: &str = "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in\
                 &time_group=days&num_rows=3&num_cols=3&now=2026-11-22";

#[tokio::test]
async fn api_cohort_in_every_mode_is_the_engine_table() {
    let bm = store().await;
    let app = app(&bm, Access::Public);

    let a = get(
        &app,
        &format!("/bitmapist/api/cohort?{Q}&retention=on-or-after&average=weighted"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let body = a.json();
    // Nov 20's users came back on Nov 21 (1..4), two of them again on Nov 22.
    assert_eq!(
        body["cohort"],
        json!([[4, 4, 2], [3, 3, null], [null, null, null]])
    );
    assert_eq!(body["retention"], "on-or-after");
    assert_eq!(body["first_time"], false);
    assert_eq!(body["average"], "weighted");
    assert_eq!(body["complete_only"], false);
    assert_eq!(body["average_fractions"][0], json!(7.0 / 15.0));
    // Today's keys are all still there.
    for key in [
        "primary_event",
        "secondary_event",
        "additional",
        "num_rows",
        "num_cols",
        "as_percent",
        "with_replacement",
        "now",
        "time_group",
        "dates",
        "labels",
        "cohort",
        "totals",
        "fractions",
        "averages",
        "col_totals",
        "total",
    ] {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }

    // Complete periods only: the current day's cells leave the averages.
    let body = get(
        &app,
        &format!(
            "/bitmapist/api/cohort?{Q}&retention=on-or-after&average=weighted&complete_only=on"
        ),
    )
    .await
    .json();
    assert_eq!(body["average_fractions"], json!([7.0 / 15.0, 0.4, null]));

    // First-time cohorts look back before the table's first row.
    let first = get(
        &app,
        "/bitmapist/api/cohort?primary_event=user%3Alogged_in&secondary_event=user%3Alogged_in\
         &num_rows=1&num_cols=1&now=2026-11-22&first_time=1",
    )
    .await
    .json();
    assert_eq!(
        first["totals"],
        json!([3]),
        "users 1 and 2 logged in on Nov 21"
    );
    assert_eq!(first["first_time"], true);

    // `with_replacement` is `retention=on`.
    let on = get(&app, &format!("/bitmapist/api/cohort?{Q}&retention=on"))
        .await
        .json();
    let legacy = get(
        &app,
        &format!("/bitmapist/api/cohort?{Q}&with_replacement=on"),
    )
    .await
    .json();
    assert_eq!(on["cohort"], legacy["cohort"]);
    assert_eq!(legacy["retention"], "on");
    assert_eq!(on["with_replacement"], true);

    // The same numbers as the engine's.
    let spec = RetentionSpec::new(
        CohortSpec::new("user:signed_up", "user:logged_in")
            .time_group(TimeGroup::Days)
            .rows(3)
            .cols(3)
            .now(nov(22, 23) + chrono::Duration::seconds(59 * 60 + 59)),
    )
    .criterion(Criterion::OnOrAfter)
    .average(Average::Weighted)
    .complete_only(true)
    .first_time(true);
    let engine = serde_json::to_value(bm.retention(&spec).await.expect("retention")).expect("json");
    let body = get(
        &app,
        &format!(
            "/bitmapist/api/cohort?{Q}&retention=on-or-after&average=weighted&complete_only=1&first_time=1"
        ),
    )
    .await
    .json();
    for key in [
        "cohort",
        "totals",
        "fractions",
        "averages",
        "average_fractions",
        "retention",
        "first_time",
        "average",
        "complete_only",
    ] {
        assert_eq!(body[key], engine[key], "{key}");
    }

    // The CSV's average line is the chosen average.
    let csv = get(
        &app,
        &format!(
            "/bitmapist/api/cohort.csv?{Q}&retention=on-or-after&average=weighted&as_percent=1"
        ),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    let avg = csv
        .body
        .lines()
        .find(|l| l.starts_with("average,"))
        .expect("average line");
    assert!(
        avg.contains(&format!(",{}", 7.0 / 15.0)),
        "weighted average in {avg}"
    );
    assert!(
        csv.body.starts_with("period,start,users,day 0"),
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn bad_modes_are_400_naming_the_parameter() {
    let app = app(&store().await, Access::Public);
    let cases = [
        ("retention=later", "retention"),
        ("retention=on-or-after&with_replacement=on", "retention"),
        ("average=median", "average"),
        ("first_time=perhaps", "first_time"),
        ("complete_only=2", "complete_only"),
    ];
    for (extra, param) in cases {
        let query = format!("{Q}&{extra}");
        let a = get(&app, &format!("/bitmapist/api/cohort?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "api {query}");
        assert!(a.header("content-type").starts_with("application/json"));
        assert_eq!(a.json()["param"], param, "{}", a.body);
        assert!(
            a.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains(param)),
            "{}",
            a.body
        );
        let a = get(&app, &format!("/bitmapist/api/cohort.csv?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "csv {query}");
        let a = get(&app, &format!("/bitmapist/cohort?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "page {query}");
        assert!(a.body.contains("id=\"bm-error\""), "page {query}");
        assert!(
            !a.body.contains("id=\"bm-curve-svg\""),
            "no curve on an error"
        );
    }
}

#[tokio::test]
async fn default_view_is_weekly_on_or_after_in_percent_with_a_curve() {
    let bm = bitmapist::Bitmapist::open("memory://")
        .await
        .expect("store");
    synthetic(&bm, 400, 70).await;
    let app = app(&bm, Access::Public);
    let a = get(&app, "/bitmapist/cohort").await;
    assert_eq!(a.status, StatusCode::OK);
    let html = &a.body;
    assert!(
        html.contains(r#"<option value="weeks" selected>"#),
        "weekly"
    );
    assert!(
        html.contains(r#"<option value="on-or-after" selected>"#),
        "on or after"
    );
    assert!(html.contains(r#"<table class="heatmap pct""#), "percent");
    assert!(html.contains(r#"data-unit="week""#));
    // Links carry the mode, so that the view is bookmarkable.
    assert!(
        html.contains("retention=on-or-after"),
        "links carry the mode"
    );
    // The curve: the SVG, faint row lines, average points with tooltips.
    assert!(
        html.contains(r#"<svg class="curve" id="bm-curve-svg""#),
        "{html}"
    );
    assert!(html.contains(r#"<polyline class="row-line" points=""#));
    assert!(html.contains(r#"<polyline class="avg-line" id="bm-curve-average""#));
    assert!(html.contains("<circle class=\"avg-point\""));
    assert!(html.contains("<title>Week 0: "), "{html}");
    assert!(html.contains("% (simple average over"), "{html}");
    assert!(!html.contains("style=\""), "no inline styles");

    // The form's choices show back, and the mode changes the numbers.
    let q = "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=weeks\
             &num_rows=6&num_cols=6&now=2026-11-22";
    let first = get(&app, &format!("/bitmapist/cohort?{q}")).await.body;
    assert!(first.contains(r#"<option value="first-return" selected>"#));
    let weighted = get(
        &app,
        &format!(
            "/bitmapist/cohort?{q}&retention=on&first_time=on&average=weighted&complete_only=on"
        ),
    )
    .await
    .body;
    assert!(weighted.contains(r#"<option value="on" selected>"#));
    assert!(weighted.contains(r#"<option value="weighted" selected>"#));
    assert!(weighted.contains(r#"name="first_time" id="first_time" value="on" checked"#));
    assert!(weighted.contains(r#"name="complete_only" id="complete_only" value="on" checked"#));
    assert!(weighted.contains("(weighted average over"));
    assert!(
        weighted.contains("retention=on&#38;first_time=1&#38;average=weighted&#38;complete_only=1")
    );
}
