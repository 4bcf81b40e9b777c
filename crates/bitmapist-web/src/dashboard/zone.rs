//! "As of": the instant a page, table or chart is computed at, read once per request and
//! always in the store's time zone, with the label that says which zone the times are in.
//!
//! Why one type: every route takes a `now` (the stickiness API calls it `at`), and a value
//! without an offset names a wall-clock time of the store's zone, not of UTC. Parsing it
//! here, with the zone, is the only way a handler gets an instant, so none can forget the
//! zone. The text as sent is kept beside the instant for the links a page builds.

use bitmapist::Zone;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::error::{DashboardError, bad};

/// The "as of" of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsOf {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The parameter as sent, trimmed (empty: the moment of the request); kept in links.
    pub raw: String,
}

impl AsOf {
    /// Reads `param` in `zone`: `YYYY-MM-DD` is the end of that day (23:59:59) on the
    /// zone's wall clock, `YYYY-MM-DDTHH:MM[:SS]` that wall-clock time, RFC 3339 the
    /// instant it names; absent or empty, the moment of the request. Other text, and a
    /// year outside the engine's range, are a 400 naming `param`.
    pub fn parse(
        param: &'static str,
        raw: Option<&str>,
        zone: Zone,
    ) -> Result<AsOf, DashboardError> {
        let text = raw.map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Ok(AsOf {
                at: Utc::now(),
                raw: String::new(),
            });
        }
        let out_of_range = |year: i32| bad(param, format!("{param}: year {year} is out of range"));
        let in_range = |year: i32| (bitmapist::MIN_YEAR..=bitmapist::MAX_YEAR).contains(&year);
        let local = if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            NaiveTime::from_hms_opt(23, 59, 59).map(|t| d.and_time(t))
        } else if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            let at = t.with_timezone(&Utc);
            if !in_range(at.year()) {
                return Err(out_of_range(at.year()));
            }
            return Ok(AsOf {
                at,
                raw: text.to_string(),
            });
        } else {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
                .ok()
        };
        let local = local.ok_or_else(|| {
            bad(
                param,
                format!("{param}: {text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"),
            )
        })?;
        if !in_range(local.year()) {
            return Err(out_of_range(local.year()));
        }
        let at = zone
            .instant(local)
            .ok_or_else(|| out_of_range(local.year()))?;
        Ok(AsOf {
            at,
            raw: text.to_string(),
        })
    }

    /// "as of" for people: `2026-11-22 13:05 UTC`, or on another zone its wall clock and
    /// name, `2026-11-22 14:05 (times in Europe/Berlin)`.
    pub fn label(&self, zone: Zone) -> String {
        let local = zone.local(self.at).format("%Y-%m-%d %H:%M");
        if zone.is_utc() {
            format!("{local} UTC")
        } else {
            format!("{local} ({})", zone.note())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_in_the_zone_and_labelled() {
        let berlin: Zone = "Europe/Berlin".parse().expect("zone");
        let local = AsOf::parse("now", Some("2026-11-22"), berlin).expect("valid");
        assert_eq!(local.at.to_rfc3339(), "2026-11-22T22:59:59+00:00");
        assert_eq!(local.raw, "2026-11-22");
        let given = AsOf::parse("now", Some(" 2026-11-22T23:59:59Z "), berlin).expect("valid");
        assert_eq!(given.at.to_rfc3339(), "2026-11-22T23:59:59+00:00");
        assert_eq!(given.raw, "2026-11-22T23:59:59Z");
        let utc = AsOf::parse("now", Some("2026-11-22"), Zone::UTC).expect("valid");
        assert_eq!(utc.at.to_rfc3339(), "2026-11-22T23:59:59+00:00");
        let minutes = AsOf::parse("now", Some("2026-11-22T13:05"), berlin).expect("valid");
        assert_eq!(minutes.at.to_rfc3339(), "2026-11-22T12:05:00+00:00");
        assert_eq!(
            utc.label(berlin),
            "2026-11-23 00:59 (times in Europe/Berlin)"
        );
        assert_eq!(utc.label(Zone::UTC), "2026-11-22 23:59 UTC");
        let absent = AsOf::parse("now", None, berlin).expect("now");
        assert!(absent.raw.is_empty());
        assert_eq!(AsOf::parse("now", Some(""), berlin).expect("now").raw, "");
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for raw in [
            "2026-13-01",
            "22/11/2026",
            "+99999-01-01T00:00:00Z",
            "yesterday",
        ] {
            let e = AsOf::parse("at", Some(raw), Zone::UTC).expect_err(raw);
            assert_eq!(e.param(), Some("at"), "{raw}");
        }
        assert!(AsOf::parse("now", Some("2026-11-22T13:05:00+02:00"), Zone::UTC).is_ok());
    }
}
