//! The embedded store (`file://`): the Store contract against the memory store as a model,
//! persistence across reopen and drop, the background commit, crash safety under SIGKILL,
//! exclusive opening, and corrupt values.
//!
//! Tests that need a second process re-execute this test binary with
//! `--exact <child test> --ignored --nocapture` and [`CHILD_FILE`] naming the store's file;
//! the ignored child tests do nothing when that variable is unset.

use crate::common::{spawn_child, tagged, wait_tagged};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use std::time::Duration;

use bitmapist::{Bitmap, Error};
use bitmapist::{EmbeddedOptions, EmbeddedStore, KeyWrite, MemoryStore, Store};
use proptest::prelude::*;
use roaring::RoaringBitmap;

/// The store file a child process works on.
const CHILD_FILE: &str = "BITMAPIST_EMBEDDED_TEST_FILE";
/// The key prefix a crash child writes under (one per round).
const CHILD_PREFIX: &str = "BITMAPIST_EMBEDDED_TEST_PREFIX";

/// The redb table of bitmaps, as the store names it.
const BITMAPS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("bitmaps");
/// The redb table of file metadata, as the store names it.
const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");

fn options(flush_ms: u64) -> EmbeddedOptions {
    EmbeddedOptions {
        flush_interval: Duration::from_millis(flush_ms),
        idle_eviction: None,
    }
}

/// A commit interval so long that only `flush` and drop commit.
const NEVER: u64 = 3_600_000;

fn open(path: &Path, flush_ms: u64) -> EmbeddedStore {
    EmbeddedStore::open(path, options(flush_ms)).expect("open the store")
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn bitmap(ids: impl IntoIterator<Item = u32>, byte_len: u32) -> Bitmap {
    Bitmap::with_byte_len(ids.into_iter().collect(), byte_len)
}

fn w(key: &str, value: bool, offsets: &[u32]) -> KeyWrite {
    KeyWrite {
        key: key.to_string(),
        value,
        offsets: offsets.to_vec(),
    }
}

fn strings(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// The Store contract, against the memory store as a model.

const KEYS: [&str; 7] = ["a", "a:1", "a:2", "ab", "b:1", "b:22", "é:1"];
const PREFIXES: [&str; 8] = ["", "a", "a:", "a:1", "b", "b:2", "c", "é"];

/// A bitmap to `put`: its ids and length, or `None` for length 0 (a delete).
type PutBitmap = Option<(Vec<u32>, u32)>;

#[derive(Clone, Debug)]
enum Op {
    /// One `write` call of several key writes.
    Write(Vec<(usize, bool, Vec<u32>)>),
    /// `put` of bitmaps (`None`: length 0, a delete).
    Put(Vec<(usize, PutBitmap)>),
    Delete(Vec<usize>),
    DeletePrefix(usize),
    Flush,
    /// Drop the store and open the file again.
    Reopen,
}

fn offset() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![
        6 => 0u32..64,
        2 => 1_000u32..1_010,
        1 => Just(u32::MAX),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    let offsets = prop::collection::vec(offset(), 0..5);
    prop_oneof![
        6 => prop::collection::vec((key.clone(), any::<bool>(), offsets.clone()), 1..4)
            .prop_map(Op::Write),
        2 => prop::collection::vec(
            (key.clone(), prop::option::weighted(0.8, (offsets, 0u32..300))),
            1..3
        )
        .prop_map(Op::Put),
        1 => prop::collection::vec(key, 0..3).prop_map(Op::Delete),
        1 => (0..PREFIXES.len()).prop_map(Op::DeletePrefix),
        1 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

/// Applies `op` to both stores and checks that they agree on everything afterwards.
async fn apply_and_compare(
    op: &Op,
    slot: &mut Option<EmbeddedStore>,
    model: &MemoryStore,
    path: &Path,
    opts: &EmbeddedOptions,
) {
    if let Op::Reopen = op {
        // Drop first: the file can be open only once.
        *slot = None;
        *slot = Some(EmbeddedStore::open(path, opts.clone()).expect("reopen"));
    }
    let store = slot.as_ref().expect("open store");
    match op {
        Op::Write(writes) => {
            let writes: Vec<KeyWrite> = writes.iter().map(|(k, v, o)| w(KEYS[*k], *v, o)).collect();
            store.write(&writes).await.expect("write");
            model.write(&writes).await.expect("model write");
        }
        Op::Put(entries) => {
            let entries: Vec<(String, Bitmap)> = entries
                .iter()
                .map(|(k, b)| {
                    let b = b
                        .as_ref()
                        .map_or_else(Bitmap::new, |(ids, len)| bitmap(ids.iter().copied(), *len));
                    (KEYS[*k].to_string(), b)
                })
                .collect();
            store.put(&entries).await.expect("put");
            model.put(&entries).await.expect("model put");
        }
        Op::Delete(keys) => {
            let keys: Vec<String> = keys.iter().map(|k| KEYS[*k].to_string()).collect();
            assert_eq!(
                store.delete(&keys).await.expect("delete"),
                model.delete(&keys).await.expect("model delete"),
                "delete {keys:?}"
            );
        }
        Op::DeletePrefix(p) => {
            assert_eq!(
                store
                    .delete_prefix(PREFIXES[*p])
                    .await
                    .expect("delete_prefix"),
                model.delete_prefix(PREFIXES[*p]).await.expect("model"),
                "delete_prefix {:?}",
                PREFIXES[*p]
            );
        }
        Op::Flush => store.flush().await.expect("flush"),
        Op::Reopen => {}
    }

    let keys = strings(&KEYS);
    assert_eq!(
        store.get(&keys).await.expect("get"),
        model.get(&keys).await.expect("model get")
    );
    assert_eq!(
        store.count(&keys).await.expect("count"),
        model.count(&keys).await.expect("m")
    );
    for key in KEYS {
        for offset in [0, 1, 63, 1_000, u32::MAX] {
            assert_eq!(
                store.contains(key, offset).await.expect("contains"),
                model.contains(key, offset).await.expect("model contains"),
                "contains({key:?}, {offset})"
            );
        }
    }
    for prefix in PREFIXES {
        assert_eq!(
            store.keys(prefix).await.expect("keys"),
            model.keys(prefix).await.expect("model keys"),
            "keys({prefix:?})"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Random operations give the same answers as the memory store, with and without
    /// background commits and evictions racing them.
    #[test]
    fn behaves_like_the_memory_store(
        ops in prop::collection::vec(op(), 1..30),
        background in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let dir = tempdir();
            let path = dir.path().join("model.redb");
            let opts = if background {
                // Commits and evictions every millisecond, racing the operations.
                EmbeddedOptions {
                    flush_interval: Duration::from_millis(1),
                    idle_eviction: Some(Duration::from_millis(1)),
                }
            } else {
                options(NEVER)
            };
            let mut store = Some(EmbeddedStore::open(&path, opts.clone()).expect("open"));
            let model = MemoryStore::new();
            for op in &ops {
                apply_and_compare(op, &mut store, &model, &path, &opts).await;
            }
            // Whatever was acknowledged survives a reopen.
            apply_and_compare(&Op::Reopen, &mut store, &model, &path, &opts).await;
        });
    }
}

// ---------------------------------------------------------------------------------------
// Persistence in one process.

#[tokio::test]
async fn reopen_reads_back_identical_bitmaps_and_lengths() {
    let dir = tempdir();
    let path = dir.path().join("reopen.redb");
    let expected;
    {
        let store = open(&path, NEVER);
        store
            .write(&[
                w("e:1", true, &[1, 2, 3, 70_000]),
                // A cleared bit still extends the length, as SETBIT does.
                w("e:1", false, &[2, 1_000_000]),
                w("e:2", false, &[99]),
                w("f:1", true, &[u32::MAX]),
            ])
            .await
            .expect("write");
        store
            .put(&[("e:3".into(), bitmap([5, 6], 100))])
            .await
            .expect("put");
        store.flush().await.expect("flush");
        expected = store
            .get(&strings(&["e:1", "e:2", "e:3", "f:1"]))
            .await
            .expect("get");
    }
    let e1 = expected[0].as_ref().expect("e:1");
    assert_eq!(e1.iter().collect::<Vec<_>>(), vec![1, 3, 70_000]);
    assert_eq!(e1.byte_len(), 125_001);
    assert_eq!(expected[1].as_ref().map(Bitmap::byte_len), Some(13));
    assert_eq!(expected[2].as_ref().map(Bitmap::byte_len), Some(100));
    assert_eq!(expected[3].as_ref().map(Bitmap::byte_len), Some(1 << 29));

    let store = open(&path, NEVER);
    let got = store
        .get(&strings(&["e:1", "e:2", "e:3", "f:1", "missing"]))
        .await
        .expect("get");
    assert_eq!(&got[..4], &expected[..]);
    assert_eq!(got[4], None);
    // Keys only in the file, keys only in the cache, keys in both.
    store
        .write(&[w("e:0", true, &[1]), w("e:1", true, &[4])])
        .await
        .expect("write");
    assert_eq!(
        store.keys("e:").await.expect("keys"),
        strings(&["e:0", "e:1", "e:2", "e:3"])
    );
    assert_eq!(store.keys("").await.expect("keys").len(), 5);
    assert_eq!(
        store
            .count(&strings(&["e:1", "missing"]))
            .await
            .expect("count"),
        vec![4, 0]
    );
    assert!(store.contains("e:1", 70_000).await.expect("contains"));
    assert!(!store.contains("missing", 0).await.expect("contains"));
    // Deletes reach the file as well as the cache.
    assert_eq!(
        store
            .delete(&strings(&["e:0", "e:2", "missing", "e:2"]))
            .await
            .expect("del"),
        2
    );
    assert_eq!(store.delete_prefix("f").await.expect("delete_prefix"), 1);
    store
        .put(&[("e:3".into(), Bitmap::new())])
        .await
        .expect("put deletes");
    drop(store);
    let store = open(&path, NEVER);
    assert_eq!(store.keys("").await.expect("keys"), strings(&["e:1"]));
    let e1 = store
        .get(&strings(&["e:1"]))
        .await
        .expect("get")
        .remove(0)
        .expect("e:1");
    assert_eq!(e1.iter().collect::<Vec<_>>(), vec![1, 3, 4, 70_000]);
    assert_eq!(e1.byte_len(), 125_001);
}

#[tokio::test]
async fn drop_commits_unflushed_writes() {
    let dir = tempdir();
    let path = dir.path().join("drop.redb");
    {
        let store = open(&path, NEVER);
        assert_eq!(store.describe(), format!("file://{}", path.display()));
        store
            .write(&[w("k", true, &[10, 20]), w("k", false, &[500])])
            .await
            .expect("write");
    }
    let store = open(&path, NEVER);
    let k = store
        .get(&strings(&["k"]))
        .await
        .expect("get")
        .remove(0)
        .expect("k");
    assert_eq!(k, bitmap([10, 20], 63));
}

#[test]
fn a_missing_directory_is_refused_not_created() {
    let dir = tempdir();
    let path = dir.path().join("nested/dirs/s.redb");
    match EmbeddedStore::open(&path, EmbeddedOptions::default()) {
        Err(Error::Io { context, source }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(
                context.contains(&dir.path().join("nested/dirs").display().to_string()),
                "{context}"
            );
        }
        other => panic!("expected a missing-directory error, got {other:?}"),
    }
    assert!(
        !dir.path().join("nested").exists(),
        "the directory was created"
    );
}

#[tokio::test]
async fn opens_through_a_url() {
    let dir = tempdir();
    let path = dir.path().join("url.redb");
    let url = format!("file://{}?flush_ms=50&idle_secs=1", path.display());
    let store = bitmapist::open_store(&url).await.expect("open");
    assert_eq!(store.describe(), format!("file://{}", path.display()));
    store
        .write(&[KeyWrite::set("k".into(), 3)])
        .await
        .expect("write");
    assert!(store.contains("k", 3).await.expect("contains"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing_to_background_commits() {
    let dir = tempdir();
    let path = dir.path().join("concurrent.redb");
    let store = std::sync::Arc::new(
        EmbeddedStore::open(
            &path,
            EmbeddedOptions {
                flush_interval: Duration::from_millis(1),
                idle_eviction: Some(Duration::from_millis(1)),
            },
        )
        .expect("open"),
    );
    let tasks: Vec<_> = (0..8u32)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..2_000u32 {
                    let id = i * 8 + t;
                    let key = format!("c:{}", i % 5);
                    store.write(&[KeyWrite::set(key, id)]).await.expect("write");
                    if i % 500 == 0 {
                        store.flush().await.expect("flush");
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    drop(store);
    let store = open(&path, NEVER);
    let keys: Vec<String> = (0..5).map(|i| format!("c:{i}")).collect();
    assert_eq!(store.count(&keys).await.expect("count"), vec![3_200; 5]);
}

// ---------------------------------------------------------------------------------------
// Child processes.

fn child_file() -> Option<PathBuf> {
    std::env::var_os(CHILD_FILE).map(PathBuf::from)
}

/// Ids of batch `n` of the crash child.
fn batch(n: u32) -> std::ops::Range<u32> {
    n * 1_000..(n + 1) * 1_000
}

/// Where the crash child puts id `id` in its scattered key (an odd multiplier: one to one).
fn scatter(id: u32) -> u32 {
    id.wrapping_mul(40_503)
}

#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Some(path) = child_file() else { return };
    let prefix = std::env::var(CHILD_PREFIX).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = open(&path, 5);
        let mut stdout = std::io::stdout();
        for n in 0u32.. {
            let ids: Vec<u32> = batch(n).collect();
            let scattered: Vec<u32> = ids.iter().map(|&i| scatter(i)).collect();
            let writes = vec![
                w(&format!("{prefix}a"), true, &ids),
                w(&format!("{prefix}b"), true, &ids),
                w(&format!("{prefix}c"), true, &ids),
                w(&format!("{prefix}scattered"), true, &scattered),
            ];
            store.write(&writes).await.expect("write");
            store.flush().await.expect("flush");
            writeln!(stdout, "FLUSHED {n}").expect("stdout");
            stdout.flush().expect("stdout");
        }
    });
}

/// Checks a crash child's keys after it was killed having acknowledged batches `0..=acked`.
async fn check_crash_round(store: &EmbeddedStore, prefix: &str, acked: u32) {
    let keys: Vec<String> = ["a", "b", "c", "scattered"]
        .iter()
        .map(|k| format!("{prefix}{k}"))
        .collect();
    let got = store.get(&keys).await.expect("every value decodes");
    let a = got[0].as_ref().expect("a exists");
    let len = a.count();
    let acked_ids = u64::from((acked + 1) * 1_000);
    eprintln!("{prefix} acknowledged {acked_ids} ids, found {len}");
    assert!(
        len >= acked_ids,
        "{prefix}: {len} ids stored, {acked_ids} acknowledged"
    );
    // Whole batches only, in order: a commit is never half applied.
    assert_eq!(len % 1_000, 0, "{prefix}: partial batch");
    let mut full = RoaringBitmap::new();
    full.insert_range(0..u32::try_from(len).expect("fits"));
    assert_eq!(a.bits(), &full, "{prefix}: ids are not 0..{len}");
    // One write call is in one commit or none.
    assert_eq!(got[1].as_ref(), Some(a), "{prefix}b differs from {prefix}a");
    assert_eq!(got[2].as_ref(), Some(a), "{prefix}c differs from {prefix}a");
    let scattered = got[3].as_ref().expect("scattered exists");
    assert_eq!(scattered.count(), len);
    assert!(a.iter().all(|id| scattered.contains(scatter(id))));
}

/// SIGKILL a child that commits in a loop, at different moments, and check after each kill
/// that the file opens, every value decodes, and every acknowledged id is there.
#[tokio::test]
async fn sigkill_loses_no_acknowledged_write() {
    let dir = tempdir();
    let path = dir.path().join("crash.redb");
    // (FLUSHED lines to wait for, then how long to let the child run on before the kill)
    let rounds = [(2, 0), (5, 1), (9, 0), (3, 3), (14, 2), (6, 0), (4, 5)];
    let mut done: Vec<(String, u32)> = Vec::new();
    for (round, &(lines, delay_ms)) in rounds.iter().enumerate() {
        let prefix = format!("r{round}:");
        let mut child = spawn_child(
            module_path!(),
            "crash_child",
            &[
                (CHILD_FILE, path.as_os_str()),
                (CHILD_PREFIX, std::ffi::OsStr::new(&prefix)),
            ],
        );
        let stdout = child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        let last = wait_tagged(
            &mut reader,
            "FLUSHED ",
            lines,
            &format!("the crash child (round {round})"),
        );
        let mut acked: Option<u32> = Some(last.parse().expect("batch number"));
        std::thread::sleep(Duration::from_millis(delay_ms));
        // Child::kill sends SIGKILL on Unix: no destructor, no final commit runs.
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert!(!status.success(), "the child was killed");
        // Anything it printed before dying was acknowledged too.
        for rest in reader.lines() {
            let rest = rest.expect("read child stdout");
            if let Some(n) = tagged(&rest, "FLUSHED ") {
                acked = Some(n.parse().expect("batch number"));
            }
        }
        let acked = acked.expect("at least one FLUSHED line");
        done.push((prefix, acked));

        let store = open(&path, NEVER);
        for (prefix, acked) in &done {
            check_crash_round(&store, prefix, *acked).await;
        }
        // Every stored value decodes.
        let all = store.keys("").await.expect("keys");
        assert_eq!(all.len(), 4 * done.len());
        let values = store.get(&all).await.expect("every value decodes");
        assert!(values.iter().all(Option::is_some));
    }
}

#[test]
#[ignore = "child process of the background commit test"]
fn interval_child() {
    let Some(path) = child_file() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = open(&path, 50);
        let ids: Vec<u32> = (0..100).collect();
        store
            .write(&[w("interval", true, &ids)])
            .await
            .expect("write");
        println!("WRITTEN");
        std::io::stdout().flush().expect("stdout");
        // Never flush, never drop: only the background thread can commit.
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
}

/// With `flush_ms=50`, writes reach the file without `flush` or drop.
#[tokio::test]
async fn background_thread_commits_every_interval() {
    let dir = tempdir();
    let path = dir.path().join("interval.redb");
    let mut child = spawn_child(
        module_path!(),
        "interval_child",
        &[(CHILD_FILE, path.as_os_str())],
    );
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    while tagged(&line, "WRITTEN").is_none() {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "child exited early"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let store = open(&path, NEVER);
    assert_eq!(
        store.count(&strings(&["interval"])).await.expect("count"),
        vec![100]
    );
}

#[test]
#[ignore = "child process of the already-open test"]
fn already_open_child() {
    let Some(path) = child_file() else { return };
    match EmbeddedStore::open(&path, EmbeddedOptions::default()) {
        Err(e @ Error::AlreadyOpen { .. }) => println!("ALREADY_OPEN {e}"),
        Err(e) => println!("OTHER_ERROR {e}"),
        Ok(_) => println!("OPENED"),
    }
    std::io::stdout().flush().expect("stdout");
}

fn run_already_open_child(path: &Path) -> String {
    let child = spawn_child(
        module_path!(),
        "already_open_child",
        &[(CHILD_FILE, path.as_os_str())],
    );
    let out = child.wait_with_output().expect("child output");
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_second_process_gets_already_open() {
    let dir = tempdir();
    let path = dir.path().join("exclusive.redb");
    let store = open(&path, NEVER);
    let out = run_already_open_child(&path);
    assert!(out.contains("ALREADY_OPEN"), "child printed: {out}");
    assert!(out.contains("already open"), "child printed: {out}");
    assert!(
        out.contains(&path.display().to_string()),
        "child printed: {out}"
    );

    // A second open in this process is refused the same way.
    match EmbeddedStore::open(&path, options(NEVER)) {
        Err(Error::AlreadyOpen { path: p }) => assert_eq!(p, path),
        other => panic!("expected AlreadyOpen, got {other:?}"),
    }

    drop(store);
    let out = run_already_open_child(&path);
    assert!(out.contains("OPENED"), "child printed: {out}");
}

// ---------------------------------------------------------------------------------------
// Damaged files.

/// Writes raw rows into the store's tables with redb directly (the store must be closed).
fn poke(path: &Path, rows: &[(&str, &[u8])], version: Option<u64>) {
    let db = redb::Database::create(path).expect("open with redb");
    let txn = db.begin_write().expect("begin");
    {
        let mut table = txn.open_table(BITMAPS).expect("bitmaps table");
        for (k, v) in rows {
            table.insert(*k, *v).expect("insert");
        }
        if let Some(v) = version {
            let mut meta = txn.open_table(META).expect("meta table");
            meta.insert("format_version", v).expect("insert");
        }
    }
    txn.commit().expect("commit");
}

fn assert_corrupt<T: std::fmt::Debug>(r: Result<T, Error>, key: &str) {
    match r {
        Err(Error::CorruptBitmap { key: k, reason }) => {
            assert_eq!(k, key);
            assert!(!reason.is_empty());
        }
        other => panic!("expected CorruptBitmap for {key:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_corrupt_value_is_an_error_naming_its_key() {
    let dir = tempdir();
    let path = dir.path().join("corrupt.redb");
    {
        let store = open(&path, NEVER);
        store
            .write(&[w("good", true, &[1, 2]), w("bad", true, &[3])])
            .await
            .expect("write");
    }
    poke(
        &path,
        &[
            ("bad", b"garbage"),
            ("zero", &[1, 0, 0, 0, 0]),
            ("v9", &[9, 1, 0, 0, 0]),
        ],
        None,
    );

    let store = open(&path, NEVER);
    assert_eq!(
        store.get(&strings(&["good"])).await.expect("good reads"),
        vec![Some(bitmap([1, 2], 1))]
    );
    assert_corrupt(store.get(&strings(&["good", "bad"])).await, "bad");
    assert_corrupt(store.get(&strings(&["zero"])).await, "zero");
    assert_corrupt(store.get(&strings(&["v9"])).await, "v9");
    assert_corrupt(store.count(&strings(&["bad"])).await, "bad");
    assert_corrupt(store.contains("bad", 3).await, "bad");
    // A write never silently replaces what it cannot read.
    assert_corrupt(store.write(&[w("bad", true, &[4])]).await, "bad");
    assert_eq!(
        store.count(&strings(&["good"])).await.expect("good"),
        vec![2]
    );
    // The key is listed and can be deleted or replaced.
    assert_eq!(
        store.keys("").await.expect("keys"),
        strings(&["bad", "good", "v9", "zero"])
    );
    assert_eq!(store.delete(&strings(&["bad"])).await.expect("delete"), 1);
    store
        .put(&[("zero".into(), bitmap([7], 1))])
        .await
        .expect("put");
    assert_eq!(
        store
            .count(&strings(&["bad", "zero"]))
            .await
            .expect("count"),
        vec![0, 1]
    );
    store.flush().await.expect("flush");
}

#[tokio::test]
async fn a_newer_file_format_is_refused_clearly() {
    let dir = tempdir();
    let path = dir.path().join("future.redb");
    drop(open(&path, NEVER));
    poke(&path, &[], Some(99));
    let err = EmbeddedStore::open(&path, options(NEVER)).expect_err("newer format");
    assert!(
        matches!(err, Error::UnsupportedFormat { version: 99, .. }),
        "a variant of its own, not an I/O error: {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("99") && msg.contains("newer"), "{msg}");
}

#[test]
fn a_file_that_is_not_redb_is_an_embedded_error() {
    let dir = tempdir();
    let path = dir.path().join("text.redb");
    std::fs::write(&path, vec![b'x'; 8192]).expect("write file");
    match EmbeddedStore::open(&path, options(NEVER)) {
        Err(Error::Embedded { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Embedded, got {other:?}"),
    }
}
