//! Stickiness (frequency): how many users of an event were active on exactly k days of
//! one ISO week or calendar month, computed in memory from the period's day bitmaps.
//!
//! **Why.** "How often do users come back" is a per-user count of days, which no single
//! stored bitmap holds.
//!
//! **How.** The period's days are read as the store serializes them, a span of containers at
//! a time ([`Store::get_serialized_spans`](crate::Store::get_serialized_spans)), and counted
//! container by container on dense words ([`crate::containers`], as trends are, with
//! [`DayCount`]): per user a binary counter of days, bit-sliced across words. Plain
//! stickiness keeps only the counts; an unfiltered breakdown counts each value's users of
//! each number of days on the same words ([`ValueDayCount`]); segments and a bucket's users
//! build the "at least k days" sets.
//!
//! **Memory.** What the store holds per span, plus per thread one key's days and counters
//! (and with the sets, the sets).
//!
//! **Invariants.** `days[k-1]` sums to the users active on some day read; days after `at`
//! are not read.
//!
//! **What a crash can lose.** Nothing: this module only reads.

use chrono::{DateTime, Utc};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::containers::{
    ContainerCount, Counted, ValueMasks, ZERO, count_stored, value_masks, vectorized,
};
use crate::error::{Argument, Error, Result};
use crate::period::{Period, TimeGroup};
use crate::segment::{
    Breakdown, BreakdownValue, BrokenDown, Members, filtered, masked_count, per_value,
};
use crate::store::DenseContainer;

/// Users of one event by the number of days of one week or month they were active on.
///
/// Serializes as `{"event", "period", "start", "days": [n_1, ...]}`, where `days[k-1]` is
/// the number of users active on exactly `k` days of the period.
///
/// # Definitions
///
/// For a period of `D` days with day bitmaps `D_1..D_D`, the fold
/// `A_k ← A_k ∨ (A_{k-1} ∧ D_d)` (for each day `d`, `k` from high to low, `A_0` = everyone)
/// leaves `A_k` = the users active on at least `k` days; `|A_k| - |A_{k+1}|` are the users
/// active on exactly `k` days. Days that start after `at` are in the future and are not read
/// (they count as empty), so a period seen from its middle gives its stickiness so far; the
/// answer still has one entry per day of the period. The day bitmaps are fetched in one
/// batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stickiness {
    /// The event.
    pub event: String,
    /// The period's label (`2026-W47`, `Nov 2026`).
    pub period: String,
    /// The period's first day, `YYYY-MM-DD`.
    pub start: String,
    /// `days[k-1]`: users active on exactly `k` days; one entry per day of the period.
    pub days: Vec<u64>,
    /// Whether the store's retention policy pruned a day of the period (its first): the
    /// counts lack those days' activity, so readers show "pruned", never the numbers. Left
    /// out of the JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pruned: bool,
}

impl Stickiness {
    /// Users active on at least one day of the period.
    pub fn users(&self) -> u64 {
        self.days.iter().sum()
    }
}

/// The users active on at least `k + 1` days, for `k` in `0..n`: always their numbers,
/// and the users themselves when asked for.
pub(crate) struct AtLeast {
    /// `counts[k]`: how many users are in at least `k + 1` days.
    pub(crate) counts: Vec<u64>,
    /// `sets[k]`: those users (empty unless asked for).
    pub(crate) sets: Vec<Bitmap>,
}

/// At most this many days are counted together (a month has at most 31).
const MAX_DAYS: usize = (1 << PLANES) - 1;
/// Bits of a user's number of days.
const PLANES: usize = 6;

/// Counts, container key by container key, the users set in at least `k + 1` of a walk's
/// days (`event`'s days as the store hands them over), for `k` in `0..n` (`n` at least the
/// number of days; a user can be in at most that many), as the fold in [`Stickiness`]'s
/// definition gives them; the sets only with `sets`.
///
/// Each user's number of days is kept in binary across words ("planes": bit `i` of plane
/// word `p` is bit `p` of the count of the user at bit `i`): adding a day is a ripple-carry
/// addition on words (`plane ^= carry`, `carry = plane & carry`); splitting the users plane
/// by plane (the top plane first) gives the users of each count ([`DayCount::leaves`]), and
/// a suffix union the "at least" sets. So the cost is a few word operations per day and per
/// count, not the `|days|²/2` unions of the fold (which it equals; see the tests), and
/// nothing is decoded. A key's words are taken [`LANES`] at a time (one 512-bit register),
/// inside `vectorized!`, with per-lane sums added up after the walk.
struct DayCount {
    /// Bits of a user's number of days.
    planes: usize,
    /// The days of the walk.
    days: usize,
    n: usize,
    sets: bool,
}

/// Words counted together: one AVX-512 register.
const LANES: usize = 8;
/// Chunks of [`LANES`] words in a container.
const CHUNKS: usize = ZERO.len() / LANES;
/// A chunk of a container's words, or per-lane sums of their `count_ones`.
type Lanes = [u64; LANES];
/// The users of one chunk by number of days (see [`DayCount::leaves`]).
type Leaves = [Lanes; 1 << PLANES];

/// Chunk `c` of `words`.
#[inline(always)]
fn chunk(words: &DenseContainer, c: usize) -> &Lanes {
    &words.as_chunks::<LANES>().0[c]
}

/// `sums[j] += count_ones(users[j] & mask[j])`, lane by lane.
#[inline(always)]
fn add_ones(sums: &mut Lanes, users: &Lanes, mask: &Lanes) {
    for j in 0..LANES {
        sums[j] += u64::from((users[j] & mask[j]).count_ones());
    }
}

impl DayCount {
    /// The count over `days` days, answering `n` entries (at least `days`).
    fn new(days: usize, n: usize, sets: bool) -> Result<Self> {
        if days > MAX_DAYS {
            return Err(Error::invalid_arg(
                Argument::Days,
                format!("{days} days are more than {MAX_DAYS}"),
            ));
        }
        Ok(DayCount {
            planes: (usize::BITS - days.leading_zeros()) as usize,
            days,
            n: n.max(days),
            sets,
        })
    }

    /// Splits chunk `c` of one key's days (`slots`, of which `present` have the key) by the
    /// users' number of days: `leaves[k]` are the users of the chunk on exactly `k` days, for
    /// `k` in `1..=days` (`leaves[0]` also holds everyone else). The days are added up in
    /// planes, then the planes split every user from the top plane down, in place (node `j`
    /// of a level becomes `2j + 1`, its users with the plane's bit, and `2j`).
    #[inline(always)]
    fn leaves(&self, slots: &[DenseContainer], present: &[bool], c: usize, leaves: &mut Leaves) {
        let mut planes = [[0u64; LANES]; PLANES];
        for (day, _) in slots.iter().zip(present).filter(|(_, p)| **p) {
            let mut carry = *chunk(day, c);
            for p in &mut planes[..self.planes] {
                for j in 0..LANES {
                    let next = p[j] & carry[j];
                    p[j] ^= carry[j];
                    carry[j] = next;
                }
            }
        }
        leaves[0] = [u64::MAX; LANES];
        let mut nodes = 1;
        for p in planes[..self.planes].iter().rev() {
            for j in (0..nodes).rev() {
                let x = leaves[j];
                for l in 0..LANES {
                    leaves[2 * j + 1][l] = x[l] & p[l];
                    leaves[2 * j][l] = x[l] & !p[l];
                }
            }
            nodes *= 2;
        }
    }

    /// Adds each chunk's users of `k + 1` days to `exactly[k]` (per lane), and with the sets
    /// writes them into `words[k]`.
    #[inline(always)]
    fn add_chunks(
        &self,
        exactly: &mut [Lanes],
        words: &mut [DenseContainer],
        slots: &[DenseContainer],
        present: &[bool],
    ) {
        let mut leaves = [[0u64; LANES]; 1 << PLANES];
        for c in 0..CHUNKS {
            self.leaves(slots, present, c, &mut leaves);
            for (k, (sums, leaf)) in exactly.iter_mut().zip(&leaves[1..]).enumerate() {
                if k >= self.days {
                    break;
                }
                add_ones(sums, leaf, &[u64::MAX; LANES]);
                if let Some(w) = words.get_mut(k) {
                    w.as_chunks_mut::<LANES>().0[c] = *leaf;
                }
            }
        }
    }

    /// The users in at least `k + 1` days from the walk's states.
    fn at_least(
        &self,
        Counted { states, .. }: Counted<<Self as ContainerCount>::State>,
    ) -> AtLeast {
        let n = self.n;
        let mut exactly = vec![0u64; n];
        let mut at_least = vec![RoaringBitmap::new(); n * usize::from(self.sets)];
        for (e, users, _) in states {
            exactly
                .iter_mut()
                .zip(e)
                .for_each(|(a, b)| *a += b.iter().sum::<u64>());
            at_least.iter_mut().zip(users).for_each(|(a, b)| *a |= b);
        }
        let mut counts = vec![0u64; n];
        let mut more = 0;
        for k in (0..n).rev() {
            more += exactly[k];
            counts[k] = more;
        }
        AtLeast {
            counts,
            sets: at_least.into_iter().map(Bitmap::from_bits).collect(),
        }
    }
}

impl ContainerCount for DayCount {
    /// Per lane, users with exactly `k + 1` days; the "at least" sets so far; scratch words.
    type State = (Vec<Lanes>, Vec<RoaringBitmap>, Vec<DenseContainer>);

    fn init(&self) -> Self::State {
        let words = if self.sets {
            vec![ZERO; self.n]
        } else {
            Vec::new()
        };
        (
            vec![[0u64; LANES]; self.n],
            vec![RoaringBitmap::new(); self.n * usize::from(self.sets)],
            words,
        )
    }

    fn add(
        &self,
        (exactly, users, words): &mut Self::State,
        key: u16,
        slots: &[DenseContainer],
        present: &[bool],
    ) {
        vectorized!(self.add_chunks(exactly, words, slots, present));
        // At least `k + 1` days: the union of exactly `k + 1..` days (`words[k]` for `k`
        // from `days` on stays zero).
        let mut more = ZERO;
        for k in (0..words.len()).rev() {
            more.iter_mut().zip(&words[k]).for_each(|(m, w)| *m |= w);
            if more.iter().any(|&w| w != 0) {
                users[k] |= from_words(key, &more);
            }
        }
    }
}

/// Counts [`DayCount`]'s users with exactly `k` days once per breakdown value: on each
/// container key the days are folded once, and each chunk's users of each count are ANDed
/// with every value's words of the key ([`ValueMasks`]). No set is built, and the days are
/// read once for all values.
struct ValueDayCount<'m> {
    days: DayCount,
    masks: ValueMasks<'m>,
}

/// A thread's counts per value (`exactly[v][k - 1]`, per lane: value `v`'s users with `k`
/// days), the values' words of the current key, and the first error met taking a value's
/// container apart (reported after the walk).
struct ValueDays {
    exactly: Vec<Vec<Lanes>>,
    words: Vec<DenseContainer>,
    error: Option<Error>,
}

impl ValueDayCount<'_> {
    /// Each value's users with exactly `k` days (`[v][k - 1]`) from the walk's states.
    fn exactly(&self, Counted { states, .. }: Counted<ValueDays>) -> Result<Vec<Vec<u64>>> {
        let mut per = vec![vec![0u64; self.days.n]; self.masks.len()];
        for state in states {
            if let Some(e) = state.error {
                return Err(e);
            }
            for (total, got) in per.iter_mut().zip(state.exactly) {
                total
                    .iter_mut()
                    .zip(got)
                    .for_each(|(a, b)| *a += b.iter().sum::<u64>());
            }
        }
        Ok(per)
    }

    /// Adds each chunk's users of `k` days in value `v` to `exactly[v][k - 1]` (per lane).
    #[inline(always)]
    fn add_chunks(
        &self,
        exactly: &mut [Vec<Lanes>],
        words: &[DenseContainer],
        slots: &[DenseContainer],
        present: &[bool],
    ) {
        let mut leaves = [[0u64; LANES]; 1 << PLANES];
        let days = self.days.days;
        for c in 0..CHUNKS {
            self.days.leaves(slots, present, c, &mut leaves);
            for (sums, mask) in exactly.iter_mut().zip(words) {
                let mask = chunk(mask, c);
                for (s, leaf) in sums.iter_mut().zip(&leaves[1..]).take(days) {
                    add_ones(s, leaf, mask);
                }
            }
        }
    }
}

impl ContainerCount for ValueDayCount<'_> {
    type State = ValueDays;

    fn init(&self) -> ValueDays {
        ValueDays {
            exactly: vec![vec![[0u64; LANES]; self.days.n]; self.masks.len()],
            words: vec![ZERO; self.masks.len()],
            error: None,
        }
    }

    fn add(&self, state: &mut ValueDays, key: u16, slots: &[DenseContainer], present: &[bool]) {
        let ValueDays {
            exactly,
            words,
            error,
        } = state;
        for (v, w) in words.iter_mut().enumerate() {
            if let Err(e) = self.masks.words(v, key, w) {
                error.get_or_insert(e);
                *w = ZERO;
            }
        }
        vectorized!(self.add_chunks(exactly, words, slots, present));
    }
}

/// The users of container `key` whose bits are `words`.
fn from_words(key: u16, words: &DenseContainer) -> RoaringBitmap {
    let mut bytes = [0u8; 8 * 1024];
    for (chunk, w) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    RoaringBitmap::from_lsb0_bytes(u32::from(key) << 16, &bytes)
}

/// The days of `period` (a week or a month), first to last.
pub(crate) fn days_of(period: &Period) -> Result<Vec<Period>> {
    let (Some(start), Some(end)) = (period.start(), period.end()) else {
        return Err(Error::invalid_arg(
            Argument::Period,
            "the unique period has no days",
        ));
    };
    let mut day = Period::day(start.date())?;
    let mut out = Vec::new();
    while day.start().is_some_and(|s| s < end) {
        out.push(day);
        day = day.next()?;
    }
    Ok(out)
}

/// What stickiness to compute: the event, the week or month containing `at`, and the
/// segments its users must be in.
///
/// ```
/// use bitmapist::{StickinessSpec, TimeGroup};
/// let spec = StickinessSpec::new("active").time_group(TimeGroup::Months).segment("plan:pro");
/// assert_eq!(spec.segments, ["plan:pro"]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StickinessSpec {
    /// The event.
    pub event: String,
    /// Weeks or months (default weeks).
    pub time_group: TimeGroup,
    /// The period is the one containing `at` (default: now); segments are evaluated at it.
    pub at: DateTime<Utc>,
    /// Segments the counted users must all be in (default none: everyone).
    #[serde(default)]
    pub segments: Vec<String>,
}

impl StickinessSpec {
    /// The current ISO week of `event`, every user.
    pub fn new(event: impl Into<String>) -> Self {
        StickinessSpec {
            event: event.into(),
            time_group: TimeGroup::Weeks,
            at: Utc::now(),
            segments: Vec::new(),
        }
    }

    /// Weeks or months.
    pub fn time_group(mut self, group: TimeGroup) -> Self {
        self.time_group = group;
        self
    }

    /// The period containing `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    /// Restricts the users to segment `name` (repeatable: all of them).
    pub fn segment(mut self, name: impl Into<String>) -> Self {
        self.segments.push(name.into());
        self
    }
}

/// What stickiness reads, folded: the users active on at least `k + 1` days of the period
/// (filtered by the spec's segments), counted, and as sets when fetched with them.
pub(crate) struct StickinessFetched {
    event: String,
    frame: StickinessFrame,
    at_least: AtLeast,
}

impl StickinessFetched {
    /// The stickiness under `mask` (a breakdown value, for a fetch with the sets; `None`:
    /// every filtered user).
    pub(crate) fn stickiness(&self, mask: Option<&Members>) -> Stickiness {
        let counts: Vec<u64> = match mask {
            None => self.at_least.counts.clone(),
            Some(_) => {
                debug_assert_eq!(self.at_least.sets.len(), self.at_least.counts.len());
                self.at_least
                    .sets
                    .iter()
                    .map(|b| masked_count(b, mask))
                    .collect()
            }
        };
        let n = counts.len();
        let exactly = (0..n)
            .map(|k| counts[k].saturating_sub(counts.get(k + 1).copied().unwrap_or(0)))
            .collect();
        self.frame.answer(&self.event, exactly)
    }

    /// The users active on exactly `days` days (1-based, as `Stickiness::days[days - 1]`),
    /// for a fetch with the sets.
    pub(crate) fn bucket_users(&self, days: usize) -> Result<Bitmap> {
        let at_least = &self.at_least.sets;
        let n = at_least.len();
        if !(1..=n).contains(&days) {
            return Err(Error::invalid_arg(
                Argument::Days,
                format!("{days} is not in 1..={n} (the days of the period)"),
            ));
        }
        Ok(match at_least.get(days) {
            Some(more) => at_least[days - 1].difference(more),
            None => at_least[days - 1].clone(),
        })
    }
}

impl Bitmapist {
    /// Stickiness of `event` in the week or month (`time_group`) containing `at`; see the
    /// [`Stickiness`](crate::Stickiness) for the definition.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, TimeGroup};
    /// use chrono::{Duration, TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let monday = Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap();
    /// for d in 0..3 { bm.mark_event("active", 1).at(monday + Duration::days(d)).await?; }
    /// bm.mark_event("active", 2).at(monday).await?;
    ///
    /// let s = bm.stickiness("active", TimeGroup::Weeks, monday + Duration::days(6)).await?;
    /// assert_eq!(s.period, "2026-W47");
    /// assert_eq!(s.days, vec![1, 0, 1, 0, 0, 0, 0]);
    /// # Ok(()) }
    /// ```
    pub async fn stickiness(
        &self,
        event: &str,
        time_group: TimeGroup,
        at: DateTime<Utc>,
    ) -> Result<Stickiness> {
        self.stickiness_of(&StickinessSpec {
            event: event.to_string(),
            time_group,
            at,
            segments: Vec::new(),
        })
        .await
    }

    /// Stickiness as `spec` says, filtered by its segments.
    pub async fn stickiness_of(&self, spec: &StickinessSpec) -> Result<Stickiness> {
        let _timer = self.time(crate::telemetry::QueryKind::Stickiness);
        Ok(self.stickiness_fetch(spec, false).await?.stickiness(None))
    }

    /// Stickiness per value of `breakdown`, then for the users in none. Unfiltered, one walk
    /// of the period's days folds each key's days once and counts every value's users of
    /// each number of days; filtered, the walk builds the "at least k days" sets, and each
    /// value counts its users in them.
    pub async fn stickiness_by(
        &self,
        spec: &StickinessSpec,
        breakdown: &Breakdown,
    ) -> Result<BrokenDown<Stickiness>> {
        let _timer = self.time(crate::telemetry::QueryKind::Stickiness);
        if spec.segments.is_empty() {
            let frame = self.stickiness_frame(spec).await?;
            let values = self.breakdown_values(breakdown, spec.at, None).await?;
            let masks = value_masks(values.iter().map(|(_, m)| m));
            let count = ValueDayCount {
                days: DayCount::new(frame.keys.len(), frame.days, false)?,
                masks: ValueMasks::new(
                    format!("a breakdown value of {}", spec.event),
                    &masks.iter().collect::<Vec<_>>(),
                )?,
            };
            let what = format!("a day of {}", spec.event);
            let walked = count_stored(&what, self.store().as_ref(), &frame.keys, &count).await?;
            let per = count.exactly(walked)?;
            return Ok(BrokenDown {
                breakdown: breakdown.to_string(),
                values: values
                    .into_iter()
                    .zip(per)
                    .map(|((value, _), exactly)| BreakdownValue {
                        value,
                        result: frame.answer(&spec.event, exactly),
                    })
                    .collect(),
            });
        }
        let fetched = self.stickiness_fetch(spec, true).await?;
        let users = fetched.at_least.sets.first().cloned().unwrap_or_default();
        let values = self
            .breakdown_values(breakdown, spec.at, Some(&users))
            .await?;
        per_value(breakdown, None, values, |mask| Ok(fetched.stickiness(mask)))
    }

    /// The period of `spec`, the keys of its days that have started by `at`, and whether
    /// the retention policy pruned its first day.
    async fn stickiness_frame(&self, spec: &StickinessSpec) -> Result<StickinessFrame> {
        let (event, time_group, at) = (spec.event.as_str(), spec.time_group, spec.at);
        check_event(event)?;
        if !matches!(time_group, TimeGroup::Weeks | TimeGroup::Months) {
            return Err(Error::invalid_arg(
                Argument::TimeGroup,
                format!("stickiness is per week or month, not {time_group}"),
            ));
        }
        let period = self.period_containing(time_group, at)?;
        let local_at = self.timezone().local(at);
        let days = days_of(&period)?;
        let layout = self.layout();
        // Only days that have started by `at` are read.
        let keys: Vec<String> = days
            .iter()
            .filter(|d| d.start().is_some_and(|s| s <= local_at))
            .map(|d| layout.key(event, d))
            .collect();
        // Days are pruned oldest first: the period's first day decides.
        let horizon = self.pruned_horizon().await?;
        let pruned = days.first().is_some_and(|d| horizon.is_pruned(d));
        Ok(StickinessFrame {
            period,
            keys,
            days: days.len(),
            pruned,
        })
    }

    /// The period's day bitmaps as the store serializes them, folded (see [`Stickiness`]
    /// and [`DayCount`]); the users themselves with `sets` or segments.
    pub(crate) async fn stickiness_fetch(
        &self,
        spec: &StickinessSpec,
        sets: bool,
    ) -> Result<StickinessFetched> {
        let frame = self.stickiness_frame(spec).await?;
        let (event, at) = (spec.event.as_str(), spec.at);
        let segmented = !spec.segments.is_empty();
        let count = DayCount::new(frame.keys.len(), frame.days, sets || segmented)?;
        let walked = count_stored(
            &format!("a day of {event}"),
            self.store().as_ref(),
            &frame.keys,
            &count,
        )
        .await?;
        let mut at_least = count.at_least(walked);
        if segmented {
            let users = at_least.sets.first().cloned().unwrap_or_default();
            let filter = self
                .segment_filter(&spec.segments, at, Some(&users))
                .await?;
            at_least.sets = at_least
                .sets
                .into_iter()
                .map(|b| filtered(b, filter.as_ref()))
                .collect();
            at_least.counts = at_least.sets.iter().map(Bitmap::count).collect();
        }
        Ok(StickinessFetched {
            event: event.to_string(),
            frame,
            at_least,
        })
    }
}

/// What a stickiness reads: see [`Bitmapist::stickiness_frame`].
struct StickinessFrame {
    period: Period,
    keys: Vec<String>,
    /// The number of days of the period (read or not).
    days: usize,
    /// Whether the retention policy pruned the period's first day.
    pruned: bool,
}

impl StickinessFrame {
    /// The stickiness of `event` in the period with `exactly[k - 1]` users on `k` days.
    fn answer(&self, event: &str, exactly: Vec<u64>) -> Stickiness {
        Stickiness {
            event: event.to_string(),
            period: self.period.label(),
            start: self
                .period
                .start()
                .map(|s| s.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            days: exactly,
            pruned: self.pruned,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::containers::count_held;

    proptest! {
        /// Equals a model counting each user's days in a hash map.
        #[test]
        fn at_least_days_counts_each_users_days(
            days in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![0..300u32, 65_000..140_000u32, (u32::MAX - 5)..=u32::MAX],
                    0..200,
                ),
                0..12,
            ),
            extra in 0..4usize,
        ) {
            let bitmaps: Vec<Bitmap> = days.iter().map(|d| d.iter().copied().collect()).collect();
            let mut per_user: HashMap<u32, usize> = HashMap::new();
            for b in &bitmaps {
                for v in b.iter() {
                    *per_user.entry(v).or_default() += 1;
                }
            }
            let n = days.len() + extra;
            let serialized: Vec<Vec<u8>> = bitmaps.iter().map(crate::store::serialize).collect();
            let views: Vec<&[u8]> = serialized.iter().map(Vec::as_slice).collect();
            let at_least = |sets| {
                let count = DayCount::new(views.len(), n, sets).unwrap();
                count.at_least(count_held("e", &views, &count).unwrap())
            };
            let (got, counted) = (at_least(true), at_least(false));
            prop_assert_eq!(got.sets.len(), n);
            prop_assert!(counted.sets.is_empty());
            prop_assert_eq!(&got.counts, &counted.counts);
            for (k, set) in got.sets.iter().enumerate() {
                let mut want: Vec<u32> = per_user
                    .iter()
                    .filter(|(_, c)| **c > k)
                    .map(|(u, _)| *u)
                    .collect();
                want.sort_unstable();
                prop_assert_eq!(got.counts[k], want.len() as u64, "count of at least {} days", k + 1);
                prop_assert_eq!(set.iter().collect::<Vec<u32>>(), want, "at least {} days", k + 1);
            }
        }
    }
}
