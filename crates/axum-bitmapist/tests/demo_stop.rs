//! The demo app as a real process, stopped the way systemd, `docker stop` and Kubernetes
//! stop it (SIGTERM): it exits 0, the marks it had queued are written, and the embedded file
//! is closed cleanly (a read-only open, which cannot repair, reads it).
//!
//! The demo binary is built by `cargo test --workspace --all-features` (examples are built
//! with the tests); alone: `cargo build -p axum-bitmapist --all-features --example demo`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, ReadOnlyEmbeddedStore};

/// `target/debug/examples/demo`, beside this test's own binary (`target/debug/deps/...`).
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let demo = dir.join("examples").join("demo");
    assert!(
        demo.is_file(),
        "{} is missing: build it with `cargo build -p axum-bitmapist --all-features --example demo` \
         (cargo test --workspace --all-features builds it)",
        demo.display()
    );
    // A binary older than its source was not rebuilt by this `cargo test` (`--test` alone
    // does not build examples): it would test old code.
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo.rs");
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    assert!(
        modified(&demo) >= modified(&source),
        "{} is older than {}: rebuild it with `cargo build -p axum-bitmapist --all-features --example demo`",
        demo.display(),
        source.display()
    );
    demo
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Sends one HTTP/1.1 request and returns the status line.
fn request(port: u16, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_demo_cleanly_with_its_marks_written() {
    let demo = demo_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let store_path = dir.path().join("demo.redb");
    let url = format!("file://{}", store_path.display());
    // A store with one event, so that the demo does not seed a year of history.
    {
        let bm = Bitmapist::open(&url).await.expect("open the store");
        bm.mark_event("seeded:before", 1).await.expect("mark");
        bm.flush().await.expect("flush");
    }

    let port = free_port();
    let mut child = Command::new(demo)
        .current_dir(dir.path())
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env(
            "DEMO_DB",
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("demo.sqlite").display()
            ),
        )
        .env("BITMAPIST_URL", &url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the demo exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "the demo did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A sign-up: the ORM hook, the direct call and login tracking queue marks.
    let status = request(port, "POST /signup HTTP/1.1", "username=ada&password=pw");
    assert!(
        status.starts_with("HTTP/1.1 2") || status.starts_with("HTTP/1.1 3"),
        "sign-up answered {status:?}"
    );

    // The shell's built-in `kill`: no procps needed.
    let sent = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status()
        .expect("sh -c kill -TERM");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM must stop the demo with exit 0, got {status}\n{stderr}"
    );

    // Closed cleanly: a read-only open (which cannot repair) reads it, with the queued marks.
    let ro = ReadOnlyEmbeddedStore::open(&store_path).expect("open the demo's store read-only");
    let bm = Bitmapist::builder()
        .store(Arc::new(ro))
        .open()
        .await
        .expect("open read-only");
    let names = bm.event_names(None).await.expect("event names");
    for event in ["seeded:before", "user:signed_up", "user:created"] {
        assert!(
            names.iter().any(|n| n == event),
            "{event} missing: {names:?}"
        );
    }
}
