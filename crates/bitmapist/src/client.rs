//! The [`Bitmapist`] handle: marking events and opening queries on one store.
//! Cheap to clone, `Send + Sync`; every call is async and batched toward the store.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::backend::Backend;
use crate::error::{Argument, Error, Result};
use crate::expr::Expr;
use crate::keep::KeepPolicy;
use crate::key::{DEFAULT_PREFIX, KeyLayout};
use crate::period::{Period, TimeGroup};
use crate::query::Query;
use crate::store::{self, KeyWrite, Store, StoreUrl};
use crate::zone::{Zone, date_hour};

/// A handle on one bitmapist store: marks events, runs queries and cohorts.
///
/// ```
/// use bitmapist::{Bitmapist, TimeGroup};
/// use chrono::Utc;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// bm.mark_event("user:logged_in", 42).await?;
/// bm.mark_event("user:logged_in", 7).await?;
///
/// let today = bm.get_event_data("user:logged_in", TimeGroup::Days, Utc::now())?;
/// assert_eq!(today.count().await?, 2);
/// assert!(today.contains(42).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bitmapist {
    inner: Arc<Backend>,
}

impl fmt::Debug for Bitmapist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Options of one mark: each `None` falls back to the handle's setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarkOptions {
    /// Also mark the hour key.
    pub hourly: Option<bool>,
    /// Also mark the date-less unique key.
    pub unique: Option<bool>,
}

/// Configures and opens a [`Bitmapist`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = bitmapist::Bitmapist::builder()
///     .url("memory://")
///     .key_prefix("bitmapist_")
///     .track_hourly(true)
///     .open()
///     .await?;
/// assert_eq!(bm.layout().prefix(), "bitmapist_");
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Builder {
    url: Option<String>,
    store: Option<Arc<dyn Store>>,
    prefix: Option<String>,
    track_hourly: bool,
    track_unique: bool,
    id_map: bool,
    zone: Zone,
    keep: KeepPolicy,
}

impl Builder {
    /// The store to open, by URL (`memory://`, `file://PATH`, `redis://...`).
    /// Default: the embedded file `./bitmapist.redb`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A store already opened (takes precedence over [`Builder::url`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The key prefix (default `trackist_`, as Python bitmapist 3.x).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Whether marks also write the hour key by default (default `false`).
    pub fn track_hourly(mut self, on: bool) -> Self {
        self.track_hourly = on;
        self
    }

    /// Whether marks also write the date-less unique key by default (default `false`).
    pub fn track_unique(mut self, on: bool) -> Self {
        self.track_unique = on;
        self
    }

    /// Whether integrations map user ids that are not `u32` (strings, UUIDs, i64) through
    /// the external-id map (default `false`; `BITMAPIST_ID_MAP`). The engine's
    /// `*_external` methods work either way.
    pub fn id_map(mut self, on: bool) -> Self {
        self.id_map = on;
        self
    }

    /// The store's time zone (default UTC): marks are bucketed, and queries' periods taken,
    /// on its wall clock (see [`Zone`]). Checked against the zone recorded in the store
    /// when the handle opens (see [`zone_meta_key`](crate::zone_meta_key)).
    pub fn timezone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// The retention policy (default: keep everything; `BITMAPIST_KEEP`). A store that
    /// prunes by itself (the embedded file) applies it on its own thread, at most once an
    /// hour; on Redis run [`Bitmapist::prune`] (`bitmapist prune --apply`) from a schedule.
    pub fn keep(mut self, policy: KeepPolicy) -> Self {
        self.keep = policy;
        self
    }

    /// Opens the store and returns the handle.
    pub async fn open(self) -> Result<Bitmapist> {
        let prefix = self.prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_string());
        if prefix.is_empty() {
            return Err(Error::invalid_arg(
                Argument::KeyPrefix,
                "must not be empty (deleting all events would delete every key)",
            ));
        }
        let store = match (self.store, self.url) {
            (Some(s), _) => s,
            (None, Some(url)) => store::open_store(&url).await?,
            (None, None) => store::open_store_url(&StoreUrl::default()).await?,
        };
        let unrecorded = crate::zone_record::check(store.as_ref(), &prefix, self.zone).await?;
        if !self.keep.is_empty() {
            store.auto_prune(&prefix, &self.keep, self.zone);
        }
        Ok(Bitmapist {
            inner: Arc::new(Backend {
                ids: crate::idmap::IdMap::new(Arc::clone(&store), prefix.clone()),
                store,
                layout: KeyLayout::new(prefix),
                track_hourly: self.track_hourly,
                track_unique: self.track_unique,
                id_map: self.id_map,
                zone: self.zone,
                zone_unrecorded: AtomicBool::new(unrecorded),
                keep: self.keep,
                queries: crate::telemetry::QueryTimers::register(),
            }),
        })
    }
}

/// Rejects event names that cannot be stored.
pub(crate) fn check_event(event: &str) -> Result<()> {
    if event.is_empty() {
        return Err(Error::invalid_arg(
            Argument::Event,
            "an event name must not be empty",
        ));
    }
    Ok(())
}

impl Bitmapist {
    /// A builder for every setting.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Opens the store a URL names, with default settings.
    pub async fn open(url: &str) -> Result<Bitmapist> {
        Bitmapist::builder().url(url).open().await
    }

    /// A handle on an open store, with default settings (UTC). Unlike
    /// [`Builder::open`], it neither checks nor records the store's zone.
    pub fn new(store: Arc<dyn Store>) -> Bitmapist {
        Bitmapist {
            inner: Arc::new(Backend {
                ids: crate::idmap::IdMap::new(Arc::clone(&store), DEFAULT_PREFIX),
                store,
                layout: KeyLayout::default(),
                track_hourly: false,
                track_unique: false,
                id_map: false,
                zone: Zone::UTC,
                zone_unrecorded: AtomicBool::new(false),
                keep: KeepPolicy::default(),
                queries: crate::telemetry::QueryTimers::register(),
            }),
        }
    }

    /// The retention policy configured ([`Builder::keep`]); empty keeps everything.
    pub fn keep_policy(&self) -> &KeepPolicy {
        &self.inner.keep
    }

    /// The time zone periods follow (see [`Zone`]).
    pub fn timezone(&self) -> Zone {
        self.inner.zone
    }

    /// The period of the given size that contains instant `at`, on the handle's zone.
    pub fn period_containing(&self, group: TimeGroup, at: DateTime<Utc>) -> Result<Period> {
        self.inner.zone.period_containing(group, at)
    }

    /// Records the handle's zone in a store that has no record yet (what the first mark
    /// does); for bulk writers that bypass marking (import, seed). A no-op once recorded.
    pub async fn record_timezone(&self) -> Result<()> {
        self.store_write(&[]).await
    }

    /// Applies writes to the store, recording the handle's zone first if the store has no
    /// record yet (see [`zone_meta_key`](crate::zone_meta_key)).
    pub(crate) async fn store_write(&self, writes: &[KeyWrite]) -> Result<()> {
        if self.inner.zone_unrecorded.load(Ordering::Acquire) {
            let key = crate::zone_record::zone_meta_key(self.inner.layout.prefix());
            self.inner
                .store
                .set_meta(&key, self.inner.zone.name())
                .await?;
            self.inner.zone_unrecorded.store(false, Ordering::Release);
        }
        self.inner.store.write(writes).await
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The key layout (prefix).
    pub fn layout(&self) -> &KeyLayout {
        &self.inner.layout
    }

    /// The external-id map of this handle's prefix (see [`IdMap`](crate::IdMap)).
    pub fn ids(&self) -> &crate::idmap::IdMap {
        &self.inner.ids
    }

    /// Whether integrations map non-`u32` user ids through [`Bitmapist::ids`]
    /// ([`Builder::id_map`], `BITMAPIST_ID_MAP`).
    pub fn id_map_enabled(&self) -> bool {
        self.inner.id_map
    }

    /// Whether marks write the hour key unless told otherwise.
    pub fn tracks_hourly(&self) -> bool {
        self.inner.track_hourly
    }

    /// Whether marks write the unique key unless told otherwise.
    pub fn tracks_unique(&self) -> bool {
        self.inner.track_unique
    }

    /// Marks `event` for user `uid`: its month, ISO week and day (and hour, and the unique
    /// key, when tracked). Await it, optionally after [`MarkEvent::at`] and friends.
    pub fn mark_event<'a>(&'a self, event: &'a str, uid: u32) -> MarkEvent<'a> {
        MarkEvent::new(self, event, uid, true)
    }

    /// Clears what [`Bitmapist::mark_event`] sets, with the same options.
    pub fn unmark_event<'a>(&'a self, event: &'a str, uid: u32) -> MarkEvent<'a> {
        MarkEvent::new(self, event, uid, false)
    }

    /// Marks only the date-less key `{prefix}{event}_u` (Python's `mark_unique`).
    pub async fn mark_unique(&self, event: &str, uid: u32) -> Result<()> {
        self.write_unique(event, uid, true).await
    }

    /// Clears the date-less key's bit (Python's `unmark_unique`).
    pub async fn unmark_unique(&self, event: &str, uid: u32) -> Result<()> {
        self.write_unique(event, uid, false).await
    }

    async fn write_unique(&self, event: &str, uid: u32, value: bool) -> Result<()> {
        check_event(event)?;
        let key = self.inner.layout.key(event, &Period::unique());
        self.store_write(&[KeyWrite {
            key,
            value,
            offsets: vec![uid],
        }])
        .await
    }

    /// The keys one mark writes, appended to `out`.
    pub(crate) fn mark_keys(
        &self,
        event: &str,
        at: DateTime<Utc>,
        opts: MarkOptions,
        out: &mut Vec<String>,
    ) -> Result<()> {
        check_event(event)?;
        let (date, hour) = date_hour(&self.inner.zone, at)?;
        let layout = &self.inner.layout;
        out.push(layout.key(event, &Period::month(date.year(), date.month())?));
        out.push(layout.key(event, &Period::week_of(date)?));
        out.push(layout.key(event, &Period::day(date)?));
        if opts.hourly.unwrap_or(self.inner.track_hourly) {
            out.push(layout.key(event, &Period::hour(date, hour)?));
        }
        if opts.unique.unwrap_or(self.inner.track_unique) {
            out.push(layout.key(event, &Period::unique()));
        }
        Ok(())
    }

    /// Marks many `(event, uid, time)` at once: one store round trip, keys computed once
    /// per event and hour. Returns how many marks were written.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// use bitmapist::{Bitmapist, MarkOptions};
    /// let bm = Bitmapist::open("memory://").await?;
    /// let now = chrono::Utc::now();
    /// let marks = (0..1000u32).map(|uid| ("page:viewed", uid, now));
    /// assert_eq!(bm.mark_events(marks, MarkOptions::default()).await?, 1000);
    /// # Ok(()) }
    /// ```
    pub async fn mark_events<I, E>(&self, marks: I, opts: MarkOptions) -> Result<u64>
    where
        I: IntoIterator<Item = (E, u32, DateTime<Utc>)>,
        E: AsRef<str>,
    {
        let writes = self.batch_writes(marks, opts, true)?;
        let n = writes.1;
        self.store_write(&writes.0).await?;
        Ok(n)
    }

    /// Clears many marks at once (the counterpart of [`Bitmapist::mark_events`]).
    pub async fn unmark_events<I, E>(&self, marks: I, opts: MarkOptions) -> Result<u64>
    where
        I: IntoIterator<Item = (E, u32, DateTime<Utc>)>,
        E: AsRef<str>,
    {
        let writes = self.batch_writes(marks, opts, false)?;
        let n = writes.1;
        self.store_write(&writes.0).await?;
        Ok(n)
    }

    /// Groups a batch of marks into one [`KeyWrite`] per key.
    pub(crate) fn batch_writes<I, E>(
        &self,
        marks: I,
        opts: MarkOptions,
        value: bool,
    ) -> Result<(Vec<KeyWrite>, u64)>
    where
        I: IntoIterator<Item = (E, u32, DateTime<Utc>)>,
        E: AsRef<str>,
    {
        let hourly = opts.hourly.unwrap_or(self.inner.track_hourly);
        // Which writes a (day, hour) of an event goes to; hour is 0 unless hourly.
        type Slots = HashMap<(NaiveDate, u32), [usize; 5]>;
        let mut per_event: HashMap<String, Slots> = HashMap::new();
        let mut key_index: HashMap<String, usize> = HashMap::new();
        let mut writes: Vec<KeyWrite> = Vec::new();
        let mut keys = Vec::with_capacity(5);
        let mut n = 0u64;
        for (event, uid, at) in marks {
            let event = event.as_ref();
            let (date, hour) = date_hour(&self.inner.zone, at)?;
            let slot_key = (date, if hourly { hour } else { 0 });
            let slots = match per_event.get_mut(event) {
                Some(s) => s,
                None => {
                    check_event(event)?;
                    per_event.entry(event.to_string()).or_default()
                }
            };
            let slot = match slots.get(&slot_key) {
                Some(s) => *s,
                None => {
                    keys.clear();
                    self.mark_keys(event, at, opts, &mut keys)?;
                    let mut s = [usize::MAX; 5];
                    for (i, key) in keys.drain(..).enumerate() {
                        s[i] = *key_index.entry(key).or_insert_with_key(|k| {
                            writes.push(KeyWrite {
                                key: k.clone(),
                                value,
                                offsets: Vec::new(),
                            });
                            writes.len() - 1
                        });
                    }
                    slots.insert(slot_key, s);
                    s
                }
            };
            for &i in slot.iter().take_while(|&&i| i != usize::MAX) {
                writes[i].offsets.push(uid);
            }
            n += 1;
        }
        Ok((writes, n))
    }

    /// A query on the users of `event` in `period`.
    pub fn events(&self, event: &str, period: Period) -> Query {
        Query::new(Arc::clone(&self.inner), Expr::events(event, period))
    }

    /// A query on any expression.
    pub fn query(&self, expr: impl Into<Expr>) -> Query {
        Query::new(Arc::clone(&self.inner), expr.into())
    }

    /// The users of `event` in the `time_group` period containing `now` (Python bitmapist's
    /// `get_event_data`).
    pub fn get_event_data(
        &self,
        event: &str,
        time_group: TimeGroup,
        now: DateTime<Utc>,
    ) -> Result<Query> {
        check_event(event)?;
        Ok(self.events(event, self.period_containing(time_group, now)?))
    }

    /// Every event name in the store, sorted; only those starting with `prefix` when given.
    /// Uses the store's key listing (`SCAN` on Redis, a range scan on the embedded file).
    pub async fn event_names(&self, prefix: Option<&str>) -> Result<Vec<String>> {
        let layout = &self.inner.layout;
        let scan = format!("{}{}", layout.prefix(), prefix.unwrap_or(""));
        let keys = self.inner.store.keys(&scan).await?;
        let mut names: Vec<String> = keys
            .iter()
            .filter_map(|k| layout.parse(k).map(|(event, _)| event.to_string()))
            .collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// Every period in which `event` has a key, in key order.
    pub async fn event_periods(&self, event: &str) -> Result<Vec<Period>> {
        check_event(event)?;
        let layout = &self.inner.layout;
        let keys = self.inner.store.keys(&layout.event_prefix(event)).await?;
        Ok(keys
            .iter()
            .filter_map(|k| layout.parse(k))
            .filter(|(e, _)| *e == event)
            .map(|(_, p)| p)
            .collect())
    }

    /// The events of `events` that have no key at all (never marked, or deleted), in the
    /// order given, each once. A funnel or cohort over such an event answers zeros, which
    /// reads as "nobody did it" when the name is more likely a typo: front ends name these.
    /// One key listing per distinct event (`SCAN` with a match on Redis, so it reads the
    /// whole keyspace once per event; a range scan on the embedded file).
    pub async fn unmarked_events(&self, events: &[&str]) -> Result<Vec<String>> {
        let layout = &self.inner.layout;
        let mut unmarked: Vec<String> = Vec::new();
        for (i, &event) in events.iter().enumerate() {
            check_event(event)?;
            if events[..i].contains(&event) {
                continue;
            }
            let keys = self.inner.store.keys(&layout.event_prefix(event)).await?;
            if !keys
                .iter()
                .any(|k| layout.parse(k).is_some_and(|(e, _)| e == event))
            {
                unmarked.push(event.to_string());
            }
        }
        Ok(unmarked)
    }

    /// Deletes `event` in one period (a year deletes its twelve months); returns how many
    /// keys existed.
    pub async fn delete_event_period(&self, event: &str, period: Period) -> Result<u64> {
        check_event(event)?;
        let keys = self.inner.layout.keys(event, &period);
        self.inner.store.delete(&keys).await
    }

    /// Deletes every period of `event` (and nothing of events whose names merely start
    /// with it); returns how many keys existed.
    pub async fn delete_event(&self, event: &str) -> Result<u64> {
        check_event(event)?;
        let layout = &self.inner.layout;
        let keys: Vec<String> = self
            .inner
            .store
            .keys(&layout.event_prefix(event))
            .await?
            .into_iter()
            .filter(|k| layout.parse(k).is_some_and(|(e, _)| e == event))
            .collect();
        self.inner.store.delete(&keys).await
    }

    /// Deletes every key under the prefix (Python's `delete_all_events`); returns how many
    /// existed.
    pub async fn delete_all(&self) -> Result<u64> {
        self.inner
            .store
            .delete_prefix(self.inner.layout.prefix())
            .await
    }

    /// Makes every mark acknowledged so far durable (see the store's docs).
    pub async fn flush(&self) -> Result<()> {
        self.inner.store.flush().await
    }

    /// Fetches every key `expr` needs in one batch and evaluates it in memory.
    pub async fn evaluate(&self, expr: &Expr) -> Result<crate::Bitmap> {
        self.inner.evaluate(expr).await
    }

    /// Evaluates many expressions on one batch fetch: every key they need is read once, in
    /// one round trip on Redis (what a table of many cells needs).
    ///
    /// ```
    /// use bitmapist::{Bitmapist, Expr, Period};
    /// use chrono::{TimeZone, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// let t = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
    /// bm.mark_event("a", 1).at(t).await?;
    /// bm.mark_event("b", 2).at(t).await?;
    /// let day = Period::day(t.date_naive())?;
    /// let both = [Expr::events("a", day), Expr::events("a", day) | Expr::events("b", day)];
    /// let got = bm.evaluate_many(&both).await?;
    /// assert_eq!((got[0].count(), got[1].count()), (1, 2));
    /// # Ok(()) }
    /// ```
    pub async fn evaluate_many(&self, exprs: &[Expr]) -> Result<Vec<crate::Bitmap>> {
        let layout = &self.inner.layout;
        let fetched = self.fetch(crate::expr::unique_keys(exprs, layout)).await?;
        Ok(exprs.iter().map(|e| e.evaluate(layout, &fetched)).collect())
    }

    /// Starts timing a query of `kind` (`bitmapist_query_seconds`); recorded on drop.
    pub(crate) fn time(
        &self,
        kind: crate::telemetry::QueryKind,
    ) -> crate::telemetry::QueryTimer<'_> {
        self.inner.queries.start(kind)
    }

    /// Fetches keys in one batch into a map (missing keys are left out).
    pub(crate) async fn fetch(&self, keys: Vec<String>) -> Result<HashMap<String, crate::Bitmap>> {
        self.inner.fetch(keys).await
    }
}

/// One mark or unmark, configured by chaining and run by `.await`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// use chrono::{TimeZone, Utc};
/// let bm = bitmapist::Bitmapist::open("memory://").await?;
/// let t = Utc.with_ymd_and_hms(2024, 12, 30, 9, 0, 0).unwrap();
/// bm.mark_event("user:signed_up", 5).at(t).hourly(true).unique(true).await?;
/// let keys = bm.store().keys("trackist_").await?;
/// assert_eq!(keys.len(), 5); // month, week, day, hour, unique
/// # Ok(()) }
/// ```
#[must_use = "a mark does nothing until awaited"]
pub struct MarkEvent<'a> {
    client: &'a Bitmapist,
    event: &'a str,
    uid: u32,
    value: bool,
    at: Option<DateTime<Utc>>,
    opts: MarkOptions,
}

impl<'a> MarkEvent<'a> {
    fn new(client: &'a Bitmapist, event: &'a str, uid: u32, value: bool) -> Self {
        MarkEvent {
            client,
            event,
            uid,
            value,
            at: None,
            opts: MarkOptions::default(),
        }
    }

    /// When the event happened (default: now). Python bitmapist's `now` argument.
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

    async fn run(self) -> Result<()> {
        let mut keys = Vec::with_capacity(5);
        let at = self.at.unwrap_or_else(Utc::now);
        self.client
            .mark_keys(self.event, at, self.opts, &mut keys)?;
        let writes: Vec<KeyWrite> = keys
            .into_iter()
            .map(|key| KeyWrite {
                key,
                value: self.value,
                offsets: vec![self.uid],
            })
            .collect();
        self.client.store_write(&writes).await
    }
}

impl<'a> IntoFuture for MarkEvent<'a> {
    type Output = Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
