//! Headless Chromium for the dashboard's browser tests of every web adapter (feature
//! `browser`): finding Chromium and ChromeDriver (or failing with the install hint, never
//! skipping), a chromedriver killed on drop, a WebDriver session, and the page's Content
//! Security Policy violations.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// How to install what the browser tests need.
pub const INSTALL_HINT: &str = "install them with `apt-get install -y chromium chromium-driver` \
     (Debian/Ubuntu; `.ci/run` does it), or point BITMAPIST_CHROMIUM / BITMAPIST_CHROMEDRIVER \
     at your binaries";

/// The first of `names` in `PATH` or the usual places.
pub fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"].map(PathBuf::from))
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn find(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => find_in_path(names),
    }
}

/// Chromium and ChromeDriver, or a panic naming what is missing and how to install it.
pub fn binaries() -> (PathBuf, PathBuf) {
    let chromium = find(
        "BITMAPIST_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let driver = find("BITMAPIST_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, driver) {
        (Some(c), Some(d)) => (c, d),
        (c, d) => panic!(
            "the dashboard's browser tests need Chromium and ChromeDriver (missing: {}{}); {INSTALL_HINT}",
            if c.is_none() { "chromium " } else { "" },
            if d.is_none() { "chromedriver" } else { "" },
        ),
    }
}

/// A running chromedriver on a free port, killed on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts `driver` and waits until it listens.
    pub fn start(driver: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        // Where util-linux's setpriv exists, the driver dies with the test even on abort.
        let mut cmd = match find_in_path(&["setpriv"]) {
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
            .unwrap_or_else(|e| {
                panic!("could not start {}: {e}; {INSTALL_HINT}", driver.display())
            });
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

    /// A headless session (1280x800) with its profile in `profile`, recording every
    /// document's CSP violations in `window.__cspViolations` (see [`csp_violations`]).
    pub async fn session(&self, chromium: &Path, profile: &Path) -> Client {
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
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match builder.connect(&url).await {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start a Chromium session: {e}; {INSTALL_HINT}"),
            }
        };
        client
            .issue_cmd(Cdp(json!({
                "cmd": "Page.addScriptToEvaluateOnNewDocument",
                "params": {"source": "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"}
            })))
            .await
            .expect("the CDP command recording CSP violations");
        client
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
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// The current document's CSP violations (`None` when the recorder is missing).
pub async fn csp_violations(c: &Client) -> Option<Vec<String>> {
    let v = c
        .execute("return window.__cspViolations || null;", vec![])
        .await
        .expect("execute");
    serde_json::from_value(v).ok()
}
