//! The dashboard through the core on a real actix-web server: mounted at `/bitmapist`
//! (both `/bitmapist` and `/bitmapist/`), the loopback guard by default (proxied requests
//! refused, naming the header), the app's own guard, public access, the security headers,
//! `BITMAPIST_DISABLE_BLUEPRINT`; and the pages in real headless Chromium.

mod browser;

use std::net::SocketAddr;

use actix_bitmapist::{Access, ActixBitmapist};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use bitmapist_test_support::http::{self, Reply};
use bitmapist_web::CONTENT_SECURITY_POLICY;
use chrono::Utc;

/// Serves an app with only the extension (and a home page) on one worker thread.
fn serve(ext: &ActixBitmapist) -> (SocketAddr, ServerHandle) {
    let ext = ext.clone();
    let server = HttpServer::new(move || {
        App::new()
            .configure(ext.init_app())
            .route("/", web::get().to(|| async { "home" }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&'static str, &'static str)]) -> Reply {
    let (path, headers) = (path.to_string(), headers.to_vec());
    tokio::task::spawn_blocking(move || http::request(addr, "GET", &path, None, &headers))
        .await
        .expect("client thread")
}

/// An extension over a memory store with two events marked today.
async fn extension(access: Access) -> ActixBitmapist {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .dashboard_access(access)
        .build()
        .await
        .expect("build");
    for uid in [1, 2, 3] {
        ext.client()
            .mark_event("user:signed_up", uid)
            .await
            .expect("mark");
    }
    ext.client()
        .mark_event("user:logged_in", 2)
        .at(Utc::now())
        .await
        .expect("mark");
    ext
}

#[actix_web::test]
async fn loopback_clients_see_every_page_and_the_api() {
    let ext = extension(Access::LoopbackOnly).await;
    let (addr, server) = serve(&ext);
    for path in [
        "/bitmapist",
        "/bitmapist/",
        "/bitmapist/cohort",
        "/bitmapist/events/user:signed_up",
        "/bitmapist/funnel",
    ] {
        let r = get(addr, path, &[]).await;
        let r = match r.status {
            // One of the two forms may redirect to the other; the target must serve.
            301 | 302 | 307 | 308 => {
                let to = r.header("location").expect("a Location").to_string();
                assert!(to.starts_with("/bitmapist"), "{path} -> {to}");
                get(addr, &to, &[]).await
            }
            _ => r,
        };
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(
            r.header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY),
            "{path}"
        );
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{path}"
        );
    }
    let r = get(addr, "/bitmapist/api/events", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    for name in ["user:signed_up", "user:logged_in"] {
        assert!(r.body.contains(name), "{name} listed: {}", r.body);
    }
    // A bad parameter is the core's 400 with JSON naming it.
    let r = get(addr, "/bitmapist/api/cohort?primary_event=user:signed_up&secondary_event=user:logged_in&time_group=fortnights", &[]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("time_group"), "{}", r.body);
    // The app's own routes are untouched.
    assert_eq!(get(addr, "/", &[]).await.body, "home");
    server.stop(true).await;
}

#[actix_web::test]
async fn proxied_requests_are_refused_under_the_loopback_guard() {
    let ext = extension(Access::LoopbackOnly).await;
    let (addr, server) = serve(&ext);
    for header in ["forwarded", "x-forwarded-for", "x-real-ip"] {
        let value = if header == "forwarded" {
            "for=203.0.113.9"
        } else {
            "203.0.113.9"
        };
        let r = get(addr, "/bitmapist/cohort", &[(header, value)]).await;
        assert_eq!(r.status, 403, "{header}");
        assert!(
            r.body.contains("proxy") && r.body.contains(header),
            "{}",
            r.body
        );
        assert!(!r.body.contains("user:signed_up"), "nothing leaks");
        let r = get(addr, "/bitmapist/api/events", &[(header, value)]).await;
        assert_eq!(r.status, 403, "{header}");
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        );
    }
    server.stop(true).await;
}

#[actix_web::test]
async fn the_apps_own_guard_replaces_the_loopback_rule() {
    let ext = extension(Access::guard(|req| {
        req.headers()
            .get("x-admin-token")
            .is_some_and(|v| v == "letmein")
    }))
    .await;
    let (addr, server) = serve(&ext);
    let r = get(addr, "/bitmapist/api/events", &[]).await;
    assert_eq!(r.status, 403, "a local client without the token is refused");
    assert!(r.body.contains("guard"), "{}", r.body);
    let r = get(addr, "/bitmapist/cohort", &[("x-admin-token", "nope")]).await;
    assert_eq!(r.status, 403);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    // With the token, even behind a proxy (the app's guard decides, not the loopback rule).
    let r = get(
        addr,
        "/bitmapist/api/events",
        &[
            ("x-admin-token", "letmein"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("user:signed_up"));
    server.stop(true).await;
}

#[actix_web::test]
async fn public_access_admits_proxied_requests() {
    let ext = extension(Access::Public).await;
    let (addr, server) = serve(&ext);
    let r = get(
        addr,
        "/bitmapist/api/events",
        &[("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    server.stop(true).await;
}

#[actix_web::test]
async fn a_disabled_blueprint_mounts_nothing() {
    let ext = ActixBitmapist::builder()
        .url("memory://")
        .disable_blueprint(true)
        .build()
        .await
        .expect("build");
    let (addr, server) = serve(&ext);
    assert_eq!(get(addr, "/bitmapist", &[]).await.status, 404);
    assert_eq!(get(addr, "/bitmapist/api/events", &[]).await.status, 404);
    server.stop(true).await;
}
