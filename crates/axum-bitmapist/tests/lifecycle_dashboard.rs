//! Handler tests of the lifecycle page and API and the trends API and event-page section:
//! the numbers against hand-computed ones on the shared fixture, 400s with JSON naming the
//! parameter, the links from each bar part to its users, escaping of event names.

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use serde_json::json;

async fn fixture() -> axum::Router {
    app(&store().await, Access::Public)
}

#[tokio::test]
async fn api_lifecycle_matches_the_fixture() {
    let app = fixture().await;
    // Nov 21: 1..=4 logged in, nobody before; Nov 22: 1, 2 again, 11..=13 for the first
    // time, 3 and 4 gone.
    let a = get(
        &app,
        &format!(
            "/bitmapist/api/lifecycle?event=user%3Alogged_in&time_group=days&periods=2&now={NOW}"
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.json(),
        json!({"event": "user:logged_in", "time_group": "days", "new_from": null, "rows": [
            {"period": "2026-11-21", "start": "2026-11-21", "new": 4, "returning": 0, "resurrecting": 0, "dormant": 0},
            {"period": "2026-11-22", "start": "2026-11-22", "new": 3, "returning": 2, "resurrecting": 0, "dormant": 2}
        ]})
    );
    // New users from sign-ups: 11..=15 signed up on Nov 21 but logged in on Nov 22.
    let a = get(
        &app,
        &format!("/bitmapist/api/lifecycle?event=user%3Alogged_in&time_group=days&periods=2&new_from=user%3Asigned_up&now={NOW}"),
    )
    .await;
    let body = a.json();
    assert_eq!(body["new_from"], "user:signed_up");
    assert_eq!(body["rows"][0]["resurrecting"], 4);
    assert_eq!(body["rows"][1]["new"], 0);
    assert_eq!(body["rows"][1]["resurrecting"], 3);
}

#[tokio::test]
async fn api_trends_matches_the_fixture() {
    let app = fixture().await;
    let a = get(
        &app,
        &format!("/bitmapist/api/trends?event=user%3Alogged_in&days=2&compare=on&now={NOW}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let body = a.json();
    assert_eq!(
        body["days"],
        json!([
            {"day": "2026-11-21", "dau": 4, "wau": 4, "mau": 4, "dau_mau": 1.0},
            {"day": "2026-11-22", "dau": 5, "wau": 7, "mau": 7, "dau_mau": 5.0 / 7.0}
        ])
    );
    assert_eq!(body["previous"][1]["day"], "2026-11-20");
    assert_eq!(body["previous"][1]["mau"], 0);
    assert_eq!(body["previous"][1]["dau_mau"], json!(null));
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_them() {
    let app = fixture().await;
    for (path, param) in [
        ("/bitmapist/api/lifecycle", "event"),
        (
            "/bitmapist/api/lifecycle?event=a&time_group=years",
            "time_group",
        ),
        ("/bitmapist/api/lifecycle?event=a&periods=0", "periods"),
        ("/bitmapist/api/lifecycle?event=a&periods=x", "periods"),
        ("/bitmapist/api/lifecycle?event=a&now=soon", "now"),
        ("/bitmapist/api/trends?event=", "event"),
        ("/bitmapist/api/trends?event=a&days=401", "days"),
        ("/bitmapist/api/trends?event=a&compare=maybe", "compare"),
    ] {
        let a = get(&app, path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
        assert_eq!(a.json()["param"], param, "{path}");
    }
    // The page re-shows the form with the message, as a 400.
    let a = get(&app, "/bitmapist/lifecycle?event=a&periods=0").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("id=\"bm-error\""), "{}", a.body);
    assert!(a.body.contains("aria-invalid"));
}

#[tokio::test]
async fn the_page_links_every_part_to_its_users_and_escapes_names() {
    let app = fixture().await;
    let q = format!("event=user%3Alogged_in&time_group=days&periods=2&now={NOW}");
    let a = get(&app, &format!("/bitmapist/lifecycle?{q}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Row 1 (Nov 22): new 3, returning 2, dormant 2; each a link with the page's own query.
    for (status, n) in [("new", 3), ("returning", 2), ("dormant", 2)] {
        let href = format!(
            "/bitmapist/users?of=lifecycle&#38;event=user%3Alogged_in&#38;time_group=days&#38;periods=2&#38;now={}&#38;row=1&#38;status={status}",
            enc(NOW)
        );
        assert!(a.body.contains(&href), "{status}: {href}");
        assert!(
            a.body.contains(&format!("2026-11-22 {status}: {n}")),
            "{status}"
        );
    }
    // Nothing links to an empty part.
    assert!(!a.body.contains("row=1&#38;status=resurrecting"));
    assert!(a.body.contains("class=\"part lc-dormant\""));
    // The nav links the page; the event page links it and draws the trends.
    assert!(
        a.body
            .contains("href=\"/bitmapist/lifecycle\" aria-current=\"page\"")
    );
    let e = get(
        &app,
        &format!("/bitmapist/events/user%3Alogged_in?now={NOW}"),
    )
    .await;
    assert!(e.body.contains(&format!(
        "href=\"/bitmapist/lifecycle?event=user%3Alogged_in&#38;now={}\"",
        enc(NOW)
    )));
    assert!(e.body.contains("id=\"bm-trends\""));
    assert!(e.body.contains("DAU 2026-11-22: 5"));
    assert!(e.body.contains("MAU 2026-11-22: 7"));
    // A hostile name is text, never markup.
    let a = get(
        &app,
        &format!("/bitmapist/lifecycle?event={}&now={NOW}", enc(SCRIPT_EVENT)),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains(SCRIPT_EVENT));
    assert!(a.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
}

#[tokio::test]
async fn segment_filter_and_breakdown_in_the_apis() {
    let bm = store().await;
    for u in [1, 2, 11] {
        bm.set_property("plan", "pro", u).await.expect("plan");
    }
    let app = app(&bm, Access::Public);
    let q = format!("event=user%3Alogged_in&time_group=days&periods=2&now={NOW}");
    // Pro users on Nov 22: 1 and 2 return, 11 is new; nobody of them went dormant.
    let a = get(
        &app,
        &format!("/bitmapist/api/lifecycle?{q}&segment=plan%3Apro"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let row = &a.json()["rows"][1];
    assert_eq!(
        (
            row["new"].clone(),
            row["returning"].clone(),
            row["dormant"].clone()
        ),
        (json!(1), json!(2), json!(0))
    );
    // By plan: "pro", then the users with no plan (12 and 13 new; 3 and 4 dormant).
    let a = get(
        &app,
        &format!("/bitmapist/api/lifecycle?{q}&breakdown=plan"),
    )
    .await;
    let body = a.json();
    assert_eq!(body["breakdown"], "plan");
    assert_eq!(body["values"][0]["value"], "pro");
    assert_eq!(body["values"][1]["value"], json!(null));
    let none = &body["values"][1]["result"]["rows"][1];
    assert_eq!(
        (none["new"].clone(), none["dormant"].clone()),
        (json!(2), json!(2))
    );
    let a = get(
        &app,
        &format!("/bitmapist/api/trends?event=user%3Alogged_in&days=1&now={NOW}&breakdown=plan"),
    )
    .await;
    assert_eq!(a.json()["values"][0]["result"]["days"][0]["dau"], 3);
    // The page keeps the filter in its links to the users.
    let a = get(
        &app,
        &format!("/bitmapist/lifecycle?{q}&segment=plan%3Apro"),
    )
    .await;
    assert!(
        a.body
            .contains("&#38;segment=plan%3Apro&#38;row=1&#38;status=returning")
    );
    for (path, param) in [
        (
            format!("/bitmapist/api/lifecycle?{q}&segment=nobody"),
            "segment",
        ),
        (
            format!("/bitmapist/api/lifecycle?{q}&breakdown=plan%3Apro"),
            "breakdown",
        ),
        (
            "/bitmapist/api/trends?event=a&breakdown=nothing".to_string(),
            "breakdown",
        ),
    ] {
        let a = get(&app, &path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.body);
        assert_eq!(a.json()["param"], param, "{path}");
    }
}

/// Broken down by a property, every per-value number (each chart's bar parts and each
/// value-table cell) links to exactly its users within the value: the users API behind the
/// link lists the model's users of that row, status and value, as many as shown.
#[tokio::test]
async fn broken_down_parts_and_cells_link_to_their_users() {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let bm = store().await;
    let pro: BTreeSet<u32> = [1, 3, 11].into();
    let free: BTreeSet<u32> = [2, 12].into();
    for &uid in &pro {
        bm.set_property("plan", "pro", uid).await.expect("set");
    }
    for &uid in &free {
        bm.set_property("plan", "free", uid).await.expect("set");
    }
    let app = app(&bm, Access::Public);
    // The model (the fixture): Nov 21, 1..=4 new; Nov 22, 11..=13 new, 1 and 2 returning,
    // 3 and 4 dormant.
    let mut model: BTreeMap<(usize, &str), BTreeSet<u32>> = BTreeMap::new();
    model.insert((0, "new"), (1..=4).collect());
    model.insert((1, "new"), (11..=13).collect());
    model.insert((1, "returning"), [1, 2].into());
    model.insert((1, "dormant"), [3, 4].into());
    let of_value = |users: &BTreeSet<u32>, value: &str| -> BTreeSet<u32> {
        users
            .iter()
            .copied()
            .filter(|u| match value {
                "plan:pro" => pro.contains(u),
                "plan:free" => free.contains(u),
                "none" => !pro.contains(u) && !free.contains(u),
                other => panic!("unexpected value {other}"),
            })
            .collect()
    };
    let page = get(
        &app,
        &format!(
            "/bitmapist/lifecycle?event=user%3Alogged_in&time_group=days&periods=2&now={}&breakdown=plan",
            enc(NOW)
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let by = page
        .body
        .split("id=\"bm-breakdown-title\"")
        .nth(1)
        .expect("the breakdown section");
    // (row, status, value) -> how often linked (a chart part and a table cell each).
    let mut linked: BTreeMap<(usize, String, String), usize> = BTreeMap::new();
    for link in by.split("<a href=\"").skip(1) {
        let (href, rest) = link.split_once('"').expect("href");
        let href = href.replace("&#38;", "&").replace("&amp;", "&");
        // A table cell's text, or a chart part's tooltip `PERIOD STATUS: N`.
        let text = rest
            .split_once('>')
            .map(|(_, r)| r)
            .expect("content")
            .split("</a>")
            .next()
            .expect("content");
        let plain: String = text
            .split('<')
            .map(|piece| piece.split_once('>').map_or(piece, |(_, t)| t))
            .collect();
        let shown: usize = plain
            .rsplit(": ")
            .next()
            .expect("a number")
            .trim()
            .replace(',', "")
            .parse()
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let q: HashMap<String, String> =
            url::form_urlencoded::parse(href.split_once('?').expect("query").1.as_bytes())
                .into_owned()
                .collect();
        let row: usize = q["row"].parse().expect("row");
        let status = q["status"].clone();
        let value = if q.contains_key("none_of") {
            assert_eq!(q["none_of"], "plan");
            "none".to_string()
        } else {
            q["segment"].clone()
        };
        let want = model
            .get(&(row, status.as_str()))
            .map(|u| of_value(u, &value))
            .unwrap_or_default();
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
        *linked.entry((row, status, value)).or_default() += 1;
    }
    // Every non-empty number of every value is linked twice: its bar part and its cell.
    let mut want_linked = BTreeMap::new();
    for ((row, status), users) in &model {
        for value in ["plan:pro", "plan:free", "none"] {
            if !of_value(users, value).is_empty() {
                want_linked.insert((*row, status.to_string(), value.to_string()), 2);
            }
        }
    }
    assert_eq!(linked, want_linked);
}
