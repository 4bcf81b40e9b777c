//! Key names, exactly as Python bitmapist writes them: `{prefix}{event}_{suffix}`.
//! Building keys for an event and period, and reading an event and period back from a key.
//!
//! | period | key |
//! |---|---|
//! | hour | `trackist_{event}_{Y}-{M}-{D}-{H}` |
//! | day | `trackist_{event}_{Y}-{M}-{D}` |
//! | ISO week | `trackist_{event}_W{isoYear}-{isoWeek}` |
//! | month | `trackist_{event}_{Y}-{M}` |
//! | unique | `trackist_{event}_u` |
//! | year | no key: the twelve month keys, OR-ed |
//!
//! No number is zero-padded. Suffixes never contain `_`, so an event name may contain
//! underscores and still be read back: the suffix is what follows the last `_`.

use crate::period::Period;

/// The key prefix Python bitmapist 3.x uses.
pub const DEFAULT_PREFIX: &str = "trackist_";

/// Python bitmapist names its temporary `BITOP` results `{prefix}bitop_...`; those keys are
/// not events and are never listed as such.
const BITOP_MARK: &str = "bitop_";

/// Builds and parses key names under one prefix.
///
/// ```
/// use bitmapist::{KeyLayout, Period};
/// use chrono::NaiveDate;
///
/// let layout = KeyLayout::default();
/// let day = Period::day(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())?;
/// assert_eq!(layout.keys("user:logged_in", &day), ["trackist_user:logged_in_2024-3-5"]);
/// assert_eq!(layout.parse("trackist_user:logged_in_2024-3-5"), Some(("user:logged_in", day)));
/// # Ok::<(), bitmapist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyLayout {
    prefix: String,
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout::new(DEFAULT_PREFIX)
    }
}

impl KeyLayout {
    /// A layout with the given prefix (`trackist_` for bitmapist 3.x, `bitmapist_` for
    /// bitmapist4).
    pub fn new(prefix: impl Into<String>) -> Self {
        KeyLayout {
            prefix: prefix.into(),
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Appends the key of `event` in a period that has a key of its own (not a year).
    pub fn write_key(&self, out: &mut String, event: &str, period: &Period) {
        out.push_str(&self.prefix);
        out.push_str(event);
        out.push('_');
        period.write_suffix(out);
    }

    /// The key of `event` in a period that has a key of its own (not a year).
    pub fn key(&self, event: &str, period: &Period) -> String {
        let mut out = String::with_capacity(self.prefix.len() + event.len() + 12);
        self.write_key(&mut out, event, period);
        out
    }

    /// The keys a read of `event` in `period` needs: one, or twelve months for a year.
    pub fn keys(&self, event: &str, period: &Period) -> Vec<String> {
        match period.months() {
            Some(months) => months.iter().map(|m| self.key(event, m)).collect(),
            None => vec![self.key(event, period)],
        }
    }

    /// The common start of every key of `event`: `{prefix}{event}_`.
    pub fn event_prefix(&self, event: &str) -> String {
        format!("{}{}_", self.prefix, event)
    }

    /// Reads `(event, period)` from a key under this prefix; `None` for a key that is not
    /// an event key (other prefix, unknown suffix, Python's temporary `bitop_` keys).
    pub fn parse<'k>(&self, key: &'k str) -> Option<(&'k str, Period)> {
        let rest = key.strip_prefix(self.prefix.as_str())?;
        let (event, suffix) = rest.rsplit_once('_')?;
        if event.is_empty() || event.starts_with(BITOP_MARK) {
            return None;
        }
        Some((event, Period::parse_suffix(suffix)?))
    }
}
