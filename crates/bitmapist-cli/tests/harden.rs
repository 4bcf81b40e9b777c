//! Hostile input to the `bitmapist` binary: event names with terminal escapes
//! and huge lengths in tables, cohort sizes past the cap, a store file the process may not
//! write, and `serve` against clients that send headers slowly or nothing at all.

use crate::common::{run, succeed};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const AT: &str = "2026-11-22T12:00:00Z";

#[test]
fn tables_escape_names_and_json_csv_stay_exact() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    let store = "--store=file://./s.redb";
    let evil = "paint\x1b[2J\x1b]0;pwned\x07\r\nfake row";
    let long = format!("long:{}", "x".repeat(10_000));
    for name in [evil, long.as_str(), "plain"] {
        succeed(d, &[store, "mark", name, "1", "--at", AT]);
    }
    let table = succeed(d, &[store, "events", "--at", AT]).stdout;
    assert!(
        !table.contains('\x1b') && !table.contains('\x07') && !table.contains('\r'),
        "raw control characters in the table: {table:?}"
    );
    // Header, rule, three events: a CR/LF in a name adds no line.
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(table.contains("paint\\u{1b}[2J"), "{table}");
    assert!(
        table.lines().all(|l| l.chars().count() < 200),
        "a 10 KB name widened the table:\n{table}"
    );
    // JSON keeps every byte of every name.
    let json: Value = serde_json::from_str(
        &succeed(d, &[store, "events", "--at", AT, "--format", "json"]).stdout,
    )
    .expect("JSON");
    let names: Vec<&str> = json["events"]
        .as_array()
        .expect("a list of events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        names.contains(&evil) && names.contains(&long.as_str()),
        "{names:?}"
    );
    let csv = succeed(d, &[store, "events", "--at", AT, "--format", "csv"]).stdout;
    assert!(csv.contains(&format!("\"{evil}\"")), "{csv:?}");
    assert!(csv.contains(&long));
}

#[test]
fn cohort_sizes_are_capped_as_on_the_dashboard() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    for (flag, n) in [("--rows", "401"), ("--cols", "10000")] {
        let r = run(d, &["--store=memory://", "cohort", "a", "b", flag, n]);
        assert_eq!(r.code, 2, "{flag} {n}: {}", r.stderr);
        assert!(r.stderr.contains("1..=400"), "{flag} {n}: {}", r.stderr);
    }
    let r = succeed(
        d,
        &[
            "--store=memory://",
            "cohort",
            "a",
            "b",
            "--rows",
            "400",
            "--cols",
            "400",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["labels"].as_array().map(Vec::len), Some(400));
}

/// `chattr +i` on a file, undone on drop (root ignores mode bits, not the immutable flag).
struct Immutable<'a>(&'a Path);

impl<'a> Immutable<'a> {
    fn set(path: &'a Path) -> Option<Self> {
        let status = Command::new("chattr").arg("+i").arg(path).status().ok()?;
        status.success().then_some(Immutable(path))
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

#[test]
fn a_store_file_that_cannot_be_written_is_read() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    let store = "--store=file://./ro.redb";
    for (event, uid) in [("signup", "1"), ("signup", "2"), ("active", "2")] {
        succeed(d, &[store, "mark", event, uid, "--at", AT]);
    }
    let file = d.join("ro.redb");
    let before = std::fs::read(&file).expect("read the store");
    let Some(_guard) = Immutable::set(&file) else {
        panic!(
            "chattr +i failed on {}: this test needs a filesystem with the immutable flag \
             (ext4, xfs, btrfs) and CAP_LINUX_IMMUTABLE",
            file.display()
        );
    };
    let events: Value = serde_json::from_str(
        &succeed(d, &[store, "events", "--at", AT, "--format", "json"]).stdout,
    )
    .expect("JSON");
    assert_eq!(events["events"][0]["event"], "active");
    assert_eq!(events["events"][1]["today"], 2);
    let count = succeed(d, &[store, "count", "signup", "--at", AT]);
    assert_eq!(count.stdout.trim(), "2");
    succeed(
        d,
        &[
            store, "cohort", "signup", "active", "--now", AT, "--format", "json",
        ],
    );
    // A write fails with a message, and the file is as it was.
    let r = run(d, &[store, "mark", "signup", "3", "--at", AT]);
    assert_ne!(r.code, 0);
    assert!(!r.stderr.is_empty());
    drop(_guard);
    assert_eq!(std::fs::read(&file).expect("read the store"), before);
}

/// A running `bitmapist serve`, killed on drop.
struct Serve {
    child: Child,
    port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn serve(dir: &Path, extra: &[&str]) -> Serve {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .args(["--store=memory://", "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bitmapist serve");
    let s = Serve { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "bitmapist serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

/// Whether the server closes `stream` (EOF or reset) before `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or similar before the close is fine
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn serve_closes_slow_and_idle_connections() {
    let dir = TempDir::new().expect("tempdir");
    let s = serve(dir.path(), &["--header-timeout", "1"]);
    // Half-sent headers.
    let mut slow = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    slow.write_all(b"GET /bitmapist/api HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .expect("write");
    // Nothing sent at all.
    let mut silent = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    // A kept-alive connection after a complete request.
    let mut idle = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    idle.write_all(b"GET /bitmapist/api HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200");
    // Generous bounds: this is about closing at all, not about when.
    for (name, stream) in [
        ("slow", &mut slow),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        assert!(
            closed_by_server(stream, Duration::from_secs(30)),
            "the {name} connection was left open"
        );
    }
    // And the server still answers.
    let mut fresh = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    fresh
        .write_all(b"GET /bitmapist/api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    fresh.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
