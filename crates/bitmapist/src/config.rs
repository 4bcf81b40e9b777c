//! Configuration from the environment, with Python bitmapist's and Flask-Bitmapist's variable names.
//! A bad value is an error that names the variable; nothing is silently defaulted.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BITMAPIST_URL` | any store URL (`memory://`, `file://PATH`, `redis://...`, `redis+cluster://...`) | the embedded file `./bitmapist.redb` |
//! | `BITMAPIST_REDIS_URL` | Flask-Bitmapist's name for the same (any store URL is accepted) | |
//! | `BITMAPIST_REDIS_SYSTEM` | the name of the system (store) this configures | `default` |
//! | `BITMAPIST_KEY_PREFIX` | key prefix (`bitmapist_` for bitmapist4) | `trackist_` |
//! | `BITMAPIST_TRACK_HOURLY` | also mark hour keys | `false` |
//! | `BITMAPIST_TRACK_UNIQUE` | also mark the date-less unique key | `false` |
//! | `BITMAPIST_ID_MAP` | map user ids that are not `u32` through the external-id map (axum) | `false` |
//! | `BITMAPIST_TIMEZONE` | the store's IANA time zone (see [`Zone`](crate::Zone)) | `UTC` |
//! | `BITMAPIST_KEEP` | the retention policy, e.g. `hour:7d,day:400d` (see [`KeepPolicy`](crate::KeepPolicy)) | keep everything |
//!
//! Booleans accept `1/0`, `true/false`, `yes/no`, `on/off` in any case. If both URL
//! variables are set they must agree.

use crate::client::{Bitmapist, Builder};
use crate::error::{Error, Result};
use crate::key::DEFAULT_PREFIX;
use crate::store::StoreUrl;

/// `BITMAPIST_URL`
pub const ENV_URL: &str = "BITMAPIST_URL";
/// `BITMAPIST_REDIS_URL`
pub const ENV_REDIS_URL: &str = "BITMAPIST_REDIS_URL";
/// `BITMAPIST_REDIS_SYSTEM`
pub const ENV_SYSTEM: &str = "BITMAPIST_REDIS_SYSTEM";
/// `BITMAPIST_KEY_PREFIX`
pub const ENV_KEY_PREFIX: &str = "BITMAPIST_KEY_PREFIX";
/// `BITMAPIST_TRACK_HOURLY`
pub const ENV_TRACK_HOURLY: &str = "BITMAPIST_TRACK_HOURLY";
/// `BITMAPIST_TRACK_UNIQUE`
pub const ENV_TRACK_UNIQUE: &str = "BITMAPIST_TRACK_UNIQUE";

/// `BITMAPIST_ID_MAP`
pub const ENV_ID_MAP: &str = "BITMAPIST_ID_MAP";

/// The name of the system used when none is configured.
pub const DEFAULT_SYSTEM: &str = "default";

/// Settings of one bitmapist system.
///
/// ```
/// use bitmapist::Config;
/// let vars = [("BITMAPIST_URL", "memory://"), ("BITMAPIST_TRACK_HOURLY", "yes")];
/// let config = Config::from_vars(|name| {
///     vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// })?;
/// assert!(config.track_hourly);
///
/// let bad = Config::from_vars(|name| (name == "BITMAPIST_TRACK_HOURLY").then(|| "maybe".to_string()));
/// assert!(bad.unwrap_err().to_string().contains("BITMAPIST_TRACK_HOURLY"));
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The store.
    pub url: StoreUrl,
    /// The URL as written (for messages), if one was given.
    pub url_text: Option<String>,
    /// The system's name.
    pub system: String,
    /// The key prefix.
    pub key_prefix: String,
    /// Mark hour keys by default.
    pub track_hourly: bool,
    /// Mark the unique key by default.
    pub track_unique: bool,
    /// Map non-`u32` user ids through the external-id map (see [`IdMap`](crate::IdMap)).
    pub id_map: bool,
    /// The store's time zone (`BITMAPIST_TIMEZONE`).
    pub timezone: crate::Zone,
    /// The retention policy (`BITMAPIST_KEEP`).
    pub keep: crate::KeepPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            url: StoreUrl::default(),
            url_text: None,
            system: DEFAULT_SYSTEM.to_string(),
            key_prefix: DEFAULT_PREFIX.to_string(),
            track_hourly: false,
            track_unique: false,
            id_map: false,
            timezone: crate::Zone::UTC,
            keep: crate::KeepPolicy::default(),
        }
    }
}

fn config_error(var: &str, reason: impl Into<String>) -> Error {
    Error::Config {
        var: var.to_string(),
        reason: reason.into(),
    }
}

/// Parses a boolean setting, naming `var` in the error.
pub fn parse_env_bool(var: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(config_error(
            var,
            format!("{value:?} is not a boolean (use true/false, 1/0, yes/no, on/off)"),
        )),
    }
}

impl Config {
    /// Reads the process environment. A variable that is not valid UTF-8 is an error.
    pub fn from_env() -> Result<Config> {
        let bad = std::cell::RefCell::new(None);
        let config = Config::from_vars(|name| match std::env::var(name) {
            Ok(v) => Some(v),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                bad.borrow_mut().get_or_insert_with(|| name.to_string());
                None
            }
        });
        match bad.into_inner() {
            Some(var) => Err(config_error(&var, "not valid UTF-8")),
            None => config,
        }
    }

    /// Reads variables through `get` (for tests and other sources). Empty values count as
    /// unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut config = Config::default();
        let url = match (get(ENV_URL), get(ENV_REDIS_URL)) {
            (Some(a), Some(b)) if a.trim() != b.trim() => {
                return Err(config_error(
                    ENV_URL,
                    format!("{ENV_URL} and {ENV_REDIS_URL} are both set and differ; set one"),
                ));
            }
            (Some(a), _) => Some((ENV_URL, a)),
            (None, Some(b)) => Some((ENV_REDIS_URL, b)),
            (None, None) => None,
        };
        if let Some((var, text)) = url {
            config.url = text
                .parse()
                .map_err(|e: Error| config_error(var, e.to_string()))?;
            config.url_text = Some(text);
        }
        if let Some(system) = get(ENV_SYSTEM) {
            config.system = system.trim().to_string();
        }
        if let Some(prefix) = get(ENV_KEY_PREFIX) {
            config.key_prefix = prefix;
        }
        if let Some(v) = get(ENV_TRACK_HOURLY) {
            config.track_hourly = parse_env_bool(ENV_TRACK_HOURLY, &v)?;
        }
        if let Some(v) = get(ENV_TRACK_UNIQUE) {
            config.track_unique = parse_env_bool(ENV_TRACK_UNIQUE, &v)?;
        }
        if let Some(v) = get(ENV_ID_MAP) {
            config.id_map = parse_env_bool(ENV_ID_MAP, &v)?;
        }
        if let Some(v) = get(crate::zone::ENV_TIMEZONE) {
            config.timezone = v
                .parse()
                .map_err(|e: Error| config_error(crate::zone::ENV_TIMEZONE, e.to_string()))?;
        }
        if let Some(v) = get(crate::keep::ENV_KEEP) {
            config.keep = v
                .parse()
                .map_err(|e: Error| config_error(crate::keep::ENV_KEEP, e.to_string()))?;
        }
        Ok(config)
    }

    /// A [`Builder`] with these settings (except the store, which
    /// [`Config::open`] opens).
    pub fn builder(&self) -> Builder {
        Bitmapist::builder()
            .key_prefix(self.key_prefix.clone())
            .track_hourly(self.track_hourly)
            .track_unique(self.track_unique)
            .id_map(self.id_map)
            .timezone(self.timezone)
            .keep(self.keep.clone())
    }

    /// Opens the configured store.
    pub async fn open(&self) -> Result<Bitmapist> {
        let store = crate::store::open_store_url(&self.url).await?;
        self.builder().store(store).open().await
    }
}
