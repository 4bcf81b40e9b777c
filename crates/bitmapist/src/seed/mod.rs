//! Realistic, deterministic fake activity for demos, benchmarks and the CLI's `seed`.
//! A [`SeedPlan`] names users, days, an end and a seed; its [`Generator`] yields marks day by day.
//!
//! What is generated, for users `1..=users` (ids in sign-up order, like an auto-increment
//! column) over the `days` calendar days ending with the day of `end`:
//!
//! - **Sign-ups** spread over the range, growing towards its end, fewer at weekends, with
//!   some day-to-day noise: `user:signed_up` and `user:created` (the ORM hook's event),
//!   with a first session.
//! - **Sessions**: on each later day a user is active with a probability that decays with
//!   the account's age (fast over the first weeks, then a plateau) times a per-user
//!   stickiness (tourists, casual and loyal users), lower at weekends. A session is
//!   `user:logged_in`, `page:viewed` a few minutes later and, most of the time,
//!   `user:logged_out`; sticky users sometimes have a second session the same day.
//! - **Writes**: `user:updated` on some active days; `user:purchased`, rare (more frequent
//!   for premium users); `user:upgraded` (and a purchase) once for the ~12% who go premium;
//!   `user:deleted`, rare, which ends the user's activity for good.
//! - **Unique flags** (date-less keys, see [`Bitmapist::mark_unique`]): `user:premium`,
//!   `user:verified_email`, `user:beta_tester`, from [`Generator::unique_flags`].
//! - **A property**, `plan`, with five values (`plan:free`, `plan:trial`, `plan:starter`,
//!   `plan:pro`, `plan:enterprise`, unique events as [`Bitmapist::set_property`] writes
//!   them), one per user, from [`Generator::plan_of`]: what breakdowns break down by.
//!
//! Times follow a daily profile (quiet at night, busiest in the evening), in UTC, and never
//! pass `end`. The output depends only on the plan: the generator draws from its own
//! SplitMix64 streams rather than a crate, so that a seed gives the same data in every
//! version and on every platform (only integer and IEEE arithmetic, no platform `exp`; a
//! test pins a fingerprint of one plan's data, so a change to the model cannot go
//! unnoticed). Each day is a pure function of the plan and the day, so days can be
//! produced one at a time, in any order, and in parallel: memory is 24 bytes per user plus the
//! days in flight ([`run`] writes batches of [`BATCH_DAYS`] days as bitmaps).
//!
//! The parts, each depending only on those before it:
//! - `plan.rs`: [`SeedPlan`], the whole input, validated once;
//! - `random.rs`: the random source, one SplitMix64 stream per (seed, salt, index);
//! - `generator.rs`: the model: users drawn once, then each day's marks ([`Generator`]);
//! - `bitmaps.rs`: one generated day as bitmaps (users per event and per event-hour);
//! - `write.rs`: batches of days generated in parallel and written as whole bitmaps;
//! - this module: [`run`], which drives them, and what it reports ([`Progress`], [`Summary`]).
//!
//! ```
//! use bitmapist::seed::SeedPlan;
//! use chrono::{TimeZone, Utc};
//! let end = Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0).unwrap();
//! let plan = SeedPlan::new(1_000, 30, end).seed(7);
//! let mut total = 0;
//! for day in plan.generator()? {
//!     assert!(day.marks.iter().all(|&(_, uid, at)| (1..=1_000).contains(&uid) && at <= end));
//!     total += day.marks.len();
//! }
//! assert!(total > 1_000);
//! # Ok::<(), bitmapist::Error>(())
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::bitmap::Bitmap;
use crate::client::Bitmapist;
use crate::error::Result;
use crate::period::Period;

mod bitmaps;
mod generator;
mod plan;
mod random;
mod write;

pub use self::generator::{Day, Generator};
pub use self::plan::SeedPlan;
pub use self::write::BATCH_DAYS;

/// The dated events the generator writes, in a fixed order (see [`Day::counts`]).
pub const EVENTS: [&str; 9] = [
    "user:signed_up",
    "user:created",
    "user:logged_in",
    "user:logged_out",
    "page:viewed",
    "user:updated",
    "user:purchased",
    "user:upgraded",
    "user:deleted",
];

/// The unique (date-less) flags the generator sets (see [`Generator::unique_flags`]).
pub const FLAGS: [&str; 3] = ["user:premium", "user:verified_email", "user:beta_tester"];

/// The property the seed sets on every user (unique events `plan:VALUE`, see
/// [`Bitmapist::set_property`]), so that breakdowns have a property to break down by.
pub const PLAN_PROPERTY: &str = "plan";

/// The values of [`PLAN_PROPERTY`] (see [`Generator::plan_of`]).
pub const PLAN_VALUES: [&str; 5] = ["free", "trial", "starter", "pro", "enterprise"];

/// The largest number of users a plan may have (the generator keeps 24 bytes per user).
pub const MAX_USERS: u32 = 50_000_000;

/// The largest number of days a plan may span (about 100 years).
pub const MAX_DAYS: u32 = 36_600;

/// One mark: event, user id, time. Feed a day of them to [`Bitmapist::mark_events`].
pub type Mark = (&'static str, u32, DateTime<Utc>);

/// Where a [`run`] is: reported after each day.
///
/// ```
/// # use bitmapist::seed::Progress;
/// let p = Progress { days_done: 3, days: 10, marks: 1_000, date: chrono::NaiveDate::MIN };
/// assert_eq!(p.days - p.days_done, 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Days written so far.
    pub days_done: u32,
    /// Days in the plan.
    pub days: u32,
    /// Marks written so far (dated marks; the unique flags come last).
    pub marks: u64,
    /// The last day written.
    pub date: NaiveDate,
}

/// What a [`run`] wrote.
///
/// ```
/// use bitmapist::{Bitmapist, seed::{self, SeedPlan}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// let s = seed::run(&bm, &SeedPlan::new(200, 5, chrono::Utc::now()), |_| {}).await?;
/// // Every mark is a dated mark of one event or a unique flag.
/// let dated: u64 = s.events.values().sum();
/// let flags: u64 = s.flags.values().sum();
/// assert_eq!(s.marks, dated + flags);
/// assert_eq!(s.events["user:signed_up"], 200);
/// assert_eq!(s.plan.users, 200);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Every mark written: dated marks plus unique flags.
    pub marks: u64,
    /// Wall time of generating and writing, including the final flush, in seconds.
    pub seconds: f64,
    /// Marks per second (`marks / seconds`).
    pub marks_per_second: f64,
    /// Dated marks per event name.
    pub events: BTreeMap<String, u64>,
    /// Unique flags set, per flag name.
    pub flags: BTreeMap<String, u64>,
    /// Users per value of the [`PLAN_PROPERTY`] (`plan:free`, ...); not counted in `marks`.
    pub properties: BTreeMap<String, u64>,
    /// The plan.
    pub plan: SeedPlan,
    /// The first day of the range.
    pub start: NaiveDate,
}

/// Generates `plan` into `bm`, then the unique flags and the `plan` property, then flushes. `progress` is called
/// after each day. The keys written are exactly those [`Bitmapist::mark_events`] would
/// write for [`Generator::day`]'s marks (month, ISO week, day; the hour with
/// [`SeedPlan::hourly`]; the unique key when the handle tracks it), but written as whole
/// bitmaps, [`BATCH_DAYS`] days at a time, the days of a batch generated in parallel.
///
/// **Memory is bounded, whatever the number of days:** 24 bytes per user for the generator,
/// two batches of day bitmaps, one week and one month of bitmaps per event, and the store's
/// buffers for one batch; after each batch the store commits and drops its cached copies
/// ([`Store::flush_release`](crate::store::Store::flush_release)). A bitmap of 10 million
/// users is at most 1.25 MB.
///
/// Marks add to what the store holds (each bitmap is ORed in with
/// [`Store::merge`](crate::store::Store::merge)); run it on an empty prefix for a clean data
/// set. The generation is CPU-bound and runs on Tokio's blocking pool (and rayon's threads).
///
/// ```
/// use bitmapist::{Bitmapist, Period, seed::{self, SeedPlan}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let bm = Bitmapist::open("memory://").await?;
/// let plan = SeedPlan::new(1_000, 30, chrono::Utc::now()).seed(3);
/// let summary = seed::run(&bm, &plan, |p| assert!(p.days_done <= p.days)).await?;
/// assert_eq!(summary.events["user:signed_up"], 1_000);
/// let premium = bm.events("user:premium", Period::unique()).count().await?;
/// assert_eq!(premium, summary.flags["user:premium"]);
/// assert_eq!(summary.properties.values().sum::<u64>(), 1_000);
/// assert_eq!(bm.property_values("plan").await?.len(), 5);
/// assert!(summary.marks > 1_000);
/// # Ok(()) }
/// ```
pub async fn run(
    bm: &Bitmapist,
    plan: &SeedPlan,
    mut progress: impl FnMut(&Progress),
) -> Result<Summary> {
    let started = Instant::now();
    let generator = plan.generator()?;
    let start = generator.start;
    let unique = generator.unique_flags();
    // The property: one value per user, each value's users written whole (after the flags).
    let mut values = vec![roaring::RoaringBitmap::new(); PLAN_VALUES.len()];
    for uid in 1..=plan.users {
        values[generator.plan_of(uid)].insert(uid);
    }
    let hourly = plan.mark_options().hourly.unwrap_or(bm.tracks_hourly());
    let mut marks = 0u64;
    let counts = write::write_days(bm, generator, hourly, |day| {
        marks += day.counts.iter().sum::<u64>();
        progress(&Progress {
            days_done: day.index + 1,
            days: plan.days,
            marks,
            date: day.date,
        });
    })
    .await?;
    // The unique flags: one write per flag to its date-less key only.
    let mut flags = BTreeMap::new();
    let mut entries = Vec::with_capacity(FLAGS.len());
    for flag in FLAGS {
        let users: Bitmap = unique
            .iter()
            .filter(|(f, _)| *f == flag)
            .map(|&(_, uid)| uid)
            .collect();
        let n = users.count();
        entries.push((bm.layout().key(flag, &Period::unique()), users));
        flags.insert(flag.to_string(), n);
        marks += n;
    }
    let mut properties = BTreeMap::new();
    for (value, users) in PLAN_VALUES.iter().zip(values) {
        let event = format!("{PLAN_PROPERTY}:{value}");
        let users = Bitmap::from_bits(users);
        properties.insert(event.clone(), users.count());
        entries.push((bm.layout().key(&event, &Period::unique()), users));
    }
    bm.store().merge(entries).await?;
    bm.flush().await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Summary {
        marks,
        seconds,
        marks_per_second: if seconds > 0.0 {
            marks as f64 / seconds
        } else {
            0.0
        },
        events: EVENTS
            .iter()
            .zip(counts)
            .map(|(e, c)| (e.to_string(), c))
            .collect(),
        flags,
        properties,
        plan: plan.clone(),
        start,
    })
}
