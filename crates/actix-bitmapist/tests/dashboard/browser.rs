//! The dashboard served by actix-web in real headless Chromium: the overview lists the
//! marked events with their counts, links lead to the cohort and event pages (relative
//! links resolve under `/bitmapist`), the cohort heatmap is drawn, the stylesheet and the
//! script load, and no page breaks its Content Security Policy. Fails (never skips)
//! without Chromium, with the install hint.

use std::time::{Duration, Instant};

use bitmapist_test_support::browser::{self, Driver};
use fantoccini::{Client, Locator};
use serde_json::json;

use super::{extension, serve};
use actix_bitmapist::Access;

async fn wait_url(c: &Client, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.expect("url").to_string();
        if url.contains(part) {
            return url;
        }
        assert!(Instant::now() < deadline, "waited for {part}, at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn clean(c: &Client, what: &str) {
    assert_eq!(
        browser::csp_violations(c).await,
        Some(Vec::new()),
        "{what}: CSP violations (or the recorder is missing)"
    );
    let js = c
        .execute(
            "return document.documentElement.classList.contains('js');",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(js, json!(true), "{what}: the script ran");
    let styled = c
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(
        styled,
        json!("rgb(15, 31, 43)"),
        "{what}: the stylesheet applied"
    );
}

#[actix_web::test]
async fn the_dashboard_in_a_real_browser() {
    let (chromium, driver) = browser::binaries();
    let driver = Driver::start(&driver);
    let profile = tempfile::tempdir().expect("profile dir");
    let ext = extension(Access::LoopbackOnly).await;
    let (addr, server) = serve(&ext);
    let c = driver.session(&chromium, profile.path()).await;
    let base = format!("http://{addr}");

    // The overview, reached without the trailing slash.
    c.goto(&format!("{base}/bitmapist"))
        .await
        .expect("overview");
    assert_eq!(c.title().await.expect("title"), "Events · bitmapist");
    let page = c.source().await.expect("source");
    for name in ["user:signed_up", "user:logged_in"] {
        assert!(page.contains(name), "{name} on the overview");
    }
    clean(&c, "overview").await;

    // An event's page, by its link on the overview.
    c.find(Locator::Css(
        "a[href*='events/user%3Asigned_up'], a[href*='events/user:signed_up']",
    ))
    .await
    .expect("a link to the event page")
    .click()
    .await
    .expect("click");
    wait_url(&c, "/bitmapist/events/user").await;
    let text = c
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    assert!(text.contains("user:signed_up"), "{text}");
    clean(&c, "event page").await;

    // The cohort page with its heatmap: 3 signed up today, 1 of them logged in.
    c.goto(&format!(
        "{base}/bitmapist/cohort?primary_event=user:signed_up&secondary_event=user:logged_in&time_group=days&num_results=2"
    ))
    .await
    .expect("cohort");
    wait_url(&c, "/bitmapist/cohort").await;
    let rows = c
        .find_all(Locator::Css("#bm-heatmap tbody tr"))
        .await
        .expect("heatmap rows");
    assert!(!rows.is_empty(), "the heatmap has rows");
    let sizes: Vec<String> = {
        let mut v = Vec::new();
        for r in &rows {
            if let Ok(td) = r.find(Locator::Css("td.size")).await {
                v.push(td.text().await.expect("text"));
            }
        }
        v
    };
    assert!(
        sizes.iter().any(|s| s.trim() == "3"),
        "today's cohort of 3: {sizes:?}"
    );
    clean(&c, "cohort page").await;

    c.close().await.expect("close the session");
    server.stop(true).await;
}
