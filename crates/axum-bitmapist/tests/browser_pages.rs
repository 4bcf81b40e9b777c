//! The event page and the funnel page in a real browser: headless Chromium over WebDriver
//! (fantoccini), against the app on a real TCP port with the default loopback-only access.
//! Checks: no Content-Security-Policy violation, the SVG charts are drawn and sized, the
//! funnel form submits to a bookmarkable URL whose table matches the JSON API, and with
//! JavaScript off every chart still shows.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); a missing browser fails with that hint, never skips.
//! `BITMAPIST_CHROMIUM` and `BITMAPIST_CHROMEDRIVER` override the binaries' paths (the
//! driver helpers are shared with `tests/browser.rs` in `tests/browser_support`).
//! Screenshots: `dashboard-event-1280.png`, `dashboard-funnel-1280.png`, and the charts
//! `dashboard-event-days.png` and `dashboard-funnel-chart.png`, decoded: not blank, their
//! bars in the stylesheet's colour.

use std::time::{Duration, Instant};

use crate::browser_support::*;
use crate::dashboard_support::*;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// No CSP violation was recorded and the stylesheet applied.
async fn csp_clean(c: &Client, what: &str, scripts: bool) {
    if scripts {
        let violations = c
            .execute("return window.__cspViolations || null;", vec![])
            .await
            .expect("execute");
        assert_eq!(
            violations,
            json!([]),
            "{what}: CSP violations (or no listener)"
        );
        let js = c
            .execute(
                "return document.documentElement.classList.contains('js');",
                vec![],
            )
            .await
            .expect("execute");
        assert_eq!(js, json!(true), "{what}: the script ran");
    }
}

/// The rendered size of every `svg.axis-chart` and its bar count, read through WebDriver
/// (which works with the page's scripts off).
async fn charts(c: &Client) -> Vec<(f64, f64, usize)> {
    let mut out = Vec::new();
    for svg in c
        .find_all(Locator::Css("svg.axis-chart"))
        .await
        .expect("charts")
    {
        let rect = svg.rectangle().await.expect("rect");
        let bars = svg
            .find_all(Locator::Css("rect"))
            .await
            .expect("bars")
            .len();
        out.push((rect.2, rect.3, bars));
    }
    out
}

async fn steps(c: Client, base: String) {
    record_csp_violations(&c).await;

    for scripts in [true, false] {
        if !scripts {
            c.issue_cmd(Cdp(json!({
                "cmd": "Emulation.setScriptExecutionDisabled",
                "params": {"value": true}
            })))
            .await
            .expect("scripts off");
        }
        // 1. From the overview, the event's name leads to its page.
        c.goto(&format!("{base}/bitmapist?now={NOW}"))
            .await
            .expect("overview");
        c.find(Locator::Css(
            "a.event-link[href$='/events/user%3Alogged_in']",
        ))
        .await
        .expect("a link to the event page")
        .click()
        .await
        .expect("click");
        let title = c.title().await.expect("title");
        assert_eq!(title, "user:logged_in · bitmapist");
        // The link carries no `now`: open the page as of the fixture's moment.
        c.goto(&format!(
            "{base}/bitmapist/events/user%3Alogged_in?now={NOW}"
        ))
        .await
        .expect("event page");
        csp_clean(&c, "event page", scripts).await;
        let drawn = charts(&c).await;
        let bars: Vec<usize> = drawn.iter().map(|d| d.2).collect();
        // Days, weeks, months, the two trend line charts (no bars), the two stickiness charts.
        assert_eq!(bars, vec![90, 26, 12, 0, 0, 7, 30], "scripts {scripts}");
        for (w, h, _) in &drawn {
            assert!(*w > 200.0 && *h > 50.0, "a chart is drawn at {w}x{h}");
        }
        if scripts {
            save(
                "dashboard-event-1280.png",
                &c.screenshot().await.expect("screenshot"),
            );
            // The days chart's screenshot shows its bars in the stylesheet's colour.
            let png = element_shot(&c, "svg.axis-chart").await;
            assert_chart_shows("dashboard-event-days.png", &png, &["bar"], 200);
        }

        // 2. The funnel form: fill in the steps, submit, land on a bookmarkable URL.
        c.goto(&format!("{base}/bitmapist/funnel"))
            .await
            .expect("funnel page");
        csp_clean(&c, "funnel form", scripts).await;
        for (id, value) in [
            ("step1", "user:signed_up"),
            ("step2", "user:logged_in"),
            ("step3", "user:bought"),
        ] {
            c.find(Locator::Id(id))
                .await
                .expect("step field")
                .send_keys(value)
                .await
                .expect("type");
        }
        let now = c.find(Locator::Id("now")).await.expect("now");
        now.send_keys("2026-11-22").await.expect("type");
        c.find(Locator::Id("bm-submit"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("submit");
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            let url = c.current_url().await.expect("url");
            if url.as_str().contains("step=user%3Abought") {
                break url;
            }
            assert!(Instant::now() < deadline, "never submitted: {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        csp_clean(&c, "funnel result", scripts).await;
        let drawn = charts(&c).await;
        assert_eq!(drawn.len(), 1);
        assert_eq!(drawn[0].2, 3, "one bar per step");
        // The table shows the API's totals for the same URL.
        let api = fetch_json(
            &base,
            &format!("/bitmapist/api/funnel?{}", url.query().unwrap_or("")),
        )
        .await;
        let mut shown = Vec::new();
        for td in c
            .find_all(Locator::Css("#bm-funnel-table tfoot tr.total td"))
            .await
            .expect("totals")
        {
            shown.push(td.text().await.expect("text").replace(',', ""));
        }
        let expected: Vec<String> = api["totals"]
            .as_array()
            .expect("totals")
            .iter()
            .map(Value::to_string)
            .collect();
        assert_eq!(shown, expected);
        assert!(expected[0] != "0", "the synthetic data enters the funnel");
        if scripts {
            save(
                "dashboard-funnel-1280.png",
                &c.screenshot().await.expect("screenshot"),
            );
            let png = element_shot(&c, "#bm-funnel-chart").await;
            assert_chart_shows("dashboard-funnel-chart.png", &png, &["bar"], 200);
            // On a phone the funnel fits the screen's width.
            viewport(&c, 390, 844, true).await;
            c.goto(url.as_str()).await.expect("funnel");
            let png = c.screenshot().await.expect("screenshot");
            save("dashboard-funnel-390.png", &png);
            assert_no_horizontal_scroll(&c, "funnel at 390 px", &png).await;
            viewport(&c, 1280, 800, false).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_and_funnel_pages_in_a_real_browser() {
    let bm = bitmapist::Bitmapist::open("memory://")
        .await
        .expect("store");
    synthetic(&bm, 2_000, 45).await;
    let app = axum::Router::new().nest("/bitmapist", axum_bitmapist::Dashboard::new(bm).router());
    in_browser(app, steps).await;
}
