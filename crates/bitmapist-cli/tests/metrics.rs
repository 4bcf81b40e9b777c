//! `bitmapist serve --metrics ADDR`, against the real binary: the dashboard's queries are
//! counted by kind in the Prometheus text the metrics listener serves; a malformed or
//! taken address is refused with a message naming it.

use crate::common::run;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STORE: &str = "--store=file://./s.redb";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `GET path`: the status line and the body.
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// The sum of `bitmapist_query_seconds_count` over every kind, and per kind.
fn query_counts(metrics_port: u16) -> HashMap<String, u64> {
    let (status, body) = get(metrics_port, "/metrics");
    assert!(status.contains("200"), "scrape: {status}");
    body.lines()
        .filter_map(|l| l.strip_prefix("bitmapist_query_seconds_count{kind=\""))
        .filter_map(|l| {
            let (kind, rest) = l.split_once("\"}")?;
            Some((kind.to_string(), rest.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

#[test]
fn serve_publishes_the_dashboards_queries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for (event, uid) in [("signup", "1"), ("signup", "2"), ("active", "2")] {
        let r = run(d, &[STORE, "mark", event, uid]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .args([STORE, "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--metrics")
        .arg(format!("127.0.0.1:{metrics_port}"))
        .current_dir(d)
        .env_remove("BITMAPIST_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bitmapist serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "serve exited before listening"
        );
        assert!(Instant::now() < deadline, "bitmapist serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let before = query_counts(metrics_port);
    let pages = [
        "/bitmapist/",
        "/bitmapist/api/cohort?primary_event=signup&secondary_event=active",
        "/bitmapist/api/funnel?step=signup&step=active",
    ];
    for page in pages {
        let (status, _) = get(port, page);
        assert!(status.contains("200"), "{page}: {status}");
    }
    let after = query_counts(metrics_port);
    let _ = child.kill();
    let _ = child.wait();

    let grew =
        |kind: &str| after.get(kind).copied().unwrap_or(0) > before.get(kind).copied().unwrap_or(0);
    let total = |m: &HashMap<String, u64>| m.values().sum::<u64>();
    assert!(
        total(&after) >= total(&before) + pages.len() as u64,
        "each page ran at least one timed query: {before:?} -> {after:?}"
    );
    assert!(grew("cohort") || grew("retention"), "{after:?}");
    assert!(grew("funnel"), "{after:?}");
}

#[test]
fn a_bad_metrics_address_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = run(
        dir.path(),
        &["--store=memory://", "serve", "--metrics", "nowhere"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--metrics \"nowhere\""), "{}", r.stderr);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let port = free_port();
    let r = run(
        dir.path(),
        &[
            "--store=memory://",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics",
            &addr,
        ],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains(&addr), "names the address: {}", r.stderr);
}
