//! Acceptance with the real client operators run: Debian's `prometheus-redis-exporter`
//! scrapes our server and a real redis-server 7 side by side; the series a Redis dashboard
//! needs exist for both under the same names, and they move with the commands sent.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{RedisServer, Server, free_port};

/// The exporter binary of Debian's package.
const EXPORTER: &str = "/usr/bin/prometheus-redis-exporter";

/// Series (name and labels, as the exporter writes them) a Redis dashboard reads: commands
/// processed, per-command calls and durations, clients, memory, keys per db, last save,
/// uptime.
const REQUIRED: &[&str] = &[
    "redis_up",
    "redis_commands_processed_total",
    "redis_commands_total{cmd=\"setbit\"}",
    "redis_commands_duration_seconds_total{cmd=\"setbit\"}",
    "redis_connected_clients",
    "redis_memory_used_bytes",
    "redis_memory_used_rss_bytes",
    "redis_db_keys{db=\"db0\"}",
    "redis_rdb_last_save_timestamp_seconds",
    "redis_uptime_in_seconds",
    "redis_keyspace_hits_total",
    "redis_net_input_bytes_total",
    "redis_latency_percentiles_usec{cmd=\"setbit\",quantile=\"99\"}",
    "redis_slowlog_length",
];

/// A running exporter, killed on drop.
struct Exporter {
    child: Child,
    port: u16,
}

impl Exporter {
    fn start(redis_port: u16) -> Self {
        assert!(
            PathBuf::from(EXPORTER).is_file(),
            "{EXPORTER} is missing: apt-get install -y prometheus-redis-exporter"
        );
        let port = free_port();
        let child = Command::new(EXPORTER)
            .arg("-redis.addr")
            .arg(format!("redis://127.0.0.1:{redis_port}"))
            .arg("-web.listen-address")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-redis-exporter");
        let exporter = Exporter { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the exporter did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    /// One scrape: series (with labels) -> value.
    fn scrape(&self) -> BTreeMap<String, f64> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("response");
        body.lines()
            .filter(|l| l.starts_with("redis_"))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                Some((series.to_string(), value.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setbits(con: &mut redis::Connection, n: u32) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SETBIT").arg("users").arg(i * 7).arg(1).ignore();
    }
    pipe.query::<()>(con).expect("SETBIT");
}

#[test]
fn exporter_reads_the_same_series_from_both_servers() {
    let ours = Server::start(&[]);
    let redis = RedisServer::start();
    let mut a = ours.con();
    let mut b = redis.raw_connection();
    setbits(&mut a, 10);
    setbits(&mut b, 10);
    let (ea, eb) = (Exporter::start(ours.port()), Exporter::start(redis.port()));
    let (before_a, before_b) = (ea.scrape(), eb.scrape());
    for series in REQUIRED {
        assert!(before_b.contains_key(*series), "redis-server: no {series}");
        assert!(before_a.contains_key(*series), "ours: no {series}");
    }
    assert_eq!(before_a["redis_up"], 1.0);
    assert_eq!(before_a["redis_db_keys{db=\"db0\"}"], 1.0);

    // Values move: N more SETBITs are N more calls on both.
    const N: u32 = 250;
    setbits(&mut a, N);
    setbits(&mut b, N);
    let (after_a, after_b) = (ea.scrape(), eb.scrape());
    let calls = "redis_commands_total{cmd=\"setbit\"}";
    for (name, before, after) in [
        ("ours", &before_a, &after_a),
        ("redis", &before_b, &after_b),
    ] {
        assert_eq!(after[calls] - before[calls], f64::from(N), "{name}");
        assert!(
            after["redis_commands_processed_total"] - before["redis_commands_processed_total"]
                >= f64::from(N),
            "{name}"
        );
        assert!(after["redis_net_input_bytes_total"] > before["redis_net_input_bytes_total"]);
        assert!(after["redis_memory_used_bytes"] > 0.0, "{name}");
    }
}
