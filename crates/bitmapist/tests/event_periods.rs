//! Listing and deleting one event's periods: `event_periods` against the periods a mark
//! touches, and `delete_event_period` against a `HashSet` model of the remaining keys.
//! Runs on the memory store and a real redis-server, which share the code path above `Store`.

use crate::common;

use std::collections::BTreeSet;

use bitmapist::{Bitmapist, Period, TimeGroup};
use chrono::{DateTime, TimeZone, Utc};
use common::redis_server::RedisServer;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0)
        .single()
        .expect("valid date")
}

/// The day, week and month periods of each instant: what a mark without hourly or unique
/// tracking writes.
fn model(times: &[DateTime<Utc>]) -> BTreeSet<Period> {
    times
        .iter()
        .flat_map(|&t| {
            [TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months]
                .map(|g| Period::containing(g, t).expect("period"))
        })
        .collect()
}

/// The periods `event_periods` lists for the test's event, as a set.
async fn listed(bm: &Bitmapist) -> BTreeSet<Period> {
    bm.event_periods("e:periods")
        .await
        .expect("list")
        .into_iter()
        .collect()
}

async fn check(bm: Bitmapist) {
    let times = [at(2024, 1, 5), at(2024, 3, 9), at(2025, 2, 1)];
    for &t in &times {
        bm.mark_event("e:periods", 7).at(t).await.expect("mark");
    }
    // Another event whose name starts with this one's must not be listed or deleted.
    bm.mark_event("e:periods:other", 7)
        .at(times[0])
        .await
        .expect("mark");

    let mut expected = model(&times);
    assert_eq!(listed(&bm).await, expected);

    // Deleting one month removes exactly that month's key.
    let march = Period::month(2024, 3).expect("month");
    assert_eq!(
        bm.delete_event_period("e:periods", march)
            .await
            .expect("delete"),
        1
    );
    expected.remove(&march);
    assert_eq!(listed(&bm).await, expected);

    // A year deletes its twelve months (one of which, January, exists).
    let year = Period::year(2024).expect("year");
    assert_eq!(
        bm.delete_event_period("e:periods", year)
            .await
            .expect("delete"),
        1
    );
    expected.remove(&Period::month(2024, 1).expect("month"));
    assert_eq!(listed(&bm).await, expected);

    // Deleting a period with no key deletes nothing.
    assert_eq!(
        bm.delete_event_period("e:periods", march)
            .await
            .expect("delete"),
        0
    );
    assert_eq!(
        bm.event_periods("e:periods:other")
            .await
            .expect("list")
            .len(),
        3
    );
    assert!(
        bm.event_periods("").await.is_err(),
        "an empty event name is rejected"
    );
}

#[tokio::test]
async fn event_periods_and_period_deletes_on_memory() {
    check(Bitmapist::open("memory://").await.expect("open")).await;
}

#[tokio::test]
async fn event_periods_and_period_deletes_on_redis() {
    let server = RedisServer::start();
    check(Bitmapist::open(&server.url()).await.expect("open")).await;
}
