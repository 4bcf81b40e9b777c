//! Stickiness (frequency): how many users of an event were active on exactly k days of
//! one ISO week or calendar month, computed in memory from the period's day bitmaps.

use chrono::{DateTime, Utc};
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::error::{Argument, Error, Result};
use crate::period::{Period, TimeGroup};

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
}

impl Stickiness {
    /// Users active on at least one day of the period.
    pub fn users(&self) -> u64 {
        self.days.iter().sum()
    }
}

/// `out[k-1]`: how many users are set in exactly `k` of `days`, for `k` in `1..=n` (`n`
/// at least `days.len()`; a user can be in at most `days.len()` of them).
///
/// Each user's number of days is kept in binary across bitmaps ("planes": plane `i` holds
/// the users whose count has bit `i` set): adding a day is a ripple-carry addition of
/// whole bitmaps (`plane ^= carry`, `carry = plane & carry`, a few word-wise roaring
/// operations per day), and the tally splits the users plane by plane down to one set per
/// count. So the cost is a few bitmap operations per day and per count, not the
/// `|days|²/2` of the fold in the definition (which it equals; see the tests), and no
/// per-user loop.
pub(crate) fn active_days(days: &[Bitmap], n: usize) -> Vec<u64> {
    let mut out = vec![0u64; n.max(days.len())];
    let mut planes: Vec<RoaringBitmap> = Vec::new();
    for day in days {
        let mut carry = day.bits().clone();
        for plane in &mut planes {
            if carry.is_empty() {
                break;
            }
            let next = &*plane & &carry;
            *plane ^= &carry;
            carry = next;
        }
        if !carry.is_empty() {
            planes.push(carry);
        }
    }
    let everyone = planes.iter().fold(RoaringBitmap::new(), |all, p| all | p);
    tally(everyone, &planes, 0, &mut out);
    out
}

/// Adds to `out[value + v - 1]` the users of `set` whose count's bits in `planes` make `v`
/// (the top plane first); `value` holds the bits above `planes`.
fn tally(set: RoaringBitmap, planes: &[RoaringBitmap], value: usize, out: &mut [u64]) {
    if set.is_empty() {
        return;
    }
    match planes.split_last() {
        None => {
            if let Some(o) = value.checked_sub(1).and_then(|i| out.get_mut(i)) {
                *o += set.len();
            }
        }
        Some((top, rest)) => {
            let with = &set & top;
            let without = set - top;
            tally(with, rest, value | (1 << rest.len()), out);
            tally(without, rest, value, out);
        }
    }
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
        let got = self.store().get(&keys).await?;
        let days_read: Vec<Bitmap> = got.into_iter().flatten().collect();
        let exactly = active_days(&days_read, days.len());
        Ok(Stickiness {
            event: event.to_string(),
            period: period.label(),
            start: period
                .start()
                .map(|s| s.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            days: exactly,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Equals a model counting each user's days in a hash map.
        #[test]
        fn active_days_counts_each_users_days(
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
            let mut want = vec![0u64; n];
            for c in per_user.values() {
                want[c - 1] += 1;
            }
            prop_assert_eq!(active_days(&bitmaps, n), want);
        }
    }
}
