//! Handler tests of the event page, the stickiness API and the funnel page and API: the
//! numbers against hand-computed ones on the shared fixture, CSV, 400/404 with JSON bodies,
//! escaping of event names, charts rendered server-side.

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use serde_json::json;

async fn fixture() -> axum::Router {
    app(&store().await, Access::Public)
}

const FUNNEL: &str = "step=user%3Asigned_up&step=user%3Alogged_in&step=user%3Abought";

#[tokio::test]
async fn api_funnel_counts_match_the_fixture() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/api/funnel?{FUNNEL}&time_group=days&rows=3&window=3&now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let body = a.json();
    assert_eq!(
        body["steps"],
        json!(["user:signed_up", "user:logged_in", "user:bought"])
    );
    // Nov 20: 1..=10 signed up, 1..=4 logged in later, 1 bought; Nov 21: 11..=15, then
    // 11, 12, 13 logged in; Nov 22: nobody signed up.
    assert_eq!(body["rows"][0]["period"], "2026-11-20");
    assert_eq!(body["rows"][0]["counts"], json!([10, 4, 1]));
    assert_eq!(body["rows"][1]["counts"], json!([5, 3, 0]));
    assert_eq!(body["rows"][2]["counts"], json!([0, 0, 0]));
    assert_eq!(body["totals"], json!([15, 7, 1]));
    assert_eq!(body["conversion"][0], json!(1.0));
    assert_eq!(body["conversion"][1], json!(7.0 / 15.0));
    assert_eq!(body["strict"], json!(false));
}

#[tokio::test]
async fn strict_and_lenient_differ_within_one_day() {
    let app = fixture().await;
    // User 1 bought and logged in on Nov 22: the same period.
    let q = format!("step=user%3Abought&step=user%3Alogged_in&rows=1&now={NOW}");
    let lenient = get(&app, &format!("/bitmapist/api/funnel?{q}"))
        .await
        .json();
    assert_eq!(lenient["totals"], json!([1, 1]));
    let strict = get(&app, &format!("/bitmapist/api/funnel?{q}&strict=on"))
        .await
        .json();
    assert_eq!(strict["totals"], json!([1, 0]));
    assert_eq!(strict["strict"], json!(true));
}

#[tokio::test]
async fn api_funnel_csv() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/api/funnel.csv?{FUNNEL}&rows=3&window=3&now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("text/csv"));
    assert!(a.header("content-disposition").contains("funnel.csv"));
    let lines: Vec<&str> = a.body.lines().collect();
    assert_eq!(
        lines[0],
        "period,start,complete,user:signed_up,user:logged_in,user:bought"
    );
    assert_eq!(lines[1], "2026-11-20,2026-11-20,false,10,4,1");
    assert_eq!(lines[4], "total,,,15,7,1");
    assert!(
        lines[5].starts_with("conversion,,,1,0.4666"),
        "{}",
        lines[5]
    );
}

#[tokio::test]
async fn bad_funnel_input_is_a_400_naming_the_parameter() {
    let app = fixture().await;
    for (q, param) in [
        ("step=a", "step"),
        ("step=a&step=", "step"),
        ("step=a&step=b&window=0", "window"),
        ("step=a&step=b&rows=401", "rows"),
        ("step=a&step=b&time_group=years", "time_group"),
        ("step=a&step=b&strict=maybe", "strict"),
        ("step=a&step=b&now=yesterday", "now"),
    ] {
        for path in ["/bitmapist/api/funnel", "/bitmapist/api/funnel.csv"] {
            let a = get(&app, &format!("{path}?{q}")).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}?{q}: {}", a.body);
            let body = a.json();
            assert_eq!(body["param"], param, "{q}");
            assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        let page = get(&app, &format!("/bitmapist/funnel?{q}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(page.body.contains("id=\"bm-error\""), "{q}");
        assert!(page.body.contains("id=\"bm-funnel-form\""), "{q}");
    }
}

#[tokio::test]
async fn funnel_page_shows_form_chart_and_table() {
    let app = fixture().await;
    let empty = get(&app, "/bitmapist/funnel").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("id=\"bm-funnel-form\""));
    assert!(!empty.body.contains("bm-funnel-table"));

    let a = get(
        &app,
        &format!("/bitmapist/funnel?{FUNNEL}&rows=3&window=3&now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("<svg class=\"axis-chart\""));
    assert!(a.body.contains("id=\"bm-funnel-table\""));
    assert!(a.body.contains("46.7%"), "conversion of step 2 shown");
    assert!(
        a.body.contains("value=\"user:bought\""),
        "the form keeps the steps"
    );
    // Bookmarkable: the permalink and the data links carry the same parameters.
    assert!(
        a.body
            .contains("/bitmapist/api/funnel.csv?step=user%3Asigned_up")
    );
    assert!(
        a.body
            .contains("/bitmapist/funnel?step=user%3Asigned_up&#38;step=user%3Alogged_in")
    );
}

#[tokio::test]
async fn event_names_are_escaped_on_the_new_pages() {
    let app = fixture().await;
    let q = format!(
        "step={}&step={}&rows=3&now={NOW}",
        enc(SCRIPT_EVENT),
        enc(QUOTE_EVENT)
    );
    let a = get(&app, &format!("/bitmapist/funnel?{q}")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains(SCRIPT_EVENT));
    assert!(a.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!a.body.contains(QUOTE_EVENT));

    for name in [SCRIPT_EVENT, QUOTE_EVENT] {
        let page = get(&app, &format!("/bitmapist/events/{}?now={NOW}", enc(name))).await;
        assert_eq!(page.status, StatusCode::OK, "{name}: {}", page.body);
        assert!(!page.body.contains(name), "{name} unescaped");
    }
}

#[tokio::test]
async fn event_page_charts_days_weeks_months_and_stickiness() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/events/user%3Alogged_in?now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body.matches("<svg class=\"axis-chart\"").count(), 5);
    assert!(a.body.contains("Users per day, last 90 days: 90 bars"));
    assert!(
        a.body
            .contains("Users per ISO week, last 26 weeks: 26 bars")
    );
    assert!(a.body.contains("Users per month, last 12 months: 12 bars"));
    // The last day: 5 users; this week: 7.
    assert!(a.body.contains("<title>2026-11-22: 5</title>"));
    assert!(a.body.contains("<title>2026-W47 (from Nov 16): 7</title>"));
    assert!(a.body.contains("This week: 2026-W47 (from 2026-11-16)"));
    assert!(a.body.contains("This month: Nov 2026 (from 2026-11-01)"));
    // Users 1 and 2 were active on 2 days; 3, 4, 11, 12, 13 on one.
    assert!(a.body.contains("<title>1: 5</title>"));
    assert!(a.body.contains("<title>2: 2</title>"));
    // The overview links to it.
    let overview = get(&app, &format!("/bitmapist?now={NOW}")).await;
    assert!(
        overview
            .body
            .contains("href=\"/bitmapist/events/user%3Alogged_in\"")
    );
}

#[tokio::test]
async fn stickiness_api() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/api/events/user%3Alogged_in/stickiness?time_group=weeks&at={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({"event": "user:logged_in", "period": "2026-W47", "start": "2026-11-16",
               "days": [5, 2, 0, 0, 0, 0, 0]})
    );
    let m = get(
        &app,
        &format!("/bitmapist/api/events/user%3Alogged_in/stickiness?time_group=months&at={NOW}"),
    )
    .await
    .json();
    assert_eq!(m["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(m["days"][0], 5);
    assert_eq!(m["days"][1], 2);
}

#[tokio::test]
async fn unknown_events_are_404_and_bad_names_400() {
    let app = fixture().await;
    let page = get(&app, "/bitmapist/events/no%3Asuch").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let api = get(&app, "/bitmapist/api/events/no%3Asuch/stickiness").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.json()["error"].is_string());
    let long = "x".repeat(2000);
    let api = get(&app, &format!("/bitmapist/api/events/{long}/stickiness")).await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.json()["param"], "name");
    let page = get(&app, &format!("/bitmapist/events/{long}")).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let bad_group = get(
        &app,
        "/bitmapist/api/events/user%3Alogged_in/stickiness?time_group=days",
    )
    .await;
    assert_eq!(bad_group.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_group.json()["param"], "time_group");
    let bad_now = get(&app, "/bitmapist/events/user%3Alogged_in?now=soon").await;
    assert_eq!(bad_now.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn new_routes_keep_access_control_and_security_headers() {
    use axum_bitmapist::{CONTENT_SECURITY_POLICY, Dashboard};
    let bm = store().await;
    // The default access: loopback only.
    let app = axum::Router::new().nest("/bitmapist", Dashboard::new(bm).router());
    let remote: std::net::SocketAddr = "203.0.113.5:4000".parse().expect("addr");
    for uri in [
        format!("/bitmapist/events/user%3Alogged_in?now={NOW}"),
        format!("/bitmapist/api/events/user%3Alogged_in/stickiness?at={NOW}"),
        format!("/bitmapist/funnel?{FUNNEL}&now={NOW}"),
        format!("/bitmapist/api/funnel?{FUNNEL}&now={NOW}"),
        format!("/bitmapist/api/funnel.csv?{FUNNEL}&now={NOW}"),
    ] {
        let req = || {
            axum::http::Request::get(uri.as_str())
                .body(axum::body::Body::empty())
                .expect("request")
        };
        let a = send(&app, req(), Some(remote)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(!a.body.contains("user:logged_in"), "nothing leaks: {uri}");
        let a = send(&app, req(), Some(local())).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        assert_eq!(a.header("content-security-policy"), CONTENT_SECURITY_POLICY);
        assert_eq!(a.header("cache-control"), "no-store");
    }
}

/// Broken down by a property, every count of the funnel page's per-value table links to
/// exactly its users within the value: the users API behind each link lists the model's
/// users of that row, step and value, as many as the number shown.
#[tokio::test]
async fn funnel_breakdown_counts_link_to_their_users() {
    use std::collections::BTreeSet;
    let bm = store().await;
    let pro: BTreeSet<u32> = [1, 2, 11].into();
    let free: BTreeSet<u32> = [3, 4, 5, 12].into();
    for &uid in &pro {
        bm.set_property("plan", "pro", uid).await.expect("set");
    }
    for &uid in &free {
        bm.set_property("plan", "free", uid).await.expect("set");
    }
    let app = app(&bm, Access::Public);
    // The model (the fixture): per row, per step, the users who reached it.
    let steps: [[BTreeSet<u32>; 3]; 3] = [
        [(1..=10).collect(), (1..=4).collect(), [1].into()],
        [(11..=15).collect(), [11, 12, 13].into(), BTreeSet::new()],
        [BTreeSet::new(), BTreeSet::new(), BTreeSet::new()],
    ];
    let page = get(
        &app,
        &format!(
            "/bitmapist/funnel?{FUNNEL}&time_group=days&rows=3&window=3&now={}&breakdown=plan",
            enc(NOW)
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let table = page
        .body
        .split("id=\"bm-funnel-by-periods\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the per-value table");
    let mut seen = BTreeSet::new();
    for link in table.split("<a href=\"").skip(1) {
        let (href, rest) = link.split_once('"').expect("href");
        let href = href.replace("&#38;", "&").replace("&amp;", "&");
        let shown: usize = rest
            .split_once('>')
            .and_then(|(_, r)| r.split('<').next())
            .expect("number")
            .replace(',', "")
            .parse()
            .expect("a count");
        let q: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(href.split_once('?').expect("query").1.as_bytes())
                .into_owned()
                .collect();
        let (row, step): (usize, usize) = (q["row"].parse().unwrap(), q["step"].parse().unwrap());
        let value = if q.contains_key("none_of") {
            assert_eq!(q["none_of"], "plan");
            "(none)"
        } else {
            // The page's own filter has no segment: the one segment is the value.
            q["segment"].as_str()
        };
        let want: BTreeSet<u32> = steps[row][step]
            .iter()
            .copied()
            .filter(|u| match value {
                "plan:pro" => pro.contains(u),
                "plan:free" => free.contains(u),
                "(none)" => !pro.contains(u) && !free.contains(u),
                other => panic!("unexpected value {other}"),
            })
            .collect();
        let api = href.replacen("/bitmapist/users?", "/bitmapist/api/users?", 1);
        let got = get(&app, &api).await;
        assert_eq!(got.status, StatusCode::OK, "{api}: {}", got.body);
        let ids: BTreeSet<u32> = got.json()["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|i| i.as_u64().expect("id") as u32)
            .collect();
        assert_eq!(ids, want, "{href}");
        assert_eq!(shown, want.len(), "{href}");
        seen.insert((row, step, value.to_string()));
    }
    // Every value (pro, free, none) x 3 rows x 3 steps is linked.
    assert_eq!(seen.len(), 27, "{seen:?}");
}
