//! bitmapist-server beside a real redis-server, in one run: SETBIT throughput with
//! `redis-benchmark` (pipelined `-P 64`, and one command per round trip), then RSS and
//! on-disk size for two datasets loaded into both through the same client code.
//!
//! Run: `cargo bench -p bitmapist-server --bench compare` (needs redis-server and
//! redis-benchmark: `apt-get install -y redis-server`). Prints a Markdown table.
//!
//! Datasets (deterministic, loaded with bitmapist's Redis store, `mark_events`, which
//! writes the month, ISO week and day key of every mark):
//! - seed: 100,000 users over 60 days (sign-ups spread over the range, daily logins
//!   decaying with age: the engine benchmark's data, about 1.1 million marks);
//! - sparse: ids spread over 0..10,000,000, a fresh 1% (100,000) of them active each day,
//!   over 90 days (9 million marks).
//!
//! Our server runs with `-idle 15s`: its RSS is measured right after loading (every bitmap
//! in memory) and again once idle bitmaps have left memory (`INFO keys` shows 0 cached, then
//! 20 s for jemalloc to purge the freed pages). On disk: Redis's `dump.rdb` after `SAVE`,
//! our live file after `BGSAVE`, and the `-bak` copy `BGSAVE` writes (compact: the live file
//! also holds pages freed by earlier commits, which redb reuses).

// The tests' helpers; the benchmark uses only some of them.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, MarkOptions};
use bitmapist_test_support::Rng;
use chrono::{DateTime, Duration as Days, TimeZone, Utc};
use common::{RedisServer, Server};

type Mark = (&'static str, u32, DateTime<Utc>);

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

/// The benchmarks' dataset ([`bitmapist_test_support::activity`]).
fn seed() -> Vec<bitmapist_test_support::Mark> {
    bitmapist_test_support::activity(100_000, 60, start())
}

/// The sparse dataset: 1% of 0..10M active each day for 90 days.
fn sparse() -> Vec<Mark> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut marks = Vec::with_capacity(9_000_000);
    for day in 0..90 {
        let t = start() + Days::days(day) + Days::hours(12);
        for _ in 0..100_000 {
            marks.push(("user:active", (rng.next() % 10_000_000) as u32, t));
        }
    }
    marks
}

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = query(con, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{field} not in INFO {section}"))
}

fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

/// `redis-benchmark` SETBIT on random keys among 1,000 (offsets cannot be random: it pads
/// `__rand_int__` with zeros, which Redis refuses as an offset); requests per second.
fn setbit_rps(port: u16, pipeline: u32, requests: u32) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-n", &requests.to_string(), "-P", &pipeline.to_string()])
        .args(["-c", "50", "-r", "1000", "--csv"])
        .args(["setbit", "bm:__rand_int__", "100000", "1"])
        .output()
        .expect("run redis-benchmark (apt-get install -y redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.starts_with("\"setbit"))
        .find_map(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no rps in redis-benchmark output:\n{text}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn throughput() {
    println!("\n## SETBIT throughput (redis-benchmark, 50 clients, 1,000 random keys)\n");
    println!("| mode | redis-server | bitmapist-server | ratio |");
    println!("|---|---|---|---|");
    let redis = RedisServer::start();
    let ours = Server::start(&[]);
    for (label, pipeline, requests) in [("`-P 64`", 64, 4_000_000), ("no pipelining", 1, 300_000)] {
        let (mut theirs, mut mine) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            theirs.push(setbit_rps(redis.port(), pipeline, requests));
            mine.push(setbit_rps(ours.port(), pipeline, requests));
        }
        let (t, m) = (median(theirs), median(mine));
        println!(
            "| {label} | {:.0} req/s | {:.0} req/s | {:.0}% |",
            t,
            m,
            100.0 * m / t
        );
    }
}

fn load(rt: &tokio::runtime::Runtime, url: &str, marks: &[Mark]) -> Duration {
    let started = Instant::now();
    rt.block_on(async {
        let bm = Bitmapist::open(url).await.expect("connect");
        for chunk in marks.chunks(250_000) {
            bm.mark_events(chunk.iter().copied(), MarkOptions::default())
                .await
                .expect("mark_events");
        }
    });
    started.elapsed()
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn dataset(rt: &tokio::runtime::Runtime, name: &str, marks: &[Mark]) {
    let redis = RedisServer::start();
    let bak = tempfile::tempdir().expect("tempdir");
    let bak_file = bak.path().join("copy.db");
    let bak_arg = bak_file.display().to_string();
    let ours = Server::start(&["-idle", "15s", "-bak", &bak_arg]);
    let mut rcon = redis.raw_connection();
    let mut ocon = ours.con();
    let redis_pid: u32 = info_field(&mut rcon, "server", "process_id")
        .parse()
        .expect("pid");
    let our_pid = ours.pid();
    let (redis_empty, our_empty) = (rss_bytes(redis_pid), rss_bytes(our_pid));
    let t_redis = load(rt, &redis.url(), marks);
    let t_ours = load(rt, &ours.url(), marks);

    let keys: i64 = query(&mut rcon, &["DBSIZE"]);
    assert_eq!(keys, query::<i64>(&mut ocon, &["DBSIZE"]), "same key count");
    let all: Vec<String> = query(&mut rcon, &["KEYS", "*"]);
    for key in all.iter().step_by((all.len() / 20).max(1)) {
        let a: i64 = query(&mut rcon, &["BITCOUNT", key]);
        let b: i64 = query(&mut ocon, &["BITCOUNT", key]);
        assert_eq!(a, b, "BITCOUNT {key}");
    }

    let _: () = query(&mut rcon, &["SAVE"]);
    let _: String = query(&mut ocon, &["BGSAVE"]);
    let redis_disk = file_size(&redis.dir().join("dump.rdb"));
    let our_disk = file_size(&ours.db());
    let our_copy = file_size(&bak_file);
    let redis_rss = rss_bytes(redis_pid);
    let our_rss = rss_bytes(our_pid);
    let used: String = info_field(&mut rcon, "memory", "used_memory");
    let used: u64 = used.parse().expect("used_memory");

    let deadline = Instant::now() + Duration::from_secs(120);
    while info_field(&mut ocon, "keys", "keys_cached") != "0" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(20));
    let our_idle_rss = rss_bytes(our_pid);

    println!(
        "\n## Dataset: {name} ({} marks, {keys} keys)\n",
        marks.len()
    );
    println!("| | redis-server | bitmapist-server | ours / Redis |");
    println!("|---|---|---|---|");
    println!(
        "| load time (same client code) | {:.1} s | {:.1} s | |",
        t_redis.as_secs_f64(),
        t_ours.as_secs_f64()
    );
    println!(
        "| RSS, empty | {} | {} | |",
        mib(redis_empty),
        mib(our_empty)
    );
    println!(
        "| RSS, loaded, every bitmap in memory | {} (used_memory {}) | {} | {:.2} |",
        mib(redis_rss),
        mib(used),
        mib(our_rss),
        our_rss as f64 / redis_rss as f64
    );
    println!(
        "| RSS, after idle eviction | {} (never evicts) | {} | {:.2} |",
        mib(redis_rss),
        mib(our_idle_rss),
        our_idle_rss as f64 / redis_rss as f64
    );
    println!(
        "| on disk after SAVE / BGSAVE | {} (dump.rdb) | {} (live redb file) | {:.2} |",
        mib(redis_disk),
        mib(our_disk),
        our_disk as f64 / redis_disk as f64
    );
    println!(
        "| a consistent copy (`-bak`) | | {} | {:.2} |",
        mib(our_copy),
        our_copy as f64 / redis_disk as f64
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // BITMAPIST_BENCH=throughput|seed|sparse runs one part only.
    let only = std::env::var("BITMAPIST_BENCH").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only == part;
    if run("throughput") {
        throughput();
    }
    if run("seed") {
        dataset(&rt, "seed, 100,000 users over 60 days", &seed());
    }
    if run("sparse") {
        dataset(
            &rt,
            "sparse, 1% of 0..10,000,000 active per day over 90 days",
            &sparse(),
        );
    }
}
