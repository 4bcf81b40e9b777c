//! File size of the embedded store: run-optimized, chunked values, compaction, and the
//! footprint report, against independent models (a map of sets; roaring's own sizes).
//!
//! The crash test re-executes this test binary with `--exact compact_child --ignored` and
//! [`CHILD_FILE`] naming the store's file; the ignored child does nothing without it.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use std::sync::Arc;
use std::time::Duration;

use bitmapist::seed::SeedPlan;
use bitmapist::{Bitmap, Bitmapist};
use bitmapist::{EmbeddedOptions, EmbeddedStore, KeyWrite, Store};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// The store file a child process works on.
const CHILD_FILE: &str = "BITMAPIST_FILESIZE_TEST_FILE";

/// The bound the issue sets: file size at most this times the serialized roaring sum.
const BOUND: f64 = 1.25;

/// The chunk rows, as the store names them.
const CHUNKS: redb::TableDefinition<(&str, u32), &[u8]> = redb::TableDefinition::new("chunks");

fn options() -> EmbeddedOptions {
    EmbeddedOptions {
        flush_interval: Duration::from_secs(3600),
        idle_eviction: None,
    }
}

fn open(path: &Path) -> EmbeddedStore {
    EmbeddedStore::open(path, options()).expect("open the store")
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The model: key -> set ids.
type Model = BTreeMap<String, BTreeSet<u32>>;

/// Every key of the store with its ids, read through the store.
async fn contents(store: &EmbeddedStore) -> Model {
    let keys = store.keys("").await.expect("keys");
    let got = store.get(&keys).await.expect("every value decodes");
    keys.into_iter()
        .zip(got)
        .map(|(k, b)| (k, b.expect("listed key exists").iter().collect()))
        .collect()
}

/// The serialized roaring size of every stored bitmap, computed here with roaring itself:
/// the portable serialization after `optimize`.
async fn roaring_sum(store: &EmbeddedStore) -> u64 {
    let keys = store.keys("").await.expect("keys");
    let got = store.get(&keys).await.expect("get");
    got.into_iter()
        .map(|b| {
            let mut bits = b.expect("exists").into_bits();
            bits.optimize();
            bits.serialized_size() as u64
        })
        .sum()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("file size").len()
}

/// How many chunk rows the (closed) file holds.
fn chunk_rows(path: &Path) -> u64 {
    use redb::{ReadableDatabase, ReadableTableMetadata};
    let db = redb::Database::open(path).expect("open with redb");
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(CHUNKS).expect("chunks table");
    table.len().expect("len")
}

fn end() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("valid time")
}

/// Seeds 20k users x 60 days into a fresh store at `path`; the handle.
async fn seeded(path: &Path) -> (Arc<EmbeddedStore>, Bitmapist) {
    let store = Arc::new(open(path));
    let bm = Bitmapist::builder()
        .store(store.clone())
        .open()
        .await
        .expect("bitmapist");
    let plan = SeedPlan::new(20_000, 60, end()).seed(3);
    bitmapist::seed::run(&bm, &plan, |_| {})
        .await
        .expect("seed");
    bm.flush().await.expect("flush");
    (store, bm)
}

#[tokio::test]
async fn seeded_file_after_compaction_is_within_the_bound_and_keeps_every_bitmap() {
    let dir = tempdir();
    let path = dir.path().join("seed.redb");
    let (store, _bm) = seeded(&path).await;
    let before = contents(&store).await;
    assert!(before.len() > 500, "{} keys", before.len());

    let stats = store.storage_stats().await.expect("stats");
    assert_eq!(stats.keys, before.len() as u64);
    assert_eq!(stats.roaring_bytes, roaring_sum(&store).await);
    assert_eq!(stats.file_bytes, file_len(&path));
    assert_eq!(stats.corrupt_keys, 0);

    let report = store.compact().await.expect("compact");
    let after = report.after.clone();
    eprintln!(
        "before {} bytes, after {} bytes, roaring {} bytes ({:.3}x), {:.2} s",
        report.before_bytes,
        after.file_bytes,
        after.roaring_bytes,
        after.ratio(),
        report.seconds
    );
    assert_eq!(after.roaring_bytes, stats.roaring_bytes);
    assert_eq!(after.file_bytes, file_len(&path));
    assert!(after.file_bytes <= report.before_bytes);
    assert!(
        after.file_bytes as f64 <= BOUND * after.roaring_bytes as f64,
        "{} bytes on disk for {} bytes of bitmaps",
        after.file_bytes,
        after.roaring_bytes
    );
    assert!(!after.worth_compacting(), "{after:?}");
    assert_eq!(contents(&store).await, before, "compaction changed data");

    // The store keeps working on the new file: writes, deletes, and after a reopen.
    store
        .write(&[KeyWrite::set("after:compaction".into(), 77)])
        .await
        .expect("write");
    let gone = before.keys().next().expect("a key").clone();
    assert_eq!(
        store
            .delete(std::slice::from_ref(&gone))
            .await
            .expect("delete"),
        1
    );
    store.flush().await.expect("flush");
    drop(_bm);
    drop(store);
    assert!(!dir.path().join(".seed.redb.compact").exists());
    let store = open(&path);
    let mut expected = before;
    expected.remove(&gone);
    expected.insert("after:compaction".into(), BTreeSet::from([77]));
    assert_eq!(contents(&store).await, expected);
}

#[tokio::test]
async fn runs_are_stored_as_runs() {
    let dir = tempdir();
    let path = dir.path().join("runs.redb");
    let store = open(&path);
    // Sign-ups get consecutive ids: one run per day, a few bytes instead of 8 KiB
    // containers.
    let ids: Vec<u32> = (1_000_000..1_600_000).collect();
    store
        .write(&[KeyWrite {
            key: "signed_up".into(),
            value: true,
            offsets: ids,
        }])
        .await
        .expect("write");
    store.flush().await.expect("flush");
    let stats = store.storage_stats().await.expect("stats");
    assert!(stats.roaring_bytes < 200, "{stats:?}");
    let got = store.get(&["signed_up".into()]).await.expect("get");
    assert_eq!(got[0].as_ref().map(Bitmap::count), Some(600_000));
}

/// A bitmap of `n` ids spaced 2 apart from `base`: an array container (no runs) of
/// `16 + 2n` serialized bytes for `n <= 4096`.
fn spaced(base: u32, n: u32) -> Vec<u32> {
    (0..n).map(|i| base + 2 * i).collect()
}

#[tokio::test]
async fn sizes_around_the_chunk_length_round_trip_and_leave_no_stale_chunks() {
    let dir = tempdir();
    let path = dir.path().join("edges.redb");
    let mut model = Model::new();
    {
        let store = open(&path);
        let mut writes = Vec::new();
        // Serialized sizes from 3,900 to 4,200 bytes (the chunk length is about 4,040 for
        // these keys), then two, three and many containers.
        for n in (1_942..2_092).step_by(3) {
            writes.push((format!("edge:{n}"), spaced(0, n)));
        }
        for (i, containers) in [2u32, 3, 17, 40].into_iter().enumerate() {
            let ids: Vec<u32> = (0..containers)
                .flat_map(|c| spaced(c << 16, 3_000 + c * 7))
                .collect();
            writes.push((format!("multi:{i}"), ids));
        }
        // A key so long that its bitmap stays inline.
        writes.push(("k".repeat(3_950), spaced(0, 30_000)));
        for (key, ids) in &writes {
            model.insert(key.clone(), ids.iter().copied().collect());
        }
        let kw: Vec<KeyWrite> = writes
            .into_iter()
            .map(|(key, offsets)| KeyWrite {
                key,
                value: true,
                offsets,
            })
            .collect();
        store.write(&kw).await.expect("write");
        store.flush().await.expect("flush");
        assert_eq!(contents(&store).await, model);

        // Shrink a chunked bitmap to an inline one, and another to fewer chunks; delete a
        // third: their extra chunk rows go with them.
        let clear_all: Vec<u32> = model["multi:3"].iter().copied().collect();
        let clear_most: Vec<u32> = model["multi:2"].iter().copied().skip(3_000).collect();
        store
            .write(&[
                KeyWrite {
                    key: "multi:3".into(),
                    value: false,
                    offsets: clear_all,
                },
                KeyWrite {
                    key: "multi:2".into(),
                    value: false,
                    offsets: clear_most,
                },
            ])
            .await
            .expect("clear");
        store.delete(&["multi:1".into()]).await.expect("delete");
        store.flush().await.expect("flush");
        model.insert("multi:3".into(), BTreeSet::new());
        let kept: BTreeSet<u32> = model["multi:2"].iter().copied().take(3_000).collect();
        model.insert("multi:2".into(), kept);
        model.remove("multi:1");
        assert_eq!(contents(&store).await, model);
    }
    // Chunk rows left: exactly those the remaining values need.
    let left_before_compaction = chunk_rows(&path);
    let store = open(&path);
    assert_eq!(contents(&store).await, model);
    let report = store.compact().await.expect("compact");
    assert_eq!(contents(&store).await, model);
    drop(store);
    assert_eq!(chunk_rows(&path), left_before_compaction);
    let expected_chunks: u64 = {
        let store = open(&path);
        let keys = store.keys("").await.expect("keys");
        let got = store.get(&keys).await.expect("get");
        keys.iter()
            .zip(got)
            .map(|(k, b)| {
                let mut bits = b.expect("exists").into_bits();
                bits.optimize();
                let len = bits.serialized_size();
                // The chunk length for a key: a 4 KiB page minus 28 bytes, minus the key's
                // encoding in a (&str, u32) tuple (a 1- or 3-byte length, the key, 4 bytes).
                let varint = if k.len() < 254 { 1 } else { 3 };
                let c = 4096usize.saturating_sub(28 + varint + k.len() + 4);
                if c < 128 { 0 } else { (len / c) as u64 }
            })
            .sum()
    };
    assert_eq!(left_before_compaction, expected_chunks);
    assert!(report.after.roaring_bytes > 0);
}

/// One step of the random model test.
#[derive(Clone, Debug)]
enum Op {
    /// Set (or clear) `n` ids from `start`, `step` apart, in key `k`.
    Write {
        k: u8,
        value: bool,
        start: u32,
        n: u32,
        step: u32,
    },
    Delete(u8),
    Flush,
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..12, any::<bool>(), 0u32..400_000, 1u32..40_000, 1u32..5)
            .prop_map(|(k, value, start, n, step)| Op::Write { k, value, start, n, step }),
        1 => (0u8..12).prop_map(Op::Delete),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any sequence of writes, deletes, flushes and compactions reads back as a set model
    /// says, before and after reopening, and the compacted file stays within the bound
    /// (plus redb's fixed structures, for these small files).
    #[test]
    fn compaction_agrees_with_a_set_model(ops in proptest::collection::vec(op(), 1..25)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let dir = tempdir();
            let path = dir.path().join("model.redb");
            let store = open(&path);
            let mut model = Model::new();
            for op in &ops {
                match op {
                    Op::Write { k, value, start, n, step } => {
                        let key = format!("key:{k}");
                        let ids: Vec<u32> = (0..*n).map(|i| start + i * step).collect();
                        store.write(&[KeyWrite { key: key.clone(), value: *value, offsets: ids.clone() }])
                            .await.expect("write");
                        let set = model.entry(key).or_default();
                        for id in ids {
                            if *value { set.insert(id); } else { set.remove(&id); }
                        }
                    }
                    Op::Delete(k) => {
                        let key = format!("key:{k}");
                        let existed = model.remove(&key).is_some();
                        let n = store.delete(std::slice::from_ref(&key)).await.expect("delete");
                        assert_eq!(n, u64::from(existed));
                    }
                    Op::Flush => store.flush().await.expect("flush"),
                    Op::Compact => {
                        let report = store.compact().await.expect("compact");
                        assert_eq!(report.after.keys, model.len() as u64);
                        assert!(
                            report.after.file_bytes as f64
                                <= BOUND * report.after.roaring_bytes as f64 + 300_000.0,
                            "{report:?}"
                        );
                    }
                }
                assert_eq!(contents(&store).await, model);
            }
            drop(store);
            let store = open(&path);
            assert_eq!(contents(&store).await, model);
            let stats = store.storage_stats().await.expect("stats");
            assert_eq!(stats.roaring_bytes, roaring_sum(&store).await);
        });
    }
}

// ---------------------------------------------------------------------------------------
// Crash safety: SIGKILL during compaction.

/// Keys of the crash dataset: 120 bitmaps of a few to 150 KB, some with runs.
fn crash_dataset() -> Model {
    (0..120u32)
        .map(|i| {
            let ids: BTreeSet<u32> = match i % 3 {
                0 => (0..(i + 1) * 2_000)
                    .map(|x| x.wrapping_mul(2_654_435_761) % 1_500_000)
                    .collect(),
                1 => (i * 1_000..i * 1_000 + 200_000).collect(),
                _ => (0..20_000 + i * 100).map(|x| x * 3).collect(),
            };
            (format!("crash:{i:03}"), ids)
        })
        .collect()
}

/// Ids of batch `n` of key `grow` (written and flushed by the child between compactions).
fn grow_batch(n: u32) -> std::ops::Range<u32> {
    n * 500..(n + 1) * 500
}

#[test]
#[ignore = "child process of the compaction crash test"]
fn compact_child() {
    let Some(path) = std::env::var_os(CHILD_FILE).map(std::path::PathBuf::from) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = open(&path);
        let start: u32 = store
            .count(&["grow".into()])
            .await
            .expect("count")
            .first()
            .map_or(0, |c| u32::try_from(c / 500).unwrap_or(0));
        let mut stdout = std::io::stdout();
        for n in start.. {
            store
                .write(&[KeyWrite {
                    key: "grow".into(),
                    value: true,
                    offsets: grow_batch(n).collect(),
                }])
                .await
                .expect("write");
            store.flush().await.expect("flush");
            writeln!(stdout, "FLUSHED {n}").expect("stdout");
            stdout.flush().expect("stdout");
            store.compact().await.expect("compact");
            writeln!(stdout, "COMPACTED {n}").expect("stdout");
            stdout.flush().expect("stdout");
        }
    });
}

/// SIGKILL a child that compacts in a loop, at different moments: the file always opens,
/// holds every bitmap of the dataset unchanged and every acknowledged write, and the
/// interrupted compaction's file is cleaned up.
#[tokio::test]
async fn sigkill_during_compaction_loses_nothing() {
    let dir = tempdir();
    let path = dir.path().join("crash.redb");
    let dataset = crash_dataset();
    {
        let store = open(&path);
        let writes: Vec<KeyWrite> = dataset
            .iter()
            .map(|(k, ids)| KeyWrite {
                key: k.clone(),
                value: true,
                offsets: ids.iter().copied().collect(),
            })
            .collect();
        store.write(&writes).await.expect("write");
        store.flush().await.expect("flush");
    }
    // (COMPACTED lines to wait for, then how long to let the child run on, in ms)
    let rounds = [
        (0, 5),
        (1, 0),
        (0, 40),
        (2, 13),
        (0, 90),
        (1, 27),
        (0, 150),
        (3, 7),
    ];
    let mut tmp_seen = false;
    for (round, &(lines, delay_ms)) in rounds.iter().enumerate() {
        let mut acked: Option<u32>;
        let mut child =
            common::spawn_child(module_path!(), "compact_child", &[(CHILD_FILE, &path)]);
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut seen = 0;
        let mut line = String::new();
        // Wait for the first FLUSHED line (the child is running), then `lines` compactions.
        loop {
            line.clear();
            let read = reader.read_line(&mut line).expect("read child stdout");
            assert!(read > 0, "the child exited early (round {round})");
            if let Some(n) = common::tagged(&line, "FLUSHED ") {
                acked = Some(n.parse().expect("batch"));
                if seen >= lines {
                    break;
                }
            }
            if common::tagged(&line, "COMPACTED ").is_some() {
                seen += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        tmp_seen |= dir.path().join(".crash.redb.compact").exists();
        child.kill().expect("SIGKILL");
        assert!(!child.wait().expect("wait").success());
        for rest in reader.lines() {
            if let Some(n) = common::tagged(&rest.expect("line"), "FLUSHED ") {
                acked = Some(n.parse().expect("batch"));
            }
        }

        let store = open(&path);
        assert!(
            !dir.path().join(".crash.redb.compact").exists(),
            "open removes an interrupted compaction's file"
        );
        let got = contents(&store).await;
        for (k, ids) in &dataset {
            assert_eq!(got.get(k), Some(ids), "round {round}: {k} changed");
        }
        let acked = acked.expect("a FLUSHED line");
        let grow = got.get("grow").expect("grow exists");
        assert!(
            grow.len() as u64 >= u64::from(acked + 1) * 500,
            "round {round}: {} ids, batches 0..={acked} acknowledged",
            grow.len()
        );
        assert!(
            grow.iter().copied().eq(0..grow.len() as u32),
            "round {round}"
        );
        assert_eq!(got.len(), dataset.len() + 1);
    }
    eprintln!("a kill landed while the compaction file existed: {tmp_seen}");
}
