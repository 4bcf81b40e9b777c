//! Computing a retention table: the cohorts, the chain per row period, then the cells.
//! Reads each event's row periods once (the chain restricted to the cohorts' users).
//!
//! The steps, for `rows` row periods:
//! 1. the primary event's bitmap of every row period, in one batch;
//! 2. first-time cohorts only: the primary's stored keys whose period ends at or before
//!    row 0's start (any time group), read restricted to the rows' users and ORed into
//!    the "seen before" set; then row by row `C_i = P_i − seen`, `seen ∨= P_i`;
//! 3. the secondary chain of every row period, restricted to the cohorts' users;
//! 4. the cells, per criterion; on-or-after first builds the suffix unions, once.

use std::collections::HashMap;

use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::cohort::{Cohort, chain_events};
use crate::error::Result;
use crate::expr::Expr;
use crate::key::KeyLayout;
use crate::period::Period;

use super::averages::column_averages;
use super::{CohortKind, Criterion, Retention, RetentionSpec};

/// Fetches every key the expressions read, in one batch, restricted to `within` when
/// given; missing keys are left out.
async fn fetch_all(
    bm: &Bitmapist,
    exprs: &[Expr],
    within: Option<&Bitmap>,
) -> Result<HashMap<String, Bitmap>> {
    let layout = bm.layout();
    let mut keys = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in exprs {
        for k in e.keys(layout) {
            if seen.insert(k.clone()) {
                keys.push(k);
            }
        }
    }
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

    /// A retention table in any mode (see [`RetentionSpec`](crate::RetentionSpec)
    /// for the exact definitions).
    ///
    /// `bm.retention(&RetentionSpec::from(spec))` gives the same table as
    /// `bm.get_cohort(&spec)`.
    pub async fn retention(&self, spec: &RetentionSpec) -> Result<Retention> {
        spec.cohort.validate()?;
        let base = &spec.cohort;
        let periods = base.periods_in(self.timezone())?;
        let rows = periods.len();
        let layout = self.layout();

        // 1. The primary's users per row period.
        let primary_exprs: Vec<Expr> = periods
            .iter()
            .map(|&p| Expr::events(base.primary.as_str(), p))
            .collect();
        let primary = evaluate_all(self, &primary_exprs, None).await?;

        // 2. The cohorts.
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
        let mut users = Bitmap::new();
        for c in &cohorts {
            users.or_assign(c);
        }

        // 3. The chain per row period (`None`: the secondary has no users then, the
        //    period counts nobody, as in `get_cohort`).
        let mut chained: Vec<Option<Bitmap>> = vec![None; rows];
        if !users.is_empty() {
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
            let fetched = fetch_all(self, &exprs, Some(&users)).await?;
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
        }

        // 4. The cells.
        let empty = Bitmap::new();
        let returned: Vec<&Bitmap> = chained
            .iter()
            .map(|c| c.as_ref().unwrap_or(&empty))
            .collect();
        let suffix: Vec<Bitmap> = if spec.criterion == Criterion::OnOrAfter {
            // U_t = S_t ∨ U_{t+1}, built from the last period back.
            let mut out = Vec::with_capacity(rows);
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
        let mut cells = Vec::with_capacity(rows);
        let mut totals = Vec::with_capacity(rows);
        for (i, cohort) in cohorts.into_iter().enumerate() {
            let total = cohort.count();
            totals.push(total);
            let mut row = vec![None; base.cols];
            if total > 0 {
                let mut remaining = cohort;
                // Cell j falls on row period i + j; beyond the last row it is in the future.
                for (j, cell) in row.iter_mut().enumerate().take(rows - i) {
                    let t = i + j;
                    *cell = Some(match spec.criterion {
                        Criterion::On => remaining.intersection_count(returned[t]),
                        Criterion::OnOrAfter => remaining.intersection_count(&suffix[t]),
                        Criterion::FirstReturn => {
                            let n = remaining.intersection_count(returned[t]);
                            if n > 0 {
                                remaining.difference_assign(returned[t]);
                            }
                            n
                        }
                    });
                }
            }
            cells.push(row);
        }

        let (averages, average_fractions) =
            column_averages(&cells, &totals, spec.average, spec.complete_only);
        let mut table = Cohort::from_cells(base.time_group, periods, cells, totals);
        table.averages = averages;
        table.average_fractions = average_fractions;
        Ok(Retention {
            table,
            retention: spec.criterion,
            first_time: spec.kind == CohortKind::FirstTime,
            average: spec.average,
            complete_only: spec.complete_only,
        })
    }
}
