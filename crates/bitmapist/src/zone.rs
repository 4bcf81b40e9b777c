//! The store's time zone: which wall clock periods follow (UTC unless configured).
//! Converting instants to local periods, and local period bounds back to instants, across DST.

use std::fmt;
use std::str::FromStr;

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::period::{MAX_YEAR, MIN_YEAR, Period, TimeGroup};

/// `BITMAPIST_TIMEZONE`: the store's IANA time zone (default `UTC`).
pub const ENV_TIMEZONE: &str = "BITMAPIST_TIMEZONE";

/// An IANA time zone that periods follow; [`Zone::UTC`] by default.
///
/// Parses from IANA names (`Europe/Berlin`, `America/New_York`, `UTC`), case-insensitively.
///
/// ```
/// use bitmapist::Zone;
/// let berlin: Zone = "europe/berlin".parse()?;
/// assert_eq!(berlin.name(), "Europe/Berlin");
/// assert_eq!(Zone::default(), Zone::UTC);
/// assert!("Mars/Olympus".parse::<Zone>().unwrap_err().to_string().contains("Mars/Olympus"));
/// # Ok::<(), bitmapist::Error>(())
/// ```
///
/// # Details
///
/// A store has one [`Zone`], an IANA name such as `Europe/Berlin` (`BITMAPIST_TIMEZONE`,
/// [`Builder::timezone`](crate::Builder::timezone), the CLI's `--timezone`). Marking buckets
/// an instant by its **local wall clock**, exactly as Python bitmapist 3.116+ does with a
/// zone-aware `datetime`: the key's year, month, day and hour are the local ones, the ISO
/// week is the local date's ISO week. Queries use the same zone: the period "containing
/// now", period starts and ends, cohort rows.
///
/// Daylight saving time follows from bucketing by wall clock:
///
/// - a spring-forward day has 23 hours and a fall-back day 25: a day period runs from
///   local midnight to the next local midnight, whatever their distance;
/// - on fall-back, the repeated hour (01:30 EDT and 01:30 EST in New York) is one hour
///   key, covering two real hours;
/// - on spring-forward the skipped hour (02:00 to 03:00 in New York) has no key: no
///   instant falls in it, so its count is always 0, and hour arithmetic (cohort rows of
///   hours) still steps through it as an empty period;
/// - a period's start that falls in a gap (a zone whose midnight is skipped) is the first
///   instant after the gap; one that falls in a repeated hour is its earlier instant.
///
/// ```
/// use bitmapist::{TimeGroup, Zone};
/// use chrono::{TimeZone, Utc};
///
/// let ny: Zone = "America/New_York".parse()?;
/// // 23:30 in New York on 2025-01-13 is 04:30 UTC on the 14th; its day is the 13th.
/// let at = Utc.with_ymd_and_hms(2025, 1, 14, 4, 30, 0).unwrap();
/// let day = ny.period_containing(TimeGroup::Days, at)?;
/// assert_eq!(day.label(), "2025-01-13");
/// assert_eq!(ny.start(&day).unwrap(), Utc.with_ymd_and_hms(2025, 1, 13, 5, 0, 0).unwrap());
///
/// // The fall-back day 2025-11-02 has 25 hours.
/// let fall = ny.period_containing(TimeGroup::Days, Utc.with_ymd_and_hms(2025, 11, 2, 12, 0, 0).unwrap())?;
/// assert_eq!((ny.end(&fall).unwrap() - ny.start(&fall).unwrap()).num_hours(), 25);
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

impl Default for Zone {
    fn default() -> Self {
        Zone::UTC
    }
}

impl From<Tz> for Zone {
    fn from(tz: Tz) -> Self {
        Zone(tz)
    }
}

impl FromStr for Zone {
    type Err = Error;
    fn from_str(s: &str) -> Result<Zone> {
        let name = s.trim();
        name.parse::<Tz>()
            .ok()
            .or_else(|| {
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .find(|tz| tz.name().eq_ignore_ascii_case(name))
                    .copied()
            })
            .map(Zone)
            .ok_or(())
            .map_err(|_| Error::UnknownTimeZone(s.to_string()))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Zone {
    /// UTC: what every store used before zones existed.
    pub const UTC: Zone = Zone(Tz::UTC);

    /// The `chrono-tz` zone.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The IANA name (`Europe/Berlin`).
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Whether this zone is UTC (including its aliases `Etc/UTC`, `UCT`, `Zulu`, ...).
    pub fn is_utc(&self) -> bool {
        matches!(
            self.name(),
            "UTC"
                | "Etc/UTC"
                | "Etc/UCT"
                | "Etc/Universal"
                | "Etc/Zulu"
                | "UCT"
                | "Universal"
                | "Zulu"
        )
    }

    /// The local wall-clock time of an instant.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        if self.0 == Tz::UTC {
            return at.naive_utc();
        }
        at.with_timezone(&self.0).naive_local()
    }

    /// The instant a local wall-clock time names: the only one, the earlier of two (a
    /// repeated fall-back time), or the first instant after the gap (a skipped
    /// spring-forward time). `None` only at the ends of the representable range.
    pub fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
            LocalResult::None => self.after_gap(local),
        }
    }

    /// The first instant whose local time is at or after `local`, which lies in a gap:
    /// a binary search over the instants within a day of it (no zone's offset reaches 16
    /// hours, and no zone has a gap and a repeat within a day of each other).
    fn after_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let reach = Duration::hours(16);
        let base = local.and_utc();
        let mut lo = base.checked_sub_signed(reach)?; // local(lo) < local
        let mut hi = base.checked_add_signed(reach)?; // local(hi) >= local
        while hi - lo > Duration::seconds(1) {
            let mid = lo + (hi - lo) / 2;
            if self.local(mid) >= local {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    /// The `rows` periods of `group` that end with the local period containing `now`,
    /// oldest first: the rows of a cohort table or a funnel.
    pub(crate) fn periods_up_to(
        &self,
        group: TimeGroup,
        now: DateTime<Utc>,
        rows: usize,
    ) -> Result<Vec<Period>> {
        let too_large = || crate::Error::invalid_arg(crate::Argument::Rows, "too large");
        let back = rows
            .checked_sub(1)
            .and_then(|b| i64::try_from(b).ok())
            .ok_or_else(too_large)?;
        let first = self.period_containing(group, now)?.offset(-back)?;
        (0..=back).map(|i| first.offset(i)).collect()
    }

    /// The period of the given size that contains instant `at` on this zone's wall clock.
    pub fn period_containing(&self, group: TimeGroup, at: DateTime<Utc>) -> Result<Period> {
        containing_local(group, self.local(at))
    }

    /// The first instant of a period on this zone's wall clock; `None` for the unique period.
    pub fn start(&self, period: &Period) -> Option<DateTime<Utc>> {
        self.instant(period.start()?)
    }

    /// The first instant after a period (the next period's start); `None` for the unique
    /// period. `end - start` is 23 or 25 hours for a day with a DST change.
    pub fn end(&self, period: &Period) -> Option<DateTime<Utc>> {
        self.instant(period.end()?)
    }

    /// A note for people: `times in Europe/Berlin`.
    pub fn note(&self) -> String {
        format!("times in {}", self.name())
    }
}

/// The local date and hour of a mark, checked against the supported years.
pub(crate) fn date_hour(zone: &Zone, at: DateTime<Utc>) -> Result<(chrono::NaiveDate, u32)> {
    let local = zone.local(at);
    let date = local.date();
    if !(MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        return Err(Error::DateOutOfRange(format!(
            "{at} ({local} in {zone}) is outside the supported years"
        )));
    }
    Ok((date, local.hour()))
}

/// The period of the given size that contains a wall-clock time.
pub fn containing_local(group: TimeGroup, local: NaiveDateTime) -> Result<Period> {
    let date = local.date();
    match group {
        TimeGroup::Hours => Period::hour(date, local.hour()),
        TimeGroup::Days => Period::day(date),
        TimeGroup::Weeks => Period::week_of(date),
        TimeGroup::Months => Period::month(date.year(), date.month()),
        TimeGroup::Years => Period::year(date.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid")
    }

    fn zone(name: &str) -> Zone {
        name.parse().expect("zone")
    }

    #[test]
    fn local_midnight_bucket() {
        let ny = zone("America/New_York");
        let day = ny
            .period_containing(TimeGroup::Days, utc(2025, 1, 14, 4, 30))
            .expect("day");
        assert_eq!(day.label(), "2025-01-13");
        assert_eq!(
            Zone::UTC
                .period_containing(TimeGroup::Days, utc(2025, 1, 14, 4, 30))
                .expect("day")
                .label(),
            "2025-01-14"
        );
    }

    #[test]
    fn dst_day_lengths() {
        let ny = zone("America/New_York");
        let hours = |y, m, d| {
            let p = Period::day(NaiveDate::from_ymd_opt(y, m, d).expect("date")).expect("day");
            (ny.end(&p).expect("end") - ny.start(&p).expect("start")).num_hours()
        };
        assert_eq!(hours(2025, 3, 9), 23);
        assert_eq!(hours(2025, 11, 2), 25);
        assert_eq!(hours(2025, 7, 1), 24);
    }

    #[test]
    fn fall_back_hour_is_one_key_and_spring_forward_hour_has_none() {
        let ny = zone("America/New_York");
        // 01:30 EDT = 05:30 UTC, 01:30 EST = 06:30 UTC on 2025-11-02.
        let a = ny.period_containing(TimeGroup::Hours, utc(2025, 11, 2, 5, 30));
        let b = ny.period_containing(TimeGroup::Hours, utc(2025, 11, 2, 6, 30));
        assert_eq!(a.expect("a"), b.expect("b"));
        // 2025-03-09: 01:59 EST = 06:59 UTC, then 03:00 EDT = 07:00 UTC.
        let before = ny
            .period_containing(TimeGroup::Hours, utc(2025, 3, 9, 6, 59))
            .expect("before");
        let after = ny
            .period_containing(TimeGroup::Hours, utc(2025, 3, 9, 7, 0))
            .expect("after");
        assert_eq!(before.label(), "2025-03-09 01:00");
        assert_eq!(after.label(), "2025-03-09 03:00");
        let skipped = before.next().expect("next");
        assert_eq!(skipped.label(), "2025-03-09 02:00");
        // The skipped hour starts and ends at the same instant: it is empty.
        assert_eq!(ny.start(&skipped), ny.end(&skipped));
        assert_eq!(ny.start(&skipped), Some(utc(2025, 3, 9, 7, 0)));
    }

    #[test]
    fn repeated_time_starts_at_its_earlier_instant() {
        let ny = zone("America/New_York");
        let hour = Period::hour(NaiveDate::from_ymd_opt(2025, 11, 2).expect("d"), 1).expect("h");
        assert_eq!(ny.start(&hour), Some(utc(2025, 11, 2, 5, 0)));
        assert_eq!(ny.end(&hour), Some(utc(2025, 11, 2, 7, 0)));
    }

    #[test]
    fn skipped_midnight_starts_after_the_gap() {
        // Santiago springs forward at local midnight: 2024-09-08 00:00 does not exist.
        let scl = zone("America/Santiago");
        let day = Period::day(NaiveDate::from_ymd_opt(2024, 9, 8).expect("d")).expect("day");
        let start = scl.start(&day).expect("start");
        assert_eq!(scl.local(start).to_string(), "2024-09-08 01:00:00");
        assert_eq!(start, utc(2024, 9, 8, 4, 0));
    }

    #[test]
    fn names() {
        assert!(zone("UTC").is_utc());
        assert!(zone("Etc/UTC").is_utc());
        assert!(!zone("Europe/Berlin").is_utc());
        assert_eq!(zone("Europe/Berlin").note(), "times in Europe/Berlin");
        assert!(matches!(
            "Nowhere".parse::<Zone>(),
            Err(Error::UnknownTimeZone(_))
        ));
    }
}
