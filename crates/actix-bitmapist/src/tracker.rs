//! [`Tracker`]: the extractor for marking from a handler, for the request's user or any id.
//! The direct-call way to mark; it queues and never waits on the store.

use std::borrow::Cow;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, ResponseError};
use bitmapist::{Bitmapist, MarkOptions};
use bitmapist_web::{MarkError, MarkKind, UserIdError, UserKey};
use chrono::Utc;

use crate::extension::ActixBitmapist;

/// Marks events from a handler.
///
/// ```
/// use actix_bitmapist::Tracker;
///
/// async fn complete(tracker: Tracker) -> &'static str {
///     // For the request's user; a failure (no user, queue full) never fails the request.
///     let _ = tracker.mark_event("user:action_taken");
///     // For any id.
///     let _ = tracker.mark_event_for("order:shipped", 1234);
///     "done"
/// }
/// # let _ = actix_web::App::new().route("/", actix_web::web::post().to(complete));
/// ```
#[derive(Clone, Debug)]
pub struct Tracker {
    ext: ActixBitmapist,
    user: Result<Option<UserKey>, UserIdError>,
}

/// The extraction error when `configure(bitmapist.init_app())` was not called on the app.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "actix-bitmapist is not installed on this app: call App::new().configure(bitmapist.init_app())"
)]
pub struct NotInstalled;

impl ResponseError for NotInstalled {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

impl FromRequest for Tracker {
    type Error = NotInstalled;
    type Future = Ready<Result<Self, NotInstalled>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(ActixBitmapist::of(req).map(|ext| {
            let user = ext.user_key_of(req);
            Tracker { ext, user }
        }))
    }
}

impl FromRequest for ActixBitmapist {
    type Error = NotInstalled;
    type Future = Ready<Result<Self, NotInstalled>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(ActixBitmapist::of(req))
    }
}

impl ActixBitmapist {
    /// The extension installed on the request's app.
    pub(crate) fn of(req: &HttpRequest) -> Result<ActixBitmapist, NotInstalled> {
        req.app_data::<ActixBitmapist>()
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
        self.for_user(event, MarkKind::Mark)
    }

    /// Queues an unmark of `event` for the request's user.
    pub fn unmark_event(&self, event: impl Into<Cow<'static, str>>) -> Result<(), MarkError> {
        self.for_user(event, MarkKind::Unmark)
    }

    fn for_user(
        &self,
        event: impl Into<Cow<'static, str>>,
        kind: MarkKind,
    ) -> Result<(), MarkError> {
        let user = self.user.clone()?.ok_or(MarkError::NoUser)?;
        self.ext
            .mark_key(event, user, Utc::now(), MarkOptions::default(), kind)
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

    /// The engine handle, for queries and awaited marks.
    pub fn client(&self) -> &Bitmapist {
        self.ext.client()
    }

    /// The extension.
    pub fn extension(&self) -> &ActixBitmapist {
        &self.ext
    }
}
