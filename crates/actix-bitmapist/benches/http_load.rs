//! Real HTTP load on a demo-like actix-web app: `wrk` against a marked and an unmarked
//! route of the same server, alternating rounds in one run, then the server stops, the
//! extension shuts down, and the queue's `Stats` are compared with wrk's 2xx count of the
//! marked route: every answered marked request must be a written mark (none lost, none
//! dropped). Each request names a different user (`?user=N`, made by a wrk Lua script).
//!
//! Run: `cargo bench -p actix-bitmapist --bench http_load` (needs `wrk`:
//! `apt-get install -y wrk`). `LOAD_SECS` (default 5) sets each round's length.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_bitmapist::{ActixBitmapist, CurrentUser, mark};
use actix_web::dev::Service;
use actix_web::{App, HttpMessage, HttpServer, web};

const ROUNDS: usize = 3;

/// The marked route's handler runs: wrk does not count requests still in flight when a
/// run ends, which the server answers (and marks) all the same.
static MARKED_ANSWERED: AtomicU64 = AtomicU64::new(0);

/// One wrk run: (requests, non-2xx answers, socket errors, requests per second).
fn wrk(url: &str, script: &std::path::Path, secs: u64) -> (u64, u64, u64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{secs}s"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("running wrk failed ({e}); install it: apt-get install -y wrk"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number_before = |needle: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.contains(needle))?;
        line.split_whitespace().find_map(|w| w.parse::<u64>().ok())
    };
    let requests = number_before(" requests in ").expect("wrk's request count");
    let non_2xx = number_before("Non-2xx").unwrap_or(0);
    let errors = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("wrk's requests/sec");
    (requests, non_2xx, errors, rps)
}

fn main() {
    let secs: u64 = std::env::var("LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("users.lua");
    std::fs::write(
        &script,
        "local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, wrk.path .. \"?user=\" .. n)\nend\n",
    )
    .expect("write the wrk script");
    let store = format!("file://{}", dir.path().join("load.redb").display());
    actix_web::rt::System::new().block_on(async move {
        let ext = ActixBitmapist::builder()
            .url(&store)
            .disable_blueprint(true)
            .build()
            .await
            .expect("build");
        let app_ext = ext.clone();
        let server = HttpServer::new(move || {
            App::new()
                .configure(app_ext.init_app())
                .route("/plain", web::get().to(|| async { "hi" }))
                .route(
                    "/marked",
                    web::get()
                        .to(|| async {
                            MARKED_ANSWERED.fetch_add(1, Ordering::Relaxed);
                            "hi"
                        })
                        .wrap(mark("page:hello")),
                )
                // The app's own auth stand-in: `?user=N` is the current user.
                .wrap_fn(|req, srv| {
                    let user = req
                        .query_string()
                        .strip_prefix("user=")
                        .and_then(|v| v.parse::<u32>().ok());
                    if let Some(u) = user {
                        req.extensions_mut().insert(CurrentUser(u));
                    }
                    srv.call(req)
                })
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);

        let (mut marked_ok, mut rps) = (0u64, [0.0f64; 2]);
        for round in 0..=ROUNDS {
            for (i, path) in ["/plain", "/marked"].into_iter().enumerate() {
                let url = format!("http://{addr}{path}");
                let script = script.clone();
                let secs = if round == 0 { 1 } else { secs };
                let (n, non_2xx, errors, r) =
                    tokio::task::spawn_blocking(move || wrk(&url, &script, secs))
                        .await
                        .expect("wrk thread");
                assert_eq!(non_2xx, 0, "every request answered 2xx on {path}");
                if path == "/marked" {
                    marked_ok += n - non_2xx;
                }
                if round > 0 {
                    rps[i] += r / ROUNDS as f64;
                }
                let _ = errors;
            }
        }
        handle.stop(true).await;
        ext.shutdown().await.expect("shutdown");
        let s = ext.stats();
        println!(
            "wrk -t2 -c32, {ROUNDS} rounds of {secs} s per route, alternating (after a 1 s warm-up each)"
        );
        println!(
            "unmarked {:>9.0} req/s   marked {:>9.0} req/s   marked/unmarked {:.3}",
            rps[0],
            rps[1],
            rps[1] / rps[0]
        );
        let answered = MARKED_ANSWERED.load(Ordering::Relaxed);
        println!(
            "marked: 2xx counted by wrk {marked_ok}, answered by the server {answered}   marks queued {} written {} dropped {} store errors {}",
            s.queued, s.written, s.dropped, s.store_errors
        );
        assert_eq!(s.written, answered, "every answered marked request is a written mark");
        assert!(s.written >= marked_ok, "wrk saw no more 2xx than were marked");
        assert_eq!((s.dropped, s.store_errors), (0, 0));
        println!("zero marks lost");
    });
}
