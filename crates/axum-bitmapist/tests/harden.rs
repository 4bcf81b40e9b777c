//! Dashboard under load and failure: cohort tables run off the async workers and
//! a bounded number at once (503 + `Retry-After` past it, cheap routes unaffected), and a
//! Redis store that went down answers 503 at once, without trying every sub-request.

use bitmapist_test_support::redis_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::dashboard_support::{NOW, fill, get};
use async_trait::async_trait;
use axum::Router;
use axum::http::StatusCode;
use axum_bitmapist::{Access, Dashboard};
use bitmapist::{Bitmap, Bitmapist, CohortSpec};
use bitmapist::{KeyWrite, MemoryStore, Store};
use redis_server::RedisServer;
use tokio::sync::Semaphore;

/// A memory store whose reads of bitmaps (what a cohort does) wait for a permit, so that
/// a test holds cohort computations in flight for as long as it wants (the overview's
/// year charts read bitmaps too); listing and counting never wait.
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

const COHORT: &str = "/bitmapist/api/cohort?primary_event=user:signed_up\
                      &secondary_event=user:logged_in&num_rows=3&num_cols=3&now=2026-11-22";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heavy_requests_are_bounded_and_cheap_ones_stay_served() {
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
    let app: Router = Router::new().nest(
        "/bitmapist",
        Dashboard::new(bm.clone())
            .access(Access::Public)
            .max_heavy_requests(2)
            .router(),
    );
    // Two cohorts start and block in the store.
    let held: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, COHORT).await })
        })
        .collect();
    while store.waiting.load(Ordering::SeqCst) < 2 {
        if let Some(done) = held.iter().position(|h| h.is_finished()) {
            let a = held
                .into_iter()
                .nth(done)
                .expect("the task")
                .await
                .expect("task");
            panic!(
                "a cohort finished without reading the store: {} {}",
                a.status, a.body
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // A third is refused at once, on every heavy route, with Retry-After.
    for uri in [
        COHORT.to_string(),
        COHORT.replace("/api/cohort?", "/api/cohort.csv?"),
        COHORT.replace("/api/cohort?", "/cohort?"),
    ] {
        let busy = get(&app, &uri).await;
        assert_eq!(
            busy.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}: {}",
            busy.body
        );
        assert_eq!(busy.header("retry-after"), "1", "{uri}");
        assert!(busy.body.contains("busy"), "{uri}: {}", busy.body);
    }
    let legacy = crate::dashboard_support::post(
        &app,
        "/bitmapist/cohort?json=1",
        r#"{"primary_event":"user:signed_up","secondary_event":"user:logged_in"}"#,
    )
    .await;
    assert_eq!(
        legacy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        legacy.body
    );
    assert_eq!(legacy.header("retry-after"), "1");
    // Cheap routes are answered while the heavy ones wait.
    let api = get(&app, "/bitmapist/api").await;
    assert_eq!(api.status, StatusCode::OK);
    // Released, the held ones finish with the right table, and capacity is back.
    gate.add_permits(1_000_000);
    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .rows(3)
        .cols(3)
        .now(crate::dashboard_support::nov(22, 12));
    let expected =
        serde_json::to_value(bm.get_cohort(&spec).await.expect("cohort").cohort).expect("JSON");
    for h in held {
        let a = h.await.expect("task");
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.json()["cohort"], expected, "{}", a.body);
    }
    let events = get(&app, &format!("/bitmapist/api/events?now={NOW}")).await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let again = get(&app, COHORT).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_store_that_went_down_answers_503_at_once() {
    let redis = RedisServer::start();
    let url = format!("{}?connect_timeout_ms=5000", redis.url());
    let bm = Bitmapist::open(&url).await.expect("connect");
    fill(&bm).await;
    let app = crate::dashboard_support::app(&bm, Access::Public);
    assert_eq!(
        get(&app, &format!("/bitmapist/api/events?now={NOW}"))
            .await
            .status,
        StatusCode::OK
    );
    drop(redis);
    // The first request finds it gone; the page right after fails without a new attempt.
    let api = get(&app, &format!("/bitmapist/api/events?now={NOW}")).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{}", api.body);
    assert_eq!(api.header("retry-after"), "1");
    assert!(
        api.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("store failed"))
    );
    let page = get(&app, &format!("/bitmapist?now={NOW}")).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.body.contains("not retried yet"), "{}", page.body);
    let cohort = get(&app, COHORT).await;
    assert_eq!(
        cohort.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        cohort.body
    );
    assert!(cohort.body.contains("not retried yet"), "{}", cohort.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_bound_answers_what_the_core_answers() {
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
    let app: Router = Router::new().nest(
        "/bitmapist",
        Dashboard::new(bm.clone())
            .access(Access::Public)
            .max_heavy_requests(1)
            .router(),
    );
    let core = bitmapist_web::Dashboard::new(bm.clone())
        .access(bitmapist_web::Access::Public)
        .max_heavy_requests(1)
        .build();
    // One cohort holds the axum router's permit, one the core's.
    let held_app = {
        let app = app.clone();
        tokio::spawn(async move { get(&app, COHORT).await })
    };
    let held_core = {
        let core = core.clone();
        let (path, query) = COHORT.split_once('?').expect("a query");
        let req = bitmapist_web::DashboardRequest {
            path: path.trim_start_matches("/bitmapist").to_string(),
            query: Some(query.to_string()),
            mount: "/bitmapist".into(),
            ..Default::default()
        };
        tokio::spawn(async move { core.handle(req).await })
    };
    while store.waiting.load(Ordering::SeqCst) < 2 {
        assert!(!held_app.is_finished() && !held_core.is_finished());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for uri in [
        COHORT.to_string(),
        format!("/bitmapist/funnel?step=user:signed_up&step=user:logged_in&now={NOW}"),
        format!("/bitmapist/api/events?now={NOW}"),
    ] {
        let a = get(&app, &uri).await;
        let (path, query) = uri.split_once('?').expect("a query");
        let c = core
            .handle(bitmapist_web::DashboardRequest {
                path: path.trim_start_matches("/bitmapist").to_string(),
                query: Some(query.to_string()),
                mount: "/bitmapist".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(a.status, c.status, "{uri}");
        assert_eq!(a.body, String::from_utf8_lossy(&c.body), "{uri}");
        for (name, value) in &c.headers {
            assert_eq!(a.headers.get(name), Some(value), "{uri}: {name}");
        }
        assert_eq!(a.header("retry-after"), "1");
    }
    gate.add_permits(1_000_000);
    assert_eq!(held_app.await.expect("task").status, StatusCode::OK);
    assert_eq!(held_core.await.expect("task").status, StatusCode::OK);
}
