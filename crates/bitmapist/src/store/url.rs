//! Store URLs: `memory://`, `file://PATH[?flush_ms=N&idle_secs=N]`, `redis://`, `rediss://`,
//! `redis+cluster://`, `rediss+cluster://`.
//! Parsing them into a [`StoreUrl`] with clear errors that name the part that is wrong.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::mask_password;
use crate::store::redis_config::RedisConfig;
use crate::store::{ClusterConfig, EmbeddedOptions};

/// The embedded store's file when no URL is configured.
pub const DEFAULT_FILE: &str = "./bitmapist.redb";

/// A parsed store URL.
///
/// ```
/// use bitmapist::StoreUrl;
///
/// assert!(matches!("memory://".parse::<StoreUrl>()?, StoreUrl::Memory));
/// assert!(matches!("file:///var/lib/app/analytics.redb".parse::<StoreUrl>()?, StoreUrl::File { .. }));
/// assert!("mysql://localhost".parse::<StoreUrl>().is_err());
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum StoreUrl {
    /// `memory://`
    Memory,
    /// `file://PATH`: `file://./relative.redb` or `file:///absolute.redb`.
    File {
        /// The redb file.
        path: PathBuf,
        /// `flush_ms` (commit interval) and `idle_secs` (cache eviction) from the query.
        options: EmbeddedOptions,
    },
    /// `redis://` or `rediss://`, kept as given for the Redis client.
    Redis {
        /// The URL.
        url: String,
    },
    /// `redis+cluster://h1:p1,h2:p2` or `rediss+cluster://...`: a Redis Cluster.
    Cluster(ClusterConfig),
}

impl Default for StoreUrl {
    fn default() -> Self {
        StoreUrl::File {
            path: PathBuf::from(DEFAULT_FILE),
            options: EmbeddedOptions::default(),
        }
    }
}

fn bad(raw: &str, reason: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: mask_password(raw),
        reason: reason.into(),
    }
}

fn parse_file(raw: &str, rest: &str) -> Result<StoreUrl> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(bad(
            raw,
            "file:// needs a path, e.g. file://./bitmapist.redb",
        ));
    }
    let mut options = EmbeddedOptions::default();
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number: u64 = value
            .parse()
            .map_err(|_| bad(raw, format!("{name}={value:?} is not a whole number")))?;
        match name {
            "flush_ms" if number > 0 => options.flush_interval = Duration::from_millis(number),
            "flush_ms" => return Err(bad(raw, "flush_ms must be at least 1")),
            "idle_secs" => {
                options.idle_eviction = (number > 0).then(|| Duration::from_secs(number))
            }
            _ => {
                return Err(bad(
                    raw,
                    format!("unknown option {name:?} (known: flush_ms, idle_secs)"),
                ));
            }
        }
    }
    Ok(StoreUrl::File {
        path: PathBuf::from(path),
        options,
    })
}

impl FromStr for StoreUrl {
    type Err = Error;
    fn from_str(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad(raw, "expected SCHEME://..., e.g. file://./bitmapist.redb"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "memory" if rest.is_empty() || rest == "/" => Ok(StoreUrl::Memory),
            "memory" => Err(bad(raw, "memory:// takes nothing after the scheme")),
            "file" => parse_file(raw, rest),
            "redis" | "rediss" => {
                RedisConfig::parse(s)?;
                Ok(StoreUrl::Redis { url: s.to_string() })
            }
            "redis+cluster" | "rediss+cluster" => Ok(StoreUrl::Cluster(ClusterConfig::parse(s)?)),
            other => Err(bad(
                raw,
                format!(
                    "unknown scheme {other:?} (known: memory, file, redis, rediss, redis+cluster, rediss+cluster)"
                ),
            )),
        }
    }
}
