//! The route layer: `post(handler).layer(mark("user:reset_password"))`.
//! Marks the request's user after the handler answered 2xx; anything else marks nothing.
//!
//! The user is read from the request before the handler runs (so the user of *that*
//! request, never a value fixed at start-up); a handler that creates or changes the user
//! names the id in its response with [`MarkUser`](crate::MarkUser), which wins. The mark
//! is queued (see [`Marker`](crate::Marker)): the response is never delayed by the store, and a
//! store error never turns a 2xx into an error.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use bitmapist::MarkOptions;
use chrono::{DateTime, Utc};
use tower::{Layer, Service};

use crate::extension::AxumBitmapist;
use bitmapist_web::{MarkKind, MarkUser, UserKey};

/// A layer that marks `event` for the request's user when the handler answers 2xx.
///
/// ```
/// use axum::{Router, routing::post};
/// use axum_bitmapist::mark;
///
/// async fn reset_password() -> &'static str { "ok" }
///
/// let app: Router = Router::new()
///     .route("/reset", post(reset_password).layer(mark("user:reset_password")))
///     .route("/buy", post(|| async { "thanks" }).layer(mark("user:purchased").hourly(true)));
/// ```
pub fn mark(event: impl Into<Cow<'static, str>>) -> MarkLayer {
    MarkLayer {
        event: event.into(),
        opts: MarkOptions::default(),
        at: None,
    }
}

/// See [`mark`].
#[derive(Clone, Debug)]
pub struct MarkLayer {
    event: Cow<'static, str>,
    opts: MarkOptions,
    at: Option<DateTime<Utc>>,
}

impl MarkLayer {
    /// Also mark the unique key (or not, overriding the extension's setting).
    pub fn unique(mut self, on: bool) -> Self {
        self.opts.unique = Some(on);
        self
    }

    /// Also mark the hour key (or not, overriding the extension's setting).
    pub fn hourly(mut self, on: bool) -> Self {
        self.opts.hourly = Some(on);
        self
    }

    /// Marks at a fixed time instead of now (for tests and replays).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }
}

impl<S> Layer<S> for MarkLayer {
    type Service = MarkService<S>;
    fn layer(&self, inner: S) -> MarkService<S> {
        MarkService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`MarkLayer`] wraps a route with.
#[derive(Clone, Debug)]
pub struct MarkService<S> {
    inner: S,
    layer: MarkLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MarkService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let ext = parts.extensions.get::<AxumBitmapist>().cloned();
        if ext.is_none() {
            tracing::warn!("bitmapist: mark layer on a router without init_app; nothing marked");
        }
        let user = ext
            .as_ref()
            .and_then(|e| e.user_key_of(&parts).ok().flatten());
        let req = Request::from_parts(parts, body);
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let response = inner.call(req).await?;
            if let Some(ext) = ext.filter(|_| response.status().is_success()) {
                let uid = response
                    .extensions()
                    .get::<MarkUser>()
                    .map(|m| UserKey::Id(m.0))
                    .or(user);
                if let Some(uid) = uid {
                    let at = layer.at.unwrap_or_else(Utc::now);
                    // A refused mark is logged and counted by the queue.
                    let _ = ext.mark_key(layer.event.clone(), uid, at, layer.opts, MarkKind::Mark);
                }
            }
            Ok(response)
        })
    }
}
