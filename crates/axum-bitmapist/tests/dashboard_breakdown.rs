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

/// The ids of a users link (an `href` of a page, `&amp;` unescaped), through the JSON API.
async fn users_of(app: &axum::Router, href: &str) -> BTreeSet<u32> {
    let href = href.replace("&amp;", "&");
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
