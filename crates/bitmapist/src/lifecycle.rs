//! Lifecycle: how the users of an event in each period split into new, returning and
//! resurrecting ones, and how many of the previous period's users went dormant.
//!
//! **Why.** A count of actives hides its composition: the same 1,000 weekly users can be
//! 900 loyal ones or 900 newcomers replacing 900 who left. PostHog's lifecycle chart
//! answers this; on period bitmaps every part of it is an exact set operation.
//!
//! **How.** In two phases, so that a breakdown reads the data once:
//! - [`fetch`](Bitmapist::lifecycle_fetch) reads, in one batch, the event's bitmap of every
//!   row period and of the period before the first row (`A_{-1}`), then the "new users" of
//!   each row: the creation event's bitmaps restricted to the rows' users (a second batch,
//!   [`Store::get_within`](crate::Store::get_within)), or, by default, everyone who had the
//!   event in any stored period ending at or before the first row's start (restricted to
//!   the rows' users the same way), after which `C_t = A_t ∖ seen`, `seen ∨= A_t` row by row;
//!   the spec's segments (the filter) are then read restricted to the users seen, and every
//!   `A_t` and `C_t` is ANDed with them;
//! - [`compute`](LifecycleData::compute) builds each row's new, returning and
//!   "active both periods" sets once, and counts a breakdown value's users in them and in
//!   `A_t` and `A_{t-1}` (intersection counts: nothing materialized per value); [`status_users`](LifecycleData::status_users)
//!   gives the users behind one number.
//!
//! **Invariants.** For every row, with any mask: `new + returning + resurrecting = |A_t|`,
//! and `returning + dormant = |A_{t-1}|` whenever `C_t ∧ A_{t-1} = ∅` (always for first-ever
//! new users); the four statuses of a row are disjoint sets.
//! First-ever detection for hours reads the hour keys, which exist only where hourly
//! tracking was on: a user marked earlier the same day without an hour key looks new.
//!
//! **What a crash can lose.** Nothing: this module only reads.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::cohort::MAX_COHORT_SIZE;
use crate::error::{Argument, Error, Result};
use crate::funnel::start_string;
use crate::period::{Period, TimeGroup};
use crate::segment::{Breakdown, BrokenDown, Members, filtered, masked_count, per_value};

/// One of the four parts a lifecycle row splits users into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStatus {
    /// Active in the period and new in it: `A_t ∧ C_t`.
    New,
    /// Active in the period and in the one before, not new: `(A_t ∧ A_{t-1}) ∖ C_t`.
    Returning,
    /// Active in the period, not in the one before, not new: `A_t ∖ A_{t-1} ∖ C_t`.
    Resurrecting,
    /// Active in the period before, not in this one: `A_{t-1} ∖ A_t`.
    Dormant,
}

impl LifecycleStatus {
    /// Every status, in the order charts stack them.
    pub const ALL: [LifecycleStatus; 4] = [
        LifecycleStatus::New,
        LifecycleStatus::Returning,
        LifecycleStatus::Resurrecting,
        LifecycleStatus::Dormant,
    ];

    /// The name used in JSON, URLs and on the command line: `new`, `returning`,
    /// `resurrecting`, `dormant`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStatus::New => "new",
            LifecycleStatus::Returning => "returning",
            LifecycleStatus::Resurrecting => "resurrecting",
            LifecycleStatus::Dormant => "dormant",
        }
    }
}

impl fmt::Display for LifecycleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LifecycleStatus {
    type Err = Error;

    /// `new`, `returning`, `resurrecting` or `dormant`, case-insensitive.
    ///
    /// ```
    /// use bitmapist::LifecycleStatus;
    /// assert_eq!("Dormant".parse::<LifecycleStatus>()?, LifecycleStatus::Dormant);
    /// assert!("gone".parse::<LifecycleStatus>().is_err());
    /// # Ok::<(), bitmapist::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        LifecycleStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == lower)
            .ok_or_else(|| {
                Error::invalid_arg(
                    Argument::Status,
                    format!("{s:?} is not one of new, returning, resurrecting, dormant"),
                )
            })
    }
}

/// What to compute: the event, the period size, how many periods, where new users come
/// from, and when.
///
/// ```
/// use bitmapist::{LifecycleSpec, TimeGroup};
/// let spec = LifecycleSpec::new("user:active")
///     .time_group(TimeGroup::Weeks)
///     .periods(26)
///     .new_from(Some("user:created".to_string()));
/// assert_eq!(spec.periods, 26);
/// ```
///
/// # Definitions
///
/// For the event `E`, row periods `t` (the last one contains `now`), `A_t` the users with
/// `E` in `t` and `C_t` the new users of `t`:
/// - by default `C_t` = the users whose first-ever `E` is in `t`, from `E`'s whole stored
///   history (every stored key of `E`, of any time group, that ends at or before the first
///   row's start, then the rows themselves);
/// - with `new_from = Some(X)`, `C_t` = the users of the creation event `X` in `t`;
///
/// then `new_t = A_t ∧ C_t`, `returning_t = (A_t ∧ A_{t-1}) ∖ C_t`,
/// `resurrecting_t = A_t ∖ A_{t-1} ∖ C_t`, `dormant_t = A_{t-1} ∖ A_t` (reported as a
/// positive count). So `new + returning + resurrecting = |A_t|` and
/// `returning + dormant = |A_{t-1}|`, exactly; the second identity needs `C_t` disjoint from
/// `A_{t-1}`, always true of first-ever users, and true of a creation event when nobody is
/// active before being created (a user who is counts as new in `t` and is neither returning
/// nor dormant). Periods are hours, days, ISO weeks or months
/// on the handle's time zone. Segments restrict the population: `A_t` (every `t`, the one
/// before the first row included) and `C_t` are ANDed with them, evaluated at `now`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LifecycleSpec {
    /// The event.
    pub event: String,
    /// The period size (default weeks; not years).
    pub time_group: TimeGroup,
    /// How many row periods, the last one containing `now` (default 12).
    pub periods: usize,
    /// The creation event whose users in a period are that period's new users; `None`
    /// (the default): first-ever `event`.
    #[serde(default)]
    pub new_from: Option<String>,
    /// The moment the lifecycle is computed at (default: now).
    pub now: DateTime<Utc>,
    /// Segments the counted users must all be in (default none: everyone).
    #[serde(default)]
    pub segments: Vec<String>,
}

impl LifecycleSpec {
    /// A weekly lifecycle of `event` over 12 periods, new = first-ever `event`, as of now.
    pub fn new(event: impl Into<String>) -> Self {
        LifecycleSpec {
            event: event.into(),
            time_group: TimeGroup::Weeks,
            periods: 12,
            new_from: None,
            now: Utc::now(),
            segments: Vec::new(),
        }
    }

    /// Sets the period size.
    pub fn time_group(mut self, group: TimeGroup) -> Self {
        self.time_group = group;
        self
    }

    /// Sets the number of row periods.
    pub fn periods(mut self, periods: usize) -> Self {
        self.periods = periods;
        self
    }

    /// Sets the creation event (`None`: first-ever event).
    pub fn new_from(mut self, event: Option<String>) -> Self {
        self.new_from = event;
        self
    }

    /// Computes the lifecycle as of `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Restricts the users to segment `name` (repeatable: all of them).
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }

    /// Checks the spec: valid event names, hours to months, 1..=400 periods.
    pub fn validate(&self) -> Result<()> {
        check_event(&self.event)?;
        if let Some(from) = &self.new_from {
            check_event(from).map_err(|_| {
                Error::invalid_arg(Argument::NewFrom, "the creation event name is empty")
            })?;
        }
        if self.time_group == TimeGroup::Years {
            return Err(Error::invalid_arg(
                Argument::TimeGroup,
                "a lifecycle is per hour, day, week or month, not per year",
            ));
        }
        if !(1..=MAX_COHORT_SIZE).contains(&self.periods) {
            return Err(Error::invalid_arg(
                Argument::Periods,
                format!("{} is not in 1..={MAX_COHORT_SIZE}", self.periods),
            ));
        }
        Ok(())
    }
}

/// One period of a lifecycle: how its users split, and how many of the previous period's
/// users it lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRow {
    /// The period's label (`2026-11-22`, `2026-W47`, `Nov 2026`).
    pub period: String,
    /// The period's start, `YYYY-MM-DD` (`YYYY-MM-DDTHH:00:00` for hours).
    pub start: String,
    /// `|A_t ∧ C_t|`.
    pub new: u64,
    /// `|(A_t ∧ A_{t-1}) ∖ C_t|`.
    pub returning: u64,
    /// `|A_t ∖ A_{t-1} ∖ C_t|`.
    pub resurrecting: u64,
    /// `|A_{t-1} ∖ A_t|`, a positive count (charts draw it below the axis).
    pub dormant: u64,
    /// Whether the store's retention policy pruned `t - 1` (and so maybe `t`): the row's
    /// counts lack the pruned users, so readers show "pruned", never the numbers. Left out
    /// of the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pruned: bool,
}

impl LifecycleRow {
    /// The row's count of one status.
    pub fn count(&self, status: LifecycleStatus) -> u64 {
        match status {
            LifecycleStatus::New => self.new,
            LifecycleStatus::Returning => self.returning,
            LifecycleStatus::Resurrecting => self.resurrecting,
            LifecycleStatus::Dormant => self.dormant,
        }
    }

    /// The period's active users, `new + returning + resurrecting` (`|A_t|`).
    pub fn active(&self) -> u64 {
        self.new + self.returning + self.resurrecting
    }
}

/// A computed lifecycle; see [`LifecycleSpec`] for the definitions.
///
/// Serializes as `{"event", "time_group", "new_from", "rows": [{"period", "start", "new",
/// "returning", "resurrecting", "dormant"}]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The event.
    pub event: String,
    /// The period size.
    pub time_group: TimeGroup,
    /// The creation event, or `None` for first-ever `event`.
    pub new_from: Option<String>,
    /// One row per period, oldest first; the last contains `now`.
    pub rows: Vec<LifecycleRow>,
}

/// What a lifecycle reads, fetched once: the phase a filter or breakdown computes on.
#[derive(Clone, Debug)]
pub(crate) struct LifecycleData {
    spec: LifecycleSpec,
    /// The row periods, oldest first.
    periods: Vec<Period>,
    /// `active[0]` = `A_{-1}` (the period before the first row), `active[i + 1]` = row `i`.
    active: Vec<Bitmap>,
    /// `created[i]` = `C_i` restricted to row `i`'s users (only `A_t ∧ C_t` matters).
    created: Vec<Bitmap>,
    /// `pruned[i]`: the retention policy pruned row `i`'s previous period.
    pruned: Vec<bool>,
}

impl LifecycleData {
    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.periods.len()
    }

    /// Every user active in some period read (the rows and the one before).
    fn users(&self) -> Bitmap {
        let mut all = Bitmap::new();
        for a in &self.active {
            all.or_assign(a);
        }
        all
    }

    /// The users of `status` in row `row` (0 = the oldest): the users behind that number.
    pub(crate) fn status_users(&self, row: usize, status: LifecycleStatus) -> Result<Bitmap> {
        if row >= self.rows() {
            return Err(Error::invalid_arg(
                Argument::Rows,
                format!("row {row} is not in 0..{}", self.rows()),
            ));
        }
        let now = &self.active[row + 1];
        let prev = &self.active[row];
        let created = &self.created[row];
        Ok(match status {
            LifecycleStatus::New => now.and(created),
            LifecycleStatus::Returning => now.and(prev).difference(created),
            LifecycleStatus::Resurrecting => now.difference(prev).difference(created),
            LifecycleStatus::Dormant => prev.difference(now),
        })
    }

    /// The sets of every row that each breakdown value counts its users in (computed once
    /// for all values).
    fn row_sets(&self) -> Vec<RowSets> {
        (0..self.rows())
            .map(|i| {
                let (now, prev) = (&self.active[i + 1], &self.active[i]);
                let new = now.and(&self.created[i]);
                let both = now.and(prev);
                let returning = both.difference(&new);
                RowSets {
                    new,
                    both,
                    returning,
                }
            })
            .collect()
    }

    /// The lifecycle of the users in `mask` (a breakdown value; `None`: every filtered
    /// user).
    pub(crate) fn compute(&self, mask: Option<&Members>) -> Lifecycle {
        self.compute_on(&self.row_sets(), mask)
    }

    /// [`LifecycleData::compute`] on the rows' sets: every number is a count of the mask's
    /// users in a set, so a value materializes nothing. `A_t` splits into new (`∧ C_t`),
    /// returning (`∧ A_{t-1} ∖ C_t`) and resurrecting (the rest); dormant is `A_{t-1}`
    /// without `A_t`.
    fn compute_on(&self, sets: &[RowSets], mask: Option<&Members>) -> Lifecycle {
        let count = |b: &Bitmap| masked_count(b, mask);
        let rows = self
            .periods
            .iter()
            .zip(sets)
            .enumerate()
            .map(|(i, (p, s))| {
                let (new, returning) = (count(&s.new), count(&s.returning));
                LifecycleRow {
                    period: p.label(),
                    start: start_string(p),
                    new,
                    returning,
                    resurrecting: count(&self.active[i + 1]).saturating_sub(new + returning),
                    dormant: count(&self.active[i]).saturating_sub(count(&s.both)),
                    pruned: self.pruned.get(i).copied().unwrap_or(false),
                }
            })
            .collect();
        Lifecycle {
            event: self.spec.event.clone(),
            time_group: self.spec.time_group,
            new_from: self.spec.new_from.clone(),
            rows,
        }
    }
}

/// A row's sets, for [`LifecycleData::compute_on`]: its new users `A_t ∧ C_t`, its users
/// also active the period before `A_t ∧ A_{t-1}`, and of those the returning ones (not new).
struct RowSets {
    new: Bitmap,
    both: Bitmap,
    returning: Bitmap,
}

impl Bitmapist {
    /// The lifecycle of an event; see [`LifecycleSpec`](crate::LifecycleSpec) for the
    /// exact definitions.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, LifecycleSpec, TimeGroup};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// for uid in [1, 2, 3] { bm.mark_event("active", uid).at(day0).await?; }
    /// for uid in [1, 4] { bm.mark_event("active", uid).at(day0 + Duration::days(1)).await?; }
    /// for uid in [1, 2] { bm.mark_event("active", uid).at(day0 + Duration::days(2)).await?; }
    ///
    /// let spec = LifecycleSpec::new("active")
    ///     .time_group(TimeGroup::Days)
    ///     .periods(2)
    ///     .now(day0 + Duration::days(2));
    /// let l = bm.lifecycle(&spec).await?;
    /// // Day 1: 4 is new, 1 returns, 2 and 3 went dormant.
    /// assert_eq!((l.rows[0].new, l.rows[0].returning, l.rows[0].dormant), (1, 1, 2));
    /// // Day 2: 1 returns, 2 is back after a gap, 4 went dormant.
    /// assert_eq!((l.rows[1].returning, l.rows[1].resurrecting, l.rows[1].dormant), (1, 1, 1));
    /// # Ok(()) }
    /// ```
    pub async fn lifecycle(&self, spec: &LifecycleSpec) -> Result<Lifecycle> {
        let _timer = self.time(crate::telemetry::QueryKind::Lifecycle);
        Ok(self.lifecycle_fetch(spec).await?.compute(None))
    }

    /// The lifecycle per value of `breakdown`, then for the users in none; one fetch (the
    /// values' users are read restricted to the event's users in the periods).
    pub async fn lifecycle_by(
        &self,
        spec: &LifecycleSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Lifecycle>> {
        let _timer = self.time(crate::telemetry::QueryKind::Lifecycle);
        let fetched = self.lifecycle_fetch(spec).await?;
        let users = fetched.users();
        let values = self
            .breakdown_values(breakdown, spec.now, Some(&users))
            .await?;
        let sets = fetched.row_sets();
        per_value(breakdown, None, values, |mask| {
            Ok(fetched.compute_on(&sets, mask))
        })
    }

    /// The fetch phase of [`Bitmapist::lifecycle`]: every bitmap it reads, in two batches
    /// (three for first-ever new users: the listing of the event's keys, then its history
    /// restricted to the rows' users), then the segments' users restricted to the event's.
    pub(crate) async fn lifecycle_fetch(&self, spec: &LifecycleSpec) -> Result<LifecycleData> {
        spec.validate()?;
        let zone = self.timezone();
        let mut periods = zone.periods_up_to(spec.time_group, spec.now, spec.periods + 1)?;
        let before_first = periods.remove(0);
        let layout = self.layout();
        let keys: Vec<String> = std::iter::once(&before_first)
            .chain(&periods)
            .map(|p| layout.key(&spec.event, p))
            .collect();
        let active: Vec<Bitmap> = self
            .store()
            .get(&keys)
            .await?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        let mut rows_users = Bitmap::new();
        for a in &active[1..] {
            rows_users.or_assign(a);
        }
        let created: Vec<Bitmap> = match &spec.new_from {
            Some(from) => {
                let keys: Vec<String> = periods.iter().map(|p| layout.key(from, p)).collect();
                if rows_users.is_empty() {
                    vec![Bitmap::new(); periods.len()]
                } else {
                    self.store()
                        .get_within(&keys, &rows_users)
                        .await?
                        .into_iter()
                        .map(Option::unwrap_or_default)
                        .collect()
                }
            }
            None => {
                let mut seen = if rows_users.is_empty() {
                    Bitmap::new()
                } else {
                    self.users_before(&spec.event, before_first, &rows_users)
                        .await?
                };
                seen.or_assign(&active[0].and(&rows_users));
                active[1..]
                    .iter()
                    .map(|a| {
                        let fresh = a.difference(&seen);
                        seen.or_assign(a);
                        fresh
                    })
                    .collect()
            }
        };
        let horizon = self.pruned_horizon().await?;
        let pruned = std::iter::once(before_first)
            .chain(periods.iter().copied())
            .take(periods.len())
            .map(|p| horizon.is_pruned(&p))
            .collect();
        let mut data = LifecycleData {
            spec: spec.clone(),
            periods,
            active,
            created,
            pruned,
        };
        if !spec.segments.is_empty() {
            let users = data.users();
            let filter = self
                .segment_filter(&spec.segments, spec.now, Some(&users))
                .await?;
            let f = filter.as_ref();
            data.active = data.active.into_iter().map(|b| filtered(b, f)).collect();
            data.created = data.created.into_iter().map(|b| filtered(b, f)).collect();
        }
        Ok(data)
    }
}
