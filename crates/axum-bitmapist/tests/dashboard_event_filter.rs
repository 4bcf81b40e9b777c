//! The segment filter on the overview and the event page, through the axum app: every
//! count is of the filtered users, the filter travels in the links, each count's and each
//! stickiness bucket's users link gives exactly the users counted, and an unknown segment
//! is a 400 naming `segment`. Expected numbers come from models built from the engine's
//! unfiltered day sets intersected with the segment's ids (BTreeSets), not hard-coded.

#[allow(dead_code)]
mod dashboard_support;

use std::collections::{BTreeMap, BTreeSet};

use axum_bitmapist::Access;
use bitmapist::{Bitmapist, Period, UserSet};
use dashboard_support::*;
use serde_json::Value;

const NOW: &str = "now=2026-11-22T12%3A00%3A00Z";
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

fn ids(v: &Value) -> Vec<u32> {
    v["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_u64().expect("id") as u32)
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
        &format!("/bitmapist/api/events/{}?{NOW}&segment=picked", enc(EVENT)),
    )
    .await;
    assert_eq!(api.status, axum::http::StatusCode::OK, "{}", api.body);
    let api = api.json();
    assert_eq!(api["counts"]["day"], today_in.len() as u64, "{api}");
    let week_in = week_all.intersection(&picked).count() as u64;
    assert_eq!(api["counts"]["week"], week_in, "{api}");
    let plain = get(&app, &format!("/bitmapist/api/events/{}?{NOW}", enc(EVENT)))
        .await
        .json();
    assert_eq!(plain["counts"]["day"], today.len() as u64, "{plain}");

    // The overview keeps the filter in its links; today's users link gives them exactly.
    let overview = get(&app, &format!("/bitmapist?{NOW}&segment=picked")).await;
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
    let page = get(&app, &format!("{path}?{NOW}&segment=picked")).await;
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
    let page = get(&app, &format!("{path}?{NOW}")).await;
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
    let bad = get(&app, &format!("{path}?{NOW}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
    assert!(bad.body.contains("segment"), "{}", bad.body);
    let bad = get(&app, &format!("/bitmapist/api/events?{NOW}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
    assert!(bad.json().to_string().contains("segment"), "{}", bad.body);
    let bad = get(&app, &format!("/bitmapist?{NOW}&segment=nope")).await;
    assert_eq!(
        bad.status,
        axum::http::StatusCode::BAD_REQUEST,
        "{}",
        bad.body
    );
}
