//! Pruning: applying a [`KeepPolicy`] to a store ([`Bitmapist::prune`]), and reading the
//! horizon the store records ([`recorded_horizon`]).
//!
//! # Why
//!
//! A dry run must say exactly what `--apply` would delete (keys, bytes, the oldest period
//! kept per group), and deleting must never stall a production Redis: one `DEL` of a year
//! of day bitmaps frees hundreds of megabytes inside the server's only thread.
//!
//! # How
//!
//! List the prefix's keys ([`Store::keys`]: `SCAN` on Redis, on every primary of a
//! cluster), select those of periods before the policy's horizon
//! ([`Horizon::drops_key`]), size them ([`Store::value_sizes`]: `STRLEN`). With `apply`:
//! record the horizon (merged with the store's record) first, then delete the keys in
//! batches of [`PruneSpec::batch`] keys with [`Store::unlink`] (`UNLINK` on Redis, which
//! frees the values in the background; one pipeline per node on a cluster), timing each
//! batch, then [`Store::flush`].
//!
//! # Invariants
//!
//! - Only keys the horizon drops are deleted: unique keys, groups the policy does not
//!   name, other prefixes and the metadata keys are never touched.
//! - The record is written before the first delete and only moves forward
//!   ([`Horizon::merge`]).
//!
//! # What a crash can lose
//!
//! Nothing the policy keeps. A crash (or a lost connection) part-way leaves some selected
//! keys in place, under a horizon that already says they are pruned; running the prune
//! again deletes them. On the embedded store, deletes are committed by the next flush, so
//! a crash before it brings the deleted keys back (still recorded as pruned).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::client::Bitmapist;
use crate::error::Result;
use crate::keep::{Horizon, KeepPolicy, pruned_meta_key};
use crate::period::TimeGroup;
use crate::store::Store;

/// Keys per [`Store::unlink`] call by default: small enough that a batch of day bitmaps
/// of a million users is a few milliseconds of server time.
pub const DEFAULT_PRUNE_BATCH: usize = 100;

/// What to prune, and whether to delete or only report.
#[derive(Clone, Debug)]
pub struct PruneSpec {
    /// The policy.
    pub policy: KeepPolicy,
    /// The moment the policy's lengths count back from (default: now).
    pub now: DateTime<Utc>,
    /// Delete (`true`) or only report (`false`, the default).
    pub apply: bool,
    /// Keys per delete batch (default [`DEFAULT_PRUNE_BATCH`], at least 1).
    pub batch: usize,
}

impl PruneSpec {
    /// A dry run of `policy` at the current time.
    pub fn new(policy: KeepPolicy) -> Self {
        PruneSpec {
            policy,
            now: Utc::now(),
            apply: false,
            batch: DEFAULT_PRUNE_BATCH,
        }
    }

    /// The moment the policy counts back from.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Delete the keys (otherwise only report them).
    pub fn apply(mut self, apply: bool) -> Self {
        self.apply = apply;
        self
    }

    /// Keys per delete batch.
    pub fn batch(mut self, keys: usize) -> Self {
        self.batch = keys.max(1);
        self
    }
}

/// One time group of a [`PruneReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PruneGroup {
    /// `hours`, `days`, `weeks` or `months`.
    pub time_group: TimeGroup,
    /// The policy's length, e.g. `7d`.
    pub keep: String,
    /// The oldest period kept (its label, e.g. `2026-11-30`); `None` when the cutoff lies
    /// before every supported year.
    pub oldest_kept: Option<String>,
    /// The keys selected (deleted when applied).
    pub keys: u64,
    /// Their bytes ([`Store::value_sizes`]).
    pub bytes: u64,
}

/// What a prune selected (and deleted, when applied).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PruneReport {
    /// The store, password masked.
    pub store: String,
    /// The policy, as text.
    pub policy: String,
    /// One entry per group the policy names, hours first.
    pub groups: Vec<PruneGroup>,
    /// Keys selected, over every group.
    pub keys: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Whether the keys were deleted.
    pub applied: bool,
    /// Keys the deletes found (and removed); 0 for a dry run.
    pub deleted: u64,
    /// The horizon recorded in the store after the prune (`hour:...,day:...`); for a dry
    /// run, the one recorded before it.
    pub recorded: String,
    /// How long each delete batch took, as the client saw it (one round trip per node).
    #[serde(skip)]
    pub batch_times: Vec<Duration>,
}

/// The horizon recorded for `prefix` (empty when the store was never pruned).
pub async fn recorded_horizon(store: &dyn Store, prefix: &str) -> Result<Horizon> {
    match store.get_meta(&pruned_meta_key(prefix)).await? {
        None => Ok(Horizon::default()),
        Some(record) => Horizon::parse_record(&record),
    }
}

/// Merges `horizon` into the record of `prefix`; the horizon recorded now.
pub(crate) async fn record_horizon(
    store: &dyn Store,
    prefix: &str,
    horizon: &Horizon,
) -> Result<Horizon> {
    let merged = recorded_horizon(store, prefix).await?.merge(horizon);
    store
        .set_meta(&pruned_meta_key(prefix), &merged.to_record())
        .await?;
    Ok(merged)
}

impl Bitmapist {
    /// Applies (or, without [`PruneSpec::apply`], only reports) a retention policy: see
    /// the `prune` module docs for what is selected and in which order it is deleted.
    ///
    /// ```
    /// use bitmapist::{Bitmapist, KeepPolicy, PruneSpec};
    /// use chrono::{Duration, Utc};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bitmapist::Error> {
    /// let bm = Bitmapist::open("memory://").await?;
    /// bm.mark_event("user:logged_in", 7).at(Utc::now() - Duration::days(30)).await?;
    /// let policy: KeepPolicy = "day:7d".parse()?;
    /// let dry = bm.prune(&PruneSpec::new(policy.clone())).await?;
    /// assert_eq!((dry.keys, dry.deleted), (1, 0));
    /// let done = bm.prune(&PruneSpec::new(policy).apply(true)).await?;
    /// assert_eq!(done.deleted, 1);
    /// assert!(bm.pruned_horizon().await?.get(bitmapist::TimeGroup::Days).is_some());
    /// # Ok(()) }
    /// ```
    pub async fn prune(&self, spec: &PruneSpec) -> Result<PruneReport> {
        let store = self.store();
        let layout = self.layout();
        let horizon = spec.policy.horizon(self.timezone().local(spec.now))?;
        let keys: Vec<String> = store
            .keys(layout.prefix())
            .await?
            .into_iter()
            .filter(|k| horizon.drops_key(layout, k))
            .collect();
        let sizes = store.value_sizes(&keys).await?;
        let mut groups: Vec<PruneGroup> = spec
            .policy
            .entries()
            .map(|(group, keep)| PruneGroup {
                time_group: group,
                keep: keep.to_string(),
                oldest_kept: horizon.get(group).map(|p| p.label()),
                keys: 0,
                bytes: 0,
            })
            .collect();
        for (key, size) in keys.iter().zip(&sizes) {
            let group = layout.parse(key).and_then(|(_, p)| p.time_group());
            if let Some(g) = groups.iter_mut().find(|g| Some(g.time_group) == group) {
                g.keys += 1;
                g.bytes += size;
            }
        }
        let mut report = PruneReport {
            store: store.describe(),
            policy: spec.policy.to_string(),
            keys: keys.len() as u64,
            bytes: sizes.iter().sum(),
            groups: std::mem::take(&mut groups),
            applied: spec.apply,
            deleted: 0,
            recorded: String::new(),
            batch_times: Vec::new(),
        };
        if !spec.apply {
            report.recorded = recorded_horizon(store.as_ref(), layout.prefix())
                .await?
                .to_record();
            return Ok(report);
        }
        let recorded = record_horizon(store.as_ref(), layout.prefix(), &horizon).await?;
        report.recorded = recorded.to_record();
        for batch in keys.chunks(spec.batch.max(1)) {
            let started = Instant::now();
            report.deleted += store.unlink(batch).await?;
            report.batch_times.push(started.elapsed());
        }
        store.flush().await?;
        Ok(report)
    }

    /// The horizon recorded in the store by the prunes it has seen (see [`Horizon`]).
    pub async fn pruned_horizon(&self) -> Result<Horizon> {
        recorded_horizon(self.store().as_ref(), self.layout().prefix()).await
    }
}
