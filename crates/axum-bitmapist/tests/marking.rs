//! The direct call and the route layer through a real HTTP server, on memory and Redis;
//! marking never hurts a request; shutdown writes the queue; configuration.

use std::sync::Arc;
use std::time::Duration;

use crate::common::redis_cluster::RedisCluster;
use crate::common::{get as http_get, post as http_post, redis_server::RedisServer, serve};
use async_trait::async_trait;
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_bitmapist::{AxumBitmapist, CurrentUser, MarkUser, Settings, Tracker, mark};
use bitmapist::{Bitmap, Bitmapist, Period, TimeGroup};
use bitmapist::{KeyWrite, Store};
use chrono::{TimeZone, Utc};

/// The app's own auth: `?user=N` in the query names the user (a stand-in for a session).
async fn fake_auth(mut req: Request<axum::body::Body>, next: Next) -> axum::response::Response {
    let user = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("user=")))
        .and_then(|v| v.parse::<u32>().ok());
    if let Some(u) = user {
        req.extensions_mut().insert(CurrentUser(u));
    }
    next.run(req).await
}

fn routes() -> Router {
    Router::new()
        .route(
            "/reset",
            post(|| async { "ok" }).layer(mark("user:reset_password")),
        )
        .route(
            "/fail",
            post(|| async { StatusCode::BAD_REQUEST }).layer(mark("user:failed")),
        )
        .route(
            "/boom",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }).layer(mark("user:boom")),
        )
        .route(
            "/signup",
            post(|| async { (Extension(MarkUser(777)), "welcome").into_response() })
                .layer(mark("user:signed_up")),
        )
        .route(
            "/fixed",
            post(|| async { "ok" }).layer(
                mark("user:fixed").hourly(true).unique(true).at(Utc
                    .with_ymd_and_hms(2024, 12, 30, 7, 0, 0)
                    .single()
                    .expect("valid")),
            ),
        )
        .route(
            "/direct",
            get(|tracker: Tracker| async move {
                let mine = tracker.mark_event("user:action_taken").is_ok();
                tracker
                    .mark_event_for("order:shipped", 5000)
                    .expect("queued");
                format!("{mine}")
            }),
        )
}

async fn app(ext: &AxumBitmapist) -> std::net::SocketAddr {
    serve(ext.init_app(routes()).layer(middleware::from_fn(fake_auth))).await
}

async fn today(client: &Bitmapist, event: &str) -> Vec<u32> {
    client
        .get_event_data(event, TimeGroup::Days, Utc::now())
        .expect("query")
        .ids()
        .await
        .expect("ids")
        .collect()
}

async fn every_way_marks(ext: AxumBitmapist) {
    let addr = app(&ext).await;
    assert_eq!(http_post(addr, "/reset?user=1", None).await.status, 200);
    assert_eq!(http_post(addr, "/reset?user=2", None).await.status, 200);
    assert_eq!(
        http_post(addr, "/reset", None).await.status,
        200,
        "no user: answered, nothing marked"
    );
    assert_eq!(http_post(addr, "/fail?user=3", None).await.status, 400);
    assert_eq!(http_post(addr, "/boom?user=4", None).await.status, 500);
    assert_eq!(http_post(addr, "/signup", None).await.status, 200);
    assert_eq!(http_post(addr, "/fixed?user=9", None).await.status, 200);
    let r = http_get(addr, "/direct?user=11", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "true"));
    let r = http_get(addr, "/direct", None).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "false"),
        "no user: mark_event says so"
    );

    ext.shutdown().await.expect("shutdown writes the queue");
    let c = ext.client();
    assert_eq!(
        today(c, "user:reset_password").await,
        vec![1, 2],
        "each request's own user"
    );
    assert!(
        today(c, "user:failed").await.is_empty(),
        "a 4xx marks nothing"
    );
    assert!(
        today(c, "user:boom").await.is_empty(),
        "a 5xx marks nothing"
    );
    assert_eq!(
        today(c, "user:signed_up").await,
        vec![777],
        "MarkUser in the response wins"
    );
    assert_eq!(today(c, "user:action_taken").await, vec![11]);
    assert_eq!(
        today(c, "order:shipped").await,
        vec![5000],
        "two requests, one user"
    );
    // The fixed-time layer: hour, unique and ISO week 2025-1 of 2024-12-30.
    let hour = Period::hour(
        chrono::NaiveDate::from_ymd_opt(2024, 12, 30).expect("date"),
        7,
    )
    .expect("hour");
    assert!(
        c.events("user:fixed", hour)
            .contains(9)
            .await
            .expect("hour")
    );
    assert!(
        c.events("user:fixed", Period::unique())
            .contains(9)
            .await
            .expect("unique")
    );
    assert!(
        c.events("user:fixed", Period::week(2025, 1).expect("week"))
            .contains(9)
            .await
            .expect("week")
    );
    let stats = ext.stats();
    assert_eq!(stats.written, stats.queued);
    assert_eq!(stats.dropped, 0);
}

#[tokio::test]
async fn every_way_marks_on_memory() {
    every_way_marks(
        AxumBitmapist::builder()
            .url("memory://")
            .build()
            .await
            .expect("build"),
    )
    .await;
}

#[tokio::test]
async fn every_way_marks_on_redis() {
    let server = RedisServer::start();
    every_way_marks(
        AxumBitmapist::builder()
            .url(server.url())
            .build()
            .await
            .expect("build"),
    )
    .await;
}

/// Every way to mark works on a Redis Cluster; then a primary dies under a running app:
/// every request is still answered at once, the queue's failed batches are counted as
/// store errors, and marks made after the replica is promoted land.
#[test]
fn every_way_marks_on_a_cluster_and_a_failover_only_counts_store_errors() {
    let mut cluster = RedisCluster::start(3, 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = cluster.url();
    rt.block_on(async {
        every_way_marks(
            AxumBitmapist::builder()
                .url(url.clone())
                .build()
                .await
                .expect("build"),
        )
        .await;
    });

    // Calls give up after 300 ms, so that failures during the failover show.
    let ext = rt
        .block_on(
            AxumBitmapist::builder()
                .url(format!("{url}?timeout_ms=300&connect_timeout_ms=200"))
                .disable_blueprint(true)
                .build(),
        )
        .expect("build");
    let addr = rt.block_on(app(&ext));
    // The victim owns today's day key of the marked event.
    let day_key = ext.client().layout().key(
        "user:reset_password",
        &Period::containing(TimeGroup::Days, Utc::now()).expect("today"),
    );
    let mut raw = cluster.raw_connection();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&day_key)
        .query(&mut raw)
        .expect("KEYSLOT");
    let (victim, _) = cluster.slot_owner_and_other(slot);
    cluster.kill(victim);
    let killed = std::time::Instant::now();
    let mut uid = 1000u32;
    while killed.elapsed() < Duration::from_millis(2500) {
        let status = rt
            .block_on(http_post(addr, &format!("/reset?user={uid}"), None))
            .status;
        assert_eq!(status, 200, "a request during the failover is answered");
        uid += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.wait_failover(victim, Duration::from_secs(30));
    // After a call gives up, the store fails at once for max(connect timeout, 1 s), then
    // probes: marks made once that window has passed land.
    std::thread::sleep(Duration::from_millis(1500));
    for later in 5000..5010u32 {
        let status = rt
            .block_on(http_post(addr, &format!("/reset?user={later}"), None))
            .status;
        assert_eq!(status, 200);
    }
    rt.block_on(ext.shutdown())
        .expect("shutdown writes the queue");
    let s = ext.stats();
    eprintln!("during a failover: {s:?}");
    assert!(s.store_errors >= 1, "{s:?}");
    assert_eq!(s.dropped, 0, "{s:?}");
    assert!(s.written >= 10, "{s:?}");
    let ids = rt.block_on(today(ext.client(), "user:reset_password"));
    for later in 5000..5010u32 {
        assert!(ids.contains(&later), "{later} marked after the failover");
    }
}

/// A store that fails every call.
#[derive(Debug)]
struct Broken;

#[async_trait]
impl Store for Broken {
    async fn write(&self, _: &[KeyWrite]) -> bitmapist::Result<()> {
        Err(bitmapist::Error::Io {
            context: "broken store".into(),
            source: std::io::Error::other("down"),
        })
    }
    async fn get(&self, _: &[String]) -> bitmapist::Result<Vec<Option<Bitmap>>> {
        Err(bitmapist::Error::Io {
            context: "broken store".into(),
            source: std::io::Error::other("down"),
        })
    }
    async fn put(&self, _: &[(String, Bitmap)]) -> bitmapist::Result<()> {
        Ok(())
    }
    async fn keys(&self, _: &str) -> bitmapist::Result<Vec<String>> {
        Ok(vec![])
    }
    async fn delete(&self, _: &[String]) -> bitmapist::Result<u64> {
        Ok(0)
    }
    async fn flush(&self) -> bitmapist::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "broken://".into()
    }
}

/// A store whose writes take a long time.
#[derive(Debug)]
struct Slow(bitmapist::MemoryStore);

#[async_trait]
impl Store for Slow {
    async fn write(&self, w: &[KeyWrite]) -> bitmapist::Result<()> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.0.write(w).await
    }
    async fn get(&self, k: &[String]) -> bitmapist::Result<Vec<Option<Bitmap>>> {
        self.0.get(k).await
    }
    async fn put(&self, e: &[(String, Bitmap)]) -> bitmapist::Result<()> {
        self.0.put(e).await
    }
    async fn keys(&self, p: &str) -> bitmapist::Result<Vec<String>> {
        self.0.keys(p).await
    }
    async fn delete(&self, k: &[String]) -> bitmapist::Result<u64> {
        self.0.delete(k).await
    }
    async fn flush(&self) -> bitmapist::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "slow://".into()
    }
}

#[tokio::test]
async fn a_store_error_never_turns_a_2xx_into_an_error() {
    let ext = AxumBitmapist::builder()
        .client(Bitmapist::new(Arc::new(Broken)))
        .disable_blueprint(true)
        .build()
        .await
        .expect("build");
    let addr = app(&ext).await;
    for _ in 0..5 {
        assert_eq!(http_post(addr, "/reset?user=1", None).await.status, 200);
    }
    ext.shutdown().await.expect("shutdown");
    let s = ext.stats();
    assert_eq!(s.queued, 5);
    assert!(s.store_errors >= 1, "{s:?}");
    assert_eq!(s.written, 0);
}

#[tokio::test]
async fn a_slow_store_never_delays_requests_beyond_the_queue() {
    let ext = AxumBitmapist::builder()
        .client(Bitmapist::new(Arc::new(Slow(Default::default()))))
        .queue_capacity(4)
        .disable_blueprint(true)
        .build()
        .await
        .expect("build");
    let addr = app(&ext).await;
    let started = std::time::Instant::now();
    for uid in 0..40 {
        assert_eq!(
            http_post(addr, &format!("/reset?user={uid}"), None)
                .await
                .status,
            200
        );
    }
    // Forty requests against a store that takes 300 ms a write: were they waiting on it,
    // this would take at least 40 x 300 ms.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    ext.shutdown().await.expect("shutdown");
    let s = ext.stats();
    assert!(s.dropped > 0, "a full queue drops marks: {s:?}");
    assert_eq!(s.queued + s.dropped, 40);
    assert_eq!(
        s.written, s.queued,
        "every accepted mark is written by shutdown"
    );
    assert_eq!(
        today(ext.client(), "user:reset_password").await.len() as u64,
        s.queued
    );
}

#[test]
fn shutdown_then_reopen_counts_every_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("app.redb").display());
    // One runtime for the app; when it is dropped, the server and every clone go with it.
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let ext = AxumBitmapist::builder()
                .url(&url)
                .build()
                .await
                .expect("build");
            let addr = app(&ext).await;
            for uid in 0..25 {
                assert_eq!(
                    http_post(addr, &format!("/reset?user={uid}"), None)
                        .await
                        .status,
                    200
                );
            }
            ext.shutdown().await.expect("shutdown");
        });
    let n = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let bm = Bitmapist::open(&url).await.expect("reopen");
            bm.get_event_data("user:reset_password", TimeGroup::Days, Utc::now())
                .expect("query")
                .count()
                .await
                .expect("count")
        });
    assert_eq!(n, 25);
}

#[tokio::test]
async fn without_init_app_the_extractor_says_so_and_the_layer_passes_through() {
    let addr = serve(routes()).await;
    let r = http_get(addr, "/direct?user=1", None).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("init_app"), "{}", r.body);
    assert_eq!(http_post(addr, "/reset?user=1", None).await.status, 200);
}

#[tokio::test]
async fn ids_that_are_not_u32_are_counted_not_panicked() {
    #[derive(Clone)]
    struct BigId(i64);
    let ext = AxumBitmapist::builder()
        .url("memory://")
        .user_source(axum_bitmapist::UserSource::from_fn(|parts| {
            use axum_bitmapist::IntoUserId;
            parts
                .extensions
                .get::<BigId>()
                .map(|b| b.0.user_id())
                .transpose()
        }))
        .build()
        .await
        .expect("build");
    let app = ext
        .init_app(Router::new().route(
            "/reset",
            post(|| async { "ok" }).layer(mark("user:reset_password")),
        ))
        .layer(middleware::from_fn(
            |mut req: Request<axum::body::Body>, next: Next| async move {
                req.extensions_mut().insert(BigId(-5));
                next.run(req).await
            },
        ));
    let addr = serve(app).await;
    assert_eq!(http_post(addr, "/reset", None).await.status, 200);
    ext.shutdown().await.expect("shutdown");
    assert_eq!(ext.stats().user_id_errors, 1);
    assert!(today(ext.client(), "user:reset_password").await.is_empty());
}

#[test]
fn settings_from_the_environment_names_bad_variables() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let s = Settings::from_vars(vars(&[
        ("BITMAPIST_REDIS_URL", "redis://127.0.0.1:6399/2"),
        ("BITMAPIST_REDIS_SYSTEM", "analytics"),
        ("BITMAPIST_TRACK_HOURLY", "true"),
        ("BITMAPIST_DISABLE_BLUEPRINT", "1"),
        ("BITMAPIST_QUEUE_CAPACITY", "128"),
    ]))
    .expect("good settings");
    assert!(s.disable_blueprint && s.engine.track_hourly);
    assert_eq!(
        (s.engine.system.as_str(), s.queue_capacity),
        ("analytics", 128)
    );
    for (var, value) in [
        ("BITMAPIST_DISABLE_BLUEPRINT", "perhaps"),
        ("BITMAPIST_QUEUE_CAPACITY", "0"),
        ("BITMAPIST_QUEUE_CAPACITY", "lots"),
        ("BITMAPIST_TRACK_HOURLY", "2"),
        ("BITMAPIST_REDIS_URL", "mysql://x"),
    ] {
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(var, value)]));
        let err = Settings::from_vars(vars(pairs)).expect_err("bad value");
        assert!(err.to_string().contains(var), "{err} names {var}");
    }
}
