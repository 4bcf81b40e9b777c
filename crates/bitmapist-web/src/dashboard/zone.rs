//! The dashboard in the store's time zone: `now` values without an offset read on its wall
//! clock, and the "as of" label that says which zone the page's times are in.

use bitmapist::Zone;
use chrono::{DateTime, Utc};

/// Reads a `now` parameter in `zone`: the params parse `YYYY-MM-DD` (end of day) and
/// `YYYY-MM-DDTHH:MM[:SS]` as UTC wall-clock times; without an offset in `raw`, the same
/// wall-clock time is taken in `zone` instead. RFC 3339 (with an offset), an absent `now`,
/// and a UTC store are left as they are.
pub(crate) fn local_now(zone: Zone, raw: Option<&str>, parsed: DateTime<Utc>) -> DateTime<Utc> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return parsed;
    };
    if zone.is_utc() || DateTime::parse_from_rfc3339(raw).is_ok() {
        return parsed;
    }
    zone.instant(parsed.naive_utc()).unwrap_or(parsed)
}

/// "as of" for people: `2026-11-22 13:05 UTC`, or on another zone its wall clock and name,
/// `2026-11-22 14:05 (times in Europe/Berlin)`.
pub(crate) fn as_of_label(zone: Zone, now: DateTime<Utc>) -> String {
    let local = zone.local(now).format("%Y-%m-%d %H:%M");
    if zone.is_utc() {
        format!("{local} UTC")
    } else {
        format!("{local} ({})", zone.note())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_now_and_label() {
        let berlin: Zone = "Europe/Berlin".parse().expect("zone");
        let parsed = Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 59, 59)
            .single()
            .expect("t");
        let local = local_now(berlin, Some("2026-11-22"), parsed);
        assert_eq!(local.to_rfc3339(), "2026-11-22T22:59:59+00:00");
        let given = local_now(berlin, Some("2026-11-22T23:59:59Z"), parsed);
        assert_eq!(given, parsed);
        assert_eq!(local_now(Zone::UTC, Some("2026-11-22"), parsed), parsed);
        assert_eq!(
            as_of_label(berlin, parsed),
            "2026-11-23 00:59 (times in Europe/Berlin)"
        );
        assert_eq!(as_of_label(Zone::UTC, parsed), "2026-11-22 23:59 UTC");
    }
}
