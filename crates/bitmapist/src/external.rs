//! Marking and querying by external user id (strings, UUIDs, i64/u64 as text) through the
//! id map; each batch maps its ids in one map call, then writes bits as a `u32` batch does.
//!
//! ```
//! use bitmapist::{Bitmapist, MarkOptions};
//! use chrono::Utc;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bitmapist::Error> {
//! let bm = Bitmapist::open("memory://").await?;
//! let alice = bm.mark_external("user:logged_in", "alice@example.com").await?;
//! assert_eq!(alice, Some(1));
//! let now = Utc::now();
//! let uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
//! bm.mark_events_external([("user:logged_in", uuid, now), ("user:logged_in", "-42", now)], MarkOptions::default()).await?;
//!
//! let today = bm.get_event_data("user:logged_in", bitmapist::TimeGroup::Days, now)?;
//! assert!(today.contains_external(uuid).await?);
//! assert!(!today.contains_external("bob").await?);
//! let users: Vec<Option<String>> = today.external_ids().await?.into_iter().map(|(_, e)| e).collect();
//! assert_eq!(users, vec![Some("alice@example.com".into()), Some(uuid.into()), Some("-42".into())]);
//! # Ok(()) }
//! ```

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::client::{Bitmapist, MarkOptions};
use crate::error::Result;
use crate::query::Query;
use crate::store::KeyWrite;

impl Bitmapist {
    /// Marks `event` for the user whose external id is `external` (assigning it a dense id
    /// the first time). Await it, optionally after [`MarkExternal::at`] and friends; it
    /// answers the dense id.
    pub fn mark_external<'a>(&'a self, event: &'a str, external: &'a str) -> MarkExternal<'a> {
        MarkExternal::new(self, event, external, true)
    }

    /// Clears what [`Bitmapist::mark_external`] sets. An external id never assigned has no
    /// bits: nothing is written, nothing is assigned, and it answers `None`.
    pub fn unmark_external<'a>(&'a self, event: &'a str, external: &'a str) -> MarkExternal<'a> {
        MarkExternal::new(self, event, external, false)
    }

    /// Marks many `(event, external id, time)` at once: one id-map call for the ids not
    /// yet cached, then one store write, as [`Bitmapist::mark_events`]. Returns how many
    /// marks were written.
    pub async fn mark_events_external<I, E, X>(&self, marks: I, opts: MarkOptions) -> Result<u64>
    where
        I: IntoIterator<Item = (E, X, DateTime<Utc>)>,
        E: AsRef<str>,
        X: AsRef<str>,
    {
        self.external_batch(marks, opts, true).await
    }

    /// Clears many marks by external id; ids never assigned are skipped (and not
    /// assigned). Returns how many marks were cleared.
    pub async fn unmark_events_external<I, E, X>(&self, marks: I, opts: MarkOptions) -> Result<u64>
    where
        I: IntoIterator<Item = (E, X, DateTime<Utc>)>,
        E: AsRef<str>,
        X: AsRef<str>,
    {
        self.external_batch(marks, opts, false).await
    }

    async fn external_batch<I, E, X>(&self, marks: I, opts: MarkOptions, value: bool) -> Result<u64>
    where
        I: IntoIterator<Item = (E, X, DateTime<Utc>)>,
        E: AsRef<str>,
        X: AsRef<str>,
    {
        let marks: Vec<(E, X, DateTime<Utc>)> = marks.into_iter().collect();
        // One cache pass over the batch (no copy of the ids); 0 = not assigned (unmark).
        let dense = self
            .ids()
            .dense_of(&marks, |(_, x, _)| x.as_ref(), value)
            .await?;
        let (writes, n) = self.batch_writes(
            marks
                .iter()
                .zip(dense)
                .filter(|&(_, d)| d != 0)
                .map(|((e, _, at), d)| (e.as_ref(), d, *at)),
            opts,
            value,
        )?;
        self.store_write(&writes).await?;
        Ok(n)
    }

    /// The external ids of dense ids (see [`crate::IdMap::resolve`]).
    pub async fn resolve_ids(&self, dense: &[u32]) -> Result<Vec<Option<String>>> {
        self.ids().resolve(dense).await
    }
}

impl Query {
    /// Whether the user with external id `external` is in the answer (`false` for an id
    /// never assigned; nothing is assigned).
    pub async fn contains_external(&self, external: &str) -> Result<bool> {
        let ids = self
            .backend()
            .ids
            .dense_of(&[external], |e| e, false)
            .await?;
        match ids.first().copied() {
            Some(d) if d != 0 => self.contains(d).await,
            _ => Ok(false),
        }
    }

    /// The users in the answer, ascending by dense id, each with its external id (`None`
    /// for a user the map never handed out, e.g. one marked by `u32` directly). One
    /// id-map call per 10,000 ids not cached.
    pub async fn external_ids(&self) -> Result<Vec<(u32, Option<String>)>> {
        let dense: Vec<u32> = self.ids().await?.collect();
        let external = self.backend().ids.resolve(&dense).await?;
        Ok(dense.into_iter().zip(external).collect())
    }
}

/// One mark or unmark by external id, configured by chaining and run by `.await`, which
/// answers the user's dense id (`None` when unmarking an id never assigned).
#[must_use = "a mark does nothing until awaited"]
pub struct MarkExternal<'a> {
    client: &'a Bitmapist,
    event: &'a str,
    external: &'a str,
    value: bool,
    at: Option<DateTime<Utc>>,
    opts: MarkOptions,
}

impl<'a> MarkExternal<'a> {
    fn new(client: &'a Bitmapist, event: &'a str, external: &'a str, value: bool) -> Self {
        MarkExternal {
            client,
            event,
            external,
            value,
            at: None,
            opts: MarkOptions::default(),
        }
    }

    /// When the event happened (default: now).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }

    /// Whether to write the hour key (default: the handle's setting).
    pub fn hourly(mut self, on: bool) -> Self {
        self.opts.hourly = Some(on);
        self
    }

    /// Whether to write the unique key (default: the handle's setting).
    pub fn unique(mut self, on: bool) -> Self {
        self.opts.unique = Some(on);
        self
    }

    async fn run(self) -> Result<Option<u32>> {
        let at = self.at.unwrap_or_else(Utc::now);
        let mut keys = Vec::with_capacity(5);
        // Checks the event before anything is assigned.
        self.client
            .mark_keys(self.event, at, self.opts, &mut keys)?;
        let dense = self
            .client
            .ids()
            .dense_of(&[self.external], |e| e, self.value)
            .await?;
        let Some(dense) = dense.first().copied().filter(|&d| d != 0) else {
            return Ok(None);
        };
        let writes: Vec<KeyWrite> = keys
            .into_iter()
            .map(|key| KeyWrite {
                key,
                value: self.value,
                offsets: vec![dense],
            })
            .collect();
        self.client.store_write(&writes).await?;
        Ok(Some(dense))
    }
}

impl<'a> IntoFuture for MarkExternal<'a> {
    type Output = Result<Option<u32>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Option<u32>>> + Send + 'a>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{Bitmapist, MarkOptions, Zone, zone_meta_key};

    /// Marking only by external id records the handle's zone on the first write, as a
    /// `u32` mark does (single marks and batches alike).
    #[tokio::test(flavor = "current_thread")]
    async fn external_marks_record_the_zone() -> crate::Result<()> {
        let berlin: Zone = "Europe/Berlin".parse()?;
        let key = zone_meta_key("trackist_");
        for batch in [false, true] {
            let store = Bitmapist::open("memory://").await?.store().clone();
            let bm = Bitmapist::builder()
                .store(Arc::clone(&store))
                .timezone(berlin)
                .open()
                .await?;
            assert_eq!(store.get_meta(&key).await?, None, "no write yet");
            if batch {
                let now = chrono::Utc::now();
                bm.mark_events_external([("ev", "alice", now)], MarkOptions::default())
                    .await?;
            } else {
                bm.mark_external("ev", "alice").await?;
            }
            assert_eq!(
                store.get_meta(&key).await?.as_deref(),
                Some("Europe/Berlin"),
                "batch: {batch}"
            );
        }
        Ok(())
    }
}
