//! The engine's demo: seeds four months of realistic activity (`bitmapist::seed`) into the embedded store on first
//! run, then prints the events overview and a weekly retention table.
//!
//! `cargo run --release -p bitmapist --features seed --example engine_demo` (the store is `./bitmapist.redb`, or
//! whatever `BITMAPIST_URL` names; `BITMAPIST_*` variables apply).

use std::error::Error;
use std::time::Instant;

use bitmapist::seed::{self, SeedPlan};
use bitmapist::{Bitmapist, CohortSpec, Config, Period, TimeGroup};
use chrono::Utc;

const USERS: u32 = 10_000;
const DAYS: u32 = 120;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::from_env()?;
    let bm: Bitmapist = config.open().await?;
    println!("store: {}", bm.store().describe());
    let now = Utc::now();

    if bm.event_names(None).await?.is_empty() {
        let plan = SeedPlan::new(USERS, DAYS, now).seed(2026);
        let summary = seed::run(&bm, &plan, |_| {}).await?;
        println!(
            "seeded {} marks for {USERS} users over {DAYS} days in {:.2} s ({:.0} marks/s)",
            summary.marks, summary.seconds, summary.marks_per_second
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
