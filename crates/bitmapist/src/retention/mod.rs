//! Retention modes: one spec ([`RetentionSpec`]) for every kind of retention table.
//! First-time or recurring cohorts, three return criteria, simple or weighted averages.

mod averages;
mod compute;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cohort::{Cohort, CohortSpec};
use crate::error::{Argument, Error, Result};

pub use averages::column_averages;

/// Which users make a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CohortKind {
    /// The users of the primary event in the row's period (legacy).
    #[default]
    Recurring,
    /// The users whose first-ever primary event falls in the row's period.
    FirstTime,
}

/// When a user of a row counts in a cell (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criterion {
    /// Once, in the first period they return (legacy `with_replacement = false`).
    #[default]
    FirstReturn,
    /// In every period they return (legacy `with_replacement = true`).
    On,
    /// In the cell's period if they returned then or in any later period up to now.
    OnOrAfter,
}

impl Criterion {
    /// Every criterion, in the order forms list them.
    pub const ALL: [Criterion; 3] = [Criterion::FirstReturn, Criterion::On, Criterion::OnOrAfter];

    /// The name used on the command line, in URLs and in JSON: `first-return`, `on`,
    /// `on-or-after`.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::FirstReturn => "first-return",
            Criterion::On => "on",
            Criterion::OnOrAfter => "on-or-after",
        }
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Criterion {
    type Err = Error;
    /// `first-return`, `on` or `on-or-after` (case-insensitive; `_` may replace `-`).
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Criterion::ALL
            .into_iter()
            .find(|c| c.as_str() == norm)
            .ok_or_else(|| {
                Error::invalid_arg(
                    Argument::Retention,
                    format!("{s:?} is not one of first-return, on, on-or-after"),
                )
            })
    }
}

/// How a column's average fraction is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Average {
    /// The mean of the row fractions (legacy).
    #[default]
    Simple,
    /// The column's users over the cohorts' users: `Σ cells / Σ |C_i|`.
    Weighted,
}

impl Average {
    /// Both kinds, in the order forms list them.
    pub const ALL: [Average; 2] = [Average::Simple, Average::Weighted];

    /// The name used on the command line, in URLs and in JSON: `simple`, `weighted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Average::Simple => "simple",
            Average::Weighted => "weighted",
        }
    }
}

impl fmt::Display for Average {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Average {
    type Err = Error;
    /// `simple` or `weighted` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase();
        Average::ALL
            .into_iter()
            .find(|a| a.as_str() == norm)
            .ok_or_else(|| {
                Error::invalid_arg(
                    Argument::Average,
                    format!("{s:?} is not one of simple, weighted"),
                )
            })
    }
}

/// A retention table to compute: the cohort's events, periods and `now` (a [`CohortSpec`],
/// whose `with_replacement` is ignored), plus the mode.
///
/// ```
/// use bitmapist::{CohortKind, CohortSpec, Criterion, RetentionSpec};
/// let legacy = CohortSpec::new("signed_up", "active").with_replacement(true);
/// let spec = RetentionSpec::from(legacy);
/// assert_eq!(spec.criterion, Criterion::On);
/// assert_eq!(spec.kind, CohortKind::Recurring);
/// ```
///
/// # Definitions
///
/// [`Bitmapist::get_cohort`](crate::Bitmapist::get_cohort) is the legacy contract: it is
/// `retention` with `RetentionSpec::from(cohort_spec)` (recurring, first return or on,
/// simple averages over every cell), one algorithm for both.
///
/// A segment filter ([`RetentionSpec::segment`]) restricts every cohort: `C_i ∧ S`, with
/// `S` evaluated at `now` (see [`SegmentDef`](crate::SegmentDef)); the returns are not
/// filtered (only the cohorts' users can return).
///
/// Rows `i = 0..rows-1`, lag `j = 0..cols-1`; `N` is the period containing `now` (the last
/// row's); `P_t` and `S_t` are the primary event's users and the secondary chain's users
/// ([`chain_events`](crate::chain_events)) in row period `t`. As in `get_cohort`, `S_t` is
/// empty when the secondary event itself has no users in `t`. A cell whose period
/// `i + j` lies after `N` is `None`, and so is every cell of a row whose cohort is empty.
///
/// - **Cohort kind** ([`CohortKind`]):
///   - *recurring*: `C_i = P_i`;
///   - *first-time*: `C_i` = the users whose first-ever primary event falls in period `i`:
///     `P_i` minus every earlier period of the primary's whole stored history. The history
///     is read from the primary's stored keys (any period that ends at or before row 0's
///     start, in any time group), plus rows `0..i`; not only from the table's rows.
/// - **Criterion** ([`Criterion`]), the cell `(i, j)`:
///   - *first return*: the users of `C_i` whose first period `t ≥ i` with a return
///     (`u ∈ S_t`) is `i + j` (each user counted once; legacy `with_replacement = false`);
///   - *on*: `|C_i ∧ S_{i+j}|` (legacy `with_replacement = true`);
///   - *on or after*: `|C_i ∧ (S_{i+j} ∨ S_{i+j+1} ∨ … ∨ S_N)|`: returned in period `i + j`
///     or any later one up to now. The suffix unions `U_t = S_t ∨ U_{t+1}` are computed
///     once and shared between rows, so this costs one union per row period more than *on*.
/// - **Averages** ([`Average`]) of column `j`, over its *included* cells: the non-`None`
///   cells, less, with `complete_only`, the cell whose period is `N` (still incomplete, as
///   PostHog and Mixpanel leave it out):
///   - *simple*: the mean of the row fractions `cell / |C_i|` (legacy);
///   - *weighted*: `Σ cells / Σ |C_i|` over the rows whose cell is included.
///
///   The mean counts (`averages`) are over the same included cells.
///
/// ```
/// use bitmapist::{Average, Bitmapist, CohortSpec, Criterion, RetentionSpec};
/// use chrono::{Duration, TimeZone, Utc};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
/// for uid in 0..10 { bm.mark_event("signed_up", uid).at(day0).await?; }
/// for uid in 0..4 { bm.mark_event("active", uid).at(day0 + Duration::days(2)).await?; }
///
/// let base = CohortSpec::new("signed_up", "active").rows(3).cols(3).now(day0 + Duration::days(2));
/// let spec = RetentionSpec::new(base).criterion(Criterion::OnOrAfter).average(Average::Weighted);
/// let r = bm.retention(&spec).await?;
/// // Returned on day 2, so "on or after" days 0, 1 and 2.
/// assert_eq!(r.table.cohort[0], vec![Some(4), Some(4), Some(4)]);
/// assert_eq!(r.table.average_fractions[0], Some(0.4));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionSpec {
    /// Events, time group, rows, columns, `now`.
    pub cohort: CohortSpec,
    /// Recurring or first-time cohorts.
    #[serde(default)]
    pub kind: CohortKind,
    /// When a user counts in a cell.
    #[serde(default)]
    pub criterion: Criterion,
    /// How column averages are taken.
    #[serde(default)]
    pub average: Average,
    /// Leave the cells of the current (incomplete) period out of the averages.
    #[serde(default)]
    pub complete_only: bool,
}

impl From<CohortSpec> for RetentionSpec {
    /// The legacy table: recurring, first return (or on, with replacement), simple
    /// averages over every cell.
    fn from(cohort: CohortSpec) -> Self {
        RetentionSpec::new(cohort)
    }
}

impl RetentionSpec {
    /// The legacy table of `cohort`: recurring, first return (on, when the cohort spec
    /// counts `with_replacement`), simple averages over every cell. The same as
    /// `RetentionSpec::from(cohort)`.
    ///
    /// ```
    /// use bitmapist::{CohortSpec, Criterion, RetentionSpec};
    /// let legacy = CohortSpec::new("a", "b").with_replacement(true);
    /// assert_eq!(RetentionSpec::new(legacy.clone()).criterion, Criterion::On);
    /// assert_eq!(RetentionSpec::new(legacy.clone()), RetentionSpec::from(legacy));
    /// ```
    pub fn new(cohort: CohortSpec) -> Self {
        let criterion = if cohort.with_replacement {
            Criterion::On
        } else {
            Criterion::FirstReturn
        };
        RetentionSpec {
            cohort,
            kind: CohortKind::Recurring,
            criterion,
            average: Average::Simple,
            complete_only: false,
        }
    }

    /// Restricts the rows' users to segment `name` (repeatable: all of them); the same as
    /// [`CohortSpec::segment`] on the spec's cohort.
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.cohort.segments.push(name.into());
        self
    }

    /// Sets the cohort kind.
    pub fn kind(mut self, kind: CohortKind) -> Self {
        self.kind = kind;
        self
    }

    /// First-time cohorts (`true`) or recurring ones.
    pub fn first_time(self, on: bool) -> Self {
        self.kind(if on {
            CohortKind::FirstTime
        } else {
            CohortKind::Recurring
        })
    }

    /// Sets the criterion.
    pub fn criterion(mut self, criterion: Criterion) -> Self {
        self.criterion = criterion;
        self
    }

    /// Sets the averaging.
    pub fn average(mut self, average: Average) -> Self {
        self.average = average;
        self
    }

    /// Leaves the current period's cells out of the averages.
    pub fn complete_only(mut self, on: bool) -> Self {
        self.complete_only = on;
        self
    }
}

/// A computed retention table: the [`Cohort`] (its `averages` and `average_fractions`
/// taken as the spec asks) and the mode it was computed in, under the spec's names.
///
/// Serializes as the `Cohort`'s keys plus `retention` (the criterion: `first-return`,
/// `on`, `on-or-after`), `first_time` (the kind, as a flag), `average` (`simple`,
/// `weighted`) and `complete_only`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Retention {
    /// The table.
    #[serde(flatten)]
    pub table: Cohort,
    /// The criterion.
    #[serde(rename = "retention")]
    pub criterion: Criterion,
    /// Recurring or first-time cohorts.
    #[serde(rename = "first_time", serialize_with = "kind_as_flag")]
    pub kind: CohortKind,
    /// How the averages were taken.
    pub average: Average,
    /// Whether the current period was left out of the averages.
    pub complete_only: bool,
}

fn kind_as_flag<S: serde::Serializer>(
    kind: &CohortKind,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bool(*kind == CohortKind::FirstTime)
}
