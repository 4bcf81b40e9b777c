//! Data retention: how long each time group's keys are kept ([`KeepPolicy`],
//! `BITMAPIST_KEEP=hour:7d,day:400d`), and the [`Horizon`] a prune records in the store so
//! that every reader knows which periods are gone.
//!
//! # Why
//!
//! Nothing else ever deletes an event key: hour keys grow by 24 per event per day forever,
//! although most teams keep hours for days and days for a year or so. Weeks, months and
//! unique keys are few and are what long-range questions read, so they are kept unless the
//! policy names them.
//!
//! # How
//!
//! A policy maps a time group (hour, day, week, month) to a length (`7d`, `400d`, `12w`,
//! `24m`, `2y`, `48h`). At local time `now` (the store's zone), the window of a group is
//! `[now - length, now]`; the **oldest period kept** is the group's period that contains
//! `now - length`, and every period of the group that starts before it lies wholly outside
//! the window: its keys are deleted. The horizon is that oldest kept period per group. It
//! is recorded in the store's metadata (`{prefix}.pruned`, beside the zone record) before
//! a prune deletes anything, so that readers without the policy know which periods were
//! pruned ([`Horizon::is_pruned`]).
//!
//! # Invariants
//!
//! - Only keys that parse as an event key of the layout, of a group the policy names, and
//!   whose period starts before that group's horizon are ever selected
//!   ([`Horizon::drops_key`]); unique keys, Python's `bitop_` keys and keys of other
//!   prefixes never are.
//! - A recorded horizon only moves forward: recording merges with the record, per group,
//!   keeping the later period (data deleted under a shorter policy stays deleted when
//!   the policy grows).
//! - Years have no keys of their own: a year is pruned when one of its months is.
//!
//! # What a crash can lose
//!
//! Nothing that the policy keeps. The horizon is recorded before the first delete, so a
//! crash during a prune leaves some periods recorded as pruned that still hold data (the
//! next prune deletes them), never deleted periods that read as zeros.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, Months, NaiveDateTime};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::key::KeyLayout;
use crate::period::{Period, TimeGroup};
use crate::zone::containing_local;

/// `BITMAPIST_KEEP`: the retention policy, e.g. `hour:7d,day:400d`.
pub const ENV_KEEP: &str = "BITMAPIST_KEEP";

/// The argument name of a bad policy in errors.
const KEEP_ARG: &str = "keep";

/// The time groups a policy may name, in the order policies are printed.
const PRUNABLE: [TimeGroup; 4] = [
    TimeGroup::Hours,
    TimeGroup::Days,
    TimeGroup::Weeks,
    TimeGroup::Months,
];

/// The unit of a [`Keep`] length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepUnit {
    /// `h`
    Hours,
    /// `d`
    Days,
    /// `w`: 7 days.
    Weeks,
    /// `m`: calendar months.
    Months,
    /// `y`: 12 calendar months.
    Years,
}

impl KeepUnit {
    fn letter(self) -> char {
        match self {
            KeepUnit::Hours => 'h',
            KeepUnit::Days => 'd',
            KeepUnit::Weeks => 'w',
            KeepUnit::Months => 'm',
            KeepUnit::Years => 'y',
        }
    }
}

/// How long one time group's keys are kept: `count` units back from now.
///
/// ```
/// use bitmapist::{Keep, KeepUnit};
/// let keep: Keep = "400d".parse()?;
/// assert_eq!(keep, Keep { count: 400, unit: KeepUnit::Days });
/// assert_eq!(keep.to_string(), "400d");
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Keep {
    /// How many units (at least 1).
    pub count: u32,
    /// The unit.
    pub unit: KeepUnit,
}

impl Keep {
    /// The local time `count` units before `local_now`; `None` outside chrono's range.
    pub fn cutoff(&self, local_now: NaiveDateTime) -> Option<NaiveDateTime> {
        let n = i64::from(self.count);
        match self.unit {
            KeepUnit::Hours => local_now.checked_sub_signed(Duration::try_hours(n)?),
            KeepUnit::Days => local_now.checked_sub_signed(Duration::try_days(n)?),
            KeepUnit::Weeks => local_now.checked_sub_signed(Duration::try_weeks(n)?),
            KeepUnit::Months => local_now.checked_sub_months(Months::new(self.count)),
            KeepUnit::Years => {
                local_now.checked_sub_months(Months::new(self.count.checked_mul(12)?))
            }
        }
    }
}

impl fmt::Display for Keep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.letter())
    }
}

impl FromStr for Keep {
    type Err = Error;
    fn from_str(s: &str) -> Result<Keep> {
        let s = s.trim();
        let bad = |why: &str| {
            Error::invalid(
                KEEP_ARG,
                format!("{s:?} is not a length: {why} (e.g. 48h, 7d, 12w, 24m, 2y)"),
            )
        };
        let Some(letter) = s.chars().last() else {
            return Err(bad("it is empty"));
        };
        let unit = match letter.to_ascii_lowercase() {
            'h' => KeepUnit::Hours,
            'd' => KeepUnit::Days,
            'w' => KeepUnit::Weeks,
            'm' => KeepUnit::Months,
            'y' => KeepUnit::Years,
            _ => return Err(bad("it must end with a unit h, d, w, m or y")),
        };
        let digits = &s[..s.len() - letter.len_utf8()];
        let count: u32 = digits
            .parse()
            .map_err(|_| bad("it must be a whole number followed by a unit"))?;
        if count == 0 {
            return Err(bad("keeping nothing would delete the current period"));
        }
        // Far beyond any store's history, and keeps every cutoff computable.
        if count > 100_000 {
            return Err(bad("it is longer than 100,000 units"));
        }
        Ok(Keep { count, unit })
    }
}

/// A retention policy: how long each named time group's keys are kept. Groups not named
/// (and unique keys) are kept forever.
///
/// ```
/// use bitmapist::{KeepPolicy, TimeGroup};
/// let policy: KeepPolicy = "hour:7d, day:400d".parse()?;
/// assert_eq!(policy.get(TimeGroup::Hours).map(|k| k.to_string()), Some("7d".to_string()));
/// assert_eq!(policy.get(TimeGroup::Weeks), None);
/// assert_eq!(policy.to_string(), "hour:7d,day:400d");
/// assert!("year:2y".parse::<KeepPolicy>().is_err());
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeepPolicy {
    keeps: [Option<Keep>; 4],
}

fn slot(group: TimeGroup) -> Option<usize> {
    PRUNABLE.iter().position(|g| *g == group)
}

impl KeepPolicy {
    /// A policy that keeps everything.
    pub fn new() -> Self {
        KeepPolicy::default()
    }

    /// The policy with `group` kept for `keep`. Years have no keys of their own (name
    /// months instead): an error.
    pub fn with(mut self, group: TimeGroup, keep: Keep) -> Result<Self> {
        let i = slot(group).ok_or_else(|| {
            Error::invalid(
                KEEP_ARG,
                "years have no keys of their own (a year is read from its months): name month instead",
            )
        })?;
        self.keeps[i] = Some(keep);
        Ok(self)
    }

    /// How long `group` is kept; `None` when forever.
    pub fn get(&self, group: TimeGroup) -> Option<Keep> {
        slot(group).and_then(|i| self.keeps[i])
    }

    /// Whether the policy keeps everything.
    pub fn is_empty(&self) -> bool {
        self.keeps.iter().all(Option::is_none)
    }

    /// The named groups and their lengths, hours first.
    pub fn entries(&self) -> impl Iterator<Item = (TimeGroup, Keep)> + '_ {
        PRUNABLE
            .iter()
            .zip(&self.keeps)
            .filter_map(|(g, k)| k.map(|k| (*g, k)))
    }

    /// The horizon at local time `local_now`: per named group, the oldest period kept.
    pub fn horizon(&self, local_now: NaiveDateTime) -> Result<Horizon> {
        let mut horizon = Horizon::default();
        for (group, keep) in self.entries() {
            let cutoff = keep.cutoff(local_now).ok_or_else(|| {
                Error::invalid(
                    KEEP_ARG,
                    format!("{keep} before {local_now} is out of range"),
                )
            })?;
            // Before the first supported year, nothing can be older: keep everything.
            if let Ok(oldest) = containing_local(group, cutoff) {
                horizon.set(group, oldest);
            }
        }
        Ok(horizon)
    }
}

impl fmt::Display for KeepPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .entries()
            .map(|(g, k)| format!("{}:{k}", singular(g)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// `hour`, `day`, `week`, `month`, `year`.
fn singular(group: TimeGroup) -> &'static str {
    let s = group.as_str();
    s.strip_suffix('s').unwrap_or(s)
}

impl FromStr for KeepPolicy {
    type Err = Error;
    /// `GROUP:LENGTH[,GROUP:LENGTH...]`, groups `hour`, `day`, `week`, `month` (plural
    /// accepted), each at most once. An empty string keeps everything.
    fn from_str(s: &str) -> Result<KeepPolicy> {
        let mut policy = KeepPolicy::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((group, length)) = part.split_once(':') else {
                return Err(Error::invalid(
                    KEEP_ARG,
                    format!("{part:?} is not GROUP:LENGTH (e.g. hour:7d,day:400d)"),
                ));
            };
            let group: TimeGroup = group.parse().map_err(|_| {
                Error::invalid(
                    KEEP_ARG,
                    format!("{group:?} is not a time group (hour, day, week or month)"),
                )
            })?;
            let keep: Keep = length.parse()?;
            if policy.get(group).is_some() {
                return Err(Error::invalid(
                    KEEP_ARG,
                    format!("{} is named twice", singular(group)),
                ));
            }
            policy = policy.with(group, keep)?;
        }
        Ok(policy)
    }
}

/// Per time group, the oldest period kept by the prunes a store has seen: every period of
/// that group that starts before it was deleted. Groups without one were never pruned.
///
/// ```
/// use bitmapist::{Horizon, Period, TimeGroup};
/// let h = Horizon::parse_record("day:2025-11-2")?;
/// let day = |y, m, d| Period::day(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()).unwrap();
/// assert!(h.is_pruned(&day(2025, 11, 1)));
/// assert!(!h.is_pruned(&day(2025, 11, 2)));
/// assert!(!h.is_pruned(&Period::month(2025, 1)?)); // months were not pruned
/// assert_eq!(h.to_record(), "day:2025-11-2");
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Horizon {
    oldest: [Option<Period>; 4],
}

impl Horizon {
    /// Whether no group was ever pruned.
    pub fn is_empty(&self) -> bool {
        self.oldest.iter().all(Option::is_none)
    }

    /// The oldest period of `group` kept; `None` when the group was never pruned.
    pub fn get(&self, group: TimeGroup) -> Option<Period> {
        slot(group).and_then(|i| self.oldest[i])
    }

    fn set(&mut self, group: TimeGroup, oldest: Period) {
        if let Some(i) = slot(group) {
            self.oldest[i] = Some(oldest);
        }
    }

    /// The groups with a horizon and their oldest kept period, hours first.
    pub fn entries(&self) -> impl Iterator<Item = (TimeGroup, Period)> + '_ {
        PRUNABLE
            .iter()
            .zip(&self.oldest)
            .filter_map(|(g, p)| p.map(|p| (*g, p)))
    }

    /// Whether `period`'s data was (wholly or partly) deleted: a period of a pruned group
    /// that starts before the group's oldest kept period; a year when one of its months is.
    /// Never the unique period.
    pub fn is_pruned(&self, period: &Period) -> bool {
        if let Some(months) = period.months() {
            return self.is_pruned(&months[0]);
        }
        match (period.time_group(), period.start()) {
            (Some(group), Some(start)) => self
                .get(group)
                .and_then(|oldest| oldest.start())
                .is_some_and(|oldest| start < oldest),
            _ => false,
        }
    }

    /// Whether `key` is an event key of `layout` whose period [`Horizon::is_pruned`] (and
    /// not a year, which has no key): what a prune deletes.
    pub fn drops_key(&self, layout: &KeyLayout, key: &str) -> bool {
        layout
            .parse(key)
            .is_some_and(|(_, period)| period.months().is_none() && self.is_pruned(&period))
    }

    /// Per group, the later of the two horizons (a recorded horizon only moves forward).
    pub fn merge(&self, other: &Horizon) -> Horizon {
        let mut out = *self;
        for (group, period) in other.entries() {
            let later = match out.get(group) {
                Some(mine) if mine.start() >= period.start() => mine,
                _ => period,
            };
            out.set(group, later);
        }
        out
    }

    /// The metadata value: `hour:2026-11-30-5,day:2025-11-2` (the periods' key suffixes).
    pub fn to_record(&self) -> String {
        let parts: Vec<String> = self
            .entries()
            .map(|(g, p)| {
                let mut suffix = String::new();
                p.write_suffix(&mut suffix);
                format!("{}:{suffix}", singular(g))
            })
            .collect();
        parts.join(",")
    }

    /// Reads a metadata value written by [`Horizon::to_record`].
    pub fn parse_record(record: &str) -> Result<Horizon> {
        let mut horizon = Horizon::default();
        for part in record.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                Error::invalid(
                    "pruned",
                    format!("the store's prune record {record:?} is malformed at {part:?}"),
                )
            };
            let (group, suffix) = part.split_once(':').ok_or_else(bad)?;
            let group: TimeGroup = group.parse().map_err(|_| bad())?;
            let period = Period::parse_suffix(suffix).ok_or_else(bad)?;
            if period.time_group() != Some(group) || slot(group).is_none() {
                return Err(bad());
            }
            horizon.set(group, period);
        }
        Ok(horizon)
    }
}

/// The metadata key of the prune record of `prefix`: `{trackist_}.pruned`.
///
/// ```
/// assert_eq!(bitmapist::pruned_meta_key("trackist_"), "{trackist_}.pruned");
/// ```
pub fn pruned_meta_key(prefix: &str) -> String {
    format!("{{{prefix}}}.pruned")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, 30, 0))
            .expect("date")
    }

    #[test]
    fn bad_policies_name_the_problem() {
        for (text, needle) in [
            ("hour", "GROUP:LENGTH"),
            ("hour:7", "unit"),
            ("hour:xd", "whole number"),
            ("hour:0d", "keeping nothing"),
            ("year:2y", "name month"),
            ("minute:2d", "not a time group"),
            ("day:7d,days:8d", "named twice"),
            ("unique:7d", "not a time group"),
        ] {
            let err = text.parse::<KeepPolicy>().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(err.contains("keep"), "{text}: {err}");
        }
        assert!("".parse::<KeepPolicy>().expect("empty").is_empty());
    }

    #[test]
    fn oldest_kept_period_contains_the_cutoff() {
        let policy: KeepPolicy = "hour:48h,day:7d,week:2w,month:1y".parse().expect("policy");
        let h = policy.horizon(at(2026, 12, 7, 1)).expect("horizon");
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(
            h.get(TimeGroup::Hours),
            Period::hour(date(2026, 12, 5), 1).ok()
        );
        assert_eq!(h.get(TimeGroup::Days), Period::day(date(2026, 11, 30)).ok());
        assert_eq!(
            h.get(TimeGroup::Weeks),
            Period::week_of(date(2026, 11, 23)).ok()
        );
        assert_eq!(h.get(TimeGroup::Months), Period::month(2025, 12).ok());
        let back = Horizon::parse_record(&h.to_record()).expect("record");
        assert_eq!(back, h);
    }

    #[test]
    fn merging_keeps_the_later_horizon() {
        let a = Horizon::parse_record("day:2025-11-2,hour:2026-1-1-3").expect("a");
        let b = Horizon::parse_record("day:2025-10-2,month:2020-1").expect("b");
        let m = a.merge(&b);
        assert_eq!(m.to_record(), "hour:2026-1-1-3,day:2025-11-2,month:2020-1");
        assert!(Horizon::parse_record("day:2025-11").is_err());
    }

    #[test]
    fn only_event_keys_of_pruned_periods_are_dropped() {
        let h = Horizon::parse_record("day:2025-11-2,month:2025-3").expect("h");
        let layout = KeyLayout::default();
        assert!(h.drops_key(&layout, "trackist_a_b_2025-11-1"));
        assert!(!h.drops_key(&layout, "trackist_a_b_2025-11-2"));
        assert!(h.drops_key(&layout, "trackist_x_2025-2"));
        assert!(!h.drops_key(&layout, "trackist_x_W2020-3"));
        assert!(!h.drops_key(&layout, "trackist_x_u"));
        assert!(!h.drops_key(&layout, "trackist_bitop_and_2025-1-1"));
        assert!(!h.drops_key(&layout, "other_x_2025-1-1"));
        assert!(h.is_pruned(&Period::year(2025).expect("year")));
        assert!(!h.is_pruned(&Period::year(2026).expect("year")));
    }
}
