//! The zone recorded in the store: one metadata value per key prefix, `{prefix}.timezone`.
//! Checked when a handle opens, written on the first write, changed only deliberately.
//!
//! - The record lives outside the event keys (see [`Store::get_meta`]): on Redis the
//!   string key `{trackist_}.timezone` (a hash tag, so it has one slot on a cluster; the
//!   prefix inside, so two prefixes in one Redis keep two zones), which neither Python's
//!   `delete_all_events` nor an event listing matches; in the embedded file a redb table of
//!   its own.
//! - Opening a handle whose configured zone differs from the recorded one is
//!   [`Error::TimeZoneMismatch`], naming both.
//! - A store with no record records the configured zone on its first write through the
//!   handle. A store with events under the prefix but no record was written by an earlier
//!   version, in UTC: opening it with UTC is fine (and records UTC on the first write);
//!   opening it with another zone is [`Error::UnrecordedTimeZone`].
//! - [`set_recorded_zone`] (the CLI's `bitmapist timezone set ZONE --force`) changes the
//!   record. Existing keys are not rewritten: periods already marked stay bucketed in
//!   the old zone's wall clock, which is why a store with events needs `force`.

use crate::error::{Argument, Error, Result};
use crate::store::Store;
use crate::zone::Zone;

/// The metadata key of the zone of `prefix`: `{trackist_}.timezone`.
///
/// ```
/// assert_eq!(bitmapist::zone_meta_key("trackist_"), "{trackist_}.timezone");
/// ```
pub fn zone_meta_key(prefix: &str) -> String {
    format!("{{{prefix}}}.timezone")
}

/// Whether two zones bucket alike (`UTC` and `Etc/UTC` do).
pub(crate) fn same_zone(a: Zone, b: Zone) -> bool {
    a == b || (a.is_utc() && b.is_utc())
}

/// The zone recorded for `prefix`; `None` when none is.
pub async fn recorded_zone(store: &dyn Store, prefix: &str) -> Result<Option<Zone>> {
    match store.get_meta(&zone_meta_key(prefix)).await? {
        None => Ok(None),
        Some(name) => name.parse().map(Some),
    }
}

/// Whether the store holds any key under `prefix`.
async fn has_keys(store: &dyn Store, prefix: &str) -> Result<bool> {
    Ok(!store.keys(prefix).await?.is_empty())
}

/// Checks `configured` against the store's record for `prefix` (see the module docs);
/// `true` when nothing is recorded yet (the first write records it).
pub(crate) async fn check(store: &dyn Store, prefix: &str, configured: Zone) -> Result<bool> {
    match recorded_zone(store, prefix).await? {
        Some(recorded) if same_zone(recorded, configured) => Ok(false),
        Some(recorded) => Err(Error::TimeZoneMismatch {
            configured: configured.to_string(),
            recorded: recorded.to_string(),
            prefix: prefix.to_string(),
        }),
        None if configured.is_utc() => Ok(true),
        None if has_keys(store, prefix).await? => Err(Error::UnrecordedTimeZone {
            configured: configured.to_string(),
            prefix: prefix.to_string(),
        }),
        None => Ok(true),
    }
}

/// Records `zone` as the store's zone for `prefix`. Without `force`, refuses (naming the
/// zones) when the store has events under `prefix` that were bucketed in another zone: they
/// are not rewritten. Returns the zone recorded before (UTC for an unrecorded store with
/// events; `None` for an empty one).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// use bitmapist::{Bitmapist, Zone, set_recorded_zone};
/// let store = bitmapist::open_store("memory://").await?;
/// let berlin: Zone = "Europe/Berlin".parse()?;
/// set_recorded_zone(store.as_ref(), "trackist_", berlin, false).await?;
/// let bm = Bitmapist::builder().store(store.clone()).timezone(berlin).open().await?;
/// assert_eq!(bm.timezone(), berlin);
/// assert!(Bitmapist::builder().store(store).open().await.is_err()); // UTC configured
/// # Ok(()) }
/// ```
pub async fn set_recorded_zone(
    store: &dyn Store,
    prefix: &str,
    zone: Zone,
    force: bool,
) -> Result<Option<Zone>> {
    let before = match recorded_zone(store, prefix).await? {
        Some(z) => Some(z),
        None if has_keys(store, prefix).await? => Some(Zone::UTC),
        None => None,
    };
    if let Some(old) = before
        && !same_zone(old, zone)
        && !force
        && has_keys(store, prefix).await?
    {
        return Err(Error::invalid_arg(
            Argument::Timezone,
            format!(
                "the store has events under {prefix:?} bucketed in {old}; changing to {zone} does not rewrite them (past periods stay in {old}'s wall clock): pass force to change anyway"
            ),
        ));
    }
    store.set_meta(&zone_meta_key(prefix), zone.name()).await?;
    Ok(before)
}
