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
//! The layers, bottom up: a [`Store`] keeps bitmaps by key (memory, embedded redb file,
//! Redis, Redis Cluster; [`open_store`] picks one by URL); [`KeyLayout`] and [`Period`] name
//! keys exactly as Python bitmapist does; [`Expr`] evaluates set expressions in memory;
//! [`Bitmapist`] marks and queries; [`CohortSpec`] builds retention tables; [`Config`] and
//! [`Systems`] read the environment.
//!
//! Every public item is re-exported here, at the crate root; the modules are private.
//! Two cargo features add more: `seed` (the [`seed`](crate#features) fake-data generator,
//! a module of its own) and `server` (the embedded store's key-by-key operations that
//! `bitmapist-server` needs: expiries, backups, key iteration, `BITOP` into a key).
//!
//! # Metrics
//!
//! Queries, the embedded store's commits and cache, Redis round trips and store errors
//! are recorded through the [`metrics`](https://docs.rs/metrics) facade: install a
//! recorder (e.g. `metrics-exporter-prometheus`) before opening stores and handles, and
//! call [`describe_metrics`]. The names are the `METRIC_*` constants; the README's
//! Operations section lists them with their labels.
//!
//! # Features
//!
//! - `seed`: `bitmapist::seed`, realistic fake data for demos and benchmarks.
//! - `server`: [`EmbeddedStore`]'s operations for a Redis-protocol server.

mod backend;
mod bitmap;
mod client;
mod cohort;
mod config;
mod containers;
mod counts;
mod error;
mod expr;
mod external;
mod funnel;
mod idmap;
mod keep;
mod kept;
mod key;
mod lifecycle;
mod period;
mod prune;
mod query;
mod retention;
#[cfg(feature = "seed")]
pub mod seed;
mod segment;
mod signal;
mod stickiness;
mod store;
mod systems;
mod telemetry;
mod text;
mod threads;
mod trends;
mod users;
mod zone;
mod zone_record;

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use bitmap::{Bitmap, MAX_BYTE_LEN};
pub use client::{Bitmapist, Builder, MarkEvent, MarkOptions};
pub use cohort::{ChainOp, ChainedEvent, Cohort, CohortSpec, MAX_COHORT_SIZE, chain_events};
pub use config::{
    Config, DEFAULT_SYSTEM, ENV_ID_MAP, ENV_KEY_PREFIX, ENV_REDIS_URL, ENV_SYSTEM,
    ENV_TRACK_HOURLY, ENV_TRACK_UNIQUE, ENV_URL, parse_env_bool,
};
pub use counts::CountSpec;
pub use error::{Argument, Error, Result};
pub use expr::{EventPeriod, Expr};
pub use external::MarkExternal;
pub use funnel::{Funnel, FunnelRow, FunnelSpec, MAX_FUNNEL_STEPS};
pub use idmap::{
    BATCH as ID_MAP_BATCH, CACHE_LIMIT as ID_MAP_CACHE_LIMIT, IdMap, MAX_DENSE_ID,
    MAX_EXTERNAL_ID_BYTES, check_external as check_external_id,
};
pub use keep::{ENV_KEEP, Horizon, Keep, KeepPolicy, KeepUnit, pruned_meta_key};
pub use key::{DEFAULT_PREFIX, KeyLayout};
pub use lifecycle::{Lifecycle, LifecycleRow, LifecycleSpec, LifecycleStatus};
pub use period::{MAX_YEAR, MIN_YEAR, Period, TimeGroup};
pub use prune::{DEFAULT_PRUNE_BATCH, PruneGroup, PruneReport, PruneSpec, recorded_horizon};
pub use query::{Ids, Query};
pub use retention::{Average, CohortKind, Criterion, Retention, RetentionSpec, column_averages};
pub use segment::{
    Breakdown, BreakdownValue, BrokenDown, MAX_SEGMENT_NAME, SegmentDef, SegmentInfo,
    SegmentSource, segment_event, segments_meta_key,
};
pub use signal::shutdown_signal;
pub use stickiness::{Stickiness, StickinessSpec};
pub use store::{
    ASSIGN_SCRIPT as ID_MAP_ASSIGN_SCRIPT, ClusterConfig, ClusterStore, CompactReport,
    DEFAULT_FILE, DEFAULT_FILE_CACHE_BYTES, EXHAUSTED_CODE as ID_MAP_EXHAUSTED_CODE,
    EmbeddedOptions, EmbeddedStore, IdStore, IdTable, KeyWrite, MemoryStore, ReadOnlyEmbeddedStore,
    RedisStore, SpanVisitor, SpanVisitors, StorageStats, Store, StoreUrl, open_store,
    open_store_url, redis_keys as id_map_redis_keys,
};
pub use store::{BACKUP_TAKE_TIMEOUT, BackupReport, backup_file};
pub use systems::Systems;
pub use telemetry::{
    METRIC_CACHE_BITMAPS, METRIC_CACHE_BYTES, METRIC_CACHE_EVICTIONS, METRIC_COMMIT_BYTES,
    METRIC_COMMIT_KEYS, METRIC_COMMIT_SECONDS, METRIC_QUERY_SECONDS, METRIC_REDIS_ROUND_TRIPS,
    METRIC_STORE_ERRORS, describe_metrics,
};
pub use text::thousands;
pub use trends::{Trends, TrendsDay, TrendsSpec};
pub use users::{MAX_PAGE, UserSet, UsersPage};
pub use zone::{ENV_TIMEZONE, Zone, containing_local};
pub use zone_record::{recorded_zone, set_recorded_zone, zone_meta_key};
