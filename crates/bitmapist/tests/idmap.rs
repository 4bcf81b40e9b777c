//! The external-id map on every store: agreement with a `HashMap` model, marks and queries
//! by external id, the map kept out of the event key space, concurrent assignment (four OS
//! processes on a real redis-server and a real Redis Cluster, many tasks on the file store),
//! crash safety of the file store under SIGKILL, and Python sharing the map through the
//! documented Lua script.

use crate::common;
use crate::common::{spawn_child, tagged};

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use bitmapist::{Bitmapist, Error, MarkOptions, Period, TimeGroup};
use bitmapist::{
    ClusterStore, EmbeddedOptions, EmbeddedStore, MemoryStore, ReadOnlyEmbeddedStore, RedisStore,
    Store,
};
use bitmapist::{
    ID_MAP_ASSIGN_SCRIPT as ASSIGN_SCRIPT, MAX_EXTERNAL_ID_BYTES, id_map_redis_keys as redis_keys,
};
use chrono::{TimeZone, Utc};
use common::redis_cluster::shared;
use common::redis_server::RedisServer;

const CHILD_URL: &str = "BITMAPIST_IDS_TEST_URL";
const CHILD_GO: &str = "BITMAPIST_IDS_TEST_GO";
const CHILD_ORDER: &str = "BITMAPIST_IDS_TEST_ORDER";
const CHILD_FILE: &str = "BITMAPIST_IDS_TEST_FILE";
const CHILD_ROUND: &str = "BITMAPIST_IDS_TEST_ROUND";

/// How many distinct strings the concurrency tests assign.
const USERS: u32 = 10_000;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bitmapist-idmap-")
        .tempdir()
        .expect("tempdir")
}

fn open_file(path: &Path) -> EmbeddedStore {
    EmbeddedStore::open(
        path,
        EmbeddedOptions {
            flush_interval: Duration::from_secs(3600),
            idle_eviction: None,
        },
    )
    .expect("open the file store")
}

fn user(i: u32) -> String {
    format!("user-{i}@example.com")
}

use bitmapist_test_support::Rng;

/// A number in `0..n` from the shared deterministic generator.
fn below(rng: &mut Rng, n: u64) -> u64 {
    rng.next() % n
}

/// Random batches of assign / lookup / resolve against a `HashMap` model: the same answers,
/// ids dense from 1 in order of first appearance.
async fn agrees_with_a_model(bm: &Bitmapist, seed: u64) {
    let ids = bm.ids();
    let mut model: HashMap<String, u32> = HashMap::new();
    let mut rng = Rng(seed);
    for round in 0..40 {
        let n = 1 + below(&mut rng, 300) as usize;
        let batch: Vec<String> = (0..n)
            .map(|_| format!("ext-{seed}-{}", below(&mut rng, 2_000)))
            .collect();
        match round % 3 {
            0 | 1 => {
                let got = ids.assign(&batch).await.expect("assign");
                let want: Vec<u32> = batch
                    .iter()
                    .map(|e| {
                        let next = u32::try_from(model.len()).expect("fits") + 1;
                        *model.entry(e.clone()).or_insert(next)
                    })
                    .collect();
                assert_eq!(got, want, "round {round}");
            }
            _ => {
                let got = ids.lookup(&batch).await.expect("lookup");
                let want: Vec<Option<u32>> = batch.iter().map(|e| model.get(e).copied()).collect();
                assert_eq!(got, want, "round {round}");
            }
        }
        let dense: Vec<u32> = (0..50)
            .map(|_| below(&mut rng, model.len() as u64 + 20) as u32)
            .collect();
        let reverse: HashMap<u32, &String> = model.iter().map(|(e, &d)| (d, e)).collect();
        let want: Vec<Option<String>> = dense
            .iter()
            .map(|d| reverse.get(d).map(|e| (*e).clone()))
            .collect();
        assert_eq!(ids.resolve(&dense).await.expect("resolve"), want);
    }
    // A fresh handle (no cache) sees the same map.
    let fresh = Bitmapist::builder()
        .store(Arc::clone(bm.store()))
        .key_prefix(bm.layout().prefix())
        .open()
        .await
        .expect("fresh handle");
    let all: Vec<String> = model.keys().cloned().collect();
    let want: Vec<Option<u32>> = all.iter().map(|e| model.get(e).copied()).collect();
    assert_eq!(fresh.ids().lookup(&all).await.expect("lookup"), want);
}

/// Marks, unmarks, contains and listing by external id, with ids of each kind as text.
async fn marks_by_external_id(bm: &Bitmapist) {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 2, 8, 0, 0)
        .single()
        .expect("time");
    let uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let big = u64::MAX.to_string();
    let neg = i64::MIN.to_string();
    let first = bm
        .mark_external("ext:login", uuid)
        .at(t)
        .await
        .expect("mark");
    assert!(first.is_some());
    let marks = [
        ("ext:login", big.as_str(), t),
        ("ext:login", neg.as_str(), t),
        ("ext:login", "alice", t),
        ("ext:buy", "alice", t),
    ];
    assert_eq!(
        bm.mark_events_external(marks, MarkOptions::default())
            .await
            .expect("batch"),
        4
    );
    let day = Period::day(t.date_naive()).expect("day");
    let login = bm.events("ext:login", day);
    assert_eq!(login.count().await.expect("count"), 4);
    for e in [uuid, big.as_str(), neg.as_str(), "alice"] {
        assert!(login.contains_external(e).await.expect("contains"), "{e}");
    }
    assert!(!login.contains_external("nobody").await.expect("contains"));
    let listed: HashSet<String> = login
        .external_ids()
        .await
        .expect("list")
        .into_iter()
        .map(|(_, e)| e.expect("every user was mapped"))
        .collect();
    let want: HashSet<String> = [uuid, big.as_str(), neg.as_str(), "alice"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(listed, want);
    // The bits are the dense ids, as Python reads them.
    let alice = bm.ids().lookup(&["alice".into()]).await.expect("lookup")[0].expect("alice");
    assert!(login.contains(alice).await.expect("contains"));
    let both = bm.events("ext:login", day) & bm.events("ext:buy", day);
    assert_eq!(
        both.ids().await.expect("ids").collect::<Vec<_>>(),
        vec![alice]
    );

    // Unmarking an unknown id writes and assigns nothing.
    assert_eq!(
        bm.unmark_external("ext:login", "stranger")
            .at(t)
            .await
            .expect("unmark"),
        None
    );
    assert_eq!(
        bm.ids().lookup(&["stranger".into()]).await.expect("lookup"),
        vec![None]
    );
    assert_eq!(
        bm.unmark_external("ext:login", "alice")
            .at(t)
            .await
            .expect("unmark"),
        Some(alice)
    );
    assert!(!login.contains_external("alice").await.expect("contains"));
    // A u32 mark has no external id.
    bm.mark_event("ext:login", 4_000_000)
        .at(t)
        .await
        .expect("mark");
    let listed = login.external_ids().await.expect("list");
    assert!(listed.contains(&(4_000_000, None)));

    // Bad ids are named errors, and nothing is assigned.
    let long = "x".repeat(MAX_EXTERNAL_ID_BYTES + 1);
    for bad in ["", long.as_str()] {
        let err = bm
            .mark_external("ext:login", bad)
            .at(t)
            .await
            .expect_err("bad id");
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    name: "external id",
                    ..
                }
            ),
            "{err}"
        );
    }
    let at_limit = "y".repeat(MAX_EXTERNAL_ID_BYTES);
    assert!(bm.mark_external("ext:login", &at_limit).at(t).await.is_ok());

    // The map is outside the event key space: not listed, not deleted with the events.
    let names = bm.event_names(None).await.expect("names");
    assert_eq!(names, vec!["ext:buy".to_string(), "ext:login".to_string()]);
    let event_keys = bm.store().keys(bm.layout().prefix()).await.expect("keys");
    assert!(
        event_keys.iter().all(|k| !k.contains("bitmapist.ids")),
        "{event_keys:?}"
    );
    bm.delete_all().await.expect("delete all");
    assert_eq!(
        bm.ids().lookup(&["alice".into()]).await.expect("lookup"),
        vec![Some(alice)]
    );
    let fresh = Bitmapist::builder()
        .store(Arc::clone(bm.store()))
        .key_prefix(bm.layout().prefix())
        .open()
        .await
        .expect("fresh handle");
    assert_eq!(
        fresh.resolve_ids(&[alice]).await.expect("resolve"),
        vec![Some("alice".to_string())]
    );
}

async fn handle(store: Arc<dyn Store>, prefix: &str) -> Bitmapist {
    Bitmapist::builder()
        .store(store)
        .key_prefix(prefix)
        .open()
        .await
        .expect("open")
}

#[tokio::test]
async fn memory_store() {
    let bm = handle(Arc::new(MemoryStore::new()), "trackist_").await;
    agrees_with_a_model(&bm, 11).await;
    let bm = handle(Arc::new(MemoryStore::new()), "trackist_").await;
    marks_by_external_id(&bm).await;
}

#[tokio::test]
async fn file_store() {
    let dir = tempdir();
    let path = dir.path().join("ids.redb");
    {
        let bm = handle(Arc::new(open_file(&path)), "model_").await;
        agrees_with_a_model(&bm, 12).await;
        let bm2 = handle(Arc::clone(bm.store()), "trackist_").await;
        marks_by_external_id(&bm2).await;
        bm.flush().await.expect("flush");
    }
    // Survives reopening; the read-only store reads it and refuses to assign.
    let ro: Arc<dyn Store> = Arc::new(ReadOnlyEmbeddedStore::open(&path).expect("read-only"));
    let bm = handle(ro, "trackist_").await;
    let alice = bm.ids().lookup(&["alice".into()]).await.expect("lookup")[0];
    assert!(alice.is_some());
    assert_eq!(
        bm.resolve_ids(&[alice.unwrap_or(0)])
            .await
            .expect("resolve"),
        vec![Some("alice".to_string())]
    );
    assert!(bm.ids().assign(&["newcomer".into()]).await.is_err());
    drop(bm);
    // Compaction keeps the map.
    let store = open_file(&path);
    store.compact().await.expect("compact");
    let bm = handle(Arc::new(store), "trackist_").await;
    assert_eq!(
        bm.ids().lookup(&["alice".into()]).await.expect("lookup")[0],
        alice
    );
    assert_eq!(
        bm.ids().assign(&["newcomer".into()]).await.expect("assign"),
        vec![6]
    );
}

#[tokio::test]
async fn redis_store() {
    let server = RedisServer::start();
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::connect(&server.url()).await.expect("connect"));
    agrees_with_a_model(&handle(Arc::clone(&store), "model_").await, 13).await;
    let bm = handle(Arc::clone(&store), "trackist_").await;
    marks_by_external_id(&bm).await;
    // The map's keys, under one hash tag.
    let mut raw = server.raw_connection();
    let [fwd, rev, next] = redis_keys("trackist_");
    let n: u64 = redis::cmd("HLEN").arg(&fwd).query(&mut raw).expect("HLEN");
    let m: u64 = redis::cmd("HLEN").arg(&rev).query(&mut raw).expect("HLEN");
    let last: u64 = redis::cmd("GET").arg(&next).query(&mut raw).expect("GET");
    assert_eq!((n, m), (last, last));
    // A server that has dropped its script cache gets the script by EVAL.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut raw)
        .expect("flush");
    assert_eq!(
        bm.ids()
            .assign(&["after-flush".into()])
            .await
            .expect("assign"),
        vec![u32::try_from(last).expect("fits") + 1]
    );
}

#[tokio::test]
async fn cluster_store() {
    let store: Arc<dyn Store> = Arc::new(
        ClusterStore::connect(&shared().0)
            .await
            .expect("connect to the shared cluster"),
    );
    agrees_with_a_model(&handle(Arc::clone(&store), "idmodel_").await, 14).await;
    marks_by_external_id(&handle(store, "idmarks_").await).await;
}

#[tokio::test]
async fn exhaustion_is_a_named_error() {
    let server = RedisServer::start();
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::connect(&server.url()).await.expect("connect"));
    let bm = handle(store, "trackist_").await;
    let mut raw = server.raw_connection();
    let [_, _, next] = redis_keys("trackist_");
    let _: () = redis::cmd("SET")
        .arg(&next)
        .arg(u32::MAX - 1)
        .query(&mut raw)
        .expect("SET");
    assert_eq!(
        bm.ids()
            .assign(&["last".into()])
            .await
            .expect("the last id"),
        vec![u32::MAX]
    );
    let err = bm
        .ids()
        .assign(&["one too many".into()])
        .await
        .expect_err("full");
    assert!(matches!(err, Error::IdsExhausted), "{err}");
    // The memory store's table says the same.
    let mut table = bitmapist::IdTable::default();
    assert_eq!(table.assign(&["a".into()]).expect("assign"), vec![1]);
}

// ---------------------------------------------------------------------------------------
// Concurrency.

/// The order in which child `k` assigns the users: forward, backward, or strided.
fn order(k: u32) -> Vec<u32> {
    let mut v: Vec<u32> = (0..USERS).collect();
    match k % 4 {
        0 => {}
        1 => v.reverse(),
        2 => v.sort_by_key(|&i| (i * 7_919) % USERS),
        _ => v.sort_by_key(|&i| (i % 97, i)),
    }
    v
}

#[test]
#[ignore = "child process of the concurrency tests"]
fn assign_child() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let go = PathBuf::from(std::env::var(CHILD_GO).expect("go file"));
    let k: u32 = std::env::var(CHILD_ORDER)
        .expect("order")
        .parse()
        .expect("order");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let bm = Bitmapist::open(&url).await.expect("open");
        println!("READY");
        std::io::stdout().flush().expect("stdout");
        while !go.exists() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Printed at the end, so that a full pipe never slows one process down.
        let mut lines = String::new();
        for chunk in order(k).chunks(50) {
            let ext: Vec<String> = chunk.iter().map(|&i| user(i)).collect();
            let dense = bm.ids().assign(&ext).await.expect("assign");
            for (i, d) in chunk.iter().zip(dense) {
                lines.push_str(&format!("ID {i} {d}\n"));
            }
        }
        let mut out = std::io::stdout().lock();
        out.write_all(lines.as_bytes()).expect("stdout");
        writeln!(out, "DONE").expect("stdout");
    });
}

/// Four processes assign the same 10,000 strings at once on the store at `url`; each
/// string gets exactly one id, the ids are exactly 1..=10000, and every process saw the
/// same answer. Returns the map.
fn four_processes_agree(url: &str) -> HashMap<u32, u32> {
    let dir = tempdir();
    let go = dir.path().join("go");
    let go_text = go.to_string_lossy().into_owned();
    let mut children: Vec<Child> = (0..4u32)
        .map(|k| {
            spawn_child(
                module_path!(),
                "assign_child",
                &[
                    (CHILD_URL, url),
                    (CHILD_GO, &go_text),
                    (CHILD_ORDER, &k.to_string()),
                ],
            )
        })
        .collect();
    let mut readers: Vec<BufReader<std::process::ChildStdout>> = children
        .iter_mut()
        .map(|c| BufReader::new(c.stdout.take().expect("stdout")))
        .collect();
    for r in &mut readers {
        let mut line = String::new();
        while tagged(&line, "READY").is_none() {
            line.clear();
            assert!(r.read_line(&mut line).expect("read") > 0, "child died");
        }
    }
    std::fs::write(&go, b"go").expect("go");
    let mut agreed: HashMap<u32, u32> = HashMap::new();
    for (k, r) in readers.into_iter().enumerate() {
        let mut seen = 0;
        let mut done = false;
        for line in r.lines() {
            let line = line.expect("read");
            if tagged(&line, "DONE").is_some() {
                done = true;
            }
            let Some(rest) = tagged(&line, "ID ") else {
                continue;
            };
            let mut parts = rest.split(' ');
            let i: u32 = parts.next().expect("i").parse().expect("i");
            let d: u32 = parts.next().expect("d").parse().expect("d");
            seen += 1;
            let prev = agreed.insert(i, d);
            assert!(
                prev.is_none_or(|p| p == d),
                "child {k}: user {i} got {d}, another process got {prev:?}"
            );
        }
        assert!(done, "child {k} did not finish");
        assert_eq!(seen, USERS, "child {k}");
    }
    for c in &mut children {
        assert!(c.wait().expect("wait").success());
    }
    assert_eq!(agreed.len(), USERS as usize);
    let dense: HashSet<u32> = agreed.values().copied().collect();
    assert_eq!(dense, (1..=USERS).collect::<HashSet<u32>>());
    agreed
}

/// Checks the store's map against what the processes were told.
async fn map_matches(store: Arc<dyn Store>, agreed: &HashMap<u32, u32>) {
    let bm = handle(store, "trackist_").await;
    let ext: Vec<String> = (0..USERS).map(user).collect();
    let want: Vec<Option<u32>> = (0..USERS).map(|i| agreed.get(&i).copied()).collect();
    assert_eq!(bm.ids().lookup(&ext).await.expect("lookup"), want);
    let dense: Vec<u32> = (1..=USERS + 5).collect();
    let back = bm.ids().resolve(&dense).await.expect("resolve");
    let by_dense: HashMap<u32, u32> = agreed.iter().map(|(&i, &d)| (d, i)).collect();
    for (d, e) in dense.iter().zip(back) {
        assert_eq!(e, by_dense.get(d).map(|&i| user(i)), "dense id {d}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_redis_assign_each_string_one_id() {
    let server = RedisServer::start();
    let url = server.url();
    let u = url.clone();
    let agreed = tokio::task::spawn_blocking(move || four_processes_agree(&u))
        .await
        .expect("join");
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&url).await.expect("connect"));
    map_matches(store, &agreed).await;
    let mut raw = server.raw_connection();
    let [fwd, rev, next] = redis_keys("trackist_");
    let n: u64 = redis::cmd("HLEN").arg(&fwd).query(&mut raw).expect("HLEN");
    let m: u64 = redis::cmd("HLEN").arg(&rev).query(&mut raw).expect("HLEN");
    let last: u64 = redis::cmd("GET").arg(&next).query(&mut raw).expect("GET");
    assert_eq!((n, m, last), (10_000, 10_000, 10_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_a_cluster_assign_each_string_one_id() {
    let cluster = common::redis_cluster::RedisCluster::start(3, 0);
    let url = cluster.url();
    let u = url.clone();
    let agreed = tokio::task::spawn_blocking(move || four_processes_agree(&u))
        .await
        .expect("join");
    let store: Arc<dyn Store> = Arc::new(ClusterStore::connect(&url).await.expect("connect"));
    map_matches(store, &agreed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tasks_on_the_file_store_assign_each_string_one_id() {
    let dir = tempdir();
    let path = dir.path().join("concurrent.redb");
    let store: Arc<dyn Store> = Arc::new(open_file(&path));
    let mut tasks = Vec::new();
    for k in 0..8u32 {
        // Separate handles: no shared cache, every assignment reaches the store.
        let bm = handle(Arc::clone(&store), "trackist_").await;
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<(u32, u32)> = Vec::new();
            for chunk in order(k).chunks(100) {
                let ext: Vec<String> = chunk.iter().map(|&i| user(i)).collect();
                let dense = bm.ids().assign(&ext).await.expect("assign");
                got.extend(chunk.iter().copied().zip(dense));
            }
            got
        }));
    }
    let mut agreed: HashMap<u32, u32> = HashMap::new();
    for t in tasks {
        for (i, d) in t.await.expect("join") {
            let prev = agreed.insert(i, d);
            assert!(prev.is_none_or(|p| p == d), "user {i}: {d} and {prev:?}");
        }
    }
    assert_eq!(agreed.len(), USERS as usize);
    let dense: HashSet<u32> = agreed.values().copied().collect();
    assert_eq!(dense, (1..=USERS).collect::<HashSet<u32>>());
    map_matches(Arc::clone(&store), &agreed).await;
    drop(store);
    map_matches(Arc::new(open_file(&path)), &agreed).await;
}

// ---------------------------------------------------------------------------------------
// Crash safety.

/// The strings the crash child of round `r` assigns in batch `n`.
fn crash_batch(r: u32, n: u32) -> Vec<String> {
    (0..200).map(|i| format!("r{r}-b{n}-u{i}")).collect()
}

#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_FILE) else {
        return;
    };
    let r: u32 = std::env::var(CHILD_ROUND)
        .expect("round")
        .parse()
        .expect("round");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(open_file(Path::new(&path)));
        let bm = handle(store, "trackist_").await;
        let mut stdout = std::io::stdout();
        for n in 0u32.. {
            let dense = bm.ids().assign(&crash_batch(r, n)).await.expect("assign");
            writeln!(
                stdout,
                "ASSIGNED {n} {} {}",
                dense[0],
                dense[dense.len() - 1]
            )
            .expect("stdout");
            stdout.flush().expect("stdout");
        }
    });
}

/// SIGKILL a child assigning batches of new ids, at different moments; after each kill the
/// file opens, every acknowledged id is there with the id the child was told, the ids
/// are exactly 1..=N with a forward and a reverse entry each (none dangling), and the
/// next assignment continues at N+1 (no id handed out twice).
#[tokio::test]
async fn sigkill_mid_assignment_hands_out_no_id_twice() {
    let dir = tempdir();
    let path = dir.path().join("crash.redb");
    let path_text = path.to_string_lossy().into_owned();
    let rounds = [(2u32, 0u64), (5, 1), (3, 3), (8, 0), (4, 2)];
    let mut told: HashMap<String, u32> = HashMap::new();
    for (r, &(lines, delay_ms)) in rounds.iter().enumerate() {
        let r = u32::try_from(r).expect("fits");
        let mut child = spawn_child(
            module_path!(),
            "crash_child",
            &[(CHILD_FILE, &path_text), (CHILD_ROUND, &r.to_string())],
        );
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut acked: Vec<(u32, u32, u32)> = Vec::new();
        let mut line = String::new();
        while acked.len() < lines as usize {
            line.clear();
            assert!(reader.read_line(&mut line).expect("read") > 0, "child died");
            if let Some(rest) = tagged(&line, "ASSIGNED ") {
                let v: Vec<u32> = rest.split(' ').map(|s| s.parse().expect("num")).collect();
                acked.push((v[0], v[1], v[2]));
            }
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        assert!(!child.wait().expect("wait").success());
        for rest in reader.lines() {
            let rest = rest.expect("read");
            if let Some(rest) = tagged(&rest, "ASSIGNED ") {
                let v: Vec<u32> = rest.split(' ').map(|s| s.parse().expect("num")).collect();
                acked.push((v[0], v[1], v[2]));
            }
        }
        for &(n, first, last) in &acked {
            let batch = crash_batch(r, n);
            told.insert(batch[0].clone(), first);
            told.insert(batch[batch.len() - 1].clone(), last);
        }

        let store: Arc<dyn Store> = Arc::new(open_file(&path));
        let bm = handle(Arc::clone(&store), "trackist_").await;
        // Acknowledged ids are there, as told.
        let ext: Vec<String> = told.keys().cloned().collect();
        let got = bm.ids().lookup(&ext).await.expect("lookup");
        for (e, g) in ext.iter().zip(got) {
            assert_eq!(g, told.get(e).copied(), "{e}");
        }
        // Dense 1..=N, each with a reverse entry whose forward entry points back.
        let probe: Vec<u32> = (1..=200_000).collect();
        let back = bm.ids().resolve(&probe).await.expect("resolve");
        let n = back.iter().take_while(|e| e.is_some()).count();
        assert!(
            back[n..].iter().all(Option::is_none),
            "a gap in the dense ids after {n}"
        );
        let names: Vec<String> = back[..n].iter().flatten().cloned().collect();
        let forward = bm.ids().lookup(&names).await.expect("lookup");
        for (i, f) in forward.iter().enumerate() {
            assert_eq!(
                *f,
                Some(u32::try_from(i + 1).expect("fits")),
                "{}",
                names[i]
            );
        }
        assert_eq!(
            names.iter().collect::<HashSet<_>>().len(),
            n,
            "an external id with two dense ids"
        );
        // Every batch is on file whole or not at all.
        for b in 0..u32::try_from(acked.len() + 2).expect("fits") {
            let found = bm.ids().lookup(&crash_batch(r, b)).await.expect("lookup");
            let some = found.iter().filter(|f| f.is_some()).count();
            assert!(
                some == 0 || some == found.len(),
                "round {r} batch {b}: {some} of {}",
                found.len()
            );
        }
        eprintln!(
            "round {r}: {} batches acknowledged, {n} ids on file",
            acked.len()
        );
        let fresh = bm
            .ids()
            .assign(&[format!("after-round-{r}")])
            .await
            .expect("assign");
        assert_eq!(fresh, vec![u32::try_from(n + 1).expect("fits")]);
        told.insert(format!("after-round-{r}"), fresh[0]);
        drop(bm);
        drop(store);
    }
}

// ---------------------------------------------------------------------------------------
// Python.

const PY_INSTALL: &str = "python3 -m venv target/pyvenv && target/pyvenv/bin/pip install bitmapist==3.119 \
                          (from the workspace root)";

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BITMAPIST_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyvenv/bin/python")
}

/// Python runs the documented script (from the README) through redis-py and marks with
/// Python bitmapist; Rust and Python share one map and read each other's marks.
#[tokio::test]
async fn python_shares_the_map_through_the_documented_script() {
    let python = python();
    assert!(
        python.exists(),
        "no Python interpreter at {} (set BITMAPIST_PYTHON); install with: {PY_INSTALL}",
        python.display()
    );
    // The README's script is the one the engine runs.
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README");
    assert!(
        readme.contains(ASSIGN_SCRIPT),
        "the README's id script differs from bitmapist::ID_MAP_ASSIGN_SCRIPT"
    );
    let server = RedisServer::start();
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::connect(&server.url()).await.expect("connect"));
    let bm = handle(store, "trackist_").await;
    let t = Utc::now();
    bm.mark_events_external(
        [("py:login", "alice", t), ("py:login", "bob", t)],
        MarkOptions::default(),
    )
    .await
    .expect("mark");

    let dir = tempdir();
    let script = dir.path().join("assign.lua");
    std::fs::write(&script, ASSIGN_SCRIPT).expect("script");
    let program = r#"
import sys, redis, bitmapist
port, script_path = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(host="127.0.0.1", port=port)
assign = r.register_script(open(script_path).read())
prefix = "trackist_"
keys = ["{bitmapist.ids.%s}:fwd" % prefix, "{bitmapist.ids.%s}:rev" % prefix, "{bitmapist.ids.%s}:next" % prefix]
ids = assign(keys=keys, args=["bob", "carol", "dave"])
bitmapist.setup_redis("default", "127.0.0.1", port)
for uid in ids:
    bitmapist.mark_event("py:login", uid)
alice = int(r.hget(keys[0], "alice"))
print("IDS", " ".join(str(i) for i in ids))
print("ALICE_IN", alice in bitmapist.DayEvents("py:login"))
print("COUNT", bitmapist.DayEvents("py:login").get_count())
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(program)
        .arg(server.port().to_string())
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the Python script failed (install with: {PY_INSTALL}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids_line = stdout
        .lines()
        .find_map(|l| tagged(l, "IDS "))
        .expect("IDS line");
    let py_ids: Vec<u32> = ids_line
        .split(' ')
        .map(|s| s.parse().expect("id"))
        .collect();
    let rust_ids = bm
        .ids()
        .lookup(&["bob".into(), "carol".into(), "dave".into()])
        .await
        .expect("lookup");
    assert_eq!(
        rust_ids,
        py_ids.iter().map(|&i| Some(i)).collect::<Vec<_>>()
    );
    assert_eq!(py_ids, vec![2, 3, 4]);
    assert!(stdout.contains("ALICE_IN True"), "{stdout}");
    assert!(stdout.contains("COUNT 4"), "{stdout}");
    let today = bm
        .get_event_data("py:login", TimeGroup::Days, t)
        .expect("query");
    assert!(today.contains_external("dave").await.expect("contains"));
    let mut names: Vec<String> = today
        .external_ids()
        .await
        .expect("list")
        .into_iter()
        .filter_map(|(_, e)| e)
        .collect();
    names.sort();
    assert_eq!(names, vec!["alice", "bob", "carol", "dave"]);
}
