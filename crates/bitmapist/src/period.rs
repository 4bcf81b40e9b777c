//! Time groups and periods: the hour, day, ISO week, month or year an event falls in.
//! Period arithmetic (next, previous, offset by n, distance) and start/end instants.
//!
//! A period is a span of wall-clock time with no zone of its own: [`Period::start`] and
//! [`Period::end`] are naive; [`Zone::start`](crate::Zone::start) and
//! [`Zone::end`](crate::Zone::end) give its instants on a store's zone, and
//! [`Period::containing`] and [`Period::start_utc`] read it on UTC's. Years range over 1..=9999, as in Python's `datetime`, so that
//! every period's start, end and neighbours are representable; a time outside that range
//! is an [`Error::DateOutOfRange`], never a panic.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{Argument, Error, Result};

/// The first year a period may fall in.
pub const MIN_YEAR: i32 = 1;
/// The last year a period may fall in.
pub const MAX_YEAR: i32 = 9999;

/// The size of a period: what Python bitmapist calls `time_group`.
///
/// Parses from Python bitmapist's plural names (`"days"`) and from the singular (`"day"`),
/// case-insensitively.
///
/// ```
/// use bitmapist::TimeGroup;
/// assert_eq!("weeks".parse::<TimeGroup>().unwrap(), TimeGroup::Weeks);
/// assert!("fortnights".parse::<TimeGroup>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeGroup {
    /// Hours (only meaningful when hourly tracking is on).
    Hours,
    /// Days.
    Days,
    /// ISO weeks, Monday to Sunday.
    Weeks,
    /// Calendar months.
    Months,
    /// Calendar years (read as the union of their twelve months).
    Years,
}

impl TimeGroup {
    /// Every time group, smallest first.
    pub const ALL: [TimeGroup; 5] = [
        TimeGroup::Hours,
        TimeGroup::Days,
        TimeGroup::Weeks,
        TimeGroup::Months,
        TimeGroup::Years,
    ];

    /// Python bitmapist's name: `"hours"`, `"days"`, `"weeks"`, `"months"`, `"years"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeGroup::Hours => "hours",
            TimeGroup::Days => "days",
            TimeGroup::Weeks => "weeks",
            TimeGroup::Months => "months",
            TimeGroup::Years => "years",
        }
    }
}

impl TimeGroup {
    /// The singular unit, for labels: `"hour"`, `"day"`, `"week"`, `"month"`, `"year"`.
    ///
    /// ```
    /// use bitmapist::TimeGroup;
    /// assert_eq!(TimeGroup::Weeks.unit(), "week");
    /// assert_eq!(TimeGroup::Weeks.unit().parse::<TimeGroup>()?, TimeGroup::Weeks);
    /// # Ok::<(), bitmapist::Error>(())
    /// ```
    pub fn unit(self) -> &'static str {
        match self {
            TimeGroup::Hours => "hour",
            TimeGroup::Days => "day",
            TimeGroup::Weeks => "week",
            TimeGroup::Months => "month",
            TimeGroup::Years => "year",
        }
    }
}

impl fmt::Display for TimeGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TimeGroup {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let group = match lower.strip_suffix('s').unwrap_or(&lower) {
            "hour" => TimeGroup::Hours,
            "day" => TimeGroup::Days,
            "week" => TimeGroup::Weeks,
            "month" => TimeGroup::Months,
            "year" => TimeGroup::Years,
            _ => return Err(Error::UnknownTimeGroup(s.to_string())),
        };
        Ok(group)
    }
}

/// One period: an hour, a day, an ISO week, a month, a year, or "unique" (date-less).
///
/// ```
/// use bitmapist::{Period, TimeGroup};
/// use chrono::{TimeZone, Utc};
///
/// let t = Utc.with_ymd_and_hms(2024, 12, 30, 15, 0, 0).unwrap();
/// let week = Period::containing(TimeGroup::Weeks, t)?;
/// assert_eq!(week.iso_week(), Some((2025, 1)));
/// assert_eq!(week.prev()?.iso_week(), Some((2024, 52)));
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period(Repr);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Hour(NaiveDate, u8),
    Day(NaiveDate),
    /// The Monday that starts the ISO week.
    Week(NaiveDate),
    /// The first day of the month.
    Month(NaiveDate),
    Year(i32),
    Unique,
}

fn check_year(year: i32) -> Result<()> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(Error::DateOutOfRange(format!(
            "year {year} is outside {MIN_YEAR}..={MAX_YEAR}"
        )))
    }
}

fn ymd(year: i32, month: u32, day: u32) -> Result<NaiveDate> {
    check_year(year)?;
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| Error::DateOutOfRange(format!("no date {year}-{month}-{day}")))
}

fn monday_of(date: NaiveDate) -> Result<NaiveDate> {
    let back = u64::from(date.weekday().num_days_from_monday());
    date.checked_sub_days(chrono::Days::new(back))
        .ok_or_else(|| Error::DateOutOfRange(format!("week of {date}")))
}

impl Period {
    /// The period of the given size that contains `at`.
    pub fn containing(group: TimeGroup, at: DateTime<Utc>) -> Result<Period> {
        let naive = at.naive_utc();
        let date = naive.date();
        check_year(date.year())?;
        // Hour of a valid time is 0..=23.
        let hour = u8::try_from(chrono::Timelike::hour(&naive)).unwrap_or(0);
        let repr = match group {
            TimeGroup::Hours => Repr::Hour(date, hour),
            TimeGroup::Days => Repr::Day(date),
            TimeGroup::Weeks => Repr::Week(monday_of(date)?),
            TimeGroup::Months => Repr::Month(ymd(date.year(), date.month(), 1)?),
            TimeGroup::Years => Repr::Year(date.year()),
        };
        Ok(Period(repr))
    }

    /// The hour `hour` (0..=23) of `date`.
    pub fn hour(date: NaiveDate, hour: u32) -> Result<Period> {
        check_year(date.year())?;
        let h = u8::try_from(hour).ok().filter(|h| *h < 24).ok_or_else(|| {
            Error::invalid_arg(Argument::Hour, format!("{hour} is not in 0..=23"))
        })?;
        Ok(Period(Repr::Hour(date, h)))
    }

    /// The day `date`.
    pub fn day(date: NaiveDate) -> Result<Period> {
        check_year(date.year())?;
        Ok(Period(Repr::Day(date)))
    }

    /// The ISO week that contains `date`.
    pub fn week_of(date: NaiveDate) -> Result<Period> {
        check_year(date.year())?;
        Ok(Period(Repr::Week(monday_of(date)?)))
    }

    /// ISO week `week` of ISO year `iso_year` (weeks 1..=52 or 53).
    pub fn week(iso_year: i32, week: u32) -> Result<Period> {
        check_year(iso_year)?;
        let monday = NaiveDate::from_isoywd_opt(iso_year, week, Weekday::Mon).ok_or_else(|| {
            Error::invalid_arg(
                Argument::Week,
                format!("ISO year {iso_year} has no week {week}"),
            )
        })?;
        check_year(monday.year())?;
        Ok(Period(Repr::Week(monday)))
    }

    /// Month `month` (1..=12) of `year`.
    pub fn month(year: i32, month: u32) -> Result<Period> {
        if !(1..=12).contains(&month) {
            return Err(Error::invalid_arg(
                Argument::Month,
                format!("{month} is not in 1..=12"),
            ));
        }
        Ok(Period(Repr::Month(ymd(year, month, 1)?)))
    }

    /// The calendar year `year`.
    pub fn year(year: i32) -> Result<Period> {
        check_year(year)?;
        Ok(Period(Repr::Year(year)))
    }

    /// The date-less period of unique events (`trackist_{event}_u`).
    pub fn unique() -> Period {
        Period(Repr::Unique)
    }

    /// This period's size; `None` for the unique period.
    pub fn time_group(&self) -> Option<TimeGroup> {
        Some(match self.0 {
            Repr::Hour(..) => TimeGroup::Hours,
            Repr::Day(_) => TimeGroup::Days,
            Repr::Week(_) => TimeGroup::Weeks,
            Repr::Month(_) => TimeGroup::Months,
            Repr::Year(_) => TimeGroup::Years,
            Repr::Unique => return None,
        })
    }

    /// Whether this is the date-less unique period.
    pub fn is_unique(&self) -> bool {
        matches!(self.0, Repr::Unique)
    }

    /// The first instant of the period (midnight of the day, the ISO Monday of the week,
    /// the 1st of the month, January 1st of the year); `None` for the unique period.
    pub fn start(&self) -> Option<NaiveDateTime> {
        let midnight = NaiveTime::MIN;
        Some(match self.0 {
            Repr::Hour(d, h) => d.and_time(NaiveTime::from_hms_opt(u32::from(h), 0, 0)?),
            Repr::Day(d) | Repr::Week(d) | Repr::Month(d) => d.and_time(midnight),
            Repr::Year(y) => NaiveDate::from_ymd_opt(y, 1, 1)?.and_time(midnight),
            Repr::Unique => return None,
        })
    }

    /// [`Period::start`] as a UTC instant.
    pub fn start_utc(&self) -> Option<DateTime<Utc>> {
        self.start().map(|s| s.and_utc())
    }

    /// The first instant after the period (the next period's start); `None` for the
    /// unique period.
    pub fn end(&self) -> Option<NaiveDateTime> {
        let midnight = NaiveTime::MIN;
        Some(match self.0 {
            Repr::Year(y) => NaiveDate::from_ymd_opt(y.checked_add(1)?, 1, 1)?.and_time(midnight),
            Repr::Month(d) => d
                .checked_add_months(chrono::Months::new(1))?
                .and_time(midnight),
            Repr::Unique => return None,
            _ => {
                let step = match self.0 {
                    Repr::Hour(..) => Duration::hours(1),
                    Repr::Day(_) => Duration::days(1),
                    _ => Duration::days(7),
                };
                self.start()?.checked_add_signed(step)?
            }
        })
    }

    /// The period `n` periods later (earlier when `n` is negative).
    pub fn offset(&self, n: i64) -> Result<Period> {
        let out_of_range = || Error::DateOutOfRange(format!("{self} offset by {n}"));
        let shift_days = |d: NaiveDate, days: i64| -> Result<NaiveDate> {
            let delta = Duration::try_days(days).ok_or_else(out_of_range)?;
            let moved = d.checked_add_signed(delta).ok_or_else(out_of_range)?;
            check_year(moved.year()).map_err(|_| out_of_range())?;
            Ok(moved)
        };
        let repr = match self.0 {
            Repr::Hour(d, h) => {
                let start = d.and_time(NaiveTime::MIN) + Duration::hours(i64::from(h));
                let delta = Duration::try_hours(n).ok_or_else(out_of_range)?;
                let t = start.checked_add_signed(delta).ok_or_else(out_of_range)?;
                check_year(t.date().year()).map_err(|_| out_of_range())?;
                let hour = u8::try_from(chrono::Timelike::hour(&t)).unwrap_or(0);
                Repr::Hour(t.date(), hour)
            }
            Repr::Day(d) => Repr::Day(shift_days(d, n)?),
            Repr::Week(d) => Repr::Week(shift_days(d, n.checked_mul(7).ok_or_else(out_of_range)?)?),
            Repr::Month(d) => {
                let index = i64::from(d.year()) * 12 + i64::from(d.month0());
                let target = index.checked_add(n).ok_or_else(out_of_range)?;
                let year = i32::try_from(target.div_euclid(12)).map_err(|_| out_of_range())?;
                let month = u32::try_from(target.rem_euclid(12)).map_err(|_| out_of_range())? + 1;
                Repr::Month(ymd(year, month, 1).map_err(|_| out_of_range())?)
            }
            Repr::Year(y) => {
                let target = i64::from(y).checked_add(n).ok_or_else(out_of_range)?;
                let year = i32::try_from(target).map_err(|_| out_of_range())?;
                check_year(year).map_err(|_| out_of_range())?;
                Repr::Year(year)
            }
            Repr::Unique => Repr::Unique,
        };
        Ok(Period(repr))
    }

    /// The next period of the same size.
    pub fn next(&self) -> Result<Period> {
        self.offset(1)
    }

    /// The previous period of the same size.
    pub fn prev(&self) -> Result<Period> {
        self.offset(-1)
    }

    /// How many periods `other` lies after `self` (negative if before); `None` when the
    /// two are of different sizes or unique.
    ///
    /// `a.offset(a.periods_until(&b)?)? == b` for periods of the same size.
    pub fn periods_until(&self, other: &Period) -> Option<i64> {
        Some(match (self.0, other.0) {
            (Repr::Hour(..), Repr::Hour(..)) => (other.start()? - self.start()?).num_hours(),
            (Repr::Day(a), Repr::Day(b)) => (b - a).num_days(),
            (Repr::Week(a), Repr::Week(b)) => (b - a).num_days() / 7,
            (Repr::Month(a), Repr::Month(b)) => {
                (i64::from(b.year()) * 12 + i64::from(b.month0()))
                    - (i64::from(a.year()) * 12 + i64::from(a.month0()))
            }
            (Repr::Year(a), Repr::Year(b)) => i64::from(b) - i64::from(a),
            _ => return None,
        })
    }

    /// For a week: its ISO year and ISO week number.
    pub fn iso_week(&self) -> Option<(i32, u32)> {
        match self.0 {
            Repr::Week(monday) => {
                let w = monday.iso_week();
                Some((w.year(), w.week()))
            }
            _ => None,
        }
    }

    /// For a year: the twelve months it is read from.
    pub fn months(&self) -> Option<[Period; 12]> {
        match self.0 {
            Repr::Year(y) => {
                let mut out = [Period(Repr::Year(y)); 12];
                for (i, slot) in out.iter_mut().enumerate() {
                    let month = u32::try_from(i).ok()? + 1;
                    *slot = Period(Repr::Month(NaiveDate::from_ymd_opt(y, month, 1)?));
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// Writes the key suffix Python bitmapist uses, with no zero padding:
    /// `2024-3-5-7` (hour), `2024-3-5` (day), `W2025-1` (ISO week), `2024-3` (month),
    /// `u` (unique). A year has no key of its own: see [`Period::months`]; for a year this
    /// writes the bare year, which no key uses.
    pub fn write_suffix(&self, out: &mut String) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = match self.0 {
            Repr::Hour(d, h) => write!(out, "{}-{}-{}-{}", d.year(), d.month(), d.day(), h),
            Repr::Day(d) => write!(out, "{}-{}-{}", d.year(), d.month(), d.day()),
            Repr::Week(d) => {
                let w = d.iso_week();
                write!(out, "W{}-{}", w.year(), w.week())
            }
            Repr::Month(d) => write!(out, "{}-{}", d.year(), d.month()),
            Repr::Year(y) => write!(out, "{y}"),
            Repr::Unique => write!(out, "u"),
        };
    }

    /// Reads a key suffix written by [`Period::write_suffix`] (or by Python bitmapist).
    pub fn parse_suffix(suffix: &str) -> Option<Period> {
        if suffix == "u" {
            return Some(Period::unique());
        }
        if let Some(week) = suffix.strip_prefix('W') {
            let (y, w) = week.split_once('-')?;
            return Period::week(parse_num(y)?, parse_num(w)?).ok();
        }
        let mut parts = suffix.split('-');
        let year: i32 = parse_num(parts.next()?)?;
        let month: u32 = parse_num(parts.next()?)?;
        let day = parts.next().map(parse_num::<u32>);
        let hour = parts.next().map(parse_num::<u32>);
        if parts.next().is_some() {
            return None;
        }
        match (day, hour) {
            (None, None) => Period::month(year, month).ok(),
            (Some(d), None) => Period::day(ymd(year, month, d?).ok()?).ok(),
            (Some(d), Some(h)) => Period::hour(ymd(year, month, d?).ok()?, h?).ok(),
            (None, Some(_)) => None,
        }
    }

    /// A label for people: `2026-11-22 13:00`, `2026-11-22`, `2026-W47`, `Nov 2026`,
    /// `2026`, `unique`.
    pub fn label(&self) -> String {
        match self.0 {
            Repr::Hour(d, h) => format!("{d} {h:02}:00"),
            Repr::Day(d) => d.to_string(),
            Repr::Week(d) => {
                let w = d.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Repr::Month(d) => d.format("%b %Y").to_string(),
            Repr::Year(y) => y.to_string(),
            Repr::Unique => "unique".to_string(),
        }
    }
}

/// Parses a number as Python's `%s` writes it: digits, no sign, no zero padding (so that
/// a parsed suffix always names the key it came from).
fn parse_num<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}
