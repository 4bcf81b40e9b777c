//! The users behind the dashboard's numbers, through the axum app: `/users` pages by id,
//! `/api/users` JSON, CSV, `POST /segments` (same origin only), the segment filter on the
//! cohort page, and a bad request naming its parameter. Expected sets come from the
//! fixture's marks (see `dashboard_support::store`), not from the engine.
//!
//! The segment filter on the overview and the event page: every count is of the filtered
//! users, the filter travels in the links, each count's and each stickiness bucket's users
//! link gives exactly the users counted, and an unknown segment is a 400 naming `segment`;
//! expected numbers there come from the engine's unfiltered day sets intersected with the
//! segment's ids (BTreeSets).

use std::collections::{BTreeMap, BTreeSet};

use crate::dashboard_support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum_bitmapist::Access;
use bitmapist::{Bitmapist, Period, UserSet};
use serde_json::Value;

/// The cohort query of the fixture: daily rows Nov 20..22, sign-ups then logins.
const COHORT: &str = "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=days&num_rows=3&num_cols=3&now=2026-11-22T12%3A00%3A00Z";

/// The fixture's users: signed up on Nov 20 (1..=10) and logged in on Nov 21 (1..=4).
fn model_row0_col1() -> Vec<u32> {
    let signed: BTreeSet<u32> = (1..=10).collect();
    let logged: BTreeSet<u32> = (1..=4).collect();
    signed.intersection(&logged).copied().collect()
}

fn ids(v: &Value) -> Vec<u32> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id") as u32)
        .collect()
}

async fn post_form(app: &axum::Router, body: &str, origin: Option<&str>) -> Answer {
    let mut req = Request::post("/bitmapist/segments")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "127.0.0.1:8080")
        .header("accept", "application/json");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    send(
        app,
        req.body(Body::from(body.to_string())).expect("request"),
        Some(local()),
    )
    .await
}

#[tokio::test]
async fn users_pages_csv_and_saving_a_segment() {
    let bm = store().await;
    let app = app(&bm, Access::LoopbackOnly);
    let want = model_row0_col1();

    // A cohort cell's users, paged by id two at a time.
    let first = get(
        &app,
        &format!("/bitmapist/api/users?of=cohort&{COHORT}&row=0&col=1&limit=2"),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let first = first.json();
    assert_eq!(first["total"], want.len() as u64);
    assert_eq!(ids(&first), want[..2]);
    let after = first["next_after"].as_u64().expect("a next page");
    let second = get(
        &app,
        &format!("/bitmapist/api/users?of=cohort&{COHORT}&row=0&col=1&limit=2&after={after}"),
    )
    .await
    .json();
    assert_eq!(ids(&second), want[2..]);
    assert_eq!(second["next_after"], Value::Null);

    // The cohort page links that cell (and the row's size) to its users.
    let page = get(&app, &format!("/bitmapist/cohort?{COHORT}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("/bitmapist/users?of=cohort&#38;"),
        "links to users"
    );
    assert!(
        page.body.contains("&#38;row=0&#38;col=1\""),
        "the cell's link"
    );

    // The HTML page and the CSV of the same set.
    let html = get(
        &app,
        &format!("/bitmapist/users?of=cohort&{COHORT}&row=0&col=1"),
    )
    .await;
    assert_eq!(html.status, StatusCode::OK);
    for id in &want {
        assert!(
            html.body.contains(&format!("<td>{id}</td>")),
            "id {id} listed"
        );
    }
    let csv = get(
        &app,
        &format!("/bitmapist/users?of=cohort&{COHORT}&row=0&col=1&format=csv"),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "id");
    let listed: Vec<u32> = lines[1..]
        .iter()
        .map(|l| l.parse().expect("an id"))
        .collect();
    assert_eq!(listed, want);

    // Saving: refused from another origin, accepted from the dashboard's own.
    let form = format!("of=cohort&{COHORT}&row=0&col=1&name=returned&description=came+back");
    let refused = post_form(&app, &form, Some("http://evil.example")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        bm.segments().await.expect("segments").is_empty(),
        "nothing saved"
    );
    let saved = post_form(&app, &form, Some("http://127.0.0.1:8080")).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.json()["users"], want.len() as u64);
    let seg = get(&app, "/bitmapist/api/users?of=segment&name=returned")
        .await
        .json();
    assert_eq!(ids(&seg), want);

    // The segment filters the cohort: row 0 keeps only the saved users.
    let filtered = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT}&segment=returned"),
    )
    .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    let filtered = filtered.json();
    let total0 = filtered
        .pointer("/totals/0")
        .or_else(|| filtered.pointer("/table/totals/0"))
        .cloned();
    assert_eq!(total0, Some(Value::from(want.len() as u64)), "{filtered}");
    let page = get(&app, &format!("/bitmapist/cohort?{COHORT}")).await;
    assert!(
        page.body.contains("<option value=\"returned\">"),
        "the filter suggests it"
    );

    // Bad input names its parameter; nothing is saved by a bad form.
    let unknown = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT}&segment=nope"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("segment"), "{}", unknown.body);
    let bad = get(&app, "/bitmapist/api/users?of=nothing").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("of"), "{}", bad.body);
    let bad_row = get(
        &app,
        &format!("/bitmapist/api/users?of=cohort&{COHORT}&row=x&col=1"),
    )
    .await;
    assert_eq!(bad_row.status, StatusCode::BAD_REQUEST);
    assert!(bad_row.body.contains("row"), "{}", bad_row.body);
    let nameless = post_form(&app, &format!("of=cohort&{COHORT}&row=0&col=1"), None).await;
    assert_eq!(nameless.status, StatusCode::BAD_REQUEST);
    assert_eq!(bm.segments().await.expect("segments").len(), 1);

    // The overview's counts and the funnel's steps link to their users.
    let overview = get(&app, "/bitmapist?now=2026-11-22T12%3A00%3A00Z").await;
    assert!(
        overview.body.contains(
            "/bitmapist/users?of=event&#38;event=user%3Alogged_in&#38;period=2026-11-22\""
        ),
        "the day's count links to its users"
    );
    let funnel_q = "step=user%3Asigned_up&step=user%3Alogged_in&time_group=days&rows=3&window=3&now=2026-11-22T12%3A00%3A00Z";
    let funnel = get(&app, &format!("/bitmapist/funnel?{funnel_q}")).await;
    assert_eq!(funnel.status, StatusCode::OK, "{}", funnel.body);
    assert!(
        funnel
            .body
            .contains("&#38;row=0&#38;step=1\" class=\"users-link\""),
        "funnel steps link to users"
    );
    let step = get(
        &app,
        &format!("/bitmapist/api/users?of=funnel&{funnel_q}&row=0&step=0"),
    )
    .await;
    assert_eq!(step.status, StatusCode::OK, "{}", step.body);
    assert_eq!(
        ids(&step.json()),
        (1..=10).collect::<Vec<u32>>(),
        "row 0's entrants: Nov 20's sign-ups"
    );

    // A breakdown by a property: one table per value plus the users in none; the rows'
    // cohorts split Nov 20's ten sign-ups as the property does.
    for uid in 1..=3 {
        bm.set_property("plan", "pro", uid).await.expect("set");
    }
    for uid in 4..=8 {
        bm.set_property("plan", "free", uid).await.expect("set");
    }
    let by = get(
        &app,
        &format!("/bitmapist/api/cohort?{COHORT}&breakdown=plan"),
    )
    .await;
    assert_eq!(by.status, StatusCode::OK, "{}", by.body);
    let by = by.json();
    assert_eq!(by["breakdown"], "plan");
    let row0 = |value: Value| -> u64 {
        by["values"]
            .as_array()
            .expect("values")
            .iter()
            .find(|v| v["value"] == value)
            .and_then(|v| v.pointer("/result/totals/0"))
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("{value} in {by}"))
    };
    assert_eq!(row0(Value::from("pro")), 3);
    assert_eq!(row0(Value::from("free")), 5);
    assert_eq!(row0(Value::Null), 2, "users 9 and 10 have no plan");
    // The cohort page: one table per value under its own id, and the values' average
    // curves overlaid in one chart, one line per value.
    let cohort_by = get(&app, &format!("/bitmapist/cohort?{COHORT}&breakdown=plan")).await;
    assert_eq!(cohort_by.status, StatusCode::OK, "{}", cohort_by.body);
    let n_values = by["values"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(cohort_by.body.matches("id=\"bm-heatmap\"").count(), 1);
    for k in 1..=n_values {
        assert_eq!(
            cohort_by
                .body
                .matches(&format!("id=\"bm-heatmap-{k}\""))
                .count(),
            1,
            "value {k}'s table has its own id"
        );
    }
    let curves = cohort_by
        .body
        .split("id=\"bm-breakdown-curves\"")
        .nth(1)
        .and_then(|rest| rest.split("</svg>").next())
        .expect("the overlaid curves");
    assert_eq!(
        curves.matches("<g class=\"line grp-").count(),
        n_values,
        "one line per value"
    );
    let funnel_by = get(
        &app,
        &format!("/bitmapist/api/funnel?{funnel_q}&breakdown=plan"),
    )
    .await;
    assert_eq!(funnel_by.status, StatusCode::OK, "{}", funnel_by.body);
    assert_eq!(funnel_by.json()["values"].as_array().map(Vec::len), Some(3));
    // The funnel page's breakdown: grouped bars, one per value per step, and a value
    // table whose totals are the engine's own `funnel_by`.
    let page_by = get(
        &app,
        &format!("/bitmapist/funnel?{funnel_q}&breakdown=plan"),
    )
    .await;
    assert_eq!(page_by.status, StatusCode::OK, "{}", page_by.body);
    let spec = bitmapist::FunnelSpec::new(["user:signed_up", "user:logged_in"])
        .time_group(bitmapist::TimeGroup::Days)
        .rows(3)
        .window(3)
        .now("2026-11-22T12:00:00Z".parse().expect("time"));
    let want = bm
        .funnel_by(&spec, &"plan".parse().expect("breakdown"))
        .await
        .expect("funnel_by");
    assert_eq!(
        page_by.body.matches("<rect class=\"grp-").count(),
        want.values.len() * 2,
        "one bar per value per step"
    );
    for v in &want.values {
        let name = v.value.clone().unwrap_or_else(|| "(none)".to_string());
        let cells: String = v
            .result
            .totals
            .iter()
            .map(|t| format!("<td>{}</td>", bitmapist::thousands(*t)))
            .collect();
        assert!(
            page_by.body.contains(&format!(
                "<th scope=\"row\" class=\"value\">{name}</th>{cells}"
            )),
            "{name}: {cells}"
        );
    }
    assert!(
        page_by.body.contains("breakdown=plan"),
        "the permalink keeps the breakdown"
    );

    // The lifecycle takes the segment filter too, and keeps it in its links.
    let lc = get(
        &app,
        "/bitmapist/api/lifecycle?event=user%3Alogged_in&time_group=days&periods=3&now=2026-11-22T12%3A00%3A00Z&segment=returned",
    )
    .await;
    assert_eq!(lc.status, StatusCode::OK, "{}", lc.body);
    let lc = lc.json();
    let last = lc.pointer("/rows/2").expect("three rows");
    // Nov 22's logins among users 1..=4: 1 and 2, both active on Nov 21 too.
    assert_eq!(last["returning"], 2, "{lc}");
    assert_eq!(last["new"], 0, "{lc}");
    let lc_page = get(
        &app,
        "/bitmapist/lifecycle?event=user%3Alogged_in&time_group=days&periods=3&now=2026-11-22T12%3A00%3A00Z&segment=returned",
    )
    .await;
    assert!(
        lc_page.body.contains("segment=returned&#38;row="),
        "links keep the filter"
    );
    // The lifecycle page's breakdown: a table with a value column whose rows are the
    // engine's own `lifecycle_by`.
    let lc_by = get(
        &app,
        "/bitmapist/lifecycle?event=user%3Alogged_in&time_group=days&periods=3&now=2026-11-22T12%3A00%3A00Z&breakdown=plan",
    )
    .await;
    assert_eq!(lc_by.status, StatusCode::OK, "{}", lc_by.body);
    let lc_spec = bitmapist::LifecycleSpec::new("user:logged_in")
        .time_group(bitmapist::TimeGroup::Days)
        .periods(3)
        .now("2026-11-22T12:00:00Z".parse().expect("time"));
    let lc_want = bm
        .lifecycle_by(&lc_spec, &"plan".parse().expect("breakdown"))
        .await
        .expect("lifecycle_by");
    assert_eq!(lc_want.values.len(), 3);
    // The per-value counts link to their users: compare the table's text.
    let lc_text = {
        let (mut out, mut rest) = (String::new(), lc_by.body.as_str());
        while let Some(i) = rest.find("<a href=") {
            out.push_str(&rest[..i]);
            rest = rest[i..].split_once('>').map_or("", |(_, r)| r);
        }
        out.push_str(rest);
        out.replace("</a>", "")
    };
    for v in &lc_want.values {
        let name = v.value.clone().unwrap_or_else(|| "(none)".to_string());
        for r in &v.result.rows {
            let row = format!(
                "<th scope=\"row\" class=\"value\">{name}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                r.period,
                bitmapist::thousands(r.new),
                bitmapist::thousands(r.returning),
                bitmapist::thousands(r.resurrecting),
                bitmapist::thousands(r.dormant)
            );
            assert!(lc_text.contains(&row), "{row}");
        }
    }

    // An event in a period: the logins of Nov 22.
    let day = get(
        &app,
        "/bitmapist/api/users?of=event&event=user%3Alogged_in&period=2026-11-22",
    )
    .await
    .json();
    assert_eq!(ids(&day), vec![1, 2, 11, 12, 13]);
}

#[tokio::test]
async fn user_strings_are_escaped_on_the_users_page() {
    let bm = store().await;
    let app = app(&bm, Access::LoopbackOnly);
    let page = get(
        &app,
        &format!(
            "/bitmapist/users?of=event&event={}&period=2026-11-22",
            enc(SCRIPT_EVENT)
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(SCRIPT_EVENT), "the name is escaped");
    assert!(page.body.contains("&#60;script&#62;"));
}

const AT: &str = "now=2026-11-22T12%3A00%3A00Z";
const EVENT: &str = "user:logged_in";
/// The segment's users: some who log in, one who never does.
const PICKED: [u32; 4] = [1, 3, 11, 4000];

async fn day_users(bm: &Bitmapist, day: &str) -> BTreeSet<u32> {
    let period = Period::parse_suffix(day).expect("a day");
    bm.users(&UserSet::Event {
        event: EVENT.to_string(),
        period,
    })
    .await
    .expect("users")
    .iter()
    .collect()
}

/// Every `href` of `body` starting with `prefix`, unescaped as the browser would.
fn links(body: &str, prefix: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&#38;", "&").replace("&amp;", "&"))
        .filter(|h| h.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn the_segment_filter_on_the_overview_and_the_event_page() {
    let bm = store().await;
    bm.save_segment("picked", &UserSet::Ids(PICKED.to_vec()), "a few users")
        .await
        .expect("save");
    let app = app(&bm, Access::LoopbackOnly);
    let picked: BTreeSet<u32> = PICKED.into_iter().collect();

    // The model: per day of ISO week 47 (Nov 16..22), the event's users.
    let mut week: BTreeMap<u32, usize> = BTreeMap::new(); // user -> days active
    let mut week_all = BTreeSet::new();
    for d in 16..=22 {
        for u in day_users(&bm, &format!("2026-11-{d}")).await {
            *week.entry(u).or_default() += 1;
            week_all.insert(u);
        }
    }
    let today = day_users(&bm, "2026-11-22").await;
    let today_in: Vec<u32> = today.intersection(&picked).copied().collect();
    assert!(
        !today_in.is_empty() && today_in.len() < today.len(),
        "the filter must matter"
    );

    // The event's JSON counts only the segment's users.
    let api = get(
        &app,
        &format!("/bitmapist/api/events/{}?{AT}&segment=picked", enc(EVENT)),
    )
    .await;
    assert_eq!(api.status, axum::http::StatusCode::OK, "{}", api.body);
    let api = api.json();
    assert_eq!(api["counts"]["day"], today_in.len() as u64, "{api}");
    let week_in = week_all.intersection(&picked).count() as u64;
    assert_eq!(api["counts"]["week"], week_in, "{api}");
    let plain = get(&app, &format!("/bitmapist/api/events/{}?{AT}", enc(EVENT)))
        .await
        .json();
    assert_eq!(plain["counts"]["day"], today.len() as u64, "{plain}");

    // The overview keeps the filter in its links; today's users link gives them exactly.
    let overview = get(&app, &format!("/bitmapist?{AT}&segment=picked")).await;
    assert_eq!(
        overview.status,
        axum::http::StatusCode::OK,
        "{}",
        overview.body
    );
    assert!(
        overview.body.contains("value=\"picked\""),
        "the field shows the filter"
    );
    let day_link = links(
        &overview.body,
        &format!(
            "/bitmapist/users?of=event&event={}&period=2026-11-22&",
            enc(EVENT)
        ),
    );
    assert_eq!(day_link.len(), 1, "{day_link:?}");
    assert!(day_link[0].contains("segment=picked"), "{}", day_link[0]);
    let users = get(&app, &day_link[0].replace("/users?", "/api/users?"))
        .await
        .json();
    assert_eq!(ids(&users), today_in, "{users}");
    let event_link = links(
        &overview.body,
        &format!("/bitmapist/events/{}", enc(EVENT).replace('+', "%20")),
    );
    assert!(
        event_link.iter().any(|l| l.contains("segment=picked")),
        "{event_link:?}"
    );

    // The event page: filtered, with the filter in its analysis links.
    let path = format!("/bitmapist/events/{}", enc(EVENT));
    let page = get(&app, &format!("{path}?{AT}&segment=picked")).await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.body);
    for analysis in [
        "/bitmapist/cohort?",
        "/bitmapist/funnel?",
        "/bitmapist/lifecycle?",
    ] {
        let l = links(&page.body, analysis);
        assert!(
            !l.is_empty() && l.iter().all(|l| l.contains("segment=picked")),
            "{analysis}: {l:?}"
        );
    }
    // Each stickiness bucket of the week links to exactly its users: the model's users of
    // the segment active on exactly that many days.
    let buckets = links(&page.body, "/bitmapist/users?of=stickiness&");
    let weekly: Vec<&String> = buckets
        .iter()
        .filter(|l| l.contains("time_group=weeks"))
        .collect();
    let mut want: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for (u, n) in &week {
        if picked.contains(u) {
            want.entry(*n).or_default().push(*u);
        }
    }
    assert_eq!(
        weekly.len(),
        want.len(),
        "one link per non-empty bucket: {weekly:?}"
    );
    for l in weekly {
        assert!(l.contains("segment=picked"), "{l}");
        let days: usize = l
            .rsplit("days=")
            .next()
            .and_then(|d| d.parse().ok())
            .expect("days");
        let got = get(&app, &l.replace("/users?", "/api/users?")).await.json();
        assert_eq!(Some(&ids(&got)), want.get(&days), "{l}: {got}");
    }
    // Every period bar with users links to them, filter kept.
    let bars = links(&page.body, "/bitmapist/users?of=event&");
    assert!(!bars.is_empty() && bars.iter().all(|l| l.contains("segment=picked")));

    // Unfiltered, the stickiness buckets link to everyone's buckets.
    let page = get(&app, &format!("{path}?{AT}")).await;
    let all: Vec<String> = links(&page.body, "/bitmapist/users?of=stickiness&")
        .into_iter()
        .filter(|l| l.contains("time_group=weeks"))
        .collect();
    let mut total = 0;
    for l in &all {
        assert!(!l.contains("segment="), "{l}");
        total += ids(&get(&app, &l.replace("/users?", "/api/users?")).await.json()).len();
    }
    assert_eq!(total, week.len(), "the buckets partition the week's users");

    // An unknown segment: the page's 400 and the JSON's 400, both naming `segment`.
    let bad = get(&app, &format!("{path}?{AT}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
    assert!(bad.body.contains("segment"), "{}", bad.body);
    let bad = get(&app, &format!("/bitmapist/api/events?{AT}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
    assert!(bad.json().to_string().contains("segment"), "{}", bad.body);
    let bad = get(&app, &format!("/bitmapist?{AT}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
}
