//! The bitmapist dashboard without a web framework: a [`DashboardRequest`] (method, path
//! below the mount point, query string, headers, peer address, body) goes in, a
//! [`DashboardResponse`] (status, headers, body) comes out.
//!
//! Everything the dashboard is lives here: the pages (overview, cohort with its retention
//! curve, event page, funnel), the JSON and CSV API, Flask-Bitmapist's `POST /cohort`, the
//! embedded assets, the access guard (loopback clients only by default), the parameters
//! with their 400 answers, the bound on heavy requests with its 503 + `Retry-After`, the
//! store's time zone and the security headers. Web frameworks adapt it: `axum-bitmapist`,
//! `actix-bitmapist` and the Flask blueprint of the Python package each turn their request
//! into a [`DashboardRequest`] and the answer back into theirs.
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
//! Every public item is re-exported here, at the crate root; the modules are private.

mod dashboard;

pub use bitmapist;
pub use dashboard::{
    Access, CONTENT_SECURITY_POLICY, Dashboard, DashboardCore, DashboardError, DashboardRequest,
    DashboardResponse, MAX_BODY_BYTES, MAX_CELLS_PER_SIDE, RETRY_AFTER_SECS,
};
