//! Breakdowns: one result per property value or segment, plus the users in none.
//!
//! Why: "do paying users retain better than free ones" is one table per value. How: every
//! analysis is split into a *fetch* phase (one batched read of the bitmaps it needs) and a
//! *compute* phase that takes a mask restricting its population; [`per_value`] runs the
//! compute phase once per value on the one fetch, so a breakdown into `k` values reads
//! what the plain analysis reads, plus the values' bitmaps (restricted to the analysed
//! users). Invariant: a property's values, as [`Bitmapist::set_property`] writes them, are
//! disjoint, so the values and "none" partition the analysed users, and an additive
//! measure (a count, a cohort cell, a funnel step) sums to the unfiltered result. Segments
//! may overlap: then a user counts under each segment they are in. Nothing is written, so
//! a crash loses nothing.
//!
//! How an analysis joins (retention, funnels, stickiness and counts do it this way):
//! 1. its fetch reads everything once and applies its spec's filter to its population
//!    with [`Bitmapist::segment_filter`] (read within the population) and [`filtered`];
//! 2. its compute takes `mask: Option<&Members>` and restricts its population with
//!    [`masked`](super::masked) / [`masked_count`](super::masked_count) (`None`: no mask);
//! 3. `<analysis>_by` calls [`Bitmapist::breakdown_values`] within the filtered
//!    population, then [`per_value`] with the compute phase.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::error::{Argument, Error, Result};
use crate::period::Period;

use super::Members;

/// What to break a result down by: a property's values, or a list of segments.
///
/// Parses from one string, as the CLI's `--breakdown`, the dashboard's `breakdown=` and
/// the Python layer give it: a value with a comma is a segment list, otherwise a property.
///
/// ```
/// use bitmapist::Breakdown;
/// assert_eq!("plan".parse::<Breakdown>()?, Breakdown::Property("plan".into()));
/// assert_eq!(
///     "trial, churned".parse::<Breakdown>()?,
///     Breakdown::Segments(vec!["trial".into(), "churned".into()])
/// );
/// assert_eq!("trial,churned".parse::<Breakdown>()?.to_string(), "trial,churned");
/// assert!("".parse::<Breakdown>().is_err());
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Breakdown {
    /// One value per value of the property (`plan` → `plan:free`, `plan:pro`, ...).
    Property(String),
    /// One value per segment (one segment: write it with a trailing comma, `trial,`).
    Segments(Vec<String>),
}

impl FromStr for Breakdown {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::invalid_arg(
                Argument::Breakdown,
                "empty: give a property (plan) or segments separated by commas (trial,churned)",
            ));
        }
        if s.contains(',') {
            let names: Vec<String> = s
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                return Err(Error::invalid_arg(
                    Argument::Breakdown,
                    format!("{s:?} names no segment"),
                ));
            }
            return Ok(Breakdown::Segments(names));
        }
        if s.contains(':') {
            return Err(Error::invalid_arg(
                Argument::Breakdown,
                format!(
                    "{s:?} is a property value; break down by the property (the part before the last ':')"
                ),
            ));
        }
        Ok(Breakdown::Property(s.to_string()))
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breakdown::Property(p) => f.write_str(p),
            Breakdown::Segments(s) if s.len() == 1 => write!(f, "{},", s[0]),
            Breakdown::Segments(s) => f.write_str(&s.join(",")),
        }
    }
}

/// One value of a breakdown and the analysis' result for its users.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakdownValue<T> {
    /// The property value or segment name; `None` for the users in none of them.
    pub value: Option<String>,
    /// The result, as the plain analysis gives it, for these users only.
    pub result: T,
}

/// A result broken down: serializes as `{"breakdown": "plan", "values": [{"value": "pro",
/// "result": {...}}, ..., {"value": null, "result": {...}}]}`; the last value is always
/// the users in none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokenDown<T> {
    /// The breakdown as given (`plan`, `trial,churned`).
    pub breakdown: String,
    /// One entry per value, then the users in none (`value: None`).
    pub values: Vec<BreakdownValue<T>>,
}

impl<T> BrokenDown<T> {
    /// The result of `value` (`None`: the users in none).
    pub fn get(&self, value: Option<&str>) -> Option<&T> {
        self.values
            .iter()
            .find(|v| v.value.as_deref() == value)
            .map(|v| &v.result)
    }
}

/// Runs `compute` once per value (masked by the filter and the value), then for the users
/// in none.
pub(crate) fn per_value<T>(
    breakdown: &Breakdown,
    filter: Option<&Members>,
    values: Vec<(Option<String>, Members)>,
    mut compute: impl FnMut(Option<&Members>) -> Result<T>,
) -> Result<BrokenDown<T>> {
    let mut out = Vec::with_capacity(values.len());
    for (value, members) in values {
        // Without a filter the value's users are the mask as they are (no copy).
        let mask = match filter {
            None => std::borrow::Cow::Borrowed(&members),
            Some(f) => std::borrow::Cow::Owned(f.and(&members)),
        };
        out.push(BreakdownValue {
            value,
            result: compute(Some(&mask))?,
        });
    }
    Ok(BrokenDown {
        breakdown: breakdown.to_string(),
        values: out,
    })
}

/// `users ∧ filter`, or `users` itself without a filter.
pub(crate) fn filtered(users: Bitmap, filter: Option<&Members>) -> Bitmap {
    match filter {
        None => users,
        Some(f) => f.apply(&users),
    }
}

impl Bitmapist {
    /// The values of property `prop` a breakdown lists, and their keys (unique events
    /// `prop:value`); an error when it has none.
    pub(crate) async fn breakdown_property(
        &self,
        prop: &str,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let names = self.property_values(prop).await?;
        if names.is_empty() {
            return Err(Error::invalid_arg(
                Argument::Breakdown,
                format!("property {prop:?} has no values (no unique event {prop}:VALUE is stored)"),
            ));
        }
        let layout = self.layout();
        let keys = names
            .iter()
            .map(|v| layout.key(&format!("{prop}:{v}"), &Period::unique()))
            .collect();
        Ok((names, keys))
    }

    /// The users of each value of `breakdown` as of `now`, read restricted to `within` when
    /// given, then the users in none (`None`, last).
    pub(crate) async fn breakdown_values(
        &self,
        breakdown: &Breakdown,
        now: DateTime<Utc>,
        within: Option<&Bitmap>,
    ) -> Result<Vec<(Option<String>, Members)>> {
        let mut values: Vec<(Option<String>, Members)> = match breakdown {
            Breakdown::Property(prop) => {
                let (names, keys) = self.breakdown_property(prop).await?;
                let got = match within {
                    None => self.store().get(&keys).await?,
                    Some(w) => self.store().get_within(&keys, w).await?,
                };
                names
                    .into_iter()
                    .zip(got)
                    .map(|(v, b)| (Some(v), Members::In(b.unwrap_or_default())))
                    .collect()
            }
            Breakdown::Segments(names) => {
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    let m = self.resolve(name, now, within, 0).await?;
                    out.push((Some(name.clone()), m));
                }
                out
            }
        };
        let mut any: Option<Members> = None;
        for (_, m) in &values {
            any = Some(match any {
                None => m.clone(),
                Some(a) => a.or(m),
            });
        }
        let none = any.map_or(Members::AllBut(Bitmap::new()), Members::not);
        values.push((None, none));
        Ok(values)
    }
}

/// Whether the values of `values` (the named ones; the last entry is "none", the
/// complement of their union) are pairwise disjoint: each is a plain set and their sizes
/// add up to their union's. Property values written by [`Bitmapist::set_property`] are;
/// raw `mark_unique("plan:x")` marks or overlapping segments may not be.
pub(crate) fn disjoint(values: &[(Option<String>, Members)]) -> bool {
    let Some(((_, Members::AllBut(union)), named)) = values.split_last() else {
        return false;
    };
    let mut sum = 0u64;
    for (_, m) in named {
        match m {
            Members::In(b) => sum += b.count(),
            Members::AllBut(_) => return false,
        }
    }
    sum == union.count()
}
