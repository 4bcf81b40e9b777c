//! What the adapters' demo apps share (feature `seed`): a year of realistic activity
//! seeded into an empty store, so a freshly started demo has a dashboard to show.
//!
//! Invariant: a store that has any event is left alone, so restarting a demo never
//! doubles its history.

use bitmapist::Bitmapist;
use bitmapist::seed::{self, SeedPlan, Summary};

/// How many users a demo's seeded history has (ids `1..=DEMO_USERS`); a demo's own sign-ups
/// get ids after them.
pub const DEMO_USERS: u32 = 10_000;

/// Seeds a year of activity for [`DEMO_USERS`] users ending now, unless the store already
/// has events; answers what was written (`None` when the store was left alone).
pub async fn seed_demo_if_empty(client: &Bitmapist) -> bitmapist::Result<Option<Summary>> {
    if !client.event_names(None).await?.is_empty() {
        return Ok(None);
    }
    let plan = SeedPlan::new(DEMO_USERS, 365, chrono::Utc::now())
        .seed(2026)
        .hourly(client.tracks_hourly());
    seed::run(client, &plan, |_| {}).await.map(Some)
}
