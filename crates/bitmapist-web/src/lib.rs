//! The framework-independent parts of the web integrations (`axum-bitmapist`,
//! `actix-bitmapist`): what marking from a web app needs whatever the framework.
//!
//! - [`Marker`]: the bounded mark queue with its worker, drop counting ([`Stats`]) and
//!   flush on shutdown, and the process's installed marker;
//! - [`Settings`]: the `BITMAPIST_*` variables, read once for every adapter;
//! - the user a mark is for: [`UserKey`], [`IntoUserId`], [`CurrentUser`], [`MarkUser`];
//! - `orm` (feature `sea-orm`): the SeaORM hooks, `bitmapist_model!`, marking through
//!   the installed marker;
//! - `seed_demo_if_empty` (feature `seed`): the demo apps' seeded history.
//!
//! Every public item is re-exported here, at the crate root; the modules are private
//! except the optional `orm`.

#[cfg(feature = "seed")]
mod demo;
mod marker;
#[cfg(feature = "sea-orm")]
pub mod orm;
mod queue;
mod settings;
mod user;

#[cfg(feature = "seed")]
pub use demo::{DEMO_USERS, seed_demo_if_empty};
pub use marker::Marker;
pub use queue::{MAX_BATCH, MarkError, MarkKind, Stats};
pub use settings::{DEFAULT_QUEUE_CAPACITY, ENV_DISABLE_BLUEPRINT, ENV_QUEUE_CAPACITY, Settings};
pub use user::{CurrentUser, IntoUserId, MarkUser, UserIdError, UserKey};
