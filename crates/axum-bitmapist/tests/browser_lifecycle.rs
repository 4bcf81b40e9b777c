//! The lifecycle page and the event page's trends in a real browser: headless Chromium over
//! WebDriver (fantoccini), against the app on a real TCP port. From the event page's link
//! to the lifecycle page: the stacked chart is drawn (dormant parts below the zero line),
//! its table shows the JSON API's numbers, each part links to exactly its users (checked
//! against the engine's `UserSet::Lifecycle`), no CSP violation; the screenshot of the chart
//! is decoded and must show every status's colour from the stylesheet. Broken down by a
//! property: one chart per value on one scale, each in the statuses' colours, every part
//! linking to exactly its users within the value. The trend lines' last points carry the
//! API's numbers, and their screenshot shows each line's colour.
//!
//! Needs Debian's `chromium` and `chromium-driver`; a missing browser fails with the install
//! hint, never skips. Screenshots: `dashboard-lifecycle-1280.png` (the page),
//! `dashboard-lifecycle-chart.png` (the chart), `dashboard-lifecycle-value-{1,2,3}.png` (the
//! per-value charts) and `dashboard-trends.png` in the target dir.

use std::time::{Duration, Instant};

use crate::browser_support::*;
use crate::dashboard_support::*;
use bitmapist::{Bitmapist, LifecycleSpec, LifecycleStatus, TimeGroup, UserSet};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

async fn steps(c: Client, base: String, bm: Bitmapist) {
    record_csp_violations(&c).await;

    // 1. The event page: trend lines whose last points carry the API's numbers.
    c.goto(&format!(
        "{base}/bitmapist/events/user%3Alogged_in?now={NOW}"
    ))
    .await
    .expect("event page");
    let api = fetch_json(
        &base,
        &format!(
            "/bitmapist/api/trends?event=user%3Alogged_in&days=90&compare=on&now={}",
            enc(NOW)
        ),
    )
    .await;
    let last = &api["days"][89];
    for (name, key) in [("DAU", "dau"), ("WAU", "wau"), ("MAU", "mau")] {
        let title = format!(
            "{name} 2026-11-22: {}",
            bitmapist::thousands(last[key].as_u64().expect("n"))
        );
        let found = c
            .find_all(Locator::XPath(&format!(
                "//*[@id='bm-trends']//*[name()='title' and text()='{title}']"
            )))
            .await
            .expect("titles");
        assert_eq!(found.len(), 1, "{title}");
    }
    let lines = c
        .find_all(Locator::Css("#bm-trends polyline"))
        .await
        .expect("lines");
    assert!(
        lines.len() >= 6,
        "three lines and three previous ones: {}",
        lines.len()
    );
    let rect = c
        .find(Locator::Css("#bm-dau-mau svg"))
        .await
        .expect("ratio chart")
        .rectangle()
        .await
        .expect("rect");
    assert!(rect.2 > 200.0 && rect.3 > 50.0, "the ratio chart is drawn");
    // The screenshot shows each line in its stylesheet colour.
    let png = element_shot(&c, "#bm-trends").await;
    assert_chart_shows(
        "dashboard-trends.png",
        &png,
        &["ln-dau", "ln-wau", "ln-mau"],
        20,
    );

    // 2. Its lifecycle link leads to the lifecycle page; ask for days.
    c.find(Locator::Id("bm-lifecycle-link"))
        .await
        .expect("lifecycle link")
        .click()
        .await
        .expect("click");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c
        .current_url()
        .await
        .expect("url")
        .path()
        .ends_with("/lifecycle")
    {
        assert!(
            Instant::now() < deadline,
            "never reached the lifecycle page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let select = c.find(Locator::Id("time_group")).await.expect("select");
    select.select_by_value("days").await.expect("days");
    let periods = c.find(Locator::Id("periods")).await.expect("periods");
    periods.clear().await.expect("clear");
    periods.send_keys("30").await.expect("type");
    c.find(Locator::Id("bm-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    let deadline = Instant::now() + Duration::from_secs(10);
    let url = loop {
        let url = c.current_url().await.expect("url");
        if url.as_str().contains("time_group=days") {
            break url;
        }
        assert!(Instant::now() < deadline, "never submitted: {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let violations = c
        .execute("return window.__cspViolations || null;", vec![])
        .await
        .expect("execute");
    assert_eq!(violations, json!([]), "CSP violations");

    // 3. The table shows the API's numbers for the same URL.
    let query = url.query().unwrap_or("").to_string();
    let api = fetch_json(&base, &format!("/bitmapist/api/lifecycle?{query}")).await;
    let rows = api["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 30);
    let mut shown: Vec<Vec<String>> = Vec::new();
    for tr in c
        .find_all(Locator::Css("#bm-lifecycle-table tbody tr"))
        .await
        .expect("rows")
    {
        let mut cells = Vec::new();
        for td in tr.find_all(Locator::Css("td")).await.expect("cells") {
            cells.push(td.text().await.expect("text").replace(',', ""));
        }
        shown.push(cells);
    }
    let expected: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().expect("count");
            vec![
                r["period"].as_str().expect("period").to_string(),
                n("new").to_string(),
                n("returning").to_string(),
                n("resurrecting").to_string(),
                n("dormant").to_string(),
                (n("new") + n("returning") + n("resurrecting")).to_string(),
            ]
        })
        .collect();
    assert_eq!(shown, expected);
    let total = |k: &str| rows.iter().map(|r| r[k].as_u64().unwrap_or(0)).sum::<u64>();
    for k in ["new", "returning", "resurrecting", "dormant"] {
        assert!(total(k) > 0, "the synthetic data has {k} users");
    }

    // 4. Dormant parts hang below the zero line; the others stand on it.
    let zero: f64 = c
        .find(Locator::Css("svg.stacked line.zero"))
        .await
        .expect("zero line")
        .attr("y1")
        .await
        .expect("attr")
        .expect("y1")
        .parse()
        .expect("number");
    let parts = c
        .find_all(Locator::Css("svg.stacked a rect.part"))
        .await
        .expect("parts");
    assert!(parts.len() >= 30, "{} parts", parts.len());
    for p in &parts {
        let class = p.attr("class").await.expect("class").unwrap_or_default();
        let y: f64 = p
            .attr("y")
            .await
            .expect("y")
            .expect("y")
            .parse()
            .expect("y");
        let h: f64 = p
            .attr("height")
            .await
            .expect("h")
            .expect("h")
            .parse()
            .expect("h");
        if class.contains("lc-dormant") {
            assert!(
                (y - zero).abs() < 0.02,
                "a dormant part starts at the zero line"
            );
        } else {
            assert!(y + h <= zero + 0.02, "{class} is above the zero line");
        }
    }

    // 5. Each part links to exactly its users: the link's row and status name the engine's
    //    `UserSet::Lifecycle`, whose size is the part's number.
    let spec = LifecycleSpec::new("user:logged_in")
        .time_group(TimeGroup::Days)
        .periods(30)
        .now(nov(22, 12));
    for link in c
        .find_all(Locator::Css("svg.stacked a"))
        .await
        .expect("links")
        .iter()
        .step_by(7)
    {
        let href = link.attr("href").await.expect("href").expect("href");
        let u = url::Url::parse(&format!("{base}{href}")).expect("url");
        assert_eq!(u.path(), "/bitmapist/users");
        let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
        assert_eq!(q["of"], "lifecycle");
        assert_eq!(q["event"], "user:logged_in");
        let row: usize = q["row"].parse().expect("row");
        let status: LifecycleStatus = q["status"].parse().expect("status");
        let users = bm
            .users(&UserSet::Lifecycle {
                spec: spec.clone(),
                row,
                status,
            })
            .await
            .expect("users");
        assert_eq!(
            Value::from(users.count()),
            rows[row][status.as_str()],
            "{href}"
        );
    }

    // 6. Screenshots: the page, then the chart, decoded: every status's colour is drawn.
    save(
        "dashboard-lifecycle-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
    let chart = element_shot(&c, "#bm-lifecycle-chart").await;
    assert_chart_shows("dashboard-lifecycle-chart.png", &chart, &STATUS_CLASSES, 50);

    broken_down(&c, &base, &bm, &query).await;
}

/// The statuses' colour classes (new, returning, resurrecting, dormant).
const STATUS_CLASSES: [&str; 4] = ["lc-new", "lc-returning", "lc-resurrecting", "lc-dormant"];

/// 7. Broken down by a property: one chart per value (and the users in none) on one
///    scale, each drawn in the statuses' colours, and every part of every chart links to
///    exactly its users within the value (the users API's total is the part's number).
async fn broken_down(c: &Client, base: &str, bm: &Bitmapist, query: &str) {
    // Half the users get a plan (a third of those pro); the others are in none.
    for uid in (0..2_000).step_by(2) {
        let plan = if uid % 3 == 0 { "pro" } else { "free" };
        bm.set_property("plan", plan, uid).await.expect("set plan");
    }
    c.goto(&format!(
        "{base}/bitmapist/lifecycle?{query}&breakdown=plan"
    ))
    .await
    .expect("broken-down lifecycle");
    let violations = c
        .execute("return window.__cspViolations || null;", vec![])
        .await
        .expect("execute");
    assert_eq!(violations, json!([]), "CSP violations");
    let names: Vec<String> = {
        let mut out = Vec::new();
        for h in c
            .find_all(Locator::Css("#bm-lifecycle-by-charts h3"))
            .await
            .expect("value titles")
        {
            out.push(h.text().await.expect("text"));
        }
        out
    };
    assert_eq!(names, ["free", "pro", "(none)"]);
    // One scale: every chart's zero line at the same height, the same y ticks.
    let scale: Value = c
        .execute(
            "return [...document.querySelectorAll('#bm-lifecycle-by-charts svg')].map(s => \
               [s.querySelector('line.zero').getAttribute('y1'), \
                [...s.querySelectorAll('text.tick.y')].map(t => t.textContent).join(' ')]);",
            vec![],
        )
        .await
        .expect("scales");
    let scales = scale.as_array().expect("charts");
    assert_eq!(scales.len(), 3);
    assert!(
        scales.iter().all(|s| *s == scales[0]),
        "one scale across values: {scale}"
    );
    for k in 1..=3 {
        let png = element_shot(c, &format!("#bm-lifecycle-by-chart-{k}")).await;
        assert_chart_shows(
            &format!("dashboard-lifecycle-value-{k}.png"),
            &png,
            &STATUS_CLASSES,
            20,
        );
    }
    // Every few parts of every chart: the users page behind the link counts the number
    // the part's tooltip shows.
    let parts: Value = c
        .execute(
            "return [...document.querySelectorAll('#bm-lifecycle-by-charts a')].map(a => \
               [a.getAttribute('href'), a.querySelector('title').textContent]);",
            vec![],
        )
        .await
        .expect("parts");
    let parts = parts.as_array().expect("parts");
    assert!(parts.len() >= 60, "{} parts", parts.len());
    for part in parts.iter().step_by(11) {
        let href = part[0].as_str().expect("href");
        let title = part[1].as_str().expect("title");
        let shown: u64 = title
            .rsplit(": ")
            .next()
            .expect("count")
            .replace(',', "")
            .parse()
            .expect("a count");
        let api = href.replacen("/bitmapist/users?", "/bitmapist/api/users?", 1);
        let users = fetch_json(base, &api).await;
        assert_eq!(users["total"], Value::from(shown), "{title}: {href}");
    }
    // The value table's cells link the same way.
    let cell = c
        .find(Locator::Css(
            "#bm-lifecycle-by-table tbody tr:last-child td a",
        ))
        .await
        .expect("a linked cell of the users in none");
    let href = cell.attr("href").await.expect("href").expect("href");
    assert!(href.contains("none_of=plan"), "{href}");
    let shown: u64 = cell
        .text()
        .await
        .expect("text")
        .replace(',', "")
        .parse()
        .expect("count");
    let users = fetch_json(
        base,
        &href.replacen("/bitmapist/users?", "/bitmapist/api/users?", 1),
    )
    .await;
    assert_eq!(users["total"], Value::from(shown), "{href}");

    // On a phone the broken-down page fits the screen's width (the tables scroll inside
    // their box, the charts shrink).
    viewport(c, 390, 844, true).await;
    c.goto(&format!(
        "{base}/bitmapist/lifecycle?{query}&breakdown=plan"
    ))
    .await
    .expect("broken-down lifecycle");
    let png = c.screenshot().await.expect("screenshot");
    save("dashboard-lifecycle-390.png", &png);
    assert_no_horizontal_scroll(c, "broken-down lifecycle at 390 px", &png).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_page_and_trends_in_a_real_browser() {
    let bm = Bitmapist::open("memory://").await.expect("store");
    synthetic(&bm, 2_000, 45).await;
    let app = axum::Router::new().nest(
        "/bitmapist",
        axum_bitmapist::Dashboard::new(bm.clone()).router(),
    );
    in_browser(app, |c, base| steps(c, base, bm)).await;
}
