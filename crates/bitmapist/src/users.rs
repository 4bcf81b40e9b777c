//! The users behind a number: [`UserSet`] names the set one number of an analysis counts,
//! [`Bitmapist::users`] computes exactly that set, [`Bitmapist::users_page`] pages it.
//!
//! Why: every count leads to "which users are they". How: each analysis' compute phase
//! replays the one cell, step or bucket and returns its users instead of their count, on
//! the same fetch (so `users(set).count()` is the number the analysis shows, filters and
//! all). Invariant: pages are by id (`after`), ascending, so a page is stable under new
//! marks (a new user appears on the page their id falls in, never shifts the others).
//! Nothing is written; a crash loses nothing.

use serde::Serialize;

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::error::{Argument, Error, Result};
use crate::funnel::FunnelSpec;
use crate::lifecycle::{LifecycleSpec, LifecycleStatus};
use crate::period::Period;
use crate::retention::RetentionSpec;
use crate::stickiness::StickinessSpec;

/// The users one number counts.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum UserSet {
    /// The users of `event` in `period` (a year: in any of its months).
    Event {
        /// The event.
        event: String,
        /// The period.
        period: Period,
    },
    /// These ids.
    Ids(Vec<u32>),
    /// The users these external ids map to (see [`IdMap`](crate::IdMap)); ids never
    /// assigned have no data and are left out.
    External(Vec<String>),
    /// A retention table's cell: row `row` (0 = oldest), lag `col` (a row's cohort, its
    /// total, is [`UserSet::CohortRow`]).
    CohortCell {
        /// The table (its segments filter, as on the table).
        spec: RetentionSpec,
        /// The row, 0-based, oldest first.
        row: usize,
        /// The lag, 0-based.
        col: usize,
    },
    /// A retention table's row cohort (the row's total).
    CohortRow {
        /// The table.
        spec: RetentionSpec,
        /// The row, 0-based, oldest first.
        row: usize,
    },
    /// A funnel row's users at a step (0-based: 0 = the row's entrants).
    FunnelStep {
        /// The funnel.
        spec: FunnelSpec,
        /// The row, 0-based, oldest first.
        row: usize,
        /// The step, 0-based.
        step: usize,
    },
    /// The users active on exactly `days` days of a stickiness period (1-based).
    StickinessBucket {
        /// The stickiness.
        spec: StickinessSpec,
        /// The number of active days.
        days: usize,
    },
    /// The users of a segment (any source), as of now.
    Segment(String),
    /// A lifecycle row's users of one status (row 0 = the oldest period; dormant: the
    /// previous period's users not active in this one).
    Lifecycle {
        /// The lifecycle (its segments filter, as on the chart).
        spec: LifecycleSpec,
        /// The row, 0-based, oldest first.
        row: usize,
        /// new, returning, resurrecting or dormant.
        status: LifecycleStatus,
    },
    /// The users of `set` who are in every one of `segments` as of `now`: a number of a
    /// filtered analysis whose set does not carry its own filter, or one breakdown value
    /// (a property value is a segment: `plan:pro`).
    Within {
        /// The users to filter.
        set: Box<UserSet>,
        /// The segments they must all be in.
        segments: Vec<String>,
        /// When the segments are evaluated.
        now: chrono::DateTime<chrono::Utc>,
    },
    /// The users of `set` in none of `breakdown`'s values as of `now`: the "none" value of
    /// a broken-down number (a named value is [`UserSet::Within`] its segment).
    NoneOf {
        /// The users to filter.
        set: Box<UserSet>,
        /// The breakdown whose values they are in none of.
        breakdown: crate::Breakdown,
        /// When the values are evaluated.
        now: chrono::DateTime<chrono::Utc>,
    },
}

/// One page of a [`UserSet`]'s users.
///
/// Serializes as `{"total", "ids", "external", "next_after"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsersPage {
    /// How many users the set has.
    pub total: u64,
    /// This page's ids, ascending, all greater than the `after` asked.
    pub ids: Vec<u32>,
    /// The external id of each of `ids` (`None` for an id the map never handed out), when
    /// the handle maps external ids ([`Bitmapist::id_map_enabled`]).
    pub external: Option<Vec<Option<String>>>,
    /// The `after` of the next page; `None` on the last page.
    pub next_after: Option<u32>,
}

/// The largest page [`Bitmapist::users_page`] returns.
pub const MAX_PAGE: usize = 100_000;

impl Bitmapist {
    /// Saves the users of `set`, as of now, under `name` (replacing a segment of that name).
    /// Returns how many users were saved.
    pub async fn save_segment(&self, name: &str, set: &UserSet, description: &str) -> Result<u64> {
        let users = self.users(set).await?;
        self.save_snapshot(name, users, description).await
    }

    /// Exactly the users the number `set` names counts.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, CohortSpec, RetentionSpec, UserSet};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// for uid in 0..10 { bm.mark_event("signed_up", uid).at(day0).await?; }
    /// for uid in 3..5 { bm.mark_event("active", uid).at(day0 + Duration::days(1)).await?; }
    /// let spec = RetentionSpec::new(CohortSpec::new("signed_up", "active").rows(3).cols(3).now(day0 + Duration::days(2)));
    ///
    /// let cell = bm.users(&UserSet::CohortCell { spec, row: 0, col: 1 }).await?;
    /// assert_eq!(cell.iter().collect::<Vec<_>>(), vec![3, 4]);
    /// # Ok(()) }
    /// ```
    pub async fn users(&self, set: &UserSet) -> Result<Bitmap> {
        match set {
            UserSet::Event { event, period } => {
                check_event(event)?;
                let got = self.store().get(&self.layout().keys(event, period)).await?;
                let mut all = Bitmap::new();
                for b in got.into_iter().flatten() {
                    all.or_assign(&b);
                }
                Ok(Bitmap::from_bits(all.into_bits()))
            }
            UserSet::Ids(ids) => Ok(Bitmap::from_bits(ids.iter().copied().collect())),
            UserSet::External(ext) => {
                let dense = self.ids().lookup(ext).await?;
                Ok(Bitmap::from_bits(dense.into_iter().flatten().collect()))
            }
            UserSet::CohortCell { spec, row, col } => self
                .retention_fetch(spec)
                .await?
                .cell_users(*row, Some(*col)),
            UserSet::CohortRow { spec, row } => {
                self.retention_fetch(spec).await?.cell_users(*row, None)
            }
            UserSet::FunnelStep { spec, row, step } => {
                self.funnel_fetch(spec).await?.step_users(*row, *step)
            }
            UserSet::StickinessBucket { spec, days } => {
                self.stickiness_fetch(spec, true).await?.bucket_users(*days)
            }
            UserSet::Segment(name) => self.segment_users(name, chrono::Utc::now()).await,
            UserSet::Lifecycle { spec, row, status } => self
                .lifecycle_fetch(spec)
                .await?
                .status_users(*row, *status),
            UserSet::Within { set, segments, now } => {
                let users = Box::pin(self.users(set)).await?;
                let filter = self.segment_filter(segments, *now, Some(&users)).await?;
                Ok(crate::segment::filtered(users, filter.as_ref()))
            }
            UserSet::NoneOf {
                set,
                breakdown,
                now,
            } => {
                let users = Box::pin(self.users(set)).await?;
                let values = self.breakdown_values(breakdown, *now, Some(&users)).await?;
                let none = values.into_iter().next_back().map(|(_, m)| m);
                Ok(crate::segment::filtered(users, none.as_ref()))
            }
        }
    }

    /// One page of `set`'s users: the first `limit` ids greater than `after` (from the
    /// smallest without `after`), ascending; `limit` is 1..=[`MAX_PAGE`].
    ///
    /// ```
    /// use bitmapist::{Bitmapist, UserSet};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let set = UserSet::Ids(vec![9, 2, 5, 7]);
    /// let first = bm.users_page(&set, None, 3).await?;
    /// assert_eq!((first.total, first.ids.clone(), first.next_after), (4, vec![2, 5, 7], Some(7)));
    /// let last = bm.users_page(&set, first.next_after, 3).await?;
    /// assert_eq!((last.ids, last.next_after), (vec![9], None));
    /// # Ok(()) }
    /// ```
    pub async fn users_page(
        &self,
        set: &UserSet,
        after: Option<u32>,
        limit: usize,
    ) -> Result<UsersPage> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::invalid_arg(
                Argument::Limit,
                format!("{limit} is not in 1..={MAX_PAGE}"),
            ));
        }
        let users = self.users(set).await?;
        let total = users.count();
        let mut rest = match after {
            None => users.bits().range(..),
            Some(a) if a == u32::MAX => users.bits().range(1..1),
            Some(a) => users.bits().range(a + 1..),
        };
        let ids: Vec<u32> = rest.by_ref().take(limit).collect();
        let next_after = match rest.next() {
            Some(_) => ids.last().copied(),
            None => None,
        };
        let external = if self.id_map_enabled() {
            Some(self.resolve_ids(&ids).await?)
        } else {
            None
        };
        Ok(UsersPage {
            total,
            ids,
            external,
            next_after,
        })
    }
}
