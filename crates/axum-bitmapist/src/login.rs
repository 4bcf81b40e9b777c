//! The axum-login adapter: login tracking (`user:logged_in` / `user:logged_out`, no handler
//! code) and the session's user as the current user. Every read of axum-login's state is here.
//!
//! axum-login has no login hooks; its `AuthSession::login` and `logout` change the shared
//! tower-sessions `Session`. A request hook (see `hooks`), placed inside axum-login's `AuthManagerLayer`,
//! reads the user from the `AuthSession` extension before the handler runs and the user id
//! stored in the session (under axum-login's data key) after it. Logged out before and in
//! after marks `user:logged_in` for the new user; the reverse marks `user:logged_out` for
//! the old one; a switch marks both. The status code does not matter (login handlers
//! usually redirect). Apps that log users in elsewhere can call [`logged_in`] and
//! [`logged_out`] themselves.

//!
//! What it reads of axum-login 0.18: the `AuthSession<B>` request extension's public `user`
//! and `session` fields, and the session data axum-login keeps under [`DEFAULT_DATA_KEY`]
//! (a private detail there: a `{ user_id, .. }` record). A newer axum-login that hides them
//! needs changes in this module only.

use std::sync::Arc;

use axum::http::Extensions;
use tower_sessions::Session;

use crate::extension::{AxumBitmapist, Builder};
use crate::hooks::{AfterResponse, RequestHook};
use crate::user::UserSource;
use bitmapist_web::MarkError;

/// The event marked when a user logs in.
pub const LOGGED_IN: &str = "user:logged_in";
/// The event marked when a user logs out.
pub const LOGGED_OUT: &str = "user:logged_out";
/// axum-login's default session key for its data.
pub const DEFAULT_DATA_KEY: &str = "axum-login.data";

/// The shape axum-login stores under its data key (only the field read here).
#[derive(serde::Deserialize)]
struct Stored<Id> {
    user_id: Option<Id>,
}

/// The logged-in user's id (as text) of backend `B`'s session, from the request's
/// `AuthSession<B>`.
fn session_user<B>(extensions: &Extensions) -> Option<String>
where
    B: axum_login::AuthnBackend + Send + Sync + 'static,
    axum_login::UserId<B>: std::fmt::Display,
{
    use axum_login::AuthUser;
    extensions
        .get::<axum_login::AuthSession<B>>()
        .and_then(|s| s.user.as_ref())
        .map(|u| u.id().to_string())
}

/// Marks logins and logouts of backend `B`: reads the session's user before the request
/// (from `AuthSession<B>`) and after it (from the session data under `data_key`).
struct LoginHook<B> {
    data_key: &'static str,
    backend: std::marker::PhantomData<fn() -> B>,
}

impl<B> std::fmt::Debug for LoginHook<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoginHook({:?})", self.data_key)
    }
}

impl<B> RequestHook for LoginHook<B>
where
    B: axum_login::AuthnBackend + Send + Sync + 'static,
    axum_login::UserId<B>: std::fmt::Display + serde::de::DeserializeOwned,
{
    fn before(&self, extensions: &Extensions) -> Option<AfterResponse> {
        use axum_login::AuthUser;
        let auth = extensions.get::<axum_login::AuthSession<B>>()?;
        let was = auth.user.as_ref().map(|u| u.id().to_string());
        let session: Session = auth.session.clone();
        let data_key = self.data_key;
        Some(Box::pin(async move {
            let now = match session.get::<Stored<axum_login::UserId<B>>>(data_key).await {
                Ok(stored) => stored.and_then(|s| s.user_id).map(|id| id.to_string()),
                Err(e) => {
                    tracing::warn!(error = %e, "bitmapist: cannot read the session after the request");
                    None
                }
            };
            let mut marks = Vec::new();
            if was != now {
                if let Some(old) = was.clone() {
                    marks.push((LOGGED_OUT, old));
                }
                if let Some(new) = now {
                    marks.push((LOGGED_IN, new));
                }
            }
            marks
        }))
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

impl UserSource {
    /// The logged-in user of an axum-login session (`AuthSession<B>`, which axum-login's
    /// layer puts in the request extensions).
    ///
    /// Any `Display` id works with the external-id map on (`String`, `Uuid`, `i64`); with
    /// it off, the id's text must be a decimal `u32`.
    pub fn axum_login<B>() -> Self
    where
        B: axum_login::AuthnBackend + Send + Sync + 'static,
        axum_login::UserId<B>: std::fmt::Display,
    {
        UserSource::from_display_fn(|parts| session_user::<B>(&parts.extensions))
    }
}

impl Builder {
    /// With axum-login: the current user is the session's user, and `user:logged_in` /
    /// `user:logged_out` are marked whenever a request logs a user in or out.
    pub fn axum_login<B>(self) -> Self
    where
        B: axum_login::AuthnBackend + Send + Sync + 'static,
        axum_login::UserId<B>: std::fmt::Display + serde::de::DeserializeOwned,
    {
        self.user_source(UserSource::axum_login::<B>())
            .request_hook(Arc::new(LoginHook::<B> {
                data_key: DEFAULT_DATA_KEY,
                backend: std::marker::PhantomData,
            }))
    }
}
