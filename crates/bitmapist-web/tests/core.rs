//! The core on its own, through `DashboardCore::handle` and no web framework: routing and
//! 404/405, the loopback guard with and without proxy headers, `forbidden`, a 400 naming
//! its parameter, the 503 + `Retry-After` of a full heavy bound, the security headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bitmapist::{Bitmap, Bitmapist, KeyWrite, MarkOptions, MemoryStore, Store};
use bitmapist_web::{
    Access, CONTENT_SECURITY_POLICY, Dashboard, DashboardCore, DashboardRequest, DashboardResponse,
    MAX_BODY_BYTES,
};
use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tokio::sync::Semaphore;

const NOW: &str = "2026-11-22T12:00:00Z";

fn nov(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
        .single()
        .expect("a valid time")
}

/// Sign-ups on Nov 20 and 21, logins on Nov 21 and 22.
async fn fill(bm: &Bitmapist) {
    let mut marks: Vec<(&str, u32, DateTime<Utc>)> = Vec::new();
    marks.extend((1..=10).map(|u| ("user:signed_up", u, nov(20, 9))));
    marks.extend((11..=15).map(|u| ("user:signed_up", u, nov(21, 9))));
    marks.extend((1..=4).map(|u| ("user:logged_in", u, nov(21, 10))));
    marks.extend([1, 2, 11, 12, 13].map(|u| ("user:logged_in", u, nov(22, 8))));
    bm.mark_events(marks, MarkOptions::default())
        .await
        .expect("marks");
}

async fn core(access: Access) -> DashboardCore {
    let bm = Bitmapist::open("memory://").await.expect("memory store");
    fill(&bm).await;
    Dashboard::new(bm)
        .access(access)
        .event_names_ttl(Duration::ZERO)
        .build()
}

fn local() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 50_000)))
}

/// `GET path?query` from `peer`, mounted at `/bitmapist`.
fn get(path_and_query: &str, peer: Option<SocketAddr>) -> DashboardRequest {
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

fn text(res: &DashboardResponse) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

fn header<'a>(res: &'a DashboardResponse, name: &str) -> &'a str {
    res.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn json(res: &DashboardResponse) -> serde_json::Value {
    serde_json::from_slice(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(res)))
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn routes_404_and_405() {
    let core = core(Access::LoopbackOnly).await;
    // The future is Send (adapters spawn it).
    let res = assert_send(core.handle(get(&format!("/?now={NOW}"), local()))).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/html"));
    assert!(text(&res).contains("user:signed_up"));
    // "" and "/" are both the overview, with the same links.
    let empty = core.handle(get(&format!("?now={NOW}"), local())).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body, res.body);
    for (path, kind) in [
        ("/cohort", "text/html"),
        ("/funnel", "text/html"),
        ("/events/user%3Asigned_up", "text/html"),
        ("/api", "application/json"),
        ("/api/events", "application/json"),
        ("/api/events/user:signed_up", "application/json"),
        ("/api/events/user:signed_up/stickiness", "application/json"),
        ("/assets/dashboard.css", "text/css"),
    ] {
        let res = core
            .handle(get(&format!("{path}?now={NOW}"), local()))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", text(&res));
        assert!(header(&res, "content-type").starts_with(kind), "{path}");
    }
    // The event name is a percent-decoded path segment: `a/b` is one name.
    let res = core
        .handle(get("/api/events/no%2Fsuch?now=2026-11-22", local()))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(json(&res)["name"], "no/such");
    for path in [
        "/nope",
        "/cohort/",
        "/events/",
        "/events/a/b",
        "/assets/x.css",
    ] {
        let res = core.handle(get(path, local())).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            header(&res, "content-type").starts_with("text/html"),
            "{path}"
        );
    }
    let res = core.handle(get("/api/nope", local())).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(json(&res)["error"].is_string());
    let mut delete = get("/api/events", local());
    delete.method = Method::DELETE;
    let res = core.handle(delete).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&res, "allow"), "GET,HEAD");
    // A body past the limit is refused before anything reads it.
    let mut post = get("/cohort", local());
    post.method = Method::POST;
    post.body = vec![b' '; MAX_BODY_BYTES + 1].into();
    let res = core.handle(post).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn links_start_with_the_mount_path() {
    let core = core(Access::Public).await;
    for mount in ["/admin/stats", "/admin/stats/"] {
        let mut req = get("/cohort", None);
        req.query = Some("now=2026-11-22".into());
        req.mount = mount.into();
        let html = text(&core.handle(req).await);
        assert!(html.contains(r#"action="/admin/stats/cohort""#), "{mount}");
        assert!(html.contains(r#"href="/admin/stats/assets/dashboard.css?v="#));
        assert!(html.contains(r#"href="/admin/stats/api/cohort?primary_event="#));
    }
}

#[tokio::test]
async fn the_loopback_guard() {
    let core = core(Access::LoopbackOnly).await;
    let v6: SocketAddr = "[::1]:4000".parse().expect("addr");
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:4000".parse().expect("addr");
    for peer in [local(), Some(v6), Some(mapped)] {
        let res = core.handle(get("/api/events", peer)).await;
        assert_eq!(res.status, StatusCode::OK, "{peer:?}");
    }
    let remote: SocketAddr = "10.1.2.3:4000".parse().expect("addr");
    let res = core.handle(get("/api/events", Some(remote))).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        json(&res)["error"]
            .as_str()
            .is_some_and(|e| e.contains("10.1.2.3"))
    );
    assert!(!text(&res).contains("user:signed_up"), "nothing leaks");
    let res = core.handle(get("/cohort", Some(remote))).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(header(&res, "content-type").starts_with("text/html"));
    // No peer address: refused, saying how to fix it.
    let res = core.handle(get("/", None)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(text(&res).contains("peer address"), "{}", text(&res));
    // A loopback peer behind a proxy is refused, naming the header.
    for name in ["forwarded", "x-forwarded-for", "x-real-ip"] {
        let mut req = get("/", local());
        req.headers
            .insert(name, HeaderValue::from_static("203.0.113.9"));
        let res = core.handle(req).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{name}");
        assert!(text(&res).contains(name), "{}", text(&res));
    }
    // Public admits anyone, with or without a peer.
    let public = core_public_of(&core);
    assert_eq!(
        public.handle(get("/", Some(remote))).await.status,
        StatusCode::OK
    );
    // An adapter's own guard refuses with the same 403 shape.
    let refused = core.forbidden(&get("/api/events", local()), "not an admin");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(json(&refused)["error"], "not an admin");
    assert_eq!(
        header(&refused, "content-security-policy"),
        CONTENT_SECURITY_POLICY
    );
    let page = core.forbidden(&get("/cohort", local()), "not an <admin>");
    assert!(text(&page).contains("not an &"), "{}", text(&page));
    assert!(!text(&page).contains("<admin>"), "escaped: {}", text(&page));
}

/// A public core over the same store.
fn core_public_of(core: &DashboardCore) -> DashboardCore {
    Dashboard::new(core.client().clone())
        .access(Access::Public)
        .build()
}

#[tokio::test]
async fn bad_parameters_are_400_json_naming_them() {
    let core = core(Access::LoopbackOnly).await;
    for (query, param) in [
        ("primary_event=a&secondary_event=b&num_rows=0", "num_rows"),
        (
            "primary_event=a&secondary_event=b&time_group=x",
            "time_group",
        ),
        ("secondary_event=b", "primary_event"),
    ] {
        let res = core
            .handle(get(&format!("/api/cohort?{query}"), local()))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(header(&res, "content-type").starts_with("application/json"));
        assert_eq!(json(&res)["param"], param, "{query}");
    }
}

#[tokio::test]
async fn security_headers_on_every_answer() {
    let core = core(Access::LoopbackOnly).await;
    let remote: SocketAddr = "198.51.100.1:1".parse().expect("addr");
    for req in [
        get("/", local()),
        get("/api/events", local()),
        get("/api/cohort", local()),
        get("/nope", local()),
        get("/", Some(remote)),
    ] {
        let path = req.path.clone();
        let res = core.handle(req).await;
        assert_eq!(
            header(&res, "content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        assert_eq!(header(&res, "referrer-policy"), "same-origin");
        assert_eq!(header(&res, "x-frame-options"), "DENY");
        assert_eq!(header(&res, "cache-control"), "no-store");
    }
}

/// A memory store whose bitmap reads wait for a permit of `gate`.
#[derive(Debug)]
struct GatedStore {
    inner: MemoryStore,
    gate: Arc<Semaphore>,
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

const COHORT: &str = "/api/cohort?primary_event=user:signed_up\
                      &secondary_event=user:logged_in&num_rows=3&num_cols=3&now=2026-11-22";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_heavy_bound_is_503_with_retry_after() {
    let gate = Arc::new(Semaphore::new(0));
    let store = Arc::new(GatedStore {
        inner: MemoryStore::new(),
        gate: Arc::clone(&gate),
        waiting: AtomicUsize::new(0),
    });
    let bm = Bitmapist::builder()
        .store(store.clone())
        .open()
        .await
        .expect("open");
    fill(&bm).await;
    let core = Dashboard::new(bm)
        .access(Access::Public)
        .max_heavy_requests(1)
        .build();
    let held = {
        let core = core.clone();
        tokio::spawn(async move { core.handle(get(COHORT, None)).await })
    };
    while store.waiting.load(Ordering::SeqCst) < 1 {
        assert!(!held.is_finished(), "the cohort finished without the store");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for path in [COHORT, "/funnel?step=user:signed_up&step=user:logged_in"] {
        let busy = core.handle(get(path, None)).await;
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(header(&busy, "retry-after"), "1");
        assert!(text(&busy).contains("busy"), "{}", text(&busy));
    }
    gate.add_permits(1_000_000);
    let done = held.await.expect("task");
    assert_eq!(done.status, StatusCode::OK, "{}", text(&done));
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    let again = core
        .handle(DashboardRequest {
            headers,
            ..get(COHORT, None)
        })
        .await;
    assert_eq!(again.status, StatusCode::OK);
}
