//! What the core answers where a typo or a zone would mislead: the stickiness API reads a
//! date-only `at` on the store's wall clock; events that were never marked are named
//! (`unknown_events` in the JSON, a notice on the page; the CSV unchanged); an empty choice
//! parameter is a 400 naming it; `/` and `""` under any mount serve the overview; the
//! overview runs under the heavy-request bound.

use std::time::Duration;

use bitmapist::{Bitmapist, Zone};
use bitmapist_web::{Access, Dashboard, DashboardCore};
use chrono::{TimeZone, Utc};
use http::StatusCode;

use crate::support::*;

/// A store in `zone` where users 1..=3 `shop:visit` at 23:30 UTC on Nov 21 (00:30 on
/// Nov 22 in Berlin) and users 1..=2 `shop:buy` then.
async fn marked(zone: Zone) -> DashboardCore {
    let bm = Bitmapist::builder()
        .url("memory://")
        .timezone(zone)
        .open()
        .await
        .expect("open");
    let late = Utc
        .with_ymd_and_hms(2026, 11, 21, 23, 30, 0)
        .single()
        .expect("t");
    for uid in [1, 2, 3] {
        bm.mark_event("shop:visit", uid)
            .at(late)
            .await
            .expect("mark");
    }
    for uid in [1, 2] {
        bm.mark_event("shop:buy", uid).at(late).await.expect("mark");
    }
    Dashboard::new(bm)
        .access(Access::Public)
        .event_names_ttl(Duration::ZERO)
        .build()
}

#[tokio::test]
async fn stickiness_reads_a_date_only_at_on_the_stores_clock() {
    let berlin: Zone = "Europe/Berlin".parse().expect("zone");
    let core = marked(berlin).await;
    // Sunday Nov 22 is in ISO week 47; its end in Berlin is 22:59:59 UTC. Read as UTC,
    // 23:59:59 would be Monday 00:59 in Berlin: week 48.
    let res = core
        .handle(get_as(
            "/api/events/shop:visit/stickiness?time_group=weeks&at=2026-11-22",
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", text(&res));
    let body = json(&res);
    assert_eq!(body["period"], "2026-W47", "{body}");
    assert_eq!(body["days"][0], 3, "{body}");
    // The page's own stickiness agrees, and links the API with the same `at`.
    let page = core
        .handle(get_as("/events/shop:visit?now=2026-11-22"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text(&page).contains("2026-W47"), "{}", text(&page));
}

#[tokio::test]
async fn events_never_marked_are_named() {
    let core = marked(Zone::UTC).await;
    let cohort = "primary_event=shop:visit&secondary_event=shop:buyy\
                  &additional=or:nope&num_rows=3&num_cols=3&now=2026-11-22";
    let res = core.handle(get_as(&format!("/api/cohort?{cohort}"))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", text(&res));
    assert_eq!(
        json(&res)["unknown_events"],
        serde_json::json!(["shop:buyy", "nope"])
    );
    let page = core.handle(get_as(&format!("/cohort?{cohort}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = text(&page);
    assert!(html.contains("never marked"), "{html}");
    assert!(html.contains("shop:buyy"), "{html}");
    // Known events: an empty list, no notice.
    let ok = "primary_event=shop:visit&secondary_event=shop:buy&now=2026-11-22";
    let res = core.handle(get_as(&format!("/api/cohort?{ok}"))).await;
    assert_eq!(json(&res)["unknown_events"], serde_json::json!([]));
    assert!(!text(&core.handle(get_as(&format!("/cohort?{ok}"))).await).contains("never marked"));
    // The CSV is the table only.
    let csv = core
        .handle(get_as(&format!("/api/cohort.csv?{cohort}")))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(!text(&csv).contains("shop:buyy"), "{}", text(&csv));

    let funnel = "step=shop:visit&step=shop:bye&step=shop:buy&now=2026-11-22";
    let res = core.handle(get_as(&format!("/api/funnel?{funnel}"))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", text(&res));
    let body = json(&res);
    assert_eq!(body["unknown_events"], serde_json::json!(["shop:bye"]));
    assert!(
        body["totals"].is_array(),
        "the funnel's own keys stay: {body}"
    );
    let page = core.handle(get_as(&format!("/funnel?{funnel}"))).await;
    assert!(text(&page).contains("never marked"), "{}", text(&page));
}

#[tokio::test]
async fn empty_choice_parameters_are_400_naming_them() {
    let core = marked(Zone::UTC).await;
    let cohort = "/api/cohort?primary_event=shop:visit&secondary_event=shop:buy";
    for (uri, param) in [
        (format!("{cohort}&retention="), "retention"),
        (format!("{cohort}&average="), "average"),
        (format!("{cohort}&time_group="), "time_group"),
        (
            "/api/funnel?step=shop:visit&step=shop:buy&time_group=".to_string(),
            "time_group",
        ),
        (
            "/api/events/shop:visit/stickiness?time_group=".to_string(),
            "time_group",
        ),
    ] {
        let res = core.handle(get_as(&uri)).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{uri}: {}", text(&res));
        assert_eq!(json(&res)["param"], param, "{uri}");
    }
    // The page shows the form again with the message.
    let res = core
        .handle(get_as(
            "/cohort?primary_event=shop:visit&secondary_event=shop:buy&retention=",
        ))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(text(&res).contains("retention"), "{}", text(&res));
}

#[tokio::test]
async fn the_mount_with_and_without_its_slash() {
    let core = marked(Zone::UTC).await;
    let mut a = get_as("/?now=2026-11-22");
    let mut b = get_as("?now=2026-11-22");
    a.mount = "/bitmapist/".into();
    b.mount = "/bitmapist".into();
    let (a, b) = (core.handle(a).await, core.handle(b).await);
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, b.body);
    assert!(text(&a).contains(r#"href="/bitmapist/cohort""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_is_a_heavy_request() {
    let store = GatedStore::closed();
    let bm = Bitmapist::builder()
        .store(store.clone())
        .open()
        .await
        .expect("open");
    let at = Utc
        .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .expect("t");
    bm.mark_event("a", 1).at(at).await.expect("mark");
    let core = Dashboard::new(bm)
        .access(Access::Public)
        .max_heavy_requests(1)
        .build();
    let held = {
        let core = core.clone();
        tokio::spawn(async move { core.handle(get_as("/?now=2026-11-22")).await })
    };
    store.until_waiting(1, || !held.is_finished()).await;
    // The bound is full: every overview route answers 503 at once, not after the store.
    for uri in [
        "/?now=2026-11-22",
        "/api/events?now=2026-11-22",
        "/api/events/a",
    ] {
        let busy = tokio::time::timeout(Duration::from_secs(5), core.handle(get_as(uri)))
            .await
            .unwrap_or_else(|_| panic!("{uri} waited for the store"));
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(
            busy.headers.get("retry-after").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }
    store.gate.add_permits(1_000_000);
    let done = held.await.expect("task");
    assert_eq!(done.status, StatusCode::OK, "{}", text(&done));
}
