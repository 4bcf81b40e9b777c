//! What an operator runs into, against the real binary: `serve` stopped with SIGTERM (as
//! systemd, `docker stop` and Kubernetes stop it), a store file left unclean by kill -9,
//! a mistyped store path, ids holding control characters, and funnels or cohorts over
//! events that were never marked.

use crate::common::{run, succeed};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const AT: &str = "2026-11-22T12:00:00Z";
const STORE: &str = "--store=file://./s.redb";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `bitmapist STORE serve ARGS --listen 127.0.0.1:PORT` in `dir`, once it accepts
/// connections.
fn start_serve(dir: &Path, store: &str, args: &[&str]) -> (Child, u16) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .args([store, "serve"])
        .args(args)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .env_remove("BITMAPIST_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bitmapist serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "serve exited before listening: {status}: {}",
                stderr_of(&mut child)
            );
        }
        assert!(Instant::now() < deadline, "bitmapist serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// The status line of `GET path`.
fn get_status(port: u16, path: &str) -> String {
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
    answer.lines().next().unwrap_or_default().to_string()
}

/// Sends `signal` (`-TERM`, `-KILL`) to the child and waits at most `within` for it to end.
fn stop(child: &mut Child, signal: &str, within: Duration) -> std::process::ExitStatus {
    // The shell's built-in `kill`: no procps needed.
    let sent = Command::new("sh")
        .arg("-c")
        .arg(format!("kill {signal} {}", child.id()))
        .status()
        .expect("run sh -c kill");
    assert!(sent.success(), "kill {signal} failed");
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the process did not stop within {within:?} of kill {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mark_some(d: &Path) {
    for (event, uid) in [("signup", "1"), ("signup", "2"), ("active", "2")] {
        succeed(d, &[STORE, "mark", event, uid, "--at", AT]);
    }
}

/// The file is opened read-only whatever the process may do (immutable while the guard
/// lives), so that nothing can repair it behind the test's back.
struct Immutable<'a>(&'a Path);

impl<'a> Immutable<'a> {
    fn set(path: &'a Path) -> Immutable<'a> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "chattr +i failed on {}: this test needs e2fsprogs' chattr, a filesystem with the \
             immutable flag (ext4, xfs, btrfs) and CAP_LINUX_IMMUTABLE",
            path.display()
        );
        Immutable(path)
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

#[test]
fn sigterm_stops_serve_cleanly() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    mark_some(d);
    let (mut child, port) = start_serve(d, STORE, &[]);
    assert!(get_status(port, "/bitmapist/api").starts_with("HTTP/1.1 200"));
    let status = stop(&mut child, "-TERM", Duration::from_secs(30));
    let stderr = stderr_of(&mut child);
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM: {status}\n{stderr}"
    );

    // Closed cleanly: a read-only open that cannot repair (the file is immutable) reads
    // the data, with no note about a repair.
    let file = d.join("s.redb");
    let _guard = Immutable::set(&file);
    let r = succeed(d, &[STORE, "count", "signup", "--at", AT]);
    assert_eq!(r.stdout.trim(), "2");
    assert!(!r.stderr.contains("not closed cleanly"), "{}", r.stderr);
    let (mut ro, port) = start_serve(d, STORE, &["--read-only"]);
    assert!(get_status(port, "/bitmapist/api").starts_with("HTTP/1.1 200"));
    let status = stop(&mut ro, "-TERM", Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut ro));
}

#[test]
fn an_unclean_file_is_repaired_when_writable_and_named_when_not() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    mark_some(d);
    // kill -9 a process holding the file open for writing: redb's "not closed cleanly".
    let (mut child, _) = start_serve(d, STORE, &[]);
    let status = stop(&mut child, "-KILL", Duration::from_secs(30));
    assert_eq!(status.code(), None, "killed by the signal");
    let file = d.join("s.redb");

    // A file the process may not write: the read-only open says what happened and what
    // to run, and nothing changes.
    let before = std::fs::read(&file).expect("read the store");
    {
        let _guard = Immutable::set(&file);
        let r = run(d, &[STORE, "count", "signup", "--at", AT]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("not closed cleanly"), "{}", r.stderr);
        assert!(
            r.stderr.contains("compact"),
            "names what to run: {}",
            r.stderr
        );
        assert!(r.stderr.contains("s.redb"), "{}", r.stderr);
        assert!(
            !r.stderr.contains("Database repair aborted"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(std::fs::read(&file).expect("read"), before);

    // A file it may write: `serve --read-only` repairs it with a short writable open (a
    // note says so), then serves the data read-only.
    let (mut ro, port) = {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
            .args([STORE, "serve", "--read-only", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve --read-only");
        (child, port)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = ro.try_wait() {
            panic!(
                "serve --read-only refused the unclean file: {status}: {}",
                stderr_of(&mut ro)
            );
        }
        assert!(Instant::now() < deadline, "serve --read-only did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(get_status(port, "/bitmapist/api").starts_with("HTTP/1.1 200"));
    let status = stop(&mut ro, "-TERM", Duration::from_secs(30));
    let stderr = stderr_of(&mut ro);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("repaired"), "{stderr}");
    let r = succeed(d, &[STORE, "count", "signup", "--at", AT]);
    assert_eq!(r.stdout.trim(), "2");
}

#[test]
fn read_commands_never_create_a_store() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    mark_some(d);
    // A port in use: a serve that got past the store would fail to listen, not hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = format!("127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let typo = "--store=file://./bitmapits.redb";
    let in_missing_dir = "--store=file://./nodir/s.redb";
    for store in [typo, in_missing_dir] {
        for args in [
            vec!["events", "--at", AT],
            vec!["count", "signup", "--at", AT],
            vec!["ids", "signup", "--at", AT],
            vec!["ids", "signup", "--at", AT, "--external"],
            vec!["resolve", "1"],
            vec!["cohort", "signup", "active", "--now", AT],
            vec!["funnel", "signup", "active", "--now", AT],
            vec!["stickiness", "active", "--at", AT],
            vec!["timezone", "show"],
            vec!["import", "--to", "memory://"],
            vec!["serve", "--read-only", "--listen", &taken],
            vec!["serve", "--listen", &taken],
        ] {
            let mut all = vec![store];
            all.extend(args.iter().copied());
            let r = run(d, &all);
            assert_eq!(r.code, 2, "{all:?}: {}", r.stderr);
            assert!(r.stderr.contains("does not exist"), "{all:?}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{all:?}: {}", r.stdout);
        }
    }
    assert!(
        !d.join("bitmapits.redb").exists(),
        "the typo created a store"
    );
    assert!(!d.join("nodir").exists(), "a read created a directory");

    // A write into a missing directory is refused too (naming it), never created.
    let r = run(d, &[in_missing_dir, "mark", "signup", "3", "--at", AT]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("nodir"), "{}", r.stderr);
    assert!(!d.join("nodir").exists(), "a write created a directory");
}

#[test]
fn timezone_show_reads_a_file_it_may_not_write() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    succeed(
        d,
        &[
            STORE,
            "--timezone",
            "Europe/Berlin",
            "mark",
            "signup",
            "1",
            "--at",
            AT,
        ],
    );
    let file = d.join("s.redb");
    let before = std::fs::read(&file).expect("read");
    {
        let _guard = Immutable::set(&file);
        let r = succeed(
            d,
            &[
                STORE,
                "--timezone",
                "Europe/Berlin",
                "timezone",
                "show",
                "--format",
                "json",
            ],
        );
        let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
        assert_eq!(v["recorded"], "Europe/Berlin");
    }
    assert_eq!(std::fs::read(&file).expect("read"), before);
}

#[test]
fn ids_resolve_and_confirmations_escape_control_characters() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    let evil = "ada\nmallory\t\x1b[2J\\x";
    let event = "buy\x1b]0;t\x07";
    let r = succeed(
        d,
        &[
            STORE,
            "mark",
            event,
            "--external",
            evil,
            "--external",
            "bob",
            "--at",
            AT,
        ],
    );
    assert!(
        !r.stderr.contains('\x1b') && !r.stderr.contains('\x07'),
        "the confirmation: {:?}",
        r.stderr
    );
    assert!(r.stderr.contains("buy\\u{1b}]0;t\\u{7}"), "{:?}", r.stderr);
    let r = succeed(d, &[STORE, "mark", event, "5", "--at", AT]);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);

    let ids = succeed(d, &[STORE, "ids", event, "--at", AT, "--external"]).stdout;
    // One line per id: the newline inside an id does not make two.
    let lines: Vec<&str> = ids.lines().collect();
    assert_eq!(lines.len(), 3, "{ids:?}");
    assert!(
        lines.contains(&"ada\\nmallory\\t\\u{1b}[2J\\\\x"),
        "{ids:?}"
    );
    assert!(lines.contains(&"bob"), "{ids:?}");
    assert!(!ids.contains('\x1b') && !ids.contains('\t'), "{ids:?}");
    // JSON stays exact.
    let json: Value = serde_json::from_str(
        &succeed(
            d,
            &[
                STORE,
                "ids",
                event,
                "--at",
                AT,
                "--external",
                "--format",
                "json",
            ],
        )
        .stdout,
    )
    .expect("JSON");
    assert!(
        json.as_array()
            .expect("a list")
            .iter()
            .any(|v| v.as_str() == Some(evil)),
        "{json}"
    );

    let resolved = succeed(d, &[STORE, "resolve", "1", "2"]).stdout;
    assert_eq!(resolved.lines().count(), 2, "{resolved:?}");
    assert!(!resolved.contains('\x1b'), "{resolved:?}");
    let lines: Vec<&str> = resolved.lines().collect();
    let escaped = "ada\\nmallory\\t\\u{1b}[2J\\\\x";
    assert!(
        lines.contains(&format!("1\t{escaped}").as_str())
            || lines.contains(&format!("2\t{escaped}").as_str()),
        "{resolved:?}"
    );
    let json: Value =
        serde_json::from_str(&succeed(d, &[STORE, "resolve", "1", "2", "--format", "json"]).stdout)
            .expect("JSON");
    assert!(
        json.as_object()
            .expect("an object")
            .values()
            .any(|v| v.as_str() == Some(evil))
    );
}

#[test]
fn funnels_and_cohorts_over_unmarked_events_warn() {
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    mark_some(d);
    let quiet = succeed(
        d,
        &[
            STORE, "funnel", "signup", "active", "--now", AT, "--format", "json",
        ],
    );
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
    let typo = succeed(
        d,
        &[
            STORE, "funnel", "signup", "activ", "--now", AT, "--format", "json",
        ],
    );
    let warnings: Vec<&str> = typo
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", typo.stderr);
    assert!(warnings[0].contains("\"activ\"") && warnings[0].contains("never marked"));
    // The answer is the same as without the warning: zeros for the unknown step.
    let v: Value = serde_json::from_str(&typo.stdout).expect("JSON");
    assert_eq!(v["totals"][1], 0, "{v}");
    assert_eq!(v["totals"][0], 2, "{v}");

    let quiet = succeed(
        d,
        &[
            STORE, "cohort", "signup", "active", "--now", AT, "--format", "json",
        ],
    );
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
    let typo = succeed(
        d,
        &[
            STORE, "cohort", "sigup", "active", "--and", "nope", "--now", AT, "--format", "json",
        ],
    );
    let warnings: Vec<&str> = typo
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", typo.stderr);
    assert!(warnings[0].contains("\"sigup\""), "{}", typo.stderr);
    assert!(warnings[1].contains("\"nope\""), "{}", typo.stderr);
    let v: Value = serde_json::from_str(&typo.stdout).expect("JSON");
    assert_eq!(v["total"], 0, "{v}");
    // A table answer is unchanged too (the warnings are on stderr only).
    let table = succeed(d, &[STORE, "cohort", "sigup", "active", "--now", AT]);
    assert!(!table.stdout.contains("warning"));
}

/// The response timeout the paused-Redis test configures.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);

#[test]
fn serve_answers_503_at_once_once_a_paused_redis_timed_out() {
    let redis = bitmapist_test_support::redis_server::RedisServer::start();
    let dir = TempDir::new().expect("tempdir");
    let d = dir.path();
    let store = format!(
        "--store={}?response_timeout_ms={}",
        redis.url(),
        RESPONSE_TIMEOUT.as_millis()
    );
    succeed(d, &[&store, "mark", "signup", "1", "--at", AT]);
    let (mut child, port) = start_serve(d, &store, &[]);
    assert!(get_status(port, "/bitmapist/api/events").starts_with("HTTP/1.1 200"));

    redis.pause();
    let started = Instant::now();
    let first = get_status(port, "/bitmapist/api/events");
    let first_took = started.elapsed();
    assert!(
        first.starts_with("HTTP/1.1 503"),
        "{first:?} after {first_took:?}"
    );
    assert!(
        first_took < RESPONSE_TIMEOUT * 4,
        "the first request waited {first_took:?} (response_timeout_ms={})",
        RESPONSE_TIMEOUT.as_millis()
    );
    let started = Instant::now();
    let second = get_status(port, "/bitmapist/api/events");
    let second_took = started.elapsed();
    assert!(second.starts_with("HTTP/1.1 503"), "{second:?}");
    assert!(
        second_took < RESPONSE_TIMEOUT / 2,
        "the second request waited {second_took:?}: it should be answered at once"
    );

    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !get_status(port, "/bitmapist/api/events").starts_with("HTTP/1.1 200") {
        assert!(Instant::now() < deadline, "the dashboard never recovered");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = stop(&mut child, "-TERM", Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));
}
