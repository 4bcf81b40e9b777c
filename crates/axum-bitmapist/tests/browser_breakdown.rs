//! Breakdowns in a real browser (headless Chromium over WebDriver): type a property into
//! the overview's breakdown field, submit, find each event's per-value rows (a value that
//! is HTML shown as text), follow a per-value count to its users and see as many users as
//! the count said, restricted to that value; then the event page broken down the same
//! way. Screenshots: `dashboard-overview-breakdown-1280.png`,
//! `dashboard-event-breakdown-1280.png` in the target dir.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); a missing browser fails with that hint, never skips.

use std::collections::BTreeSet;

use crate::browser_support::*;
use crate::dashboard_support::*;
use fantoccini::{Client, Locator};

async fn steps(c: Client, base: String) {
    c.goto(&format!("{base}/bitmapist?now=2026-11-22T12%3A00%3A00Z"))
        .await
        .expect("overview");
    c.find(Locator::Css("#breakdown"))
        .await
        .expect("the breakdown field")
        .send_keys("plan")
        .await
        .expect("type");
    c.find(Locator::Css("form.toolbar button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("tr.value-row"))
        .await
        .expect("the per-value rows");
    let url = c.current_url().await.expect("url");
    assert!(
        url.as_str().contains("breakdown=plan"),
        "bookmarkable: {url}"
    );
    let labels = texts(&c, "tr.value-row[data-name='user:logged_in'] th.value").await;
    assert_eq!(
        labels,
        ["plan = <b>", "plan = free", "plan = pro", "in none of plan"],
        "one row per value (the HTML value as text), then none"
    );
    save(
        "dashboard-overview-breakdown-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );

    // This week's logins (1, 2, 3, 4, 11, 12, 13) of the pro users (1..=3): click it.
    let link = c
        .find(Locator::Css(
            "tr.value-row[data-name='user:logged_in'][data-value='plan = pro'] td:nth-of-type(2) a.users-link",
        ))
        .await
        .expect("this week's pro count");
    let shown = link.text().await.expect("text");
    assert_eq!(shown, "3");
    link.click().await.expect("click");
    let total = texts(&c, "#bm-total").await;
    assert_eq!(total, [shown], "the users page counts what was clicked");
    let ids: BTreeSet<String> = texts(&c, "#bm-users tbody td").await.into_iter().collect();
    assert_eq!(ids, (1..=3).map(|u: u32| u.to_string()).collect());
    let title = texts(&c, "#bm-users-title").await.join(" ");
    assert!(
        title.contains("plan:pro"),
        "the page says the value: {title}"
    );

    // The users in none of the values: 11, 12, 13.
    c.back().await.expect("back");
    let link = c
        .find(Locator::Css(
            "tr.value-row[data-name='user:logged_in'][data-value='in none of plan'] td:nth-of-type(2) a.users-link",
        ))
        .await
        .expect("this week's none count");
    let shown = link.text().await.expect("text");
    link.click().await.expect("click");
    assert_eq!(texts(&c, "#bm-total").await, [shown]);
    let ids: BTreeSet<String> = texts(&c, "#bm-users tbody td").await.into_iter().collect();
    assert_eq!(ids, ["11", "12", "13"].map(String::from).into());
    let title = texts(&c, "#bm-users-title").await.join(" ");
    assert!(title.contains("in none of plan"), "{title}");

    // The event page, broken down from the overview's link.
    c.back().await.expect("back");
    c.find(Locator::Css(
        "tr[data-name='user:logged_in']:not(.value-row) a.event-link",
    ))
    .await
    .expect("the event link")
    .click()
    .await
    .expect("click");
    c.wait()
        .for_element(Locator::Css("#bm-breakdown-title"))
        .await
        .expect("the breakdown section");
    let rows = texts(&c, "#bm-months-by-table tbody th.value").await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    c.execute(
        "document.getElementById('bm-breakdown-title').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    save(
        "dashboard-event-breakdown-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_broken_down_overview_count_to_its_users() {
    let bm = store().await;
    for uid in 1..=3 {
        bm.set_property("plan", "pro", uid).await.expect("set");
    }
    for uid in 4..=6 {
        bm.set_property("plan", "<b>", uid).await.expect("set");
    }
    for uid in 7..=10 {
        bm.set_property("plan", "free", uid).await.expect("set");
    }
    in_browser(app(&bm, axum_bitmapist::Access::LoopbackOnly), steps).await;
}
