//! Stickiness (frequency): how many users of an event were active on exactly k days of
//! one ISO week or calendar month, computed in memory from the period's day bitmaps.

use chrono::{DateTime, Utc};
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
        let _timer = self.time(crate::telemetry::QueryKind::Stickiness);
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
        let n = days.len();
        // at_least[k] = users active on at least k + 1 days.
        let mut at_least: Vec<Bitmap> = vec![Bitmap::new(); n];
        for (d, day) in got.into_iter().enumerate() {
            let Some(day) = day.filter(|b| !b.is_empty()) else {
                continue;
            };
            // After d + 1 days, nobody has more than d + 1 active days.
            for k in (1..=d.min(n - 1)).rev() {
                let grown = at_least[k - 1].and(&day);
                at_least[k].or_assign(&grown);
            }
            at_least[0].or_assign(&day);
        }
        let counts: Vec<u64> = at_least.iter().map(Bitmap::count).collect();
        let exactly = (0..n)
            .map(|k| counts[k].saturating_sub(counts.get(k + 1).copied().unwrap_or(0)))
            .collect();
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
