//! Counting many events over many periods in one batch: the table behind the dashboard's
//! overview and the CLI's `events`, one store round trip per kind of period.
//!
//! Counts by a property's values read every cell and value bitmap once, counted container by
//! container ([`CellCount`]), and keep each cell's counts with the versions of what they
//! came from ([`kept`](crate::kept)): a page of past cells is read once, then only the
//! cells that change (today's, this week's, this month's and this year's) and every cell
//! after a value's users change. What a crash can lose: only kept counts, which are
//! counted again.

use std::ops::Range;

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::containers::{ContainerCount, ZERO, and_count, count_stored, count_words, vectorized};
use crate::error::Result;
use crate::kept;
use crate::period::Period;
use crate::segment::{Breakdown, BreakdownValue, BrokenDown, Members, disjoint, masked_count};
use crate::store::DenseContainer;

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

    /// `table[e][p]` under each of `masks`, cell by cell: each cell's bitmap is intersected
    /// with every mask while it is in cache, instead of streaming every cell once per mask.
    pub(crate) fn tables(&self, masks: &[Members]) -> Vec<Vec<Vec<u64>>> {
        let mut out: Vec<Vec<Vec<u64>>> = masks
            .iter()
            .map(|_| self.cells.iter().map(|r| vec![0; r.len()]).collect())
            .collect();
        for (e, row) in self.cells.iter().enumerate() {
            for (p, cell) in row.iter().enumerate() {
                for (table, mask) in out.iter_mut().zip(masks) {
                    table[e][p] = mask.count_in(cell);
                }
            }
        }
        out
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
    /// Each cell's bitmap and each value's bitmap is read once for the whole table. By a
    /// property without segments, they are counted container by container from the store's
    /// serializations, a span of containers at a time: nothing is decoded, and "none" is the
    /// cell minus the values' union. Otherwise they are decoded, and a value's count is an
    /// intersection count (no AND is materialised). When the values are disjoint (as
    /// [`Bitmapist::set_property`] keeps a property's values, checked exactly: their sizes
    /// add up to their union's), "none" is the cell's count minus the values' counts;
    /// otherwise (segments may overlap) it is counted against the union of the values.
    pub async fn count_by(
        &self,
        spec: &CountSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Vec<Vec<u64>>>> {
        if let (Breakdown::Property(prop), true) = (breakdown, spec.segments.is_empty()) {
            return self.count_by_property(spec, breakdown, prop).await;
        }
        let fetched = self.count_fetch(spec).await?;
        let filter = self.segment_filter(&spec.segments, spec.now, None).await?;
        let mut values = self.breakdown_values(breakdown, spec.now, None).await?;
        let none_by_difference = disjoint(&values);
        if none_by_difference {
            values.pop();
        }
        let masks: Vec<Members> = values
            .iter()
            .map(|(_, m)| match &filter {
                None => m.clone(),
                Some(f) => f.and(m),
            })
            .collect();
        let tables = fetched.tables(&masks);
        let mut out: Vec<BreakdownValue<Vec<Vec<u64>>>> = values
            .into_iter()
            .zip(tables)
            .map(|((value, _), result)| BreakdownValue { value, result })
            .collect();
        if none_by_difference {
            let mut none = fetched.table(filter.as_ref());
            for v in &out {
                for (row, counted) in none.iter_mut().zip(&v.result) {
                    for (cell, n) in row.iter_mut().zip(counted) {
                        *cell = cell.saturating_sub(*n);
                    }
                }
            }
            out.push(BreakdownValue {
                value: None,
                result: none,
            });
        }
        Ok(BrokenDown {
            breakdown: breakdown.to_string(),
            values: out,
        })
    }

    /// [`Bitmapist::count_by`] of an unfiltered spec by a property: the cells and the
    /// property's values read as the store serializes them, a span of containers at a time,
    /// and counted container by container ([`CellCount`]); nothing is decoded.
    /// Each cell's counts are kept ([`kept`](crate::kept)) under its keys, the breakdown and
    /// the values listed, with the versions of the cell's keys and of the values' keys; a
    /// cell whose versions are the current ones is not read again.
    async fn count_by_property(
        &self,
        spec: &CountSpec,
        breakdown: &Breakdown,
        prop: &str,
    ) -> Result<BrokenDown<Vec<Vec<u64>>>> {
        let (names, value_keys) = self.breakdown_property(prop).await?;
        let (layout, store) = (self.layout(), self.store().as_ref());
        let mut cell_keys: Vec<Vec<String>> = Vec::new();
        for event in &spec.events {
            check_event(event)?;
            for period in &spec.periods {
                cell_keys.push(layout.keys(event, period));
            }
        }
        // Per cell: its users, its users of each value, its users of some value.
        let per = names.len() + 2;
        let listed = names.join("\u{1f}");
        let kept_names: Vec<String> = cell_keys
            .iter()
            .map(|keys| {
                let what = format!("count\u{1f}{breakdown}\u{1f}{listed}");
                kept::name(&keys.join("\u{1f}"), &what)
            })
            .collect();
        let all: Vec<String> = cell_keys
            .iter()
            .flatten()
            .chain(&value_keys)
            .cloned()
            .collect();
        let now = store.versions(&all).await?;
        let held = if now.iter().any(Option::is_some) {
            store.get_derived(&kept_names).await?
        } else {
            vec![None; cell_keys.len()]
        };
        let values_now = &now[all.len() - value_keys.len()..];
        let mut sums = vec![0u64; cell_keys.len() * per];
        let mut missing = Vec::new();
        let mut at = 0;
        for (c, keys) in cell_keys.iter().enumerate() {
            let inputs: Vec<Option<u64>> = now[at..at + keys.len()]
                .iter()
                .chain(values_now)
                .copied()
                .collect();
            at += keys.len();
            match held[c]
                .as_deref()
                .and_then(|b| kept::decode(b, &inputs, per))
            {
                Some(counts) => sums[c * per..][..per].copy_from_slice(&counts),
                None => missing.push(c),
            }
        }
        if !missing.is_empty() {
            let mut keys = Vec::new();
            let mut cells = Vec::new();
            for &c in &missing {
                cells.push(keys.len()..keys.len() + cell_keys[c].len());
                keys.extend(cell_keys[c].iter().cloned());
            }
            let values = keys.len()..keys.len() + value_keys.len();
            keys.extend(value_keys.iter().cloned());
            let count = CellCount { cells, values };
            let counted = count_stored("a cell of a count", store, &keys, &count).await?;
            let mut got = vec![0u64; missing.len() * per];
            for state in counted.states {
                got.iter_mut().zip(state.counts).for_each(|(a, b)| *a += b);
            }
            // Kept with the versions of exactly what the walk read.
            let values_read = &counted.versions[count.values.clone()];
            let mut keep = Vec::new();
            for ((&c, cell), counts) in missing.iter().zip(&count.cells).zip(got.chunks(per)) {
                sums[c * per..][..per].copy_from_slice(counts);
                let inputs: Vec<Option<u64>> = counted.versions[cell.clone()]
                    .iter()
                    .chain(values_read)
                    .copied()
                    .collect();
                if let Some(bytes) = kept::encode(&inputs, counts) {
                    keep.push((kept_names[c].clone(), bytes));
                }
            }
            if !keep.is_empty()
                && let Err(e) = store.put_derived(&keep).await
            {
                // Kept counts are a cache: the answer stands without them.
                tracing::warn!(error = %e, "counts: keeping cell counts failed");
            }
        }
        let columns = spec.periods.len();
        let table = |column: &dyn Fn(&[u64]) -> u64| -> Vec<Vec<u64>> {
            (0..spec.events.len())
                .map(|e| {
                    (0..columns)
                        .map(|p| column(&sums[(e * columns + p) * per..][..per]))
                        .collect()
                })
                .collect()
        };
        let mut out: Vec<BreakdownValue<Vec<Vec<u64>>>> = names
            .into_iter()
            .enumerate()
            .map(|(v, name)| BreakdownValue {
                value: Some(name),
                result: table(&|c| c[1 + v]),
            })
            .collect();
        out.push(BreakdownValue {
            value: None,
            result: table(&|c| c[0].saturating_sub(c[per - 1])),
        });
        Ok(BrokenDown {
            breakdown: breakdown.to_string(),
            values: out,
        })
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

/// Counts, container key by container key, each cell's users (a cell is the union of its
/// keys' bitmaps: a year is its months), its users of each value of a property, and its
/// users of some value (for "none", which is the rest, whether or not the values overlap).
/// The word loops run vectorized (`containers::vectorized!`).
struct CellCount {
    /// Each cell's bitmaps among the walk's, in order.
    cells: Vec<Range<usize>>,
    /// The values' bitmaps among the walk's.
    values: Range<usize>,
}

/// A thread's counts (per cell: its users, then per value, then of some value) and scratch
/// words for a cell's union and the values' union.
struct CellCounts {
    counts: Vec<u64>,
    cell: Box<DenseContainer>,
    any: Box<DenseContainer>,
}

impl ContainerCount for CellCount {
    type State = CellCounts;

    fn init(&self) -> CellCounts {
        CellCounts {
            counts: vec![0; self.cells.len() * (self.values.len() + 2)],
            cell: Box::new(ZERO),
            any: Box::new(ZERO),
        }
    }

    fn add(&self, state: &mut CellCounts, _: u16, days: &[DenseContainer], present: &[bool]) {
        vectorized!(self.add_words(state, days, present));
    }
}

impl CellCount {
    /// Counts one key's containers; a cell or a value without a container at the key adds
    /// nothing and is skipped (most cells of rare events, every future hour).
    #[inline(always)]
    fn add_words(&self, state: &mut CellCounts, bitmaps: &[DenseContainer], present: &[bool]) {
        let values = self.values.clone();
        // The union of the values present, if any is.
        let any = &mut *state.any;
        let mut some = false;
        for (v, _) in bitmaps[values.clone()]
            .iter()
            .zip(&present[values.clone()])
            .filter(|(_, p)| **p)
        {
            if some {
                any.iter_mut().zip(v).for_each(|(a, b)| *a |= b);
            } else {
                *any = *v;
                some = true;
            }
        }
        let per = values.len() + 2;
        for (cell, counts) in self.cells.iter().zip(state.counts.chunks_mut(per)) {
            let mut here = bitmaps[cell.clone()]
                .iter()
                .zip(&present[cell.clone()])
                .filter(|(_, p)| **p)
                .map(|(b, _)| b);
            let Some(first) = here.next() else {
                continue;
            };
            let words: &DenseContainer = match here.next() {
                None => first,
                Some(second) => {
                    let union = &mut *state.cell;
                    union
                        .iter_mut()
                        .zip(first.iter().zip(second))
                        .for_each(|(u, (a, b))| *u = a | b);
                    for b in here {
                        union.iter_mut().zip(b).for_each(|(u, b)| *u |= b);
                    }
                    union
                }
            };
            counts[0] += count_words(words);
            for ((n, v), _) in counts[1..]
                .iter_mut()
                .zip(&bitmaps[values.clone()])
                .zip(&present[values.clone()])
                .filter(|(_, p)| **p)
            {
                *n += and_count(words, v);
            }
            if some {
                counts[per - 1] += and_count(words, any);
            }
        }
    }
}
