//! The seed's bulk writer: generated days become whole bitmaps, merged into the store in
//! batches, with bounded memory. [`super::run`] drives it.
//!
//! How it works, and what bounds its memory:
//!
//! - Days are generated [`BATCH_DAYS`] at a time, the days of a batch in parallel (rayon, one
//!   thread per core), each as one bitmap per event (and per event-hour): see `bitmaps.rs`.
//!   The next batch is generated while the current one is written.
//! - A day's bitmaps are ORed into one accumulator per event for the current ISO week, one for
//!   the current month, and (when the handle tracks unique keys) one for the whole range. A
//!   week's or month's accumulators are written once, when the day after it starts (or at the
//!   end); day and hour bitmaps are written with their batch. Each key is therefore written
//!   about once, with [`Store::merge`] (OR into what the key holds: seeding adds to the
//!   store, as marking does).
//! - After each batch the store commits and lets go of its cached copies
//!   ([`Store::flush_release`]), so the embedded store's cache never holds more than one
//!   batch.
//!
//! Peak memory is therefore the generator's 24 bytes per user, plus two batches of day
//! bitmaps (the one being written and the one being generated), plus one week and one month
//! of bitmaps per event (a bitmap of 10 million users is at most 1.25 MB), plus the store's
//! own buffers for one batch. It does not grow with the number of days.

use std::ops::Range;
use std::sync::Arc;

use chrono::Datelike;
use rayon::prelude::*;

use super::EVENTS;
use super::bitmaps::DayBitmaps;
use super::generator::Generator;
use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::error::{Error, Result};
use crate::key::KeyLayout;
use crate::period::Period;
use crate::store::Store;

/// Days generated and written per batch.
pub const BATCH_DAYS: u32 = 8;

/// A batch of days being generated, on Tokio's blocking pool when there is a runtime.
enum Batch {
    Spawned(tokio::task::JoinHandle<Result<Vec<DayBitmaps>>>),
    Done(Result<Vec<DayBitmaps>>),
}

impl Batch {
    /// Starts generating the days in `range`.
    fn start(generator: &Arc<Generator>, range: Range<u32>, hourly: bool) -> Batch {
        let g = Arc::clone(generator);
        let work = move || -> Result<Vec<DayBitmaps>> {
            range
                .into_par_iter()
                .map(|index| g.day_bitmaps(index, hourly))
                .collect()
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => Batch::Spawned(handle.spawn_blocking(work)),
            Err(_) => Batch::Done(work()),
        }
    }

    /// The generated days, in order.
    async fn finish(self) -> Result<Vec<DayBitmaps>> {
        match self {
            Batch::Done(days) => days,
            Batch::Spawned(task) => task.await.map_err(|e| Error::Io {
                context: "the seed's generator task".to_string(),
                source: std::io::Error::other(e.to_string()),
            })?,
        }
    }
}

/// An event's bitmap for one period, growing day by day.
struct Accumulator {
    period: Period,
    bitmap: Bitmap,
}

/// What is accumulated across days: the current week's and month's bitmap of each event, and
/// each event's unique (date-less) bitmap.
struct Accumulators {
    weeks: Vec<Option<Accumulator>>,
    months: Vec<Option<Accumulator>>,
    unique: Option<Vec<Bitmap>>,
}

impl Accumulators {
    fn new(unique: bool) -> Self {
        Accumulators {
            weeks: (0..EVENTS.len()).map(|_| None).collect(),
            months: (0..EVENTS.len()).map(|_| None).collect(),
            unique: unique.then(|| vec![Bitmap::new(); EVENTS.len()]),
        }
    }

    /// Moves the accumulators of periods other than `week` and `month` (all of them when
    /// `None`) to `out`, as entries to merge.
    fn finish_before(
        &mut self,
        layout: &KeyLayout,
        week: Option<Period>,
        month: Option<Period>,
        out: &mut Vec<(String, Bitmap)>,
    ) {
        for (slots, keep) in [(&mut self.weeks, week), (&mut self.months, month)] {
            for (event, slot) in EVENTS.iter().zip(slots.iter_mut()) {
                if slot.as_ref().is_some_and(|a| Some(a.period) != keep)
                    && let Some(acc) = slot.take()
                {
                    out.push((layout.key(event, &acc.period), acc.bitmap));
                }
            }
        }
    }

    /// ORs `bitmap` into event `e`'s accumulators for `week` and `month`, and its unique one.
    fn add(&mut self, e: usize, week: Period, month: Period, bitmap: &Bitmap) {
        for (slots, period) in [(&mut self.weeks, week), (&mut self.months, month)] {
            if let Some(slot) = slots.get_mut(e) {
                match slot {
                    Some(acc) => acc.bitmap.or_assign(bitmap),
                    None => {
                        *slot = Some(Accumulator {
                            period,
                            bitmap: bitmap.clone(),
                        });
                    }
                }
            }
        }
        if let Some(unique) = self.unique.as_mut().and_then(|u| u.get_mut(e)) {
            unique.or_assign(bitmap);
        }
    }
}

/// Writes the plan's days into `bm`: hour keys when `hourly`, unique keys when the handle
/// tracks them. Calls `day_done` after each day is in the store (not yet committed); returns
/// the marks of each of [`EVENTS`].
pub(super) async fn write_days(
    bm: &Bitmapist,
    generator: Generator,
    hourly: bool,
    mut day_done: impl FnMut(&DayBitmaps),
) -> Result<[u64; EVENTS.len()]> {
    let days = generator.plan().days;
    let generator = Arc::new(generator);
    let layout = bm.layout();
    let store: &Arc<dyn Store> = bm.store();
    let mut acc = Accumulators::new(bm.tracks_unique());
    let mut counts = [0u64; EVENTS.len()];
    let batch_end = |lo: u32| lo.saturating_add(BATCH_DAYS).min(days);
    let mut next = Some(Batch::start(&generator, 0..batch_end(0), hourly));
    while let Some(batch) = next.take() {
        let batch = batch.finish().await?;
        let done = batch.last().map_or(days, |d| d.index + 1);
        if done < days {
            next = Some(Batch::start(&generator, done..batch_end(done), hourly));
        }
        let mut entries = Vec::new();
        for day in &batch {
            let date = day.date;
            let week = Period::week_of(date)?;
            let month = Period::month(date.year(), date.month())?;
            acc.finish_before(layout, Some(week), Some(month), &mut entries);
            for (e, bitmap) in &day.events {
                acc.add(*e, week, month, bitmap);
            }
            for (c, d) in counts.iter_mut().zip(day.counts) {
                *c += d;
            }
        }
        if next.is_none() {
            acc.finish_before(layout, None, None, &mut entries);
            if let Some(unique) = acc.unique.take() {
                for (event, bitmap) in EVENTS.iter().zip(unique) {
                    entries.push((layout.key(event, &Period::unique()), bitmap));
                }
            }
        }
        let mut reported = Vec::with_capacity(batch.len());
        for mut day in batch {
            let day_period = Period::day(day.date)?;
            for (e, bitmap) in std::mem::take(&mut day.events) {
                entries.push((layout.key(EVENTS[e], &day_period), bitmap));
            }
            for (e, hour, bitmap) in std::mem::take(&mut day.hours) {
                let period = Period::hour(day.date, hour)?;
                entries.push((layout.key(EVENTS[e], &period), bitmap));
            }
            reported.push(day);
        }
        store.merge(entries).await?;
        for day in &reported {
            day_done(day);
        }
        store.flush_release().await?;
    }
    Ok(counts)
}
