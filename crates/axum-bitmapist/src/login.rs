//! Login tracking with axum-login: `user:logged_in` and `user:logged_out`, no handler code.
//! A layer reads the session's user before the request and again after it, and marks changes.
//!
//! axum-login has no login hooks; its `AuthSession::login` and `logout` change the shared
//! tower-sessions `Session`. This layer, placed inside axum-login's `AuthManagerLayer`,
//! reads the user from the `AuthSession` extension before the handler runs and the user id
//! stored in the session (under axum-login's data key) after it. Logged out before and in
//! after marks `user:logged_in` for the new user; the reverse marks `user:logged_out` for
//! the old one; a switch marks both. The status code does not matter (login handlers
//! usually redirect). Apps that log users in elsewhere can call [`logged_in`] and
//! [`logged_out`] themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Extensions, Request, Response};
use tower::{Layer, Service};
use tower_sessions::Session;

use crate::extension::AxumBitmapist;
use crate::queue::MarkError;
use crate::user::UserKey;

/// The event marked when a user logs in.
pub const LOGGED_IN: &str = "user:logged_in";
/// The event marked when a user logs out.
pub const LOGGED_OUT: &str = "user:logged_out";
/// axum-login's default session key for its data.
pub const DEFAULT_DATA_KEY: &str = "axum-login.data";

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Before = dyn Fn(&Extensions) -> Option<(Option<String>, Session)> + Send + Sync;
type After = dyn Fn(Session) -> BoxFuture<Option<String>> + Send + Sync;

/// The shape axum-login stores under its data key (only the field read here).
#[derive(serde::Deserialize)]
struct Stored<Id> {
    user_id: Option<Id>,
}

/// Reads the logged-in user of one axum-login backend, before and after a request.
#[derive(Clone)]
pub struct LoginProbe {
    before: Arc<Before>,
    after: Arc<After>,
}

impl std::fmt::Debug for LoginProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginProbe(..)")
    }
}

/// The user a login mark is for: an external id with the map on, else a `u32` (a
/// warning and nothing when the id is not one).
fn key_of(ext: &AxumBitmapist, id: &str) -> Option<UserKey> {
    ext.key_of(id)
        .map_err(|e| tracing::warn!(error = %e, "bitmapist: login not tracked"))
        .ok()
}

impl LoginProbe {
    /// For backend `B`, whose session data lives under `data_key` (axum-login's default is
    /// [`DEFAULT_DATA_KEY`]; change it if you called `with_data_key`).
    pub fn new<B>(data_key: &'static str) -> Self
    where
        B: axum_login::AuthnBackend + Send + Sync + 'static,
        axum_login::UserId<B>: std::fmt::Display + serde::de::DeserializeOwned,
    {
        use axum_login::AuthUser;
        let before = move |ext: &Extensions| {
            let auth = ext.get::<axum_login::AuthSession<B>>()?;
            let user = auth.user.as_ref().map(|u| u.id().to_string());
            Some((user, auth.session.clone()))
        };
        let after = move |session: Session| -> BoxFuture<Option<String>> {
            Box::pin(async move {
                match session.get::<Stored<axum_login::UserId<B>>>(data_key).await {
                    Ok(stored) => stored.and_then(|s| s.user_id).map(|id| id.to_string()),
                    Err(e) => {
                        tracing::warn!(error = %e, "bitmapist: cannot read the session after the request");
                        None
                    }
                }
            })
        };
        LoginProbe {
            before: Arc::new(before),
            after: Arc::new(after),
        }
    }
}

/// Queues `user:logged_in` for `uid`.
pub fn logged_in(ext: &AxumBitmapist, uid: u32) -> Result<(), MarkError> {
    ext.mark_event(LOGGED_IN, uid)
}

/// Queues `user:logged_out` for `uid`.
pub fn logged_out(ext: &AxumBitmapist, uid: u32) -> Result<(), MarkError> {
    ext.mark_event(LOGGED_OUT, uid)
}

/// The layer that marks logins and logouts (installed by `init_app` when the builder was
/// given `.axum_login::<Backend>()`).
#[derive(Clone, Debug)]
pub struct LoginTrackingLayer {
    ext: AxumBitmapist,
    probe: LoginProbe,
}

impl LoginTrackingLayer {
    /// Tracks logins of the probe's backend through `ext`.
    pub fn new(ext: AxumBitmapist, probe: LoginProbe) -> Self {
        LoginTrackingLayer { ext, probe }
    }
}

impl<S> Layer<S> for LoginTrackingLayer {
    type Service = LoginTracking<S>;
    fn layer(&self, inner: S) -> LoginTracking<S> {
        LoginTracking {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`LoginTrackingLayer`].
#[derive(Clone, Debug)]
pub struct LoginTracking<S> {
    inner: S,
    layer: LoginTrackingLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for LoginTracking<S>
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
        let before = (self.layer.probe.before)(req.extensions());
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let response = inner.call(req).await?;
            if let Some((was, session)) = before {
                let now = (layer.probe.after)(session).await;
                if was != now {
                    let at = chrono::Utc::now();
                    let opts = bitmapist::MarkOptions::default();
                    if let Some(old) = was.and_then(|id| key_of(&layer.ext, &id)) {
                        let _ = layer.ext.mark_key(LOGGED_OUT, old, at, opts, true);
                    }
                    if let Some(new) = now.and_then(|id| key_of(&layer.ext, &id)) {
                        let _ = layer.ext.mark_key(LOGGED_IN, new, at, opts, true);
                    }
                }
            }
            Ok(response)
        })
    }
}
