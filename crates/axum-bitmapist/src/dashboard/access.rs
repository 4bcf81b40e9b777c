//! Who may see the dashboard: loopback clients only (the default), everyone, or the app's
//! own guard; enforced by a middleware in front of every dashboard route.
//!
//! Analytics are private, so the default admits only clients whose TCP peer address is a
//! loopback address, read from axum's [`ConnectInfo`]. Two cases are refused with a 403
//! that says why:
//!
//! - the app was not served with `into_make_service_with_connect_info::<SocketAddr>()`, so
//!   there is no peer address to check;
//! - the request carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`: behind a reverse
//!   proxy on the same host every client would look local. Use [`Access::guard`] there.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::error::ErrorBody;
use super::views::MessagePage;

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
    /// Only clients connecting from a loopback address (the default).
    #[default]
    LoopbackOnly,
    /// Everyone.
    Public,
    /// The app's own decision.
    Guard(Arc<dyn Fn(&Parts) -> GuardFuture + Send + Sync>),
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
                    Err("The application's access guard refused this request.".to_string())
                }
            }
            Access::LoopbackOnly => loopback_only(parts),
        }
    }
}

/// Headers a reverse proxy adds; under [`Access::LoopbackOnly`] they mean the peer address
/// is the proxy's, not the client's.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

fn loopback_only(parts: &Parts) -> Result<(), String> {
    if let Some(h) = PROXY_HEADERS
        .iter()
        .find(|h| parts.headers.contains_key(**h))
    {
        return Err(format!(
            "The bitmapist dashboard is open to loopback clients only, and this request came \
             through a proxy (it carries a {h} header), so its client address cannot be \
             trusted. Behind a reverse proxy, give the dashboard a guard \
             (Access::guard / Access::guard_async) or make it public explicitly (Access::Public)."
        ));
    }
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return Err(
            "The bitmapist dashboard is open to loopback clients only, but the client's address \
             is unknown: serve the app with \
             `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`, \
             or give the dashboard a guard (Access::guard) or make it public (Access::Public)."
                .to_string(),
        );
    };
    if peer.ip().to_canonical().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "The bitmapist dashboard is open to loopback clients only (this client is {}). \
             To open it to others, give it a guard (Access::guard) or make it public \
             (Access::Public).",
            peer.ip()
        ))
    }
}

/// The middleware: admits the request or answers 403 (JSON under `/api`, a page elsewhere).
pub async fn enforce(State(access): State<Access>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match access.check(&parts).await {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(reason) => {
            tracing::debug!(%reason, "bitmapist dashboard: access refused");
            if parts.uri.path().starts_with("/api") {
                let body = ErrorBody {
                    error: reason,
                    param: None,
                };
                return (StatusCode::FORBIDDEN, Json(body)).into_response();
            }
            let page = MessagePage {
                title: "Forbidden".to_string(),
                status: 403,
                message: reason,
            };
            match askama::Template::render(&page) {
                Ok(html) => (StatusCode::FORBIDDEN, Html(html)).into_response(),
                Err(_) => (StatusCode::FORBIDDEN, page.message).into_response(),
            }
        }
    }
}
