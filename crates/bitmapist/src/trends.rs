//! Trends: an event's daily, weekly and monthly actives on every day of a range, as rolling
//! windows over day bitmaps, with the DAU/MAU ratio and the previous range beside it.
//!
//! **Why.** A week or month key counts calendar periods; "weekly actives" on a chart means
//! the users of the last 7 days, on every day. Only the union of day bitmaps gives that
//! exactly (a sum of daily counts counts a user once per day).
//!
//! **How.** Unfiltered trends ([`Bitmapist::trends`]) first take what the store kept: each
//! day's counts with the versions of its 30 days ([`kept`](crate::kept)), used when those
//! are the days' versions now. The other days' windows are counted from the days they need
//! (usually the last 30: only the windows that reach today change), as the store hands them
//! over a span of containers at a time ([`count_stored`]: nothing decoded, no cache insert),
//! and kept. Trends broken down by value do the same for every value on one walk: each
//! window's union is built once and ANDed with each value's users container by container
//! ([`ValueMasks`]); a property's values keep their counts with the versions of the values'
//! bitmaps too, and are not read when every window is kept. Filtered trends fetch the days
//! once, decoded ([`trends_fetch`](Bitmapist::trends_fetch)), read the segments restricted
//! to those days' users, and [`compute`](TrendsData::compute) masks the days with a
//! breakdown value.
//!
//! A union's size is the sum of its sizes per roaring container (users `65536 k ..
//! 65536 k + 65535`), so the windows are counted one container key at a time
//! ([`crate::containers`]): every day's container `k` in 1024 words, the windows counted on
//! those words with plain `|` and `count_ones`. A 30-day window on each of `n` days would
//! be `30 n` unions; instead the days are cut into blocks of the window's length, and a
//! window `[s, e]` is the union of a suffix of `s`'s block and a prefix of `e`'s block (or
//! one whole block): per day one OR into a running prefix plus one union count, and one
//! block of suffix unions per `w` days. `dau` is the sum of the days' container sizes,
//! which the serialization's header records.
//!
//! **Memory.** What the store holds per span (the embedded file: 16 containers of every
//! day per thread), plus per thread one key's days and one block of suffixes (30 x 8 KiB);
//! filtered trends hold the decoded days.
//!
//! **Invariants.** `dau ≤ wau ≤ mau` on every day; windows reaching before the first
//! stored day count those days as empty; the last day is the day containing `now`, counted
//! so far.
//!
//! **What a crash can lose.** Nothing recorded: this module writes only kept counts, a
//! cache (see [`kept`](crate::kept)).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::cohort::MAX_COHORT_SIZE;
use crate::containers::{
    ContainerCount, Counted, ValueMask, ValueMasks, ZERO, and_count, count_held, count_stored,
    count_words, value_masks, vectorized,
};
use crate::error::{Argument, Error, Result};
use crate::kept;
use crate::period::{Period, TimeGroup};
use crate::segment::{Breakdown, BreakdownValue, BrokenDown, Members, filtered, per_value};
use crate::store::DenseContainer;

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

/// The days a trend reads: the spec, the days (oldest first: `MONTH - 1` lead-in days, then
/// the previous range with `compare`, then the range), their keys, and the index of the
/// first day the retention policy kept (0: none pruned).
#[derive(Clone, Debug)]
struct Frame {
    spec: TrendsSpec,
    days: Vec<Period>,
    keys: Vec<String>,
    kept_from: usize,
}

impl Frame {
    /// The names the windows of `series` are kept under: per series, one per counted day
    /// (`{day key}\u{1f}trends{series suffix}`, [`kept::name`]).
    fn kept_names(&self, series: &[Series<'_>]) -> Vec<Vec<String>> {
        let days = &self.keys[(MONTH - 1).min(self.keys.len())..];
        series
            .iter()
            .map(|s| {
                days.iter()
                    .map(|k| kept::name(k, &format!("trends{}", s.suffix)))
                    .collect()
            })
            .collect()
    }
}

/// The windows a trend found kept, per series, and the counted days (indices from the
/// first counted day) whose windows of some series were not.
struct Held {
    windows: Vec<Windows>,
    missing: Vec<usize>,
}

/// What trends read, fetched once, decoded and filtered by the spec's segments: the phase a
/// breakdown computes on (a mask and unions of users work on decoded days).
#[derive(Clone, Debug)]
pub(crate) struct TrendsData {
    frame: Frame,
    /// The day bitmaps, one per day of the frame.
    bitmaps: Vec<Bitmap>,
}

/// Counts `wau` and `mau` of the days from `first` on, container key by container key
/// ([`rolling_add`] on each key's days).
struct WindowCount {
    first: usize,
    /// How many days are counted (`days - first`).
    out: usize,
}

impl ContainerCount for WindowCount {
    type State = (Vec<u64>, Vec<u64>, Scratch);

    fn init(&self) -> Self::State {
        (vec![0; self.out], vec![0; self.out], Scratch::new())
    }

    fn add(
        &self,
        (wau, mau, scratch): &mut Self::State,
        _: u16,
        days: &[DenseContainer],
        _: &[bool],
    ) {
        let (wau, mau) = (std::slice::from_mut(wau), std::slice::from_mut(mau));
        vectorized!({
            rolling_add(days, WEEK, self.first, &[], wau, scratch);
            rolling_add(days, MONTH, self.first, &[], mau, scratch);
        });
    }
}

impl WindowCount {
    /// The counter of the days from `first` on of `n` days.
    fn new(n: usize, first: usize) -> Self {
        WindowCount {
            first,
            out: n.saturating_sub(first),
        }
    }

    /// The windows from the walk's answer.
    fn windows(
        &self,
        Counted { lens, states, .. }: Counted<<Self as ContainerCount>::State>,
    ) -> Windows {
        let mut wau = vec![0; self.out];
        let mut mau = vec![0; self.out];
        for (w, m, _) in states {
            wau.iter_mut().zip(w).for_each(|(a, b)| *a += b);
            mau.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        }
        let dau = lens[self.first.min(lens.len())..].to_vec();
        Windows { dau, wau, mau }
    }
}

/// Counts [`WindowCount`]'s windows once per breakdown value. A window's users of a value
/// are the window's union ANDed with the value's users (`(a ∧ m) ∨ (b ∧ m) = (a ∨ b) ∧
/// m`), so on each container key the unions are built once, as for the plain windows, and
/// each value adds one masked count per window ([`rolling_add`] with the values' words of
/// the key, from [`ValueMasks`]); `dau` is each day's masked size. The days are read once
/// for all values.
struct ValueWindowCount<'m> {
    windows: WindowCount,
    masks: ValueMasks<'m>,
}

impl<'m> ValueWindowCount<'m> {
    /// The count of `windows` per value of `masks`.
    fn new(event: &str, windows: WindowCount, masks: &[&'m ValueMask]) -> Result<Self> {
        Ok(ValueWindowCount {
            windows,
            masks: ValueMasks::new(format!("a breakdown value of {event}"), masks)?,
        })
    }

    /// Each value's windows from the walk's answer.
    fn windows(&self, counted: Counted<ValueWindows>) -> Result<Vec<Windows>> {
        let out = self.windows.out;
        let mut per: Vec<Windows> = (0..self.masks.len()).map(|_| Windows::zero(out)).collect();
        let add = |a: &mut Vec<u64>, b: Vec<u64>| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        for state in counted.states {
            if let Some(e) = state.error {
                return Err(e);
            }
            let got = state.dau.into_iter().zip(state.wau).zip(state.mau);
            for (total, ((dau, wau), mau)) in per.iter_mut().zip(got) {
                add(&mut total.dau, dau);
                add(&mut total.wau, wau);
                add(&mut total.mau, mau);
            }
        }
        Ok(per)
    }
}

/// A thread's counts per value (`dau[v]`, `wau[v]`, `mau[v]` of each counted day), and its
/// scratch: the values' words of the current key and the window blocks.
struct ValueWindows {
    dau: Vec<Vec<u64>>,
    wau: Vec<Vec<u64>>,
    mau: Vec<Vec<u64>>,
    words: Vec<DenseContainer>,
    scratch: Scratch,
    /// The first error met taking a value's container apart, reported after the walk.
    error: Option<Error>,
}

impl ContainerCount for ValueWindowCount<'_> {
    type State = ValueWindows;

    fn init(&self) -> ValueWindows {
        let (out, values) = (self.windows.out, self.masks.len());
        ValueWindows {
            dau: vec![vec![0; out]; values],
            wau: vec![vec![0; out]; values],
            mau: vec![vec![0; out]; values],
            words: vec![ZERO; values],
            scratch: Scratch::new(),
            error: None,
        }
    }

    fn add(&self, state: &mut ValueWindows, key: u16, days: &[DenseContainer], _: &[bool]) {
        let first = self.windows.first;
        for (v, w) in state.words.iter_mut().enumerate() {
            if let Err(e) = self.masks.words(v, key, w) {
                state.error.get_or_insert(e);
                *w = ZERO;
            }
        }
        let ValueWindows {
            dau,
            wau,
            mau,
            words,
            scratch,
            ..
        } = state;
        vectorized!({
            for (dau, mask) in dau.iter_mut().zip(words.iter()) {
                for (d, day) in dau.iter_mut().zip(&days[first..]) {
                    *d += and_count(day, mask);
                }
            }
            rolling_add(days, WEEK, first, words, wau, scratch);
            rolling_add(days, MONTH, first, words, mau, scratch);
        });
    }
}

/// `wau`, `mau` and `dau` of each day `first..` of `days` (bitmaps given once each, oldest
/// first), serialized and walked container by container ([`count_held`]). An owned day
/// bitmap is dropped as soon as it is serialized.
fn bitmap_window_counts<'a>(
    event: &str,
    days: impl Iterator<Item = Cow<'a, Bitmap>>,
    first: usize,
) -> Result<Windows> {
    let serialized: Vec<Vec<u8>> = days.map(|day| crate::store::serialize(&day)).collect();
    let views: Vec<&[u8]> = serialized.iter().map(Vec::as_slice).collect();
    let count = WindowCount::new(views.len(), first);
    Ok(count.windows(count_held(&format!("a day of {event}"), &views, &count)?))
}

/// The counts of a [`WindowCount`], one per day from `first` on.
struct Windows {
    dau: Vec<u64>,
    wau: Vec<u64>,
    mau: Vec<u64>,
}

impl Windows {
    /// `out` days of zero.
    fn zero(out: usize) -> Self {
        Windows {
            dau: vec![0; out],
            wau: vec![0; out],
            mau: vec![0; out],
        }
    }

    /// Sets day `i`'s `[dau, wau, mau]`.
    fn set(&mut self, i: usize, [dau, wau, mau]: [u64; 3]) {
        (self.dau[i], self.wau[i], self.mau[i]) = (dau, wau, mau);
    }
}

/// One series of windows a trend counts on the same days: the plain trend, or a breakdown
/// value's.
struct Series<'m> {
    /// What its kept values' names add to `{day key}\u{1f}trends` ([`kept::name`]).
    suffix: String,
    /// The keys it depends on besides the days (a property value's bitmap), and their
    /// versions as read before their bitmaps were; `None` among them: nothing is kept.
    input_keys: Vec<String>,
    inputs: Vec<Option<u64>>,
    /// The value's users serialized, and whether the value is every user but them; `None`:
    /// every user (or a value's series only looked up among the kept windows).
    mask: Option<&'m ValueMask>,
}

/// A running prefix and one block of suffixes, for [`rolling_add`].
struct Scratch {
    prefix: Box<DenseContainer>,
    suffix: Vec<DenseContainer>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            prefix: Box::new(ZERO),
            suffix: vec![ZERO; MONTH],
        }
    }
}

#[inline(always)]
fn or_into(acc: &mut DenseContainer, day: &DenseContainer) {
    acc.iter_mut().zip(day).for_each(|(a, b)| *a |= b);
}

#[inline(always)]
fn union_count(a: &DenseContainer, b: &DenseContainer) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x | y).count_ones()))
        .sum()
}

/// The number of bits set in `(a ∨ b) ∧ m`.
#[inline(always)]
fn union_and_count(a: &DenseContainer, b: &DenseContainer, m: &DenseContainer) -> u64 {
    a.iter()
        .zip(b)
        .zip(m)
        .map(|((x, y), m)| u64::from(((x | y) & m).count_ones()))
        .sum()
}

/// Adds the size of the window `a ∨ b` (`b`: none) to `out[0][i]` when `masks` is empty,
/// else its users of each mask to `out[v][i]`.
#[inline(always)]
fn add_window(
    i: usize,
    a: &DenseContainer,
    b: Option<&DenseContainer>,
    masks: &[DenseContainer],
    out: &mut [Vec<u64>],
) {
    if masks.is_empty() {
        if let Some(o) = out.first_mut() {
            o[i] += match b {
                None => count_words(a),
                Some(b) => union_count(a, b),
            };
        }
        return;
    }
    for (m, o) in masks.iter().zip(out.iter_mut()) {
        o[i] += match b {
            None => and_count(a, m),
            Some(b) => union_and_count(a, b, m),
        };
    }
}

/// Adds to `out[0][i]` the size of the union of the `w` containers of `days` ending at
/// `first_end + i` (`first_end ≥ w - 1`), or with `masks`, to `out[v][i]` its users in
/// `masks[v]`; by blocks of `w` (see the module docs). Inlined into its callers'
/// `vectorized!` blocks.
#[inline(always)]
fn rolling_add(
    days: &[DenseContainer],
    w: usize,
    first_end: usize,
    masks: &[DenseContainer],
    out: &mut [Vec<u64>],
    scratch: &mut Scratch,
) {
    debug_assert!((1..=MONTH).contains(&w) && first_end + 1 >= w);
    let Scratch { prefix, suffix } = scratch;
    let mut prefix_block = usize::MAX;
    let mut suffix_block = usize::MAX;
    for (i, e) in (first_end..days.len()).enumerate() {
        let s = e + 1 - w;
        let be = e / w;
        if be != prefix_block {
            **prefix = days[be * w];
            for d in &days[be * w + 1..=e] {
                or_into(prefix, d);
            }
            prefix_block = be;
        } else {
            or_into(prefix, &days[e]);
        }
        if s.is_multiple_of(w) {
            // The window is exactly `e`'s block so far: `s` is its first day.
            add_window(i, prefix, None, masks, out);
            continue;
        }
        let bs = s / w;
        if bs != suffix_block {
            // suffix[j] = union of days[bs*w + j ..= bs*w + w - 1] (the whole block is in
            // the past of `e`, as `e` is in the next block).
            suffix[w - 1] = days[bs * w + w - 1];
            for j in (0..w - 1).rev() {
                let (lo, hi) = suffix.split_at_mut(j + 1);
                lo[j] = hi[0];
                or_into(&mut lo[j], &days[bs * w + j]);
            }
            suffix_block = bs;
        }
        add_window(i, &suffix[s - bs * w], Some(prefix), masks, out);
    }
}

/// The series of a breakdown's `values` (then "none", `None`), with their users' `masks`
/// (empty: looked up among the kept windows only). When `keyed`, each value's inputs are
/// its key's version as read `before` its users (the property's `value_keys`, in the
/// values' order), and "none"'s are all of them; otherwise nothing is kept.
fn value_series<'m>(
    breakdown: &Breakdown,
    values: &[Option<String>],
    value_keys: &[String],
    before: &[Option<u64>],
    keyed: bool,
    masks: &'m [ValueMask],
) -> Vec<Series<'m>> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let (input_keys, inputs) = match (keyed, value_keys.get(i)) {
                (true, Some(key)) => (vec![key.clone()], vec![before.get(i).copied().flatten()]),
                (true, None) => (value_keys.to_vec(), before.to_vec()),
                (false, _) => (Vec::new(), vec![None]),
            };
            let suffix = match value {
                Some(v) => format!("\u{1f}{breakdown}\u{1f}{v}"),
                None => format!("\u{1f}{breakdown}\u{1f}\u{1f}{}", value_keys.join("\u{1f}")),
            };
            Series {
                suffix,
                input_keys,
                inputs,
                mask: masks.get(i),
            }
        })
        .collect()
}

impl TrendsData {
    /// Every user active on some day read.
    fn users(&self) -> Bitmap {
        let mut all = Bitmap::new();
        self.bitmaps.iter().for_each(|b| all.or_assign(b));
        all
    }

    /// The trends of the users in `mask` (a breakdown value; `None`: every filtered user).
    pub(crate) fn compute(&self, mask: Option<&Members>) -> Result<Trends> {
        let windows = bitmap_window_counts(
            &self.frame.spec.event,
            self.bitmaps.iter().map(|b| match mask {
                Some(m) => Cow::Owned(m.apply(b)),
                None => Cow::Borrowed(b),
            }),
            MONTH - 1,
        )?;
        Ok(self.frame.series(windows))
    }
}

impl Frame {
    /// The trends from the window counts of the days from `MONTH - 1` on.
    fn series(&self, Windows { dau, wau, mau }: Windows) -> Trends {
        let first = MONTH - 1;
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
        if !spec.segments.is_empty() {
            return self.trends_fetch(spec).await?.compute(None);
        }
        let frame = self.trends_frame(spec).await?;
        let plain = Series {
            suffix: String::new(),
            input_keys: Vec::new(),
            inputs: Vec::new(),
            mask: None,
        };
        let mut windows = self.window_counts(&frame, &[plain]).await?;
        Ok(frame.series(windows.remove(0)))
    }

    /// The unfiltered windows of each series of `frame` (the plain trend, or one per
    /// breakdown value) on each day from `MONTH - 1` on: kept ones whose inputs are
    /// unchanged ([`kept`](crate::kept), one value per series and day under
    /// `{day key}\u{1f}trends{series suffix}` with the versions of its 30 days and of the
    /// series' own inputs), the others counted from the days as the store hands them over,
    /// a span of containers at a time, never decoded, and kept. Only the days that the
    /// counted windows need are read: usually the last 30.
    async fn window_counts(&self, frame: &Frame, series: &[Series<'_>]) -> Result<Vec<Windows>> {
        let held = self.held_windows(frame, series).await?;
        self.count_windows(frame, series, held).await
    }

    /// The kept windows of each series of `frame` whose inputs are unchanged (see
    /// [`Bitmapist::window_counts`]), and the days whose windows must be counted.
    async fn held_windows(&self, frame: &Frame, series: &[Series<'_>]) -> Result<Held> {
        let store = self.store().as_ref();
        let keys = &frame.keys;
        let first = MONTH - 1;
        let out = keys.len().saturating_sub(first);
        let mut windows: Vec<Windows> = series.iter().map(|_| Windows::zero(out)).collect();
        let names = frame.kept_names(series);
        let now = store.versions(keys).await?;
        let held = if now.iter().any(Option::is_some) {
            store.get_derived(&names.concat()).await?
        } else {
            vec![None; out * series.len()]
        };
        let mut missing = Vec::new();
        for i in 0..out {
            let mut all = true;
            for (n, s) in series.iter().enumerate() {
                let inputs: Vec<Option<u64>> = now[i..=i + first]
                    .iter()
                    .chain(&s.inputs)
                    .copied()
                    .collect();
                let kept = held[n * out + i]
                    .as_deref()
                    .and_then(|b| kept::decode(b, &inputs, 3));
                match kept {
                    Some(c) => windows[n].set(i, [c[0], c[1], c[2]]),
                    None => all = false,
                }
            }
            if !all {
                missing.push(i);
            }
        }
        Ok(Held { windows, missing })
    }

    /// `held` with the windows of its missing days counted from the days (every series on
    /// one walk) and kept (see [`Bitmapist::window_counts`]).
    async fn count_windows(
        &self,
        frame: &Frame,
        series: &[Series<'_>],
        held: Held,
    ) -> Result<Vec<Windows>> {
        let Held {
            mut windows,
            missing,
        } = held;
        let (Some(&lo), Some(&hi)) = (missing.first(), missing.last()) else {
            return Ok(windows);
        };
        let store = self.store().as_ref();
        let keys = &frame.keys;
        let first = MONTH - 1;
        let names = frame.kept_names(series);
        // Output day `i` is day `first + i`; its windows need days `i ..= first + i`.
        let window = WindowCount::new(hi + first + 1 - lo, first);
        let what = format!("a day of {}", frame.spec.event);
        let read = &keys[lo..=hi + first];
        let (got, versions) = match series.iter().map(|s| s.mask).collect::<Option<Vec<_>>>() {
            Some(masks) => {
                let count = ValueWindowCount::new(&frame.spec.event, window, &masks)?;
                let counted = count_stored(&what, store, read, &count).await?;
                let versions = counted.versions.clone();
                (count.windows(counted)?, versions)
            }
            None => {
                let counted = count_stored(&what, store, read, &window).await?;
                let versions = counted.versions.clone();
                (vec![window.windows(counted)], versions)
            }
        };
        // The series' own inputs must not have changed while the days were counted.
        let mut keep = Vec::new();
        for ((n, s), got) in series.iter().enumerate().zip(&got) {
            let unchanged =
                s.input_keys.is_empty() || store.versions(&s.input_keys).await? == s.inputs;
            for (j, i) in (lo..=hi).enumerate() {
                let counts = [got.dau[j], got.wau[j], got.mau[j]];
                windows[n].set(i, counts);
                let inputs: Vec<Option<u64>> = versions[j..=j + first]
                    .iter()
                    .chain(&s.inputs)
                    .copied()
                    .collect();
                if unchanged && let Some(bytes) = kept::encode(&inputs, &counts) {
                    keep.push((names[n][i].clone(), bytes));
                }
            }
        }
        if !keep.is_empty()
            && let Err(e) = store.put_derived(&keep).await
        {
            // Kept counts are a cache: the answer stands without them.
            tracing::warn!(error = %e, "trends: keeping window counts failed");
        }
        Ok(windows)
    }

    /// Trends per value of `breakdown`, then for the users in none. Unfiltered, one walk of
    /// the days counts every value (each window's union ANDed with the value's users), and
    /// the values of a property keep their counts as plain trends do, with the versions of
    /// the values' bitmaps besides the days' (when every window is kept, the values' users
    /// are not read); filtered, one fetch of the decoded days (the values' users read
    /// restricted to the days' users).
    pub async fn trends_by(
        &self,
        spec: &TrendsSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Trends>> {
        let _timer = self.time(crate::telemetry::QueryKind::Trends);
        if !spec.segments.is_empty() {
            let fetched = self.trends_fetch(spec).await?;
            let users = fetched.users();
            let values = self
                .breakdown_values(breakdown, spec.now, Some(&users))
                .await?;
            return per_value(breakdown, None, values, |mask| fetched.compute(mask));
        }
        let frame = self.trends_frame(spec).await?;
        // A property's values are unique keys with versions, read before the values are
        // (see `window_counts`); a segment is evaluated at `now`, so nothing is kept of it.
        let (names, value_keys) = match breakdown {
            Breakdown::Property(prop) => self.breakdown_property(prop).await?,
            Breakdown::Segments(_) => (Vec::new(), Vec::new()),
        };
        let before = self.store().versions(&value_keys).await?;
        // Every window of every value kept: the values' users are not read. Otherwise what
        // was found kept is counted on, if the values are still the ones listed.
        let mut found = None;
        if !names.is_empty() {
            let listed: Vec<Option<String>> =
                names.iter().cloned().map(Some).chain([None]).collect();
            let series = value_series(breakdown, &listed, &value_keys, &before, true, &[]);
            let held = self.held_windows(&frame, &series).await?;
            if held.missing.is_empty() {
                return Ok(BrokenDown {
                    breakdown: breakdown.to_string(),
                    values: listed
                        .into_iter()
                        .zip(held.windows)
                        .map(|(value, windows)| BreakdownValue {
                            value,
                            result: frame.series(windows),
                        })
                        .collect(),
                });
            }
            found = Some(held);
        }
        let values = self.breakdown_values(breakdown, spec.now, None).await?;
        let masks = value_masks(values.iter().map(|(_, m)| m));
        // The named values are the property's values listed before, then "none" (all of
        // them); a value added or gone meanwhile keeps nothing.
        let keyed = !names.is_empty()
            && values.len() == names.len() + 1
            && values
                .iter()
                .zip(&names)
                .all(|((v, _), n)| v.as_ref() == Some(n));
        let value_names: Vec<Option<String>> = values.iter().map(|(v, _)| v.clone()).collect();
        let series = value_series(breakdown, &value_names, &value_keys, &before, keyed, &masks);
        let per = match found {
            Some(held) if keyed => self.count_windows(&frame, &series, held).await?,
            _ => self.window_counts(&frame, &series).await?,
        };
        Ok(BrokenDown {
            breakdown: breakdown.to_string(),
            values: values
                .into_iter()
                .zip(per)
                .map(|((value, _), windows)| BreakdownValue {
                    value,
                    result: frame.series(windows),
                })
                .collect(),
        })
    }

    /// The days of a trend, their keys, and where the retention policy's horizon lies.
    async fn trends_frame(&self, spec: &TrendsSpec) -> Result<Frame> {
        spec.validate()?;
        let ranges = if spec.compare { 2 } else { 1 };
        let total = spec.days * ranges + MONTH - 1;
        let days = self
            .timezone()
            .periods_up_to(TimeGroup::Days, spec.now, total)?;
        let layout = self.layout();
        let keys: Vec<String> = days.iter().map(|d| layout.key(&spec.event, d)).collect();
        // Days before the recorded horizon were deleted by a retention policy.
        let kept_from = match self.pruned_horizon().await?.get(TimeGroup::Days) {
            Some(oldest) => days
                .iter()
                .take_while(|d| d.start() < oldest.start())
                .count(),
            None => 0,
        };
        Ok(Frame {
            spec: spec.clone(),
            days,
            keys,
            kept_from,
        })
    }

    /// The fetch phase of a filtered or broken-down trend: every day bitmap it reads, in one
    /// batch, decoded, then the segments' users restricted to the days' users.
    pub(crate) async fn trends_fetch(&self, spec: &TrendsSpec) -> Result<TrendsData> {
        let frame = self.trends_frame(spec).await?;
        let mut bitmaps: Vec<Bitmap> = self
            .store()
            .get(&frame.keys)
            .await?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
        if !spec.segments.is_empty() {
            let mut users = Bitmap::new();
            bitmaps.iter().for_each(|b| users.or_assign(b));
            let filter = self
                .segment_filter(&spec.segments, spec.now, Some(&users))
                .await?;
            let f = filter.as_ref();
            bitmaps = bitmaps.into_iter().map(|b| filtered(b, f)).collect();
        }
        Ok(TrendsData { frame, bitmaps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the union of `days[e + 1 - w ..= e]`, plainly.
    fn plain(days: &[Bitmap], w: usize, e: usize) -> u64 {
        let mut u = Bitmap::new();
        for d in &days[e + 1 - w..=e] {
            u.or_assign(d);
        }
        u.count()
    }

    /// The block decomposition against the plain union of every window, on one container,
    /// and masked against the plain unions of the masked days.
    #[test]
    fn rolling_add_matches_plain_unions() {
        let days: Vec<Bitmap> = (0..75u32)
            .map(|d| {
                (0..40u32)
                    .filter(|u| (u * 7 + d * 3) % 11 < 2 + d % 3)
                    .collect()
            })
            .collect();
        // Users below 2^16 as the words of container 0.
        let words_of = |b: &Bitmap| {
            let mut words = ZERO;
            b.iter()
                .for_each(|u| words[u as usize / 64] |= 1 << (u % 64));
            words
        };
        let dense: Vec<DenseContainer> = days.iter().map(words_of).collect();
        // Two masks: the users below 20, and the users of odd number.
        let masks: Vec<Bitmap> = vec![
            (0..20u32).collect(),
            (0..40u32).filter(|u| u % 2 == 1).collect(),
        ];
        let mask_words: Vec<DenseContainer> = masks.iter().map(words_of).collect();
        let mut scratch = Scratch::new();
        for w in [1, 2, 7, 30] {
            for first_end in [w - 1, 29, 40] {
                let mut got = vec![vec![0; days.len() - first_end]];
                rolling_add(&dense, w, first_end, &[], &mut got, &mut scratch);
                let want: Vec<u64> = (first_end..days.len())
                    .map(|e| plain(&days, w, e))
                    .collect();
                assert_eq!(got[0], want, "window {w} from {first_end}");
                let mut got = vec![vec![0; days.len() - first_end]; masks.len()];
                rolling_add(&dense, w, first_end, &mask_words, &mut got, &mut scratch);
                for (m, got) in masks.iter().zip(&got) {
                    let masked: Vec<Bitmap> = days.iter().map(|d| d.and(m)).collect();
                    let want: Vec<u64> = (first_end..days.len())
                        .map(|e| plain(&masked, w, e))
                        .collect();
                    assert_eq!(got, &want, "window {w} from {first_end}, masked");
                }
            }
        }
    }

    /// Whole days of array, bitmap and run containers over several container keys (some
    /// days without some keys, some empty) against plain unions, borrowed and owned.
    #[test]
    fn window_counts_match_plain_unions() {
        let days: Vec<Bitmap> = (0..70u32)
            .map(|d| {
                let mut b: roaring::RoaringBitmap = match d % 5 {
                    // Dense: bitmap containers in keys 0 and 2.
                    0 | 1 => (0..200_000u32)
                        .filter(|u| (u / 3 + d) % 7 == 0 && u >> 16 != 1)
                        .collect(),
                    // Sparse: array containers, keys 0 to 3.
                    2 => (0..250_000u32)
                        .filter(|u| (u + d * 13) % 997 == 0)
                        .collect(),
                    // Runs, from key 1 on.
                    3 => {
                        let at = 65_536 + d * 1_000;
                        (at..at + 70_000).collect()
                    }
                    _ => roaring::RoaringBitmap::new(),
                };
                b.optimize();
                Bitmap::from_bits(b)
            })
            .collect();
        let first = MONTH - 1;
        let borrowed = bitmap_window_counts("e", days.iter().map(Cow::Borrowed), first).unwrap();
        let owned =
            bitmap_window_counts("e", days.clone().into_iter().map(Cow::Owned), first).unwrap();
        for got in [borrowed, owned] {
            for (i, e) in (first..days.len()).enumerate() {
                assert_eq!(got.dau[i], days[e].count(), "dau of day {e}");
                assert_eq!(got.wau[i], plain(&days, WEEK, e), "wau of day {e}");
                assert_eq!(got.mau[i], plain(&days, MONTH, e), "mau of day {e}");
            }
        }
    }
}
