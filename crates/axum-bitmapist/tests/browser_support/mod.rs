//! What the browser tests share: finding Chromium and ChromeDriver (or failing with the
//! install hint), a chromedriver killed on drop, a headless session, screenshots, JSON.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
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
