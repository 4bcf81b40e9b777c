//! `bitmapist backup` and `bitmapist check` as processes: a backup served by a running
//! `bitmapist serve` holding the store, one made directly when nothing holds it, both
//! compared key by key with what was written; `check` accepting the copy and refusing a
//! file that is not a whole store; bad requests refused with exit 2 and the reason.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::parse_json;
use crate::common::run;
use bitmapist::{EmbeddedOptions, EmbeddedStore, Error, KeyWrite, ReadOnlyEmbeddedStore, Store};

/// The keys written: a few bitmaps of different shapes (dense, scattered, a single bit).
fn model() -> BTreeMap<String, Vec<u32>> {
    let mut m = BTreeMap::new();
    m.insert("trackist_dense_2026-11".into(), (0..50_000).collect());
    m.insert(
        "trackist_scattered_2026-11-22".into(),
        (0..5_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect(),
    );
    m.insert("trackist_one_W2026-47".into(), vec![7]);
    m
}

fn write_store(path: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = EmbeddedStore::open(path, EmbeddedOptions::default()).expect("create");
        let writes: Vec<KeyWrite> = model()
            .into_iter()
            .map(|(key, offsets)| KeyWrite {
                key,
                value: true,
                offsets,
            })
            .collect();
        store.write(&writes).await.expect("write");
        store.flush().await.expect("flush");
    });
}

fn assert_holds_model(path: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = ReadOnlyEmbeddedStore::open(path).expect("open the copy");
    let got: BTreeMap<String, Vec<u32>> = rt.block_on(async {
        let keys = store.keys("").await.expect("keys");
        let values = store.get(&keys).await.expect("get");
        keys.into_iter()
            .zip(values)
            .map(|(k, v)| (k, v.expect("exists").iter().collect()))
            .collect()
    });
    let mut want = model();
    for ids in want.values_mut() {
        ids.sort_unstable();
    }
    assert_eq!(got, want, "the copy holds what was written");
}

/// `bitmapist serve` holding `url`'s file, started once the file is held.
fn serve(dir: &Path, url: &str, file: &Path) -> Child {
    let port = bitmapist_test_support::redis_server::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .args([
            "--store",
            url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn serve");
    let started = Instant::now();
    while !matches!(
        ReadOnlyEmbeddedStore::open(file),
        Err(Error::AlreadyOpen { .. })
    ) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not open the store"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn backup_by_the_running_process_and_directly_then_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let file = d.join("live.redb");
    write_store(&file);
    let url = format!("file://{}", file.display());

    let mut server = serve(d, &url, &file);
    let r = run(
        d,
        &[
            "--store",
            &url,
            "backup",
            "--to",
            "copies/one.redb",
            "--verify",
            "--format",
            "json",
        ],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = parse_json(&r.stdout);
    assert_eq!(out["backup"]["by_running_process"], true, "{out}");
    assert_eq!(out["backup"]["keys"], 3, "{out}");
    assert_eq!(out["verified"]["keys"], 3, "{out}");
    assert_eq!(out["verified"]["corrupt_keys"], 0, "{out}");
    assert_holds_model(&d.join("copies/one.redb"));

    // Nothing holds the file now (serve was killed: not closed cleanly): copied directly.
    let r = run(d, &["--store", &url, "backup", "--to", "two.redb"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("3 keys") && r.stdout.contains("no process held the store"),
        "{}",
        r.stdout
    );
    assert_holds_model(&d.join("two.redb"));

    let r = run(d, &["--store", "file://two.redb", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("every bitmap decodes"), "{}", r.stdout);
    assert!(r.stdout.contains("3 keys"), "{}", r.stdout);

    // A file that is not a whole store is refused (exit 1, the reason named).
    std::fs::write(d.join("junk.redb"), vec![0x5a; 8192]).expect("junk");
    let r = run(d, &["--store", "file://junk.redb", "check"]);
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("junk.redb"), "{}", r.stderr);
}

#[test]
fn bad_backup_requests_exit_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let (code, stdout, stderr) =
        run(d, &["--store", "memory://", "backup", "--to", "x.redb"]).parts();
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(stderr.contains("file:// store"), "{stderr}");
    let r = run(
        d,
        &["--store", "file://missing.redb", "backup", "--to", "x.redb"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
    assert!(!d.join("missing.redb").exists(), "nothing created");
    let r = run(d, &["--store", "file://missing.redb", "check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    write_store(&d.join("s.redb"));
    let r = run(
        d,
        &["--store", "file://s.redb", "backup", "--to", "./s.redb"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is the store itself"), "{}", r.stderr);
    let r = run(d, &["--store", "file://s.redb", "backup"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--to"), "{}", r.stderr);
    assert_holds_model(&d.join("s.redb"));
}
