//! The dashboard at `/bitmapist`: events overview, cohort heatmap, event pages, funnels,
//! JSON and CSV APIs. [`Dashboard::router`] builds the routes; [`Access`] decides who may
//! see them.
//!
//! Why a thin adapter: everything the dashboard is (pages, API, guard, parameters, heavy
//! bound, time zone, security headers) lives in the framework-free core,
//! [`bitmapist_web`]; this router turns each axum request (its path under the nest, the
//! original URI for the mount path, the `ConnectInfo` peer, the body) into a
//! [`bitmapist_web::DashboardRequest`] and the core's answer back into an axum response.
//! The app's own guard ([`Access::guard`]) runs here, on the request's parts, before the
//! core sees the request. Routes, parameters and heavy requests: see the core's docs.
//!
//! **Mounting.** `Router::nest("/bitmapist", ..)` routes `/bitmapist` and
//! `/bitmapist/...` but not `/bitmapist/` (axum leaves that one to the app's fallback);
//! `Router::nest_service("/bitmapist", dashboard.router())` routes all three, and is what
//! [`AxumBitmapist::init_app`](crate::AxumBitmapist::init_app) and `bitmapist serve` use.
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use axum::Router;
//! use axum_bitmapist::{Access, Dashboard};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = bitmapist::Bitmapist::open("memory://").await?;
//! let app: Router = Router::new()
//!     .nest_service("/bitmapist", Dashboard::new(client).access(Access::LoopbackOnly).router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // The loopback check needs the peer address:
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! **Timeouts.** `axum::serve` sets none: a client that sends half a header, or nothing,
//! holds its connection (and a task) forever, and a thousand such clients hold a thousand.
//! On a network-facing server, serve with hyper's HTTP/1 builder and a header-read timeout
//! (it also closes kept-alive connections idle that long), as `bitmapist serve` does:
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{Extension, Router, extract::ConnectInfo};
//! use hyper_util::rt::{TokioIo, TokioTimer};
//! use hyper_util::service::TowerToHyperService;
//! # async fn serve(app: Router) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! let mut http = hyper::server::conn::http1::Builder::new();
//! http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
//! loop {
//!     let (stream, peer) = listener.accept().await?;
//!     let service = TowerToHyperService::new(app.clone().layer(Extension(ConnectInfo(peer))));
//!     let conn = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
//!     tokio::spawn(async move { let _ = conn.await; });
//! }
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bitmapist::Bitmapist;
use bitmapist_web::{DashboardCore, DashboardRequest, DashboardResponse, MAX_BODY_BYTES};

pub use bitmapist_web::{
    CONTENT_SECURITY_POLICY, DashboardError, MAX_CELLS_PER_SIDE, RETRY_AFTER_SECS,
};

/// A guard's answer, computed from the request's parts.
pub type GuardFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Who may see the dashboard.
///
/// ```
/// use axum_bitmapist::Access;
/// // The app's own check, e.g. an extension its auth middleware sets for admins:
/// let access = Access::guard(|parts| parts.extensions.get::<IsAdmin>().is_some());
/// # #[derive(Clone)] struct IsAdmin;
/// # let _ = access;
/// ```
#[derive(Clone, Default)]
pub enum Access {
    /// Only clients connecting from a loopback address (the default). The peer address
    /// comes from axum's [`ConnectInfo`]; requests carrying `Forwarded`,
    /// `X-Forwarded-For` or `X-Real-IP` are refused (behind a proxy every client looks
    /// local).
    #[default]
    LoopbackOnly,
    /// Everyone.
    Public,
    /// The app's own decision.
    Guard(GuardFn),
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::LoopbackOnly => "LoopbackOnly",
            Access::Public => "Public",
            Access::Guard(_) => "Guard(..)",
        })
    }
}

/// The 403's reason when the app's guard refuses.
const GUARD_REFUSED: &str = "The application's access guard refused this request.";

impl Access {
    /// A guard that decides from the request's parts at once (headers, extensions set by
    /// the app's own auth layer, the URI).
    pub fn guard<F>(check: F) -> Self
    where
        F: Fn(&Parts) -> bool + Send + Sync + 'static,
    {
        Access::Guard(Arc::new(move |parts| {
            let ok = check(parts);
            Box::pin(std::future::ready(ok))
        }))
    }

    /// A guard that needs to wait, e.g. for an axum-login permission check: take what you
    /// need from the parts (the `AuthSession` extension), then return a future.
    ///
    /// ```
    /// use axum_bitmapist::Access;
    /// # #[derive(Clone)] struct Session; impl Session { async fn is_admin(&self) -> bool { true } }
    /// let access = Access::guard_async(|parts| {
    ///     let session = parts.extensions.get::<Session>().cloned();
    ///     async move {
    ///         match session {
    ///             Some(s) => s.is_admin().await,
    ///             None => false,
    ///         }
    ///     }
    /// });
    /// # let _ = access;
    /// ```
    pub fn guard_async<F, Fut>(check: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        Access::Guard(Arc::new(move |parts| Box::pin(check(parts))))
    }

    /// Whether the request may pass; `Err` carries the reason shown with the 403.
    pub async fn check(&self, parts: &Parts) -> Result<(), String> {
        match self {
            Access::Public => Ok(()),
            Access::Guard(guard) => {
                if guard(parts).await {
                    Ok(())
                } else {
                    Err(GUARD_REFUSED.to_string())
                }
            }
            Access::LoopbackOnly => {
                bitmapist_web::Access::LoopbackOnly.check(&parts.headers, peer(parts))
            }
        }
    }
}

/// The TCP peer address axum's `ConnectInfo` carries, if the app was served with it.
fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// The dashboard's configuration; [`Dashboard::router`] builds its routes.
#[derive(Clone, Debug)]
pub struct Dashboard {
    client: Bitmapist,
    access: Access,
    names_ttl: Option<Duration>,
    max_heavy: Option<usize>,
}

impl Dashboard {
    /// A dashboard over `client`'s store, loopback-only.
    pub fn new(client: Bitmapist) -> Self {
        Dashboard {
            client,
            access: Access::default(),
            names_ttl: None,
            max_heavy: None,
        }
    }

    /// How many heavy requests (everything that computes from bitmaps: the overview,
    /// cohort tables, funnels, event pages) run at once, off the async workers; more are
    /// refused with 503 and `Retry-After`. Default: the number of CPUs. At least 1.
    pub fn max_heavy_requests(mut self, n: usize) -> Self {
        self.max_heavy = Some(n);
        self
    }

    /// Sets who may see it.
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    /// How long the list of event names is reused (default 10 s; listing scans every key
    /// of the store). Zero lists the names on every request.
    pub fn event_names_ttl(mut self, ttl: Duration) -> Self {
        self.names_ttl = Some(ttl);
        self
    }

    /// The routes, to be nested at `/bitmapist` (any mount path works: links are built on
    /// the path the router is nested at). Mount them with `Router::nest_service`, which
    /// routes `/bitmapist`, `/bitmapist/` and `/bitmapist/...`; `Router::nest` routes all
    /// but `/bitmapist/` (axum leaves that one to the app's fallback).
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let (access, guard) = match self.access {
            Access::LoopbackOnly => (bitmapist_web::Access::LoopbackOnly, None),
            Access::Public => (bitmapist_web::Access::Public, None),
            // The guard decides here; the core then admits whatever reaches it.
            Access::Guard(guard) => (bitmapist_web::Access::Public, Some(guard)),
        };
        let mut core = bitmapist_web::Dashboard::new(self.client).access(access);
        if let Some(n) = self.max_heavy {
            core = core.max_heavy_requests(n);
        }
        if let Some(ttl) = self.names_ttl {
            core = core.event_names_ttl(ttl);
        }
        let adapter = Arc::new(Adapter {
            core: core.build(),
            guard,
        });
        Router::new()
            .route("/", any(handle))
            .route("/{*path}", any(handle))
            .with_state(adapter)
    }
}

/// The app's own guard, as [`Access::Guard`] holds it.
type GuardFn = Arc<dyn Fn(&Parts) -> GuardFuture + Send + Sync>;

/// The router's state: the core, and the app's guard when it has one.
struct Adapter {
    core: DashboardCore,
    guard: Option<GuardFn>,
}

/// Every dashboard request: guard, then the core.
async fn handle(State(adapter): State<Arc<Adapter>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let inner = parts.uri.path();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(inner, |o| o.0.path());
    let mut request = DashboardRequest {
        method: parts.method.clone(),
        path: inner.to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        peer: peer(&parts),
        body: Default::default(),
        mount: mount_path(original, inner),
    };
    if let Some(guard) = &adapter.guard
        && !guard(&parts).await
    {
        return into_axum(adapter.core.forbidden(&request, GUARD_REFUSED));
    }
    // Only `POST /cohort` reads a body; at most MAX_BODY_BYTES of it.
    if parts.method == axum::http::Method::POST {
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => request.body = bytes,
            Err(_) => {
                let error = DashboardError::TooLarge {
                    limit: MAX_BODY_BYTES,
                };
                return into_axum(adapter.core.refuse(&request, error));
            }
        }
    }
    into_axum(adapter.core.handle(request).await)
}

/// The mount path: `original` without the `inner` route path, no trailing slash.
fn mount_path(original: &str, inner: &str) -> String {
    let base = if inner == "/" {
        original
    } else {
        original.strip_suffix(inner).unwrap_or("")
    };
    base.trim_end_matches('/').to_string()
}

/// The core's answer as an axum response.
fn into_axum(res: DashboardResponse) -> Response {
    let mut out = Response::new(Body::from(res.body));
    *out.status_mut() = res.status;
    *out.headers_mut() = res.headers;
    out.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths() {
        assert_eq!(mount_path("/bitmapist", "/"), "/bitmapist");
        assert_eq!(mount_path("/bitmapist/", "/"), "/bitmapist");
        assert_eq!(mount_path("/bitmapist/cohort", "/cohort"), "/bitmapist");
        assert_eq!(
            mount_path("/a/b/api/events/x%2Fy", "/api/events/x%2Fy"),
            "/a/b"
        );
        assert_eq!(mount_path("/", "/"), "");
    }
}
