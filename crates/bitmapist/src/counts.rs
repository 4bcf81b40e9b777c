//! Counting many events over many periods in one batch: the table behind the dashboard's
//! overview and the CLI's `events`, one store round trip per kind of period.

use crate::bitmap::Bitmap;
use crate::client::{Bitmapist, check_event};
use crate::error::Result;
use crate::period::Period;

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
