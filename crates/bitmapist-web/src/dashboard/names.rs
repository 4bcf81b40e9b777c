//! The list of event names, reused for a few seconds: listing scans every key of the
//! store (`SCAN` on Redis), which an app with hundreds of events should not do per page.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitmapist::Bitmapist;

/// How long a listing is reused by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Event names, cached for `ttl`.
#[derive(Debug)]
pub struct EventNames {
    ttl: Duration,
    cached: Mutex<Option<(Instant, Arc<Vec<String>>)>>,
}

impl EventNames {
    /// An empty cache that keeps a listing for `ttl` (zero: never reuse).
    pub fn new(ttl: Duration) -> Self {
        EventNames {
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// Every event name, sorted.
    pub async fn get(&self, client: &Bitmapist) -> bitmapist::Result<Arc<Vec<String>>> {
        if !self.ttl.is_zero()
            && let Ok(guard) = self.cached.lock()
            && let Some((at, names)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(names.clone());
        }
        let names = Arc::new(client.event_names(None).await?);
        if !self.ttl.is_zero()
            && let Ok(mut guard) = self.cached.lock()
        {
            *guard = Some((Instant::now(), names.clone()));
        }
        Ok(names)
    }
}

/// The pair of events a fresh cohort page starts with: a sign-up-like and an
/// activity-like event when present, else the first two names (or the only one twice).
pub fn suggested_pair(names: &[String]) -> Option<(String, String)> {
    const PRIMARY: [&str; 5] = [
        "user:signed_up",
        "user:created",
        "user:registered",
        "user:signup",
        "signed_up",
    ];
    const SECONDARY: [&str; 5] = [
        "user:logged_in",
        "user:active",
        "user:login",
        "logged_in",
        "active",
    ];
    let find = |wanted: &[&str]| {
        wanted
            .iter()
            .find(|w| names.iter().any(|n| n == *w))
            .map(|w| (*w).to_string())
    };
    let first = names.first()?;
    let primary = find(&PRIMARY).unwrap_or_else(|| first.clone());
    let secondary = find(&SECONDARY)
        .or_else(|| names.iter().find(|n| **n != primary).cloned())
        .unwrap_or_else(|| primary.clone());
    Some((primary, secondary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggested_pair(&[]), None);
        assert_eq!(suggested_pair(&v(&["a"])), Some(("a".into(), "a".into())));
        assert_eq!(
            suggested_pair(&v(&["a", "b", "c"])),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(
            suggested_pair(&v(&["a", "user:logged_in", "user:signed_up"])),
            Some(("user:signed_up".into(), "user:logged_in".into()))
        );
    }
}
