//! The mark layer's cost per request: the same route, marked and unmarked, under a
//! concurrent in-process load, on the embedded store and on Redis, in one run.
//! Run: `cargo bench -p axum-bitmapist --bench mark_layer` (starts its own redis-server).

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum_bitmapist::{AxumBitmapist, CurrentUser, mark};
use tower::ServiceExt;

use bitmapist_test_support::redis_server;

const TASKS: u32 = 16;
const PER_TASK: u32 = 25_000;

/// Requests per second through `app` with TASKS concurrent clients.
async fn load(app: Router) -> f64 {
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let mut req = Request::get("/hello").body(Body::empty()).expect("request");
                req.extensions_mut().insert(CurrentUser(t * PER_TASK + i));
                let res = app.clone().oneshot(req).await.expect("response");
                assert!(res.status().is_success());
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    f64::from(TASKS * PER_TASK) / started.elapsed().as_secs_f64()
}

async fn measure(name: &str, url: &str) {
    let ext = AxumBitmapist::builder()
        .url(url)
        .disable_blueprint(true)
        .build()
        .await
        .expect("build");
    let plain = ext.init_app(Router::new().route("/hello", get(|| async { "hi" })));
    let marked = ext
        .init_app(Router::new().route("/hello", get(|| async { "hi" }).layer(mark("page:hello"))));
    // Warm up both, then alternate to share the machine's noise.
    load(plain.clone()).await;
    load(marked.clone()).await;
    let (mut p, mut m) = (0.0, 0.0);
    for _ in 0..3 {
        p += load(plain.clone()).await / 3.0;
        m += load(marked.clone()).await / 3.0;
    }
    ext.shutdown().await.expect("shutdown");
    let s = ext.stats();
    let overhead_us = (1.0 / m - 1.0 / p) * 1e6;
    println!(
        "{name:<9} unmarked {p:>10.0} req/s   marked {m:>10.0} req/s   added {overhead_us:>6.2} µs/request   marks written {} dropped {}",
        s.written, s.dropped
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = redis_server::RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = format!("file://{}", dir.path().join("bench.redb").display());
    rt.block_on(async {
        println!(
            "{} concurrent clients x {PER_TASK} requests, 3 rounds each",
            TASKS
        );
        measure("embedded", &file).await;
        measure("redis", &redis.url()).await;
    });
}
