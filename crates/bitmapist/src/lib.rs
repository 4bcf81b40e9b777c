//! Bitmap-based user analytics, compatible with Python bitmapist.
//!
//! Each event ("user:logged_in") is one bitmap per hour, day, ISO week and month (a year is
//! read as its twelve months); a user id is a bit. "Who logged in today", "how many of
//! last month's sign-ups came back each week" are bit operations on those bitmaps.

pub mod bitmap;
pub mod error;
pub mod key;
pub mod period;
pub mod store;

pub use bitmap::Bitmap;
pub use error::{Error, Result};
pub use key::{DEFAULT_PREFIX, KeyLayout};
pub use period::{Period, TimeGroup};
pub use store::Store;
