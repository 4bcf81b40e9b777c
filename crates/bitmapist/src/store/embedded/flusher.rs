//! The background flusher: one thread per open store that commits dirty bitmaps every
//! `flush_interval` and evicts idle clean ones.
//!
//! Invariants:
//! - The thread holds the store's shared state (`Arc<OpenFile>`), never the [`EmbeddedStore`]
//!   itself, so dropping the store is what stops it: `Drop` sets the stop flag, wakes the
//!   thread through the condition variable (no waiting out the interval), joins it, and then
//!   runs the final flush.
//! - The thread is the only one that advances the tick, once per interval; eviction runs
//!   under the flush lock so that it never drops an entry whose commit is in progress.
//! - After its commit, the thread runs the store's retention policy when one is configured
//!   and due (at most once an hour, see `prune.rs`).
//! - Errors are logged and retried at the next interval (a failed commit leaves its entries
//!   dirty); the thread never stops on its own.
//!
//! [`EmbeddedStore`]: super::EmbeddedStore

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{EmbeddedOptions, OpenFile};
use crate::error::{Error, Result};

/// The stop flag and the condition variable the thread sleeps on.
#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// The handle of a running flusher thread.
#[derive(Debug)]
pub(super) struct Flusher {
    stop: Arc<Stop>,
    handle: Option<JoinHandle<()>>,
}

/// Ticks an entry may stay unused before eviction: `idle / interval`, rounded up, at least 1.
pub(super) fn idle_ticks(idle: Duration, interval: Duration) -> u64 {
    let interval = interval.as_nanos().max(1);
    let ticks = idle.as_nanos().div_ceil(interval).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

impl Flusher {
    /// Starts the thread.
    pub(super) fn spawn(shared: Arc<OpenFile>, options: &EmbeddedOptions) -> Result<Self> {
        let stop = Arc::new(Stop::default());
        let interval = options.flush_interval.max(Duration::from_millis(1));
        let idle = options.idle_eviction.map(|d| idle_ticks(d, interval));
        // Scanning the whole cache every tick would hold its lock needlessly often: check
        // about ten times per idle period.
        let evict_every = idle.map_or(1, |t| (t / 10).max(1));
        let thread_stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("bitmapist-flush".to_string())
            .spawn(move || {
                run(&shared, &thread_stop, interval, idle, evict_every);
            })
            .map_err(|source| Error::Io {
                context: "starting the embedded store's flusher thread".to_string(),
                source,
            })?;
        Ok(Flusher {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread and waits for it (returns at once if it is already stopped).
    pub(super) fn stop(&mut self) {
        *self
            .stop
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.wake.notify_all();
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::warn!("the embedded store's flusher thread panicked");
        }
    }
}

fn run(
    shared: &OpenFile,
    stop: &Stop,
    interval: Duration,
    idle_ticks: Option<u64>,
    evict_every: u64,
) {
    let mut stopped = stop.stopped.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        stopped = stop
            .wake
            .wait_timeout_while(stopped, interval, |s| !*s)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if *stopped {
            return;
        }
        drop(stopped);

        let tick = shared.advance_tick();
        if let Err(e) = shared.flush() {
            tracing::warn!(
                path = %shared.path().display(),
                error = %e,
                "embedded store: background commit failed; will retry"
            );
        }
        shared.maybe_prune();
        if let Some(idle) = idle_ticks
            && tick.is_multiple_of(evict_every)
        {
            let evicted = shared.evict_idle(idle);
            if evicted > 0 {
                tracing::debug!(
                    path = %shared.path().display(),
                    evicted,
                    "embedded store: evicted idle bitmaps from memory"
                );
            }
        }

        stopped = stop.stopped.lock().unwrap_or_else(PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_ticks_round_up() {
        let s = Duration::from_secs;
        assert_eq!(idle_ticks(s(600), s(1)), 600);
        assert_eq!(idle_ticks(s(1), s(3)), 1);
        assert_eq!(idle_ticks(Duration::from_millis(2500), s(1)), 3);
        assert_eq!(idle_ticks(s(0), s(1)), 1);
    }
}
