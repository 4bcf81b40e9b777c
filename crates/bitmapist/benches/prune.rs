//! Prune on Redis: batch latencies of `Bitmapist::prune` (SCAN, then `UNLINK` in batches)
//! beside one big `DEL` of the same keys, same data, same run.
//! Run: `cargo bench -p bitmapist --bench prune` (needs `redis-server`).
//!
//! Starts one `redis-server` and loads a year of one hourly-tracked event for 1,000,000
//! users: 8,760 hour keys, 365 day keys, the weeks and months, each a 125,000-byte string
//! (a bitmap whose highest user id is near 1,000,000, as every key of a million-user event
//! is). Then, per round:
//! - `prune`: `hour:7d,day:30d` applied with batches of `BENCH_BATCH` keys (default 100);
//!   the client-side time of each batch (one pipeline of `UNLINK`s);
//! - `one DEL`: the data loaded again, then the same keys in one `DEL` command.
//!
//! During both, a second connection sends `PING` every millisecond and records its round
//! trips: the longest is how long the server stopped answering anyone. Then the same prune
//! on a 3-primary Redis Cluster (no multi-key `DEL` there: its keys span every slot), with
//! one prober per primary. Prints a Markdown table. `BENCH_ROUNDS` (default 2) sets the
//! rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, KeepPolicy, PruneSpec, TimeGroup};
use bitmapist_test_support::{Rng, redis_cluster::RedisCluster, redis_server::RedisServer};
use chrono::{DateTime, Duration as Span, TimeZone, Utc};

/// Bytes of each key: 1,000,000 users' bits.
const KEY_BYTES: usize = 125_000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0)
        .single()
        .expect("valid")
}

/// Every key of a year of `user:active`, hourly.
fn keys(bm: &Bitmapist) -> Vec<String> {
    let layout = bm.layout();
    let mut out = std::collections::BTreeSet::new();
    for hour in 0..365 * 24 {
        let at = now() - Span::hours(hour);
        for group in [
            TimeGroup::Hours,
            TimeGroup::Days,
            TimeGroup::Weeks,
            TimeGroup::Months,
        ] {
            let period = bitmapist::Period::containing(group, at).expect("period");
            out.insert(layout.key("user:active", &period));
        }
    }
    out.into_iter().collect()
}

fn load(conn: &mut redis::Connection, keys: &[String], value: &[u8]) {
    for chunk in keys.chunks(200) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("SET").arg(k).arg(value).ignore();
        }
        let () = pipe.query(conn).expect("load");
    }
}

/// PINGs every millisecond until stopped; the round trips.
fn probe(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let mut conn = RedisServer::connection_to(port);
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let _: String = redis::cmd("PING").query(&mut conn).expect("PING");
            out.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(1));
        }
        out
    })
}

/// One prober per port; stops them and returns every round trip, sorted.
fn probes(ports: &[u16]) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<Vec<Duration>>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = ports.iter().map(|&p| probe(p, stop.clone())).collect();
    (stop, handles)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let batch: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let server = RedisServer::start();
    let bm = Bitmapist::open(&server.url()).await.expect("open");
    let all = keys(&bm);
    let mut rng = Rng(9);
    let value: Vec<u8> = (0..KEY_BYTES).map(|_| rng.next() as u8).collect();
    let policy: KeepPolicy = "hour:7d,day:30d".parse().expect("policy");
    let horizon = policy.horizon(now().naive_utc()).expect("horizon");
    let doomed: Vec<String> = all
        .iter()
        .filter(|k| horizon.drops_key(bm.layout(), k))
        .cloned()
        .collect();
    let mut raw = server.raw_connection();
    println!(
        "{} keys of {} bytes, {} selected by {policy}; batches of {batch}",
        all.len(),
        KEY_BYTES,
        doomed.len()
    );
    println!(
        "| round | method | keys | total ms | batch p50 ms | batch p99 ms | batch max ms | PING max ms | PING p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for round in 1..=rounds {
        // Prune in batches.
        let () = redis::cmd("FLUSHALL").query(&mut raw).expect("flushall");
        load(&mut raw, &all, &value);
        let stop = Arc::new(AtomicBool::new(false));
        let prober = probe(server.port(), stop.clone());
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let report = bm
            .prune(
                &PruneSpec::new(policy.clone())
                    .now(now())
                    .batch(batch)
                    .apply(true),
            )
            .await
            .expect("prune");
        let total = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut pings = prober.join().expect("probe");
        pings.sort_unstable();
        let mut times = report.batch_times.clone();
        times.sort_unstable();
        assert_eq!(report.deleted as usize, doomed.len());
        println!(
            "| {round} | prune (SCAN + UNLINK x{batch}) | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            report.deleted,
            total.as_secs_f64() * 1e3,
            pct(&times, 0.5),
            pct(&times, 0.99),
            pct(&times, 1.0),
            pct(&pings, 1.0),
            pct(&pings, 0.99),
        );

        // One DEL of the same keys.
        let () = redis::cmd("FLUSHALL").query(&mut raw).expect("flushall");
        load(&mut raw, &all, &value);
        let stop = Arc::new(AtomicBool::new(false));
        let prober = probe(server.port(), stop.clone());
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let n: u64 = redis::cmd("DEL").arg(&doomed).query(&mut raw).expect("DEL");
        let total = started.elapsed();
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        let mut pings = prober.join().expect("probe");
        pings.sort_unstable();
        assert_eq!(n as usize, doomed.len());
        let ms = total.as_secs_f64() * 1e3;
        println!(
            "| {round} | one DEL | {n} | {ms:.0} | {ms:.2} | {ms:.2} | {ms:.2} | {:.2} | {:.2} |",
            pct(&pings, 1.0),
            pct(&pings, 0.99),
        );
    }
    drop(server);

    // The same prune on a 3-primary cluster.
    let cluster = RedisCluster::start(3, 0);
    let bm = Bitmapist::open(&cluster.url())
        .await
        .expect("open the cluster");
    let bitmap = bitmapist::Bitmap::from_redis_bytes(&value).expect("bitmap");
    for round in 1..=rounds {
        for chunk in all.chunks(200) {
            let entries: Vec<(String, bitmapist::Bitmap)> =
                chunk.iter().map(|k| (k.clone(), bitmap.clone())).collect();
            bm.store().put(&entries).await.expect("load the cluster");
        }
        let (stop, handles) = probes(&cluster.primary_ports());
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let report = bm
            .prune(
                &PruneSpec::new(policy.clone())
                    .now(now())
                    .batch(batch)
                    .apply(true),
            )
            .await
            .expect("prune");
        let total = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut pings: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("probe"))
            .collect();
        pings.sort_unstable();
        let mut times = report.batch_times.clone();
        times.sort_unstable();
        assert_eq!(report.deleted as usize, doomed.len());
        println!(
            "| {round} | cluster prune (SCAN + UNLINK x{batch}, per primary) | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            report.deleted,
            total.as_secs_f64() * 1e3,
            pct(&times, 0.5),
            pct(&times, 0.99),
            pct(&times, 1.0),
            pct(&pings, 1.0),
            pct(&pings, 0.99),
        );
        bm.store().delete_prefix("trackist_").await.expect("clear");
    }
}
