//! Redis Cluster beside one Redis, same data, same run: marks/s and a 30x30 daily cohort.
//! Run: `cargo bench -p bitmapist --features seed --bench cluster` (needs `redis-server` and
//! `redis-cli`).
//!
//! Starts one `redis-server` and a 3-primary cluster (no replicas) on this machine, loads
//! the same seeded activity into both (`bitmapist::seed`, 100,000 users over 60 days,
//! marked in batches of 8,192 as the axum extension's queue does), then alternates the
//! stores round by round so that machine noise hits both alike:
//! - `mark batch`: the whole seed through `mark_events`, marks/s;
//! - `mark single`: 5,000 `mark_event` calls awaited one at a time, marks/s;
//! - `cohort`: `get_cohort` 30 x 30 days, no replacement; the median of the round's runs.
//!
//! It prints a Markdown table with the ratio cluster / Redis, the commands each cluster
//! node executed during one load and nine cohorts (`INFO commandstats`), which show how the
//! work divides over primaries, and the socket reads each node processed in the same
//! spans (`INFO stats` `total_reads_processed`: about one per request or pipeline, so the
//! round trips the client made). `BENCH_ROUNDS` (default 3) sets the rounds.

use std::time::{Duration, Instant};

use bitmapist::seed::SeedPlan;
use bitmapist::{Bitmapist, CohortSpec};
use chrono::{DateTime, TimeZone, Utc};

use bitmapist_test_support::redis_server;

use bitmapist_test_support::redis_cluster;

/// Marks per `mark_events` call (the axum queue's `MAX_BATCH`).
const BATCH: usize = 8192;
/// `mark_event` calls in the single-mark measurement.
const SINGLES: u32 = 5_000;
/// Cohort runs per round.
const COHORTS: usize = 9;

type Mark = (&'static str, u32, DateTime<Utc>);

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("valid")
}

fn seed_marks() -> (Vec<Mark>, bitmapist::MarkOptions) {
    let plan = SeedPlan::new(100_000, 60, end()).seed(3);
    let mut marks = Vec::new();
    for day in plan.generator().expect("plan") {
        marks.extend(day.marks);
    }
    (marks, plan.mark_options())
}

async fn load(bm: &Bitmapist, marks: &[Mark], opts: bitmapist::MarkOptions) -> Duration {
    let started = Instant::now();
    for chunk in marks.chunks(BATCH) {
        bm.mark_events(chunk.iter().copied(), opts)
            .await
            .expect("mark_events");
    }
    started.elapsed()
}

async fn singles(bm: &Bitmapist) -> Duration {
    let started = Instant::now();
    for i in 0..SINGLES {
        bm.mark_event("bench:single", (i * 7919) % 100_000)
            .at(end())
            .await
            .expect("mark_event");
    }
    started.elapsed()
}

async fn cohort(bm: &Bitmapist, spec: &CohortSpec) -> Duration {
    let mut times = Vec::with_capacity(COHORTS);
    for _ in 0..COHORTS {
        let started = Instant::now();
        let c = bm.get_cohort(spec).await.expect("cohort");
        times.push(started.elapsed());
        assert!(c.total > 0);
    }
    times.sort();
    times[COHORTS / 2]
}

fn per_node(counts: &[(u16, u64)]) -> String {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    counts
        .iter()
        .map(|(port, n)| {
            format!(
                "{port}: {n} ({:.0}%)",
                100.0 * *n as f64 / total.max(1) as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let single = redis_server::RedisServer::start();
    let cluster = redis_cluster::RedisCluster::start(3, 0);
    let (marks, opts) = seed_marks();
    eprintln!("{} marks, {rounds} rounds", marks.len());
    let (redis, on_cluster) = rt.block_on(async {
        (
            Bitmapist::open(&single.url()).await.expect("redis"),
            Bitmapist::open(&cluster.url()).await.expect("cluster"),
        )
    });
    let spec = CohortSpec::new("user:signed_up", "user:logged_in")
        .rows(30)
        .cols(30)
        .now(end());

    let mut results: Vec<[Vec<f64>; 3]> = vec![Default::default(), Default::default()];
    let mut node_load = Vec::new();
    let mut node_cohort = Vec::new();
    let (mut reads_load, mut reads_cohort) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        for (i, bm) in [&redis, &on_cluster].into_iter().enumerate() {
            let is_cluster = i == 1;
            if is_cluster && round == 0 {
                cluster.reset_stats();
            }
            let t = rt.block_on(load(bm, &marks, opts));
            if is_cluster && round == 0 {
                node_load = cluster.command_counts();
                reads_load = cluster.socket_reads();
                cluster.reset_stats();
            }
            let c = rt.block_on(cohort(bm, &spec));
            if is_cluster && round == 0 {
                node_cohort = cluster.command_counts();
                reads_cohort = cluster.socket_reads();
            }
            let s = rt.block_on(singles(bm));
            results[i][0].push(marks.len() as f64 / t.as_secs_f64());
            results[i][1].push(f64::from(SINGLES) / s.as_secs_f64());
            results[i][2].push(c.as_secs_f64() * 1000.0);
            eprintln!(
                "round {round} {}: load {t:?}, cohort {c:?}, singles {s:?}",
                if is_cluster { "cluster" } else { "redis" }
            );
        }
    }
    // The same answers on both.
    let (a, b) = rt.block_on(async {
        (
            redis.get_cohort(&spec).await.expect("cohort"),
            on_cluster.get_cohort(&spec).await.expect("cohort"),
        )
    });
    assert_eq!(a.cohort, b.cohort, "the cluster answers as one Redis does");

    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    println!("| measure | one Redis | 3-primary cluster | cluster / Redis |");
    println!("|---|---|---|---|");
    for (j, (name, unit, higher_better)) in [
        ("mark_events, batches of 8,192", "marks/s", true),
        ("mark_event, one at a time", "marks/s", true),
        ("30x30 daily cohort (median)", "ms", false),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, c) = (median(&results[0][j]), median(&results[1][j]));
        let (rl, rh) = range(&results[0][j]);
        let (cl, ch) = range(&results[1][j]);
        let ratio = if higher_better { c / r } else { r / c };
        // Milliseconds to 0.01 ms (a cohort takes a few), rates to whole marks/s.
        let p = if unit == "ms" { 2 } else { 0 };
        println!(
            "| {name} | {r:.p$} {unit} ({rl:.p$}-{rh:.p$}) | {c:.p$} {unit} ({cl:.p$}-{ch:.p$}) | {:.0}% |",
            ratio * 100.0
        );
    }
    println!();
    println!(
        "commands per cluster node, one load: {}",
        per_node(&node_load)
    );
    println!(
        "commands per cluster node, {COHORTS} cohorts: {}",
        per_node(&node_cohort)
    );
    println!(
        "socket reads (about one per request or pipeline) per cluster node, one load: {}",
        per_node(&reads_load)
    );
    println!(
        "socket reads per cluster node, {COHORTS} cohorts: {}",
        per_node(&reads_cohort)
    );
}
