//! Parsing `--at`, `--now` and `--end` values: RFC 3339, dates, date-times (UTC), `now`.
//! Used as a clap value parser, so a bad time is a usage error (exit 2) naming the flag.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// What a TIME may look like, for error messages.
pub const TIME_FORMATS: &str = "expected `now`, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or RFC 3339 \
     (2026-11-22T10:00:00Z, 2026-11-22T11:00:00+01:00)";

/// Parses a TIME: `now`, RFC 3339, `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM[:SS]`
/// (UTC; a space may replace the `T`). Years must be within 1..=9999.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
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
                .map(|d| d.and_utc())
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
            .map(|d| d.and_utc())
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
