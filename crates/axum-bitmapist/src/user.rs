//! Where the current user's id comes from: one pluggable [`UserSource`] used by every way
//! to mark. Ids that are not `u32` are an error the app sees, never a panic.
//!
//! Bitmapist ids are `u32` (Redis offsets end at 2^32 - 1). [`IntoUserId`] converts the
//! usual id types with range checks; an app whose ids are UUIDs or 64-bit values beyond
//! that range maps them itself with [`UserSource::from_fn`].

use std::fmt;
use std::sync::Arc;

use axum::http::request::Parts;

/// Why a user id could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// A number outside `0..=4294967295`.
    #[error("user id {0} is outside 0..=4294967295; map it to a u32 with UserSource::from_fn")]
    OutOfRange(String),
    /// A string that is not a decimal number.
    #[error("user id {0:?} is not a number; map it to a u32 with UserSource::from_fn")]
    NotANumber(String),
}

/// Converts an app's user id into a bitmapist id (`u32`).
pub trait IntoUserId {
    /// The id as a `u32`, or why it cannot be one.
    fn user_id(&self) -> Result<u32, UserIdError>;
}

macro_rules! int_user_id {
    ($($t:ty),*) => {$(
        impl IntoUserId for $t {
            fn user_id(&self) -> Result<u32, UserIdError> {
                u32::try_from(*self).map_err(|_| UserIdError::OutOfRange(self.to_string()))
            }
        }
    )*};
}
int_user_id!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
);

impl IntoUserId for str {
    fn user_id(&self) -> Result<u32, UserIdError> {
        let t = self.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UserIdError::NotANumber(self.to_string()));
        }
        t.parse::<u32>()
            .map_err(|_| UserIdError::OutOfRange(self.to_string()))
    }
}

impl IntoUserId for String {
    fn user_id(&self) -> Result<u32, UserIdError> {
        self.as_str().user_id()
    }
}

impl<T: IntoUserId + ?Sized> IntoUserId for &T {
    fn user_id(&self) -> Result<u32, UserIdError> {
        (**self).user_id()
    }
}

/// The request extension an app's own auth middleware inserts to name the current user:
/// `req.extensions_mut().insert(CurrentUser(42))`. The default [`UserSource`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CurrentUser(pub u32);

/// The response extension a handler inserts to name the user a mark is for, overriding
/// the request's user (e.g. a sign-up that creates the user):
/// `(Extension(MarkUser(new_id)), "welcome")`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarkUser(pub u32);

type SourceFn = dyn Fn(&Parts) -> Result<Option<u32>, UserIdError> + Send + Sync;

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
pub struct UserSource(Arc<SourceFn>);

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

impl IntoUserId for CurrentUser {
    fn user_id(&self) -> Result<u32, UserIdError> {
        Ok(self.0)
    }
}

impl UserSource {
    /// A closure over the request's parts.
    pub fn from_fn(
        f: impl Fn(&Parts) -> Result<Option<u32>, UserIdError> + Send + Sync + 'static,
    ) -> Self {
        UserSource(Arc::new(f))
    }

    /// The request extension of type `T`, converted with [`IntoUserId`].
    pub fn extension<T: IntoUserId + Send + Sync + 'static>() -> Self {
        UserSource::from_fn(|parts| parts.extensions.get::<T>().map(T::user_id).transpose())
    }

    /// The current user's id in `parts`.
    pub fn user_id(&self, parts: &Parts) -> Result<Option<u32>, UserIdError> {
        (self.0)(parts)
    }
}
