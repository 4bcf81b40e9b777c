//! The dashboard in a real browser: headless Chromium driven over WebDriver (fantoccini),
//! against the app served on a real TCP port with the default loopback-only access.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`; `.ci/run` installs them). A missing browser fails the test with that
//! hint, never skips it: CI sets `BITMAPIST_REQUIRE_BROWSER=1`, and a newcomer without
//! the browser sees what to install. `BITMAPIST_CHROMIUM` and `BITMAPIST_CHROMEDRIVER`
//! override the binaries' paths.
//!
//! Screenshots land in the target directory: `dashboard-overview-1280.png`,
//! `dashboard-cohort-form-1280.png`, `dashboard-cohort-1280.png`, `dashboard-heatmap.png`,
//! `dashboard-cohort-form-390.png`, `dashboard-overview-390.png`,
//! `dashboard-cohort-390.png`, `dashboard-curve.png`. The heatmap's and the curve's
//! screenshots are decoded and must show the stylesheet's shades and accent colour; at
//! 390 px no page scrolls sideways.
//!
//! One function per page or concern (`overview`, `cohort_form`, `cohort_table`,
//! `without_javascript`, `cohort_bad_input`, `cohort_screenshots`), run in order by
//! `steps`; each asserts what it did.

use crate::browser_support::*;
use crate::dashboard_support::*;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// The heatmap as shown: per row, (label, size, cell texts); and the footer rows.
async fn read_heatmap(c: &Client) -> Vec<(String, String, Vec<String>)> {
    let rows = c
        .find_all(Locator::Css("#bm-heatmap tbody tr"))
        .await
        .expect("rows");
    let mut out = Vec::new();
    for r in rows {
        let label = r
            .find(Locator::Css("th"))
            .await
            .expect("th")
            .text()
            .await
            .expect("text");
        let size = r
            .find(Locator::Css("td.size"))
            .await
            .expect("size")
            .text()
            .await
            .expect("text");
        let mut cells = Vec::new();
        for cell in r.find_all(Locator::Css("td.cell")).await.expect("cells") {
            cells.push(cell.text().await.expect("text"));
        }
        out.push((label, size, cells));
    }
    out
}

/// Checks the heatmap against the API's JSON for the same parameters.
async fn heatmap_matches_json(c: &Client, base: &str, percent: bool) {
    let page = c.current_url().await.expect("url");
    let api = format!("/bitmapist/api/cohort?{}", page.query().unwrap_or(""));
    let json = fetch_json(base, &api).await;
    let shown = read_heatmap(c).await;
    let cells = json["cohort"].as_array().expect("cohort");
    assert_eq!(shown.len(), cells.len(), "rows");
    assert!(!shown.is_empty());
    for (i, (label, size, texts)) in shown.iter().enumerate() {
        assert_eq!(
            label,
            json["labels"][i].as_str().expect("label"),
            "row {i} label"
        );
        assert_eq!(
            size.replace(',', ""),
            json["totals"][i].to_string(),
            "row {i} size"
        );
        let row = cells[i].as_array().expect("row");
        assert_eq!(texts.len(), row.len(), "row {i} columns");
        for (j, t) in texts.iter().enumerate() {
            let expected = if percent {
                match json["fractions"][i][j].as_f64() {
                    Some(f) => format!("{:.1}%", f * 100.0),
                    None => String::new(),
                }
            } else {
                match row[j].as_u64() {
                    Some(n) => n.to_string(),
                    None => String::new(),
                }
            };
            assert_eq!(t.replace(',', ""), expected, "cell ({i}, {j})");
        }
    }
    // Column totals too.
    let totals = c
        .find_all(Locator::Css("#bm-heatmap tfoot tr.tot td:not(.size)"))
        .await
        .expect("totals");
    for (j, t) in totals.iter().enumerate() {
        let shown = t.text().await.expect("text").replace(',', "");
        assert_eq!(shown, json["col_totals"][j].to_string(), "column {j} total");
    }
}

/// The retention curve of the current page: displayed with a real size, one faint line per
/// row with users, one point per column average, each point's `<title>` the API's value.
async fn curve_matches_json(c: &Client, base: &str) {
    let page = c.current_url().await.expect("url");
    let api = format!("/bitmapist/api/cohort?{}", page.query().unwrap_or(""));
    let json = fetch_json(base, &api).await;
    let svg = c
        .find(Locator::Id("bm-curve-svg"))
        .await
        .expect("the curve");
    assert!(
        svg.is_displayed().await.expect("displayed"),
        "the curve shows"
    );
    let (_, _, w, h) = svg.rectangle().await.expect("size");
    assert!(w > 100.0 && h > 40.0, "the curve has a size: {w} x {h}");
    let lines = c
        .find_all(Locator::Css("#bm-curve-svg polyline.row-line"))
        .await
        .expect("row lines");
    let with_users = json["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .filter(|t| t.as_u64().unwrap_or(0) > 0)
        .count();
    assert_eq!(lines.len(), with_users, "one faint line per row with users");
    let stroke: Value = c
        .execute(
            "const l = document.querySelector('#bm-curve-svg polyline.row-line');\
             return l ? getComputedStyle(l).strokeOpacity : null;",
            vec![],
        )
        .await
        .expect("stroke");
    assert_eq!(
        stroke,
        json!("0.35"),
        "rows are faint (the stylesheet applied)"
    );
    let titles: Value = c
        .execute(
            "return [...document.querySelectorAll('#bm-curve-svg circle.avg-point > title')].map(t => t.textContent);",
            vec![],
        )
        .await
        .expect("titles");
    let expected: Vec<String> = json["average_fractions"]
        .as_array()
        .expect("averages")
        .iter()
        .enumerate()
        .filter_map(|(j, a)| a.as_f64().map(|f| format!("{j}: {:.1}%", f * 100.0)))
        .collect();
    let titles: Vec<String> = titles
        .as_array()
        .expect("titles")
        .iter()
        .map(|t| t.as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(titles.len(), expected.len(), "{titles:?} vs {expected:?}");
    for (t, e) in titles.iter().zip(&expected) {
        assert!(t.contains(e.as_str()), "{t:?} should show {e:?}");
    }
}

/// No Content-Security-Policy violation was reported, the stylesheet applied and the
/// script ran.
async fn csp_clean(c: &Client, what: &str) {
    let violations = c
        .execute("return window.__cspViolations || null;", vec![])
        .await
        .expect("execute");
    assert_eq!(
        violations,
        json!([]),
        "{what}: CSP violations (or the listener is missing)"
    );
    if let Ok(log) = c.issue_cmd(BrowserLog).await
        && let Some(entries) = log.as_array()
    {
        for e in entries {
            let msg = e["message"].as_str().unwrap_or("");
            assert!(
                !msg.contains("Content Security Policy") && !msg.contains("Refused to"),
                "{what}: console says {msg}"
            );
        }
    }
    let js = c
        .execute(
            "return document.documentElement.classList.contains('js');",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(js, json!(true), "{what}: the script ran");
    let bg = c
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(
        bg,
        json!("rgb(15, 31, 43)"),
        "{what}: the stylesheet applied"
    );
}

/// Types `value` into the field `id`, replacing what it held.
async fn set(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.expect(id);
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

/// Unchecks "as percent" (the default view shows percent; these steps compare counts).
async fn counts_not_percent(c: &Client) {
    let percent_box = c
        .find(Locator::Css("input[name=as_percent]"))
        .await
        .expect("checkbox");
    if percent_box.is_selected().await.expect("checked") {
        percent_box.click().await.expect("uncheck");
    }
}

/// The overview: every event's row shows the API's counts, its name as text; the search
/// filters as you type.
async fn overview(c: &Client, base: &str) {
    c.goto(&format!("{base}/bitmapist?now=2026-11-22T12:00:00Z"))
        .await
        .expect("overview");
    assert_eq!(c.title().await.expect("title"), "Events · bitmapist");
    let rows = c
        .find_all(Locator::Css("#bm-events tbody tr"))
        .await
        .expect("rows");
    let api = fetch_json(base, "/bitmapist/api/events?now=2026-11-22T12:00:00Z").await;
    assert_eq!(
        rows.len(),
        api["events"]
            .as_array()
            .unwrap_or_else(|| panic!("{api}"))
            .len()
    );
    for e in api["events"].as_array().expect("events") {
        let name = e["name"].as_str().expect("name");
        let row = c
            .execute(
                "const r = [...document.querySelectorAll('#bm-events tbody tr')].find(r => r.dataset.name === arguments[0]);\
                 return r ? [r.querySelector('.ename').textContent, ...[...r.querySelectorAll('td.num')].map(td => td.textContent.replace(/,/g, ''))] : null;",
                vec![json!(name)],
            )
            .await
            .expect("row");
        let counts = &e["counts"];
        // The name is shown as text, whatever it contains.
        assert_eq!(
            row,
            json!([
                name,
                counts["day"].to_string(),
                counts["week"].to_string(),
                counts["month"].to_string(),
                counts["year"].to_string()
            ]),
            "{name}"
        );
    }
    csp_clean(c, "overview").await;
    save(
        "dashboard-overview-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );

    // The search filters as you type (and still works as a plain GET without JS).
    let search = c.find(Locator::Id("bm-q")).await.expect("search");
    search.send_keys("logged").await.expect("type");
    let visible = c
        .execute(
            "return [...document.querySelectorAll('#bm-events tbody tr')].filter(r => !r.hidden).map(r => r.dataset.name);",
            vec![],
        )
        .await
        .expect("visible");
    assert_eq!(visible, json!(["user:logged_in"]));
}

/// The cohort page's form: a default table at first; filled (with a chain condition added
/// through the JavaScript button) and submitted, it lands on the canonical URL of what was
/// typed, and shows the chain back.
async fn cohort_form(c: &Client, base: &str) {
    c.goto(&format!("{base}/bitmapist/cohort?now=2026-11-22"))
        .await
        .expect("cohort");
    assert_eq!(c.title().await.expect("title"), "Cohorts · bitmapist");
    c.find(Locator::Id("bm-heatmap"))
        .await
        .expect("a default table");
    csp_clean(c, "cohort page").await;

    set(c, "primary_event", "user:signed_up").await;
    set(c, "secondary_event", "user:logged_in").await;
    set(c, "num_rows", "14").await;
    set(c, "num_cols", "14").await;
    c.find(Locator::Id("time_group"))
        .await
        .expect("time group")
        .select_by_value("days")
        .await
        .expect("select");
    // One more condition through the JavaScript "add" button: OR user:bought.
    c.find(Locator::Id("bm-add"))
        .await
        .expect("add")
        .click()
        .await
        .expect("click");
    let chain_rows = c
        .find_all(Locator::Css("#bm-chain .chain-row"))
        .await
        .expect("rows");
    let last = chain_rows.last().expect("a new row");
    last.find(Locator::Css("select"))
        .await
        .expect("op")
        .select_by_value("or")
        .await
        .expect("or");
    last.find(Locator::Css("input"))
        .await
        .expect("event")
        .send_keys("user:bought")
        .await
        .expect("type");
    counts_not_percent(c).await;
    c.find(Locator::Css("select[name=retention]"))
        .await
        .expect("retention select")
        .select_by_value("on")
        .await
        .expect("on");
    save(
        "dashboard-cohort-form-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
    c.find(Locator::Id("bm-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    let url = wait_url(c, "additional=or%3Auser%3Abought").await;
    assert!(url.contains("primary_event=user%3Asigned_up"), "{url}");
    assert!(
        url.contains("num_rows=14")
            && url.contains("num_cols=14")
            && url.contains("now=2026-11-22"),
        "{url}"
    );
    assert!(
        url.contains("retention=on&") || url.ends_with("retention=on"),
        "{url}"
    );
    assert!(
        !url.contains("additional_op"),
        "the form's pairs were made canonical: {url}"
    );
    // The chain is shown back in the form.
    let chained: Value = c
        .execute(
            "return [...document.querySelectorAll('#bm-chain input')].map(i => i.value);",
            vec![],
        )
        .await
        .expect("chain");
    assert_eq!(chained, json!(["user:bought", ""]));
}

/// The table the form asked for: the heatmap and the retention curve under it show the
/// API's numbers; the percent toggle switches to percentages shaded by the stylesheet.
/// Returns the URL of the table in percent.
async fn cohort_table(c: &Client, base: &str) -> String {
    heatmap_matches_json(c, base, false).await;
    csp_clean(c, "heatmap").await;
    // The retention curve under it: drawn, one faint line per row with users, and the
    // average points' tooltips are the API's averages.
    curve_matches_json(c, base).await;
    csp_clean(c, "retention curve").await;

    c.find(Locator::Id("bm-show-percent"))
        .await
        .expect("toggle")
        .click()
        .await
        .expect("click");
    let url_percent = wait_url(c, "as_percent=1").await;
    heatmap_matches_json(c, base, true).await;
    assert!(text(c, "#bm-show-percent").await == "Percent");
    assert_eq!(
        c.find(Locator::Id("bm-show-percent"))
            .await
            .expect("toggle")
            .attr("aria-current")
            .await
            .expect("attr"),
        Some("true".to_string())
    );
    // Shading comes from the stylesheet's classes, not inline styles.
    let shaded = c
        .execute(
            "const td = document.querySelector('#bm-heatmap td.h10, #bm-heatmap td.h9, #bm-heatmap td.h8');\
             return td ? getComputedStyle(td).backgroundColor : null;",
            vec![],
        )
        .await
        .expect("shade");
    assert!(
        shaded
            .as_str()
            .is_some_and(|s| s.starts_with("rgb(") && s != "rgb(255, 255, 255)"),
        "{shaded}"
    );
    url_percent
}

/// With JavaScript off: the cohort form (its blank chain row) still submits and the
/// server-rendered heatmap and curve are there; the overview's search works as a GET.
async fn without_javascript(c: &Client, base: &str) {
    c.issue_cmd(Cdp(json!({
        "cmd": "Emulation.setScriptExecutionDisabled",
        "params": {"value": true}
    })))
    .await
    .expect("scripts off");
    c.goto(&format!("{base}/bitmapist/cohort?now=2026-11-22"))
        .await
        .expect("cohort");
    let add = c.find(Locator::Id("bm-add")).await.expect("add");
    assert!(
        !add.is_displayed().await.expect("displayed"),
        "no JS, no add button"
    );
    let blank = c
        .find(Locator::Css("#bm-chain .chain-row:last-child"))
        .await
        .expect("blank row");
    blank
        .find(Locator::Css("select"))
        .await
        .expect("op")
        .select_by_value("or")
        .await
        .expect("or");
    blank
        .find(Locator::Css("input"))
        .await
        .expect("event")
        .send_keys("user:bought")
        .await
        .expect("type");
    set(c, "num_rows", "7").await;
    counts_not_percent(c).await;
    c.find(Locator::Id("bm-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit");
    let url = wait_url(c, "additional=or%3Auser%3Abought").await;
    assert!(url.contains("num_rows=7"), "{url}");
    assert_eq!(read_heatmap(c).await.len(), 7);
    heatmap_matches_json(c, base, false).await;
    // The retention curve is server-rendered: there and visible without JavaScript.
    assert!(
        url.contains("retention=on-or-after"),
        "the default view's mode: {url}"
    );
    curve_matches_json(c, base).await;
    c.goto(&format!("{base}/bitmapist?now=2026-11-22T12:00:00Z"))
        .await
        .expect("overview");
    let search = c.find(Locator::Id("bm-q")).await.expect("search");
    search
        .send_keys("bought\u{e007}")
        .await
        .expect("type and Enter");
    wait_url(c, "q=bought").await;
    let rows = c
        .find_all(Locator::Css("#bm-events tbody tr"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "the server filtered");
    c.issue_cmd(Cdp(json!({
        "cmd": "Emulation.setScriptExecutionDisabled",
        "params": {"value": false}
    })))
    .await
    .expect("scripts on");
}

/// Bad input in the browser: 400, the message and the form again, the field marked.
async fn cohort_bad_input(c: &Client, base: &str) {
    c.goto(&format!(
        "{base}/bitmapist/cohort?primary_event=user%3Asigned_up&secondary_event=user%3Alogged_in&num_rows=0&now=2026-11-22"
    ))
    .await
    .expect("bad input");
    assert!(text(c, "#bm-error").await.contains("num_rows"));
    assert_eq!(
        c.find(Locator::Id("num_rows"))
            .await
            .expect("field")
            .attr("aria-invalid")
            .await
            .expect("attr"),
        Some("true".to_string())
    );
    save(
        "dashboard-cohort-error-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
}

/// Screenshots of the table at `url`, laptop and phone, checked: the heatmap is shaded
/// (several shades of the stylesheet), the curve's average line has the accent colour, and
/// on a phone no page scrolls sideways.
async fn cohort_screenshots(c: &Client, base: &str, url: &str) {
    c.goto(url).await.expect("cohort");
    c.execute(
        "document.querySelector('.result').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    save(
        "dashboard-cohort-1280.png",
        &c.screenshot().await.expect("screenshot"),
    );
    let heat = element_shot(c, "#bm-heatmap").await;
    assert_chart_shows("dashboard-heatmap.png", &heat, &[], 0);
    let shot = Shot::decode(&heat);
    let shades: Vec<usize> = (1..=10)
        .filter(|k| shot.count(css_colour(&format!("h{k}"))) >= 20)
        .collect();
    assert!(
        shades.len() >= 3,
        "the heatmap shows at least three of the stylesheet's shades: {shades:?}"
    );
    let curve = element_shot(c, "svg.curve").await;
    assert_chart_shows("dashboard-curve.png", &curve, &["--accent"], 50);

    viewport(c, 390, 844, true).await;
    c.goto(&format!("{base}/bitmapist?now=2026-11-22T12:00:00Z"))
        .await
        .expect("overview");
    let png = c.screenshot().await.expect("screenshot");
    save("dashboard-overview-390.png", &png);
    assert_no_horizontal_scroll(c, "overview at 390 px", &png).await;
    c.goto(url).await.expect("cohort");
    let png = c.screenshot().await.expect("screenshot");
    save("dashboard-cohort-form-390.png", &png);
    assert_no_horizontal_scroll(c, "cohort form at 390 px", &png).await;
    c.execute(
        "document.querySelector('.result').scrollIntoView();",
        vec![],
    )
    .await
    .expect("scroll");
    let png = c.screenshot().await.expect("screenshot");
    save("dashboard-cohort-390.png", &png);
    assert_no_horizontal_scroll(c, "cohort table at 390 px", &png).await;
}

async fn steps(c: Client, base: String) {
    viewport(&c, 1280, 800, false).await;
    record_csp_violations(&c).await;
    overview(&c, &base).await;
    cohort_form(&c, &base).await;
    let url_percent = cohort_table(&c, &base).await;
    without_javascript(&c, &base).await;
    cohort_bad_input(&c, &base).await;
    cohort_screenshots(&c, &base, &url_percent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    // The app with the default access (loopback only): the browser connects from
    // 127.0.0.1, so it is admitted through the real peer address.
    let bm = bitmapist::Bitmapist::open("memory://")
        .await
        .expect("store");
    synthetic(&bm, 3_000, 45).await;
    let app = axum::Router::new().nest("/bitmapist", axum_bitmapist::Dashboard::new(bm).router());
    in_browser(app, steps).await;
}
