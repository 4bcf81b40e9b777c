//! Computing a retention table, in phases: cohort rows, returns, cells, averages.
//! Reads each event's row periods once (the chain restricted to the cohorts' users).
//!
//! The phases, for `rows` row periods:
//! 1. **cohort rows** ([`Bitmapist::cohort_rows`]): the primary event's bitmap of every
//!    row period, in one batch; first-time cohorts only: the primary's stored keys whose
//!    period ends at or before row 0's start (any time group), read restricted to the
//!    rows' users and ORed into the "seen before" set; then row by row
//!    `C_i = P_i − seen`, `seen ∨= P_i`. The segment filter is applied here (`C_i ∧ S`);
//! 2. **returns** ([`Bitmapist::returns`]): the secondary chain of every row period,
//!    restricted to the cohorts' users; for on-or-after also the suffix unions, once;
//! 3. **cells** ([`Fetched::cells`]), per criterion, under a mask (a breakdown value);
//! 4. **averages** ([`column_averages`]).
//!
//! Phases 1 and 2 are the fetch ([`Bitmapist::retention_fetch`]); a breakdown runs 3 and 4
//! once per value on the one fetch. [`Fetched::cell_users`] replays phase 3 for one cell
//! and returns its users instead of their count.

use std::collections::HashMap;

use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::cohort::{Cohort, CohortSpec, chain_events};
use crate::error::{Argument, Error, Result};
use crate::expr::Expr;
use crate::key::KeyLayout;
use crate::period::Period;
use crate::segment::{Breakdown, BrokenDown, Members, filtered, masked, per_value};

use super::averages::column_averages;
use super::{CohortKind, Criterion, Retention, RetentionSpec};

/// Fetches every key the expressions read, in one batch, restricted to `within` when
/// given; missing keys are left out.
async fn fetch_all(
    bm: &Bitmapist,
    exprs: &[Expr],
    within: Option<&Bitmap>,
) -> Result<HashMap<String, Bitmap>> {
    let keys = crate::expr::unique_keys(exprs, bm.layout());
    let got = match within {
        None => bm.store().get(&keys).await?,
        Some(w) => bm.store().get_within(&keys, w).await?,
    };
    Ok(keys
        .into_iter()
        .zip(got)
        .filter_map(|(k, b)| b.map(|b| (k, b)))
        .collect())
}

/// Evaluates each expression on `fetched`. A one-key leaf takes its bitmap out of
/// `fetched` on the last use of that key instead of copying it (a 90-row daily table
/// copied 90 bitmaps of up to a million users per batch).
fn evaluate_taking(
    layout: &KeyLayout,
    exprs: &[Expr],
    mut fetched: HashMap<String, Bitmap>,
) -> Vec<Bitmap> {
    let keys: Vec<Vec<String>> = exprs.iter().map(|e| e.keys(layout)).collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for k in keys.iter().flatten() {
        *uses.entry(k.as_str()).or_default() += 1;
    }
    exprs
        .iter()
        .zip(&keys)
        .map(|(e, keys)| {
            let mut last_use = true;
            for k in keys {
                if let Some(n) = uses.get_mut(k.as_str()) {
                    *n -= 1;
                    last_use &= *n == 0;
                }
            }
            match (e, keys.as_slice()) {
                (Expr::Events(ep), [key]) if last_use && ep.period.months().is_none() => {
                    fetched.remove(key).unwrap_or_default()
                }
                _ => e.evaluate(layout, &fetched),
            }
        })
        .collect()
}

/// Evaluates each expression on one batch of fetched keys.
async fn evaluate_all(
    bm: &Bitmapist,
    exprs: &[Expr],
    within: Option<&Bitmap>,
) -> Result<Vec<Bitmap>> {
    let fetched = fetch_all(bm, exprs, within).await?;
    Ok(evaluate_taking(bm.layout(), exprs, fetched))
}

impl Bitmapist {
    /// Python bitmapist's `get_cohort`.
    ///
    /// The reference semantics (Flask-Bitmapist's `get_cohort`, with its bugs fixed):
    ///
    /// - row `i` (0-based) of `rows` is the period `rows - 1 - i` periods before the one
    ///   containing `now`, taken at its start (1st of the month, ISO Monday, January 1st);
    /// - its primary set is the users of `primary` in that period, its total their count; a
    ///   row whose total is 0 is all `None`;
    /// - cell `j` is the period `j` after the row's. A period that starts after `now` is
    ///   `None`. Otherwise, if `secondary` has no users in that period the cell is 0; else the
    ///   cell counts `chain_events(secondary, additional, period) ∧ primary`, and unless
    ///   `with_replacement` those users leave the row's primary set for its later cells (each
    ///   user counts once, in the first period they return);
    /// - `chain_events`: an `or` binds only to its immediate predecessor, so
    ///   `A and B and C or D` is `A ∧ B ∧ (C ∨ D)` and `A and B or C and D` is
    ///   `A ∧ (B ∨ C) ∧ D`; an `or` on the first additional event joins the base event.
    ///
    /// Because the non-future cells of every row fall on the row periods themselves, a table
    /// reads `rows` periods of each event and no more, however many columns it has. It reads
    /// them in two batches: the primary event's, then the chain's restricted to the rows' users
    /// ([`Store::get_within`](crate::Store::get_within)).
    ///
    /// ```
    /// use bitmapist::{Bitmapist, CohortSpec, TimeGroup};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// for uid in 0..10 { bm.mark_event("signed_up", uid).at(day0).await?; }
    /// for uid in 0..4 { bm.mark_event("active", uid).at(day0 + Duration::days(1)).await?; }
    ///
    /// let spec = CohortSpec::new("signed_up", "active").rows(3).cols(3).now(day0 + Duration::days(2));
    /// let c = bm.get_cohort(&spec).await?;
    /// assert_eq!(c.totals, vec![10, 0, 0]);
    /// assert_eq!(c.cohort[0], vec![Some(0), Some(4), Some(0)]);
    /// assert_eq!(c.cohort[1], vec![None, None, None]);
    /// # Ok(()) }
    /// ```
    pub async fn get_cohort(&self, spec: &CohortSpec) -> Result<Cohort> {
        let _timer = self.time(crate::telemetry::QueryKind::Cohort);
        let spec = RetentionSpec::from(spec.clone());
        Ok(self.retention_fetch(&spec).await?.table(None).table)
    }

    /// The users of `event` in any stored period that ends at or before `before`,
    /// restricted to `within` (any time group; the unique key is not a period).
    pub(crate) async fn users_before(
        &self,
        event: &str,
        before: Period,
        within: &Bitmap,
    ) -> Result<Bitmap> {
        let Some(start) = before.start() else {
            return Ok(Bitmap::new());
        };
        let layout = self.layout();
        let keys: Vec<String> = self
            .event_periods(event)
            .await?
            .into_iter()
            .filter(|p| p.end().is_some_and(|end| end <= start))
            .map(|p| layout.key(event, &p))
            .collect();
        let mut seen = Bitmap::new();
        if keys.is_empty() || within.is_empty() {
            return Ok(seen);
        }
        for b in self
            .store()
            .get_within(&keys, within)
            .await?
            .into_iter()
            .flatten()
        {
            seen.or_assign(&b);
        }
        Ok(seen)
    }

    /// Phase 1: the cohort of every row period (see the module docs), filtered by the
    /// spec's segments (evaluated at the table's `now`, read within the rows' users).
    async fn cohort_rows(&self, spec: &RetentionSpec, periods: &[Period]) -> Result<Vec<Bitmap>> {
        let base = &spec.cohort;
        let primary_exprs: Vec<Expr> = periods
            .iter()
            .map(|&p| Expr::events(base.primary.as_str(), p))
            .collect();
        let primary = evaluate_all(self, &primary_exprs, None).await?;
        let cohorts: Vec<Bitmap> = match spec.kind {
            CohortKind::Recurring => primary,
            CohortKind::FirstTime => {
                let mut rows_users = Bitmap::new();
                for p in &primary {
                    rows_users.or_assign(p);
                }
                let mut seen = match periods.first() {
                    Some(&first) => self.users_before(&base.primary, first, &rows_users).await?,
                    None => Bitmap::new(),
                };
                primary
                    .into_iter()
                    .map(|p| {
                        let c = p.difference(&seen);
                        seen.or_assign(&p);
                        c
                    })
                    .collect()
            }
        };
        if base.segments.is_empty() {
            return Ok(cohorts);
        }
        let users = union(&cohorts);
        let filter = self
            .segment_filter(&base.segments, base.now, Some(&users))
            .await?;
        Ok(cohorts
            .into_iter()
            .map(|c| filtered(c, filter.as_ref()))
            .collect())
    }

    /// Phase 2: the chain per row period, read restricted to `users` (`None`: the secondary
    /// has no users then, the period counts nobody, as in `get_cohort`).
    async fn returns(
        &self,
        spec: &RetentionSpec,
        periods: &[Period],
        users: &Bitmap,
    ) -> Result<Vec<Option<Bitmap>>> {
        let base = &spec.cohort;
        let layout = self.layout();
        let rows = periods.len();
        let mut chained: Vec<Option<Bitmap>> = vec![None; rows];
        if users.is_empty() {
            return Ok(chained);
        }
        let chain_exprs: Vec<Expr> = periods
            .iter()
            .map(|&p| chain_events(&base.secondary, &base.additional, p))
            .collect();
        let secondary_exprs: Vec<Expr> = periods
            .iter()
            .map(|&p| Expr::events(base.secondary.as_str(), p))
            .collect();
        // One batch for both (the chain's keys include the secondary's).
        let mut exprs = chain_exprs;
        exprs.extend(secondary_exprs);
        let fetched = fetch_all(self, &exprs, Some(users)).await?;
        exprs.truncate(rows);
        // Whether the secondary has users, restricted, without evaluating it.
        let restricted_has: Vec<bool> = periods
            .iter()
            .map(|p| {
                layout
                    .keys(&base.secondary, p)
                    .iter()
                    .any(|k| fetched.get(k).is_some_and(|b| !b.is_empty()))
            })
            .collect();
        let values = evaluate_taking(layout, &exprs, fetched);
        for (t, (value, sec_has)) in values.into_iter().zip(restricted_has).enumerate() {
            // Restricted, the secondary may look empty and not be: its count decides.
            let has = sec_has
                || self
                    .store()
                    .count(&layout.keys(&base.secondary, &periods[t]))
                    .await?
                    .iter()
                    .any(|&n| n > 0);
            chained[t] = has.then_some(value);
        }
        Ok(chained)
    }

    /// Phases 1 and 2: everything a retention table reads, in its batches.
    pub(crate) async fn retention_fetch(&self, spec: &RetentionSpec) -> Result<Fetched> {
        spec.cohort.validate()?;
        let periods = spec.cohort.periods_in(self.timezone())?;
        let cohorts = self.cohort_rows(spec, &periods).await?;
        let users = union(&cohorts);
        let chained = self.returns(spec, &periods, &users).await?;
        let returned: Vec<Bitmap> = chained.into_iter().map(Option::unwrap_or_default).collect();
        let suffix: Vec<Bitmap> = if spec.criterion == Criterion::OnOrAfter {
            // U_t = S_t ∨ U_{t+1}, built from the last period back.
            let mut out = Vec::with_capacity(returned.len());
            let mut acc = Bitmap::new();
            for s in returned.iter().rev() {
                acc.or_assign(s);
                out.push(acc.clone());
            }
            out.reverse();
            out
        } else {
            Vec::new()
        };
        Ok(Fetched {
            spec: spec.clone(),
            periods,
            cohorts,
            users,
            returned,
            suffix,
        })
    }

    /// A retention table in any mode (see [`RetentionSpec`](crate::RetentionSpec)
    /// for the exact definitions), filtered by the spec's segments.
    ///
    /// `bm.retention(&RetentionSpec::from(spec))` gives the same table as
    /// `bm.get_cohort(&spec)`.
    pub async fn retention(&self, spec: &RetentionSpec) -> Result<Retention> {
        let _timer = self.time(crate::telemetry::QueryKind::Retention);
        Ok(self.retention_fetch(spec).await?.table(None))
    }

    /// A retention table per value of `breakdown`, then for the users in none; every
    /// value's table is computed on one fetch (see [`BrokenDown`]).
    pub async fn retention_by(
        &self,
        spec: &RetentionSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Retention>> {
        let fetched = self.retention_fetch(spec).await?;
        let values = self
            .breakdown_values(breakdown, spec.cohort.now, Some(&fetched.users))
            .await?;
        per_value(breakdown, None, values, |mask| Ok(fetched.table(mask)))
    }
}

/// The union of bitmaps.
fn union(all: &[Bitmap]) -> Bitmap {
    let mut out = Bitmap::new();
    for b in all {
        out.or_assign(b);
    }
    out
}

/// What a retention table reads (phases 1 and 2), ready for cells under any mask.
pub(crate) struct Fetched {
    spec: RetentionSpec,
    periods: Vec<Period>,
    /// `C_i`, filtered.
    cohorts: Vec<Bitmap>,
    /// The union of the cohorts.
    users: Bitmap,
    /// `S_t`, empty when the secondary has no users in `t`.
    returned: Vec<Bitmap>,
    /// On or after only: `U_t = S_t ∨ … ∨ S_N`.
    suffix: Vec<Bitmap>,
}

impl Fetched {
    /// Phase 3 for row `i`: its total and cells, with the users of the cell at lag `want`
    /// when asked.
    fn row(
        &self,
        i: usize,
        mask: Option<&Members>,
        want: Option<usize>,
    ) -> (u64, Vec<Option<u64>>, Bitmap) {
        let cols = self.spec.cohort.cols;
        let rows = self.periods.len();
        let cohort = masked(&self.cohorts[i], mask);
        let total = cohort.count();
        let mut row = vec![None; cols];
        let mut users = Bitmap::new();
        if total == 0 {
            return (total, row, users);
        }
        let mut remaining = cohort.into_owned();
        // Cell j falls on row period i + j; beyond the last row it is in the future.
        for (j, cell) in row.iter_mut().enumerate().take(rows - i) {
            let t = i + j;
            let hit = match self.spec.criterion {
                Criterion::OnOrAfter => &self.suffix[t],
                _ => &self.returned[t],
            };
            if want == Some(j) {
                users = remaining.and(hit);
                *cell = Some(users.count());
                break;
            }
            *cell = Some(match self.spec.criterion {
                Criterion::On | Criterion::OnOrAfter => remaining.intersection_count(hit),
                Criterion::FirstReturn => {
                    let n = remaining.intersection_count(hit);
                    if n > 0 {
                        remaining.difference_assign(hit);
                    }
                    n
                }
            });
        }
        (total, row, users)
    }

    /// Phases 3 and 4 under `mask` (a breakdown value; `None`: every filtered user).
    pub(crate) fn table(&self, mask: Option<&Members>) -> Retention {
        let rows = self.periods.len();
        let mut cells = Vec::with_capacity(rows);
        let mut totals = Vec::with_capacity(rows);
        for i in 0..rows {
            let (total, row, _) = self.row(i, mask, None);
            totals.push(total);
            cells.push(row);
        }
        let spec = &self.spec;
        let (averages, average_fractions) =
            column_averages(&cells, &totals, spec.average, spec.complete_only);
        let mut table =
            Cohort::from_cells(spec.cohort.time_group, self.periods.clone(), cells, totals);
        table.averages = averages;
        table.average_fractions = average_fractions;
        Retention {
            table,
            criterion: spec.criterion,
            kind: spec.kind,
            average: spec.average,
            complete_only: spec.complete_only,
        }
    }

    /// The users the cell `(row, col)` counts: the row's cohort when `col` is `None`
    /// (the row's total), else the cell's users (empty for a future cell). Errors for a
    /// row or column outside the table.
    pub(crate) fn cell_users(&self, row: usize, col: Option<usize>) -> Result<Bitmap> {
        let rows = self.periods.len();
        if row >= rows {
            return Err(Error::invalid_arg(
                Argument::Rows,
                format!("row {row} is not in 0..{rows}"),
            ));
        }
        let Some(col) = col else {
            return Ok(self.cohorts[row].clone());
        };
        if col >= self.spec.cohort.cols {
            return Err(Error::invalid_arg(
                Argument::Cols,
                format!("column {col} is not in 0..{}", self.spec.cohort.cols),
            ));
        }
        Ok(self.row(row, None, Some(col)).2)
    }
}
