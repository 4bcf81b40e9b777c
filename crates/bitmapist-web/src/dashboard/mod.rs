//! The dashboard, framework-free: [`Dashboard`] configures it, [`DashboardCore::handle`]
//! answers one request. Routing is a match on the method and the path's segments.
//!
//! | route (under the mount path) | what |
//! |---|---|
//! | `GET /` | events overview: counts this hour/day/week/month/year, 30-day and 12-week charts; `?q=` search, `?page=`, `?now=` |
//! | `GET /cohort` | cohort form and heatmap (Flask-Bitmapist's parameter names) |
//! | `POST /cohort` | Flask-Bitmapist's JSON-body cohort: heatmap fragment, or `?json=1` for its JSON |
//! | `GET /api` | the API's routes and parameters, as JSON |
//! | `GET /api/events`, `GET /api/events/{name}` | the overview's data |
//! | `GET /api/cohort`, `GET /api/cohort.csv` | the cohort table as JSON or CSV |
//! | `GET /events/{name}` | one event: users per day, week and month (SVG charts with axes), stickiness of this week and month, trends; `segment=` filters every number and each bar links to its users |
//! | `GET /api/events/{name}/stickiness` | `?time_group=weeks\|months&at=&segment=`: the stickiness as JSON |
//! | `GET /funnel` | funnel form, bar chart and table (`step` repeated, `time_group`, `rows`, `window`, `strict`, `now`) |
//! | `GET /api/funnel`, `GET /api/funnel.csv` | the funnel as JSON or CSV |
//! | `GET /lifecycle` | lifecycle form, stacked bars (dormant below the axis, each part linking to its users) and table (`event`, `time_group`, `periods`, `new_from`, `now`) |
//! | `GET /api/lifecycle` | the lifecycle as JSON |
//! | `GET /users`, `GET /api/users` | the users behind a number (`of=event\|cohort\|funnel\|stickiness\|lifecycle\|segment` plus that page's query and the cell; `after`, `limit`; `format=csv`) |
//! | `POST /segments` | saves such a set as a segment (form: the set's query, `name` or `segment_name`, `description`; same origin only) |
//! | `GET /api/trends` | `?event=&days=&compare=&now=`: rolling DAU, WAU, MAU and DAU/MAU as JSON |
//! | `GET /assets/{file}` | the embedded stylesheet, script and icon |
//!
//! `HEAD` is answered like `GET`; another method on a known path is a 405 with `Allow`;
//! an unknown path a 404 (JSON under `/api`). Both `/bitmapist` and `/bitmapist/` (path
//! `""` and `"/"`) are the overview, and every link is absolute (it starts with the mount
//! path), so pages work however the adapter mounted them.
//!
//! **Heavy requests.** Every route that computes from bitmaps (the overview and its JSON,
//! the cohort page, its JSON and CSV, `POST /cohort`, the event page and its stickiness
//! JSON, the funnel page, its JSON and CSV, the lifecycle page and its JSON, the trends JSON) runs on Tokio's blocking pool, at most
//! [`Dashboard::max_heavy_requests`] at once; past that, and when the store is
//! unreachable, the answer is 503 with `Retry-After: 1`. The index of the API and the
//! assets stay on the async workers.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style;
//! nothing from other origins), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`
//! and `Referrer-Policy: same-origin`; pages and data are `Cache-Control: no-store`.
//!
//! Invariants: [`DashboardCore::handle`] never panics on input and its future is `Send`;
//! nothing here writes to the store (a crash loses nothing).

mod access;
mod api;
mod assets;
mod charts;
mod cohort;
mod csv;
mod error;
mod event_page;
mod exchange;
mod funnel_page;
mod heatmap;
mod heavy;
mod legacy;
mod lifecycle_page;
mod names;
mod overview;
mod params;
mod users_page;
mod views;
mod zone;

use std::sync::Arc;
use std::time::Duration;

use bitmapist::Bitmapist;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};

pub use access::Access;
pub use error::DashboardError;
pub use exchange::{DashboardRequest, DashboardResponse};
pub use params::MAX_CELLS_PER_SIDE;

use error::{ApiError, PageError};
use views::Base;

/// The Content-Security-Policy of every dashboard answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The longest request body read (`POST /cohort`'s JSON), in bytes: 2 MiB. Adapters stop
/// reading past it and answer [`DashboardCore::refuse`] with [`DashboardError::TooLarge`].
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The `Retry-After` of a 503 (a saturated dashboard or an unreachable store), in seconds.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The dashboard's configuration; [`Dashboard::build`] makes the [`DashboardCore`].
#[derive(Clone, Debug)]
pub struct Dashboard {
    client: Bitmapist,
    access: Access,
    names_ttl: Duration,
    max_heavy: usize,
}

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

    /// How many heavy requests (see the crate docs: everything that computes from
    /// bitmaps) run at once, off the async workers; more are refused with 503 and
    /// `Retry-After`. Default: the number of CPUs. At least 1.
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

    /// The configured access.
    pub fn configured_access(&self) -> Access {
        self.access
    }

    /// The core that answers requests.
    pub fn build(self) -> DashboardCore {
        DashboardCore(Arc::new(DashboardState {
            names: names::EventNames::new(self.names_ttl),
            heavy: heavy::HeavyWork::new(self.max_heavy),
            access: self.access,
            client: self.client,
        }))
    }
}

/// The dashboard, ready to answer: cheap to clone, `Send + Sync`.
#[derive(Clone, Debug)]
pub struct DashboardCore(Arc<DashboardState>);

/// What every handler shares.
#[derive(Debug)]
struct DashboardState {
    client: Bitmapist,
    names: names::EventNames,
    heavy: heavy::HeavyWork,
    access: Access,
}

/// A route, resolved from the method and the path's segments.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Overview,
    Cohort,
    LegacyCohort,
    ApiIndex,
    ApiEvents,
    ApiEvent(&'a str),
    ApiCohort,
    ApiCohortCsv,
    Event(&'a str),
    Stickiness(&'a str),
    Funnel,
    ApiFunnel,
    ApiFunnelCsv,
    Lifecycle,
    ApiLifecycle,
    ApiTrends,
    Users,
    ApiUsers,
    SaveSegment,
    Asset(&'a str),
}

/// Why a path has no route.
#[derive(Debug, PartialEq, Eq)]
enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists for these methods only.
    Method(&'static str),
}

/// The route of `method` on `path` (below the mount point, percent-encoded).
fn resolve<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, NoRoute> {
    let get = *method == Method::GET || *method == Method::HEAD;
    let post = *method == Method::POST;
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let only_get = |route: Route<'a>| {
        if get {
            Ok(route)
        } else {
            Err(NoRoute::Method("GET,HEAD"))
        }
    };
    match segments.as_slice() {
        [] => only_get(Route::Overview),
        ["cohort"] if post => Ok(Route::LegacyCohort),
        ["cohort"] if get => Ok(Route::Cohort),
        ["cohort"] => Err(NoRoute::Method("GET,HEAD,POST")),
        ["api"] => only_get(Route::ApiIndex),
        ["api", "events"] => only_get(Route::ApiEvents),
        ["api", "events", name] if !name.is_empty() => only_get(Route::ApiEvent(name)),
        ["api", "events", name, "stickiness"] if !name.is_empty() => {
            only_get(Route::Stickiness(name))
        }
        ["api", "cohort"] => only_get(Route::ApiCohort),
        ["api", "cohort.csv"] => only_get(Route::ApiCohortCsv),
        ["events", name] if !name.is_empty() => only_get(Route::Event(name)),
        ["funnel"] => only_get(Route::Funnel),
        ["api", "funnel"] => only_get(Route::ApiFunnel),
        ["api", "funnel.csv"] => only_get(Route::ApiFunnelCsv),
        ["users"] => only_get(Route::Users),
        ["api", "users"] => only_get(Route::ApiUsers),
        ["segments"] if post => Ok(Route::SaveSegment),
        ["segments"] => Err(NoRoute::Method("POST")),
        ["lifecycle"] => only_get(Route::Lifecycle),
        ["api", "lifecycle"] => only_get(Route::ApiLifecycle),
        ["api", "trends"] => only_get(Route::ApiTrends),
        ["assets", file] if !file.is_empty() => only_get(Route::Asset(file)),
        _ => Err(NoRoute::NotFound),
    }
}

/// A path segment percent-decoded, as the event name it names (400 when not UTF-8).
fn segment(raw: &str) -> Result<String, DashboardError> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|e| error::bad("name", format!("name: the path segment is not UTF-8 ({e})")))
}

/// Whether `path` is under `/api` (errors there are JSON).
fn is_api(path: &str) -> bool {
    path.starts_with("/api") || path.starts_with("api")
}

impl DashboardCore {
    /// Answers one request: the access check, the route, the security headers. Must be
    /// awaited inside a Tokio runtime (heavy work goes to its blocking pool). Never panics
    /// on any input.
    pub async fn handle(&self, req: DashboardRequest) -> DashboardResponse {
        let res = match self.0.access.check(&req.headers, req.peer) {
            Ok(()) if req.body.len() > MAX_BODY_BYTES => error_answer(
                &req.path,
                DashboardError::TooLarge {
                    limit: MAX_BODY_BYTES,
                },
            ),
            Ok(()) => self.route(&req).await,
            Err(reason) => refusal(&req, reason),
        };
        secure(res)
    }

    /// The answer to `req` failing with `error`, as the core gives it (JSON under `/api`, a
    /// page elsewhere, with the security headers): for adapters that fail before they can
    /// build the whole request, e.g. a body past [`MAX_BODY_BYTES`].
    pub fn refuse(&self, req: &DashboardRequest, error: DashboardError) -> DashboardResponse {
        secure(error_answer(&req.path, error))
    }

    /// The 403 the loopback guard gives (JSON under `/api`, a page elsewhere), with
    /// `reason` as its message: for adapters whose own guard refused `req`.
    pub fn forbidden(&self, req: &DashboardRequest, reason: &str) -> DashboardResponse {
        secure(refusal(req, reason.to_string()))
    }

    /// The configured access.
    pub fn access(&self) -> Access {
        self.0.access
    }

    /// The engine handle the dashboard reads.
    pub fn client(&self) -> &Bitmapist {
        &self.0.client
    }

    async fn route(&self, req: &DashboardRequest) -> DashboardResponse {
        let shared = &*self.0;
        let path = req.path.as_str();
        let route = match resolve(&req.method, path) {
            Ok(route) => route,
            Err(NoRoute::NotFound) => return not_found(path),
            Err(NoRoute::Method(allow)) => {
                return DashboardResponse {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    ..DashboardResponse::default()
                }
                .with(header::ALLOW, HeaderValue::from_static(allow));
            }
        };
        let base = Base::new(&req.mount, shared.client.timezone());
        let query = req.query.as_deref();
        let page = |r: Result<DashboardResponse, PageError>| r.unwrap_or_else(Into::into);
        let api = |r: Result<DashboardResponse, ApiError>| r.unwrap_or_else(Into::into);
        match route {
            Route::Overview => page(overview::page(shared, &base, query).await),
            Route::Cohort => page(cohort::page(shared, &base, query).await),
            Route::LegacyCohort => legacy::post(shared, query, &req.body).await,
            Route::ApiIndex => api::index(&base),
            Route::ApiEvents => api(api::events(shared, query).await),
            Route::ApiEvent(name) => api(match segment(name) {
                Ok(name) => api::event(shared, name, query).await,
                Err(e) => Err(e.into()),
            }),
            Route::ApiCohort => api(api::cohort(shared, query).await),
            Route::ApiCohortCsv => api(csv::cohort(shared, query).await),
            Route::Event(name) => page(match segment(name) {
                Ok(name) => event_page::page(shared, &base, name, query).await,
                Err(e) => Err(e.into()),
            }),
            Route::Stickiness(name) => api(match segment(name) {
                Ok(name) => event_page::stickiness_api(shared, name, query).await,
                Err(e) => Err(e.into()),
            }),
            Route::Funnel => page(funnel_page::page(shared, &base, query).await),
            Route::ApiFunnel => api(funnel_page::api(shared, query).await),
            Route::ApiFunnelCsv => api(funnel_page::csv(shared, query).await),
            Route::Users => page(users_page::page(shared, &base, query).await),
            Route::ApiUsers => api(users_page::api(shared, query).await),
            Route::SaveSegment => users_page::save(shared, &base, &req.headers, &req.body).await,
            Route::Lifecycle => page(lifecycle_page::page(shared, &base, query).await),
            Route::ApiLifecycle => api(lifecycle_page::api(shared, query).await),
            Route::ApiTrends => api(event_page::trends_api(shared, query).await),
            Route::Asset(file) => match assets::serve(file, query) {
                Some(res) => res,
                None => not_found(path),
            },
        }
    }
}

/// Unknown paths under the dashboard: 404 (JSON under `/api`).
fn not_found(path: &str) -> DashboardResponse {
    error_answer(path, DashboardError::NotFound)
}

/// `error` as JSON under `/api`, as a page elsewhere.
fn error_answer(path: &str, error: DashboardError) -> DashboardResponse {
    if is_api(path) {
        ApiError(error).into()
    } else {
        PageError(error).into()
    }
}

/// The 403 of a refused request (JSON under `/api`, a page elsewhere).
fn refusal(req: &DashboardRequest, reason: String) -> DashboardResponse {
    tracing::debug!(%reason, "bitmapist dashboard: access refused");
    if is_api(&req.path) {
        let body = error::ErrorBody {
            error: reason,
            param: None,
        };
        return DashboardResponse::json(StatusCode::FORBIDDEN, &body);
    }
    let page = views::MessagePage {
        title: "Forbidden".to_string(),
        status: 403,
        message: reason,
    };
    match askama::Template::render(&page) {
        Ok(html) => DashboardResponse::html(StatusCode::FORBIDDEN, html),
        Err(_) => DashboardResponse::new(StatusCode::FORBIDDEN, exchange::TEXT, page.message),
    }
}

/// Adds the security headers to an answer, `Retry-After` to a 503, and `no-store` to all
/// but the assets.
fn secure(mut res: DashboardResponse) -> DashboardResponse {
    let status = res.status;
    let h = &mut res.headers;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let get = Method::GET;
        assert_eq!(resolve(&get, ""), Ok(Route::Overview));
        assert_eq!(resolve(&get, "/"), Ok(Route::Overview));
        assert_eq!(resolve(&Method::HEAD, "/cohort"), Ok(Route::Cohort));
        assert_eq!(resolve(&Method::POST, "/cohort"), Ok(Route::LegacyCohort));
        assert_eq!(
            resolve(&get, "/api/events/a%2Fb/stickiness"),
            Ok(Route::Stickiness("a%2Fb"))
        );
        assert_eq!(resolve(&get, "/events/"), Err(NoRoute::NotFound));
        assert_eq!(resolve(&get, "/cohort/"), Err(NoRoute::NotFound));
        assert_eq!(resolve(&get, "/events/a/b"), Err(NoRoute::NotFound));
        assert_eq!(
            resolve(&Method::DELETE, "/cohort"),
            Err(NoRoute::Method("GET,HEAD,POST"))
        );
        assert_eq!(
            resolve(&Method::POST, "/api/events"),
            Err(NoRoute::Method("GET,HEAD"))
        );
        assert_eq!(segment("a%2Fb").ok().as_deref(), Some("a/b"));
        assert!(segment("%FF").is_err());
    }
}
