//! Handler tests of the dashboard's pages and API: counts, series, cohort tables, CSV, the
//! original's `POST /cohort`, bad input (400 naming the parameter, never a 500), escaping.

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use bitmapist::{CohortSpec, TimeGroup};
use serde_json::{Value, json};

async fn fixture() -> axum::Router {
    app(&store().await, Access::Public)
}

/// The event object named `name` in an `/api/events` answer.
fn event<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed in {body}"))
}

#[tokio::test]
async fn api_events_counts_every_period_and_series() {
    let app = fixture().await;
    let a = get(&app, &format!("/bitmapist/api/events?now={NOW}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("application/json"));
    let body = a.json();
    assert_eq!(body["total"], 6);
    assert_eq!(body["now"], "2026-11-22T12:00:00+00:00");

    let signed = event(&body, "user:signed_up");
    assert_eq!(
        signed["counts"],
        json!({"hour": 0, "day": 0, "week": 15, "month": 15, "year": 15})
    );
    assert_eq!(signed["alive"], "this_week");
    let daily = signed["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 30);
    assert_eq!(
        daily[29],
        json!({"period": "2026-11-22", "start": "2026-11-22", "count": 0})
    );
    assert_eq!(daily[28]["count"], 5);
    assert_eq!(daily[27]["count"], 10);
    assert_eq!(daily[0]["period"], "2026-10-24");
    let weekly = signed["weekly"].as_array().expect("weekly");
    assert_eq!(weekly.len(), 12);
    assert_eq!(
        weekly[11],
        json!({"period": "2026-W47", "start": "2026-11-16", "count": 15})
    );
    assert_eq!(weekly[10]["period"], "2026-W46");

    let logged = event(&body, "user:logged_in");
    assert_eq!(
        logged["counts"],
        json!({"hour": 0, "day": 5, "week": 7, "month": 7, "year": 7})
    );
    assert_eq!(logged["alive"], "today");

    let old = event(&body, "old:event");
    assert_eq!(
        old["counts"],
        json!({"hour": 0, "day": 0, "week": 0, "month": 0, "year": 1})
    );
    assert_eq!(old["alive"], "idle");
}

#[tokio::test]
async fn api_events_search_and_pages() {
    let app = fixture().await;
    let body = get(&app, &format!("/bitmapist/api/events?q=USER&now={NOW}"))
        .await
        .json();
    let names: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["user:bought", "user:logged_in", "user:signed_up"]);
    assert_eq!(body["matched"], 3);

    let body = get(&app, "/bitmapist/api/events?per_page=2&page=2")
        .await
        .json();
    assert_eq!(body["pages"], 3);
    assert_eq!(body["events"].as_array().expect("events").len(), 2);
    let body = get(&app, "/bitmapist/api/events?per_page=2&page=9")
        .await
        .json();
    assert_eq!(body["events"], json!([]));
}

#[tokio::test]
async fn api_one_event_including_awkward_and_unknown_names() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/api/events/user%3Alogged_in?now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["counts"]["week"], 7);

    let a = get(
        &app,
        &format!("/bitmapist/api/events/{}?now={NOW}", enc(SCRIPT_EVENT)),
    )
    .await;
    assert_eq!(a.json()["name"], SCRIPT_EVENT);
    assert_eq!(a.json()["counts"]["day"], 1);

    // No data is an answer, not an error.
    let a = get(
        &app,
        &format!("/bitmapist/api/events/never%2Fseen?now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["name"], "never/seen");
    assert_eq!(a.json()["counts"]["year"], 0);
    assert_eq!(a.json()["alive"], "idle");
}

#[tokio::test]
async fn overview_page_lists_counts_and_charts() {
    let app = fixture().await;
    let a = get(&app, &format!("/bitmapist?now={NOW}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("text/html"));
    let html = &a.body;
    assert!(
        html.contains("6 events · as of 2026-11-22 12:00 UTC"),
        "{html}"
    );
    assert!(html.contains(r#"<tr data-name="user:logged_in">"#));
    assert!(html.contains("<svg class=\"chart\""), "inline SVG charts");
    assert!(html.contains("Daily users, last 30 days"));
    assert!(html.contains("Weekly users, last 12 weeks"));
    assert!(
        html.contains("2026-W47 (from 2026-11-16): 15"),
        "weekly tooltip"
    );
    assert!(html.contains("dot live"), "alive hint");
    assert!(html.contains("dot idle"));
    // No hour column unless hours are tracked or marked.
    assert!(!html.contains("This hour"));
    // Links to the event's own retention table and its JSON.
    assert!(html.contains(
        "/bitmapist/cohort?primary_event=user%3Alogged_in&#38;secondary_event=user%3Alogged_in&#38;now=2026-11-22T12%3A00%3A00Z"
    ), "{html}");
    assert!(html.contains("/bitmapist/api/events/user%3Alogged_in?now="));
    // Links to the overview never end in a slash (axum does not route `/bitmapist/` to a
    // router nested at `/bitmapist`).
    assert!(html.contains(r#"<a class="brand" href="/bitmapist">"#));
    assert!(!html.contains(r#"href="/bitmapist/""#));
}

#[tokio::test]
async fn overview_search_works_without_javascript() {
    let app = fixture().await;
    let html = get(&app, "/bitmapist?q=logged").await.body;
    assert!(html.contains(r#"data-name="user:logged_in""#));
    assert!(!html.contains(r#"data-name="user:signed_up""#));
    assert!(
        html.contains(r#"value="logged""#),
        "the search box keeps the query"
    );
    let html = get(&app, "/bitmapist?q=nothing-like-this").await.body;
    assert!(html.contains("No event name contains"));
}

#[tokio::test]
async fn overview_pages_hundreds_of_events() {
    let bm = bitmapist::Bitmapist::open("memory://")
        .await
        .expect("store");
    let marks: Vec<(String, u32, chrono::DateTime<chrono::Utc>)> = (0..250)
        .map(|i| (format!("app:event_{i:03}"), i, nov(22, 8)))
        .collect();
    bm.mark_events(marks, Default::default())
        .await
        .expect("marks");
    let app = app(&bm, Access::Public);
    let html = get(&app, &format!("/bitmapist?now={NOW}")).await.body;
    assert_eq!(html.matches("<tr data-name=").count(), 100);
    assert!(html.contains("Page 1 of 3"));
    assert!(
        html.contains(r#"href="/bitmapist?page=2&#38;now=2026-11-22T12%3A00%3A00Z" rel="next""#),
        "{html}"
    );
    let html = get(&app, &format!("/bitmapist?page=3&now={NOW}"))
        .await
        .body;
    assert_eq!(html.matches("<tr data-name=").count(), 50);
    assert!(html.contains("Showing 201–250 of 250"));
}

#[tokio::test]
async fn hour_column_when_hours_are_tracked() {
    let bm = bitmapist::Bitmapist::builder()
        .url("memory://")
        .track_hourly(true)
        .open()
        .await
        .expect("store");
    bm.mark_event("user:clicked", 3)
        .at(nov(22, 12))
        .await
        .expect("mark");
    let app = app(&bm, Access::Public);
    let html = get(&app, &format!("/bitmapist?now={NOW}")).await.body;
    assert!(html.contains("This hour"));
    let body = get(&app, &format!("/bitmapist/api/events?now={NOW}"))
        .await
        .json();
    assert_eq!(body["hourly"], true);
    assert_eq!(body["events"][0]["counts"]["hour"], 1);
    // And the cohort form offers hours.
    let html = get(&app, "/bitmapist/cohort").await.body;
    assert!(html.contains(r#"<option value="hours""#));
}

#[tokio::test]
async fn overview_bad_parameters_are_400_with_the_page() {
    let app = fixture().await;
    for (query, words) in [
        ("page=0", "page"),
        ("page=two", "page"),
        ("per_page=501", "per_page"),
        ("now=yesterday", "now"),
    ] {
        let a = get(&app, &format!("/bitmapist?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            a.body.contains(words) && a.body.contains("class=\"error\""),
            "{query}"
        );
        assert!(
            a.body.contains("id=\"bm-q\""),
            "the search form is shown again"
        );
        let a = get(&app, &format!("/bitmapist/api/events?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(a.json()["param"], words, "{query}");
    }
}

const COHORT_Q: &str = "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in\
                        &time_group=days&num_rows=3&num_cols=3&now=2026-11-22";

#[tokio::test]
async fn api_cohort_is_the_engine_table() {
    let bm = store().await;
    let app = app(&bm, Access::Public);
    let a = get(&app, &format!("/bitmapist/api/cohort?{COHORT_Q}")).await;
    assert_eq!(a.status, StatusCode::OK);
    let body = a.json();
    assert_eq!(
        body["cohort"],
        json!([[0, 4, 0], [0, 3, null], [null, null, null]])
    );
    assert_eq!(body["totals"], json!([10, 5, 0]));
    assert_eq!(
        body["labels"],
        json!(["2026-11-20", "2026-11-21", "2026-11-22"])
    );
    assert_eq!(body["col_totals"], json!([0, 7, 0]));
    assert_eq!(body["total"], 15);
    assert_eq!(body["primary_event"], "user:signed_up");
    assert_eq!(body["now"], "2026-11-22T23:59:59+00:00");

    // Exactly what the engine computes for the same spec.
    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .time_group(TimeGroup::Days)
        .rows(3)
        .cols(3)
        .now(nov(22, 23) + chrono::Duration::seconds(59 * 60 + 59));
    let engine = serde_json::to_value(bm.get_cohort(&spec).await.expect("cohort")).expect("json");
    for key in [
        "cohort",
        "dates",
        "labels",
        "totals",
        "fractions",
        "averages",
        "average_fractions",
        "col_totals",
        "total",
        "time_group",
    ] {
        assert_eq!(body[key], engine[key], "{key}");
    }

    // With replacement, and a chain.
    let body = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT_Q}&with_replacement=on"),
    )
    .await
    .json();
    assert_eq!(body["cohort"][0], json!([0, 4, 2]));
    let body = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT_Q}&additional=and%3Auser%3Abought"),
    )
    .await
    .json();
    assert_eq!(
        body["cohort"],
        json!([[0, 0, 1], [0, 0, null], [null, null, null]])
    );
    assert_eq!(body["additional"], json!(["and:user:bought"]));
    let body = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT_Q}&additional=or:user:bought"),
    )
    .await
    .json();
    assert_eq!(body["cohort"][0], json!([0, 4, 0]));
}

#[tokio::test]
async fn cohort_bad_input_is_400_naming_the_parameter() {
    let app = fixture().await;
    let base = "primary_event=a&secondary_event=b";
    let cases = [
        ("secondary_event=b".to_string(), "primary_event"),
        (
            "primary_event=&secondary_event=b".to_string(),
            "primary_event",
        ),
        (
            "primary_event=a&secondary_event=".to_string(),
            "secondary_event",
        ),
        (format!("{base}&time_group=fortnights"), "time_group"),
        (format!("{base}&num_rows=0"), "num_rows"),
        (format!("{base}&num_rows=401"), "num_rows"),
        (format!("{base}&num_rows=-3"), "num_rows"),
        (
            format!("{base}&num_cols=100000000000000000000000"),
            "num_cols",
        ),
        (format!("{base}&num_cols=ten"), "num_cols"),
        (format!("{base}&now=2026-02-30"), "now"),
        (format!("{base}&now=0001-01-01&num_rows=5"), "now"),
        (format!("{base}&additional=nand:c"), "additional"),
        (format!("{base}&additional=and:"), "additional"),
        (format!("{base}&as_percent=perhaps"), "as_percent"),
        (format!("{base}&with_replacement=2"), "with_replacement"),
    ];
    for (query, param) in &cases {
        let a = get(&app, &format!("/bitmapist/api/cohort?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "api {query}");
        assert_eq!(a.json()["param"], *param, "api {query}: {}", a.body);
        assert!(
            a.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains(param)),
            "{}",
            a.body
        );
        let a = get(&app, &format!("/bitmapist/api/cohort.csv?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "csv {query}");
        if !query.contains("primary_event") {
            // The page starts from a suggested pair when no event is named at all.
            continue;
        }
        let a = get(&app, &format!("/bitmapist/cohort?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "page {query}");
        assert!(a.body.contains("id=\"bm-error\""), "page {query}");
        assert!(a.body.contains(param), "page {query}");
        assert!(
            a.body.contains("id=\"bm-cohort-form\""),
            "the form is shown again"
        );
    }
    // The form shows back what was sent.
    let a = get(
        &app,
        &format!("/bitmapist/cohort?{base}&num_rows=401&num_cols=7"),
    )
    .await;
    assert!(a.body.contains(r#"value="401""#) && a.body.contains(r#"value="7""#));
    assert!(a.body.contains(r#"id="num_rows" name="num_rows" type="number" min="1" max="400" value="401" inputmode="numeric" aria-invalid="true""#), "{}", a.body);
    // The largest table allowed is fine.
    let a = get(
        &app,
        &format!("/bitmapist/api/cohort?{base}&num_rows=400&num_cols=400"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn cohort_page_draws_the_heatmap() {
    let app = fixture().await;
    let a = get(&app, &format!("/bitmapist/cohort?{COHORT_Q}")).await;
    assert_eq!(a.status, StatusCode::OK);
    let html = &a.body;
    assert!(html.contains(r#"<table class="heatmap" id="bm-heatmap" data-unit="day">"#));
    assert!(html.contains(r#"<th scope="col" class="num col">Day 0</th>"#));
    // Row 2026-11-20: 10 users, cells 0, 4, 0; row 2026-11-21: 5 users, 0, 3, future.
    // Each size and filled cell links to its users (row 0 = the oldest).
    assert!(html.contains(r#"<th scope="row" class="sticky label" title="from 2026-11-20">2026-11-20</th><td class="num size"><a href="/bitmapist/users?of=cohort&#38;"#), "{html}");
    assert!(html.contains(r#"&#38;row=0" class="users-link">10</a></td><td class="cell h0" title="0 of 10 users (0.0%)"><a href="/bitmapist/users?of=cohort&#38;"#), "{html}");
    assert!(html.contains(r#"&#38;row=0&#38;col=0" class="users-link">0</a></td><td class="cell h7" title="4 of 10 users (40.0%)"><a href="/bitmapist/users?of=cohort&#38;"#), "{html}");
    assert!(
        html.contains(r#"&#38;row=0&#38;col=1" class="users-link">4</a></td>"#),
        "{html}"
    );
    assert!(html.contains(r#"<td class="cell future"></td>"#));
    assert!(
        html.contains(r#"<tr class="empty-row" title="no users in this cohort">"#),
        "a row with no users"
    );
    assert!(html.contains("<tr class=\"avg\">") && html.contains("<tr class=\"tot\">"));
    // Links: JSON, CSV, the permalink and the percent toggle, all with the same parameters.
    assert!(html.contains("/bitmapist/api/cohort?primary_event=user%3Asigned_up&#38;secondary_event=user%3Alogged_in&#38;time_group=days&#38;num_rows=3&#38;num_cols=3&#38;now=2026-11-22"));
    assert!(html.contains("/bitmapist/api/cohort.csv?primary_event=user%3Asigned_up"));
    assert!(
        html.contains("num_cols=3&#38;as_percent=1&#38;now=2026-11-22\" id=\"bm-show-percent\"")
    );

    let html = get(&app, &format!("/bitmapist/cohort?{COHORT_Q}&as_percent=on"))
        .await
        .body;
    assert!(html.contains(r#"&#38;row=0&#38;col=1" class="users-link">40.0%</a></td>"#));
    assert!(html.contains(r#"<table class="heatmap pct""#));

    // Weeks and months are labelled unambiguously.
    let html = get(&app, "/bitmapist/cohort?primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=weeks&num_rows=2&now=2026-11-22").await.body;
    assert!(html.contains(">2026-W47</th>") && html.contains(">2026-W46</th>"));
    let html = get(&app, "/bitmapist/cohort?primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=months&num_rows=2&now=2026-11-22").await.body;
    assert!(html.contains(">Nov 2026</th>") && html.contains(">Oct 2026</th>"));
}

#[tokio::test]
async fn cohort_page_defaults_to_a_suggested_pair() {
    let app = fixture().await;
    let a = get(&app, "/bitmapist/cohort?now=2026-11-22").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains(
        r#"id="primary_event" name="primary_event" list="bm-names" value="user:signed_up""#
    ));
    assert!(a.body.contains(
        r#"id="secondary_event" name="secondary_event" list="bm-names" value="user:logged_in""#
    ));
    assert!(
        a.body.contains("id=\"bm-heatmap\""),
        "the default table is drawn"
    );
    // Every event can be picked, not only `user:` ones.
    assert!(a.body.contains(r#"<option value="old:event"></option>"#));

    // An empty store: the form and a word on how to start.
    let empty = bitmapist::Bitmapist::open("memory://")
        .await
        .expect("store");
    let empty_app = crate::dashboard_support::app(&empty, Access::Public);
    let a = get(&empty_app, "/bitmapist/cohort").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("No events yet"));
    let a = get(&empty_app, "/bitmapist").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("No events yet"));
}

#[tokio::test]
async fn an_event_without_data_is_shown_as_such() {
    let app = fixture().await;
    let a = get(
        &app,
        "/bitmapist/cohort?primary_event=no%3Asuch&secondary_event=user%3Alogged_in&now=2026-11-22",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("the table is empty, not broken"));
    let a = get(
        &app,
        "/bitmapist/api/cohort?primary_event=no%3Asuch&secondary_event=user%3Alogged_in",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["total"], 0);
}

#[tokio::test]
async fn form_submissions_redirect_to_the_canonical_url() {
    let app = fixture().await;
    let a = get(
        &app,
        "/bitmapist/cohort?primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in\
         &additional_op=and&additional_event=user%3Abought&additional_op=or&additional_event=old%3Aevent\
         &additional_op=and&additional_event=&time_group=weeks&num_rows=4&num_cols=4&as_percent=on&now=",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.header("location"),
        "/bitmapist/cohort?primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in\
         &additional=and%3Auser%3Abought&additional=or%3Aold%3Aevent&time_group=weeks&num_rows=4\
         &num_cols=4&as_percent=on"
    );
    let a = get(&app, a.header("location")).await;
    assert_eq!(a.status, StatusCode::OK);
    // The chain is shown back in the form, in order.
    let first = a
        .body
        .find(r#"value="user:bought""#)
        .expect("first chained event");
    let second = a
        .body
        .find(r#"value="old:event" aria-label"#)
        .expect("second chained event");
    assert!(first < second);
    assert!(
        a.body
            .contains(r#"<option value="or" selected>OR</option>"#)
    );
}

#[tokio::test]
async fn csv_download() {
    let app = fixture().await;
    let a = get(&app, &format!("/bitmapist/api/cohort.csv?{COHORT_Q}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        a.header("content-disposition"),
        "attachment; filename=\"cohort-user_signed_up-user_logged_in-days-2026-11-22.csv\""
    );
    let lines: Vec<&str> = a.body.lines().collect();
    assert_eq!(
        lines,
        [
            "period,start,users,day 0,day 1,day 2",
            "2026-11-20,2026-11-20,10,0,4,0",
            "2026-11-21,2026-11-21,5,0,3,",
            "2026-11-22,2026-11-22,0,,,",
            "average,,5,0,3.5,0",
            "total,,15,0,7,0",
        ]
    );
    let a = get(
        &app,
        &format!("/bitmapist/api/cohort.csv?{COHORT_Q}&as_percent=1"),
    )
    .await;
    assert!(
        a.body.lines().nth(1) == Some("2026-11-20,2026-11-20,10,0,0.4,0"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn the_original_post_cohort_keeps_working() {
    let app = fixture().await;
    let body = r#"{"primary_event": "user:signed_up", "secondary_event": "user:logged_in",
                   "additional_events": [], "time_group": "days", "num_rows": 3, "num_cols": 3,
                   "now": "2026-11-22"}"#;
    let a = post(&app, "/bitmapist/cohort?json=1", body).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("application/json"));
    let j = a.json();
    assert_eq!(
        j["cohort"],
        json!([[0.0, 4.0, 0.0], [0.0, 3.0, null], [null, null, null]])
    );
    assert_eq!(
        j["dates"],
        json!(["2026-11-20", "2026-11-21", "2026-11-22"])
    );
    assert_eq!(j["total"], 15);
    assert_eq!(j["row_totals"], json!([10, 5, 0]));
    assert_eq!(j["col_totals"], json!([0, 7, 0]));
    assert_eq!(j["averages"], json!([0.0, 3.5, 0.0]));
    assert_eq!(j["time_group"], "days");
    assert_eq!(j["as_percent"], false);
    assert_eq!(
        (j["num_rows"].clone(), j["num_cols"].clone()),
        (json!(3), json!(3))
    );

    let pct = body.replace("\"now\"", "\"as_percent\": true, \"now\"");
    let j = post(&app, "/bitmapist/cohort?json=1", &pct).await.json();
    assert_eq!(j["cohort"][0], json!([0.0, 0.4, 0.0]));
    assert_eq!(j["cohort"][1], json!([0.0, 0.6, null]));
    assert_eq!(j["averages"][1], json!(0.5));

    // Without ?json: the heatmap fragment, as the original's front end inserts it.
    let a = post(&app, "/bitmapist/cohort", body).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("text/html"));
    assert!(a.body.contains("id=\"bm-heatmap\"") && !a.body.contains("<html"));

    // Bad bodies: 400, JSON naming the field with ?json=1, a fragment otherwise.
    let a = post(
        &app,
        "/bitmapist/cohort?json=1",
        r#"{"primary_event": "a", "secondary_event": "b", "num_rows": 0}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["param"], "num_rows");
    let a = post(&app, "/bitmapist/cohort?json=1", "{nope").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["param"], "body");
    let a = post(
        &app,
        "/bitmapist/cohort",
        r#"{"primary_event": "", "secondary_event": "b"}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("class=\"error\"") && a.body.contains("primary_event"));
}

#[tokio::test]
async fn event_names_are_escaped_everywhere() {
    let app = fixture().await;
    let raw = [SCRIPT_EVENT, QUOTE_EVENT];
    let mut pages = vec![
        get(&app, &format!("/bitmapist?now={NOW}")).await,
        get(&app, &format!("/bitmapist?q=%3Cscript&now={NOW}")).await,
        get(&app, &format!("/bitmapist/cohort?primary_event={}&secondary_event={}&additional=or:{}&now=2026-11-22",
            enc(SCRIPT_EVENT), enc(QUOTE_EVENT), enc(SCRIPT_EVENT))).await,
        // Reflected in a 400 page too.
        get(&app, &format!("/bitmapist/cohort?primary_event={}&secondary_event=b&num_rows=0", enc(SCRIPT_EVENT))).await,
        get(&app, &format!("/bitmapist?q={}&page=0", enc(SCRIPT_EVENT))).await,
    ];
    pages.push(
        post(&app, "/bitmapist/cohort", &json!({"primary_event": SCRIPT_EVENT, "secondary_event": QUOTE_EVENT, "now": "2026-11-22"}).to_string()).await,
    );
    for (i, page) in pages.iter().enumerate() {
        for name in raw {
            assert!(!page.body.contains(name), "page {i} shows {name} raw");
        }
        assert!(!page.body.contains("<script>"), "page {i}");
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "page {i}: {}",
            page.body
        );
    }
    // The overview shows the names as text (and the quotes stay inside the attribute).
    assert!(
        pages[0]
            .body
            .contains(r#"data-name="quote&#34;&#39;&#38;name""#),
        "{}",
        pages[0].body
    );
    // JSON carries the name as data.
    let a = get(&app, &format!("/bitmapist/api/events?q=script&now={NOW}")).await;
    assert_eq!(a.json()["events"][0]["name"], SCRIPT_EVENT);
    assert!(a.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style() {
    let app = fixture().await;
    for uri in [
        format!("/bitmapist?now={NOW}"),
        format!("/bitmapist/cohort?{COHORT_Q}&as_percent=1"),
        "/bitmapist/cohort?primary_event=&secondary_event=x".to_string(),
    ] {
        let html = get(&app, &uri).await.body;
        assert!(!html.contains(" style="), "{uri}: inline style attribute");
        assert!(!html.contains("<style"), "{uri}: style element");
        for tag in html.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or("");
            assert!(open.contains(" src="), "{uri}: inline script");
        }
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{uri}: no CDN, no external link"
        );
    }
}
