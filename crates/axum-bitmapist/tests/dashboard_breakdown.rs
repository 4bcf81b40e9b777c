//! Breakdowns on the overview and the event page, through the axum app: the per-value
//! counts (pages and `/api/events`, `/api/trends`, stickiness JSON in the `{"breakdown",
//! "values"}` shape), each per-value count's users link (`segment=plan:VALUE`, or
//! `none_of=plan` for the users in none) giving exactly the users counted, and property
//! values that are HTML escaped. Expected numbers come from the fixture's marks and a
//! per-value model (BTreeSets of the users given each value), not from the engine.

use std::collections::{BTreeMap, BTreeSet};

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use bitmapist::Bitmapist;
use serde_json::Value;

/// The plan of each user given one (`<b>` is a value that is also HTML); users 11..=15 have
/// none.
fn plans() -> BTreeMap<u32, &'static str> {
    let mut p = BTreeMap::new();
    for u in 1..=3 {
        p.insert(u, "pro");
    }
    for u in 4..=6 {
        p.insert(u, "<b>");
    }
    for u in 7..=10 {
        p.insert(u, "free");
    }
    p
}

/// The fixture store with the plans set.
async fn planned() -> Bitmapist {
    let bm = store().await;
    for (u, v) in plans() {
        bm.set_property("plan", v, u).await.expect("plan");
    }
    bm
}

/// The users of `value` (`None`: in no value) among `users`, from the model.
fn model(users: &BTreeSet<u32>, value: Option<&str>) -> BTreeSet<u32> {
    let plans = plans();
    users
        .iter()
        .copied()
        .filter(|u| plans.get(u).copied() == value)
        .collect()
}

/// The fixture's sign-ups on Nov 20 (1..=10) and Nov 21 (11..=15).
fn signed_up_nov20_21() -> BTreeSet<u32> {
    (1..=15).collect()
}

/// The fixture's logins on Nov 22.
fn logged_in_nov22() -> BTreeSet<u32> {
    [1, 2, 11, 12, 13].into()
}

fn ids(v: &Value) -> BTreeSet<u32> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id") as u32)
        .collect()
}

/// `s` with the HTML escapes of the page undone.
fn unescape(s: &str) -> String {
    [
        ("&#38;", "&"),
        ("&amp;", "&"),
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
    ]
    .iter()
    .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
}

/// The ids of a users link (an `href` of a page, `&amp;` unescaped), through the JSON API.
async fn users_of(app: &axum::Router, href: &str) -> BTreeSet<u32> {
    let href = unescape(href);
    let api = href.replacen("/bitmapist/users?", "/bitmapist/api/users?", 1);
    let a = get(app, &format!("{api}&limit=10000")).await;
    assert_eq!(a.status, StatusCode::OK, "{api}: {}", a.body);
    let v = a.json();
    let got = ids(&v);
    assert_eq!(v["total"].as_u64(), Some(got.len() as u64), "{api}");
    got
}

#[tokio::test]
async fn users_of_a_value_and_of_none() {
    let bm = planned().await;
    let app = app(&bm, Access::LoopbackOnly);
    let week = "W2026-47";
    let all = signed_up_nov20_21();
    for (extra, value) in [
        ("&segment=plan%3Apro", Some("pro")),
        ("&segment=plan%3A%3Cb%3E", Some("<b>")),
        ("&none_of=plan", None),
    ] {
        let href = format!(
            "/bitmapist/users?of=event&event=user%3Asigned_up&period={week}{extra}&now={}",
            enc(NOW)
        );
        assert_eq!(users_of(&app, &href).await, model(&all, value), "{href}");
    }
    // The page says which value it is restricted to, escaped.
    let page = get(
        &app,
        &format!(
            "/bitmapist/users?of=event&event=user%3Asigned_up&period={week}&segment=plan%3A%3Cb%3E"
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("plan:&lt;b&gt;") || page.body.contains("plan:&#60;b&#62;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("plan:<b>"));
    let none = get(
        &app,
        &format!("/bitmapist/users?of=event&event=user%3Asigned_up&period={week}&none_of=plan"),
    )
    .await;
    assert!(none.body.contains("in none of plan"), "{}", none.body);
    // Stickiness buckets restricted to a value and to none.
    let at = enc(NOW);
    let logged = logged_in_nov22()
        .union(&[3, 4].into())
        .copied()
        .collect::<BTreeSet<u32>>();
    for (extra, value) in [
        ("&segment=plan%3Apro", Some("pro")),
        ("&none_of=plan", None),
    ] {
        let mut users = BTreeSet::new();
        for days in 1..=2 {
            let href = format!(
                "/bitmapist/users?of=stickiness&event=user%3Alogged_in&time_group=weeks&at={at}&days={days}{extra}"
            );
            users.extend(users_of(&app, &href).await);
        }
        assert_eq!(users, model(&logged, value), "{extra}");
    }
    // A bad breakdown is a 400 naming the parameter.
    let bad = get(
        &app,
        &format!(
            "/bitmapist/api/users?of=event&event=user%3Asigned_up&period={week}&none_of=plan%3Apro"
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("none_of"), "{}", bad.body);
}

/// Every users link of `html` with the count it shows: `(href, count)`.
fn counted_links(html: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for part in html.split("<a href=\"").skip(1) {
        let Some((href, rest)) = part.split_once('"') else {
            continue;
        };
        let Some(rest) = rest.strip_prefix(" class=\"users-link\">") else {
            continue;
        };
        let text = rest.split('<').next().unwrap_or("").replace(',', "");
        out.push((href.to_string(), text.parse().expect("a count")));
    }
    out
}

/// The value rows of the overview for `event`: (label as escaped, its html).
fn value_rows<'a>(body: &'a str, event: &str) -> Vec<(String, &'a str)> {
    body.split("<tr class=\"value-row\"")
        .skip(1)
        .filter_map(|chunk| {
            let row = chunk.split("</tr>").next()?;
            let name = row.split("data-name=\"").nth(1)?.split('"').next()?;
            let label = row.split("data-value=\"").nth(1)?.split('"').next()?;
            (name == event).then(|| (label.to_string(), row))
        })
        .collect()
}

/// The model's label of a value.
fn label_of(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("plan = {v}"),
        None => "in none of plan".to_string(),
    }
}

#[tokio::test]
async fn overview_breaks_each_event_down_and_links_each_value_to_its_users() {
    let bm = planned().await;
    let app = app(&bm, Access::LoopbackOnly);
    let now = enc(NOW);
    let page = get(&app, &format!("/bitmapist?breakdown=plan&now={now}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("value=\"plan\""),
        "the selector keeps the breakdown"
    );
    assert!(!page.body.contains("plan = <b>"), "values are escaped");
    // Nov 22 (today), week 47, November, 2026: the fixture's users of each event.
    let cases: [(&str, [BTreeSet<u32>; 4]); 2] = [
        (
            "user:signed_up",
            [
                BTreeSet::new(),
                signed_up_nov20_21(),
                signed_up_nov20_21(),
                signed_up_nov20_21(),
            ],
        ),
        (
            "user:logged_in",
            [
                logged_in_nov22(),
                [1, 2, 3, 4, 11, 12, 13].into(),
                [1, 2, 3, 4, 11, 12, 13].into(),
                [1, 2, 3, 4, 11, 12, 13].into(),
            ],
        ),
    ];
    let values = [Some("pro"), Some("<b>"), Some("free"), None];
    for (event, periods) in &cases {
        let rows = value_rows(&page.body, event);
        assert_eq!(
            rows.len(),
            values.len(),
            "{event}: one row per value and none"
        );
        for value in values {
            let label = label_of(value);
            let (_, html) = rows
                .iter()
                .find(|(l, _)| unescape(l) == label)
                .unwrap_or_else(|| panic!("{event}: no row {label}"));
            let links = counted_links(html);
            // Today, this week, this month, this year (no hour column: hours not tracked).
            assert_eq!(links.len(), 4, "{html}");
            for ((href, n), users) in links.iter().zip(periods) {
                let want = model(users, value);
                assert_eq!(*n, want.len() as u64, "{event} {label} {href}");
                assert_eq!(users_of(&app, href).await, want, "{event} {label} {href}");
            }
        }
    }

    // The JSON: {"breakdown", "values": [{"value", "result": <the plain body>}]}, none last.
    let api = get(
        &app,
        &format!("/bitmapist/api/events?breakdown=plan&now={now}"),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let v = api.json();
    assert_eq!(v["breakdown"], "plan");
    let got: Vec<Option<String>> = v["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|x| x["value"].as_str().map(str::to_string))
        .collect();
    assert_eq!(got.last(), Some(&None));
    for value in values {
        let entry = v["values"]
            .as_array()
            .expect("values")
            .iter()
            .find(|x| x["value"].as_str() == value)
            .expect("the value");
        let events = entry["result"]["events"].as_array().expect("events");
        for (event, periods) in &cases {
            let e = events.iter().find(|e| e["name"] == *event).expect("event");
            assert_eq!(
                e["counts"]["week"].as_u64(),
                Some(model(&periods[1], value).len() as u64)
            );
            assert_eq!(
                e["counts"]["day"].as_u64(),
                Some(model(&periods[0], value).len() as u64)
            );
        }
    }
    // With a segment filter: each value's counts are of the filtered users only.
    let filtered = get(
        &app,
        &format!("/bitmapist/api/events?breakdown=plan&segment=plan%3Apro&now={now}"),
    )
    .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.body);
    let filtered = filtered.json();
    for entry in filtered["values"].as_array().expect("values") {
        let value = entry["value"].as_str();
        let events = entry["result"]["events"].as_array().expect("events");
        let e = events
            .iter()
            .find(|e| e["name"] == "user:logged_in")
            .expect("event");
        let pro = model(&cases[1].1[1], Some("pro"));
        let want = if value == Some("pro") { pro.len() } else { 0 };
        assert_eq!(e["counts"]["week"].as_u64(), Some(want as u64), "{value:?}");
    }
    let one = get(
        &app,
        &format!("/bitmapist/api/events/user%3Alogged_in?breakdown=plan&now={now}"),
    )
    .await
    .json();
    assert_eq!(one["values"][0]["result"]["name"], "user:logged_in");

    // A bad breakdown re-shows the page with a 400 naming it; an unknown property too.
    for bad in ["plan%3Apro", "nosuch"] {
        let page = get(&app, &format!("/bitmapist?breakdown={bad}&now={now}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}: {}", page.body);
        let api = get(&app, &format!("/bitmapist/api/events?breakdown={bad}")).await;
        assert_eq!(api.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(api.body.contains("breakdown"), "{}", api.body);
    }
}

#[tokio::test]
async fn event_page_breaks_down_counts_trends_and_stickiness() {
    let bm = planned().await;
    let app = app(&bm, Access::LoopbackOnly);
    let now = enc(NOW);
    let page = get(
        &app,
        &format!("/bitmapist/events/user%3Alogged_in?breakdown=plan&now={now}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for id in [
        "bm-weekly-by",
        "bm-monthly-by",
        "bm-months-by-table",
        "bm-wau-by",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!page.body.contains("plan = <b>"), "values are escaped");
    // This week's bars, one per value.
    let weekly = page
        .body
        .split("id=\"bm-weekly-by\"")
        .nth(1)
        .expect("weekly");
    let weekly = weekly.split("</section>").next().expect("chart");
    for value in [Some("pro"), Some("free"), None] {
        let week: BTreeSet<u32> = [1, 2, 3, 4, 11, 12, 13].into();
        let title = format!("W47 · {}: {}", label_of(value), model(&week, value).len());
        assert!(weekly.contains(&title), "{title}");
    }
    let november: BTreeSet<u32> = [1, 2, 3, 4, 11, 12, 13].into();
    // The monthly table: the last column is November; every count is its users' size.
    let table = page
        .body
        .split("id=\"bm-months-by-table\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("table");
    let mut rows = 0;
    for value in [Some("pro"), Some("<b>"), Some("free"), None] {
        let label = label_of(value);
        let row = table
            .split("<tr data-value=\"")
            .find(|r| unescape(r.split('"').next().unwrap_or("")) == label)
            .unwrap_or_else(|| panic!("no row {label}"));
        let links = counted_links(row);
        assert_eq!(links.len(), 12, "twelve months");
        for (href, n) in &links {
            assert_eq!(users_of(&app, href).await.len() as u64, *n, "{href}");
        }
        let (href, n) = links.last().expect("November");
        assert_eq!(*n, model(&november, value).len() as u64, "{label}");
        assert_eq!(users_of(&app, href).await, model(&november, value));
        rows += 1;
    }
    assert_eq!(rows, 4);
    // The stickiness tables: every bucket's users link gives the count shown; per value
    // the buckets add up to the value's users of the week.
    let week: BTreeSet<u32> = [1, 2, 3, 4, 11, 12, 13].into();
    let sticky = page
        .body
        .split("class=\"card chart-card stickiness-by\"")
        .nth(1)
        .expect("this week's stickiness");
    let sticky = sticky.split("</table>").next().expect("table");
    for value in [Some("pro"), None] {
        let label = label_of(value);
        let row = sticky
            .split("<tr data-value=\"")
            .find(|r| unescape(r.split('"').next().unwrap_or("")) == label)
            .expect("row");
        let mut users = BTreeSet::new();
        let mut total = 0;
        for (href, n) in counted_links(row) {
            let got = users_of(&app, &href).await;
            assert_eq!(got.len() as u64, n, "{href}");
            total += n;
            users.extend(got);
        }
        assert_eq!(users, model(&week, value), "{label}");
        assert_eq!(total, users.len() as u64);
    }

    // Stickiness and trends JSON in the breakdown shape.
    let s = get(
        &app,
        &format!("/bitmapist/api/events/user%3Alogged_in/stickiness?breakdown=plan&at={now}"),
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let s = s.json();
    assert_eq!(s["breakdown"], "plan");
    for x in s["values"].as_array().expect("values") {
        let value = x["value"].as_str();
        let sum: u64 = x["result"]["days"]
            .as_array()
            .expect("days")
            .iter()
            .map(|d| d.as_u64().expect("n"))
            .sum();
        assert_eq!(sum, model(&week, value).len() as u64, "{value:?}");
    }
    let t = get(
        &app,
        &format!("/bitmapist/api/trends?event=user%3Alogged_in&days=3&breakdown=plan&now={now}"),
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    let t = t.json();
    for x in t["values"].as_array().expect("values") {
        let value = x["value"].as_str();
        let last = x["result"]["days"]
            .as_array()
            .expect("days")
            .last()
            .cloned()
            .expect("a day");
        assert_eq!(
            last["wau"].as_u64(),
            Some(model(&week, value).len() as u64),
            "{value:?}"
        );
        assert_eq!(
            last["dau"].as_u64(),
            Some(model(&logged_in_nov22(), value).len() as u64)
        );
    }
}
