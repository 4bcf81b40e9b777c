//! Trends: an event's daily, weekly and monthly actives on every day of a range, as rolling
//! windows over day bitmaps, with the DAU/MAU ratio and the previous range beside it.
//!
//! **Why.** A week or month key counts calendar periods; "weekly actives" on a chart means
//! the users of the last 7 days, on every day. Only the union of day bitmaps gives that
//! exactly (a sum of daily counts counts a user once per day).
//!
//! **How.** In two phases, so that a breakdown reads the data once:
//! [`fetch`](Bitmapist::trends_fetch) reads the day bitmaps of the range plus the 29 days
//! before it (twice the range with `compare`), in one batch, then the spec's segments
//! restricted to those days' users, and ANDs every day with them;
//! [`compute`](TrendsData::compute) masks the days with a breakdown value and counts each
//! window. A 30-day window on
//! each of `n` days would be `30 n` unions; instead the days are cut into blocks of the
//! window's length, and a window `[s, e]` is the union of a suffix of `s`'s block and a
//! prefix of `e`'s block (or one whole block): per day one OR into a running prefix plus
//! one union count, and one block of suffix unions per `w` days. Memory: one block of
//! suffixes (30 bitmaps) at a time.
//!
//! **Invariants.** `dau ≤ wau ≤ mau` on every day; windows reaching before the first
//! stored day count those days as empty; the last day is the day containing `now`, counted
//! so far.
//!
//! **What a crash can lose.** Nothing: this module only reads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::cohort::MAX_COHORT_SIZE;
use crate::error::{Argument, Error, Result};
use crate::period::{Period, TimeGroup};
use crate::segment::{Breakdown, BrokenDown, Members, filtered, per_value};

/// The weekly window, in days.
const WEEK: usize = 7;
/// The monthly window, in days.
const MONTH: usize = 30;

/// What to compute: the event, how many days, whether to add the previous range, when.
///
/// ```
/// use bitmapist::TrendsSpec;
/// let spec = TrendsSpec::new("user:active").days(90).compare(true);
/// assert_eq!((spec.days, spec.compare), (90, true));
/// ```
///
/// # Definitions
///
/// For day bitmaps `D_t` of the event (days on the handle's time zone), on each day `t` of
/// the range (the last one contains `now`):
/// `dau_t = |D_t|`, `wau_t = |D_{t-6} ∨ ... ∨ D_t|`, `mau_t = |D_{t-29} ∨ ... ∨ D_t|`,
/// `dau_mau_t = dau_t / mau_t` (`None` when `mau_t = 0`). With `compare`, `previous` is the
/// same series for the `days` days before the range (day `i` of `previous` is `days` days
/// before day `i` of `rows`). Segments restrict the users: every `D_t` is ANDed with them,
/// evaluated at `now`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendsSpec {
    /// The event.
    pub event: String,
    /// How many days, the last one containing `now` (default 30, at most 400).
    pub days: usize,
    /// Whether to compute the previous range too.
    #[serde(default)]
    pub compare: bool,
    /// The moment the trends are computed at (default: now).
    pub now: DateTime<Utc>,
    /// Segments the counted users must all be in (default none: everyone).
    #[serde(default)]
    pub segments: Vec<String>,
}

impl TrendsSpec {
    /// The last 30 days of `event`, without comparison, as of now.
    pub fn new(event: impl Into<String>) -> Self {
        TrendsSpec {
            event: event.into(),
            days: 30,
            compare: false,
            now: Utc::now(),
            segments: Vec::new(),
        }
    }

    /// Sets the number of days.
    pub fn days(mut self, days: usize) -> Self {
        self.days = days;
        self
    }

    /// Adds (or not) the previous range.
    pub fn compare(mut self, on: bool) -> Self {
        self.compare = on;
        self
    }

    /// Computes the trends as of `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Restricts the users to segment `name` (repeatable: all of them).
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }

    /// Checks the spec: a valid event name, 1..=400 days.
    pub fn validate(&self) -> Result<()> {
        check_event(&self.event)?;
        if !(1..=MAX_COHORT_SIZE).contains(&self.days) {
            return Err(Error::invalid_arg(
                Argument::Days,
                format!("{} is not in 1..={MAX_COHORT_SIZE}", self.days),
            ));
        }
        Ok(())
    }
}

/// One day of a trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendsDay {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Users active that day.
    pub dau: u64,
    /// Users active in the 7 days ending that day.
    pub wau: u64,
    /// Users active in the 30 days ending that day.
    pub mau: u64,
    /// `dau / mau`; `None` when `mau` is 0.
    pub dau_mau: Option<f64>,
    /// The measures (`dau`, `wau`, `mau`) whose window reaches a day the store's retention
    /// policy pruned: their counts miss the pruned days' users, so a reader shows them as
    /// pruned, not as numbers. Empty (and left out of the JSON) when nothing was pruned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
}

/// Computed trends; see [`TrendsSpec`] for the definitions.
///
/// Serializes as `{"event", "days": [{"day", "dau", "wau", "mau", "dau_mau"}],
/// "previous": null | [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    /// The event.
    pub event: String,
    /// One entry per day of the range, oldest first.
    pub days: Vec<TrendsDay>,
    /// With `compare`: the range before, day by day (same length as `days`).
    pub previous: Option<Vec<TrendsDay>>,
}

/// What trends read, fetched once: the phase a filter or breakdown computes on.
#[derive(Clone, Debug)]
pub(crate) struct TrendsData {
    spec: TrendsSpec,
    /// Every day read, oldest first: `MONTH - 1` lead-in days, then the previous range
    /// (with `compare`), then the range.
    days: Vec<Period>,
    bitmaps: Vec<Bitmap>,
    /// The index in `days` of the first day the retention policy kept (0: none pruned).
    kept_from: usize,
}

/// `counts[i]` = the size of the union of the `w` bitmaps ending at `first_end + i`
/// (`first_end ≥ w - 1`), by blocks of `w` (see the module docs).
fn rolling_counts(days: &[Bitmap], w: usize, first_end: usize) -> Vec<u64> {
    debug_assert!(w >= 1 && first_end + 1 >= w);
    let mut out = Vec::with_capacity(days.len().saturating_sub(first_end));
    let mut prefix = Bitmap::new();
    let mut prefix_block = usize::MAX;
    let mut suffix: Vec<Bitmap> = Vec::new();
    let mut suffix_block = usize::MAX;
    for e in first_end..days.len() {
        let s = e + 1 - w;
        let be = e / w;
        if be != prefix_block {
            prefix = Bitmap::new();
            for d in &days[be * w..=e] {
                prefix.or_assign(d);
            }
            prefix_block = be;
        } else {
            prefix.or_assign(&days[e]);
        }
        if s.is_multiple_of(w) {
            // The window is exactly `e`'s block so far: `s` is its first day.
            out.push(prefix.count());
            continue;
        }
        let bs = s / w;
        if bs != suffix_block {
            // suffix[j] = union of days[bs*w + j ..= bs*w + w - 1] (the whole block is in
            // the past of `e`, as `e` is in the next block).
            suffix = vec![Bitmap::new(); w];
            let mut acc = Bitmap::new();
            for j in (0..w).rev() {
                acc.or_assign(&days[bs * w + j]);
                suffix[j] = acc.clone();
            }
            suffix_block = bs;
        }
        out.push(suffix[s - bs * w].bits().union_len(prefix.bits()));
    }
    out
}

impl TrendsData {
    /// Every user active on some day read.
    fn users(&self) -> Bitmap {
        let mut all = Bitmap::new();
        for b in &self.bitmaps {
            all.or_assign(b);
        }
        all
    }

    /// The trends of the users in `mask` (a breakdown value; `None`: every filtered user).
    pub(crate) fn compute(&self, mask: Option<&Members>) -> Trends {
        let masked: Vec<Bitmap>;
        let days: &[Bitmap] = match mask {
            Some(m) => {
                masked = self.bitmaps.iter().map(|b| m.apply(b)).collect();
                &masked
            }
            None => &self.bitmaps,
        };
        let first = MONTH - 1;
        let dau: Vec<u64> = days[first..].iter().map(Bitmap::count).collect();
        let wau = rolling_counts(days, WEEK, first);
        let mau = rolling_counts(days, MONTH, first);
        let mut series: Vec<TrendsDay> = self.days[first..]
            .iter()
            .enumerate()
            .map(|(i, p)| TrendsDay {
                day: p
                    .start()
                    .map(|s| s.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                dau: dau[i],
                wau: wau[i],
                mau: mau[i],
                dau_mau: (mau[i] > 0).then(|| dau[i] as f64 / mau[i] as f64),
                pruned: [("dau", 1), ("wau", WEEK), ("mau", MONTH)]
                    .into_iter()
                    .filter(|&(_, w)| first + i + 1 < self.kept_from + w)
                    .map(|(name, _)| name.to_string())
                    .collect(),
            })
            .collect();
        let previous = self.spec.compare.then(|| {
            let rest = series.split_off(self.spec.days);
            std::mem::replace(&mut series, rest)
        });
        Trends {
            event: self.spec.event.clone(),
            days: series,
            previous,
        }
    }
}

impl Bitmapist {
    /// Rolling daily, weekly and monthly actives of an event; see
    /// [`TrendsSpec`](crate::TrendsSpec) for the definitions.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, TrendsSpec};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let day0 = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    /// bm.mark_event("active", 1).at(day0).await?;
    /// bm.mark_event("active", 2).at(day0 + Duration::days(3)).await?;
    /// bm.mark_event("active", 1).at(day0 + Duration::days(9)).await?;
    ///
    /// let t = bm.trends(&TrendsSpec::new("active").days(10).now(day0 + Duration::days(9))).await?;
    /// let last = &t.days[9];
    /// assert_eq!((last.dau, last.wau, last.mau), (1, 2, 2));
    /// assert_eq!(last.dau_mau, Some(0.5));
    /// # Ok(()) }
    /// ```
    pub async fn trends(&self, spec: &TrendsSpec) -> Result<Trends> {
        let _timer = self.time(crate::telemetry::QueryKind::Trends);
        Ok(self.trends_fetch(spec).await?.compute(None))
    }

    /// Trends per value of `breakdown`, then for the users in none; one fetch (the values'
    /// users are read restricted to the days' users).
    pub async fn trends_by(
        &self,
        spec: &TrendsSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Trends>> {
        let _timer = self.time(crate::telemetry::QueryKind::Trends);
        let fetched = self.trends_fetch(spec).await?;
        let users = fetched.users();
        let values = self
            .breakdown_values(breakdown, spec.now, Some(&users))
            .await?;
        per_value(breakdown, None, values, |mask| Ok(fetched.compute(mask)))
    }

    /// The fetch phase of [`Bitmapist::trends`]: every day bitmap it reads, in one batch,
    /// then the segments' users restricted to the days' users.
    pub(crate) async fn trends_fetch(&self, spec: &TrendsSpec) -> Result<TrendsData> {
        spec.validate()?;
        let ranges = if spec.compare { 2 } else { 1 };
        let total = spec.days * ranges + MONTH - 1;
        let days = self
            .timezone()
            .periods_up_to(TimeGroup::Days, spec.now, total)?;
        let layout = self.layout();
        let keys: Vec<String> = days.iter().map(|d| layout.key(&spec.event, d)).collect();
        let bitmaps = self
            .store()
            .get(&keys)
            .await?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        // Days before the recorded horizon were deleted by a retention policy.
        let kept_from = match self.pruned_horizon().await?.get(TimeGroup::Days) {
            Some(oldest) => days
                .iter()
                .take_while(|d| d.start() < oldest.start())
                .count(),
            None => 0,
        };
        let mut data = TrendsData {
            spec: spec.clone(),
            days,
            bitmaps,
            kept_from,
        };
        if !spec.segments.is_empty() {
            let users = data.users();
            let filter = self
                .segment_filter(&spec.segments, spec.now, Some(&users))
                .await?;
            let f = filter.as_ref();
            data.bitmaps = data.bitmaps.into_iter().map(|b| filtered(b, f)).collect();
        }
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block decomposition against the plain union of every window.
    #[test]
    fn rolling_counts_match_plain_unions() {
        let days: Vec<Bitmap> = (0..75u32)
            .map(|d| {
                (0..40u32)
                    .filter(|u| (u * 7 + d * 3) % 11 < 2 + d % 3)
                    .collect()
            })
            .collect();
        for w in [1, 2, 7, 30] {
            for first_end in [w - 1, 29, 40] {
                let got = rolling_counts(&days, w, first_end);
                let want: Vec<u64> = (first_end..days.len())
                    .map(|e| {
                        let mut u = Bitmap::new();
                        for d in &days[e + 1 - w..=e] {
                            u.or_assign(d);
                        }
                        u.count()
                    })
                    .collect();
                assert_eq!(got, want, "window {w} from {first_end}");
            }
        }
    }
}
