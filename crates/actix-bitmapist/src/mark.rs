//! The route middleware: `web::post().to(handler).wrap(mark("user:reset_password"))`.
//! Marks the request's user after the handler answered 2xx; anything else marks nothing.
//!
//! The user is read from the request before the handler runs (the user of *that*
//! request); a handler that creates or changes the user names the id in its response's
//! extensions with [`MarkUser`](crate::MarkUser), which wins. The mark is queued (see
//! [`Marker`](crate::Marker)): the response is never delayed by the store, and a store
//! error never turns a 2xx into an error. The middleware adds no allocation beyond the
//! mark itself and no await beyond the handler's.

use std::borrow::Cow;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use bitmapist::MarkOptions;
use bitmapist_web::{MarkKind, MarkUser, UserKey};
use chrono::{DateTime, Utc};

use crate::extension::ActixBitmapist;

/// Middleware that marks `event` for the request's user when the handler answers 2xx.
///
/// ```
/// use actix_web::{App, web};
/// use actix_bitmapist::mark;
///
/// async fn reset_password() -> &'static str { "ok" }
///
/// let app = App::new()
///     .route("/reset", web::post().to(reset_password).wrap(mark("user:reset_password")))
///     .route("/buy", web::post().to(|| async { "thanks" }).wrap(mark("user:purchased").hourly(true)));
/// ```
pub fn mark(event: impl Into<Cow<'static, str>>) -> Mark {
    Mark {
        event: event.into(),
        opts: MarkOptions::default(),
        at: None,
    }
}

/// See [`mark`].
#[derive(Clone, Debug)]
pub struct Mark {
    event: Cow<'static, str>,
    opts: MarkOptions,
    at: Option<DateTime<Utc>>,
}

impl Mark {
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

impl<S, B> Transform<S, ServiceRequest> for Mark
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = MarkMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<MarkMiddleware<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MarkMiddleware {
            service: Rc::new(service),
            mark: Rc::new(self.clone()),
        }))
    }
}

/// The service [`Mark`] wraps a route with.
#[derive(Debug)]
pub struct MarkMiddleware<S> {
    service: Rc<S>,
    mark: Rc<Mark>,
}

impl<S, B> Service<ServiceRequest> for MarkMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<ServiceResponse<B>, Error>>>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let ext = req.app_data::<ActixBitmapist>().cloned();
        if ext.is_none() {
            tracing::warn!("bitmapist: mark middleware on an app without init_app; nothing marked");
        }
        let user = ext
            .as_ref()
            .and_then(|e| e.user_key_of(req.request()).ok().flatten());
        let fut = self.service.call(req);
        let mark = Rc::clone(&self.mark);
        Box::pin(async move {
            let res = fut.await?;
            if let Some(ext) = ext.filter(|_| res.status().is_success()) {
                let uid = res
                    .response()
                    .extensions()
                    .get::<MarkUser>()
                    .map(|m| UserKey::Id(m.0))
                    .or(user);
                if let Some(uid) = uid {
                    let at = mark.at.unwrap_or_else(Utc::now);
                    // A refused mark is logged and counted by the queue.
                    let _ = ext.mark_key(mark.event.clone(), uid, at, mark.opts, MarkKind::Mark);
                }
            }
            Ok(res)
        })
    }
}
