//! Handler tests of who may see the dashboard (loopback by default, proxies refused, the
//! app's own guards, public), the security headers, the assets, 404s and the mount path.

use std::net::SocketAddr;
use std::time::Duration;

use crate::dashboard_support::*;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum_bitmapist::{Access, CONTENT_SECURITY_POLICY, Dashboard};

fn req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn loopback_only_by_default() {
    let bm = store().await;
    // The default of `Dashboard::new` is LoopbackOnly.
    let app = Router::new().nest("/bitmapist", Dashboard::new(bm.clone()).router());
    for uri in ["/bitmapist", "/bitmapist/cohort", "/bitmapist/api/events"] {
        assert_eq!(
            send(&app, req(uri), Some(local())).await.status,
            StatusCode::OK,
            "{uri}"
        );
        let v6: SocketAddr = "[::1]:4000".parse().expect("addr");
        assert_eq!(
            send(&app, req(uri), Some(v6)).await.status,
            StatusCode::OK,
            "{uri} ::1"
        );
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:4000".parse().expect("addr");
        assert_eq!(
            send(&app, req(uri), Some(mapped)).await.status,
            StatusCode::OK
        );

        let remote: SocketAddr = "203.0.113.5:4000".parse().expect("addr");
        let a = send(&app, req(uri), Some(remote)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{uri}");
        assert!(a.body.contains("loopback"), "{}", a.body);
        assert!(!a.body.contains("user:signed_up"), "nothing leaks");
    }
    // The API answers 403 as JSON, pages as HTML.
    let remote: SocketAddr = "10.1.2.3:4000".parse().expect("addr");
    let a = send(&app, req("/bitmapist/api/cohort"), Some(remote)).await;
    assert!(a.header("content-type").starts_with("application/json"));
    assert!(
        a.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("10.1.2.3"))
    );
    let a = send(&app, req("/bitmapist/cohort"), Some(remote)).await;
    assert!(a.header("content-type").starts_with("text/html"));
    assert_eq!(a.header("content-security-policy"), CONTENT_SECURITY_POLICY);
}

#[tokio::test]
async fn loopback_without_connect_info_says_how_to_fix_it() {
    let app = app(&store().await, Access::LoopbackOnly);
    let a = send(&app, req("/bitmapist"), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        a.body.contains("into_make_service_with_connect_info"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn loopback_refuses_proxied_requests() {
    let app = app(&store().await, Access::LoopbackOnly);
    for header in ["forwarded", "x-forwarded-for", "x-real-ip"] {
        let r = Request::get("/bitmapist")
            .header(header, "203.0.113.9")
            .body(Body::empty())
            .expect("request");
        let a = send(&app, r, Some(local())).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{header}");
        assert!(
            a.body.contains("proxy") && a.body.contains(header),
            "{}",
            a.body
        );
    }
}

#[tokio::test]
async fn public_admits_everyone() {
    let app = app(&store().await, Access::Public);
    let remote: SocketAddr = "198.51.100.1:1".parse().expect("addr");
    assert_eq!(
        send(&app, req("/bitmapist"), Some(remote)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, req("/bitmapist"), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_apps_own_guards() {
    let bm = store().await;
    let sync = Access::guard(|parts| {
        parts
            .headers
            .get("x-admin-token")
            .is_some_and(|v| v == "letmein")
    });
    let asynchronous = Access::guard_async(|parts| {
        let token = parts
            .headers
            .get("x-admin-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            token.as_deref() == Some("letmein")
        }
    });
    for access in [sync, asynchronous] {
        let app = app(&bm, access);
        // A guard replaces the loopback rule: a local client without the token is refused,
        // a remote one with it is admitted.
        let a = send(&app, req("/bitmapist/api/events"), Some(local())).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(
            a.json()["error"]
                .as_str()
                .is_some_and(|e| e.contains("guard"))
        );
        let remote: SocketAddr = "198.51.100.1:1".parse().expect("addr");
        let r = Request::get("/bitmapist/api/events")
            .header("x-admin-token", "letmein")
            .body(Body::empty())
            .expect("request");
        assert_eq!(send(&app, r, Some(remote)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn security_headers_on_every_answer() {
    let app = app(&store().await, Access::LoopbackOnly);
    let remote: SocketAddr = "198.51.100.1:1".parse().expect("addr");
    let answers = [
        get(&app, "/bitmapist").await,
        get(&app, "/bitmapist/cohort?primary_event=").await,
        get(&app, "/bitmapist/api/events").await,
        get(&app, "/bitmapist/api/cohort").await,
        get(&app, "/bitmapist/no/such/page").await,
        send(&app, req("/bitmapist"), Some(remote)).await,
    ];
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(
            a.header("content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{i}"
        );
        assert_eq!(a.header("x-content-type-options"), "nosniff", "{i}");
        assert_eq!(a.header("referrer-policy"), "same-origin", "{i}");
        assert_eq!(a.header("cache-control"), "no-store", "{i}");
    }
    assert_eq!(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn not_found_inside_the_dashboard() {
    let app = app(&store().await, Access::Public);
    let a = get(&app, "/bitmapist/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.header("content-type").starts_with("text/html"));
    let a = get(&app, "/bitmapist/api/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.json()["error"].is_string());
    assert_eq!(
        get(&app, "/bitmapist/assets/nope.css").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn assets_are_embedded_and_versioned() {
    let app = app(&store().await, Access::Public);
    let html = get(&app, "/bitmapist").await.body;
    for (name, kind) in [
        ("dashboard.css", "text/css"),
        ("dashboard.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let start = html
            .find(&format!("/bitmapist/assets/{name}?v="))
            .unwrap_or_else(|| panic!("{name} not linked"));
        let url: String = html[start..].chars().take_while(|c| *c != '"').collect();
        let a = get(&app, &url).await;
        assert_eq!(a.status, StatusCode::OK, "{url}");
        assert!(a.header("content-type").starts_with(kind), "{url}");
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(!a.body.is_empty());
        // An old or missing version is served but revalidated.
        let a = get(&app, &format!("/bitmapist/assets/{name}")).await;
        assert_eq!(a.header("cache-control"), "no-cache");
    }
    let api = get(&app, "/bitmapist/api").await.json();
    assert!(
        api["cohort"]
            .as_str()
            .is_some_and(|s| s.starts_with("/bitmapist/api/cohort?"))
    );
}

#[tokio::test]
async fn links_follow_the_mount_path() {
    let bm = store().await;
    let app = Router::new().nest(
        "/admin/stats",
        Dashboard::new(bm).access(Access::Public).router(),
    );
    let html = get(&app, "/admin/stats/cohort?now=2026-11-22").await.body;
    assert!(html.contains(r#"action="/admin/stats/cohort""#));
    assert!(html.contains(r#"href="/admin/stats/assets/dashboard.css?v="#));
    assert!(html.contains(r#"href="/admin/stats/api/cohort?primary_event="#));
    let a = get(&app, "/admin/stats/cohort?primary_event=a&secondary_event=b&additional_op=and&additional_event=c").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(a.header("location").starts_with("/admin/stats/cohort?"));
}

#[tokio::test]
async fn builder_sets_dashboard_access_and_system_name() {
    let ext = axum_bitmapist::AxumBitmapist::builder()
        .client(store().await)
        .system_name("reports")
        .dashboard_access(Access::Public)
        .build()
        .await
        .expect("build");
    // The configured system answers under its name, and only under it.
    assert!(ext.system("reports").is_ok());
    assert!(ext.system("default").is_err());

    // The mounted dashboard admits a remote client (the default would refuse it).
    let app = ext.init_app(Router::new());
    let remote: SocketAddr = "198.51.100.7:1".parse().expect("addr");
    assert_eq!(
        send(&app, req("/bitmapist"), Some(remote)).await.status,
        StatusCode::OK
    );
    let default = axum_bitmapist::AxumBitmapist::builder()
        .client(store().await)
        .build()
        .await
        .expect("build");
    let app = default.init_app(Router::new());
    assert_eq!(
        send(&app, req("/bitmapist"), Some(remote)).await.status,
        StatusCode::FORBIDDEN
    );
    ext.shutdown().await.expect("shutdown");
    default.shutdown().await.expect("shutdown");
}
