//! Counting many events over many periods in one batch: the table behind the dashboard's
//! overview and the CLI's `events`, one store round trip per kind of period.

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::error::Result;
use crate::period::Period;
use crate::segment::{
    Breakdown, BreakdownValue, BrokenDown, Members, disjoint, masked_count, per_value,
};

use chrono::{DateTime, Utc};

impl Bitmapist {
    /// How many users each event has in each period: `table[e][p]` for `events[e]` and
    /// `periods[p]`. Periods with a key of their own are counted by the store in one batch
    /// (`BITCOUNT`s in one pipeline on Redis); a year is the union of its twelve months,
    /// fetched in one more batch.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, Period, TimeGroup};
    /// use chrono::{TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let jan = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    /// let feb = Utc.with_ymd_and_hms(2026, 2, 5, 9, 0, 0).unwrap();
    /// bm.mark_event("a", 1).at(jan).await?;
    /// bm.mark_event("a", 2).at(feb).await?;
    /// bm.mark_event("b", 1).at(feb).await?;
    ///
    /// let periods = [Period::month(2026, 1)?, Period::month(2026, 2)?, Period::year(2026)?];
    /// let table = bm.count_events(&["a", "b"], &periods).await?;
    /// assert_eq!(table, vec![vec![1, 1, 2], vec![0, 1, 1]]);
    /// # Ok(()) }
    /// ```
    pub async fn count_events<E: AsRef<str>>(
        &self,
        events: &[E],
        periods: &[Period],
    ) -> Result<Vec<Vec<u64>>> {
        let _timer = self.time(crate::telemetry::QueryKind::Count);
        let layout = self.layout();
        let mut count_keys = Vec::new();
        let mut month_keys = Vec::new();
        for event in events {
            let event = event.as_ref();
            check_event(event)?;
            for period in periods {
                match period.months() {
                    None => count_keys.push(layout.key(event, period)),
                    Some(months) => month_keys.extend(months.iter().map(|m| layout.key(event, m))),
                }
            }
        }
        let counts = if count_keys.is_empty() {
            Vec::new()
        } else {
            self.store().count(&count_keys).await?
        };
        let months = if month_keys.is_empty() {
            Vec::new()
        } else {
            self.store().get(&month_keys).await?
        };
        let mut counts = counts.into_iter();
        let mut months = months.into_iter();
        Ok(events
            .iter()
            .map(|_| {
                periods
                    .iter()
                    .map(|period| match period.months() {
                        None => counts.next().unwrap_or(0),
                        Some(_) => {
                            let mut year = Bitmap::new();
                            for month in months.by_ref().take(12).flatten() {
                                year.or_assign(&month);
                            }
                            year.count()
                        }
                    })
                    .collect()
            })
            .collect())
    }
}

/// Counts to take: events by periods, restricted to segments.
///
/// ```
/// use bitmapist::{Bitmapist, CountSpec, Period};
/// use chrono::{TimeZone, Utc};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// let t = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
/// for uid in 1..=3 { bm.mark_event("a", uid).at(t).await?; }
/// bm.set_property("plan", "pro", 2).await?;
///
/// let spec = CountSpec::new(["a"], [Period::month(2026, 1)?]).segment("plan:pro");
/// assert_eq!(bm.count(&spec).await?, vec![vec![1]]);
/// let by = bm.count_by(&spec.clone().segments(vec![]), &"plan".parse()?).await?;
/// assert_eq!(by.get(Some("pro")), Some(&vec![vec![1]]));
/// assert_eq!(by.get(None), Some(&vec![vec![2]]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CountSpec {
    /// The events (rows).
    pub events: Vec<String>,
    /// The periods (columns).
    pub periods: Vec<Period>,
    /// Segments the counted users must all be in (default none: everyone).
    pub segments: Vec<String>,
    /// When the segments are evaluated (default: now).
    pub now: DateTime<Utc>,
}

impl CountSpec {
    /// Every user of each event in each period, segments evaluated now.
    pub fn new<E, S, P>(events: E, periods: P) -> Self
    where
        E: IntoIterator<Item = S>,
        S: Into<String>,
        P: IntoIterator<Item = Period>,
    {
        CountSpec {
            events: events.into_iter().map(Into::into).collect(),
            periods: periods.into_iter().collect(),
            segments: Vec::new(),
            now: Utc::now(),
        }
    }

    /// Restricts the users to segment `name` (repeatable: all of them).
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }

    /// Sets the segments.
    pub fn segments(mut self, names: Vec<String>) -> Self {
        self.segments = names;
        self
    }

    /// Evaluates the segments as of `now`.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }
}

/// What counting reads: each cell's users (a year: the union of its months).
pub(crate) struct CountFetched {
    cells: Vec<Vec<Bitmap>>,
}

impl CountFetched {
    /// `table[e][p]` under `mask`.
    pub(crate) fn table(&self, mask: Option<&Members>) -> Vec<Vec<u64>> {
        self.cells
            .iter()
            .map(|row| row.iter().map(|b| masked_count(b, mask)).collect())
            .collect()
    }
}

impl Bitmapist {
    /// How many users of each segment-filtered event each period has: `table[e][p]`, as
    /// [`Bitmapist::count_events`] (which it is, without segments).
    pub async fn count(&self, spec: &CountSpec) -> Result<Vec<Vec<u64>>> {
        if spec.segments.is_empty() {
            return self.count_events(&spec.events, &spec.periods).await;
        }
        let fetched = self.count_fetch(spec).await?;
        let filter = self.segment_filter(&spec.segments, spec.now, None).await?;
        Ok(fetched.table(filter.as_ref()))
    }

    /// The counts per value of `breakdown`, then for the users in none; one fetch.
    ///
    /// Each cell's bitmap and each value's bitmap is read and decoded once for the whole
    /// table; a value's count is an intersection count (no AND is materialised). When the
    /// values are disjoint (as [`Bitmapist::set_property`] keeps a property's values, checked
    /// exactly: their sizes add up to their union's), "none" is the cell's count minus the
    /// values' counts; otherwise (raw `mark_unique("plan:x")` marks can put a user under two
    /// values, segments may overlap) it is counted against the union of the values.
    pub async fn count_by(
        &self,
        spec: &CountSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Vec<Vec<u64>>>> {
        let fetched = self.count_fetch(spec).await?;
        let filter = self.segment_filter(&spec.segments, spec.now, None).await?;
        let mut values = self.breakdown_values(breakdown, spec.now, None).await?;
        if !disjoint(&values) {
            return per_value(breakdown, filter.as_ref(), values, |mask| {
                Ok(fetched.table(mask))
            });
        }
        values.pop();
        let mut by = per_value(breakdown, filter.as_ref(), values, |mask| {
            Ok(fetched.table(mask))
        })?;
        let mut none = fetched.table(filter.as_ref());
        for v in &by.values {
            for (row, counted) in none.iter_mut().zip(&v.result) {
                for (cell, n) in row.iter_mut().zip(counted) {
                    *cell = cell.saturating_sub(*n);
                }
            }
        }
        by.values.push(BreakdownValue {
            value: None,
            result: none,
        });
        Ok(by)
    }

    /// The counts of `spec` computed from the cells' decoded bitmaps, as a filtered or
    /// broken-down count reads them (the same numbers as [`Bitmapist::count`], which takes
    /// unfiltered counts from the store's stored sizes without decoding): the baseline a
    /// breakdown's cost is measured against.
    #[doc(hidden)]
    pub async fn count_decoded(&self, spec: &CountSpec) -> Result<Vec<Vec<u64>>> {
        let fetched = self.count_fetch(spec).await?;
        let filter = self.segment_filter(&spec.segments, spec.now, None).await?;
        Ok(fetched.table(filter.as_ref()))
    }

    /// Every cell's bitmap, in one batch.
    async fn count_fetch(&self, spec: &CountSpec) -> Result<CountFetched> {
        let layout = self.layout();
        let mut keys = Vec::new();
        for event in &spec.events {
            check_event(event)?;
            for period in &spec.periods {
                keys.extend(layout.keys(event, period));
            }
        }
        let mut got = self.store().get(&keys).await?.into_iter();
        let cells = spec
            .events
            .iter()
            .map(|event| {
                spec.periods
                    .iter()
                    .map(|period| {
                        let n = layout.keys(event, period).len();
                        let mut all = Bitmap::new();
                        for b in got.by_ref().take(n).flatten() {
                            all.or_assign(&b);
                        }
                        all
                    })
                    .collect()
            })
            .collect();
        Ok(CountFetched { cells })
    }
}
