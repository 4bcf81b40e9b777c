//! The route middleware's cost per request: the same handler behind `mark("page:hello")`
//! and without it, in one app, called in process through actix-web's whole service stack
//! (`actix_web::test::call_service`), interleaved by criterion in one run. The extension's
//! queue worker runs on a separate Tokio runtime, as it does beside actix's workers.
//!
//! Run: `cargo bench -p actix-bitmapist --bench mark_middleware`

use std::time::{Duration, Instant};

use actix_bitmapist::{ActixBitmapist, CurrentUser, mark};
use actix_web::test::{TestRequest, call_service, init_service};
use actix_web::{App, HttpMessage, web};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let queue_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let ext = queue_rt.block_on(async {
        ActixBitmapist::builder()
            .url("memory://")
            .disable_blueprint(true)
            .build()
            .await
            .expect("build")
    });
    let system = actix_web::rt::System::new();
    let app = system.block_on(init_service(
        App::new()
            .configure(ext.init_app())
            .route("/plain", web::get().to(|| async { "hi" }))
            .route(
                "/marked",
                web::get().to(|| async { "hi" }).wrap(mark("page:hello")),
            ),
    ));
    let mut group = c.benchmark_group("actix_mark_middleware");
    group.measurement_time(Duration::from_secs(4));
    for (name, path) in [("unmarked", "/plain"), ("marked", "/marked")] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                system.block_on(async {
                    let started = Instant::now();
                    for i in 0..iters {
                        let req = TestRequest::get().uri(path).to_request();
                        req.extensions_mut().insert(CurrentUser(i as u32));
                        let res = call_service(&app, req).await;
                        assert!(res.status().is_success());
                    }
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
    queue_rt.block_on(ext.shutdown()).expect("shutdown");
    let s = ext.stats();
    println!(
        "marks queued {} written {} dropped {} (a drop is counted, never waited for)",
        s.queued, s.written, s.dropped
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
