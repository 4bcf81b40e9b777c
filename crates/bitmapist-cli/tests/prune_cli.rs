//! `bitmapist prune` against the real binary, on a file store and a real redis-server: the
//! dry run reports what a model of the policy selects and deletes nothing, `--apply`
//! deletes exactly that, `BITMAPIST_KEEP` is the default policy, bad input exits 2 naming
//! the problem.

use crate::common::{run, run_env};

use std::collections::BTreeSet;
use std::path::Path;

use bitmapist::{Bitmapist, MarkOptions};
use bitmapist_test_support::redis_server::RedisServer;
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// Marks `a` at 11:30 on each of the 40 days up to `now()`, hourly; the day keys the
/// policy `day:10d` drops (the model: days before Nov 12).
fn fill(url: &str) -> BTreeSet<String> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let bm = Bitmapist::open(url).await.expect("open");
        let mut dropped = BTreeSet::new();
        let marks: Vec<_> = (0..40)
            .map(|back| {
                let at = now() - Duration::days(back) - Duration::minutes(30);
                let d = at.date_naive();
                if back > 10 {
                    dropped.insert(format!("trackist_a_{}-{}-{}", d.year(), d.month(), d.day()));
                }
                ("a", u32::try_from(back).expect("small"), at)
            })
            .collect();
        let opts = MarkOptions {
            hourly: Some(true),
            unique: None,
        };
        bm.mark_events(marks, opts).await.expect("mark");
        bm.flush().await.expect("flush");
        dropped
    })
}

fn keys(url: &str) -> BTreeSet<String> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = bitmapist::open_store(url).await.expect("open");
        store
            .keys("trackist_")
            .await
            .expect("keys")
            .into_iter()
            .collect()
    })
}

fn prune_as_the_model_says(dir: &Path, url: &str) {
    let dropped = fill(url);
    let before = keys(url);
    let store = format!("--store={url}");
    let at = "--now=2026-11-22T12:00:00Z";
    let dry = run(
        dir,
        &[&store, "prune", "--keep", "day:10d", at, "--format", "json"],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let doc: Value = serde_json::from_str(&dry.stdout).expect("json");
    assert_eq!(doc["keys"], dropped.len() as u64, "{doc}");
    assert_eq!(doc["applied"], false);
    assert_eq!(doc["groups"][0]["oldest_kept"], "2026-11-12");
    assert!(doc["bytes"].as_u64().expect("bytes") > 0);
    assert_eq!(keys(url), before, "a dry run deletes nothing");

    let table = run(dir, &[&store, "prune", "--keep", "day:10d", at]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("dry run"), "{}", table.stdout);
    assert!(table.stdout.contains("2026-11-12"), "{}", table.stdout);

    // BITMAPIST_KEEP is the default policy.
    let applied = run_env(
        dir,
        &[&store, "prune", at, "--apply", "--batch", "7"],
        &[("BITMAPIST_KEEP", "day:10d")],
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied
            .stdout
            .contains(&format!("deleted {} keys", dropped.len())),
        "{}",
        applied.stdout
    );
    assert!(
        applied.stdout.contains("day:2026-11-12"),
        "{}",
        applied.stdout
    );
    let after = keys(url);
    let expected: BTreeSet<String> = before.difference(&dropped).cloned().collect();
    assert_eq!(after, expected);
}

#[test]
fn prune_on_a_file_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("s.redb").display());
    prune_as_the_model_says(dir.path(), &url);
}

#[test]
fn prune_on_redis() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    prune_as_the_model_says(dir.path(), &server.url());
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("s.redb").display());
    fill(&url);
    let before = keys(&url);
    let store = format!("--store={url}");
    for (args, needle) in [
        (vec!["prune", "--keep", "hour:7"], "unit"),
        (vec!["prune", "--keep", "year:2y"], "name month"),
        (vec!["prune", "--keep", ""], "names no time group"),
        (vec!["prune", "--keep", "day:7d", "--batch", "0"], "batch"),
        (vec!["prune"], "no retention policy"),
    ] {
        let mut all = vec![store.as_str()];
        all.extend(&args);
        let r = run(dir.path(), &all);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    let r = run_env(
        dir.path(),
        &[&store, "prune"],
        &[("BITMAPIST_KEEP", "day:x")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("BITMAPIST_KEEP"), "{}", r.stderr);
    let missing = format!("--store=file://{}", dir.path().join("nope.redb").display());
    let r = run(
        dir.path(),
        &[&missing, "prune", "--keep", "day:7d", "--apply"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert!(!dir.path().join("nope.redb").exists());
    assert_eq!(keys(&url), before, "nothing was deleted");
}
