//! What to generate: a [`SeedPlan`] names the users, the days, the end and the seed.
//!
//! Why: the plan is the whole input of the generator; validating it once here means the
//! generator and the writer can rely on its numbers (users and days within bounds, a range
//! within the supported years).
//!
//! How: a builder (`SeedPlan::new(users, days, end).seed(s).hourly(h)`); its generator is
//! [`SeedPlan::generator`].

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::{MAX_DAYS, MAX_USERS};
use crate::client::MarkOptions;
use crate::error::{Argument, Error, Result};

/// What to generate: how many users over how many days up to when, from which seed.
///
/// ```
/// use bitmapist::seed::SeedPlan;
/// use chrono::{TimeZone, Utc};
/// let end = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
/// let plan = SeedPlan::new(100_000, 365, end).seed(42).hourly(true);
/// assert_eq!(plan.start()?.to_string(), "2025-11-23");
/// assert!(SeedPlan::new(0, 365, end).validate().is_err());
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeedPlan {
    /// How many users (ids `1..=users`), at most [`MAX_USERS`].
    pub users: u32,
    /// How many calendar days, ending with the day of `end`, at most [`MAX_DAYS`].
    pub days: u32,
    /// The last instant of the range: no mark is later.
    pub end: DateTime<Utc>,
    /// The seed: the same plan gives the same marks.
    pub seed: u64,
    /// Whether the marks should also write hour keys (see [`SeedPlan::mark_options`]);
    /// the generated marks are the same either way.
    pub hourly: bool,
}

impl SeedPlan {
    /// A plan with seed 42, without hour keys.
    ///
    /// ```
    /// use bitmapist::seed::SeedPlan;
    /// let plan = SeedPlan::new(10, 7, chrono::Utc::now());
    /// assert_eq!((plan.seed, plan.hourly), (42, false));
    /// ```
    pub fn new(users: u32, days: u32, end: DateTime<Utc>) -> SeedPlan {
        SeedPlan {
            users,
            days,
            end,
            seed: 42,
            hourly: false,
        }
    }

    /// Sets the seed: the same plan with the same seed generates the same marks.
    ///
    /// ```
    /// # use bitmapist::seed::SeedPlan;
    /// let end = chrono::Utc::now();
    /// let last_day = |seed| SeedPlan::new(2_000, 7, end).seed(seed).generator()?.day(6);
    /// assert_eq!(last_day(9)?, last_day(9)?);
    /// assert_ne!(last_day(9)?.marks, last_day(10)?.marks);
    /// # Ok::<(), bitmapist::Error>(())
    /// ```
    pub fn seed(mut self, seed: u64) -> SeedPlan {
        self.seed = seed;
        self
    }

    /// Sets whether marks also write hour keys.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, seed::{self, SeedPlan}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// seed::run(&bm, &SeedPlan::new(50, 2, chrono::Utc::now()).hourly(true), |_| {}).await?;
    /// // Hour keys look like `trackist_user:logged_in_2026-11-30-9`: a day key has two dashes.
    /// let keys = bm.store().keys("trackist_user:logged_in_").await?;
    /// assert!(keys.iter().any(|k| k.matches('-').count() == 3), "{keys:?}");
    /// # Ok(()) }
    /// ```
    pub fn hourly(mut self, on: bool) -> SeedPlan {
        self.hourly = on;
        self
    }

    /// Checks the numbers: users in `1..=MAX_USERS`, days in `1..=MAX_DAYS`, and a range
    /// within the supported years.
    ///
    /// ```
    /// # use bitmapist::seed::SeedPlan;
    /// let now = chrono::Utc::now();
    /// assert!(SeedPlan::new(10, 7, now).validate().is_ok());
    /// assert!(SeedPlan::new(10, 0, now).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_USERS).contains(&self.users) {
            return Err(Error::invalid_arg(
                Argument::Users,
                format!("{} is not in 1..={MAX_USERS}", self.users),
            ));
        }
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(Error::invalid_arg(
                Argument::Days,
                format!("{} is not in 1..={MAX_DAYS}", self.days),
            ));
        }
        let start = self.start_unchecked()?;
        for date in [start, self.end.date_naive()] {
            if !(crate::period::MIN_YEAR + 1..crate::period::MAX_YEAR).contains(&date.year()) {
                return Err(Error::DateOutOfRange(format!(
                    "the seed range {start}..={} is outside the supported years",
                    self.end.date_naive()
                )));
            }
        }
        Ok(())
    }

    pub(super) fn start_unchecked(&self) -> Result<NaiveDate> {
        let back = u64::from(self.days.saturating_sub(1));
        self.end
            .date_naive()
            .checked_sub_days(chrono::Days::new(back))
            .ok_or_else(|| Error::DateOutOfRange(format!("{} days before {}", back, self.end)))
    }

    /// The first day of the range.
    ///
    /// ```
    /// # use bitmapist::seed::SeedPlan;
    /// use chrono::{TimeZone, Utc};
    /// let plan = SeedPlan::new(10, 1, Utc.with_ymd_and_hms(2026, 1, 1, 5, 0, 0).unwrap());
    /// assert_eq!(plan.start()?.to_string(), "2026-01-01");
    /// # Ok::<(), bitmapist::Error>(())
    /// ```
    pub fn start(&self) -> Result<NaiveDate> {
        self.validate()?;
        self.start_unchecked()
    }

    /// The options to mark with: hour keys as planned, the unique key as the handle says.
    ///
    /// ```
    /// # use bitmapist::seed::SeedPlan;
    /// let opts = SeedPlan::new(10, 7, chrono::Utc::now()).mark_options();
    /// assert_eq!((opts.hourly, opts.unique), (Some(false), None));
    /// ```
    pub fn mark_options(&self) -> MarkOptions {
        MarkOptions {
            hourly: Some(self.hourly),
            unique: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bad_plans_are_errors() {
        let end = Utc.with_ymd_and_hms(2026, 11, 22, 15, 30, 0).unwrap();
        assert!(SeedPlan::new(1, 1, end).validate().is_ok());
        assert!(SeedPlan::new(0, 1, end).validate().is_err());
        assert!(SeedPlan::new(1, 0, end).validate().is_err());
        assert!(SeedPlan::new(1, MAX_DAYS + 1, end).validate().is_err());
        assert!(SeedPlan::new(MAX_USERS + 1, 1, end).validate().is_err());
        let far = Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap();
        assert!(SeedPlan::new(1, 1, far).validate().is_err());
        assert!(SeedPlan::new(1, 1, far).generator().is_err());
    }
}
