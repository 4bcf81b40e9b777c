//! What a `redis+cluster://` URL says: the seed nodes, TLS, credentials and time limits.
//! Parsed once (by [`StoreUrl`](crate::store::StoreUrl)) so that a bad URL fails before any connection is tried.
//!
//! ```text
//! redis+cluster://[[user]:password@]host[:port][,host[:port]...][/][?connect_timeout_ms=N&timeout_ms=N]
//! rediss+cluster://...[?ca=/path/to/ca.pem][#insecure]
//! ```
//!
//! Over TLS (`rediss+cluster://`) the nodes' certificates are checked against the
//! Mozilla root certificates, or, with `ca=PATH`, against the CA certificate(s) in that
//! PEM file only (a private CA, as Redis deployments usually have). `#insecure` accepts
//! any certificate: an explicit opt-out, not to be combined with `ca=`.
//!
//! The hosts are seeds: the client asks them for the cluster's layout and then talks to
//! every primary it learns of, so one reachable seed is enough. A port defaults to 6379;
//! IPv6 hosts are written in brackets (`[::1]:7000`). A cluster has only database 0, so a
//! path other than `/` or `/0` is an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::mask_password;

/// How long one connection attempt to a node may take, unless `connect_timeout_ms` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one store call may keep retrying (redirections, reconnections, a failover)
/// before it fails, unless `timeout_ms` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The most `connect_timeout_ms` and `timeout_ms` may say: 5 minutes (300,000 ms). A call
/// that may wait longer holds its caller (a dashboard request) without a useful bound.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// A parsed `redis+cluster://` or `rediss+cluster://` URL.
///
/// ```
/// use bitmapist::{ClusterConfig, StoreUrl};
/// let url = "redis+cluster://:secret@10.0.0.1:7000,10.0.0.2?timeout_ms=5000";
/// let StoreUrl::Cluster(config) = url.parse::<StoreUrl>()? else { unreachable!() };
/// assert_eq!(config.seeds(), &[("10.0.0.1".to_string(), 7000), ("10.0.0.2".to_string(), 6379)]);
/// assert_eq!(config.timeout().as_millis(), 5000);
/// assert!(!config.masked().contains("secret"));
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    seeds: Vec<(String, u16)>,
    /// `user:password` as written in the URL (percent-encoded), if any.
    userinfo: Option<String>,
    /// `None`: plain TCP; `Some(insecure)`: TLS, `insecure` accepting any certificate.
    tls: Option<bool>,
    /// `ca=PATH`: the PEM file of the CA(s) to trust instead of the public roots.
    ca: Option<PathBuf>,
    connect_timeout: Duration,
    timeout: Duration,
    masked: String,
}

fn bad(raw: &str, reason: impl Into<String>) -> Error {
    Error::InvalidUrl {
        url: mask_password(raw),
        reason: reason.into(),
    }
}

/// `host[:port]` or `[v6]:port` to (host, port).
fn parse_node(raw: &str, node: &str) -> Result<(String, u16)> {
    let (host, port) = if let Some(rest) = node.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad(raw, format!("node {node:?}: unclosed '['")))?;
        match after {
            "" => (format!("[{host}]"), None),
            _ => match after.strip_prefix(':') {
                Some(port) => (format!("[{host}]"), Some(port)),
                None => return Err(bad(raw, format!("node {node:?}: expected ':' after ']'"))),
            },
        }
    } else {
        match node.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (node.to_string(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(bad(raw, format!("node {node:?} has no host")));
    }
    if host.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad(
            raw,
            format!("node {node:?}: {host:?} is not a host name"),
        ));
    }
    let port = match port {
        None => 6379,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(bad(
                    raw,
                    format!("node {node:?}: port {p:?} is not 1-65535"),
                ));
            }
        },
    };
    Ok((host, port))
}

impl ClusterConfig {
    /// Parses a `redis+cluster://` or `rediss+cluster://` URL (see the module docs).
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad(raw, "expected redis+cluster://host:port,..."))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "redis+cluster" => false,
            "rediss+cluster" => true,
            other => {
                return Err(bad(
                    raw,
                    format!("{other:?} is not redis+cluster or rediss+cluster"),
                ));
            }
        };
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let tls = match (secure, fragment) {
            (false, None) => None,
            (true, None) => Some(false),
            (true, Some("insecure")) => Some(true),
            (false, Some(_)) => {
                return Err(bad(
                    raw,
                    "a #fragment is only meaningful with rediss+cluster",
                ));
            }
            (true, Some(f)) => {
                return Err(bad(
                    raw,
                    format!("unknown fragment #{f} (known: #insecure)"),
                ));
            }
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !matches!(path, "" | "/" | "/0") {
            return Err(bad(
                raw,
                format!("{path:?}: a Redis Cluster has only database 0"),
            ));
        }
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if hosts.is_empty() {
            return Err(bad(raw, "no host: expected host:port[,host:port...]"));
        }
        let seeds = hosts
            .split(',')
            .map(|node| match node.trim() {
                "" => Err(bad(raw, "an empty node in the host list")),
                node => parse_node(raw, node),
            })
            .collect::<Result<Vec<_>>>()?;

        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        let mut timeout = DEFAULT_TIMEOUT;
        let mut ca = None;
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name == "ca" {
                match tls {
                    _ if value.is_empty() => {
                        return Err(bad(raw, "ca= needs the path of a PEM file"));
                    }
                    None => return Err(bad(raw, "ca= is only meaningful with rediss+cluster")),
                    Some(true) => {
                        return Err(bad(
                            raw,
                            "ca= and #insecure contradict each other: trust a CA, or accept any certificate",
                        ));
                    }
                    Some(false) => ca = Some(PathBuf::from(value)),
                }
                continue;
            }
            let max = MAX_TIMEOUT.as_millis();
            let ms: u64 = match value.parse() {
                Ok(n) if n > 0 && u128::from(n) <= max => n,
                _ => {
                    return Err(bad(
                        raw,
                        format!(
                            "{name}={value:?} is not a whole number of milliseconds in 1..={max}"
                        ),
                    ));
                }
            };
            match name {
                "connect_timeout_ms" => connect_timeout = Duration::from_millis(ms),
                "timeout_ms" => timeout = Duration::from_millis(ms),
                _ => {
                    return Err(bad(
                        raw,
                        format!(
                            "unknown option {name:?} (known: connect_timeout_ms, timeout_ms, ca)"
                        ),
                    ));
                }
            }
        }
        let config = ClusterConfig {
            seeds,
            userinfo: userinfo.filter(|u| !u.is_empty()).map(str::to_string),
            tls,
            ca,
            connect_timeout,
            timeout,
            masked: mask_password(s),
        };
        // The Redis client must accept every node URL; check now, not at connect time.
        for node in config.node_urls() {
            redis::IntoConnectionInfo::into_connection_info(node.as_str())
                .map_err(|e| bad(raw, e.to_string()))?;
        }
        Ok(config)
    }

    /// The seed nodes, as (host, port).
    pub fn seeds(&self) -> &[(String, u16)] {
        &self.seeds
    }

    /// How long one connection attempt to a node may take (`connect_timeout_ms`).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long one store call may keep retrying before it fails (`timeout_ms`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether the nodes are reached over TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// `ca=PATH`: the PEM file of the CA certificate(s) the nodes' certificates must chain
    /// to, instead of the public roots.
    pub fn ca(&self) -> Option<&Path> {
        self.ca.as_deref()
    }

    /// The URL with its password masked, for messages.
    pub fn masked(&self) -> &str {
        &self.masked
    }

    /// One `redis://` (or `rediss://`) URL per seed, with the credentials, for the client.
    pub(crate) fn node_urls(&self) -> Vec<String> {
        self.seeds
            .iter()
            .map(|(host, port)| self.node_url(host, *port))
            .collect()
    }

    /// The `redis://` (or `rediss://`) URL of one node, with the credentials.
    pub(crate) fn node_url(&self, host: &str, port: u16) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let auth = self
            .userinfo
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let fragment = if self.tls == Some(true) {
            "/#insecure"
        } else {
            ""
        };
        format!("{scheme}://{auth}{host}:{port}{fragment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> ClusterConfig {
        ClusterConfig::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn err(url: &str) -> String {
        match ClusterConfig::parse(url) {
            Ok(c) => panic!("{url} parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn seeds_ports_and_options() {
        let c = ok("redis+cluster://a:7000,b,[::1]:7002/?connect_timeout_ms=250&timeout_ms=3000");
        assert_eq!(
            c.seeds(),
            &[
                ("a".to_string(), 7000),
                ("b".to_string(), 6379),
                ("[::1]".to_string(), 7002)
            ]
        );
        assert_eq!(c.connect_timeout(), Duration::from_millis(250));
        assert_eq!(c.timeout(), Duration::from_millis(3000));
        assert_eq!(
            c.node_urls(),
            vec!["redis://a:7000", "redis://b:6379", "redis://[::1]:7002"]
        );
        let d = ok("REDIS+CLUSTER://h:1/0");
        assert_eq!(d.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(d.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn credentials_and_tls_reach_every_node_but_not_messages() {
        let c = ok("rediss+cluster://user:p%40ss@h1:1,h2:2#insecure");
        assert!(c.tls());
        assert_eq!(
            c.node_urls(),
            vec![
                "rediss://user:p%40ss@h1:1/#insecure",
                "rediss://user:p%40ss@h2:2/#insecure"
            ]
        );
        assert!(!c.masked().contains("p%40ss"), "{}", c.masked());
        let plain = ok("rediss+cluster://:pw@h:1");
        assert_eq!(plain.node_urls(), vec!["rediss://:pw@h:1"]);
        assert_eq!(plain.ca(), None);
        let private = ok("rediss+cluster://h:1?ca=/etc/redis/ca.pem&timeout_ms=9");
        assert_eq!(private.ca(), Some(Path::new("/etc/redis/ca.pem")));
        assert_eq!(private.node_urls(), vec!["rediss://h:1"]);
    }

    #[test]
    fn bad_urls_name_the_problem_without_the_password() {
        for (url, needle) in [
            ("redis+cluster://", "no host"),
            ("redis+cluster://:pw@", "no host"),
            ("redis+cluster://a:1,,b:2", "empty node"),
            ("redis+cluster://a:notaport", "notaport"),
            ("redis+cluster://a:0", "1-65535"),
            ("redis+cluster://a:70000", "70000"),
            ("redis+cluster://a:1/3", "database 0"),
            ("redis+cluster://a:1?timeout_ms=0", "timeout_ms"),
            ("redis+cluster://a:1?timeout_ms=soon", "soon"),
            ("redis+cluster://a:1?timeout_ms=300001", "1..=300000"),
            (
                "redis+cluster://a:1?connect_timeout_ms=999999999",
                "1..=300000",
            ),
            ("redis+cluster://a:1?db=2", "unknown option"),
            ("redis+cluster://a:1#insecure", "rediss+cluster"),
            ("rediss+cluster://a:1#trustme", "#trustme"),
            ("redis+cluster://[::1:7000", "unclosed"),
            ("redis+cluster://:secret@a:1/9", "database 0"),
            (
                "redis+cluster://a:1?ca=/x.pem",
                "only meaningful with rediss",
            ),
            ("rediss+cluster://a:1?ca=", "PEM file"),
            ("rediss+cluster://a:1?ca=/x.pem#insecure", "contradict"),
        ] {
            let text = err(url);
            assert!(text.contains(needle), "{url}: {text}");
            assert!(!text.contains("secret"), "{url}: {text}");
        }
    }
}
