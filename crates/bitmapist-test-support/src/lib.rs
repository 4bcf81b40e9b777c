//! Test and benchmark support for the bitmapist workspace (not published): real
//! `redis-server` and Redis Cluster processes, one deterministic generator, one dataset.
//!
//! Every crate's tests and benchmarks use it as a dev-dependency. It does not depend on
//! `bitmapist`, so that the engine's own tests can use it without a second copy of the
//! engine: it speaks in plain marks `(event, user id, time)`.
//!
//! - `browser` (feature `browser`): headless Chromium for the dashboards' browser tests;
//! - [`http`]: a minimal HTTP/1.1 client for the web adapters' real servers;
//! - [`redis_server`]: one real `redis-server` per test, on a free port, killed on drop;
//! - [`redis_cluster`]: real Redis Clusters (one shared per test binary, or one of your own);
//! - [`test_files`]: the guard that every `tests/*.rs` file is built;
//! - [`Rng`]: a small xorshift generator, so every run draws the same data;
//! - [`activity`]: the benchmarks' dataset (sign-ups, then logins decaying with age).

#[cfg(feature = "browser")]
pub mod browser;
pub mod http;
pub mod redis_cluster;
pub mod redis_server;
pub mod test_files;

use chrono::{DateTime, Duration, Utc};

/// One mark: event, user id, time.
pub type Mark = (&'static str, u32, DateTime<Utc>);

/// A small deterministic generator (xorshift64), so that every run and every store draws
/// the same data.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed of [`activity`]'s generator.
pub const ACTIVITY_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The benchmarks' dataset: `users` sign-ups spread over `days` days from `start` (each
/// marked `user:signed_up` and `user:logged_in`), then each later day a `user:logged_in`
/// with a probability that decays with the user's age, `0.6 / (1 + age / 3)`. For 100,000
/// users over 60 days, about 1.1 million marks.
pub fn activity(users: u32, days: i64, start: DateTime<Utc>) -> Vec<Mark> {
    let mut rng = Rng(ACTIVITY_SEED);
    let mut marks = Vec::new();
    for uid in 0..users {
        let signup = (rng.next() % days as u64) as i64;
        let t0 = start + Duration::days(signup) + Duration::minutes((rng.next() % 1440) as i64);
        marks.push(("user:signed_up", uid, t0));
        marks.push(("user:logged_in", uid, t0));
        for age in 1..(days - signup) {
            if rng.unit() < 0.6 / (1.0 + age as f64 / 3.0) {
                marks.push(("user:logged_in", uid, t0 + Duration::days(age)));
            }
        }
    }
    marks
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn rng_is_deterministic_and_units_are_in_range() {
        let (mut a, mut b) = (Rng(ACTIVITY_SEED), Rng(ACTIVITY_SEED));
        for _ in 0..1000 {
            let u = a.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
            assert_eq!(u, b.unit());
        }
    }

    #[test]
    fn activity_signs_every_user_up_once_within_the_range() {
        let start = Utc
            .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
            .single()
            .expect("valid");
        let marks = activity(500, 10, start);
        let signups: Vec<&Mark> = marks.iter().filter(|m| m.0 == "user:signed_up").collect();
        assert_eq!(signups.len(), 500);
        let end = start + Duration::days(10);
        assert!(marks.iter().all(|m| m.2 >= start && m.2 < end));
        assert_eq!(marks, activity(500, 10, start), "deterministic");
    }
}
