//! What the browser tests share: finding Chromium and ChromeDriver (or failing with the
//! install hint), a chromedriver killed on drop, a headless session serving an app
//! ([`in_browser`]), the page checks every page repeats (CSP listener, viewport, URL
//! waits), screenshots and what they must show ([`Shot`]: decoded with the `png` crate,
//! chart colours read from the dashboard's stylesheet), JSON.

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const INSTALL_HINT: &str = "install them with `apt-get install -y chromium chromium-driver` \
     (Debian/Ubuntu; `.ci/run` does it), or point BITMAPIST_CHROMIUM / BITMAPIST_CHROMEDRIVER \
     at your binaries";

/// The first existing path among the override and the usual places.
pub fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => find_in_path(names),
    }
}

/// The first of `names` in `PATH` or the usual places.
pub fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"].map(PathBuf::from))
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The browser and its driver, or a failure with the install hint.
pub fn binaries() -> (PathBuf, PathBuf) {
    let chromium = find(
        "BITMAPIST_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = find("BITMAPIST_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => (c, d),
        (c, d) => {
            let required = std::env::var("BITMAPIST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            panic!(
                "the dashboard's browser tests need Chromium and ChromeDriver (missing: {}{}); {INSTALL_HINT}.{}",
                if c.is_none() { "chromium " } else { "" },
                if d.is_none() { "chromedriver" } else { "" },
                if required {
                    " (BITMAPIST_REQUIRE_BROWSER=1: this run requires the browser.)"
                } else {
                    ""
                }
            )
        }
    }
}

/// A running chromedriver, killed on drop.
pub struct Driver {
    pub child: Child,
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn start_driver(driver: &Path) -> Driver {
    let port = free_port();
    // Where util-linux's setpriv exists, the driver dies with the test even on abort.
    let setpriv = find_in_path(&["setpriv"]);
    let mut cmd = match &setpriv {
        Some(s) => {
            let mut c = Command::new(s);
            c.args(["--pdeathsig", "KILL"]).arg(driver);
            c
        }
        None => Command::new(driver),
    };
    let child = cmd
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}; {INSTALL_HINT}", driver.display()));
    let d = Driver { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

/// `POST /session/{id}/se/log`: the browser console (ChromeDriver's extension).
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or("")))
    }
    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}

/// `POST /session/{id}/goog/cdp/execute`: a DevTools command.
#[derive(Debug)]
pub struct Cdp(pub Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.0.to_string()))
    }
}

pub async fn connect(chromium: &Path, driver: &Driver, profile: &Path) -> Client {
    let mut caps = Capabilities::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": chromium.display().to_string(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--window-size=1280,800",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    caps.insert("goog:loggingPrefs".to_string(), json!({"browser": "ALL"}));
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match builder.connect(&url).await {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("could not start a Chromium session: {e}; {INSTALL_HINT}"),
        }
    }
}

/// The target directory, where screenshots are saved.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

pub fn save(name: &str, png: &[u8]) {
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("target dir");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("write screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    eprintln!("screenshot: {}", path.display());
}

/// Fetches `base` + `path` as JSON over HTTP from the test (the dashboard's CSP forbids
/// the page itself to fetch: `connect-src` falls back to `default-src 'none'`).
pub async fn fetch_json(base: &str, path: &str) -> Value {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<axum::body::Body>();
    let uri: axum::http::Uri = format!("{base}{path}").parse().expect("uri");
    let res = client.get(uri).await.expect("GET");
    assert_eq!(res.status(), 200, "{path}");
    let bytes = axum::body::to_bytes(axum::body::Body::new(res.into_body()), usize::MAX)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Serves `app` on a free loopback port, starts chromedriver and a headless Chromium
/// session, and runs `steps(client, "http://127.0.0.1:PORT")`; the session, the driver and
/// the server are stopped whatever happens, and a failing step fails the test with its
/// own message.
pub async fn in_browser<F, Fut>(app: axum::Router, steps: F)
where
    F: FnOnce(Client, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (chromium, driver_bin) = binaries();
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
    let run = tokio::spawn(steps(client.clone(), format!("http://{addr}")));
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

/// Records Content-Security-Policy violations from the first script of every document
/// on, in `window.__cspViolations`.
pub async fn record_csp_violations(c: &Client) {
    c.issue_cmd(Cdp(json!({
        "cmd": "Page.addScriptToEvaluateOnNewDocument",
        "params": {"source": "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"}
    })))
    .await
    .expect("CDP command");
}

/// Sets the viewport exactly (the window's size would include the browser's own frame).
pub async fn viewport(c: &Client, width: u32, height: u32, mobile: bool) {
    c.issue_cmd(Cdp(json!({
        "cmd": "Emulation.setDeviceMetricsOverride",
        "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
    })))
    .await
    .expect("viewport");
}

/// Waits until the URL contains `part`.
pub async fn wait_url(c: &Client, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.expect("url").to_string();
        if url.contains(part) {
            return url;
        }
        assert!(Instant::now() < deadline, "{url} never contained {part}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page does not scroll sideways (its tables scroll inside their own box), and the
/// screenshot `png` of it is exactly as wide as the viewport.
pub async fn assert_no_horizontal_scroll(c: &Client, what: &str, png: &[u8]) {
    let width: Value = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("widths");
    assert_eq!(
        width[0], width[1],
        "{what}: no horizontal page scroll: {width}"
    );
    // On a phone a page wider than the screen is zoomed out to fit: the layout viewport
    // grows past the screenshot's (the device's) width.
    let wide: Value = c
        .execute(
            "return [...document.querySelectorAll('body *')].filter(e => { if (e.getBoundingClientRect().right <= arguments[0] + 1) return false; for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return false; return true; }).slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
            vec![json!(Shot::decode(png).width)],
        )
        .await
        .expect("wide elements");
    assert_eq!(
        Value::from(Shot::decode(png).width),
        width[1],
        "{what}: the page fits the screen's width (wider: {wide})"
    );
}

/// The dashboard's stylesheet, where every chart takes its colours (one class per
/// series: `.lc-new`, `.grp-0`, ...).
const STYLESHEET: &str =
    include_str!("../../../bitmapist-web/templates/dashboard/assets/dashboard.css");

/// The `fill` colour the stylesheet gives `.{class}` (or, for a custom property such as
/// `--accent`, its value), as RGB.
pub fn css_colour(class: &str) -> [u8; 3] {
    let selector = if class.starts_with("--") {
        format!("{class}:")
    } else {
        format!(".{class} {{")
    };
    let at = STYLESHEET
        .find(&selector)
        .unwrap_or_else(|| panic!("the stylesheet has no {selector}"));
    let rule = &STYLESHEET[at + selector.len()..];
    let hex = rule
        .find('#')
        .map(|i| &rule[i + 1..i + 7])
        .unwrap_or_else(|| panic!("{selector} has no #rrggbb colour"));
    let byte = |i: usize| {
        u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{selector}: {hex}: {e}"))
    };
    [byte(0), byte(2), byte(4)]
}

/// A decoded screenshot (RGBA, 8 bits per channel).
pub struct Shot {
    pub width: u32,
    pub height: u32,
    rgba: Vec<u8>,
}

impl Shot {
    /// Decodes a PNG screenshot (any colour type Chromium writes, expanded to RGBA).
    pub fn decode(png: &[u8]) -> Shot {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![
            0;
            reader
                .output_buffer_size()
                .expect("a PNG that fits in memory")
        ];
        let info = reader.next_frame(&mut buf).expect("the PNG's pixels");
        buf.truncate(info.buffer_size());
        let rgba = match info.color_type {
            png::ColorType::Rgba => buf,
            png::ColorType::Rgb => buf
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::GrayscaleAlpha => buf
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        Shot {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2]])
    }

    /// How many pixels are `colour`, within a small tolerance (edges are anti-aliased).
    pub fn count(&self, colour: [u8; 3]) -> usize {
        self.pixels()
            .filter(|p| p.iter().zip(colour).all(|(&a, b)| a.abs_diff(b) < 8))
            .count()
    }

    /// How many pixels differ from the most common colour (the background).
    pub fn drawn(&self) -> usize {
        let mut counts = std::collections::HashMap::new();
        for p in self.pixels() {
            *counts.entry(p).or_insert(0usize) += 1;
        }
        let background = counts.values().copied().max().unwrap_or(0);
        self.pixels().count() - background
    }
}

/// A chart's screenshot is not blank (at least 2% of its pixels are drawn) and shows every
/// class's colour from the stylesheet (at least `min` pixels of each); it is saved as
/// `name` in the target directory first, so a failure can be looked at.
pub fn assert_chart_shows(name: &str, png: &[u8], classes: &[&str], min: usize) {
    save(name, png);
    let shot = Shot::decode(png);
    let all = (shot.width * shot.height) as usize;
    assert!(
        shot.drawn() * 50 >= all,
        "{name} is blank: {} of {all} pixels drawn",
        shot.drawn()
    );
    for class in classes {
        let n = shot.count(css_colour(class));
        assert!(
            n >= min,
            "{name} shows {class}'s colour on {n} pixels (< {min})"
        );
    }
}

/// The screenshot of the element `css`, scrolled into view first.
pub async fn element_shot(c: &Client, css: &str) -> Vec<u8> {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![serde_json::to_value(&e).expect("element")],
    )
    .await
    .expect("scroll");
    e.screenshot().await.expect("element screenshot")
}

/// The text of every element `css` matches, in document order.
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.expect("find") {
        out.push(e.text().await.expect("text"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w` x 20 RGB PNG, white but for `stripe` pixels of `colour` in each row.
    fn png_with(w: u32, colour: [u8; 3], stripe: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, 20);
        enc.set_color(png::ColorType::Rgb);
        let mut writer = enc.write_header().expect("header");
        let mut data = Vec::new();
        for _ in 0..20 {
            for x in 0..w {
                data.extend(if x < stripe { colour } else { [255, 255, 255] });
            }
        }
        writer.write_image_data(&data).expect("data");
        writer.finish().expect("finish");
        out
    }

    #[test]
    fn stylesheet_colours_are_read_and_checked() {
        assert_eq!(css_colour("lc-new"), [0x2f, 0x9e, 0x44]);
        let green = css_colour("lc-new");
        let shot = Shot::decode(&png_with(100, green, 10));
        assert_eq!((shot.width, shot.height), (100, 20));
        assert_eq!(shot.count(green), 200);
        assert_eq!(shot.drawn(), 200);
        assert_chart_shows(
            "screenshot-check-ok.png",
            &png_with(100, green, 10),
            &["lc-new"],
            100,
        );
    }

    #[test]
    #[should_panic(expected = "is blank")]
    fn a_blank_chart_fails() {
        assert_chart_shows(
            "screenshot-check-blank.png",
            &png_with(100, [0, 0, 0], 0),
            &[],
            0,
        );
    }

    #[test]
    #[should_panic(expected = "shows lc-dormant's colour on 0 pixels")]
    fn a_missing_series_colour_fails() {
        let png = png_with(100, css_colour("lc-new"), 50);
        assert_chart_shows(
            "screenshot-check-missing.png",
            &png,
            &["lc-new", "lc-dormant"],
            10,
        );
    }
}
