//! Shared fixtures of the dashboard tests: a store with marks at fixed times, the app with
//! the dashboard nested at `/bitmapist`, and one-shot requests from a chosen peer address.
//! Included by `tests/dashboard*.rs` and `tests/browser*.rs` under `#[allow(dead_code)]`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use axum_bitmapist::{Access, Dashboard};
use bitmapist::{Bitmapist, MarkOptions};
use chrono::{DateTime, TimeZone, Utc};
use tower::ServiceExt;

pub use bitmapist_test_support::Rng;

/// The moment every test looks from: Sunday 2026-11-22 12:00 UTC (ISO week 2026-W47).
pub const NOW: &str = "2026-11-22T12:00:00Z";
/// An event name that is also HTML.
pub const SCRIPT_EVENT: &str = "<script>alert(1)</script>";
/// An event name with quotes and an ampersand.
pub const QUOTE_EVENT: &str = "quote\"'&name";

/// A UTC time on day `d` of November 2026.
pub fn nov(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
        .single()
        .expect("a valid time")
}

/// A store with a small known history:
///
/// - `user:signed_up`: users 1..=10 on Nov 20, 11..=15 on Nov 21;
/// - `user:logged_in`: 1..=4 on Nov 21; 1, 2, 11, 12, 13 on Nov 22;
/// - `user:bought`: 1 on Nov 22;
/// - the two awkward names: user 1 on Nov 22;
/// - `old:event`: user 7 on 2026-10-01 (not this week).
pub async fn store() -> Bitmapist {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    fill(&bm).await;
    bm
}

/// Writes the history of [`store`] into `bm`.
pub async fn fill(bm: &Bitmapist) {
    let mut marks: Vec<(&str, u32, DateTime<Utc>)> = Vec::new();
    marks.extend((1..=10).map(|u| ("user:signed_up", u, nov(20, 9))));
    marks.extend((11..=15).map(|u| ("user:signed_up", u, nov(21, 9))));
    marks.extend((1..=4).map(|u| ("user:logged_in", u, nov(21, 10))));
    marks.extend([1, 2, 11, 12, 13].map(|u| ("user:logged_in", u, nov(22, 8))));
    marks.push(("user:bought", 1, nov(22, 8)));
    marks.push((SCRIPT_EVENT, 1, nov(22, 8)));
    marks.push((QUOTE_EVENT, 1, nov(22, 8)));
    let oct = Utc
        .with_ymd_and_hms(2026, 10, 1, 12, 0, 0)
        .single()
        .expect("valid");
    marks.push(("old:event", 7, oct));
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
}

/// The app: the dashboard nested at `/bitmapist`, event names never cached.
pub fn app(bm: &Bitmapist, access: Access) -> Router {
    Router::new().nest(
        "/bitmapist",
        Dashboard::new(bm.clone())
            .access(access)
            .event_names_ttl(Duration::ZERO)
            .router(),
    )
}

/// A loopback peer.
pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50_000))
}

/// An answer, read whole.
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends `req` to `app` as if from `peer` (no peer address at all when `None`).
pub async fn send(app: &Router, mut req: Request<Body>, peer: Option<SocketAddr>) -> Answer {
    if let Some(peer) = peer {
        req.extensions_mut().insert(ConnectInfo(peer));
    }
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET uri` from a loopback client.
pub async fn get(app: &Router, uri: &str) -> Answer {
    let req = Request::get(uri).body(Body::empty()).expect("request");
    send(app, req, Some(local())).await
}

/// `POST uri` with `body` from a loopback client.
pub async fn post(app: &Router, uri: &str, body: &str) -> Answer {
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(app, req, Some(local())).await
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Realistic activity for screenshots and browser tests: `users` sign-ups spread over the
/// `days` days up to Nov 22, 2026, each user logging in on later days with a probability
/// that decays with age, buying now and then; and a dozen other events, some idle.
pub async fn synthetic(bm: &Bitmapist, users: u32, days: i64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let end = nov(22, 0);
    let first = end - chrono::Duration::days(days - 1);
    let mut marks: Vec<(&str, u32, DateTime<Utc>)> = Vec::new();
    for uid in 0..users {
        let signup = (rng.next() % days as u64) as i64;
        let t0 = first
            + chrono::Duration::days(signup)
            + chrono::Duration::minutes((rng.next() % 600) as i64);
        marks.push(("user:signed_up", uid, t0));
        marks.push(("user:logged_in", uid, t0));
        for age in 1..(days - signup) {
            let t = t0 + chrono::Duration::days(age);
            if rng.unit() < 0.55 / (1.0 + age as f64 / 4.0) + 0.04 {
                marks.push(("user:logged_in", uid, t));
                if rng.unit() < 0.08 {
                    marks.push(("user:bought", uid, t));
                }
                if rng.unit() < 0.5 {
                    marks.push(("page:viewed", uid, t));
                }
            }
        }
    }
    let others = [
        ("billing:invoice_paid", 0.02),
        ("billing:plan_upgraded", 0.004),
        ("search:performed", 0.2),
        ("report:exported", 0.01),
        ("team:member_invited", 0.006),
        ("settings:changed", 0.03),
    ];
    for d in 0..days {
        let t = first + chrono::Duration::days(d) + chrono::Duration::hours(11);
        for (name, p) in others {
            for uid in 0..users / 4 {
                if rng.unit() < p {
                    marks.push((name, uid, t));
                }
            }
        }
    }
    let long_ago = Utc
        .with_ymd_and_hms(2026, 3, 14, 9, 0, 0)
        .single()
        .expect("valid");
    marks.extend((0..40).map(|u| ("legacy:import_ran", u, long_ago)));
    marks.push((SCRIPT_EVENT, 1, end));
    marks.push((QUOTE_EVENT, 2, end - chrono::Duration::days(3)));
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
}
