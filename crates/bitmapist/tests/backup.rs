//! Backups of a live embedded store, made while a separate process keeps marking: the copy
//! holds exactly one commit of the writer (every bitmap equal to an independent model of the
//! writer's first `k` write calls, for one `k` between what was committed before the backup
//! and what was written in all), a restore of it opens and keeps working, and kill -9 of the
//! writer during a backup leaves the source whole and no partial file at the destination.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bitmapist::{
    BACKUP_TAKE_TIMEOUT, EmbeddedOptions, EmbeddedStore, Error, KeyWrite, ReadOnlyEmbeddedStore,
    Store, backup_file,
};

/// The store file of the marking child.
const CHILD_FILE: &str = "BITMAPIST_BACKUP_TEST_FILE";
/// How many large prefilled keys the child writes before marking (0: none).
const CHILD_PREFILL: &str = "BITMAPIST_BACKUP_TEST_PREFILL";
/// The child stops when this file exists.
const CHILD_STOP: &str = "BITMAPIST_BACKUP_TEST_STOP";

/// Ids per prefilled key.
const PREFILL_IDS: u32 = 40_000;

/// A bijection of u32 (odd multiplier): scatters ids over the whole range.
fn scatter(i: u32) -> u32 {
    i.wrapping_mul(2_654_435_761)
}

/// The writes of call `i` of the marking child: one `write` call, so a commit holds all of
/// it or none.
fn marks(i: u32) -> Vec<KeyWrite> {
    let mut writes = vec![
        KeyWrite::set("a".into(), i),
        KeyWrite::set("b".into(), scatter(i)),
        KeyWrite::set(format!("c:{}", i % 10), i),
    ];
    if i > 0 {
        writes.push(KeyWrite {
            key: "flip".into(),
            value: false,
            offsets: vec![i - 1],
        });
    }
    writes.push(KeyWrite::set("flip".into(), i));
    writes
}

fn prefill_key(n: u32) -> (String, Vec<u32>) {
    let ids = (0..PREFILL_IDS).map(|x| scatter(x * 1_000 + n)).collect();
    (format!("big:{n}"), ids)
}

/// The model: every key and its ids after the prefill and the first `k` calls of `marks`.
fn model(prefill: u32, k: u32) -> BTreeMap<String, BTreeSet<u32>> {
    let mut m: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for n in 0..prefill {
        let (key, ids) = prefill_key(n);
        m.entry(key).or_default().extend(ids);
    }
    for i in 0..k {
        for w in marks(i) {
            let set = m.entry(w.key).or_default();
            for o in w.offsets {
                if w.value {
                    set.insert(o);
                } else {
                    set.remove(&o);
                }
            }
        }
    }
    m
}

/// Every key of `store` and its ids.
async fn contents(store: &dyn Store) -> BTreeMap<String, BTreeSet<u32>> {
    let keys = store.keys("").await.expect("keys");
    let values = store.get(&keys).await.expect("get");
    keys.into_iter()
        .zip(values)
        .map(|(k, v)| (k, v.expect("listed key exists").iter().collect()))
        .collect()
}

/// Checks that `store` holds exactly the model of some `k` in `lo..=hi`; that `k`.
async fn one_commit(store: &dyn Store, prefill: u32, lo: u32, hi: u32) -> u32 {
    let got = contents(store).await;
    let k = u32::try_from(got.get("a").map_or(0, BTreeSet::len)).expect("count");
    assert!(
        (lo..=hi).contains(&k),
        "the copy holds {k} marks, outside {lo}..={hi}"
    );
    let want = model(prefill, k);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "keys of the copy at {k} marks"
    );
    for (key, ids) in &want {
        assert!(
            got[key] == *ids,
            "key {key} differs from the model at {k} marks"
        );
    }
    k
}

fn options(flush_ms: u64) -> EmbeddedOptions {
    EmbeddedOptions {
        flush_interval: Duration::from_millis(flush_ms),
        idle_eviction: None,
    }
}

// ---------------------------------------------------------------------------------------
// The marking child.

#[test]
#[ignore = "child process of the backup tests"]
fn marking_child() {
    let Some(path) = std::env::var_os(CHILD_FILE).map(PathBuf::from) else {
        return;
    };
    let prefill: u32 = std::env::var(CHILD_PREFILL)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stop = PathBuf::from(std::env::var_os(CHILD_STOP).expect("stop file"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = EmbeddedStore::open(&path, options(50)).expect("open");
        if prefill > 0 && store.keys("big:").await.expect("keys").is_empty() {
            for n in 0..prefill {
                let (key, ids) = prefill_key(n);
                store
                    .write(&[KeyWrite {
                        key,
                        value: true,
                        offsets: ids,
                    }])
                    .await
                    .expect("prefill");
            }
            store.flush().await.expect("flush");
        }
        // Resume after the marks already in the file (a restarted child).
        let start = store.count(&["a".into()]).await.expect("count")[0];
        let start = u32::try_from(start).expect("count");
        println!("READY {start}");
        let mut i = start;
        loop {
            store.write(&marks(i)).await.expect("write");
            i += 1;
            if i % 64 == 0 {
                store.flush().await.expect("flush");
                println!("COMMITTED {i}");
                if stop.exists() {
                    break;
                }
            }
        }
        drop(store);
        println!("DONE {i}");
    });
}

/// Starts the marking child on `file`, with its stdout lines sent to the receiver.
fn spawn_child(file: &Path, prefill: u32, stop: &Path) -> (Child, Receiver<String>) {
    let mut child = common::child_test(module_path!(), "marking_child")
        .env(CHILD_FILE, file)
        .env(CHILD_PREFILL, prefill.to_string())
        .env(CHILD_STOP, stop)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the marking child");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The payload of the last line tagged `tag` (libtest may print before it on the line).
fn tagged(line: &str, tag: &str) -> Option<u32> {
    line.find(tag)
        .and_then(|at| line[at + tag.len()..].trim().parse().ok())
}

/// Reads lines until one tagged `tag` satisfies `until`; the last value of `tag` seen.
fn wait_for(rx: &Receiver<String>, tag: &str, until: impl Fn(u32) -> bool) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(v) = tagged(&line, tag)
                    && until(v)
                {
                    return v;
                }
            }
            Err(RecvTimeoutError::Timeout) => panic!("the child printed no {tag} in time"),
            Err(RecvTimeoutError::Disconnected) => panic!("the child exited before {tag}"),
        }
    }
}

/// The last `COMMITTED` value among the lines already received (`floor` if none).
fn drain_committed(rx: &Receiver<String>, floor: u32) -> u32 {
    let mut last = floor;
    while let Ok(line) = rx.try_recv() {
        if let Some(v) = tagged(&line, "COMMITTED ") {
            last = last.max(v);
        }
    }
    last
}

fn stop_child(child: &mut Child, rx: &Receiver<String>, stop: &Path) -> u32 {
    std::fs::write(stop, b"stop").expect("stop file");
    let done = wait_for(rx, "DONE ", |_| true);
    assert!(child.wait().expect("wait").success(), "the child failed");
    std::fs::remove_file(stop).expect("remove the stop file");
    done
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------

#[test]
fn backup_under_write_load_holds_one_commit_and_restores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("live.redb");
    let dest = dir.path().join("backups").join("copy.redb");
    let stop = dir.path().join("stop");
    let (mut child, rx) = spawn_child(&src, 0, &stop);
    wait_for(&rx, "READY ", |_| true);
    wait_for(&rx, "COMMITTED ", |v| v >= 3_000);

    // Two backups while the child marks: each must hold one commit, the later one at
    // least what was committed before it began.
    let mut floor = 0;
    let mut backups = Vec::new();
    for round in 0..2 {
        floor = drain_committed(&rx, floor);
        let to = dest.with_file_name(format!("copy-{round}.redb"));
        let report = backup_file(&src, &to, BACKUP_TAKE_TIMEOUT).expect("backup");
        assert!(report.by_running_process, "the live child made the copy");
        assert!(report.bytes > 0 && report.keys >= 13, "{report:?}");
        backups.push((to, floor));
        // The writer kept going: more commits after the backup.
        let after = wait_for(&rx, "COMMITTED ", |_| true);
        floor = floor.max(after);
    }
    let written = stop_child(&mut child, &rx, &stop);

    let rt = rt();
    let mut ks = Vec::new();
    for (to, committed_before) in &backups {
        assert!(
            !to.with_file_name(format!(
                ".{}.backup-tmp",
                to.file_name().expect("name").to_string_lossy()
            ))
            .exists(),
            "no temporary file left"
        );
        let copy = ReadOnlyEmbeddedStore::open(to).expect("open the backup");
        let k = rt.block_on(one_commit(&copy, 0, *committed_before, written));
        assert!(
            k < written,
            "the writer wrote after the backup ({k} of {written})"
        );
        ks.push(k);
    }
    assert!(ks[0] <= ks[1], "backups in order: {ks:?}");

    // Restore: the copy put in place of the store opens for writing and keeps marking.
    let restored = dir.path().join("restored.redb");
    std::fs::copy(&backups[1].0, &restored).expect("restore by copying");
    rt.block_on(async {
        let store = EmbeddedStore::open(&restored, options(1_000)).expect("open the restore");
        let k = one_commit(&store, 0, ks[1], ks[1]).await;
        store.write(&marks(k)).await.expect("mark the restore");
        store.flush().await.expect("flush");
        drop(store);
        let store = ReadOnlyEmbeddedStore::open(&restored).expect("reopen");
        one_commit(&store, 0, k + 1, k + 1).await;
        // The source holds every mark the child made.
        let source = ReadOnlyEmbeddedStore::open(&src).expect("open the source");
        one_commit(&source, 0, written, written).await;
    });

    // With no process holding it, the file is copied directly.
    let report = backup_file(&src, &dest, BACKUP_TAKE_TIMEOUT).expect("closed backup");
    assert!(!report.by_running_process);
    let copy = ReadOnlyEmbeddedStore::open(&dest).expect("open");
    rt.block_on(one_commit(&copy, 0, written, written));
}

#[test]
fn kill_during_backup_leaves_source_whole_and_no_partial_backup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("live.redb");
    let dest = dir.path().join("copy.redb");
    let tmp = dir.path().join(".copy.redb.backup-tmp");
    let stop = dir.path().join("stop");
    let prefill = 80;
    let rt = rt();
    let mut interrupted = 0;
    let mut committed = 0;
    let rounds = 3;
    for round in 0..rounds {
        let (mut child, rx) = spawn_child(&src, prefill, &stop);
        wait_for(&rx, "READY ", |_| true);
        committed = wait_for(&rx, "COMMITTED ", |v| v >= committed + 256);
        let (src2, dest2) = (src.clone(), dest.clone());
        let asker = std::thread::spawn(move || backup_file(&src2, &dest2, BACKUP_TAKE_TIMEOUT));
        // Kill the writer as soon as the copy is being written.
        let started = Instant::now();
        while !tmp.exists() && !asker.is_finished() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let killed_while_copying = tmp.exists();
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        committed = drain_committed(&rx, committed);
        let answer = asker.join().expect("asker");
        match answer {
            Err(Error::Io { context, .. }) => {
                assert!(context.contains("exited"), "{context}");
                assert!(!dest.exists(), "no backup appears when the holder died");
                interrupted += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => {
                // It finished first: the backup is whole.
                let copy = ReadOnlyEmbeddedStore::open(&dest).expect("open");
                rt.block_on(one_commit(&copy, prefill, 0, u32::MAX));
                std::fs::remove_file(&dest).expect("remove");
            }
        }
        if killed_while_copying && tmp.exists() {
            // What the copy left is refused, or (killed after its commit, before the
            // rename) a whole copy.
            match ReadOnlyEmbeddedStore::open(&tmp) {
                Err(_) => {}
                Ok(copy) => {
                    rt.block_on(one_commit(&copy, prefill, 0, u32::MAX));
                }
            }
        }
        // So that the next round sees its own copy appear (the last leftover stays, for
        // the backup below to remove).
        if round + 1 < rounds && tmp.exists() {
            std::fs::remove_file(&tmp).expect("remove the leftover");
        }
        // The source after kill -9: every commit the child reported, all prefilled keys.
        let store = EmbeddedStore::open(&src, options(1_000)).expect("reopen the source");
        committed = rt.block_on(one_commit(&store, prefill, committed, u32::MAX));
        drop(store);
    }
    assert!(
        interrupted >= 1,
        "no backup was interrupted by the kill (the copy was too fast to catch)"
    );

    // The next backup replaces any leftover and is whole.
    backup_file(&src, &dest, BACKUP_TAKE_TIMEOUT).expect("backup after the crashes");
    assert!(
        !tmp.exists(),
        "the leftover of the interrupted backup is gone"
    );
    let copy = ReadOnlyEmbeddedStore::open(&dest).expect("open");
    rt.block_on(one_commit(&copy, prefill, committed, committed));
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("s.redb");
    let missing = backup_file(&src, &dir.path().join("c.redb"), BACKUP_TAKE_TIMEOUT)
        .expect_err("no store file");
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    drop(EmbeddedStore::open(&src, options(1_000)).expect("create"));
    let same = backup_file(&src, &src, BACKUP_TAKE_TIMEOUT).expect_err("onto itself");
    assert!(same.to_string().contains("is the store itself"), "{same}");
}
