//! What the topic modules share: a small store, requests mounted at `/bitmapist`, the
//! answer's parts, and a store whose bitmap reads wait for a gate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bitmapist::{Bitmap, Bitmapist, KeyWrite, MarkOptions, MemoryStore, Store};
use bitmapist_web::{Access, Dashboard, DashboardCore, DashboardRequest, DashboardResponse};
use chrono::{DateTime, TimeZone, Utc};
use http::Method;
use tokio::sync::Semaphore;

pub const NOW: &str = "2026-11-22T12:00:00Z";

pub fn nov(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
        .single()
        .expect("a valid time")
}

/// Sign-ups on Nov 20 and 21, logins on Nov 21 and 22.
pub async fn fill(bm: &Bitmapist) {
    let mut marks: Vec<(&str, u32, DateTime<Utc>)> = Vec::new();
    marks.extend((1..=10).map(|u| ("user:signed_up", u, nov(20, 9))));
    marks.extend((11..=15).map(|u| ("user:signed_up", u, nov(21, 9))));
    marks.extend((1..=4).map(|u| ("user:logged_in", u, nov(21, 10))));
    marks.extend([1, 2, 11, 12, 13].map(|u| ("user:logged_in", u, nov(22, 8))));
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
}

pub async fn core(access: Access) -> DashboardCore {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    fill(&bm).await;
    Dashboard::new(bm)
        .access(access)
        .event_names_ttl(Duration::ZERO)
        .build()
}

pub fn local() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 50_000)))
}

/// `GET path?query` from `peer`, mounted at `/bitmapist`.
pub fn get(path_and_query: &str, peer: Option<SocketAddr>) -> DashboardRequest {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (path_and_query, None),
    };
    DashboardRequest {
        method: Method::GET,
        path: path.to_string(),
        query,
        peer,
        mount: "/bitmapist".into(),
        ..DashboardRequest::default()
    }
}

pub fn text(res: &DashboardResponse) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

pub fn header<'a>(res: &'a DashboardResponse, name: &str) -> &'a str {
    res.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub fn json(res: &DashboardResponse) -> serde_json::Value {
    serde_json::from_slice(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(res)))
}

pub fn assert_send<T: Send>(t: T) -> T {
    t
}

/// `GET path?query` with no peer address (for public cores).
pub fn get_as(path_and_query: &str) -> DashboardRequest {
    get(path_and_query, None)
}

/// A memory store whose bitmap reads wait for a permit of `gate`.
#[derive(Debug)]
pub struct GatedStore {
    inner: MemoryStore,
    /// Reads wait for one of its permits.
    pub gate: Arc<Semaphore>,
    waiting: AtomicUsize,
}

#[async_trait]
impl Store for GatedStore {
    async fn write(&self, writes: &[KeyWrite]) -> bitmapist::Result<()> {
        self.inner.write(writes).await
    }
    async fn get(&self, keys: &[String]) -> bitmapist::Result<Vec<Option<Bitmap>>> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = self.gate.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        self.inner.get(keys).await
    }
    async fn put(&self, entries: &[(String, Bitmap)]) -> bitmapist::Result<()> {
        self.inner.put(entries).await
    }
    async fn count(&self, keys: &[String]) -> bitmapist::Result<Vec<u64>> {
        self.inner.count(keys).await
    }
    async fn keys(&self, prefix: &str) -> bitmapist::Result<Vec<String>> {
        self.inner.keys(prefix).await
    }
    async fn delete(&self, keys: &[String]) -> bitmapist::Result<u64> {
        self.inner.delete(keys).await
    }
    async fn flush(&self) -> bitmapist::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "gated memory store".into()
    }
}

impl GatedStore {
    /// A gated store with no permits: every bitmap read waits.
    pub fn closed() -> Arc<Self> {
        Arc::new(GatedStore {
            inner: MemoryStore::new(),
            gate: Arc::new(Semaphore::new(0)),
            waiting: AtomicUsize::new(0),
        })
    }

    /// Waits until `n` reads wait at the gate (polling; `ready` says whether to go on).
    pub async fn until_waiting(&self, n: usize, still_running: impl Fn() -> bool) {
        while self.waiting.load(Ordering::SeqCst) < n {
            assert!(
                still_running(),
                "the request finished without reading the store"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
