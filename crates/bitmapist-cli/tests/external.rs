//! `bitmapist mark --external`, `ids --external` and `resolve` as processes, on the
//! embedded file and on a real redis-server: outputs checked against the engine's map.

use crate::common::{Run, succeed};

use bitmapist_test_support::redis_server;

use std::path::Path;

use redis_server::RedisServer;
use serde_json::{Value, json};

const AT: &str = "2026-11-22T18:00:00Z";

/// Runs `bitmapist --store URL ARGS` in `dir`.
fn run(dir: &Path, url: &str, args: &[&str]) -> Run {
    crate::common::run(dir, &[&["--store", url], args].concat())
}

/// [`run`], required to succeed; its stdout.
fn stdout(dir: &Path, url: &str, args: &[&str]) -> String {
    succeed(dir, &[&["--store", url], args].concat()).stdout
}

fn external_commands(dir: &Path, url: &str) {
    let uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    stdout(
        dir,
        url,
        &[
            "mark",
            "user:logged_in",
            "--at",
            AT,
            "--external",
            "alice",
            uuid,
            "-42",
        ],
    );
    // Again: the same ids, nothing new assigned.
    stdout(
        dir,
        url,
        &["mark", "user:logged_in", "--at", AT, "--external", uuid],
    );
    stdout(dir, url, &["mark", "user:logged_in", "--at", AT, "7"]);
    let day = ["ids", "user:logged_in", "--period", "day", "--at", AT];
    assert_eq!(stdout(dir, url, &day), "1\n2\n3\n7\n");
    let mut ext = day.to_vec();
    ext.push("--external");
    assert_eq!(stdout(dir, url, &ext), format!("alice\n{uuid}\n-42\n#7\n"));
    let mut ext_json = ext.clone();
    ext_json.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(dir, url, &ext_json)).expect("json");
    assert_eq!(v, json!(["alice", uuid, "-42", null]));

    assert_eq!(
        stdout(dir, url, &["resolve", "2", "1", "99"]),
        format!("2\t{uuid}\n1\talice\n99\t\n")
    );
    let v: Value = serde_json::from_str(&stdout(
        dir,
        url,
        &["resolve", "1", "99", "--format", "json"],
    ))
    .expect("json");
    assert_eq!(v, json!({"1": "alice", "99": null}));

    // Unmark by external id; an unknown one clears and assigns nothing.
    stdout(
        dir,
        url,
        &[
            "unmark",
            "user:logged_in",
            "--at",
            AT,
            "--external",
            "alice",
            "nobody",
        ],
    );
    assert_eq!(stdout(dir, url, &ext), format!("{uuid}\n-42\n#7\n"));
    assert_eq!(stdout(dir, url, &["resolve", "4"]), "4\t\n");

    // Bad input: exit code 2 and one error line naming the problem.
    let long = "x".repeat(513);
    let r = run(
        dir,
        url,
        &["mark", "user:logged_in", "--at", AT, "--external", &long],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("external id"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let r = run(
        dir,
        url,
        &["mark", "user:logged_in", "5", "--external", "bob"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(dir, url, &["resolve", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn on_the_embedded_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("data.redb").display());
    external_commands(dir.path(), &url);
}

#[test]
fn on_redis() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    external_commands(dir.path(), &server.url());
}
