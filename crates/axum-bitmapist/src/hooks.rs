//! Request hooks: how optional integrations (axum-login's login tracking) plug into
//! [`AxumBitmapist::init_app`](crate::AxumBitmapist::init_app) without the extension naming them.
//!
//! A hook looks at a request's extensions before the handler runs and may return a future
//! that, awaited after the response, says which events to mark for which users. The
//! extension wraps the app in one [`HooksLayer`] for all of its hooks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Extensions, Request, Response};
use tower::{Layer, Service};

/// Marks to queue once a request is answered: `(event, user id as text)` pairs (the
/// extension maps the text to a user: a `u32`, or through the external-id map).
pub(crate) type AfterResponse = Pin<Box<dyn Future<Output = Vec<(&'static str, String)>> + Send>>;

/// Something that watches requests.
pub(crate) trait RequestHook: Send + Sync + fmt::Debug + 'static {
    /// Called before the handler; the future (if any) is awaited after the response.
    fn before(&self, extensions: &Extensions) -> Option<AfterResponse>;
}

/// Queues one mark (the extension's `mark_event`; errors are counted there).
pub(crate) type MarkFn = dyn Fn(&'static str, &str) + Send + Sync;

/// The layer that runs every hook around each request.
#[derive(Clone)]
pub(crate) struct HooksLayer {
    hooks: Arc<[Arc<dyn RequestHook>]>,
    mark: Arc<MarkFn>,
}

impl fmt::Debug for HooksLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HooksLayer({} hooks)", self.hooks.len())
    }
}

impl HooksLayer {
    /// Runs `hooks` around each request, queueing their marks with `mark`.
    pub(crate) fn new(hooks: Arc<[Arc<dyn RequestHook>]>, mark: Arc<MarkFn>) -> Self {
        HooksLayer { hooks, mark }
    }
}

impl<S> Layer<S> for HooksLayer {
    type Service = Hooks<S>;
    fn layer(&self, inner: S) -> Hooks<S> {
        Hooks {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`HooksLayer`].
#[derive(Clone, Debug)]
pub(crate) struct Hooks<S> {
    inner: S,
    layer: HooksLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Hooks<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let after: Vec<AfterResponse> = self
            .layer
            .hooks
            .iter()
            .filter_map(|h| h.before(req.extensions()))
            .collect();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let mark = Arc::clone(&self.layer.mark);
        Box::pin(async move {
            let response = inner.call(req).await?;
            for marks in after {
                for (event, id) in marks.await {
                    mark(event, &id);
                }
            }
            Ok(response)
        })
    }
}
