//! Who may see the dashboard: loopback clients only (the default) or everyone; the app's
//! own guard is the adapter's business (it decides, then calls
//! [`DashboardCore::handle`](super::DashboardCore::handle) or answers
//! [`DashboardCore::forbidden`](super::DashboardCore::forbidden)).
//!
//! Analytics are private, so the default admits only clients whose TCP peer address is a
//! loopback address. Two cases are refused with a 403 that says why:
//!
//! - the adapter does not know the peer address (in axum: the app was not served with
//!   `into_make_service_with_connect_info::<SocketAddr>()`), so there is nothing to check;
//! - the request carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`: behind a reverse
//!   proxy on the same host every client would look local. Use the app's own guard there.

use std::net::SocketAddr;

use http::HeaderMap;

/// Who may see the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Access {
    /// Only clients connecting from a loopback address (the default).
    #[default]
    LoopbackOnly,
    /// Everyone (also what an adapter configures when its own guard decides).
    Public,
}

/// Headers a reverse proxy adds; under [`Access::LoopbackOnly`] they mean the peer address
/// is the proxy's, not the client's.
const PROXY_HEADERS: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

impl Access {
    /// Whether a request with `headers` from `peer` may pass; `Err` carries the reason
    /// shown with the 403.
    pub fn check(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), String> {
        match self {
            Access::Public => Ok(()),
            Access::LoopbackOnly => loopback_only(headers, peer),
        }
    }
}

fn loopback_only(headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), String> {
    if let Some(h) = PROXY_HEADERS.iter().find(|h| headers.contains_key(**h)) {
        return Err(format!(
            "The bitmapist dashboard is open to loopback clients only, and this request came \
             through a proxy (it carries a {h} header), so its client address cannot be \
             trusted. Behind a reverse proxy, give the dashboard a guard \
             (Access::guard / Access::guard_async) or make it public explicitly (Access::Public)."
        ));
    }
    let Some(peer) = peer else {
        return Err(
            "The bitmapist dashboard is open to loopback clients only, but the client's address \
             is unknown: serve the app so that the dashboard sees the peer address (in axum: \
             `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`), \
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
