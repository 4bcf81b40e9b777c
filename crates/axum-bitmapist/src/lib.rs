//! Bitmap-based user analytics for axum apps: Flask-Bitmapist for axum.
//! Adopt in three lines; mark events four ways; see them at `/bitmapist`.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use axum_bitmapist::{AxumBitmapist, mark};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bitmapist::Error> {
//! # let routes = Router::new().route("/reset", post(|| async { "ok" }).layer(mark("user:reset_password")));
//! # unsafe_env_free_demo(routes).await }
//! # async fn unsafe_env_free_demo(routes: Router) -> Result<(), bitmapist::Error> {
//! # let bitmapist = AxumBitmapist::builder().url("memory://").build().await?;
//! # /*
//! let bitmapist = AxumBitmapist::from_env().await?;        // BITMAPIST_* variables
//! # */
//! let app = bitmapist.init_app(routes);                     // layers + /bitmapist
//! # let _: Router = app; Ok(()) }
//! ```
//!
//! The three lines, exactly (compiled; not run here because `from_env` opens
//! `./bitmapist.redb` unless `BITMAPIST_URL` says otherwise):
//!
//! ```no_run
//! # async fn app(routes: axum::Router) -> Result<axum::Router, bitmapist::Error> {
//! use axum_bitmapist::AxumBitmapist;
//! let bitmapist = AxumBitmapist::from_env().await?;
//! let app = bitmapist.init_app(routes);
//! # Ok(app) }
//! ```
//!
//! The four ways to mark, all for the user the configured [`UserSource`] finds in the
//! request (axum-login's session, a [`CurrentUser`] extension, or a closure):
//!
//! 1. **Direct call**: the [`Tracker`] extractor, `tracker.mark_event("user:action_taken")`;
//!    outside requests, [`AxumBitmapist::mark_event`] or the engine handle's awaited
//!    `client().mark_event(..)`.
//! 2. **Route layer**: `post(handler).layer(mark("user:reset_password"))` marks after a
//!    2xx answer ([`mark`]).
//! 3. **Login tracking** (feature `login`): `.axum_login::<Backend>()` on the builder marks
//!    `user:logged_in` / `user:logged_out` with no handler code ([`login`]).
//! 4. **ORM hooks** (feature `sea-orm`): `bitmapist_model!(ActiveModel, "user")` marks
//!    `user:created` / `:updated` / `:deleted` (`orm` module).
//!
//! Marking never hurts a request: marks go through a bounded queue that a background task
//! writes in batches; a full queue drops marks and counts them ([`Stats`]), a store error
//! is logged and counted. [`AxumBitmapist::shutdown`] writes what is queued.

//!
//! The queue, the settings, the user id types and the ORM hooks are shared with the other
//! web adapters (crate `bitmapist-web`) and re-exported here.
//!
//! Every public item is re-exported here, at the crate root; the modules are private except
//! the two optional integrations, `login` (feature `login`) and `orm` (feature `sea-orm`).

mod dashboard;
mod extension;
mod hooks;
#[cfg(feature = "login")]
pub mod login;
mod mark_layer;
#[cfg(feature = "sea-orm")]
pub mod orm;
mod tracker;
mod user;

pub use bitmapist;
#[cfg(feature = "sea-orm")]
pub use bitmapist_web::bitmapist_model;
pub use bitmapist_web::describe_metrics;
pub use bitmapist_web::{
    CurrentUser, DEFAULT_QUEUE_CAPACITY, ENV_DISABLE_BLUEPRINT, ENV_QUEUE_CAPACITY, IntoUserId,
    MAX_BATCH, MarkError, MarkKind, MarkUser, Marker, Settings, Stats, UserIdError, UserKey,
};
pub use dashboard::{
    Access, CONTENT_SECURITY_POLICY, Dashboard, DashboardError, GuardFuture, MAX_CELLS_PER_SIDE,
    RETRY_AFTER_SECS,
};
pub use extension::{AxumBitmapist, Builder, DASHBOARD_PATH, WeakAxumBitmapist};
pub use mark_layer::{MarkLayer, MarkService, mark};
pub use tracker::{NotInstalled, Tracker};
pub use user::UserSource;
