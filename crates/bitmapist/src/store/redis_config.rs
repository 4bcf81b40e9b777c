//! What a `redis://` or `rediss://` URL says: the server, TLS trust and time limits.
//! Parsed in one place (by [`StoreUrl`](crate::store::StoreUrl), so that a bad URL fails
//! before any connection is tried, and again by [`RedisStore::connect`](crate::RedisStore::connect)),
//! as `cluster/config.rs` parses `redis+cluster://`.
//!
//! ```text
//! redis://[[user]:password@]host[:port][/db][?connect_timeout_ms=N&response_timeout_ms=N]
//! rediss://...[?ca=/path/to/ca.pem][#insecure]
//! ```
//!
//! The engine's own options (`connect_timeout_ms`, `response_timeout_ms`, `ca`) are taken off
//! the URL; the rest (the client's own options, such as `protocol`) goes to the Redis client
//! unchanged. Errors are [`Error::InvalidUrl`] with the password masked, naming the part
//! that is wrong.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::mask_password;

/// How long one connection attempt may take, unless the URL says otherwise
/// (`?connect_timeout_ms=N`). Also how long, after a request found the server unreachable,
/// further requests fail at once instead of each waiting for its own attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The URL option that sets the connection timeout, in milliseconds.
const CONNECT_TIMEOUT_OPTION: &str = "connect_timeout_ms";
/// The URL option that bounds how long a request waits for the server's replies, in
/// milliseconds.
const RESPONSE_TIMEOUT_OPTION: &str = "response_timeout_ms";
/// How long a pipeline may wait for its replies, unless the URL says otherwise
/// (`?response_timeout_ms=N`): 10 s, which a 512 MiB bitmap (the largest) needs on a slow
/// network, and which is all a request waits for a server that accepts but never answers.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most either timeout option may say: 5 minutes.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// A parsed `redis://` or `rediss://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RedisConfig {
    /// The URL for the Redis client: the engine's options taken off.
    pub(crate) client_url: String,
    /// The URL as given, password masked, for messages.
    pub(crate) masked: String,
    /// How long one connection attempt may take (`connect_timeout_ms`).
    pub(crate) connect_timeout: Duration,
    /// How long a request waits for its replies (`response_timeout_ms`).
    pub(crate) response_timeout: Duration,
    /// `ca=PATH`: the PEM file of the CA(s) to trust instead of the public roots.
    pub(crate) ca: Option<PathBuf>,
}

impl RedisConfig {
    /// Parses a `redis://` or `rediss://` URL: a host, a numeric database if any, and the
    /// engine's options within their bounds.
    pub(crate) fn parse(raw: &str) -> Result<RedisConfig> {
        let masked = mask_password(raw);
        let bad = |reason: String| Error::InvalidUrl {
            url: masked.clone(),
            reason,
        };
        let parsed = ::url::Url::parse(raw).map_err(|e| bad(e.to_string()))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host".to_string()));
        }
        let db = parsed.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u32>().is_err() {
            return Err(bad(format!("database {db:?} is not a number")));
        }
        let (url, connect_timeout, response_timeout) = timeouts_of(raw).map_err(&bad)?;
        let (client_url, ca) = ca_of(&url).map_err(&bad)?;
        Ok(RedisConfig {
            client_url,
            masked: masked.clone(),
            connect_timeout,
            response_timeout,
            ca,
        })
    }
}

/// Splits the `connect_timeout_ms=N` and `response_timeout_ms=N` options off a Redis URL:
/// the URL for the client (unchanged when neither is given) and the two timeouts (the
/// defaults when absent). Each must be a whole number of milliseconds in
/// `1..=`[`MAX_TIMEOUT`].
fn timeouts_of(url: &str) -> std::result::Result<(String, Duration, Duration), String> {
    let Ok(mut parsed) = ::url::Url::parse(url) else {
        return Ok((url.to_string(), CONNECT_TIMEOUT, RESPONSE_TIMEOUT));
    };
    let mut connect = None;
    let mut response = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        let slot = match k.as_ref() {
            CONNECT_TIMEOUT_OPTION => &mut connect,
            RESPONSE_TIMEOUT_OPTION => &mut response,
            _ => {
                rest.push((k.into_owned(), v.into_owned()));
                continue;
            }
        };
        let max = MAX_TIMEOUT.as_millis();
        let ms: u64 = v
            .parse()
            .ok()
            .filter(|&ms| ms > 0 && u128::from(ms) <= max)
            .ok_or_else(|| {
                format!("{k}={v:?} is not a whole number of milliseconds in 1..={max}")
            })?;
        *slot = Some(Duration::from_millis(ms));
    }
    if connect.is_none() && response.is_none() {
        return Ok((url.to_string(), CONNECT_TIMEOUT, RESPONSE_TIMEOUT));
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((
        parsed.to_string(),
        connect.unwrap_or(CONNECT_TIMEOUT),
        response.unwrap_or(RESPONSE_TIMEOUT),
    ))
}

/// Splits the `ca=PATH` option (the PEM file of the CA certificate(s) a `rediss://`
/// server's certificate must chain to) off a Redis URL: the URL for the client (unchanged
/// when the option is absent) and the path.
fn ca_of(url: &str) -> std::result::Result<(String, Option<PathBuf>), String> {
    let Ok(mut parsed) = ::url::Url::parse(url) else {
        return Ok((url.to_string(), None));
    };
    let mut ca = None;
    let mut rest = Vec::new();
    for (k, v) in parsed.query_pairs() {
        if k == "ca" {
            if v.is_empty() {
                return Err("ca= needs the path of a PEM file".into());
            }
            ca = Some(PathBuf::from(v.as_ref()));
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    let Some(ca) = ca else {
        return Ok((url.to_string(), None));
    };
    if parsed.scheme() != "rediss" {
        return Err("ca= is only meaningful with rediss://".into());
    }
    if parsed.fragment() == Some("insecure") {
        return Err(
            "ca= and #insecure contradict each other: trust a CA, or accept any certificate".into(),
        );
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((parsed.to_string(), Some(ca)))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_ca_comes_from_the_url() {
        assert_eq!(
            ca_of("rediss://h:1/0?ca=/etc/ca.pem&protocol=resp2"),
            Ok((
                "rediss://h:1/0?protocol=resp2".to_string(),
                Some(PathBuf::from("/etc/ca.pem"))
            ))
        );
        assert_eq!(
            ca_of("rediss://h:1/0#insecure"),
            Ok(("rediss://h:1/0#insecure".to_string(), None))
        );
        for (bad, needle) in [
            ("redis://h/?ca=/x.pem", "rediss"),
            ("rediss://h/?ca=", "PEM"),
            ("rediss://h/?ca=/x.pem#insecure", "contradict"),
        ] {
            let err = ca_of(bad).expect_err(bad);
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn the_timeouts_come_from_the_url() {
        let t = |u: &str| timeouts_of(u);
        let ms = Duration::from_millis;
        assert_eq!(
            t("redis://h:1/0"),
            Ok((
                "redis://h:1/0".to_string(),
                CONNECT_TIMEOUT,
                RESPONSE_TIMEOUT
            ))
        );
        assert_eq!(
            t("redis://h:1/0?connect_timeout_ms=250"),
            Ok(("redis://h:1/0".to_string(), ms(250), RESPONSE_TIMEOUT))
        );
        assert_eq!(
            t("redis://h:1/0?protocol=resp2&connect_timeout_ms=2000&response_timeout_ms=700"),
            Ok((
                "redis://h:1/0?protocol=resp2".to_string(),
                Duration::from_secs(2),
                ms(700)
            ))
        );
        assert_eq!(
            t("redis://h/?response_timeout_ms=300000").map(|(_, _, r)| r),
            Ok(MAX_TIMEOUT)
        );
        for bad in [
            "redis://h/?connect_timeout_ms=0",
            "redis://h/?connect_timeout_ms=x",
            "redis://h/?response_timeout_ms=0",
            "redis://h/?response_timeout_ms=300001",
            "redis://h/?connect_timeout_ms=99999999999999999999",
        ] {
            let err = t(bad).expect_err(bad);
            assert!(err.contains("1..=300000"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_url_is_checked_whole() {
        let c = RedisConfig::parse("redis://:secret@h:7/2?connect_timeout_ms=250").unwrap();
        assert_eq!(c.client_url, "redis://:secret@h:7/2");
        assert_eq!(c.connect_timeout, Duration::from_millis(250));
        assert_eq!(c.response_timeout, RESPONSE_TIMEOUT);
        assert!(!c.masked.contains("secret"));
        for (bad, needle) in [
            ("redis:///0", "no host"),
            ("redis://h/zero", "not a number"),
            ("redis://:secret@h/?response_timeout_ms=0", "1..=300000"),
            ("redis://:secret@h/?ca=/x.pem", "rediss"),
        ] {
            let err = RedisConfig::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(needle), "{bad}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
