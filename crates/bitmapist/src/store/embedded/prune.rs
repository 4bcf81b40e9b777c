//! The embedded store applying a retention policy by itself, on its flush thread.
//!
//! # Why
//!
//! An app with the embedded store has no cron and no Redis to run `bitmapist prune`
//! against: the process that owns the file is the only one that can prune it, so the
//! store does it when a policy is configured ([`Store::auto_prune`], `BITMAPIST_KEEP`).
//!
//! # How
//!
//! [`Store::auto_prune`] stores the request (prefix, policy, zone). The flusher thread,
//! after its commit, calls [`OpenFile::maybe_prune`]: at most once per interval (one hour;
//! the first run on the tick after the request), it computes the horizon at the zone's
//! local time now, records it (merged with the record: `{prefix}.pruned` in `store_meta`,
//! its own commit), deletes the selected keys in memory in batches of [`BATCH`] (each
//! batch under the cache lock once, so marks wait at most one batch), commits the
//! deletions in one transaction, and compacts the file when the deletions left it worth
//! compacting ([`StorageStats::worth_compacting`](crate::StorageStats::worth_compacting)).
//!
//! # Invariants
//!
//! - The keys selected are exactly those [`Horizon::drops_key`] drops at that moment
//!   (the same rule as [`Bitmapist::prune`](crate::Bitmapist::prune)).
//! - The horizon is committed before any deletion is; deletions are committed together.
//! - Failures are logged and retried at the next interval; the thread goes on committing.
//!
//! # What a crash can lose
//!
//! Nothing the policy keeps, and no acknowledged mark beyond what the store's own
//! commits allow (see the store's docs). While a prune runs (seconds on a large file) the
//! periodic commit waits for it; the prune's own commit then holds the marks acknowledged
//! meanwhile, so the window of marks a crash can lose is, that once, the prune's length. Killed after the horizon's commit and before
//! the deletions', the file holds every key still, recorded as pruned; the next run
//! deletes them. A kill during the compaction leaves the old file in place (see
//! `compact.rs`).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::at_path::AtPath;
use super::{OpenFile, lock, meta};
use crate::error::Result;
use crate::keep::{Horizon, KeepPolicy, pruned_meta_key};
use crate::key::KeyLayout;
use crate::zone::Zone;

/// How often the flusher thread prunes: once an hour.
pub(super) const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Keys deleted per hold of the cache lock.
const BATCH: usize = 1_000;

/// A policy the store applies by itself.
#[derive(Debug)]
pub(super) struct AutoPrune {
    layout: KeyLayout,
    policy: KeepPolicy,
    zone: Zone,
    every: Duration,
    /// When the next run is due; `None`: on the next tick.
    next: Option<Instant>,
}

impl AutoPrune {
    pub(super) fn new(prefix: &str, policy: KeepPolicy, zone: Zone, every: Duration) -> Self {
        AutoPrune {
            layout: KeyLayout::new(prefix),
            policy,
            zone,
            every,
            next: None,
        }
    }
}

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Pruned {
    /// Keys deleted.
    pub(super) deleted: u64,
    /// Whether the file was compacted afterwards.
    pub(super) compacted: bool,
}

impl OpenFile {
    /// Runs the configured prune if it is due (called by the flusher thread after its
    /// commit); logs what it did or why it failed.
    pub(super) fn maybe_prune(&self) {
        let due = {
            let mut slot = lock(&self.auto_prune);
            match slot.as_mut() {
                Some(ap) if ap.next.is_none_or(|t| Instant::now() >= t) => {
                    ap.next = Some(Instant::now() + ap.every);
                    Some((ap.layout.clone(), ap.policy.clone(), ap.zone))
                }
                _ => None,
            }
        };
        let Some((layout, policy, zone)) = due else {
            return;
        };
        match self.prune_now(&layout, &policy, zone) {
            Ok(p) => {
                self.prunes.fetch_add(1, Ordering::Relaxed);
                if p.deleted > 0 {
                    tracing::info!(
                        path = %self.path().display(),
                        deleted = p.deleted,
                        compacted = p.compacted,
                        policy = %policy,
                        "embedded store: pruned keys outside the retention policy"
                    );
                }
            }
            Err(e) => tracing::warn!(
                path = %self.path().display(),
                error = %e,
                "embedded store: prune failed; will retry at the next interval"
            ),
        }
    }

    /// Applies `policy` now (see the module docs).
    pub(super) fn prune_now(
        &self,
        layout: &KeyLayout,
        policy: &KeepPolicy,
        zone: Zone,
    ) -> Result<Pruned> {
        let horizon = policy.horizon(zone.local(Utc::now()))?;
        let doomed: Vec<String> = self
            .keys(layout.prefix())?
            .into_iter()
            .filter(|k| horizon.drops_key(layout, k))
            .collect();
        self.record(layout.prefix(), &horizon)?;
        if doomed.is_empty() {
            return Ok(Pruned::default());
        }
        let mut deleted = 0;
        for batch in doomed.chunks(BATCH) {
            deleted += self.delete(batch)?;
        }
        self.flush()?;
        let compacted = self.storage_stats()?.worth_compacting();
        if compacted {
            self.compact()?;
        }
        Ok(Pruned { deleted, compacted })
    }

    /// Merges `horizon` into the record of `prefix`, in a commit of its own (skipped when
    /// the record already says as much).
    fn record(&self, prefix: &str, horizon: &Horizon) -> Result<()> {
        let key = pruned_meta_key(prefix);
        let path = self.path();
        let before = {
            let txn = self.db.begin_read().at(path)?;
            match meta::read(&txn, &key).at(path)? {
                Some(text) => Horizon::parse_record(&text)?,
                None => Horizon::default(),
            }
        };
        let merged = before.merge(horizon);
        if merged == before {
            return Ok(());
        }
        let txn = self.db.begin_write().at(path)?;
        meta::write(&txn, &key, &merged.to_record()).at(path)?;
        txn.commit().at(path)
    }
}
