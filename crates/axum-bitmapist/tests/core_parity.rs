//! The axum router is a thin adapter: for the same input it answers exactly what the
//! framework-free core answers (status, headers, body), including the guard's 403s, the
//! 400s, the 404s, and the 503 + `Retry-After` of a full heavy bound. And `/bitmapist/`
//! (with the slash) serves the overview when mounted with `nest_service`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::dashboard_support::*;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum_bitmapist::{Access, Dashboard};
use bitmapist::Bitmapist;
use bitmapist_web::{DashboardCore, DashboardRequest};

/// The axum app and the core over the same store and configuration.
fn both(
    bm: &Bitmapist,
    access: Access,
    core_access: bitmapist_web::Access,
) -> (Router, DashboardCore) {
    let app = Router::new().nest(
        "/bitmapist",
        Dashboard::new(bm.clone())
            .access(access)
            .event_names_ttl(Duration::ZERO)
            .router(),
    );
    let core = bitmapist_web::Dashboard::new(bm.clone())
        .access(core_access)
        .event_names_ttl(Duration::ZERO)
        .build();
    (app, core)
}

/// Sends `method uri` with `headers` from `peer` to both, and checks the answers are equal.
async fn same(
    app: &Router,
    core: &DashboardCore,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    peer: Option<SocketAddr>,
    body: &str,
) -> Answer {
    let mut req = Request::builder().method(method.clone()).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body.to_string())).expect("request");
    let axum = send(app, req, peer).await;
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (uri, None),
    };
    let mut hm = axum::http::HeaderMap::new();
    for (k, v) in headers {
        hm.insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    let res = core
        .handle(DashboardRequest {
            method,
            path: path.strip_prefix("/bitmapist").unwrap_or(path).to_string(),
            query,
            headers: hm,
            peer,
            body: body.to_string().into(),
            mount: "/bitmapist".into(),
        })
        .await;
    assert_eq!(axum.status, res.status, "{uri}");
    let mut a: Vec<_> = axum
        .headers
        .iter()
        .filter(|(k, _)| *k != "content-length")
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let mut b: Vec<_> = res
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "{uri}");
    assert_eq!(axum.body, String::from_utf8_lossy(&res.body), "{uri}");
    axum
}

/// One request: method, URI, headers, peer, body.
type Case = (
    Method,
    String,
    Vec<(&'static str, &'static str)>,
    Option<SocketAddr>,
    &'static str,
);

#[tokio::test]
async fn axum_answers_what_the_core_answers() {
    let bm = store().await;
    let (app, core) = both(
        &bm,
        Access::LoopbackOnly,
        bitmapist_web::Access::LoopbackOnly,
    );
    let remote: SocketAddr = "203.0.113.5:4000".parse().expect("addr");
    let cases: Vec<Case> = vec![
        (
            Method::GET,
            format!("/bitmapist?now={NOW}"),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            format!("/bitmapist/cohort?now={NOW}"),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            format!("/bitmapist/api/events?now={NOW}"),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/api".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/api/cohort?primary_event=a&secondary_event=b&num_rows=0".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/nope".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/api/nope".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::DELETE,
            "/bitmapist/api/events".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/api/events".into(),
            vec![],
            Some(remote),
            "",
        ),
        (Method::GET, "/bitmapist/cohort".into(), vec![], None, ""),
        (
            Method::GET,
            "/bitmapist".into(),
            vec![("x-forwarded-for", "10.0.0.1")],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            "/bitmapist/assets/dashboard.css".into(),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            format!("/bitmapist/events/user%3Asigned_up?now={NOW}"),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::GET,
            format!("/bitmapist/funnel?step=user:signed_up&step=user:logged_in&now={NOW}"),
            vec![],
            Some(local()),
            "",
        ),
        (
            Method::POST,
            "/bitmapist/cohort?json=1".into(),
            vec![],
            Some(local()),
            r#"{"primary_event":"user:signed_up","secondary_event":"user:logged_in","now":"2026-11-22"}"#,
        ),
        (
            Method::POST,
            "/bitmapist/cohort".into(),
            vec![],
            Some(local()),
            "not json",
        ),
    ];
    for (method, uri, headers, peer, body) in cases {
        same(&app, &core, method, &uri, &headers, peer, body).await;
    }
}

#[tokio::test]
async fn an_axum_guard_refuses_with_the_cores_403() {
    let bm = store().await;
    let guard = Access::guard(|parts| parts.headers.contains_key("x-admin"));
    let (app, core) = both(&bm, guard, bitmapist_web::Access::Public);
    let a = get(&app, "/bitmapist/api/events").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let refused = core.forbidden(
        &DashboardRequest {
            path: "/api/events".into(),
            mount: "/bitmapist".into(),
            ..DashboardRequest::default()
        },
        "The application's access guard refused this request.",
    );
    assert_eq!(a.body, String::from_utf8_lossy(&refused.body));
    assert_eq!(
        a.headers.len() - 1,
        refused.headers.len(),
        "all but content-length"
    );
}

#[tokio::test]
async fn the_trailing_slash_serves_the_overview() {
    let bm = store().await;
    let dashboard = || {
        Dashboard::new(bm.clone())
            .access(Access::Public)
            .event_names_ttl(Duration::ZERO)
    };
    let app: Router = Router::new().nest_service("/bitmapist", dashboard().router());
    let with = get(&app, &format!("/bitmapist/?now={NOW}")).await;
    let without = get(&app, &format!("/bitmapist?now={NOW}")).await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.body);
    assert_eq!(with.body, without.body);
    assert!(with.body.contains(r#"href="/bitmapist/cohort""#));
    // The extension mounts it that way.
    let ext = axum_bitmapist::AxumBitmapist::builder()
        .client(bm.clone())
        .dashboard_access(Access::Public)
        .build()
        .await
        .expect("build");
    let app = ext.init_app(Router::new());
    let a = get(&app, &format!("/bitmapist/?now={NOW}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(get(&app, "/bitmapist/api").await.status, StatusCode::OK);
    ext.shutdown().await.expect("shutdown");
}
