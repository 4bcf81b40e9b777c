//! `bitmapist._native.Dashboard`: the dashboard core (`bitmapist-web`) for Python web
//! frameworks; the Flask blueprint of `flask_bitmapist` serves `/bitmapist` through it.
//!
//! Why: the pages, JSON, CSV, legacy `POST /cohort`, assets, access guard and heavy-request
//! bound must be the same under Flask as under axum and actix-web, so the blueprint draws
//! nothing: it hands the request to the same core.
//!
//! How: [`PyDashboard`] holds a [`DashboardCore`] built on a [`Handle`]'s engine client.
//! `handle` turns the request parts Python gives (method, path below the mount, raw query,
//! headers, peer `"ip:port"`, body, mount) into a [`DashboardRequest`], runs the core's
//! future on the process-wide runtime with the GIL released, and returns
//! `(status, [(name, value bytes)], body bytes)`. `forbidden` answers an adapter-side
//! refusal with the core's own 403.
//!
//! Invariants: never panics on input; a method or header Python could not have received
//! from HTTP is a `ValueError` naming it; a peer that is not an address is treated as
//! unknown (the loopback guard then refuses, saying why).
//!
//! What a crash can lose: nothing; the dashboard only reads.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bitmapist_web::{Access, Dashboard, DashboardCore, DashboardRequest, DashboardResponse};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::{Handle, runtime};

/// Status, headers (name, raw value) and body of one dashboard answer.
type Answer = (u16, Vec<(String, Py<PyBytes>)>, Py<PyBytes>);

/// The dashboard core on one store, shared by every request of a Flask app.
#[pyclass(frozen, module = "bitmapist._native", name = "Dashboard")]
pub struct PyDashboard {
    core: DashboardCore,
}

#[pymethods]
impl PyDashboard {
    /// A dashboard reading `handle`'s store. `access` is `"loopback"` (the default: loopback
    /// clients only) or `"public"`; `max_heavy_requests` bounds concurrent heavy pages
    /// (503 + `Retry-After` past it) and `event_names_ttl` (seconds) caches the event list.
    #[new]
    #[pyo3(signature = (handle, access = "loopback", max_heavy_requests = None, event_names_ttl = None))]
    fn new(
        handle: &Handle,
        access: &str,
        max_heavy_requests: Option<usize>,
        event_names_ttl: Option<f64>,
    ) -> PyResult<Self> {
        let access = match access {
            "loopback" => Access::LoopbackOnly,
            "public" => Access::Public,
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid argument `access`: {other:?} is not \"loopback\" or \"public\""
                )));
            }
        };
        let mut builder = Dashboard::new(handle.bm.clone()).access(access);
        if let Some(n) = max_heavy_requests {
            if n == 0 {
                return Err(PyValueError::new_err(
                    "invalid argument `max_heavy_requests`: must be at least 1",
                ));
            }
            builder = builder.max_heavy_requests(n);
        }
        if let Some(secs) = event_names_ttl {
            let ttl = Duration::try_from_secs_f64(secs).map_err(|_| {
                PyValueError::new_err(format!(
                    "invalid argument `event_names_ttl`: {secs} is not a number of seconds >= 0"
                ))
            })?;
            builder = builder.event_names_ttl(ttl);
        }
        Ok(PyDashboard {
            core: builder.build(),
        })
    }

    /// Answers one request: `method`, `path` below the mount, the raw `query` (or `None`),
    /// `headers` as `(name, value)` pairs, `peer` as `"ip:port"` (or `None`), the `body`
    /// bytes and the `mount` path. Returns `(status, [(name, value bytes)], body bytes)`;
    /// runs with the GIL released. A method or header HTTP could not carry is a
    /// `ValueError` naming it.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, path, query, headers, peer, body, mount))]
    fn handle(
        &self,
        py: Python<'_>,
        method: &str,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        peer: Option<&str>,
        body: Vec<u8>,
        mount: String,
    ) -> PyResult<Answer> {
        let req = request(method, path, query, headers, peer, body, mount)?;
        let rt = runtime()?;
        let core = &self.core;
        let res = py.detach(|| rt.block_on(core.handle(req)));
        Ok(answer(py, res))
    }

    /// The core's 403 page / JSON for a request the adapter's own guard refused.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (method, path, query, headers, peer, body, mount, reason))]
    fn forbidden(
        &self,
        py: Python<'_>,
        method: &str,
        path: String,
        query: Option<String>,
        headers: Vec<(String, String)>,
        peer: Option<&str>,
        body: Vec<u8>,
        mount: String,
        reason: &str,
    ) -> PyResult<Answer> {
        let req = request(method, path, query, headers, peer, body, mount)?;
        Ok(answer(py, self.core.forbidden(&req, reason)))
    }
}

fn request(
    method: &str,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    peer: Option<&str>,
    body: Vec<u8>,
    mount: String,
) -> PyResult<DashboardRequest> {
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| {
        PyValueError::new_err(format!(
            "invalid argument `method`: {method:?} is not an HTTP method"
        ))
    })?;
    let mut map = http::HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            PyValueError::new_err(format!(
                "invalid argument `headers`: {name:?} is not a header name"
            ))
        })?;
        // WSGI hands header values over as latin-1 decoded str: one char per byte.
        let raw: Option<Vec<u8>> = value.chars().map(|c| u8::try_from(c).ok()).collect();
        let value = raw
            .and_then(|raw| http::HeaderValue::from_bytes(&raw).ok())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "invalid argument `headers`: bad value for {name:?}"
                ))
            })?;
        map.append(header, value);
    }
    Ok(DashboardRequest {
        method,
        path,
        query,
        headers: map,
        peer: peer.and_then(parse_peer),
        body: body.into(),
        mount,
    })
}

/// `"127.0.0.1:5000"`, `"[::1]:5000"`, or a bare address (port 0); anything else is unknown.
fn parse_peer(peer: &str) -> Option<SocketAddr> {
    peer.parse::<SocketAddr>()
        .ok()
        .or_else(|| peer.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0)))
}

fn answer(py: Python<'_>, res: DashboardResponse) -> Answer {
    let headers = res
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                PyBytes::new(py, value.as_bytes()).unbind(),
            )
        })
        .collect();
    (
        res.status.as_u16(),
        headers,
        PyBytes::new(py, &res.body).unbind(),
    )
}
