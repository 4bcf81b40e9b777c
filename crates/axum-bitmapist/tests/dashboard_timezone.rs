//! The dashboard of a store in Europe/Berlin: `now` without an offset read on Berlin's wall
//! clock, local days in the counts and cohort rows, the "as of" label and the footer naming
//! the zone; a UTC store of the same marks counts them on the UTC day.

use crate::dashboard_support::*;
use axum::http::StatusCode;
use axum_bitmapist::Access;
use bitmapist::{Bitmapist, Zone};
use chrono::{TimeZone, Utc};

async fn marked(zone: Zone) -> Bitmapist {
    let bm = Bitmapist::builder()
        .url("memory://")
        .timezone(zone)
        .open()
        .await
        .expect("open");
    // 23:30 UTC on Nov 21 is 00:30 on Nov 22 in Berlin.
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
    bm
}

#[tokio::test]
async fn berlin_store_counts_and_labels_local_days() {
    let berlin: Zone = "Europe/Berlin".parse().expect("zone");
    let app = app(&marked(berlin).await, Access::Public);

    let a = get(&app, "/bitmapist/api/events/shop:visit?now=2026-11-22").await;
    assert_eq!(a.status, StatusCode::OK);
    let body = a.json();
    // The end of Nov 22 in Berlin.
    assert_eq!(body["now"], "2026-11-22T22:59:59+00:00");
    assert_eq!(body["counts"]["day"], 3, "{body}");
    let daily = body["daily"].as_array().expect("daily");
    assert_eq!(daily[29]["period"], "2026-11-22");
    assert_eq!(daily[29]["count"], 3);
    assert_eq!(daily[28]["count"], 0);

    let page = get(&app, "/bitmapist?now=2026-11-22").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("as of 2026-11-22 23:59 (times in Europe/Berlin)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("times in Europe/Berlin</footer>"));

    let cohort = get(
        &app,
        "/bitmapist/api/cohort?primary_event=shop:visit&secondary_event=shop:visit&num_rows=2&num_cols=2&now=2026-11-22T08:00",
    )
    .await;
    assert_eq!(cohort.status, StatusCode::OK, "{}", cohort.body);
    let c = cohort.json();
    // 08:00 Berlin is 07:00 UTC; the newest row is Berlin's Nov 22, holding the marks.
    assert_eq!(c["now"], "2026-11-22T07:00:00+00:00", "{c}");
    assert_eq!(c["dates"], serde_json::json!(["2026-11-21", "2026-11-22"]));
    assert_eq!(c["totals"], serde_json::json!([0, 3]));
    let page = get(
        &app,
        "/bitmapist/cohort?primary_event=shop:visit&secondary_event=shop:visit&num_rows=2&num_cols=2&now=2026-11-22T08:00",
    )
    .await;
    assert!(
        page.body
            .contains("as of 2026-11-22 08:00 (times in Europe/Berlin)"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn utc_store_counts_the_same_marks_on_the_utc_day() {
    let app = app(&marked(Zone::UTC).await, Access::Public);
    let body = get(&app, "/bitmapist/api/events/shop:visit?now=2026-11-22")
        .await
        .json();
    assert_eq!(body["now"], "2026-11-22T23:59:59+00:00");
    assert_eq!(body["counts"]["day"], 0);
    assert_eq!(body["daily"][28]["count"], 3, "{body}");
    let page = get(&app, "/bitmapist?now=2026-11-22").await;
    assert!(page.body.contains("as of 2026-11-22 23:59 UTC"));
    assert!(page.body.contains("times in UTC</footer>"));
}
