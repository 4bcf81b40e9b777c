//! A web extension's settings: the engine's (store, prefix, tracking) plus the web ones,
//! read once here for every adapter (axum, actix).
//! Read from the environment with Flask-Bitmapist's names, or set with the builder.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `BITMAPIST_URL` / `BITMAPIST_REDIS_URL` | the store | `file://./bitmapist.redb` |
//! | `BITMAPIST_REDIS_SYSTEM` | the system's name | `default` |
//! | `BITMAPIST_KEY_PREFIX` | key prefix | `trackist_` |
//! | `BITMAPIST_TRACK_HOURLY` | mark hour keys | `false` |
//! | `BITMAPIST_TRACK_UNIQUE` | mark the unique key | `false` |
//! | `BITMAPIST_DISABLE_BLUEPRINT` | do not mount the dashboard at `/bitmapist` | `false` |
//! | `BITMAPIST_QUEUE_CAPACITY` | marks waiting for the store before new ones are dropped | `65536` |

use bitmapist::Config;
use bitmapist::parse_env_bool;

/// `BITMAPIST_DISABLE_BLUEPRINT`: Flask-Bitmapist's name for "no dashboard".
pub const ENV_DISABLE_BLUEPRINT: &str = "BITMAPIST_DISABLE_BLUEPRINT";
/// `BITMAPIST_QUEUE_CAPACITY`
pub const ENV_QUEUE_CAPACITY: &str = "BITMAPIST_QUEUE_CAPACITY";
/// The default capacity of the mark queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// Everything the environment can set.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The engine's settings.
    pub engine: Config,
    /// Do not mount the dashboard.
    pub disable_blueprint: bool,
    /// Capacity of the mark queue.
    pub queue_capacity: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: Config::default(),
            disable_blueprint: false,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

impl Settings {
    /// Reads the process environment; a bad value is an error naming the variable.
    pub fn from_env() -> bitmapist::Result<Settings> {
        let engine = Config::from_env()?;
        Self::with_engine(engine, |name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (for tests).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> bitmapist::Result<Settings> {
        let engine = Config::from_vars(&get)?;
        Self::with_engine(engine, get)
    }

    fn with_engine(
        engine: Config,
        get: impl Fn(&str) -> Option<String>,
    ) -> bitmapist::Result<Settings> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut s = Settings {
            engine,
            ..Settings::default()
        };
        if let Some(v) = get(ENV_DISABLE_BLUEPRINT) {
            s.disable_blueprint = parse_env_bool(ENV_DISABLE_BLUEPRINT, &v)?;
        }
        if let Some(v) = get(ENV_QUEUE_CAPACITY) {
            s.queue_capacity = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bitmapist::Error::Config {
                    var: ENV_QUEUE_CAPACITY.to_string(),
                    reason: format!("{v:?} is not a positive whole number"),
                })?;
        }
        Ok(s)
    }
}
