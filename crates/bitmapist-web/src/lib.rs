//! The framework-independent parts of the web integrations: `axum-bitmapist`,
//! `actix-bitmapist` and the Flask blueprint of the Python package adapt it.
//!
//! The dashboard: a [`DashboardRequest`] (method, path below the mount point, query
//! string, headers, peer address, body) goes in, a [`DashboardResponse`] (status, headers,
//! body) comes out. Everything the dashboard is lives here: the pages (overview, cohort
//! with its retention curve, event page, funnel), the JSON and CSV API, Flask-Bitmapist's
//! `POST /cohort`, the embedded assets, the access guard (loopback clients only by
//! default), the parameters with their 400 answers, the bound on heavy requests with its
//! 503 + `Retry-After`, the store's time zone and the security headers.
//!
//! ```
//! use bitmapist_web::{Access, Dashboard, DashboardRequest};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bitmapist::Error> {
//! let client = bitmapist::Bitmapist::open("memory://").await?;
//! let core = Dashboard::new(client).access(Access::LoopbackOnly).build();
//! let res = core
//!     .handle(DashboardRequest {
//!         path: "/api/events".into(),
//!         peer: Some("127.0.0.1:5000".parse().expect("an address")),
//!         mount: "/bitmapist".into(),
//!         ..DashboardRequest::default()
//!     })
//!     .await;
//! assert_eq!(res.status, http::StatusCode::OK);
//! # Ok(()) }
//! ```
//!
//! Marking from a web app, whatever the framework:
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

mod dashboard;
#[cfg(feature = "seed")]
mod demo;
mod marker;
#[cfg(feature = "sea-orm")]
pub mod orm;
mod queue;
mod settings;
mod user;

pub use bitmapist;
pub use dashboard::{
    Access, CONTENT_SECURITY_POLICY, Dashboard, DashboardCore, DashboardError, DashboardRequest,
    DashboardResponse, MAX_BODY_BYTES, MAX_CELLS_PER_SIDE, RETRY_AFTER_SECS,
};
#[cfg(feature = "seed")]
pub use demo::{DEMO_USERS, seed_demo_if_empty};
pub use marker::Marker;
pub use queue::{
    MAX_BATCH, METRIC_MARK_BATCH_SECONDS, METRIC_MARKS_DROPPED, METRIC_MARKS_QUEUED,
    METRIC_MARKS_WRITTEN, METRIC_QUEUE_DEPTH, MarkError, MarkKind, Stats, describe_metrics,
};
pub use settings::{DEFAULT_QUEUE_CAPACITY, ENV_DISABLE_BLUEPRINT, ENV_QUEUE_CAPACITY, Settings};
pub use user::{CurrentUser, IntoUserId, MarkUser, UserIdError, UserKey};
