//! The dashboard at `/bitmapist`: events overview, cohort heatmap, JSON and CSV APIs.
//! [`Dashboard::router`] builds the routes; [`Access`] decides who may see them.
//!
//! | route (under the mount path) | what |
//! |---|---|
//! | `GET /` | events overview: counts this hour/day/week/month/year, 30-day and 12-week charts; `?q=` search, `?page=`, `?now=` |
//! | `GET /cohort` | cohort form and heatmap (Flask-Bitmapist's parameter names) |
//! | `POST /cohort` | Flask-Bitmapist's JSON-body cohort: heatmap fragment, or `?json=1` for its JSON |
//! | `GET /api` | the API's routes and parameters, as JSON |
//! | `GET /api/events`, `GET /api/events/{name}` | the overview's data |
//! | `GET /api/cohort`, `GET /api/cohort.csv` | the cohort table as JSON or CSV |
//! | `GET /events/{name}` | one event: users per day, week and month (SVG charts with axes), stickiness of this week and month |
//! | `GET /api/events/{name}/stickiness` | `?time_group=weeks\|months&at=`: the stickiness as JSON |
//! | `GET /funnel` | funnel form, bar chart and table (`step` repeated, `time_group`, `rows`, `window`, `strict`, `now`) |
//! | `GET /api/funnel`, `GET /api/funnel.csv` | the funnel as JSON or CSV |
//! | `GET /assets/{file}` | the embedded stylesheet, script and icon |
//!
//! Cohort tables run on the blocking pool, at most [`Dashboard::max_heavy_requests`] at
//! once; past that, and when the store is unreachable, the answer is 503 with
//! `Retry-After: 1`. The other routes stay on the async workers and stay fast.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style;
//! nothing from other origins), `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: same-origin`; pages and data are `Cache-Control: no-store`.
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use axum::Router;
//! use axum_bitmapist::{Access, Dashboard};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = bitmapist::Bitmapist::open("memory://").await?;
//! let app: Router = Router::new()
//!     .nest("/bitmapist", Dashboard::new(client).access(Access::LoopbackOnly).router());
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

mod access;
mod api;
mod assets;
mod charts;
mod cohort;
mod csv;
mod error;
mod event_page;
mod funnel_page;
mod heatmap;
mod heavy;
mod legacy;
mod names;
mod overview;
mod params;
mod retention_curve;
mod svg;
mod views;
mod zone;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bitmapist::Bitmapist;

pub use access::{Access, GuardFuture};
pub use error::DashboardError;
pub use params::MAX_CELLS_PER_SIDE;

/// The Content-Security-Policy of every dashboard answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The dashboard's configuration; [`Dashboard::router`] builds its routes.
#[derive(Clone, Debug)]
pub struct Dashboard {
    client: Bitmapist,
    access: Access,
    names_ttl: Duration,
    max_heavy: usize,
}

/// What every handler shares.
#[derive(Debug)]
struct DashboardState {
    client: Bitmapist,
    names: names::EventNames,
    heavy: heavy::HeavyWork,
}

/// The `Retry-After` of a 503 (a saturated dashboard or an unreachable store), in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

impl Dashboard {
    /// A dashboard over `client`'s store, loopback-only.
    pub fn new(client: Bitmapist) -> Self {
        Dashboard {
            client,
            access: Access::default(),
            names_ttl: names::DEFAULT_TTL,
            max_heavy: heavy::default_limit(),
        }
    }

    /// How many cohort tables (the heavy requests: `/cohort`, `/api/cohort`,
    /// `/api/cohort.csv`, `POST /cohort`) are computed at once, off the async workers;
    /// more are refused with 503 and `Retry-After`. Default: the number of CPUs. At least 1.
    pub fn max_heavy_requests(mut self, n: usize) -> Self {
        self.max_heavy = n.max(1);
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
        self.names_ttl = ttl;
        self
    }

    /// The routes, to be nested at `/bitmapist` (any mount path works: links are relative
    /// to where the router is nested).
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let zone = self.client.timezone();
        let shared = Arc::new(DashboardState {
            client: self.client,
            names: names::EventNames::new(self.names_ttl),
            heavy: heavy::HeavyWork::new(self.max_heavy),
        });
        Router::new()
            .route("/", get(overview::page))
            .route("/cohort", get(cohort::page).post(legacy::post))
            .route("/api", get(api::index))
            .route("/api/events", get(api::events))
            .route("/api/events/{name}", get(api::event))
            .route("/api/cohort", get(api::cohort))
            .route("/api/cohort.csv", get(csv::cohort))
            .route("/events/{name}", get(event_page::page))
            .route(
                "/api/events/{name}/stickiness",
                get(event_page::stickiness_api),
            )
            .route("/funnel", get(funnel_page::page))
            .route("/api/funnel", get(funnel_page::api))
            .route("/api/funnel.csv", get(funnel_page::csv))
            .route("/assets/{file}", get(assets::serve))
            .fallback(not_found)
            .with_state(shared)
            .layer(axum::Extension(zone))
            .layer(middleware::from_fn_with_state(self.access, access::enforce))
            .layer(middleware::from_fn(security_headers))
    }
}

/// Unknown paths under the dashboard: 404 (JSON under `/api`).
async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api") {
        error::ApiError(DashboardError::NotFound).into_response()
    } else {
        error::PageError(DashboardError::NotFound).into_response()
    }
}

/// Adds the security headers to every answer, and `no-store` to all but the assets.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let status = res.status();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE && !h.contains_key(header::RETRY_AFTER) {
        h.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
