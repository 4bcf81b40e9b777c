//! The engine's demo: seeds a quarter of realistic activity into the embedded store on first
//! run, then prints the events overview and a weekly retention table.
//!
//! `cargo run --release -p bitmapist --example demo` (the store is `./bitmapist.redb`, or
//! whatever `BITMAPIST_URL` names; `BITMAPIST_*` variables apply).

use std::error::Error;
use std::time::Instant;

use bitmapist::{Bitmapist, CohortSpec, Config, MarkOptions, Period, TimeGroup};
use chrono::{DateTime, Duration, Utc};

const USERS: u32 = 10_000;
const DAYS: i64 = 120;

/// A small deterministic generator (xorshift64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Sign-ups spread over the range; each later day a user logs in with a probability that
/// decays with age; a few buy, some reset passwords, a tenth are premium (unique flag).
fn generate(end: DateTime<Utc>) -> Vec<(&'static str, u32, DateTime<Utc>)> {
    let mut rng = Rng(0x5EED_CAFE);
    let start = end - Duration::days(DAYS);
    let mut marks = Vec::new();
    for uid in 1..=USERS {
        let signup = (rng.next() % DAYS as u64) as i64;
        let t0 = start + Duration::days(signup) + Duration::minutes((rng.next() % 1440) as i64);
        marks.push(("user:signed_up", uid, t0));
        marks.push(("user:logged_in", uid, t0));
        let stickiness = 0.3 + 0.6 * ((rng.next() % 100) as f64 / 100.0);
        for age in 1..(DAYS - signup) {
            let t = t0 + Duration::days(age) + Duration::minutes((rng.next() % 600) as i64 - 300);
            if t > end {
                break;
            }
            if rng.chance(stickiness / (1.0 + age as f64 / 7.0)) {
                marks.push(("user:logged_in", uid, t));
                if rng.chance(0.05) {
                    marks.push(("user:purchased", uid, t));
                }
                if rng.chance(0.01) {
                    marks.push(("user:reset_password", uid, t));
                }
            }
        }
    }
    marks
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::from_env()?;
    let bm: Bitmapist = config.open().await?;
    println!("store: {}", bm.store().describe());
    let now = Utc::now();

    if bm.event_names(None).await?.is_empty() {
        let marks = generate(now);
        let t = Instant::now();
        let n = bm
            .mark_events(marks.iter().copied(), MarkOptions::default())
            .await?;
        for uid in (1..=USERS).step_by(10) {
            bm.mark_unique("user:premium", uid).await?;
        }
        bm.flush().await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "seeded {n} marks for {USERS} users over {DAYS} days in {secs:.2} s ({:.0} marks/s)",
            n as f64 / secs
        );
    }

    println!(
        "\n{:<24} {:>8} {:>8} {:>8} {:>8}",
        "event", "today", "week", "month", "year"
    );
    for name in bm.event_names(None).await? {
        let mut row = format!("{name:<24}");
        for g in [
            TimeGroup::Days,
            TimeGroup::Weeks,
            TimeGroup::Months,
            TimeGroup::Years,
        ] {
            let n = bm.get_event_data(&name, g, now)?.count().await?;
            row.push_str(&format!(" {n:>8}"));
        }
        let unique = bm.events(&name, Period::unique()).count().await?;
        println!("{row} {unique:>8}");
    }

    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .time_group(TimeGroup::Weeks)
        .rows(8)
        .cols(8)
        .with_replacement(true)
        .now(now);
    let t = Instant::now();
    let c = bm.get_cohort(&spec).await?;
    println!(
        "\nweekly retention: signed up, then logged in that week (% of the cohort, with replacement; {:.1} ms)",
        t.elapsed().as_secs_f64() * 1e3
    );
    print!("{:<10} {:>6}", "week", "users");
    for j in 0..spec.cols {
        print!(" {:>5}", format!("+{j}"));
    }
    println!();
    for (i, label) in c.labels.iter().enumerate() {
        print!("{label:<10} {:>6}", c.totals[i]);
        for f in &c.fractions[i] {
            match f {
                Some(f) => print!(" {:>4.0}%", f * 100.0),
                None => print!(" {:>5}", ""),
            }
        }
        println!();
    }
    Ok(())
}
