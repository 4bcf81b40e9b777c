//! Where the current user's id comes from in an actix-web request: one pluggable
//! [`UserSource`] used by every way to mark (the extractor, the route middleware, login
//! tracking). Ids that are not `u32` are an error the app sees, never a panic.
//!
//! The same sources as axum-bitmapist's: an app-provided [`CurrentUser`] request
//! extension (the default), any extension type, a closure, and (feature `identity`)
//! actix-identity's id. Sources of `Display` ids ([`UserSource::from_display_fn`],
//! [`UserSource::display_extension`], `UserSource::identity`) yield the id's text, which
//! the external-id map turns into a dense id when it is on ([`UserKey::External`]);
//! without the map that text must be a decimal `u32`.

use std::fmt;
use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest};
use bitmapist_web::{CurrentUser, IntoUserId, UserIdError, UserKey};

type SourceFn = dyn Fn(&HttpRequest) -> Result<Option<u32>, UserIdError> + Send + Sync;
type TextFn = dyn Fn(&HttpRequest) -> Option<String> + Send + Sync;

/// Finds the current user's id in a request: `Ok(None)` when nobody is logged in.
///
/// ```
/// use actix_bitmapist::{IntoUserId, UserSource};
///
/// // The default: the `CurrentUser` extension set by the app's auth middleware.
/// let default = UserSource::default();
///
/// // Any extension type whose value converts to a u32 (here the app's own session type).
/// #[derive(Clone)]
/// struct Session { user_id: i64 }
/// use actix_web::HttpMessage;
/// let from_session = UserSource::from_fn(|req| {
///     req.extensions().get::<Session>().map(|s| s.user_id.user_id()).transpose()
/// });
/// # let _ = (default, from_session);
/// ```
#[derive(Clone)]
pub struct UserSource {
    dense: Arc<SourceFn>,
    /// The id's text, for sources of `Display` ids (used when the map is on).
    text: Option<Arc<TextFn>>,
}

impl fmt::Debug for UserSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserSource(..)")
    }
}

impl Default for UserSource {
    fn default() -> Self {
        UserSource::extension::<CurrentUser>()
    }
}

impl UserSource {
    /// A closure over the request.
    pub fn from_fn(
        f: impl Fn(&HttpRequest) -> Result<Option<u32>, UserIdError> + Send + Sync + 'static,
    ) -> Self {
        UserSource {
            dense: Arc::new(f),
            text: None,
        }
    }

    /// A closure yielding any `Display` id (a `String`, a `Uuid`, an `i64`...). With the
    /// external-id map on, its text is mapped; without, it must be a decimal `u32`.
    pub fn from_display_fn<D: fmt::Display>(
        f: impl Fn(&HttpRequest) -> Option<D> + Send + Sync + 'static,
    ) -> Self {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        UserSource {
            dense: Arc::new(move |req| f(req).map(|d| d.to_string().user_id()).transpose()),
            text: Some(Arc::new(move |req| g(req).map(|d| d.to_string()))),
        }
    }

    /// The request extension of type `T`, any `Display` id (see
    /// [`UserSource::from_display_fn`]).
    pub fn display_extension<T: fmt::Display + 'static>() -> Self {
        UserSource::from_display_fn(|req| req.extensions().get::<T>().map(ToString::to_string))
    }

    /// The request extension of type `T`, converted with [`IntoUserId`].
    pub fn extension<T: IntoUserId + 'static>() -> Self {
        UserSource::from_fn(|req| req.extensions().get::<T>().map(T::user_id).transpose())
    }

    /// The current user's id in `req`.
    pub fn user_id(&self, req: &HttpRequest) -> Result<Option<u32>, UserIdError> {
        (self.dense)(req)
    }

    /// The current user in `req`: with `map` on and a source of `Display` ids, its text
    /// ([`UserKey::External`]); otherwise its `u32` ([`UserKey::Id`]).
    pub fn user_key(&self, req: &HttpRequest, map: bool) -> Result<Option<UserKey>, UserIdError> {
        match (&self.text, map) {
            (Some(text), true) => Ok(text(req).map(UserKey::External)),
            _ => Ok(self.user_id(req)?.map(UserKey::Id)),
        }
    }
}
