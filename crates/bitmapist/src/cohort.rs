//! Cohorts (retention tables): `chain_events` and `get_cohort` with Python bitmapist's semantics.
//! Every bitmap a table needs is fetched in one batch; cells are computed in memory.
//! The reference semantics are in [`Bitmapist::get_cohort`]'s docs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::client::{Bitmapist, check_event};
use crate::error::{Argument, Error, Result};
use crate::expr::Expr;
use crate::period::{Period, TimeGroup};
use crate::query::Query;

/// The largest number of rows or columns a cohort (or a funnel's rows and window) may have:
/// 400, the same bound as every front end's (the dashboard's, the CLI's). A 400 x 400 daily
/// table already spans more than a year each way; its 160,000 cells are computed from
/// 800 bitmaps in one batch. A larger table would hold one request's memory and time
/// without bound, so the engine refuses it too rather than trusting each caller to check.
pub const MAX_COHORT_SIZE: usize = 400;

/// How a chained event joins the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainOp {
    /// Users must also have this event.
    And,
    /// Users may have this event instead of the one before it.
    Or,
}

impl ChainOp {
    /// The operator's name, as Python bitmapist writes it: `"and"` or `"or"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainOp::And => "and",
            ChainOp::Or => "or",
        }
    }
}

impl fmt::Display for ChainOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads `"and"` or `"or"`, in any case, as written by [`ChainOp`]'s `Display`.
///
/// ```
/// use bitmapist::ChainOp;
/// assert_eq!("OR".parse::<ChainOp>()?, ChainOp::Or);
/// assert_eq!(ChainOp::And.to_string().parse::<ChainOp>()?, ChainOp::And);
/// assert!("xor".parse::<ChainOp>().is_err());
/// # Ok::<(), bitmapist::Error>(())
/// ```
impl FromStr for ChainOp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "and" => Ok(ChainOp::And),
            "or" => Ok(ChainOp::Or),
            _ => Err(Error::invalid_arg(
                Argument::Op,
                format!("{s:?} is not \"and\" or \"or\""),
            )),
        }
    }
}

/// One additional event of a chain: Python bitmapist's `{'name': ..., 'op': 'and'}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainedEvent {
    /// The event name.
    pub name: String,
    /// How it joins the chain.
    pub op: ChainOp,
}

impl ChainedEvent {
    /// `and name`.
    pub fn and(name: impl Into<String>) -> Self {
        ChainedEvent {
            name: name.into(),
            op: ChainOp::And,
        }
    }

    /// `or name`.
    pub fn or(name: impl Into<String>) -> Self {
        ChainedEvent {
            name: name.into(),
            op: ChainOp::Or,
        }
    }
}

/// The expression of a chain in one period: groups of `or`s joined by `and`.
///
/// ```
/// use bitmapist::{ChainedEvent, Expr, Period, chain_events};
/// let p = Period::year(2026)?;
/// let e = chain_events("A", &[ChainedEvent::and("B"), ChainedEvent::or("C"), ChainedEvent::and("D")], p);
/// let ev = |n: &str| Expr::events(n, p);
/// assert_eq!(e, Expr::And(vec![ev("A"), Expr::Or(vec![ev("B"), ev("C")]), ev("D")]));
/// # Ok::<(), bitmapist::Error>(())
/// ```
pub fn chain_events(base: &str, chained: &[ChainedEvent], period: Period) -> Expr {
    let mut groups: Vec<Vec<Expr>> = vec![vec![Expr::events(base, period)]];
    for c in chained {
        let leaf = Expr::events(c.name.as_str(), period);
        match (c.op, groups.last_mut()) {
            (ChainOp::Or, Some(last)) => last.push(leaf),
            _ => groups.push(vec![leaf]),
        }
    }
    let mut terms: Vec<Expr> = groups
        .into_iter()
        .map(|mut g| {
            if g.len() == 1 {
                g.remove(0)
            } else {
                Expr::Or(g)
            }
        })
        .collect();
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        Expr::And(terms)
    }
}

/// What to tabulate: Python bitmapist's `get_cohort` arguments, plus `now`.
///
/// ```
/// use bitmapist::{CohortSpec, TimeGroup};
/// let spec = CohortSpec::new("user:ordered_infomercial_product", "user:made_first_easy_payment")
///     .and("user:made_second_easy_payment")
///     .or("user:returned_product")
///     .time_group(TimeGroup::Months)
///     .rows(6)
///     .cols(4);
/// assert_eq!(spec.additional.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohortSpec {
    /// The event that defines a row's users.
    pub primary: String,
    /// The event counted in each cell.
    pub secondary: String,
    /// Further events chained to the secondary one.
    #[serde(default)]
    pub additional: Vec<ChainedEvent>,
    /// The period size (default days).
    pub time_group: TimeGroup,
    /// How many periods back (default 10).
    pub rows: usize,
    /// How many periods forward from each row (default 10).
    pub cols: usize,
    /// Count a user again in later cells (default false: once, in the first).
    #[serde(default)]
    pub with_replacement: bool,
    /// The moment the table is drawn at (default: now).
    pub now: DateTime<Utc>,
    /// Segments the rows' users must all be in (default none: everyone).
    #[serde(default)]
    pub segments: Vec<String>,
}

impl CohortSpec {
    /// A 10 x 10 daily table as of now, like Python bitmapist's defaults.
    pub fn new(primary: impl Into<String>, secondary: impl Into<String>) -> Self {
        CohortSpec {
            primary: primary.into(),
            secondary: secondary.into(),
            additional: Vec::new(),
            time_group: TimeGroup::Days,
            rows: 10,
            cols: 10,
            with_replacement: false,
            now: Utc::now(),
            segments: Vec::new(),
        }
    }

    /// Restricts the rows' users to segment `name` (repeatable: all of them). The
    /// segment is evaluated at [`CohortSpec::now`]; see [`SegmentDef`](crate::SegmentDef).
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }

    /// Chains `and event`.
    pub fn and(mut self, event: impl Into<String>) -> Self {
        self.additional.push(ChainedEvent::and(event));
        self
    }

    /// Chains `or event`.
    pub fn or(mut self, event: impl Into<String>) -> Self {
        self.additional.push(ChainedEvent::or(event));
        self
    }

    /// Sets the additional events.
    pub fn additional(mut self, events: Vec<ChainedEvent>) -> Self {
        self.additional = events;
        self
    }

    /// Sets the period size.
    pub fn time_group(mut self, group: TimeGroup) -> Self {
        self.time_group = group;
        self
    }

    /// Sets the number of rows.
    pub fn rows(mut self, rows: usize) -> Self {
        self.rows = rows;
        self
    }

    /// Sets the number of columns.
    pub fn cols(mut self, cols: usize) -> Self {
        self.cols = cols;
        self
    }

    /// Counts users again in later cells.
    pub fn with_replacement(mut self, on: bool) -> Self {
        self.with_replacement = on;
        self
    }

    /// Draws the table as of `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Checks the event names and the table's size (also what the retention table checks).
    pub(crate) fn validate(&self) -> Result<()> {
        check_event(&self.primary)
            .map_err(|_| Error::invalid_arg(Argument::Primary, "empty event name"))?;
        check_event(&self.secondary)
            .map_err(|_| Error::invalid_arg(Argument::Secondary, "empty event name"))?;
        if self.additional.iter().any(|c| c.name.is_empty()) {
            return Err(Error::invalid_arg(Argument::Additional, "empty event name"));
        }
        for (name, n) in [(Argument::Rows, self.rows), (Argument::Cols, self.cols)] {
            if !(1..=MAX_COHORT_SIZE).contains(&n) {
                return Err(Error::invalid_arg(
                    name,
                    format!("{n} is not in 1..={MAX_COHORT_SIZE}"),
                ));
            }
        }
        Ok(())
    }

    /// The row periods, oldest first, on UTC's wall clock (see [`CohortSpec::periods_in`]).
    pub fn periods(&self) -> Result<Vec<Period>> {
        self.periods_in(crate::Zone::UTC)
    }

    /// The row periods, oldest first, on `zone`'s wall clock: the newest row is the
    /// local period containing [`CohortSpec::now`]. [`Bitmapist::get_cohort`] uses the
    /// handle's zone.
    pub fn periods_in(&self, zone: crate::Zone) -> Result<Vec<Period>> {
        zone.periods_up_to(self.time_group, self.now, self.rows)
    }
}

/// A retention table and everything derived from it.
///
/// Serializes with the cells under `cohort`, the row period starts under `dates`
/// (`YYYY-MM-DD`, or `YYYY-MM-DDTHH:00:00` for hours), their labels under `labels`, the
/// row totals under `totals`, and the derived `fractions`, `averages`,
/// `average_fractions`, `col_totals` and `total`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cohort {
    /// The period size.
    pub time_group: TimeGroup,
    /// Row period starts.
    pub dates: Vec<String>,
    /// Row period labels for people (`2026-W47`, `Nov 2026`).
    pub labels: Vec<String>,
    /// Cells: `None` in the future or in a row with no primary users.
    pub cohort: Vec<Vec<Option<u64>>>,
    /// Users of the primary event in each row's period.
    pub totals: Vec<u64>,
    /// Each cell divided by its row's total.
    pub fractions: Vec<Vec<Option<f64>>>,
    /// Mean of each column over its non-`None` cells (zeros included).
    pub averages: Vec<Option<f64>>,
    /// Mean of each column's fractions over its non-`None` cells.
    pub average_fractions: Vec<Option<f64>>,
    /// Sum of each column's non-`None` cells.
    pub col_totals: Vec<u64>,
    /// Sum of the row totals.
    pub total: u64,
    #[serde(skip)]
    periods: Vec<Period>,
}

impl Cohort {
    /// Builds the table and its derived values from cells and row totals.
    pub(crate) fn from_cells(
        time_group: TimeGroup,
        periods: Vec<Period>,
        cohort: Vec<Vec<Option<u64>>>,
        totals: Vec<u64>,
    ) -> Cohort {
        let cols = cohort.first().map_or(0, Vec::len);
        let fractions: Vec<Vec<Option<f64>>> = cohort
            .iter()
            .zip(&totals)
            .map(|(row, &t)| {
                row.iter()
                    .map(|c| c.filter(|_| t > 0).map(|c| c as f64 / t as f64))
                    .collect()
            })
            .collect();
        let mean = |vals: Vec<f64>| {
            (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
        };
        let averages = (0..cols)
            .map(|j| {
                mean(
                    cohort
                        .iter()
                        .filter_map(|r| r[j])
                        .map(|c| c as f64)
                        .collect(),
                )
            })
            .collect();
        let average_fractions = (0..cols)
            .map(|j| mean(fractions.iter().filter_map(|r| r[j]).collect()))
            .collect();
        let col_totals = (0..cols)
            .map(|j| cohort.iter().filter_map(|r| r[j]).sum())
            .collect();
        let dates = periods
            .iter()
            .map(|p| match (p.time_group(), p.start()) {
                (Some(TimeGroup::Hours), Some(s)) => s.format("%Y-%m-%dT%H:%M:%S").to_string(),
                (_, Some(s)) => s.format("%Y-%m-%d").to_string(),
                (_, None) => String::new(),
            })
            .collect();
        Cohort {
            time_group,
            dates,
            labels: periods.iter().map(Period::label).collect(),
            total: totals.iter().sum(),
            cohort,
            totals,
            fractions,
            averages,
            average_fractions,
            col_totals,
            periods,
        }
    }

    /// The row periods, oldest first.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }
}

impl Bitmapist {
    /// Python bitmapist's `chain_events`: `base` chained with `chained` in the `time_group` period
    /// containing `now`. The caller's list is not modified.
    pub fn chain_events(
        &self,
        base: &str,
        chained: &[ChainedEvent],
        time_group: TimeGroup,
        now: DateTime<Utc>,
    ) -> Result<Query> {
        check_event(base)?;
        if chained.iter().any(|c| c.name.is_empty()) {
            return Err(Error::invalid_arg(Argument::Additional, "empty event name"));
        }
        let period = self.period_containing(time_group, now)?;
        Ok(self.query(chain_events(base, chained, period)))
    }
}
