//! Several named stores ("systems") in one process, as Python bitmapist's `setup_redis`.
//! Every call of Python bitmapist takes `system='default'`; here that is [`Systems::get`].

use crate::client::Bitmapist;
use crate::config::{Config, DEFAULT_SYSTEM};
use crate::error::{Error, Result};

/// Named [`Bitmapist`] handles, `"default"` first.
///
/// ```
/// use bitmapist::{Bitmapist, Systems};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let mut systems = Systems::new();
/// systems.insert("archive", Bitmapist::open("memory://").await?);
/// systems.insert("default", Bitmapist::open("memory://").await?);
/// assert_eq!(systems.names(), vec!["default", "archive"]);
/// systems.get("default")?.mark_event("user:logged_in", 1).await?;
/// assert!(systems.get("nope").is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Systems {
    entries: Vec<(String, Bitmapist)>,
}

impl Systems {
    /// No systems.
    pub fn new() -> Self {
        Self::default()
    }

    /// The system the environment configures, under its name (see [`Config`]).
    pub async fn from_env() -> Result<Systems> {
        let config = Config::from_env()?;
        let mut systems = Systems::new();
        systems.insert(config.system.clone(), config.open().await?);
        Ok(systems)
    }

    /// Adds or replaces a system. `"default"` is kept first; others in insertion order.
    pub fn insert(&mut self, name: impl Into<String>, client: Bitmapist) -> &mut Self {
        let name = name.into();
        if let Some(slot) = self.entries.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = client;
        } else if name == DEFAULT_SYSTEM {
            self.entries.insert(0, (name, client));
        } else {
            self.entries.push((name, client));
        }
        self
    }

    /// The system called `name`.
    pub fn get(&self, name: &str) -> Result<&Bitmapist> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .ok_or_else(|| Error::UnknownSystem(name.to_string()))
    }

    /// `"default"` if there is one, else the first system added.
    pub fn primary(&self) -> Option<&Bitmapist> {
        self.entries.first().map(|(_, c)| c)
    }

    /// The names, `"default"` first.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|(n, _)| n.as_str()).collect()
    }
}
