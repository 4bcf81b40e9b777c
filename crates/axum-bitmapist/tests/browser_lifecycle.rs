//! The lifecycle page and the event page's trends in a real browser: headless Chromium over
//! WebDriver (fantoccini), against the app on a real TCP port. From the event page's link
//! to the lifecycle page: the stacked chart is drawn (dormant parts below the zero line),
//! its table shows the JSON API's numbers, each part links to exactly its users (checked
//! against the engine's `UserSet::Lifecycle`), no CSP violation; the screenshot of the chart
//! is decoded in the browser and must show every status's colour. The trend lines' last
//! points carry the API's numbers.
//!
//! Needs Debian's `chromium` and `chromium-driver`; a missing browser fails with the install
//! hint, never skips. Screenshots: `dashboard-lifecycle-1280.png` (the page),
//! `dashboard-lifecycle-chart.png` (the chart) and `dashboard-trends.png` in the target dir.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::browser_support::*;
use crate::dashboard_support::*;
use bitmapist::{Bitmapist, LifecycleSpec, LifecycleStatus, TimeGroup, UserSet};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

/// How many pixels of each colour (RGB, within a small tolerance) a PNG has, decoded by the
/// browser itself (a data: image drawn on a canvas; the page's CSP allows data: images).
async fn colour_counts(c: &Client, png: &[u8], colours: &[[u8; 3]]) -> Vec<u64> {
    let b64 = base64(png);
    let got = c
        .execute_async(
            r#"const [src, colours, done] = arguments;
               const img = new Image();
               img.onload = () => {
                 const cv = document.createElement('canvas');
                 cv.width = img.width; cv.height = img.height;
                 const g = cv.getContext('2d'); g.drawImage(img, 0, 0);
                 const d = g.getImageData(0, 0, cv.width, cv.height).data;
                 const n = colours.map(() => 0);
                 for (let i = 0; i < d.length; i += 4) {
                   colours.forEach((c, k) => {
                     if (Math.abs(d[i] - c[0]) < 8 && Math.abs(d[i+1] - c[1]) < 8 && Math.abs(d[i+2] - c[2]) < 8) n[k]++;
                   });
                 }
                 done(n);
               };
               img.onerror = () => done(null);
               img.src = 'data:image/png;base64,' + src;"#,
            vec![json!(b64), json!(colours)],
        )
        .await
        .expect("decode the screenshot");
    got.as_array()
        .expect("counts")
        .iter()
        .map(|v| v.as_u64().expect("count"))
        .collect()
}

/// Standard base64 (the screenshot as a data: URL).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn steps(c: Client, base: String, bm: Bitmapist) {
    c.issue_cmd(Cdp(json!({
        "cmd": "Page.addScriptToEvaluateOnNewDocument",
        "params": {"source": "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"}
    })))
    .await
    .expect("CDP command");

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
    let trends = c.find(Locator::Id("bm-trends")).await.expect("trends");
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&trends).expect("element")],
    )
    .await
    .expect("scroll");
    let png = trends.screenshot().await.expect("trends screenshot");
    save("dashboard-trends.png", &png);
    // DAU, WAU, MAU (dashboard.css): each line shows.
    let colours = [[0x1c, 0x7e, 0xd6], [0x2f, 0x9e, 0x44], [0x70, 0x48, 0xe8]];
    let counts = colour_counts(&c, &png, &colours).await;
    for (k, n) in counts.iter().enumerate() {
        assert!(*n > 20, "line {k} shows in the trends chart: {counts:?}");
    }

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
    let card = c
        .find(Locator::Id("bm-lifecycle-chart"))
        .await
        .expect("chart");
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&card).expect("element")],
    )
    .await
    .expect("scroll");
    let chart = card.screenshot().await.expect("chart screenshot");
    save("dashboard-lifecycle-chart.png", &chart);
    // new, returning, resurrecting, dormant (dashboard.css).
    let colours = [
        [0x2f, 0x9e, 0x44],
        [0x1c, 0x7e, 0xd6],
        [0xf0, 0x8c, 0x00],
        [0xe0, 0x31, 0x31],
    ];
    let counts = colour_counts(&c, &chart, &colours).await;
    for (k, n) in counts.iter().enumerate() {
        assert!(
            *n > 50,
            "colour {k} of the statuses shows in the chart: {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_page_and_trends_in_a_real_browser() {
    let (chromium, driver_bin) = binaries();
    let bm = Bitmapist::open("memory://").await.expect("store");
    synthetic(&bm, 2_000, 45).await;
    let app = axum::Router::new().nest(
        "/bitmapist",
        axum_bitmapist::Dashboard::new(bm.clone()).router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let driver = start_driver(&driver_bin);
    let profile = tempfile::tempdir().expect("profile dir");
    let client = connect(&chromium, &driver, profile.path()).await;
    let run = tokio::spawn(steps(client.clone(), format!("http://{addr}"), bm));
    let result = run.await;
    let _ = client.close().await;
    drop(driver);
    server.abort();
    if let Err(e) = result {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("browser steps: {e}");
    }
}
