//! [`Tracker`]: the extractor for marking from a handler, for the request's user or any id.
//! The direct-call way to mark; it queues and never waits on the store.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use bitmapist::{Bitmapist, MarkOptions};
use chrono::Utc;

use crate::extension::AxumBitmapist;
use bitmapist_web::{MarkError, MarkKind, UserIdError, UserKey};

/// Marks events from a handler.
///
/// ```
/// use axum_bitmapist::Tracker;
///
/// async fn complete(tracker: Tracker) -> &'static str {
///     // For the request's user; a failure (no user, queue full) never fails the request.
///     let _ = tracker.mark_event("user:action_taken");
///     // For any id.
///     let _ = tracker.mark_event_for("order:shipped", 1234);
///     "done"
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::post(complete));
/// ```
#[derive(Clone, Debug)]
pub struct Tracker {
    ext: AxumBitmapist,
    user: Result<Option<UserKey>, UserIdError>,
}

/// The rejection when [`AxumBitmapist::init_app`] was not called on the router.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("axum-bitmapist is not installed on this router: call AxumBitmapist::init_app(router)")]
pub struct NotInstalled;

impl axum::response::IntoResponse for NotInstalled {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tracker {
    type Rejection = NotInstalled;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ext = parts
            .extensions
            .get::<AxumBitmapist>()
            .cloned()
            .ok_or(NotInstalled)?;
        let user = ext.user_key_of(parts);
        Ok(Tracker { ext, user })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AxumBitmapist {
    type Rejection = NotInstalled;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AxumBitmapist>()
            .cloned()
            .ok_or(NotInstalled)
    }
}

impl Tracker {
    /// The request's user, if any, when it is a `u32` (not an external id waiting to be
    /// mapped; see [`Tracker::user_key`]).
    pub fn user_id(&self) -> Option<u32> {
        match self.user.clone().ok().flatten() {
            Some(UserKey::Id(d)) => Some(d),
            _ => None,
        }
    }

    /// The request's user, if any, as the marks use it.
    pub fn user_key(&self) -> Option<UserKey> {
        self.user.clone().ok().flatten()
    }

    /// Queues `event` for the request's user, now.
    pub fn mark_event(&self, event: impl Into<Cow<'static, str>>) -> Result<(), MarkError> {
        let user = self.user.clone()?.ok_or(MarkError::NoUser)?;
        self.ext.mark_key(
            event,
            user,
            Utc::now(),
            MarkOptions::default(),
            MarkKind::Mark,
        )
    }

    /// Queues `event` for `uid`, now.
    pub fn mark_event_for(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
    ) -> Result<(), MarkError> {
        self.ext.mark_event(event, uid)
    }

    /// Queues `event` for `uid` with options (hourly, unique).
    pub fn mark_event_with(
        &self,
        event: impl Into<Cow<'static, str>>,
        uid: u32,
        opts: MarkOptions,
    ) -> Result<(), MarkError> {
        self.ext.mark_event_with(event, uid, Utc::now(), opts)
    }

    /// Queues an unmark of `event` for the request's user.
    pub fn unmark_event(&self, event: impl Into<Cow<'static, str>>) -> Result<(), MarkError> {
        let user = self.user.clone()?.ok_or(MarkError::NoUser)?;
        self.ext.mark_key(
            event,
            user,
            Utc::now(),
            MarkOptions::default(),
            MarkKind::Unmark,
        )
    }

    /// The engine handle, for queries and awaited marks.
    pub fn client(&self) -> &Bitmapist {
        self.ext.client()
    }

    /// The extension.
    pub fn extension(&self) -> &AxumBitmapist {
        &self.ext
    }
}
