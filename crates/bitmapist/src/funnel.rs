//! Funnels on period bitmaps: of the users who did step 1, how many went on to do steps
//! 2..K within a window of W periods, as exact lower and upper bounds.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::cohort::MAX_COHORT_SIZE;
use crate::error::{Argument, Error, Result};
use crate::period::{Period, TimeGroup};
use crate::segment::{Breakdown, BrokenDown, Members, filtered, masked_count, per_value};

/// The largest number of steps a funnel may have.
pub const MAX_FUNNEL_STEPS: usize = 32;

/// What to compute: steps, period size, rows, window and bound.
///
/// ```
/// use bitmapist::{FunnelSpec, TimeGroup};
/// let spec = FunnelSpec::new(["signed_up", "activated", "paid"])
///     .time_group(TimeGroup::Weeks)
///     .rows(8)
///     .window(4)
///     .strict(true);
/// assert_eq!(spec.steps.len(), 3);
/// ```
///
/// # Definitions
///
/// Steps `E_1..E_K`, row periods `t = 0..rows-1` ending with `N`, the period containing
/// `now` (as the rows of a cohort), `E_s[t]` the users of step `s` in period `t`:
///
/// - **entry**: a user enters in the first row period in which they did `E_1` (earlier
///   periods outside the table are not looked at); rows are disjoint, so they add up;
/// - **lenient** (a step may happen in the same period as the one before it or later):
///   `R_1(t) = entered`, `R_s(t) = R_s(t-1) ∨ (R_{s-1}(t) ∧ E_s[t])`;
/// - **strict** (a step must happen in a later period than the one before it):
///   `R_s(t) = R_s(t-1) ∨ (R_{s-1}(t-1) ∧ E_s[t])`;
/// - with `R_s(t0-1) = ∅`, a row entered in period `t0` is counted at the end of its window,
///   `min(t0+W-1, N)`: `counts[s-1] = |R_s(end)|`.
///
/// A period bitmap keeps no order within the period, so neither is the true count of users
/// who did `E_1, ..., E_s` in that order (at increasing times, all within periods
/// `t0..=end`). Both are bounds of it: **strict ≤ true ordered count ≤ lenient**. Strict
/// puts each step in a later period than the one before, so the times increase; any ordered
/// sequence has non-decreasing periods, which lenient accepts. With days the two are close;
/// with months they can be far apart.
///
/// Every window ends at or before `N`, so no period outside the rows is read: the first
/// step's `rows` bitmaps in one batch, then the later steps' `(K-1) × rows` in a second batch
/// restricted to the users who did the first step in some row
/// ([`Store::get_within`](crate::Store::get_within); nobody else can enter). The rest
/// is computed in memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunnelSpec {
    /// The events, in funnel order (at least two).
    pub steps: Vec<String>,
    /// The period size (default days).
    pub time_group: TimeGroup,
    /// How many row periods, the last one containing `now` (default 30).
    pub rows: usize,
    /// How many periods from the entry period a user has to complete the funnel (default 14).
    pub window: usize,
    /// The strict bound (each step in a later period); default the lenient one.
    #[serde(default)]
    pub strict: bool,
    /// The moment the funnel is computed at (default: now).
    pub now: DateTime<Utc>,
    /// Segments the entrants must all be in (default none: everyone).
    #[serde(default)]
    pub segments: Vec<String>,
}

impl FunnelSpec {
    /// A daily funnel over 30 rows with a 14-day window, lenient, as of now.
    pub fn new<I, S>(steps: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FunnelSpec {
            steps: steps.into_iter().map(Into::into).collect(),
            time_group: TimeGroup::Days,
            rows: 30,
            window: 14,
            strict: false,
            now: Utc::now(),
            segments: Vec::new(),
        }
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

    /// Sets the window, in periods (1 = the entry period only).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window;
        self
    }

    /// Chooses the strict bound (`true`) or the lenient one (`false`).
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// Computes the funnel as of `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Restricts the entrants to segment `name` (repeatable: all of them), evaluated at
    /// `now`: `E_1[t] ∧ S` in place of `E_1[t]`.
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }

    /// Checks the spec: 2..=32 non-empty steps, rows and window in 1..=10000.
    pub fn validate(&self) -> Result<()> {
        if self.steps.len() < 2 {
            return Err(Error::invalid_arg(
                Argument::Steps,
                format!("a funnel needs at least 2 steps, got {}", self.steps.len()),
            ));
        }
        if self.steps.len() > MAX_FUNNEL_STEPS {
            return Err(Error::invalid_arg(
                Argument::Steps,
                format!(
                    "a funnel has at most {MAX_FUNNEL_STEPS} steps, got {}",
                    self.steps.len()
                ),
            ));
        }
        if let Some(i) = self.steps.iter().position(String::is_empty) {
            return Err(Error::invalid_arg(
                Argument::Steps,
                format!("step {} is an empty event name", i + 1),
            ));
        }
        for (name, n) in [(Argument::Rows, self.rows), (Argument::Window, self.window)] {
            if !(1..=MAX_COHORT_SIZE).contains(&n) {
                return Err(Error::invalid_arg(
                    name,
                    format!("{n} is not in 1..={MAX_COHORT_SIZE}"),
                ));
            }
        }
        Ok(())
    }

    /// The row periods in UTC, oldest first; the last one contains `now`.
    pub fn periods(&self) -> Result<Vec<Period>> {
        self.periods_in(crate::Zone::UTC)
    }

    /// The row periods on `zone`'s wall clock, oldest first; the last one is the local
    /// period containing `now`. [`Bitmapist::funnel`] uses the handle's zone.
    pub fn periods_in(&self, zone: crate::Zone) -> Result<Vec<Period>> {
        zone.periods_up_to(self.time_group, self.now, self.rows)
    }
}

/// One row of a funnel: the users who entered in one period and how far they got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FunnelRow {
    /// The entry period's label (`2026-11-22`, `2026-W47`, `Nov 2026`).
    pub period: String,
    /// The entry period's start, `YYYY-MM-DD` (`YYYY-MM-DDTHH:00:00` for hours).
    pub start: String,
    /// `counts[s]`: users who reached step `s + 1` by the end of the window; `counts[0]`
    /// is the users who entered.
    pub counts: Vec<u64>,
    /// Whether the whole window lies before the period containing `now` (otherwise the
    /// row may still grow).
    pub complete: bool,
    /// Whether the store's retention policy pruned the entry period: the row's counts are
    /// not the funnel's (its users are gone), so readers show "pruned", never the zeros.
    /// Left out of the JSON when false. (Later periods are newer, so only the entry
    /// period can be pruned while the row's others are kept.)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pruned: bool,
}

/// A computed funnel.
///
/// Serializes as `{"steps", "time_group", "window", "strict", "rows": [{"period", "start",
/// "counts", "complete", "pruned" (only when true)}], "totals", "conversion"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Funnel {
    /// The step events.
    pub steps: Vec<String>,
    /// The period size.
    pub time_group: TimeGroup,
    /// The window, in periods.
    pub window: usize,
    /// Whether this is the strict bound (otherwise the lenient one).
    pub strict: bool,
    /// One row per entry period, oldest first.
    pub rows: Vec<FunnelRow>,
    /// Per step, the sum over the rows.
    pub totals: Vec<u64>,
    /// Per step, its total divided by the first step's; `None` when nobody entered.
    pub conversion: Vec<Option<f64>>,
}

pub(crate) fn start_string(p: &Period) -> String {
    match (p.time_group(), p.start()) {
        (Some(TimeGroup::Hours), Some(s)) => s.format("%Y-%m-%dT%H:%M:%S").to_string(),
        (_, Some(s)) => s.format("%Y-%m-%d").to_string(),
        (_, None) => String::new(),
    }
}

/// The reach of the row entered in period `t0` (see [`FunnelSpec`]): `reach[s]` = the
/// users of that row who reached step `s + 1` by the end of its window, from the step
/// bitmaps `bitmaps[s][t]`; `seen` = the first step's users of every earlier row period.
fn row_reach(
    bitmaps: &[Vec<Bitmap>],
    t0: usize,
    seen: &Bitmap,
    window: usize,
    strict: bool,
) -> Vec<Bitmap> {
    let k = bitmaps.len();
    let rows = bitmaps.first().map_or(0, Vec::len);
    let entered = bitmaps[0][t0].difference(seen);
    let mut reach: Vec<Bitmap> = vec![Bitmap::new(); k];
    if entered.is_empty() {
        return reach;
    }
    let end = (t0 + window - 1).min(rows - 1);
    reach[0] = entered;
    // `t` indexes periods across every step's series (bitmaps[s][t]), not one slice.
    #[allow(clippy::needless_range_loop)]
    for t in t0..=end {
        if strict {
            // Descending, so that reach[s - 1] is still the previous period's; nothing
            // reaches step 2 in the entry period itself.
            if t == t0 {
                continue;
            }
            for s in (1..k).rev() {
                if reach[s - 1].is_empty() {
                    continue;
                }
                let step = reach[s - 1].and(&bitmaps[s][t]);
                reach[s].or_assign(&step);
            }
        } else {
            for s in 1..k {
                if reach[s - 1].is_empty() {
                    break;
                }
                let step = reach[s - 1].and(&bitmaps[s][t]);
                reach[s].or_assign(&step);
            }
        }
    }
    reach
}

/// What a funnel reads: its spec, row periods and the step bitmaps `bitmaps[s][t]` (the
/// first step's filtered by the spec's segments, the later steps' restricted to the
/// filtered entrants).
pub(crate) struct FunnelFetched {
    spec: FunnelSpec,
    periods: Vec<Period>,
    bitmaps: Vec<Vec<Bitmap>>,
    /// Every filtered user of the first step in some row.
    entrants: Bitmap,
    /// Per row: whether the retention policy pruned its entry period.
    pruned: Vec<bool>,
}

impl FunnelFetched {
    /// Every row's reach ([`row_reach`]) for every filtered user, oldest row first.
    pub(crate) fn reaches(&self) -> Vec<Vec<Bitmap>> {
        let spec = &self.spec;
        let mut seen = Bitmap::new();
        (0..self.periods.len())
            .map(|t0| {
                let reach = row_reach(&self.bitmaps, t0, &seen, spec.window, spec.strict);
                seen.or_assign(&self.bitmaps[0][t0]);
                reach
            })
            .collect()
    }

    /// The funnel's counts under `mask` (a breakdown value; `None`: every filtered user)
    /// from the rows' `reaches`. A user's progress depends on their own marks only, so the
    /// reach of a value's users is everyone's reach ANDed with them: each count is an
    /// intersection count, and nothing is computed again per value.
    pub(crate) fn funnel(&self, reaches: &[Vec<Bitmap>], mask: Option<&Members>) -> Funnel {
        let counts = reaches
            .iter()
            .map(|reach| reach.iter().map(|b| masked_count(b, mask)).collect())
            .collect();
        Funnel::from_counts(&self.spec, &self.periods, &self.pruned, counts)
    }

    /// The users the funnel counts in `row` at `step` (0-based: 0 = the row's entrants).
    pub(crate) fn step_users(&self, row: usize, step: usize) -> Result<Bitmap> {
        let rows = self.periods.len();
        if row >= rows {
            return Err(Error::invalid_arg(
                Argument::Rows,
                format!("row {row} is not in 0..{rows}"),
            ));
        }
        let k = self.spec.steps.len();
        if step >= k {
            return Err(Error::invalid_arg(
                Argument::Steps,
                format!("step {step} is not in 0..{k}"),
            ));
        }
        let mut seen = Bitmap::new();
        for b in &self.bitmaps[0][..row] {
            seen.or_assign(b);
        }
        let mut reach = row_reach(
            &self.bitmaps,
            row,
            &seen,
            self.spec.window,
            self.spec.strict,
        );
        Ok(reach.swap_remove(step))
    }
}

impl Funnel {
    fn from_counts(
        spec: &FunnelSpec,
        periods: &[Period],
        pruned: &[bool],
        counts: Vec<Vec<u64>>,
    ) -> Funnel {
        let k = spec.steps.len();
        let n = periods.len();
        let mut totals = vec![0u64; k];
        for row in &counts {
            for (t, c) in totals.iter_mut().zip(row) {
                *t += c;
            }
        }
        let conversion = totals
            .iter()
            .map(|&t| (totals[0] > 0).then(|| t as f64 / totals[0] as f64))
            .collect();
        let rows = periods
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(i, (p, counts))| FunnelRow {
                period: p.label(),
                start: start_string(p),
                counts,
                complete: i + spec.window < n,
                pruned: pruned.get(i).copied().unwrap_or(false),
            })
            .collect();
        Funnel {
            steps: spec.steps.clone(),
            time_group: spec.time_group,
            window: spec.window,
            strict: spec.strict,
            rows,
            totals,
            conversion,
        }
    }
}

impl Bitmapist {
    /// Computes a funnel; see [`FunnelSpec`](crate::FunnelSpec) for the definitions and the
    /// bounds.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, FunnelSpec};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// for uid in 0..10 { bm.mark_event("visit", uid).at(day0).await?; }
    /// for uid in 0..6 { bm.mark_event("signup", uid).at(day0).await?; }
    /// for uid in 0..3 { bm.mark_event("signup", uid + 6).at(day0 + Duration::days(1)).await?; }
    ///
    /// let spec = FunnelSpec::new(["visit", "signup"]).rows(3).window(2).now(day0 + Duration::days(2));
    /// let lenient = bm.funnel(&spec).await?;
    /// assert_eq!(lenient.totals, vec![10, 9]);
    /// let strict = bm.funnel(&spec.clone().strict(true)).await?;
    /// assert_eq!(strict.totals, vec![10, 3]);
    /// assert_eq!(strict.conversion[1], Some(0.3));
    /// # Ok(()) }
    /// ```
    pub async fn funnel(&self, spec: &FunnelSpec) -> Result<Funnel> {
        let _timer = self.time(crate::telemetry::QueryKind::Funnel);
        let fetched = self.funnel_fetch(spec).await?;
        Ok(fetched.funnel(&fetched.reaches(), None))
    }

    /// A funnel per value of `breakdown` (masking the entrants), then for the users in
    /// none; every value's funnel is counted in the rows' reach, computed once on one fetch.
    pub async fn funnel_by(
        &self,
        spec: &FunnelSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Funnel>> {
        let _timer = self.time(crate::telemetry::QueryKind::Funnel);
        let fetched = self.funnel_fetch(spec).await?;
        let values = self
            .breakdown_values(breakdown, spec.now, Some(&fetched.entrants))
            .await?;
        let reaches = fetched.reaches();
        per_value(breakdown, None, values, |mask| {
            Ok(fetched.funnel(&reaches, mask))
        })
    }

    /// Everything a funnel reads, in two batches (see [`FunnelSpec`]).
    pub(crate) async fn funnel_fetch(&self, spec: &FunnelSpec) -> Result<FunnelFetched> {
        spec.validate()?;
        let periods = spec.periods_in(self.timezone())?;
        let layout = self.layout();
        // The first step's bitmaps whole; the later steps' restricted to the users who did
        // the first step in some row (nobody else can enter, so nobody else is counted).
        let keys_of = |steps: &[String], seen: &mut HashSet<String>| -> Vec<String> {
            let mut keys = Vec::new();
            for step in steps {
                for p in &periods {
                    for key in layout.keys(step, p) {
                        if seen.insert(key.clone()) {
                            keys.push(key);
                        }
                    }
                }
            }
            keys
        };
        let mut seen = HashSet::new();
        let first_keys = keys_of(&spec.steps[..1], &mut seen);
        let got = self.store().get(&first_keys).await?;
        let mut fetched: HashMap<String, Bitmap> = first_keys
            .into_iter()
            .zip(got)
            .filter_map(|(k, b)| b.map(|b| (k, b)))
            .collect();
        let period_users = |fetched: &HashMap<String, Bitmap>, step: &str, p: &Period| {
            let mut all = Bitmap::new();
            for key in layout.keys(step, p) {
                if let Some(b) = fetched.get(&key) {
                    all.or_assign(b);
                }
            }
            all
        };
        let mut first: Vec<Bitmap> = periods
            .iter()
            .map(|p| period_users(&fetched, &spec.steps[0], p))
            .collect();
        let mut entrants = Bitmap::new();
        for b in &first {
            entrants.or_assign(b);
        }
        if !spec.segments.is_empty() {
            let filter = self
                .segment_filter(&spec.segments, spec.now, Some(&entrants))
                .await?;
            first = first
                .into_iter()
                .map(|b| filtered(b, filter.as_ref()))
                .collect();
            entrants = filtered(entrants, filter.as_ref());
        }
        if !entrants.is_empty() {
            let later_keys = keys_of(&spec.steps[1..], &mut seen);
            let got = self.store().get_within(&later_keys, &entrants).await?;
            fetched.extend(
                later_keys
                    .into_iter()
                    .zip(got)
                    .filter_map(|(k, b)| b.map(|b| (k, b))),
            );
        }
        let mut bitmaps: Vec<Vec<Bitmap>> = vec![first];
        for step in &spec.steps[1..] {
            bitmaps.push(
                periods
                    .iter()
                    .map(|p| period_users(&fetched, step, p))
                    .collect(),
            );
        }
        let horizon = self.pruned_horizon().await?;
        let pruned = periods.iter().map(|p| horizon.is_pruned(p)).collect();
        Ok(FunnelFetched {
            spec: spec.clone(),
            periods,
            bitmaps,
            entrants,
            pruned,
        })
    }
}
