//! Where the current user's id comes from: one pluggable [`UserSource`] used by every way
//! to mark. Ids that are not `u32` are an error the app sees, never a panic.
//!
//! Bitmapist ids are `u32` (Redis offsets end at 2^32 - 1). [`IntoUserId`] converts the
//! usual id types with range checks. An app whose ids are strings, UUIDs or 64-bit values
//! turns on the external-id map (`BITMAPIST_ID_MAP=true` or
//! [`Builder::id_map`](crate::Builder::id_map)): sources made with
//! [`UserSource::from_display_fn`], [`UserSource::display_extension`] or
//! [`UserSource::axum_login`] then yield the id's text, which the map turns into a dense
//! id ([`UserKey::External`]). Without the map those sources behave as before: decimal
//! `u32` text is the id, anything else is a [`UserIdError`]. The id types are shared with
//! the other adapters (`bitmapist-web`); only reading axum's request is here.

use std::fmt;
use std::sync::Arc;

use axum::http::request::Parts;
use bitmapist_web::{CurrentUser, IntoUserId, UserIdError, UserKey};

type SourceFn = dyn Fn(&Parts) -> Result<Option<u32>, UserIdError> + Send + Sync;
type TextFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// Finds the current user's id in a request: `Ok(None)` when nobody is logged in.
///
/// ```
/// use axum_bitmapist::{CurrentUser, IntoUserId, UserSource};
///
/// // The default: the `CurrentUser` extension set by the app's auth middleware.
/// let default = UserSource::default();
///
/// // Any extension type whose value converts to a u32 (here the app's own session type).
/// #[derive(Clone)]
/// struct Session { user_id: i64 }
/// let from_session = UserSource::from_fn(|parts| {
///     parts.extensions.get::<Session>().map(|s| s.user_id.user_id()).transpose()
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
    /// A closure over the request's parts.
    pub fn from_fn(
        f: impl Fn(&Parts) -> Result<Option<u32>, UserIdError> + Send + Sync + 'static,
    ) -> Self {
        UserSource {
            dense: Arc::new(f),
            text: None,
        }
    }

    /// A closure yielding any `Display` id (a `String`, a `Uuid`, an `i64`...). With the
    /// external-id map on, its text is mapped; without, it must be a decimal `u32`.
    ///
    /// ```
    /// use axum_bitmapist::UserSource;
    /// #[derive(Clone)]
    /// struct Session { user: String } // e.g. "67e55044-10b1-426f-9247-bb680e5fe0c8"
    /// let source = UserSource::from_display_fn(|parts| {
    ///     parts.extensions.get::<Session>().map(|s| s.user.clone())
    /// });
    /// # let _ = source;
    /// ```
    pub fn from_display_fn<D: fmt::Display>(
        f: impl Fn(&Parts) -> Option<D> + Send + Sync + 'static,
    ) -> Self {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        UserSource {
            dense: Arc::new(move |parts| f(parts).map(|d| d.to_string().user_id()).transpose()),
            text: Some(Arc::new(move |parts| g(parts).map(|d| d.to_string()))),
        }
    }

    /// The request extension of type `T`, any `Display` id (see
    /// [`UserSource::from_display_fn`]).
    pub fn display_extension<T: fmt::Display + Send + Sync + 'static>() -> Self {
        UserSource::from_display_fn(|parts| parts.extensions.get::<T>().map(ToString::to_string))
    }

    /// The request extension of type `T`, converted with [`IntoUserId`].
    pub fn extension<T: IntoUserId + Send + Sync + 'static>() -> Self {
        UserSource::from_fn(|parts| parts.extensions.get::<T>().map(T::user_id).transpose())
    }

    /// The current user's id in `parts`.
    pub fn user_id(&self, parts: &Parts) -> Result<Option<u32>, UserIdError> {
        (self.dense)(parts)
    }

    /// The current user in `parts`: with `map` on and a source of `Display` ids, its text
    /// ([`UserKey::External`]); otherwise its `u32` ([`UserKey::Id`]).
    pub fn user_key(&self, parts: &Parts, map: bool) -> Result<Option<UserKey>, UserIdError> {
        match (&self.text, map) {
            (Some(text), true) => Ok(text(parts).map(UserKey::External)),
            _ => Ok(self.user_id(parts)?.map(UserKey::Id)),
        }
    }
}
