//! Parsing `--at`, `--now` and `--end` values: RFC 3339, dates, date-times (local), `now`.
//! Used as a clap value parser, so a bad time is a usage error (exit 2) naming the flag.
//!
//! A TIME without an offset is wall-clock time in the store's zone (`--timezone`, else
//! `BITMAPIST_TIMEZONE`, else UTC): `main` reads the zone first (see [`zone_of_args`]),
//! sets it with [`set_zone`], and only then parses the command line.

use std::sync::OnceLock;

use bitmapist::Zone;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The zone a TIME without an offset is read in, once known.
static ZONE: OnceLock<Zone> = OnceLock::new();

/// Sets the zone TIME values without an offset are read in (once; later calls are ignored).
pub fn set_zone(zone: Zone) {
    let _ = ZONE.set(zone);
}

/// Parses `--timezone`: an IANA name.
pub fn parse_zone(s: &str) -> Result<Zone, String> {
    s.parse::<Zone>().map_err(|e| e.to_string())
}

/// The zone the arguments (`--timezone ZONE`, `--timezone=ZONE`) or, failing that,
/// `BITMAPIST_TIMEZONE` name; `None` when neither names a valid zone (a bad value is
/// reported later, by clap or the configuration, with its name).
pub fn zone_of_args(args: &[String]) -> Option<Zone> {
    let mut from_flag = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--timezone" {
            from_flag = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--timezone=") {
            from_flag = Some(v.to_string());
        }
    }
    match from_flag {
        Some(v) => v.parse().ok(),
        None => std::env::var(bitmapist::ENV_TIMEZONE)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| v.parse().ok()),
    }
}

/// What a TIME may look like, for error messages.
pub const TIME_FORMATS: &str = "expected `now`, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (in the store's zone, --timezone) or RFC 3339 \
     (2026-11-22T10:00:00Z, 2026-11-22T11:00:00+01:00)";

/// Parses a TIME in the zone set by [`set_zone`] (UTC if none): see [`parse_time_in`].
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time_in(s, ZONE.get().copied().unwrap_or_default())
}

/// Parses a TIME: `now`, RFC 3339 (converted), `YYYY-MM-DD` (local midnight in `zone`) or
/// `YYYY-MM-DDTHH:MM[:SS]` (local in `zone`; a space may replace the `T`). A local time in a
/// DST gap is the first instant after it; a repeated one is its earlier instant. Years must
/// be within 1..=9999.
pub fn parse_time_in(s: &str, zone: Zone) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(Utc::now());
    }
    let parsed = DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|d| zone.instant(d))
        })
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .and_then(|d| zone.instant(d))
        });
    match parsed {
        Some(d) if (1..=9999).contains(&chrono::Datelike::year(&d)) => Ok(d),
        Some(_) => Err("the year must be within 1..=9999".to_string()),
        None => Err(TIME_FORMATS.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> String {
        parse_time(s).map(|d| d.to_rfc3339()).unwrap_or_else(|e| e)
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(at("2026-11-22T10:00:00Z"), "2026-11-22T10:00:00+00:00");
        assert_eq!(at("2026-11-22T11:00:00+01:00"), "2026-11-22T10:00:00+00:00");
        assert_eq!(at("2026-11-22"), "2026-11-22T00:00:00+00:00");
        assert_eq!(at("2026-11-22T10:05"), "2026-11-22T10:05:00+00:00");
        assert_eq!(at("2026-11-22 10:05:07"), "2026-11-22T10:05:07+00:00");
        assert!(parse_time("NOW").is_ok());
    }

    #[test]
    fn local_forms_in_a_zone() {
        let berlin: Zone = "Europe/Berlin".parse().expect("zone");
        let at = |s| parse_time_in(s, berlin).map(|d| d.to_rfc3339());
        assert_eq!(at("2026-11-22").as_deref(), Ok("2026-11-21T23:00:00+00:00"));
        assert_eq!(
            at("2026-07-01T10:00").as_deref(),
            Ok("2026-07-01T08:00:00+00:00")
        );
        // With an offset, converted whatever the zone.
        assert_eq!(
            at("2026-11-22T11:00:00+01:00").as_deref(),
            Ok("2026-11-22T10:00:00+00:00")
        );
        // 02:30 on 2026-03-29 does not exist in Berlin: the first instant after the gap.
        assert_eq!(
            at("2026-03-29T02:30").as_deref(),
            Ok("2026-03-29T01:00:00+00:00")
        );
        // 02:30 on 2026-10-25 happens twice: the earlier.
        assert_eq!(
            at("2026-10-25T02:30").as_deref(),
            Ok("2026-10-25T00:30:00+00:00")
        );
    }

    #[test]
    fn zone_from_the_arguments() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ny = zone_of_args(&args(&[
            "bitmapist",
            "count",
            "e",
            "--timezone",
            "America/New_York",
        ]));
        assert_eq!(ny.map(|z| z.name()), Some("America/New_York"));
        let eq = zone_of_args(&args(&["bitmapist", "--timezone=Asia/Tokyo", "events"]));
        assert_eq!(eq.map(|z| z.name()), Some("Asia/Tokyo"));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-22T25:00",
            "22/11/2026",
        ] {
            assert_eq!(at(bad), TIME_FORMATS, "{bad}");
        }
        assert!(at("0000-01-01").contains("1..=9999"));
    }
}
