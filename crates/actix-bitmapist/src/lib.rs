//! Bitmap-based user analytics for actix-web 4 apps: Flask-Bitmapist for actix-web.
//! Adopt in three lines; mark events four ways; see them at `/bitmapist`.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use actix_bitmapist::{ActixBitmapist, mark};
//! # #[actix_web::main]
//! # async fn main() -> anyhow::Result<()> {
//! let bitmapist = ActixBitmapist::from_env().await?;              // BITMAPIST_* variables
//! let ext = bitmapist.clone();
//! HttpServer::new(move || {
//!     App::new()
//!         .configure(ext.init_app())                              // app data + /bitmapist
//!         .route("/reset", web::post().to(|| async { "ok" }).wrap(mark("user:reset_password")))
//! })
//! .bind(("127.0.0.1", 8080))?
//! .run()
//! .await?;
//! bitmapist.shutdown().await?;                                   // writes the queued marks
//! # Ok(()) }
//! ```
//!
//! The four ways to mark, all for the user the configured [`UserSource`] finds in the
//! request (actix-identity's id, a [`CurrentUser`] extension, or a closure):
//!
//! 1. **Direct call**: the [`Tracker`] extractor, `tracker.mark_event("user:action_taken")`;
//!    outside requests, [`ActixBitmapist::mark_event`] or the engine handle's awaited
//!    `client().mark_event(..)`.
//! 2. **Route middleware**: `web::post().to(handler).wrap(mark("user:reset_password"))`
//!    marks after a 2xx answer ([`mark`]).
//! 3. **Login tracking** (feature `identity`): `.actix_identity()` on the builder and
//!    `.wrap(bitmapist.login_tracking())` on the app mark `user:logged_in` /
//!    `user:logged_out` with no handler code (`identity` module).
//! 4. **ORM hooks** (feature `sea-orm`): `bitmapist_model!(ActiveModel, "user")` marks
//!    `user:created` / `:updated` / `:deleted` (`orm` module), the same hooks as
//!    axum-bitmapist's.
//!
//! Marking never hurts a request and never blocks an actix worker: marks go through the
//! bounded queue shared with the other adapters (`bitmapist-web`), which a background task
//! writes in batches; a full queue drops marks and counts them ([`Stats`]), a store error
//! is logged and counted. [`ActixBitmapist::shutdown`] writes what is queued.
//!
//! The dashboard at `/bitmapist` is the framework-free core of `bitmapist-web` (the same
//! pages, API, guard and bounds as axum-bitmapist's), loopback clients only unless
//! [`Builder::dashboard_access`] says otherwise ([`Access`]).
//!
//! Every public item is re-exported here, at the crate root; the modules are private except
//! the two optional integrations, `identity` (feature `identity`) and `orm` (feature
//! `sea-orm`).

mod dashboard;
mod extension;
#[cfg(feature = "identity")]
pub mod identity;
mod mark;
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
pub use dashboard::{Access, DASHBOARD_PATH};
pub use extension::{ActixBitmapist, Builder, WeakActixBitmapist};
pub use mark::{Mark, MarkMiddleware, mark};
pub use tracker::{NotInstalled, Tracker};
pub use user::UserSource;
