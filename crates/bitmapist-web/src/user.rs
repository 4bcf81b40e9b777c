//! The user a mark is for, framework-free: the [`UserKey`] a mark carries, the id
//! conversions ([`IntoUserId`], [`UserIdError`]) and the extension types an app's auth
//! inserts ([`CurrentUser`]) or a handler answers with ([`MarkUser`]). Each web adapter
//! has its own `UserSource` (it reads its framework's request) built on these.
//!
//! Bitmapist ids are `u32` (Redis offsets end at 2^32 - 1). [`IntoUserId`] converts the
//! usual id types with range checks. An app whose ids are strings, UUIDs or 64-bit values
//! turns on the external-id map (`BITMAPIST_ID_MAP=true`): its ids then travel as text
//! ([`UserKey::External`]) and the engine maps them to dense ids when the mark is written.
//! Ids that are not `u32` without the map are an error the app sees, never a panic.

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
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if t.strip_prefix('-').is_some_and(digits) {
            return Err(UserIdError::OutOfRange(self.to_string()));
        }
        if !digits(t) {
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
/// `req.extensions_mut().insert(CurrentUser(42))`. The default `UserSource` of each adapter reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CurrentUser(pub u32);

/// The response extension a handler inserts to name the user a mark is for, overriding
/// the request's user (e.g. a sign-up that creates the user):
/// `(Extension(MarkUser(new_id)), "welcome")`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarkUser(pub u32);

/// Who a mark is for: a bit offset, or an external id the map turns into one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserKey {
    /// A dense id, used as the bit offset.
    Id(u32),
    /// An app's id as text (a string, a UUID, an i64...), mapped through the external-id
    /// map when the mark is written.
    External(String),
}

impl IntoUserId for CurrentUser {
    fn user_id(&self) -> Result<u32, UserIdError> {
        Ok(self.0)
    }
}
