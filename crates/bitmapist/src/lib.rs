//! Bitmap-based user analytics, compatible with Python bitmapist.
//!
//! Each event (`"user:logged_in"`) is one bitmap per hour, day, ISO week and month (a year
//! is read as its twelve months); a user id is a bit. "Who logged in today" and "how many
//! of last month's sign-ups came back each week" are bit operations on those bitmaps.
//!
//! ```
//! use bitmapist::{Bitmapist, CohortSpec, TimeGroup};
//! use chrono::Utc;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bitmapist::Error> {
//! // `file://./bitmapist.redb` (the default), `redis://...`, or `memory://`.
//! let bm = bitmapist::Bitmapist::open("memory://").await?;
//! bm.mark_event("user:signed_up", 1).await?;
//! bm.mark_event("user:logged_in", 1).await?;
//!
//! let today = bm.get_event_data("user:logged_in", TimeGroup::Days, Utc::now())?;
//! assert_eq!(today.count().await?, 1);
//!
//! let table = bm.get_cohort(&CohortSpec::new("user:signed_up", "user:logged_in").rows(7).cols(7)).await?;
//! assert_eq!(table.cohort[6][0], Some(1));
//! # Ok(()) }
//! ```
//!
//! The layers, bottom up: [`store`] keeps bitmaps by key (memory, embedded redb file,
//! Redis); [`key`] and [`period`] name keys exactly as Python bitmapist does; [`expr`]
//! evaluates set expressions in memory; [`Bitmapist`] marks and queries; [`cohort`] builds
//! retention tables; [`config`] and [`Systems`] read the environment.

pub mod bitmap;
pub mod client;
pub mod cohort;
pub mod config;
pub mod error;
pub mod expr;
pub mod external;
pub mod funnel;
pub mod idmap;
pub mod key;
pub mod period;
pub mod query;
pub mod retention;
pub mod seed;
pub mod stickiness;
pub mod store;
pub mod systems;
pub mod zone;
mod zone_record;

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use bitmap::Bitmap;
pub use client::{Bitmapist, Builder, MarkEvent, MarkOptions};
pub use cohort::{ChainOp, ChainedEvent, Cohort, CohortSpec, chain_events};
pub use config::Config;
pub use error::{Error, Result};
pub use expr::{EventPeriod, Expr};
pub use external::MarkExternal;
pub use funnel::{Funnel, FunnelRow, FunnelSpec, MAX_FUNNEL_STEPS};
pub use idmap::IdMap;
pub use key::{DEFAULT_PREFIX, KeyLayout};
pub use period::{Period, TimeGroup};
pub use query::{Ids, Query};
pub use retention::{Average, CohortKind, Criterion, Retention, RetentionSpec};
pub use stickiness::Stickiness;
pub use store::Store;
pub use systems::Systems;
pub use zone::Zone;
pub use zone_record::{recorded_zone, set_recorded_zone, zone_meta_key};
