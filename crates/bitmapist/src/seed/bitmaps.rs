//! One generated day as bitmaps: the users of each event (and of each event's hours) that day.
//! The bulk writer ORs these into weeks and months instead of handling marks one by one.
//!
//! The generator hands users over in ascending order and all of one user's marks together,
//! so each event's users arrive sorted, a repeat being the same user as the last one: they go
//! into plain vectors (one comparison and a push per mark) and become roaring bitmaps at the
//! end of the day with `from_sorted_iter`, which appends whole containers.

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use super::EVENTS;
use super::generator::{Generator, Sink};
use crate::bitmap::Bitmap;
use crate::error::Result;

/// Hours in a day.
const HOURS: usize = 24;

/// The bitmaps of one generated day.
#[derive(Debug)]
pub(crate) struct DayBitmaps {
    /// The day's index in the plan.
    pub(crate) index: u32,
    /// Its date.
    pub(crate) date: NaiveDate,
    /// Marks of each of [`EVENTS`] (repeats included, as [`super::Day::counts`]).
    pub(crate) counts: [u64; EVENTS.len()],
    /// `(event index, users)` for each event with marks that day.
    pub(crate) events: Vec<(usize, Bitmap)>,
    /// `(event index, hour, users)` for each event-hour with marks, when hours are asked for.
    pub(crate) hours: Vec<(usize, u32, Bitmap)>,
}

/// Users per event (and per event-hour), sorted and without repeats.
struct UserLists {
    events: Vec<Vec<u32>>,
    /// `hours[event * 24 + hour]`; empty when hours are not asked for.
    hours: Vec<Vec<u32>>,
}

/// Appends `uid` unless it is the last one there (users arrive in ascending order).
fn push_new(list: &mut Vec<u32>, uid: u32) {
    if list.last() != Some(&uid) {
        list.push(uid);
    }
}

impl Sink for UserLists {
    fn push(&mut self, event: usize, uid: u32, sec: u32) {
        if let Some(list) = self.events.get_mut(event) {
            push_new(list, uid);
        }
        if !self.hours.is_empty()
            && let Some(list) = self.hours.get_mut(event * HOURS + (sec / 3600) as usize)
        {
            push_new(list, uid);
        }
    }
}

/// A bitmap of ascending users; any order would do, sorted is just faster.
fn bitmap_of(users: &[u32]) -> Bitmap {
    let bits = RoaringBitmap::from_sorted_iter(users.iter().copied())
        .unwrap_or_else(|_| users.iter().copied().collect());
    Bitmap::from_bits(bits)
}

impl Generator {
    /// Day `index` as bitmaps, with hour bitmaps when `hourly`. The same marks as
    /// [`Generator::day`] (the scale tests compare the two through stores).
    pub(crate) fn day_bitmaps(&self, index: u32, hourly: bool) -> Result<DayBitmaps> {
        let date = self.date(index)?;
        let mut lists = UserLists {
            events: vec![Vec::new(); EVENTS.len()],
            hours: if hourly {
                vec![Vec::new(); EVENTS.len() * HOURS]
            } else {
                Vec::new()
            },
        };
        let counts = self.generate(index, &mut lists)?;
        let events = lists
            .events
            .iter()
            .enumerate()
            .filter(|(_, users)| !users.is_empty())
            .map(|(e, users)| (e, bitmap_of(users)))
            .collect();
        let hours = lists
            .hours
            .iter()
            .enumerate()
            .filter(|(_, users)| !users.is_empty())
            .map(|(i, users)| (i / HOURS, (i % HOURS) as u32, bitmap_of(users)))
            .collect();
        Ok(DayBitmaps {
            index,
            date,
            counts,
            events,
            hours,
        })
    }
}
