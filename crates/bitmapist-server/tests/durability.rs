//! What survives what: SIGKILL loses at most the writes since the last commit (and nothing
//! saved by BGSAVE, nor any deadline); SIGTERM and SHUTDOWN save everything; SIGUSR1 and
//! BGSAVE write a consistent `-bak` copy; idle bitmaps leave memory and come back on use.

use crate::common;

use std::time::{Duration, Instant};

use bitmapist::{EmbeddedOptions, EmbeddedStore};
use common::Server;
use redis::Commands;

fn setbits(con: &mut redis::Connection, key: &str, offsets: impl Iterator<Item = u32>) {
    let mut pipe = redis::pipe();
    for o in offsets {
        pipe.cmd("SETBIT").arg(key).arg(o).arg(1).ignore();
    }
    pipe.query::<()>(con).expect("pipelined SETBIT");
}

fn bitcount(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("BITCOUNT")
        .arg(key)
        .query(con)
        .expect("BITCOUNT")
}

fn info_value(con: &mut redis::Connection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("keys")
        .query(con)
        .expect("INFO keys");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {info}"))
}

#[test]
fn sigkill_loses_only_writes_since_the_last_commit() {
    // Commits every 200 ms: wait past one, and everything acknowledged before is on disk.
    let mut s = Server::start(&["-save-every", "200ms"]);
    let mut con = s.con();
    setbits(&mut con, "trackist_a", 0..1000);
    let _: () = con.set("bin", &b"\x01\x02\x00"[..]).expect("SET");
    let _: i64 = con.expire("bin", 1000).expect("EXPIRE");
    std::thread::sleep(Duration::from_millis(800));
    s.kill();
    s.restart();
    let mut con = s.con();
    assert_eq!(bitcount(&mut con, "trackist_a"), 1000);
    let bin: Vec<u8> = con.get("bin").expect("GET");
    assert_eq!(bin, b"\x01\x02\x00");
    let ttl: i64 = con.ttl("bin").expect("TTL");
    assert!((990..=1000).contains(&ttl), "{ttl}");

    // With commits an hour apart, SIGKILL loses what was acknowledged since the last one,
    // but not what BGSAVE saved, nor deadlines (committed when EXPIRE answers).
    drop(con);
    let mut s = Server::start(&["-save-every", "1h"]);
    let mut con = s.con();
    setbits(&mut con, "saved", 0..100);
    let reply: String = redis::cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(reply, "Background saving started");
    let _: i64 = con.expire("saved", 500).expect("EXPIRE");
    setbits(&mut con, "lost", 0..100);
    setbits(&mut con, "saved", 100..200);
    s.kill();
    s.restart();
    let mut con = s.con();
    assert_eq!(
        bitcount(&mut con, "saved"),
        100,
        "writes after BGSAVE are lost"
    );
    assert_eq!(bitcount(&mut con, "lost"), 0, "never committed");
    let ttl: i64 = con.ttl("saved").expect("TTL");
    assert!((490..=500).contains(&ttl), "{ttl}");
}

#[test]
fn sigterm_and_shutdown_save_everything() {
    let mut s = Server::start(&["-save-every", "1h"]);
    let mut con = s.con();
    setbits(&mut con, "k", 0..5000);
    let _: () = con.set("text", "hello").expect("SET");
    s.signal("TERM");
    let status = s.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", s.log());
    s.restart();
    let mut con = s.con();
    assert_eq!(bitcount(&mut con, "k"), 5000);
    let text: String = con.get("text").expect("GET");
    assert_eq!(text, "hello");

    setbits(&mut con, "k2", 0..10);
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut con);
    let status = s.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    s.restart();
    let mut con = s.con();
    assert_eq!(bitcount(&mut con, "k2"), 10);
}

/// SIGTERM as systemd, `docker stop` and Kubernetes send it: the process exits 0, and the
/// file it leaves opens read-only at once (closed cleanly: no repair) with every write the
/// clients were acknowledged, against a model of those writes.
#[test]
fn sigterm_closes_the_file_cleanly() {
    use std::collections::{BTreeMap, BTreeSet};

    use bitmapist::{ReadOnlyEmbeddedStore, Store};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut s = Server::start(&["-save-every", "1h"]);
    let mut con = s.con();
    let mut model: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let writes = proptest::collection::vec((0usize..6, 0u32..200_000, any::<bool>()), 2000);
    let mut runner = TestRunner::deterministic();
    let writes = writes
        .new_tree(&mut runner)
        .expect("generate writes")
        .current();
    let mut pipe = redis::pipe();
    for (key, offset, value) in writes {
        let key = format!("k{key}");
        pipe.cmd("SETBIT")
            .arg(&key)
            .arg(offset)
            .arg(i32::from(value))
            .ignore();
        let bits = model.entry(key).or_default();
        if value {
            bits.insert(offset);
        } else {
            bits.remove(&offset);
        }
    }
    pipe.query::<()>(&mut con).expect("pipelined SETBIT");
    drop(con);
    s.signal("TERM");
    let status = s.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", s.log());

    let store = ReadOnlyEmbeddedStore::open(&s.db())
        .unwrap_or_else(|e| panic!("read-only open after SIGTERM: {e}\n{}", s.log()));
    let keys: Vec<String> = model.keys().cloned().collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let stored = runtime
        .block_on(store.get(&keys))
        .expect("read the bitmaps");
    for ((key, bits), got) in model.iter().zip(stored) {
        let got: BTreeSet<u32> = got.map(|b| b.iter().collect()).unwrap_or_default();
        assert_eq!(&got, bits, "{key}");
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn backup_count(path: &std::path::Path, key: &str) -> Option<u64> {
    let store = EmbeddedStore::open(path, EmbeddedOptions::default()).ok()?;
    store.read(key, bitmapist::Bitmap::count).ok().flatten()
}

#[test]
fn sigusr1_and_bgsave_write_a_consistent_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bak = dir.path().join("copy.db");
    let bak_arg = bak.display().to_string();
    let s = Server::start(&["-save-every", "1h", "-bak", &bak_arg]);
    let mut con = s.con();
    setbits(&mut con, "k", 0..300);
    s.signal("USR1");
    wait_for("the SIGUSR1 backup", || bak.exists());
    wait_for("a readable backup", || backup_count(&bak, "k") == Some(300));

    setbits(&mut con, "k", 300..400);
    setbits(&mut con, "k2", 0..7);
    let _: String = redis::cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(backup_count(&bak, "k"), Some(400));
    assert_eq!(backup_count(&bak, "k2"), Some(7));
    assert!(s.log().contains("backup"), "{}", s.log());
}

#[test]
fn idle_bitmaps_leave_memory_and_come_back() {
    let s = Server::start(&["-save-every", "100ms", "-idle", "500ms"]);
    let mut con = s.con();
    for k in ["a", "b", "c"] {
        setbits(&mut con, k, 0..50);
    }
    assert_eq!(info_value(&mut con, "keys_cached"), 3);
    wait_for("idle eviction", || info_value(&mut con, "keys_cached") == 0);
    assert_eq!(info_value(&mut con, "keys_total"), 3);
    assert_eq!(bitcount(&mut con, "b"), 50);
    assert_eq!(info_value(&mut con, "keys_cached"), 1);
    let bit: i64 = con.getbit("c", 49).expect("GETBIT");
    assert_eq!(bit, 1);
}

#[test]
fn deadlines_survive_restarts_and_expire_while_down() {
    let mut s = Server::start(&["-save-every", "100ms"]);
    let mut con = s.con();
    setbits(&mut con, "long", 0..3);
    setbits(&mut con, "short", 0..3);
    std::thread::sleep(Duration::from_millis(400));
    let _: i64 = con.expire("long", 100).expect("EXPIRE");
    let _: i64 = con.pexpire("short", 300).expect("PEXPIRE");
    s.kill();
    std::thread::sleep(Duration::from_millis(500));
    s.restart();
    let mut con = s.con();
    let ttl: i64 = con.ttl("long").expect("TTL");
    assert!((98..=100).contains(&ttl), "{ttl}");
    let exists: i64 = con.exists("short").expect("EXISTS");
    assert_eq!(exists, 0);
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    assert_eq!(n, 1);
}
