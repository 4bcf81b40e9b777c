//! From a number to its users in a real browser (headless Chromium over WebDriver): click a
//! cohort cell, see exactly its users, save them as a segment with the page's form, and
//! find the segment in the cohort page's filter; then the filtered table, and the table
//! broken down by a property; then the event page filtered by the segment, each
//! stickiness bucket's users. Screenshots: `dashboard-users-1280.png`,
//! `dashboard-cohort-segment-1280.png`, `dashboard-cohort-breakdown-1280.png`,
//! `dashboard-event-segment-1280.png` in the target dir.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); a missing browser fails with that hint, never skips.

use std::collections::BTreeSet;

use crate::browser_support::*;
use crate::dashboard_support::*;
use fantoccini::{Client, Locator};

const COHORT: &str = "primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&time_group=days&num_rows=3&num_cols=3&now=2026-11-22T12%3A00%3A00Z";

async fn steps(c: Client, base: String) {
    // The fixture's users who signed up on Nov 20 and logged in on Nov 21.
    let signed: BTreeSet<u32> = (1..=10).collect();
    let logged: BTreeSet<u32> = (1..=4).collect();
    let want: Vec<String> = signed.intersection(&logged).map(u32::to_string).collect();

    c.goto(&format!("{base}/bitmapist/cohort?{COHORT}"))
        .await
        .expect("cohort page");
    c.find(Locator::Css(
        "#bm-heatmap a.users-link[href$='row=0&col=1']",
    ))
    .await
    .expect("the cell links to its users")
    .click()
    .await
    .expect("click");
    assert_eq!(c.title().await.expect("title"), "Users · bitmapist");
    assert_eq!(
        c.find(Locator::Css("#bm-total"))
            .await
            .expect("total")
            .text()
            .await
            .expect("text"),
        want.len().to_string()
    );
    assert_eq!(texts(&c, "#bm-users tbody td").await, want);
    save(
        "dashboard-users-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );

    c.find(Locator::Css("#segment_name"))
        .await
        .expect("the save form")
        .send_keys("came_back")
        .await
        .expect("type");
    c.find(Locator::Css("#bm-save"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    // The click only starts the navigation: wait for the page it loads.
    let message = c
        .wait()
        .for_element(Locator::Css("#bm-message"))
        .await
        .expect("a message")
        .text()
        .await
        .expect("text");
    assert!(message.contains("came_back"), "{message}");
    assert!(
        message.contains(&format!("Saved {} users", want.len())),
        "{message}"
    );

    // The cohort page's filter suggests the segment; filtering by it keeps those users.
    c.goto(&format!("{base}/bitmapist/cohort?{COHORT}"))
        .await
        .expect("cohort page");
    c.find(Locator::Css("#bm-segments option[value='came_back']"))
        .await
        .expect("the segment in the filter");
    c.find(Locator::Css("#segment"))
        .await
        .expect("filter field")
        .send_keys("came_back")
        .await
        .expect("type");
    c.find(Locator::Css("#bm-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    // Bookmarkable: the filtered page's URL holds the segment (waited for: the click only
    // starts the navigation).
    wait_url(&c, "segment=came_back").await;
    let sizes = texts(&c, "#bm-heatmap tbody td.size").await;
    assert_eq!(
        sizes.first().map(String::as_str),
        Some(want.len().to_string().as_str()),
        "{sizes:?}"
    );
    save(
        "dashboard-cohort-segment-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );

    // A breakdown by the `plan` property (users 1-3 pro, 4-8 free, 9-10 none): one table
    // per value, then the users in none; Nov 20's row splits its ten sign-ups.
    c.goto(&format!("{base}/bitmapist/cohort?{COHORT}&breakdown=plan"))
        .await
        .expect("broken-down cohort page");
    let labels = texts(&c, "#bm-breakdown h3.breakdown-value").await;
    let sizes = texts(&c, "#bm-breakdown tbody tr:first-child td.size").await;
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert_eq!(labels.last().map(String::as_str), Some("in none of plan"));
    let by_label: std::collections::BTreeMap<String, String> =
        labels.into_iter().zip(sizes).collect();
    assert_eq!(
        by_label.get("plan = pro").map(String::as_str),
        Some("3"),
        "{by_label:?}"
    );
    assert_eq!(
        by_label.get("plan = free").map(String::as_str),
        Some("5"),
        "{by_label:?}"
    );
    assert_eq!(
        by_label.get("in none of plan").map(String::as_str),
        Some("2"),
        "{by_label:?}"
    );
    c.execute(
        "document.getElementById('bm-breakdown').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    save(
        "dashboard-cohort-breakdown-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
    // Every number of every value's table links to exactly its users within the value:
    // the users API behind each link counts the number shown.
    let links = c
        .execute(
            "return [...document.querySelectorAll('#bm-breakdown a.users-link')].map(a => [a.getAttribute('href'), a.textContent.trim()]);",
            vec![],
        )
        .await
        .expect("links");
    let links = links.as_array().expect("links");
    assert!(links.len() >= 9, "{} linked numbers", links.len());
    for link in links {
        let (href, shown) = (
            link[0].as_str().expect("href"),
            link[1].as_str().expect("text").replace(',', ""),
        );
        let api = href.replacen("/bitmapist/users?", "/bitmapist/api/users?", 1);
        let users = fetch_json(&base, &api).await;
        assert_eq!(users["total"].to_string(), shown, "{href}");
    }
    // Clicked: the users in none of the values who signed up on Nov 20 (users 9 and 10).
    let none_row = c
        .find_all(Locator::Css("#bm-breakdown table"))
        .await
        .expect("tables")
        .pop()
        .expect("the table of the users in none");
    none_row
        .find(Locator::Css("tbody tr:first-child a.users-link"))
        .await
        .expect("its first row links to its users")
        .click()
        .await
        .expect("click");
    assert!(
        wait_url(&c, "none_of=plan").await.contains("of=cohort"),
        "the cohort's users in none of plan"
    );
    assert_eq!(texts(&c, "#bm-users tbody td").await, ["9", "10"]);

    // The event page's segment filter: type the segment, submit, and every stickiness
    // bucket's users are the segment's users (1..=4) active that many days.
    c.goto(&format!(
        "{base}/bitmapist/events/user%3Alogged_in?now=2026-11-22T12%3A00%3A00Z"
    ))
    .await
    .expect("event page");
    c.find(Locator::Css("#bm-segment-filter #segment"))
        .await
        .expect("segment field")
        .send_keys("came_back")
        .await
        .expect("type");
    c.find(Locator::Css("#bm-segment-filter button[type=submit]"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("#bm-filtered"))
        .await
        .expect("the filtered page");
    let url = c.current_url().await.expect("url");
    assert!(url.as_str().contains("segment=came_back"), "{url}");
    assert!(
        texts(&c, "#bm-filtered").await[0].contains("came_back"),
        "the page says it is filtered"
    );
    save(
        "dashboard-event-segment-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
    let mut hrefs = Vec::new();
    for a in c
        .find_all(Locator::Css("section.stickiness svg a"))
        .await
        .expect("bucket links")
    {
        hrefs.push(a.attr("href").await.expect("attr").expect("href"));
    }
    assert!(!hrefs.is_empty(), "buckets link to their users");
    let segment: BTreeSet<String> = (1..=4u32).map(|u| u.to_string()).collect();
    for href in hrefs {
        assert!(href.contains("segment=came_back"), "{href}");
        let to = if href.starts_with("http") {
            href
        } else {
            format!("{base}{href}")
        };
        c.goto(&to).await.expect("users page");
        let ids = texts(&c, "#bm-users tbody td").await;
        assert!(
            !ids.is_empty() && ids.iter().all(|i| segment.contains(i)),
            "{to}: {ids:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_cohort_cell_to_its_users_and_a_segment() {
    let bm = store().await;
    for uid in 1..=3 {
        bm.set_property("plan", "pro", uid).await.expect("set");
    }
    for uid in 4..=8 {
        bm.set_property("plan", "free", uid).await.expect("set");
    }
    let app = app(&bm, axum_bitmapist::Access::LoopbackOnly);
    in_browser(app, steps).await;
}
