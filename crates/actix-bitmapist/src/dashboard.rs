//! The dashboard on actix-web: the framework-free core (`bitmapist_web::DashboardCore`)
//! mounted at `/bitmapist` as one scope whose default service turns each actix request
//! into a `DashboardRequest` and the core's answer back into an `HttpResponse`.
//!
//! Why: every page, parameter, guard and bound lives in the core, so actix serves exactly
//! what axum serves. How: actix-web 4 speaks `http` 0.2 and the core `http` 1, so method,
//! headers and status are converted by their bytes (never by panicking: a header the
//! other version refuses is skipped). The core's future runs heavy work on Tokio's
//! blocking pool, never on the actix worker. The access guard: [`Access::LoopbackOnly`]
//! (default) and [`Access::Public`] are the core's; [`Access::guard`] is the app's own
//! check, evaluated here, whose refusal is the core's 403 page.

use std::fmt;
use std::sync::Arc;

use actix_web::web::{self, Bytes, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use bitmapist_web::{DashboardCore, DashboardRequest};

type GuardFn = dyn Fn(&HttpRequest) -> bool + Send + Sync;

/// The reason shown with the 403 when the app's guard refuses (the axum adapter's words).
const GUARD_REFUSED: &str = "The application's access guard refused this request.";

/// Who may see the dashboard.
#[derive(Clone, Default)]
pub enum Access {
    /// Only clients connecting from a loopback address, and no proxy headers (the default).
    #[default]
    LoopbackOnly,
    /// Everyone (put your own authentication in front, or use [`Access::guard`]).
    Public,
    /// The app's own check: `true` lets the request through, `false` answers the
    /// dashboard's 403 (it replaces the loopback rule).
    Guard(Arc<GuardFn>),
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::LoopbackOnly => f.write_str("LoopbackOnly"),
            Access::Public => f.write_str("Public"),
            Access::Guard(_) => f.write_str("Guard(..)"),
        }
    }
}

impl Access {
    /// The app's own check, from the request (headers, extensions its auth middleware set,
    /// actix-identity's `Identity`):
    ///
    /// ```
    /// use actix_bitmapist::Access;
    /// let admins_only = Access::guard(|req| {
    ///     req.headers().get("x-admin-token").is_some_and(|v| v == "letmein")
    /// });
    /// # let _ = admins_only;
    /// ```
    pub fn guard(f: impl Fn(&HttpRequest) -> bool + Send + Sync + 'static) -> Self {
        Access::Guard(Arc::new(f))
    }

    /// The core's access: its own guard, or public when this adapter's guard decides.
    pub(crate) fn core(&self) -> bitmapist_web::Access {
        match self {
            Access::LoopbackOnly => bitmapist_web::Access::LoopbackOnly,
            Access::Public | Access::Guard(_) => bitmapist_web::Access::Public,
        }
    }
}

/// What the dashboard scope needs: the core and the app's guard.
#[derive(Clone, Debug)]
pub(crate) struct Mounted {
    pub core: DashboardCore,
    pub access: Access,
}

/// The path the dashboard is mounted at.
pub const DASHBOARD_PATH: &str = "/bitmapist";

/// Mounts the dashboard at `/bitmapist` (both `/bitmapist` and `/bitmapist/...`), unless
/// it is disabled (`None`).
pub(crate) fn mount(dashboard: Option<&Mounted>, cfg: &mut ServiceConfig) {
    if let Some(mounted) = dashboard {
        let mounted = mounted.clone();
        cfg.service(
            web::scope(DASHBOARD_PATH)
                .app_data(web::Data::new(mounted))
                .default_service(web::to(serve)),
        );
    }
}

async fn serve(req: HttpRequest, body: Bytes, mounted: web::Data<Mounted>) -> HttpResponse {
    let dreq = DashboardRequest {
        method: http::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(http::Method::GET),
        path: req
            .uri()
            .path()
            .strip_prefix(DASHBOARD_PATH)
            .unwrap_or("")
            .to_string(),
        query: req.uri().query().map(str::to_string),
        headers: convert_headers(&req),
        peer: req.peer_addr(),
        body,
        mount: DASHBOARD_PATH.to_string(),
    };
    let res = match &mounted.access {
        Access::Guard(check) if !check(&req) => mounted.core.forbidden(&dreq, GUARD_REFUSED),
        _ => mounted.core.handle(dreq).await,
    };
    let status = actix_web::http::StatusCode::from_u16(res.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in &res.headers {
        if let (Ok(n), Ok(v)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append_header((n, v));
        }
    }
    out.body(res.body)
}

fn convert_headers(req: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    headers
}
