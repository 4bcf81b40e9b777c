//! Period and key names, checked against Python bitmapist's key layout.
//!
//! Fixed vectors across ISO week, month and year boundaries, leap days and hours; a table of
//! random datetimes whose ISO calendar and key suffixes were computed by Python; proptest
//! properties of period arithmetic and key parsing; and errors (never panics) for bad input.

use bitmapist::{Error, KeyLayout, Period, TimeGroup};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use proptest::prelude::*;

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, mi, 0)
        .single()
        .expect("valid instant")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn containing(g: TimeGroup, t: DateTime<Utc>) -> Period {
    Period::containing(g, t).expect("period in range")
}

fn suffix(p: &Period) -> String {
    let mut out = String::new();
    p.write_suffix(&mut out);
    out
}

fn week_key(t: DateTime<Utc>) -> String {
    KeyLayout::default().key("e", &containing(TimeGroup::Weeks, t))
}

// ---------------------------------------------------------------------------------------
// Fixed vectors
// ---------------------------------------------------------------------------------------

#[test]
fn iso_weeks_across_year_boundaries() {
    let cases = [
        ((2024, 12, 30), "W2025-1", (2025, 1)),
        ((2024, 12, 29), "W2024-52", (2024, 52)),
        ((2021, 1, 3), "W2020-53", (2020, 53)),
        ((2021, 1, 4), "W2021-1", (2021, 1)),
        ((2020, 12, 31), "W2020-53", (2020, 53)),
        ((2026, 1, 1), "W2026-1", (2026, 1)),
        ((2025, 12, 29), "W2026-1", (2026, 1)),
        ((2027, 1, 1), "W2026-53", (2026, 53)),
        ((2027, 1, 3), "W2026-53", (2026, 53)),
        ((2027, 1, 4), "W2027-1", (2027, 1)),
    ];
    for ((y, m, d), want, iso) in cases {
        for (h, mi) in [(0, 0), (12, 30), (23, 59)] {
            let t = at(y, m, d, h, mi);
            let week = containing(TimeGroup::Weeks, t);
            assert_eq!(suffix(&week), want, "week of {t}");
            assert_eq!(week.iso_week(), Some(iso), "week of {t}");
            assert_eq!(week_key(t), format!("trackist_e_{want}"));
            assert_eq!(
                week.start().map(|s| s.weekday()),
                Some(Weekday::Mon),
                "week of {t} starts on a Monday"
            );
        }
    }
    // 2024-12-30 is the Monday that starts W2025-1; the week before is W2024-52.
    let w = containing(TimeGroup::Weeks, at(2024, 12, 30, 15, 0));
    assert_eq!(
        w.start(),
        Some(date(2024, 12, 30).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(
        w.end(),
        Some(date(2025, 1, 6).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(suffix(&w.prev().expect("prev")), "W2024-52");
    assert_eq!(suffix(&w.next().expect("next")), "W2025-2");
    // 2020 has 53 ISO weeks: W2020-53 is followed by W2021-1.
    let w53 = Period::week(2020, 53).expect("W2020-53");
    assert_eq!(w53, containing(TimeGroup::Weeks, at(2021, 1, 3, 0, 0)));
    assert_eq!(suffix(&w53.next().expect("next")), "W2021-1");
    assert_eq!(suffix(&w53.prev().expect("prev")), "W2020-52");
    // 2026 has 53 weeks too.
    let w = Period::week(2026, 53).expect("W2026-53");
    assert_eq!(
        w.start(),
        Some(date(2026, 12, 28).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(suffix(&w.next().expect("next")), "W2027-1");
    assert_eq!(Period::week_of(date(2027, 1, 1)).expect("week"), w);
}

#[test]
fn leap_day_and_its_neighbours() {
    let leap = Period::day(date(2024, 2, 29)).expect("leap day");
    assert_eq!(suffix(&leap), "2024-2-29");
    assert_eq!(suffix(&leap.next().expect("next")), "2024-3-1");
    assert_eq!(suffix(&leap.prev().expect("prev")), "2024-2-28");
    assert_eq!(containing(TimeGroup::Days, at(2024, 2, 29, 23, 59)), leap);
    // Not a leap year: 2023-2-28 is followed by 2023-3-1; 1900 is not a leap year, 2000 is.
    let d = Period::day(date(2023, 2, 28)).expect("day");
    assert_eq!(suffix(&d.next().expect("next")), "2023-3-1");
    let d = Period::day(date(1900, 2, 28)).expect("day");
    assert_eq!(suffix(&d.next().expect("next")), "1900-3-1");
    let d = Period::day(date(2000, 2, 28)).expect("day");
    assert_eq!(suffix(&d.next().expect("next")), "2000-2-29");
    // A leap day's month and the day a year later.
    assert_eq!(
        suffix(&containing(TimeGroup::Months, at(2024, 2, 29, 0, 0))),
        "2024-2"
    );
    assert_eq!(suffix(&leap.offset(366).expect("offset")), "2025-3-1");
    assert_eq!(suffix(&leap.offset(-365).expect("offset")), "2023-3-1");
    assert_eq!(Period::parse_suffix("2024-2-29"), Some(leap));
    assert_eq!(Period::parse_suffix("2023-2-29"), None);
}

#[test]
fn hours_across_the_new_year() {
    let h = containing(TimeGroup::Hours, at(2023, 12, 31, 23, 17));
    assert_eq!(suffix(&h), "2023-12-31-23");
    let next = h.next().expect("next hour");
    assert_eq!(suffix(&next), "2024-1-1-0");
    assert_eq!(next.prev().expect("prev"), h);
    assert_eq!(h.periods_until(&next), Some(1));
    assert_eq!(suffix(&h.offset(25).expect("offset")), "2024-1-2-0");
    assert_eq!(suffix(&next.offset(-24).expect("offset")), "2023-12-31-0");
    assert_eq!(
        h.start(),
        Some(date(2023, 12, 31).and_hms_opt(23, 0, 0).expect("time"))
    );
    assert_eq!(
        h.end(),
        Some(date(2024, 1, 1).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(
        Period::hour(date(2024, 1, 1), 0).expect("hour"),
        next,
        "Period::hour builds the same period"
    );
    // Midnight and the leap day's last hour.
    assert_eq!(
        suffix(&containing(TimeGroup::Hours, at(2024, 3, 5, 0, 0))),
        "2024-3-5-0"
    );
    let last = Period::hour(date(2024, 2, 29), 23).expect("hour");
    assert_eq!(suffix(&last), "2024-2-29-23");
    assert_eq!(suffix(&last.next().expect("next")), "2024-3-1-0");
}

#[test]
fn months_and_month_offsets() {
    let jan = Period::month(2024, 1).expect("month");
    assert_eq!(suffix(&jan), "2024-1");
    assert_eq!(
        jan.offset(-1).expect("offset"),
        Period::month(2023, 12).expect("month")
    );
    assert_eq!(suffix(&jan.offset(-1).expect("offset")), "2023-12");
    assert_eq!(suffix(&jan.offset(25).expect("offset")), "2026-2");
    assert_eq!(suffix(&jan.offset(11).expect("offset")), "2024-12");
    assert_eq!(suffix(&jan.offset(12).expect("offset")), "2025-1");
    assert_eq!(suffix(&jan.offset(-12).expect("offset")), "2023-1");
    assert_eq!(suffix(&jan.offset(-13).expect("offset")), "2022-12");
    assert_eq!(
        jan.periods_until(&Period::month(2026, 2).expect("month")),
        Some(25)
    );
    assert_eq!(
        jan.periods_until(&Period::month(2023, 12).expect("month")),
        Some(-1)
    );
    let dec = containing(TimeGroup::Months, at(2023, 12, 31, 23, 59));
    assert_eq!(suffix(&dec), "2023-12");
    assert_eq!(dec.next().expect("next"), jan);
    assert_eq!(dec.end(), jan.start());
    assert_eq!(
        Period::month(2024, 2).expect("month").end(),
        Some(date(2024, 3, 1).and_hms_opt(0, 0, 0).expect("time"))
    );
}

#[test]
fn a_year_is_its_twelve_month_keys() {
    let layout = KeyLayout::default();
    let year = containing(TimeGroup::Years, at(2024, 7, 4, 12, 0));
    assert_eq!(year, Period::year(2024).expect("year"));
    assert_eq!(year.time_group(), Some(TimeGroup::Years));
    let keys = layout.keys("user:logged_in", &year);
    let want: Vec<String> = (1..=12)
        .map(|m| format!("trackist_user:logged_in_2024-{m}"))
        .collect();
    assert_eq!(keys, want);
    let months = year.months().expect("a year has months");
    assert_eq!(months[0], Period::month(2024, 1).expect("month"));
    assert_eq!(months[11], Period::month(2024, 12).expect("month"));
    // Every other period has exactly one key.
    for g in [
        TimeGroup::Hours,
        TimeGroup::Days,
        TimeGroup::Weeks,
        TimeGroup::Months,
    ] {
        let p = containing(g, at(2024, 7, 4, 12, 0));
        assert_eq!(p.months(), None);
        assert_eq!(layout.keys("e", &p), vec![layout.key("e", &p)]);
    }
    assert_eq!(
        year.start(),
        Some(date(2024, 1, 1).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(
        year.end(),
        Some(date(2025, 1, 1).and_hms_opt(0, 0, 0).expect("time"))
    );
    assert_eq!(suffix(&year.next().expect("next")), "2025");
    // The bare year written for a year is no key: it does not parse back.
    assert_eq!(layout.parse(&layout.key("e", &year)), None);
    assert_eq!(Period::parse_suffix("2024"), None);
}

#[test]
fn unique_period_and_key() {
    let layout = KeyLayout::default();
    let u = Period::unique();
    assert!(u.is_unique());
    assert_eq!(u.time_group(), None);
    assert_eq!(u.start(), None);
    assert_eq!(u.end(), None);
    assert_eq!(u.months(), None);
    assert_eq!(u.iso_week(), None);
    assert_eq!(u.offset(5).expect("unique offset"), u);
    assert_eq!(u.periods_until(&u), None);
    assert_eq!(suffix(&u), "u");
    assert_eq!(layout.key("user:active", &u), "trackist_user:active_u");
    assert_eq!(layout.keys("user:active", &u), ["trackist_user:active_u"]);
    assert_eq!(
        layout.parse("trackist_user:active_u"),
        Some(("user:active", u))
    );
    assert_eq!(Period::parse_suffix("u"), Some(u));
}

#[test]
fn full_keys_as_python_writes_them() {
    let layout = KeyLayout::default();
    assert_eq!(layout.prefix(), "trackist_");
    let t = at(2024, 3, 5, 7, 9);
    let ev = "user:logged_in";
    let key = |g| layout.key(ev, &containing(g, t));
    assert_eq!(key(TimeGroup::Hours), "trackist_user:logged_in_2024-3-5-7");
    assert_eq!(key(TimeGroup::Days), "trackist_user:logged_in_2024-3-5");
    assert_eq!(key(TimeGroup::Weeks), "trackist_user:logged_in_W2024-10");
    assert_eq!(key(TimeGroup::Months), "trackist_user:logged_in_2024-3");
    assert_eq!(
        layout.key(ev, &Period::unique()),
        "trackist_user:logged_in_u"
    );
    assert_eq!(layout.event_prefix(ev), "trackist_user:logged_in_");
    // Two-digit fields, still unpadded ones elsewhere.
    let t = at(2024, 12, 30, 15, 0);
    let key = |g| layout.key(ev, &containing(g, t));
    assert_eq!(
        key(TimeGroup::Hours),
        "trackist_user:logged_in_2024-12-30-15"
    );
    assert_eq!(key(TimeGroup::Days), "trackist_user:logged_in_2024-12-30");
    assert_eq!(key(TimeGroup::Weeks), "trackist_user:logged_in_W2025-1");
    assert_eq!(key(TimeGroup::Months), "trackist_user:logged_in_2024-12");
    // write_key appends.
    let mut out = String::from(">");
    layout.write_key(&mut out, "a_b", &containing(TimeGroup::Days, t));
    assert_eq!(out, ">trackist_a_b_2024-12-30");
    // Years 1 and 9999, never padded to four digits.
    assert_eq!(
        layout.key("e", &containing(TimeGroup::Days, at(1, 1, 1, 0, 0))),
        "trackist_e_1-1-1"
    );
    assert_eq!(
        layout.key("e", &containing(TimeGroup::Hours, at(9999, 12, 31, 23, 0))),
        "trackist_e_9999-12-31-23"
    );
}

#[test]
fn custom_prefix() {
    let layout = KeyLayout::new("bitmapist_");
    assert_eq!(layout.prefix(), "bitmapist_");
    let t = at(2021, 1, 3, 4, 0);
    assert_eq!(
        layout.key("signup", &containing(TimeGroup::Weeks, t)),
        "bitmapist_signup_W2020-53"
    );
    assert_eq!(
        layout.key("signup", &containing(TimeGroup::Days, t)),
        "bitmapist_signup_2021-1-3"
    );
    assert_eq!(
        layout.key("signup", &Period::unique()),
        "bitmapist_signup_u"
    );
    assert_eq!(
        layout.keys("signup", &Period::year(2021).expect("year"))[11],
        "bitmapist_signup_2021-12"
    );
    assert_eq!(
        layout.parse("bitmapist_signup_2021-1-3-4"),
        Some(("signup", containing(TimeGroup::Hours, t)))
    );
    // Keys of the other prefix are not ours, either way round.
    assert_eq!(layout.parse("trackist_signup_2021-1-3"), None);
    assert_eq!(
        KeyLayout::default().parse("bitmapist_signup_2021-1-3"),
        None
    );
    assert_ne!(layout, KeyLayout::default());
}

#[test]
fn parse_reads_event_names_with_underscores() {
    let layout = KeyLayout::default();
    let day = Period::day(date(2024, 3, 5)).expect("day");
    for ev in [
        "a_b_c",
        "user:logged_in",
        "_x",
        "x_",
        "ünï_cødé:日本",
        "2024-3-5",
        "u",
    ] {
        let key = layout.key(ev, &day);
        assert_eq!(layout.parse(&key), Some((ev, day)), "{key}");
    }
}

#[test]
fn parse_rejects_keys_that_are_not_event_keys() {
    let layout = KeyLayout::default();
    let rejected = [
        // Other prefixes.
        "bitmapist_e_2024-3-5",
        "trackist2_e_2024-3-5",
        "Trackist_e_2024-3-5",
        "e_2024-3-5",
        "",
        // Python bitmapist's temporary BITOP results.
        "trackist_bitop_AND_trackist_a_2024-3-5-trackist_b_2024-3-5",
        "trackist_bitop_OR_trackist_a_2024-3_trackist_b_2024-3",
        "trackist_bitop_NOT_trackist_a_u",
        // Bad suffixes.
        "trackist_e_2024-13",
        "trackist_e_2024-0",
        "trackist_e_W2021-53",
        "trackist_e_W2021-0",
        "trackist_e_W2021",
        "trackist_e_W-1",
        "trackist_e_2024-2-30",
        "trackist_e_2023-2-29",
        "trackist_e_2024-1-1-24",
        "trackist_e_2024-1-1-1-1",
        "trackist_e_2024--1",
        "trackist_e_2024-1-",
        "trackist_e_-2024-1",
        "trackist_e_+2024-1",
        "trackist_e_2024-+1",
        "trackist_e_0-1",
        "trackist_e_10000-1",
        "trackist_e_W10000-1",
        "trackist_e_99999999999-1",
        "trackist_e_x",
        "trackist_e_U",
        "trackist_e_",
        "trackist_e_2024",
        "trackist_e_ 2024-1",
        // Zero padding: Python never writes it, and the padded key is not the period's key.
        "trackist_e_2024-02-05",
        "trackist_e_2024-2-05",
        "trackist_e_W2025-01",
        "trackist_e_2024-2-5-07",
        "trackist_e_02024-2",
        // No event name, or no separator.
        "trackist__2024-3-5",
        "trackist_2024-3-5",
        "trackist_",
    ];
    for key in rejected {
        assert_eq!(layout.parse(key), None, "{key:?} must not parse");
    }
    for s in [
        "2024-13",
        "W2021-53",
        "2024-2-30",
        "x",
        "",
        "W",
        "2024-1-1-",
        "１-1",
    ] {
        assert_eq!(Period::parse_suffix(s), None, "suffix {s:?} must not parse");
    }
}

// ---------------------------------------------------------------------------------------
// Errors, not panics
// ---------------------------------------------------------------------------------------

fn err_text<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    r.expect_err("expected an error").to_string()
}

fn assert_names(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
}

#[test]
fn bad_arguments_are_errors_naming_the_problem() {
    let d = date(2024, 3, 5);
    assert_names(&err_text(Period::hour(d, 24)), &["hour", "24"]);
    assert_names(
        &err_text(Period::hour(d, u32::MAX)),
        &["hour", "4294967295"],
    );
    assert_names(&err_text(Period::month(2024, 13)), &["month", "13"]);
    assert_names(&err_text(Period::month(2024, 0)), &["month", "0"]);
    assert_names(&err_text(Period::week(2021, 53)), &["week", "2021", "53"]);
    assert_names(&err_text(Period::week(2024, 0)), &["week", "2024", "0"]);
    assert!(Period::week(2020, 53).is_ok() && Period::week(2026, 53).is_ok());
    assert_names(
        &err_text("fortnights".parse::<TimeGroup>()),
        &["fortnights", "hours", "years"],
    );
    assert!(matches!(
        "fortnights".parse::<TimeGroup>(),
        Err(Error::UnknownTimeGroup(_))
    ));
    for bad in ["", "s", "hourss", "day s", "minutes"] {
        assert!(bad.parse::<TimeGroup>().is_err(), "{bad:?}");
    }
    for (text, g) in [
        ("hours", TimeGroup::Hours),
        ("Day", TimeGroup::Days),
        (" WEEKS ", TimeGroup::Weeks),
        ("month", TimeGroup::Months),
        ("Years", TimeGroup::Years),
    ] {
        assert_eq!(text.parse::<TimeGroup>().expect("group"), g);
    }
    for g in TimeGroup::ALL {
        assert_eq!(g.as_str().parse::<TimeGroup>().expect("group"), g);
        assert_eq!(g.to_string(), g.as_str());
    }
}

#[test]
fn years_0_and_10000_are_out_of_range() {
    for y in [0, 10000, -1, i32::MAX, i32::MIN] {
        let text = err_text(Period::year(y));
        assert_names(&text, &["year", &y.to_string()]);
        assert!(matches!(Period::year(y), Err(Error::DateOutOfRange(_))));
        assert_names(&err_text(Period::month(y, 1)), &[&y.to_string()]);
        assert_names(&err_text(Period::week(y, 1)), &[&y.to_string()]);
    }
    for d in [date(0, 12, 31), date(10000, 1, 1), date(-5, 6, 1)] {
        let y = d.year().to_string();
        assert_names(&err_text(Period::day(d)), &["year", &y]);
        assert_names(&err_text(Period::hour(d, 3)), &["year", &y]);
        assert_names(&err_text(Period::week_of(d)), &["year", &y]);
        let t = d.and_hms_opt(12, 0, 0).expect("time").and_utc();
        for g in TimeGroup::ALL {
            assert_names(&err_text(Period::containing(g, t)), &["year", &y]);
        }
    }
    // The edges themselves are fine, and stepping off them is an error.
    let first = at(1, 1, 1, 0, 0);
    let last = at(9999, 12, 31, 23, 59);
    for g in TimeGroup::ALL {
        let p = containing(g, first);
        assert!(
            matches!(p.prev(), Err(Error::DateOutOfRange(_))),
            "{g} before year 1"
        );
        let p = containing(g, last);
        assert!(
            matches!(p.next(), Err(Error::DateOutOfRange(_))),
            "{g} after year 9999"
        );
    }
    // The ISO week 9999-W52 is the last one; its Monday is 9999-12-27.
    assert_eq!(suffix(&containing(TimeGroup::Weeks, last)), "W9999-52");
    assert!(Period::week(9999, 53).is_err());
    // Year 1 starts on a Monday, so W1-1 is the first week.
    assert_eq!(suffix(&containing(TimeGroup::Weeks, first)), "W1-1");
}

#[test]
fn huge_offsets_are_errors() {
    let t = at(2024, 6, 15, 12, 0);
    for g in TimeGroup::ALL {
        let p = containing(g, t);
        for n in [
            i64::MAX,
            i64::MIN,
            i64::MAX / 7 + 1,
            1 << 40,
            -(1 << 40),
            10_000 * 366 * 24,
        ] {
            let e = p.offset(n).expect_err("huge offset");
            assert!(matches!(e, Error::DateOutOfRange(_)), "{g} offset {n}: {e}");
            assert_names(&e.to_string(), &[&n.to_string()]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cross-check against Python
// ---------------------------------------------------------------------------------------

/// `(year, month, day, hour, minute, iso_year, iso_week, hour_suffix, day_suffix,
/// week_suffix, month_suffix)`, computed by CPython 3.11.7's `datetime`, with the
/// formatting Python bitmapist uses for its keys. Generated once (not at test time) by:
///
/// ```python
/// import random, datetime as dt
/// random.seed(20240229)
/// rows = []
/// def add(d):
///     iy, iw, _ = d.isocalendar()
///     rows.append((d.year, d.month, d.day, d.hour, d.minute, iy, iw,
///                  '%s-%s-%s-%s' % (d.year, d.month, d.day, d.hour),
///                  '%s-%s-%s' % (d.year, d.month, d.day),
///                  'W%s-%s' % (iy, iw),
///                  '%s-%s' % (d.year, d.month)))
/// for d in (dt.datetime(1, 1, 1, 0, 0), dt.datetime(1, 1, 7, 23, 59),
///           dt.datetime(9999, 12, 31, 23, 59), dt.datetime(9999, 12, 27, 0, 0),
///           dt.datetime(2000, 2, 29, 12, 0), dt.datetime(1900, 2, 28, 23, 59),
///           dt.datetime(2024, 12, 30, 0, 0), dt.datetime(2021, 1, 3, 23, 59)):
///     add(d)
/// while len(rows) < 300:
///     y = random.randint(1, 9999)
///     if random.random() < 0.8:   # within 10 days of a new year
///         try:
///             base = dt.datetime(y, 1, 1)
///         except ValueError:
///             continue
///         try:
///             d = base + dt.timedelta(days=random.randint(-10, 9), hours=random.randint(0, 23),
///                                     minutes=random.randint(0, 59))
///         except OverflowError:   # before 0001-01-01
///             continue
///     else:                       # anywhere in the year
///         d = dt.datetime(y, 1, 1) + dt.timedelta(days=random.randint(0, 364),
///                                                 hours=random.randint(0, 23), minutes=random.randint(0, 59))
///     if not (1 <= d.year <= 9999):
///         continue
///     add(d)
/// for r in rows:
///     print('    (%d, %d, %d, %d, %d, %d, %d, "%s", "%s", "%s", "%s"),' % r)
/// ```
#[rustfmt::skip]
#[allow(clippy::type_complexity)]
static PYTHON_TABLE: [(i32, u32, u32, u32, u32, i32, u32, &str, &str, &str, &str); 300] = [
    (1, 1, 1, 0, 0, 1, 1, "1-1-1-0", "1-1-1", "W1-1", "1-1"),
    (1, 1, 7, 23, 59, 1, 1, "1-1-7-23", "1-1-7", "W1-1", "1-1"),
    (9999, 12, 31, 23, 59, 9999, 52, "9999-12-31-23", "9999-12-31", "W9999-52", "9999-12"),
    (9999, 12, 27, 0, 0, 9999, 52, "9999-12-27-0", "9999-12-27", "W9999-52", "9999-12"),
    (2000, 2, 29, 12, 0, 2000, 9, "2000-2-29-12", "2000-2-29", "W2000-9", "2000-2"),
    (1900, 2, 28, 23, 59, 1900, 9, "1900-2-28-23", "1900-2-28", "W1900-9", "1900-2"),
    (2024, 12, 30, 0, 0, 2025, 1, "2024-12-30-0", "2024-12-30", "W2025-1", "2024-12"),
    (2021, 1, 3, 23, 59, 2020, 53, "2021-1-3-23", "2021-1-3", "W2020-53", "2021-1"),
    (5522, 12, 23, 13, 51, 5522, 51, "5522-12-23-13", "5522-12-23", "W5522-51", "5522-12"),
    (9600, 1, 7, 7, 12, 9600, 1, "9600-1-7-7", "9600-1-7", "W9600-1", "9600-1"),
    (6886, 12, 28, 22, 28, 6886, 52, "6886-12-28-22", "6886-12-28", "W6886-52", "6886-12"),
    (849, 1, 4, 14, 13, 849, 1, "849-1-4-14", "849-1-4", "W849-1", "849-1"),
    (8371, 1, 7, 19, 44, 8371, 1, "8371-1-7-19", "8371-1-7", "W8371-1", "8371-1"),
    (3799, 1, 5, 19, 19, 3799, 1, "3799-1-5-19", "3799-1-5", "W3799-1", "3799-1"),
    (4362, 1, 3, 11, 50, 4362, 1, "4362-1-3-11", "4362-1-3", "W4362-1", "4362-1"),
    (2235, 12, 28, 11, 0, 2235, 53, "2235-12-28-11", "2235-12-28", "W2235-53", "2235-12"),
    (7313, 1, 10, 9, 56, 7313, 2, "7313-1-10-9", "7313-1-10", "W7313-2", "7313-1"),
    (1819, 1, 1, 0, 40, 1818, 53, "1819-1-1-0", "1819-1-1", "W1818-53", "1819-1"),
    (9072, 12, 29, 3, 40, 9072, 52, "9072-12-29-3", "9072-12-29", "W9072-52", "9072-12"),
    (5666, 4, 12, 5, 47, 5666, 15, "5666-4-12-5", "5666-4-12", "W5666-15", "5666-4"),
    (6199, 1, 1, 10, 27, 6199, 1, "6199-1-1-10", "6199-1-1", "W6199-1", "6199-1"),
    (9171, 1, 9, 0, 56, 9171, 1, "9171-1-9-0", "9171-1-9", "W9171-1", "9171-1"),
    (6516, 1, 1, 12, 51, 6516, 1, "6516-1-1-12", "6516-1-1", "W6516-1", "6516-1"),
    (2710, 12, 24, 8, 42, 2710, 51, "2710-12-24-8", "2710-12-24", "W2710-51", "2710-12"),
    (5328, 1, 8, 23, 24, 5328, 2, "5328-1-8-23", "5328-1-8", "W5328-2", "5328-1"),
    (7440, 1, 3, 6, 20, 7440, 1, "7440-1-3-6", "7440-1-3", "W7440-1", "7440-1"),
    (1346, 1, 9, 14, 38, 1346, 1, "1346-1-9-14", "1346-1-9", "W1346-1", "1346-1"),
    (6686, 1, 9, 16, 25, 6686, 1, "6686-1-9-16", "6686-1-9", "W6686-1", "6686-1"),
    (950, 6, 2, 21, 52, 950, 23, "950-6-2-21", "950-6-2", "W950-23", "950-6"),
    (5969, 8, 29, 4, 54, 5969, 35, "5969-8-29-4", "5969-8-29", "W5969-35", "5969-8"),
    (9007, 1, 7, 19, 42, 9007, 2, "9007-1-7-19", "9007-1-7", "W9007-2", "9007-1"),
    (8783, 12, 28, 0, 4, 8783, 52, "8783-12-28-0", "8783-12-28", "W8783-52", "8783-12"),
    (2425, 3, 5, 5, 33, 2425, 10, "2425-3-5-5", "2425-3-5", "W2425-10", "2425-3"),
    (9648, 3, 27, 20, 53, 9648, 13, "9648-3-27-20", "9648-3-27", "W9648-13", "9648-3"),
    (8206, 1, 5, 13, 1, 8206, 1, "8206-1-5-13", "8206-1-5", "W8206-1", "8206-1"),
    (7919, 12, 25, 23, 14, 7919, 52, "7919-12-25-23", "7919-12-25", "W7919-52", "7919-12"),
    (1505, 12, 28, 3, 40, 1505, 52, "1505-12-28-3", "1505-12-28", "W1505-52", "1505-12"),
    (1261, 3, 6, 5, 31, 1261, 9, "1261-3-6-5", "1261-3-6", "W1261-9", "1261-3"),
    (5267, 11, 28, 0, 18, 5267, 48, "5267-11-28-0", "5267-11-28", "W5267-48", "5267-11"),
    (6494, 1, 2, 13, 9, 6493, 53, "6494-1-2-13", "6494-1-2", "W6493-53", "6494-1"),
    (8610, 12, 25, 1, 12, 8610, 52, "8610-12-25-1", "8610-12-25", "W8610-52", "8610-12"),
    (7325, 1, 6, 0, 31, 7325, 1, "7325-1-6-0", "7325-1-6", "W7325-1", "7325-1"),
    (3827, 10, 4, 18, 36, 3827, 40, "3827-10-4-18", "3827-10-4", "W3827-40", "3827-10"),
    (4975, 1, 7, 9, 39, 4975, 1, "4975-1-7-9", "4975-1-7", "W4975-1", "4975-1"),
    (1191, 2, 1, 8, 55, 1191, 5, "1191-2-1-8", "1191-2-1", "W1191-5", "1191-2"),
    (6084, 1, 9, 13, 51, 6084, 1, "6084-1-9-13", "6084-1-9", "W6084-1", "6084-1"),
    (5637, 12, 29, 14, 31, 5637, 53, "5637-12-29-14", "5637-12-29", "W5637-53", "5637-12"),
    (9731, 1, 6, 15, 1, 9731, 1, "9731-1-6-15", "9731-1-6", "W9731-1", "9731-1"),
    (1331, 12, 28, 2, 47, 1331, 52, "1331-12-28-2", "1331-12-28", "W1331-52", "1331-12"),
    (9175, 1, 7, 3, 3, 9175, 2, "9175-1-7-3", "9175-1-7", "W9175-2", "9175-1"),
    (3070, 8, 27, 2, 59, 3070, 34, "3070-8-27-2", "3070-8-27", "W3070-34", "3070-8"),
    (3999, 12, 25, 11, 53, 3999, 51, "3999-12-25-11", "3999-12-25", "W3999-51", "3999-12"),
    (7975, 1, 6, 4, 40, 7975, 2, "7975-1-6-4", "7975-1-6", "W7975-2", "7975-1"),
    (6079, 1, 5, 4, 37, 6079, 1, "6079-1-5-4", "6079-1-5", "W6079-1", "6079-1"),
    (6679, 4, 29, 20, 18, 6679, 18, "6679-4-29-20", "6679-4-29", "W6679-18", "6679-4"),
    (4977, 1, 9, 22, 7, 4977, 2, "4977-1-9-22", "4977-1-9", "W4977-2", "4977-1"),
    (2966, 1, 6, 7, 46, 2966, 2, "2966-1-6-7", "2966-1-6", "W2966-2", "2966-1"),
    (9174, 12, 31, 6, 4, 9175, 1, "9174-12-31-6", "9174-12-31", "W9175-1", "9174-12"),
    (3411, 12, 28, 8, 24, 3411, 52, "3411-12-28-8", "3411-12-28", "W3411-52", "3411-12"),
    (6199, 12, 23, 12, 8, 6199, 52, "6199-12-23-12", "6199-12-23", "W6199-52", "6199-12"),
    (7596, 1, 6, 15, 48, 7596, 1, "7596-1-6-15", "7596-1-6", "W7596-1", "7596-1"),
    (238, 1, 9, 18, 24, 238, 2, "238-1-9-18", "238-1-9", "W238-2", "238-1"),
    (521, 12, 22, 13, 18, 521, 52, "521-12-22-13", "521-12-22", "W521-52", "521-12"),
    (534, 1, 7, 23, 24, 534, 1, "534-1-7-23", "534-1-7", "W534-1", "534-1"),
    (3600, 12, 30, 20, 44, 3600, 52, "3600-12-30-20", "3600-12-30", "W3600-52", "3600-12"),
    (5043, 2, 25, 5, 19, 5043, 8, "5043-2-25-5", "5043-2-25", "W5043-8", "5043-2"),
    (1610, 1, 5, 17, 38, 1610, 1, "1610-1-5-17", "1610-1-5", "W1610-1", "1610-1"),
    (5872, 1, 7, 12, 34, 5872, 1, "5872-1-7-12", "5872-1-7", "W5872-1", "5872-1"),
    (6685, 1, 9, 3, 12, 6685, 2, "6685-1-9-3", "6685-1-9", "W6685-2", "6685-1"),
    (8922, 1, 4, 13, 16, 8922, 1, "8922-1-4-13", "8922-1-4", "W8922-1", "8922-1"),
    (9944, 1, 6, 7, 39, 9944, 1, "9944-1-6-7", "9944-1-6", "W9944-1", "9944-1"),
    (1063, 12, 24, 18, 55, 1063, 52, "1063-12-24-18", "1063-12-24", "W1063-52", "1063-12"),
    (3628, 12, 29, 22, 30, 3628, 52, "3628-12-29-22", "3628-12-29", "W3628-52", "3628-12"),
    (9063, 12, 29, 11, 42, 9063, 53, "9063-12-29-11", "9063-12-29", "W9063-53", "9063-12"),
    (9341, 1, 9, 15, 51, 9341, 2, "9341-1-9-15", "9341-1-9", "W9341-2", "9341-1"),
    (5323, 1, 2, 14, 58, 5322, 53, "5323-1-2-14", "5323-1-2", "W5322-53", "5323-1"),
    (701, 7, 3, 10, 42, 701, 27, "701-7-3-10", "701-7-3", "W701-27", "701-7"),
    (178, 1, 1, 6, 24, 178, 1, "178-1-1-6", "178-1-1", "W178-1", "178-1"),
    (4743, 12, 27, 22, 5, 4743, 52, "4743-12-27-22", "4743-12-27", "W4743-52", "4743-12"),
    (5988, 1, 6, 19, 56, 5988, 1, "5988-1-6-19", "5988-1-6", "W5988-1", "5988-1"),
    (8345, 12, 26, 11, 47, 8345, 52, "8345-12-26-11", "8345-12-26", "W8345-52", "8345-12"),
    (5503, 10, 13, 14, 19, 5503, 42, "5503-10-13-14", "5503-10-13", "W5503-42", "5503-10"),
    (1491, 1, 9, 18, 40, 1491, 2, "1491-1-9-18", "1491-1-9", "W1491-2", "1491-1"),
    (3844, 12, 22, 22, 37, 3844, 51, "3844-12-22-22", "3844-12-22", "W3844-51", "3844-12"),
    (6520, 5, 14, 0, 30, 6520, 20, "6520-5-14-0", "6520-5-14", "W6520-20", "6520-5"),
    (691, 1, 5, 15, 25, 691, 2, "691-1-5-15", "691-1-5", "W691-2", "691-1"),
    (4545, 1, 3, 11, 38, 4544, 53, "4545-1-3-11", "4545-1-3", "W4544-53", "4545-1"),
    (5966, 1, 2, 17, 8, 5965, 52, "5966-1-2-17", "5966-1-2", "W5965-52", "5966-1"),
    (7595, 12, 30, 8, 29, 7595, 52, "7595-12-30-8", "7595-12-30", "W7595-52", "7595-12"),
    (5548, 4, 5, 15, 13, 5548, 15, "5548-4-5-15", "5548-4-5", "W5548-15", "5548-4"),
    (1864, 12, 25, 4, 52, 1864, 51, "1864-12-25-4", "1864-12-25", "W1864-51", "1864-12"),
    (6917, 1, 16, 7, 57, 6917, 2, "6917-1-16-7", "6917-1-16", "W6917-2", "6917-1"),
    (7480, 10, 23, 16, 33, 7480, 43, "7480-10-23-16", "7480-10-23", "W7480-43", "7480-10"),
    (7363, 1, 10, 11, 30, 7363, 2, "7363-1-10-11", "7363-1-10", "W7363-2", "7363-1"),
    (7858, 1, 10, 14, 12, 7858, 1, "7858-1-10-14", "7858-1-10", "W7858-1", "7858-1"),
    (8117, 1, 8, 6, 16, 8117, 1, "8117-1-8-6", "8117-1-8", "W8117-1", "8117-1"),
    (2461, 12, 30, 20, 1, 2461, 52, "2461-12-30-20", "2461-12-30", "W2461-52", "2461-12"),
    (2175, 12, 23, 12, 2, 2175, 51, "2175-12-23-12", "2175-12-23", "W2175-51", "2175-12"),
    (7708, 12, 24, 18, 29, 7708, 52, "7708-12-24-18", "7708-12-24", "W7708-52", "7708-12"),
    (3649, 1, 7, 16, 42, 3649, 1, "3649-1-7-16", "3649-1-7", "W3649-1", "3649-1"),
    (7875, 1, 5, 15, 59, 7875, 1, "7875-1-5-15", "7875-1-5", "W7875-1", "7875-1"),
    (1241, 1, 3, 21, 32, 1241, 1, "1241-1-3-21", "1241-1-3", "W1241-1", "1241-1"),
    (2016, 1, 1, 12, 30, 2015, 53, "2016-1-1-12", "2016-1-1", "W2015-53", "2016-1"),
    (3393, 12, 26, 16, 46, 3393, 52, "3393-12-26-16", "3393-12-26", "W3393-52", "3393-12"),
    (5803, 6, 23, 4, 31, 5803, 25, "5803-6-23-4", "5803-6-23", "W5803-25", "5803-6"),
    (8083, 1, 9, 3, 3, 8083, 1, "8083-1-9-3", "8083-1-9", "W8083-1", "8083-1"),
    (9569, 1, 2, 3, 33, 9569, 1, "9569-1-2-3", "9569-1-2", "W9569-1", "9569-1"),
    (2887, 1, 5, 10, 42, 2887, 1, "2887-1-5-10", "2887-1-5", "W2887-1", "2887-1"),
    (1951, 12, 29, 7, 2, 1951, 52, "1951-12-29-7", "1951-12-29", "W1951-52", "1951-12"),
    (4019, 12, 25, 0, 1, 4019, 52, "4019-12-25-0", "4019-12-25", "W4019-52", "4019-12"),
    (1534, 12, 26, 6, 13, 1534, 52, "1534-12-26-6", "1534-12-26", "W1534-52", "1534-12"),
    (4890, 12, 24, 14, 7, 4890, 51, "4890-12-24-14", "4890-12-24", "W4890-51", "4890-12"),
    (5062, 1, 3, 22, 28, 5062, 1, "5062-1-3-22", "5062-1-3", "W5062-1", "5062-1"),
    (8096, 12, 23, 17, 12, 8096, 51, "8096-12-23-17", "8096-12-23", "W8096-51", "8096-12"),
    (7450, 7, 14, 21, 52, 7450, 28, "7450-7-14-21", "7450-7-14", "W7450-28", "7450-7"),
    (4607, 11, 8, 23, 8, 4607, 45, "4607-11-8-23", "4607-11-8", "W4607-45", "4607-11"),
    (1501, 1, 6, 0, 51, 1501, 1, "1501-1-6-0", "1501-1-6", "W1501-1", "1501-1"),
    (5467, 1, 8, 2, 48, 5467, 2, "5467-1-8-2", "5467-1-8", "W5467-2", "5467-1"),
    (4199, 12, 27, 14, 18, 4199, 52, "4199-12-27-14", "4199-12-27", "W4199-52", "4199-12"),
    (8208, 12, 22, 22, 7, 8208, 51, "8208-12-22-22", "8208-12-22", "W8208-51", "8208-12"),
    (2117, 11, 22, 20, 39, 2117, 47, "2117-11-22-20", "2117-11-22", "W2117-47", "2117-11"),
    (3883, 1, 1, 13, 8, 3883, 1, "3883-1-1-13", "3883-1-1", "W3883-1", "3883-1"),
    (6520, 1, 3, 15, 43, 6520, 1, "6520-1-3-15", "6520-1-3", "W6520-1", "6520-1"),
    (8334, 12, 30, 16, 37, 8334, 52, "8334-12-30-16", "8334-12-30", "W8334-52", "8334-12"),
    (1723, 1, 3, 22, 34, 1722, 53, "1723-1-3-22", "1723-1-3", "W1722-53", "1723-1"),
    (6799, 1, 10, 0, 50, 6799, 1, "6799-1-10-0", "6799-1-10", "W6799-1", "6799-1"),
    (8952, 12, 24, 11, 12, 8952, 51, "8952-12-24-11", "8952-12-24", "W8952-51", "8952-12"),
    (1997, 12, 22, 5, 52, 1997, 52, "1997-12-22-5", "1997-12-22", "W1997-52", "1997-12"),
    (5481, 12, 31, 7, 59, 5481, 52, "5481-12-31-7", "5481-12-31", "W5481-52", "5481-12"),
    (9131, 1, 3, 23, 38, 9131, 1, "9131-1-3-23", "9131-1-3", "W9131-1", "9131-1"),
    (7073, 12, 22, 0, 7, 7073, 52, "7073-12-22-0", "7073-12-22", "W7073-52", "7073-12"),
    (5628, 6, 13, 20, 54, 5628, 24, "5628-6-13-20", "5628-6-13", "W5628-24", "5628-6"),
    (6542, 12, 24, 23, 5, 6542, 52, "6542-12-24-23", "6542-12-24", "W6542-52", "6542-12"),
    (207, 1, 1, 12, 33, 207, 1, "207-1-1-12", "207-1-1", "W207-1", "207-1"),
    (2587, 1, 1, 6, 21, 2587, 1, "2587-1-1-6", "2587-1-1", "W2587-1", "2587-1"),
    (4573, 12, 28, 21, 58, 4573, 52, "4573-12-28-21", "4573-12-28", "W4573-52", "4573-12"),
    (7894, 1, 1, 22, 9, 7894, 1, "7894-1-1-22", "7894-1-1", "W7894-1", "7894-1"),
    (4428, 12, 30, 10, 44, 4428, 52, "4428-12-30-10", "4428-12-30", "W4428-52", "4428-12"),
    (6600, 12, 30, 13, 32, 6601, 1, "6600-12-30-13", "6600-12-30", "W6601-1", "6600-12"),
    (2694, 12, 31, 4, 49, 2695, 1, "2694-12-31-4", "2694-12-31", "W2695-1", "2694-12"),
    (645, 1, 27, 10, 50, 645, 5, "645-1-27-10", "645-1-27", "W645-5", "645-1"),
    (6787, 1, 8, 11, 26, 6787, 2, "6787-1-8-11", "6787-1-8", "W6787-2", "6787-1"),
    (4954, 12, 28, 8, 19, 4954, 52, "4954-12-28-8", "4954-12-28", "W4954-52", "4954-12"),
    (1470, 12, 26, 22, 55, 1470, 52, "1470-12-26-22", "1470-12-26", "W1470-52", "1470-12"),
    (7295, 1, 9, 11, 18, 7295, 1, "7295-1-9-11", "7295-1-9", "W7295-1", "7295-1"),
    (9304, 1, 1, 12, 0, 9304, 1, "9304-1-1-12", "9304-1-1", "W9304-1", "9304-1"),
    (8678, 12, 29, 22, 1, 8678, 52, "8678-12-29-22", "8678-12-29", "W8678-52", "8678-12"),
    (859, 12, 26, 3, 52, 859, 52, "859-12-26-3", "859-12-26", "W859-52", "859-12"),
    (7749, 4, 28, 16, 46, 7749, 18, "7749-4-28-16", "7749-4-28", "W7749-18", "7749-4"),
    (1737, 1, 2, 18, 42, 1737, 1, "1737-1-2-18", "1737-1-2", "W1737-1", "1737-1"),
    (2775, 1, 4, 10, 39, 2775, 1, "2775-1-4-10", "2775-1-4", "W2775-1", "2775-1"),
    (6855, 12, 28, 4, 52, 6855, 52, "6855-12-28-4", "6855-12-28", "W6855-52", "6855-12"),
    (126, 1, 8, 8, 0, 126, 2, "126-1-8-8", "126-1-8", "W126-2", "126-1"),
    (6032, 12, 29, 3, 52, 6032, 53, "6032-12-29-3", "6032-12-29", "W6032-53", "6032-12"),
    (237, 12, 28, 2, 21, 237, 52, "237-12-28-2", "237-12-28", "W237-52", "237-12"),
    (2706, 1, 1, 16, 8, 2706, 1, "2706-1-1-16", "2706-1-1", "W2706-1", "2706-1"),
    (1496, 12, 22, 22, 45, 1496, 52, "1496-12-22-22", "1496-12-22", "W1496-52", "1496-12"),
    (3118, 1, 10, 23, 27, 3118, 2, "3118-1-10-23", "3118-1-10", "W3118-2", "3118-1"),
    (6663, 1, 5, 3, 25, 6663, 2, "6663-1-5-3", "6663-1-5", "W6663-2", "6663-1"),
    (8464, 12, 30, 10, 29, 8465, 1, "8464-12-30-10", "8464-12-30", "W8465-1", "8464-12"),
    (8931, 12, 25, 10, 11, 8931, 52, "8931-12-25-10", "8931-12-25", "W8931-52", "8931-12"),
    (958, 8, 13, 8, 36, 958, 32, "958-8-13-8", "958-8-13", "W958-32", "958-8"),
    (3400, 1, 3, 4, 3, 3400, 1, "3400-1-3-4", "3400-1-3", "W3400-1", "3400-1"),
    (723, 3, 18, 11, 21, 723, 11, "723-3-18-11", "723-3-18", "W723-11", "723-3"),
    (1478, 12, 25, 12, 18, 1478, 52, "1478-12-25-12", "1478-12-25", "W1478-52", "1478-12"),
    (8743, 12, 22, 20, 31, 8743, 51, "8743-12-22-20", "8743-12-22", "W8743-51", "8743-12"),
    (731, 1, 18, 10, 45, 731, 3, "731-1-18-10", "731-1-18", "W731-3", "731-1"),
    (7061, 12, 31, 14, 37, 7062, 1, "7061-12-31-14", "7061-12-31", "W7062-1", "7061-12"),
    (4164, 9, 24, 4, 48, 4164, 39, "4164-9-24-4", "4164-9-24", "W4164-39", "4164-9"),
    (2060, 1, 2, 0, 30, 2060, 1, "2060-1-2-0", "2060-1-2", "W2060-1", "2060-1"),
    (7271, 12, 27, 2, 30, 7271, 52, "7271-12-27-2", "7271-12-27", "W7271-52", "7271-12"),
    (9451, 1, 3, 4, 38, 9451, 1, "9451-1-3-4", "9451-1-3", "W9451-1", "9451-1"),
    (1385, 1, 1, 20, 25, 1384, 53, "1385-1-1-20", "1385-1-1", "W1384-53", "1385-1"),
    (6112, 1, 2, 23, 55, 6111, 53, "6112-1-2-23", "6112-1-2", "W6111-53", "6112-1"),
    (6853, 1, 5, 0, 36, 6853, 1, "6853-1-5-0", "6853-1-5", "W6853-1", "6853-1"),
    (3507, 1, 16, 18, 46, 3507, 3, "3507-1-16-18", "3507-1-16", "W3507-3", "3507-1"),
    (1435, 1, 2, 4, 26, 1435, 1, "1435-1-2-4", "1435-1-2", "W1435-1", "1435-1"),
    (4620, 1, 8, 18, 9, 4620, 1, "4620-1-8-18", "4620-1-8", "W4620-1", "4620-1"),
    (3995, 12, 27, 1, 30, 3995, 52, "3995-12-27-1", "3995-12-27", "W3995-52", "3995-12"),
    (1768, 12, 23, 21, 45, 1768, 51, "1768-12-23-21", "1768-12-23", "W1768-51", "1768-12"),
    (2662, 1, 10, 18, 13, 2662, 2, "2662-1-10-18", "2662-1-10", "W2662-2", "2662-1"),
    (1332, 12, 23, 14, 28, 1332, 52, "1332-12-23-14", "1332-12-23", "W1332-52", "1332-12"),
    (7504, 8, 20, 4, 32, 7504, 33, "7504-8-20-4", "7504-8-20", "W7504-33", "7504-8"),
    (7250, 3, 12, 15, 37, 7250, 10, "7250-3-12-15", "7250-3-12", "W7250-10", "7250-3"),
    (2362, 12, 23, 19, 41, 2362, 51, "2362-12-23-19", "2362-12-23", "W2362-51", "2362-12"),
    (2818, 1, 2, 22, 8, 2818, 1, "2818-1-2-22", "2818-1-2", "W2818-1", "2818-1"),
    (970, 12, 24, 19, 41, 970, 52, "970-12-24-19", "970-12-24", "W970-52", "970-12"),
    (137, 12, 31, 9, 22, 138, 1, "137-12-31-9", "137-12-31", "W138-1", "137-12"),
    (3431, 12, 29, 1, 0, 3431, 52, "3431-12-29-1", "3431-12-29", "W3431-52", "3431-12"),
    (1317, 12, 31, 16, 48, 1317, 52, "1317-12-31-16", "1317-12-31", "W1317-52", "1317-12"),
    (7635, 1, 5, 7, 14, 7635, 1, "7635-1-5-7", "7635-1-5", "W7635-1", "7635-1"),
    (4657, 1, 3, 8, 56, 4657, 1, "4657-1-3-8", "4657-1-3", "W4657-1", "4657-1"),
    (3632, 1, 21, 13, 59, 3632, 4, "3632-1-21-13", "3632-1-21", "W3632-4", "3632-1"),
    (3538, 1, 10, 10, 14, 3538, 2, "3538-1-10-10", "3538-1-10", "W3538-2", "3538-1"),
    (1259, 11, 18, 21, 16, 1259, 47, "1259-11-18-21", "1259-11-18", "W1259-47", "1259-11"),
    (4617, 1, 4, 6, 29, 4617, 1, "4617-1-4-6", "4617-1-4", "W4617-1", "4617-1"),
    (5554, 1, 5, 22, 35, 5554, 1, "5554-1-5-22", "5554-1-5", "W5554-1", "5554-1"),
    (9365, 1, 10, 16, 44, 9365, 2, "9365-1-10-16", "9365-1-10", "W9365-2", "9365-1"),
    (6162, 1, 10, 21, 34, 6162, 1, "6162-1-10-21", "6162-1-10", "W6162-1", "6162-1"),
    (9715, 12, 26, 4, 46, 9715, 52, "9715-12-26-4", "9715-12-26", "W9715-52", "9715-12"),
    (7631, 12, 28, 20, 38, 7631, 52, "7631-12-28-20", "7631-12-28", "W7631-52", "7631-12"),
    (4779, 12, 24, 23, 37, 4779, 52, "4779-12-24-23", "4779-12-24", "W4779-52", "4779-12"),
    (6455, 12, 29, 8, 55, 6455, 52, "6455-12-29-8", "6455-12-29", "W6455-52", "6455-12"),
    (3144, 3, 20, 1, 54, 3144, 12, "3144-3-20-1", "3144-3-20", "W3144-12", "3144-3"),
    (1660, 1, 3, 11, 8, 1660, 1, "1660-1-3-11", "1660-1-3", "W1660-1", "1660-1"),
    (5982, 1, 10, 14, 54, 5982, 1, "5982-1-10-14", "5982-1-10", "W5982-1", "5982-1"),
    (1747, 2, 8, 13, 44, 1747, 6, "1747-2-8-13", "1747-2-8", "W1747-6", "1747-2"),
    (1082, 1, 4, 9, 47, 1082, 1, "1082-1-4-9", "1082-1-4", "W1082-1", "1082-1"),
    (4593, 1, 5, 2, 53, 4593, 1, "4593-1-5-2", "4593-1-5", "W4593-1", "4593-1"),
    (6006, 12, 25, 0, 35, 6006, 52, "6006-12-25-0", "6006-12-25", "W6006-52", "6006-12"),
    (1178, 1, 5, 12, 42, 1178, 1, "1178-1-5-12", "1178-1-5", "W1178-1", "1178-1"),
    (6596, 5, 25, 3, 51, 6596, 21, "6596-5-25-3", "6596-5-25", "W6596-21", "6596-5"),
    (6925, 12, 25, 0, 57, 6925, 52, "6925-12-25-0", "6925-12-25", "W6925-52", "6925-12"),
    (2276, 1, 3, 15, 37, 2276, 1, "2276-1-3-15", "2276-1-3", "W2276-1", "2276-1"),
    (9377, 12, 26, 0, 27, 9377, 52, "9377-12-26-0", "9377-12-26", "W9377-52", "9377-12"),
    (7206, 1, 9, 5, 42, 7206, 2, "7206-1-9-5", "7206-1-9", "W7206-2", "7206-1"),
    (631, 9, 26, 5, 6, 631, 39, "631-9-26-5", "631-9-26", "W631-39", "631-9"),
    (2553, 1, 8, 9, 20, 2553, 2, "2553-1-8-9", "2553-1-8", "W2553-2", "2553-1"),
    (1943, 12, 25, 11, 4, 1943, 51, "1943-12-25-11", "1943-12-25", "W1943-51", "1943-12"),
    (3323, 10, 1, 7, 11, 3323, 39, "3323-10-1-7", "3323-10-1", "W3323-39", "3323-10"),
    (545, 1, 9, 11, 42, 545, 1, "545-1-9-11", "545-1-9", "W545-1", "545-1"),
    (7647, 1, 1, 18, 6, 7647, 1, "7647-1-1-18", "7647-1-1", "W7647-1", "7647-1"),
    (4111, 1, 1, 18, 13, 4111, 1, "4111-1-1-18", "4111-1-1", "W4111-1", "4111-1"),
    (8776, 12, 30, 14, 3, 8776, 53, "8776-12-30-14", "8776-12-30", "W8776-53", "8776-12"),
    (6037, 12, 23, 13, 47, 6037, 52, "6037-12-23-13", "6037-12-23", "W6037-52", "6037-12"),
    (5495, 12, 29, 9, 31, 5495, 52, "5495-12-29-9", "5495-12-29", "W5495-52", "5495-12"),
    (1685, 12, 29, 20, 18, 1685, 52, "1685-12-29-20", "1685-12-29", "W1685-52", "1685-12"),
    (853, 1, 2, 12, 17, 853, 1, "853-1-2-12", "853-1-2", "W853-1", "853-1"),
    (37, 12, 22, 18, 8, 37, 52, "37-12-22-18", "37-12-22", "W37-52", "37-12"),
    (9978, 12, 22, 20, 15, 9978, 51, "9978-12-22-20", "9978-12-22", "W9978-51", "9978-12"),
    (4226, 1, 2, 19, 29, 4226, 1, "4226-1-2-19", "4226-1-2", "W4226-1", "4226-1"),
    (2677, 1, 1, 8, 2, 2677, 1, "2677-1-1-8", "2677-1-1", "W2677-1", "2677-1"),
    (6046, 12, 25, 21, 30, 6046, 52, "6046-12-25-21", "6046-12-25", "W6046-52", "6046-12"),
    (8186, 1, 6, 18, 50, 8186, 1, "8186-1-6-18", "8186-1-6", "W8186-1", "8186-1"),
    (2081, 12, 25, 6, 51, 2081, 52, "2081-12-25-6", "2081-12-25", "W2081-52", "2081-12"),
    (7069, 1, 9, 19, 48, 7069, 1, "7069-1-9-19", "7069-1-9", "W7069-1", "7069-1"),
    (4179, 1, 10, 1, 22, 4179, 1, "4179-1-10-1", "4179-1-10", "W4179-1", "4179-1"),
    (8002, 12, 27, 23, 6, 8002, 52, "8002-12-27-23", "8002-12-27", "W8002-52", "8002-12"),
    (8406, 12, 24, 21, 34, 8406, 51, "8406-12-24-21", "8406-12-24", "W8406-51", "8406-12"),
    (3191, 12, 28, 14, 11, 3191, 52, "3191-12-28-14", "3191-12-28", "W3191-52", "3191-12"),
    (3699, 4, 4, 5, 30, 3699, 14, "3699-4-4-5", "3699-4-4", "W3699-14", "3699-4"),
    (1018, 1, 9, 13, 25, 1018, 2, "1018-1-9-13", "1018-1-9", "W1018-2", "1018-1"),
    (6665, 12, 24, 2, 32, 6665, 51, "6665-12-24-2", "6665-12-24", "W6665-51", "6665-12"),
    (1649, 1, 6, 10, 49, 1649, 1, "1649-1-6-10", "1649-1-6", "W1649-1", "1649-1"),
    (8832, 12, 27, 14, 31, 8832, 53, "8832-12-27-14", "8832-12-27", "W8832-53", "8832-12"),
    (7089, 12, 29, 17, 50, 7089, 52, "7089-12-29-17", "7089-12-29", "W7089-52", "7089-12"),
    (3904, 12, 31, 13, 44, 3904, 52, "3904-12-31-13", "3904-12-31", "W3904-52", "3904-12"),
    (6408, 12, 26, 19, 9, 6408, 52, "6408-12-26-19", "6408-12-26", "W6408-52", "6408-12"),
    (7585, 1, 1, 22, 4, 7585, 1, "7585-1-1-22", "7585-1-1", "W7585-1", "7585-1"),
    (3528, 1, 4, 6, 29, 3528, 1, "3528-1-4-6", "3528-1-4", "W3528-1", "3528-1"),
    (3744, 12, 24, 22, 50, 3744, 52, "3744-12-24-22", "3744-12-24", "W3744-52", "3744-12"),
    (7825, 12, 23, 21, 21, 7825, 51, "7825-12-23-21", "7825-12-23", "W7825-51", "7825-12"),
    (1250, 1, 6, 8, 54, 1250, 1, "1250-1-6-8", "1250-1-6", "W1250-1", "1250-1"),
    (6726, 12, 28, 21, 20, 6726, 52, "6726-12-28-21", "6726-12-28", "W6726-52", "6726-12"),
    (6296, 1, 5, 22, 31, 6296, 1, "6296-1-5-22", "6296-1-5", "W6296-1", "6296-1"),
    (1120, 1, 9, 13, 17, 1120, 2, "1120-1-9-13", "1120-1-9", "W1120-2", "1120-1"),
    (2576, 12, 24, 17, 10, 2576, 52, "2576-12-24-17", "2576-12-24", "W2576-52", "2576-12"),
    (5686, 1, 5, 11, 6, 5686, 1, "5686-1-5-11", "5686-1-5", "W5686-1", "5686-1"),
    (9056, 1, 5, 15, 35, 9056, 1, "9056-1-5-15", "9056-1-5", "W9056-1", "9056-1"),
    (8040, 6, 12, 12, 22, 8040, 24, "8040-6-12-12", "8040-6-12", "W8040-24", "8040-6"),
    (9789, 12, 26, 10, 34, 9789, 52, "9789-12-26-10", "9789-12-26", "W9789-52", "9789-12"),
    (1463, 12, 28, 0, 41, 1463, 53, "1463-12-28-0", "1463-12-28", "W1463-53", "1463-12"),
    (8271, 10, 19, 2, 41, 8271, 42, "8271-10-19-2", "8271-10-19", "W8271-42", "8271-10"),
    (1348, 1, 7, 5, 33, 1348, 1, "1348-1-7-5", "1348-1-7", "W1348-1", "1348-1"),
    (1540, 9, 22, 18, 57, 1540, 38, "1540-9-22-18", "1540-9-22", "W1540-38", "1540-9"),
    (5581, 1, 10, 15, 18, 5581, 2, "5581-1-10-15", "5581-1-10", "W5581-2", "5581-1"),
    (2276, 8, 2, 9, 0, 2276, 31, "2276-8-2-9", "2276-8-2", "W2276-31", "2276-8"),
    (7711, 12, 25, 11, 16, 7711, 52, "7711-12-25-11", "7711-12-25", "W7711-52", "7711-12"),
    (6922, 12, 22, 0, 17, 6922, 52, "6922-12-22-0", "6922-12-22", "W6922-52", "6922-12"),
    (9333, 1, 8, 11, 14, 9333, 2, "9333-1-8-11", "9333-1-8", "W9333-2", "9333-1"),
    (1425, 12, 25, 16, 10, 1425, 51, "1425-12-25-16", "1425-12-25", "W1425-51", "1425-12"),
    (8025, 10, 24, 7, 47, 8025, 43, "8025-10-24-7", "8025-10-24", "W8025-43", "8025-10"),
    (1237, 3, 30, 2, 3, 1237, 14, "1237-3-30-2", "1237-3-30", "W1237-14", "1237-3"),
    (6508, 12, 23, 9, 31, 6508, 51, "6508-12-23-9", "6508-12-23", "W6508-51", "6508-12"),
    (2034, 11, 21, 17, 46, 2034, 47, "2034-11-21-17", "2034-11-21", "W2034-47", "2034-11"),
    (2888, 12, 25, 19, 37, 2888, 52, "2888-12-25-19", "2888-12-25", "W2888-52", "2888-12"),
    (2837, 1, 2, 11, 29, 2837, 1, "2837-1-2-11", "2837-1-2", "W2837-1", "2837-1"),
    (6737, 7, 3, 10, 10, 6737, 26, "6737-7-3-10", "6737-7-3", "W6737-26", "6737-7"),
    (6286, 12, 24, 23, 24, 6286, 51, "6286-12-24-23", "6286-12-24", "W6286-51", "6286-12"),
    (1202, 12, 23, 6, 35, 1202, 52, "1202-12-23-6", "1202-12-23", "W1202-52", "1202-12"),
    (26, 5, 15, 2, 49, 26, 20, "26-5-15-2", "26-5-15", "W26-20", "26-5"),
    (4703, 12, 27, 1, 34, 4703, 52, "4703-12-27-1", "4703-12-27", "W4703-52", "4703-12"),
    (1142, 1, 10, 14, 52, 1142, 2, "1142-1-10-14", "1142-1-10", "W1142-2", "1142-1"),
    (1353, 12, 31, 17, 23, 1354, 1, "1353-12-31-17", "1353-12-31", "W1354-1", "1353-12"),
    (6850, 12, 25, 6, 51, 6850, 51, "6850-12-25-6", "6850-12-25", "W6850-51", "6850-12"),
    (5446, 1, 6, 13, 36, 5446, 2, "5446-1-6-13", "5446-1-6", "W5446-2", "5446-1"),
    (8324, 10, 16, 22, 29, 8324, 42, "8324-10-16-22", "8324-10-16", "W8324-42", "8324-10"),
    (6811, 11, 12, 2, 24, 6811, 45, "6811-11-12-2", "6811-11-12", "W6811-45", "6811-11"),
    (4152, 1, 7, 2, 9, 4152, 1, "4152-1-7-2", "4152-1-7", "W4152-1", "4152-1"),
    (4306, 1, 2, 16, 20, 4306, 1, "4306-1-2-16", "4306-1-2", "W4306-1", "4306-1"),
    (1837, 12, 22, 17, 55, 1837, 51, "1837-12-22-17", "1837-12-22", "W1837-51", "1837-12"),
    (5890, 1, 10, 13, 14, 5890, 2, "5890-1-10-13", "5890-1-10", "W5890-2", "5890-1"),
    (848, 12, 28, 12, 30, 848, 53, "848-12-28-12", "848-12-28", "W848-53", "848-12"),
    (430, 12, 29, 14, 45, 430, 52, "430-12-29-14", "430-12-29", "W430-52", "430-12"),
    (6596, 12, 25, 18, 59, 6596, 51, "6596-12-25-18", "6596-12-25", "W6596-51", "6596-12"),
    (1120, 12, 26, 13, 55, 1120, 52, "1120-12-26-13", "1120-12-26", "W1120-52", "1120-12"),
    (2849, 1, 4, 22, 37, 2849, 1, "2849-1-4-22", "2849-1-4", "W2849-1", "2849-1"),
    (406, 12, 23, 8, 6, 406, 51, "406-12-23-8", "406-12-23", "W406-51", "406-12"),
    (5911, 1, 2, 13, 34, 5911, 1, "5911-1-2-13", "5911-1-2", "W5911-1", "5911-1"),
    (8701, 1, 2, 1, 53, 8701, 1, "8701-1-2-1", "8701-1-2", "W8701-1", "8701-1"),
];

#[test]
fn matches_python_datetime_and_bitmapist_suffixes() {
    let layout = KeyLayout::default();
    for (y, m, d, h, mi, iso_year, iso_week, hour_sfx, day_sfx, week_sfx, month_sfx) in PYTHON_TABLE
    {
        let t = at(y, m, d, h, mi);
        let ctx = format!("{t}");
        let week = containing(TimeGroup::Weeks, t);
        assert_eq!(week.iso_week(), Some((iso_year, iso_week)), "{ctx}");
        for (g, want) in [
            (TimeGroup::Hours, hour_sfx),
            (TimeGroup::Days, day_sfx),
            (TimeGroup::Weeks, week_sfx),
            (TimeGroup::Months, month_sfx),
        ] {
            let p = containing(g, t);
            assert_eq!(
                layout.key("ev", &p),
                format!("trackist_ev_{want}"),
                "{g} of {ctx}"
            );
            assert_eq!(Period::parse_suffix(want), Some(p), "{g} suffix {want}");
        }
        let year = containing(TimeGroup::Years, t);
        assert_eq!(
            layout.keys("ev", &year)[usize::try_from(m - 1).expect("month index")],
            format!("trackist_ev_{month_sfx}"),
            "{ctx}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

fn first_instant() -> NaiveDateTime {
    date(1, 1, 1).and_hms_opt(0, 0, 0).expect("time")
}

fn last_instant() -> NaiveDateTime {
    date(9999, 12, 31).and_hms_opt(23, 59, 59).expect("time")
}

/// Instants in years 1..=9999: uniform ones, ones within ten days of a new year, and ones
/// near year 1 or year 9999.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let lo = first_instant().and_utc().timestamp();
    let hi = last_instant().and_utc().timestamp();
    let uniform = (lo..=hi).prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range"));
    let near_new_year = (1..=10000i32, -10 * 86_400..10 * 86_400i64).prop_filter_map(
        "inside years 1..=9999",
        move |(y, secs)| {
            let t = date(y, 1, 1).and_hms_opt(0, 0, 0)? + Duration::seconds(secs);
            (first_instant()..=last_instant())
                .contains(&t)
                .then(|| t.and_utc())
        },
    );
    // Within about a year of the first or the last supported instant.
    let year_secs = 400 * 86_400i64;
    let near_edges = (any::<bool>(), 0..year_secs).prop_map(|(late, secs)| {
        let t = if late {
            last_instant() - Duration::seconds(secs)
        } else {
            first_instant() + Duration::seconds(secs)
        };
        t.and_utc()
    });
    prop_oneof![3 => uniform, 3 => near_new_year, 1 => near_edges]
}

/// Event names with underscores, colons, digits, dashes and non-ASCII letters.
fn event_name() -> impl Strategy<Value = String> {
    "[a-z_:0-9é日\\-]{1,16}".prop_filter("Python's BITOP keys are not events", |e| {
        !e.starts_with("bitop_")
    })
}

/// Where the period `n` after `p` would start, computed without `Period::offset`;
/// `None` if that leaves the representable dates altogether.
fn expected_offset_start(p: &Period, n: i64) -> Option<NaiveDateTime> {
    let start = p.start()?;
    match p.time_group()? {
        TimeGroup::Hours => start.checked_add_signed(Duration::try_hours(n)?),
        TimeGroup::Days => start.checked_add_signed(Duration::try_days(n)?),
        TimeGroup::Weeks => start.checked_add_signed(Duration::try_days(n.checked_mul(7)?)?),
        TimeGroup::Months => {
            let index = i64::from(start.year()) * 12 + i64::from(start.month0()) + n;
            let y = i32::try_from(index.div_euclid(12)).ok()?;
            let m = u32::try_from(index.rem_euclid(12)).ok()? + 1;
            NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)
        }
        TimeGroup::Years => {
            NaiveDate::from_ymd_opt(i32::try_from(i64::from(start.year()) + n).ok()?, 1, 1)?
                .and_hms_opt(0, 0, 0)
        }
    }
}

fn in_supported_years(t: NaiveDateTime) -> bool {
    (1..=9999).contains(&t.year())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn period_contains_its_instant(t in instant()) {
        let naive = t.naive_utc();
        for g in TimeGroup::ALL {
            let p = Period::containing(g, t).expect("in range");
            prop_assert_eq!(p.time_group(), Some(g));
            let start = p.start().expect("start");
            let end = p.end().expect("end");
            prop_assert!(start <= naive && naive < end, "{g}: {start} <= {naive} < {end}");
            prop_assert_eq!(p.start_utc(), Some(start.and_utc()));
            prop_assert_eq!(Period::containing(g, start.and_utc()).expect("start"), p);
            // The last instant of the period, unless it lies past year 9999 (the ISO week
            // 9999-W52 runs into 10000-01-02, where no period can be built).
            let last = end - Duration::seconds(1);
            if in_supported_years(last) {
                prop_assert_eq!(Period::containing(g, last.and_utc()).expect("end"), p);
            } else {
                prop_assert!(Period::containing(g, last.and_utc()).is_err());
            }
        }
    }

    #[test]
    fn next_and_prev_are_inverse(t in instant()) {
        for g in TimeGroup::ALL {
            let p = Period::containing(g, t).expect("in range");
            match p.next() {
                Ok(n) => {
                    prop_assert_eq!(n.prev().expect("back"), p);
                    prop_assert_eq!(n.start(), p.end(), "{}: next starts where p ends", g);
                    prop_assert_eq!(p.periods_until(&n), Some(1));
                }
                Err(e) => {
                    prop_assert!(matches!(e, Error::DateOutOfRange(_)), "{e}");
                    prop_assert!(!in_supported_years(p.end().expect("end")), "{g} {p}: {e}");
                }
            }
            match p.prev() {
                Ok(b) => {
                    prop_assert_eq!(b.next().expect("forth"), p);
                    prop_assert_eq!(b.end(), p.start());
                }
                Err(e) => {
                    prop_assert!(matches!(e, Error::DateOutOfRange(_)), "{e}");
                    prop_assert_eq!(p.start().map(|s| s.year()), Some(1), "{} {}: {}", g, p, e);
                }
            }
        }
    }

    #[test]
    fn offset_and_periods_until_agree(t in instant(), n in -5000i64..=5000) {
        for g in TimeGroup::ALL {
            let p = Period::containing(g, t).expect("in range");
            let expected = expected_offset_start(&p, n);
            match p.offset(n) {
                Ok(q) => {
                    prop_assert_eq!(q.periods_until(&p), Some(-n), "{} {} offset {}", g, p, n);
                    prop_assert_eq!(p.periods_until(&q), Some(n));
                    prop_assert_eq!(q.start(), expected, "{} {} offset {}", g, p, n);
                    prop_assert_eq!(q.time_group(), Some(g));
                    prop_assert_eq!(p.offset(n).expect("again").offset(-n).expect("back"), p);
                }
                Err(e) => {
                    prop_assert!(matches!(e, Error::DateOutOfRange(_)), "{e}");
                    prop_assert!(
                        !expected.is_some_and(in_supported_years),
                        "{} {} offset {} failed but should start at {:?}: {}", g, p, n, expected, e
                    );
                }
            }
        }
    }

    #[test]
    fn suffixes_and_keys_parse_back(t in instant(), event in event_name(), custom in any::<bool>()) {
        let layout = if custom { KeyLayout::new("bitmapist_") } else { KeyLayout::default() };
        for g in [TimeGroup::Hours, TimeGroup::Days, TimeGroup::Weeks, TimeGroup::Months] {
            let p = Period::containing(g, t).expect("in range");
            let sfx = suffix(&p);
            prop_assert!(!sfx.contains('_'));
            prop_assert_eq!(Period::parse_suffix(&sfx), Some(p), "{}", sfx);
            let key = layout.key(&event, &p);
            prop_assert!(key.starts_with(&layout.event_prefix(&event)));
            prop_assert_eq!(layout.parse(&key), Some((event.as_str(), p)), "{}", key);
        }
        let u = layout.key(&event, &Period::unique());
        prop_assert_eq!(layout.parse(&u), Some((event.as_str(), Period::unique())));
        let year = Period::containing(TimeGroup::Years, t).expect("in range");
        for (i, key) in layout.keys(&event, &year).iter().enumerate() {
            let (e, m) = layout.parse(key).expect("month key parses");
            prop_assert_eq!(e, event.as_str());
            prop_assert_eq!(
                m,
                Period::month(t.year(), u32::try_from(i).expect("index") + 1).expect("month")
            );
        }
    }

    #[test]
    fn weeks_are_iso_weeks_starting_on_monday(t in instant()) {
        let w = Period::containing(TimeGroup::Weeks, t).expect("in range");
        let start = w.start().expect("start");
        prop_assert_eq!(start.weekday(), Weekday::Mon);
        prop_assert_eq!(w.end().expect("end") - start, Duration::days(7));
        let iso = t.iso_week();
        prop_assert_eq!(w.iso_week(), Some((iso.year(), iso.week())));
        prop_assert_eq!(Period::week(iso.year(), iso.week()).expect("week"), w);
        prop_assert_eq!(Period::week_of(t.date_naive()).expect("week"), w);
        prop_assert_eq!(suffix(&w), format!("W{}-{}", iso.year(), iso.week()));
    }

    #[test]
    fn day_month_and_hour_suffixes_are_unpadded(t in instant()) {
        let (y, m, d, h) = (t.year(), t.month(), t.day(), chrono::Timelike::hour(&t));
        let s = |g| suffix(&Period::containing(g, t).expect("in range"));
        prop_assert_eq!(s(TimeGroup::Hours), format!("{y}-{m}-{d}-{h}"));
        prop_assert_eq!(s(TimeGroup::Days), format!("{y}-{m}-{d}"));
        prop_assert_eq!(s(TimeGroup::Months), format!("{y}-{m}"));
    }

    #[test]
    fn arbitrary_suffixes_never_panic(s in "[-W0-9u]{0,14}") {
        if let Some(p) = Period::parse_suffix(&s) {
            // Whatever parses is a period with a key of its own.
            prop_assert_ne!(p.time_group(), Some(TimeGroup::Years));
        }
        let _ = KeyLayout::default().parse(&format!("trackist_e_{s}"));
    }
}
