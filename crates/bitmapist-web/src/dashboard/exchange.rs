//! What goes in and out of the core: [`DashboardRequest`] and [`DashboardResponse`], in the
//! `http` crate's types that every Rust web framework converts from and to, and [`Answer`],
//! the one JSON shape of an analysis with or without a breakdown.
//!
//! Why plain data: an adapter (axum, actix-web, Flask through PyO3) copies its request into
//! a [`DashboardRequest`], awaits [`DashboardCore::handle`](super::DashboardCore::handle),
//! and copies the [`DashboardResponse`] back; the core never sees a framework type, so every
//! adapter answers byte for byte the same.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;

/// One request to the dashboard, as the adapter received it.
#[derive(Clone, Debug, Default)]
pub struct DashboardRequest {
    /// The method (`GET`, `HEAD` and `POST` are answered; others get 405).
    pub method: Method,
    /// The path below the mount point, as received (percent-encoded: `/events/a%2Fb` is the
    /// event `a/b`); `/` or empty is the overview.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The request headers (the core reads `Forwarded`, `X-Forwarded-For` and `X-Real-IP`
    /// for the loopback guard).
    pub headers: HeaderMap,
    /// The TCP peer address, `None` when the adapter does not know it (the loopback guard
    /// then refuses, saying why).
    pub peer: Option<SocketAddr>,
    /// The body (read by `POST /cohort` only).
    pub body: Bytes,
    /// Where the adapter mounted the dashboard (`/bitmapist`; empty at the root); every link
    /// of every page starts with it.
    pub mount: String,
}

/// The dashboard's answer.
#[derive(Clone, Debug, Default)]
pub struct DashboardResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers: `Content-Type`, the security headers, `Cache-Control`, and per answer
    /// `Location`, `Retry-After`, `Content-Disposition`, `Allow`.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// `text/html; charset=utf-8`.
pub(crate) const HTML: &str = "text/html; charset=utf-8";
/// `application/json`.
pub(crate) const JSON: &str = "application/json";
/// `text/plain; charset=utf-8`.
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";
/// `text/csv; charset=utf-8`.
pub(crate) const CSV: &str = "text/csv; charset=utf-8";

impl DashboardResponse {
    /// `body` as `content_type`, with `status`.
    pub(crate) fn new(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        DashboardResponse {
            status,
            headers,
            body: body.into(),
        }
    }

    /// An HTML page.
    pub(crate) fn html(status: StatusCode, body: String) -> Self {
        Self::new(status, HTML, body)
    }

    /// `value` as JSON (a value that cannot be serialized is a 500, a bug).
    pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(status, JSON, body),
            Err(e) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                TEXT,
                format!("the answer could not be written as JSON: {e}"),
            ),
        }
    }

    /// A 303 to `location`.
    pub(crate) fn see_other(location: &str) -> Self {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(location) {
            headers.insert(header::LOCATION, v);
        }
        DashboardResponse {
            status: StatusCode::SEE_OTHER,
            headers,
            body: Bytes::new(),
        }
    }

    /// Adds (or replaces) a header.
    pub(crate) fn with(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

/// An analysis' answer: plain, or broken down by a property or segments (the `api` module's
/// docs). Serializes as the plain body, or as the engine's `BrokenDown` of plain bodies.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<T> {
    /// No breakdown.
    Plain(T),
    /// One result per breakdown value, the users in none last.
    Broken(bitmapist::BrokenDown<T>),
}

impl<T> Answer<T> {
    /// Each result in the body `f` gives it (the page's extras beside the engine's result).
    pub fn map<B>(self, mut f: impl FnMut(T) -> B) -> Answer<B> {
        match self.try_map(|t| Ok::<_, std::convert::Infallible>(f(t))) {
            Ok(a) => a,
            Err(never) => match never {},
        }
    }

    /// [`map`](Answer::map) with a step that can fail: the first error is the answer.
    pub fn try_map<B, E>(self, mut f: impl FnMut(T) -> Result<B, E>) -> Result<Answer<B>, E> {
        Ok(match self {
            Answer::Plain(t) => Answer::Plain(f(t)?),
            Answer::Broken(b) => Answer::Broken(bitmapist::BrokenDown {
                breakdown: b.breakdown,
                values: b
                    .values
                    .into_iter()
                    .map(|v| {
                        Ok(bitmapist::BreakdownValue {
                            value: v.value,
                            result: f(v.result)?,
                        })
                    })
                    .collect::<Result<_, E>>()?,
            }),
        })
    }
}

impl<T: Serialize> Answer<T> {
    /// The 200 JSON response.
    pub fn json(&self) -> DashboardResponse {
        DashboardResponse::json(StatusCode::OK, self)
    }
}
