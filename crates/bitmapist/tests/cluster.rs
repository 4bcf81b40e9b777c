//! The Redis Cluster store against real clusters (`redis-server --cluster-enabled yes`,
//! made with `redis-cli --cluster create`): the Redis store's own test bodies, keys spread
//! over every primary, MOVED/ASK redirections, a primary killed and failed over, URL
//! errors, and Python bitmapist marking through redis-py's `RedisCluster`.
//!
//! Most tests share one 3-primary cluster per run (distinct key prefixes); the redirection
//! and failover tests start clusters of their own because they change the topology.

use crate::common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, CohortSpec, Error, MarkOptions, TimeGroup};
use bitmapist::{ClusterStore, KeyWrite, Store, StoreUrl};
use chrono::{DateTime, TimeZone, Utc};
use common::redis_cluster::{RedisCluster, shared, shared_raw_connection};
use common::redis_server::{RedisServer, free_port};
use common::store_cases as cases;

async fn shared_store() -> ClusterStore {
    ClusterStore::connect(&shared().0)
        .await
        .expect("connect to the shared cluster")
}

#[tokio::test]
async fn bits_are_laid_out_as_python_bitmapist_lays_them_out() {
    let store = shared_store().await;
    let mut raw = shared_raw_connection();
    cases::bits_are_laid_out_as_python_bitmapist_lays_them_out(&store, &mut raw, "layout:").await;
}

#[tokio::test]
async fn clearing_a_bit_creates_a_zero_string() {
    let store = shared_store().await;
    let mut raw = shared_raw_connection();
    cases::clearing_a_bit_creates_a_zero_string(&store, &mut raw, "clear:").await;
}

#[tokio::test]
async fn a_key_of_another_type_is_named_in_the_error() {
    let store = shared_store().await;
    let mut raw = shared_raw_connection();
    cases::a_key_of_another_type_is_named_in_the_error(&store, &mut raw, "type:").await;
}

#[tokio::test]
async fn keys_delete_and_delete_prefix() {
    let store = shared_store().await;
    cases::keys_delete_and_delete_prefix(&store, "listing:").await;
}

#[test]
fn agrees_with_the_memory_store() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = rt.block_on(shared_store());
    cases::agrees_with_the_memory_store(&rt, &store, "agree:", 24);
}

/// Keys of one event land on every primary (no hash tags), and listing finds each of them
/// on the node that holds it: routing, not luck.
#[tokio::test]
async fn keys_spread_over_every_primary_and_listing_finds_them_all() {
    let store = shared_store().await;
    let bm = Bitmapist::builder()
        .store(Arc::new(store.clone()))
        .key_prefix("spread_")
        .open()
        .await
        .expect("open");
    let start = Utc
        .with_ymd_and_hms(2025, 1, 1, 12, 0, 0)
        .single()
        .expect("valid");
    let marks: Vec<(String, u32, chrono::DateTime<Utc>)> = (0..60u32)
        .map(|d| {
            (
                format!("e{}", d % 4),
                d * 7,
                start + chrono::Duration::days(i64::from(d)),
            )
        })
        .collect();
    let n = bm
        .mark_events(
            marks.iter().map(|(e, u, t)| (e.as_str(), *u, *t)),
            MarkOptions::default(),
        )
        .await
        .expect("marks");
    assert_eq!(n, 60);
    let listed = store.keys("spread_").await.expect("keys");
    // Each node's own keys, asked of the node itself.
    let mut per_node = Vec::new();
    let mut union = BTreeSet::new();
    for &port in &shared().1 {
        let mut conn = RedisServer::connection_to(port);
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("spread_*")
            .query(&mut conn)
            .expect("KEYS on one node");
        keys.sort();
        per_node.push((port, keys.len()));
        union.extend(keys);
    }
    assert!(
        per_node.iter().all(|(_, n)| *n > 0),
        "every primary holds some keys: {per_node:?}"
    );
    assert_eq!(listed, union.into_iter().collect::<Vec<_>>());
    // 60 day keys, and week and month keys.
    assert!(listed.len() > 60 + 4 * 9, "{}", listed.len());
    assert_eq!(
        bm.event_names(None).await.expect("names"),
        vec!["e0", "e1", "e2", "e3"]
    );
    // A year read is the OR of twelve month keys in different slots.
    let year = bm
        .get_event_data("e1", TimeGroup::Years, start)
        .expect("year");
    assert_eq!(year.count().await.expect("count"), 15);
    assert_eq!(
        bm.delete_event("e1").await.expect("delete"),
        listed.len() as u64 / 4
    );
    assert_eq!(year.count().await.expect("count"), 0);
}

/// A URL that names no cluster, or a Redis without cluster mode, fails at connect with the
/// URL (password masked) in the message; bad URLs fail before connecting.
#[tokio::test]
async fn connection_errors_name_the_cluster() {
    let closed = free_port();
    let url =
        format!("redis+cluster://:secret@127.0.0.1:{closed}?connect_timeout_ms=200&timeout_ms=500");
    let started = Instant::now();
    let err = ClusterStore::connect(&url)
        .await
        .expect_err("nothing listens");
    eprintln!("closed port ({:?}): {err}", started.elapsed());
    let shown = err.to_string();
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    assert!(shown.contains(&closed.to_string()), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");

    let plain = RedisServer::start();
    let err = ClusterStore::connect(&format!(
        "redis+cluster://127.0.0.1:{}?timeout_ms=1000",
        plain.port()
    ))
    .await
    .expect_err("not a cluster");
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");

    for bad in [
        "redis+cluster://",
        "redis+cluster://h:1/2",
        "redis+cluster://h:1?retries=3",
    ] {
        assert!(
            matches!(bad.parse::<StoreUrl>(), Err(Error::InvalidUrl { .. })),
            "{bad}"
        );
        assert!(matches!(
            Bitmapist::open(bad).await,
            Err(Error::InvalidUrl { .. })
        ));
    }
    // The shared cluster through every way a URL is given.
    let url = &shared().0;
    assert!(matches!(url.parse::<StoreUrl>(), Ok(StoreUrl::Cluster(_))));
    let bm = Bitmapist::open(url).await.expect("open by URL");
    assert_eq!(bm.store().describe(), *url);
    let config =
        bitmapist::Config::from_vars(|name| (name == "BITMAPIST_REDIS_URL").then(|| url.clone()))
            .expect("config");
    let bm = config.open().await.expect("open from the environment");
    assert!(bm.store().describe().starts_with("redis+cluster://"));
}

/// Slot ownership moves while the store holds a stale slot map: during the migration the
/// old owner answers ASK for the moved key, afterwards MOVED; reads and writes follow both.
#[tokio::test]
async fn moved_and_ask_redirections_are_followed() {
    let cluster = RedisCluster::start(3, 0);
    let store = ClusterStore::connect(&cluster.url())
        .await
        .expect("connect");
    let key = "trackist_user:logged_in_2025-1-1".to_string();
    store
        .write(&[KeyWrite {
            key: key.clone(),
            value: true,
            offsets: vec![1, 2, 3],
        }])
        .await
        .expect("write");
    let mut raw = cluster.raw_connection();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&key)
        .query(&mut raw)
        .expect("KEYSLOT");
    let (source, target) = cluster.slot_owner_and_other(slot);

    // Migrating: the key moves, the slot does not yet: ASK.
    cluster.set_slot_migrating(slot, source, target);
    cluster.migrate_key(source, target, &key);
    assert_eq!(
        store
            .count(std::slice::from_ref(&key))
            .await
            .expect("count after ASK"),
        vec![3]
    );
    store
        .write(&[KeyWrite::set(key.clone(), 4)])
        .await
        .expect("write after ASK");

    // Done: the slot belongs to the target: MOVED.
    cluster.finish_migration(slot, target);
    assert_eq!(
        store
            .count(std::slice::from_ref(&key))
            .await
            .expect("count after MOVED"),
        vec![4]
    );
    store
        .write(&[KeyWrite::set(key.clone(), 5)])
        .await
        .expect("write after MOVED");
    let got = store.get(std::slice::from_ref(&key)).await.expect("get");
    let ids: Vec<u32> = got[0].as_ref().expect("exists").iter().collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        store.keys("trackist_").await.expect("keys"),
        vec![key.clone()]
    );
    let mut direct = RedisServer::connection_to(target);
    let on_target: i64 = redis::cmd("BITCOUNT")
        .arg(&key)
        .query(&mut direct)
        .expect("BITCOUNT on the new owner");
    assert_eq!(on_target, 5);
}

/// A batch over many slots (so over every primary, several slots in each pipeline) while
/// one slot migrates: keys of that slot already moved answer ASK, the others of the slot
/// are still served by the old owner, and after the move the store's stale table gets
/// MOVED. Each key's writes (set, clear, set again) land in order; every key ends up as a
/// model says.
#[tokio::test]
async fn a_batch_spanning_slots_follows_redirections_in_order() {
    let cluster = RedisCluster::start(3, 0);
    let store = ClusterStore::connect(&cluster.url())
        .await
        .expect("connect");
    // 120 keys spread over slots, and 6 sharing one slot through a hash tag.
    let mut keys: Vec<String> = (0..120).map(|i| format!("batch:k{i}")).collect();
    let tagged: Vec<String> = (0..6).map(|i| format!("batch:{{mig}}{i}")).collect();
    keys.extend(tagged.iter().cloned());
    let round = |base: u32| -> Vec<KeyWrite> {
        let mut writes = Vec::new();
        for key in &keys {
            writes.push(KeyWrite::set(key.clone(), base + 2));
            writes.push(KeyWrite {
                key: key.clone(),
                value: false,
                offsets: vec![base + 1, base + 2],
            });
            writes.push(KeyWrite {
                key: key.clone(),
                value: true,
                offsets: vec![base + 1, base + 3],
            });
        }
        writes
    };
    // The model: each round leaves bits base+1 and base+3 set.
    let expect = |rounds: &[u32]| -> Vec<u32> {
        let mut bits: Vec<u32> = rounds.iter().flat_map(|b| [b + 1, b + 3]).collect();
        bits.sort_unstable();
        bits
    };
    let check = |got: Vec<Option<bitmapist::Bitmap>>, rounds: &[u32]| {
        for (key, bitmap) in keys.iter().zip(got) {
            let ids: Vec<u32> = bitmap.expect("exists").iter().collect();
            assert_eq!(ids, expect(rounds), "{key}");
        }
    };
    store.write(&round(0)).await.expect("write before");

    let mut raw = cluster.raw_connection();
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&tagged[0])
        .query(&mut raw)
        .expect("KEYSLOT");
    let (source, target) = cluster.slot_owner_and_other(slot);
    cluster.set_slot_migrating(slot, source, target);
    // Half of the slot's keys moved: those answer ASK, the rest stay on the source.
    for key in &tagged[..3] {
        cluster.migrate_key(source, target, key);
    }
    store
        .write(&round(10))
        .await
        .expect("write during the migration");
    check(store.get(&keys).await.expect("get during"), &[0, 10]);

    for key in &tagged[3..] {
        cluster.migrate_key(source, target, key);
    }
    cluster.finish_migration(slot, target);
    // The store still holds the old table: MOVED for the slot, then resent.
    store.write(&round(20)).await.expect("write after");
    check(store.get(&keys).await.expect("get after"), &[0, 10, 20]);
    let counts = store.count(&keys).await.expect("count");
    assert!(counts.iter().all(|&n| n == 6), "{counts:?}");
    let mut direct = RedisServer::connection_to(target);
    for key in &tagged {
        let n: i64 = redis::cmd("BITCOUNT")
            .arg(key)
            .query(&mut direct)
            .expect("BITCOUNT on the new owner");
        assert_eq!(n, 6, "{key} lives on the new owner");
    }
}

/// Marks `uid` for every event on `day`, in one batch.
async fn mark_all(
    bm: &Bitmapist,
    events: &[String],
    day: DateTime<Utc>,
    uid: u32,
) -> bitmapist::Result<u64> {
    bm.mark_events(
        events.iter().map(|e| (e.as_str(), uid, day)),
        MarkOptions::default(),
    )
    .await
}

/// A primary is killed while two clients mark: one whose calls give up after 1 s counts
/// errors during the failover, one with the default 20 s limit rides through it; once the
/// replica is promoted both mark again, and every mark acknowledged after the failover (and
/// every mark replicated before it) is there. Nothing panics.
#[test]
fn a_failover_is_survived() {
    let mut cluster = RedisCluster::start(3, 1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = cluster.url();
    let impatient_url = format!("{url}?timeout_ms=1000&connect_timeout_ms=200");
    let open = |url: String| {
        rt.block_on(Bitmapist::builder().url(url).key_prefix("fo_").open())
            .expect("open")
    };
    let patient = open(url.clone());
    let impatient = open(impatient_url);
    let day = Utc
        .with_ymd_and_hms(2025, 3, 3, 12, 0, 0)
        .single()
        .expect("valid");
    // 24 events: their day, week and month keys cover every primary.
    let events: Arc<Vec<String>> = Arc::new((0..24).map(|i| format!("ev{i}")).collect());
    for uid in 0..50 {
        rt.block_on(mark_all(&patient, &events, day, uid))
            .expect("marks before");
    }
    cluster.wait_replicated(Duration::from_secs(10));

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let marker = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (bm, events) = (impatient.clone(), events.clone());
        rt.spawn(async move {
            let mut uid = 1000u32;
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match mark_all(&bm, &events, day, uid).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        errors.push(e.to_string());
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                uid += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            errors
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let victim = cluster.primary_ports()[0];
    let killed_at = Instant::now();
    cluster.kill(victim);
    // The patient client's call starts while the primary is dead and waits it out.
    if let Err(e) = rt.block_on(mark_all(&patient, &events, day, 777)) {
        panic!("a call with the default time limit rides through the failover: {e}");
    }
    eprintln!("patient mark done {:?} after the kill", killed_at.elapsed());
    cluster.wait_failover(victim, Duration::from_secs(30));
    eprintln!("failover seen {:?} after the kill", killed_at.elapsed());
    let ok_at_failover = ok.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ok.load(Ordering::Relaxed) < ok_at_failover + 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let errors = rt.block_on(marker).expect("the marking task did not panic");
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!(
        "impatient client: {ok} batches ok, {failed} failed; first error: {:?}",
        errors.first()
    );
    assert!(failed > 0, "the 1 s client saw the failover");
    assert!(
        ok >= ok_at_failover + 10,
        "marking resumed after the failover"
    );
    assert!(
        errors.iter().all(|e| e.contains("redis+cluster://")),
        "errors name the store: {errors:?}"
    );

    // Everything replicated before the kill, the patient mark and a later one are there
    // (marks acknowledged by the victim just before it died may be lost: replication is
    // asynchronous).
    rt.block_on(async {
        let later = 900_000u32;
        mark_all(&impatient, &events, day, later)
            .await
            .expect("a mark after the failover");
        for e in events.iter() {
            let q = patient
                .get_event_data(e, TimeGroup::Days, day)
                .expect("query");
            let ids: BTreeSet<u32> = q.ids().await.expect("ids").collect();
            for uid in (0..50).chain([777, later]) {
                assert!(ids.contains(&uid), "{e}: uid {uid} missing");
            }
        }
    });
}

/// Python bitmapist marks through redis-py's `RedisCluster` into the cluster and through
/// `redis.Redis` into a single server, the same marks; our counts and cohorts agree
/// between the two, and Python reads back what we mark on the cluster.
#[tokio::test]
async fn python_bitmapist_on_a_cluster_and_on_one_redis_agree() {
    let Some(python) = std::env::var_os("BITMAPIST_PYTHON") else {
        eprintln!("BITMAPIST_PYTHON is not set: skipping the Python interop test");
        return;
    };
    let single = RedisServer::start();
    let cluster_ports = &shared().1;
    let script = r#"
import sys, random
from datetime import datetime, timedelta
import bitmapist, redis
from redis.cluster import RedisCluster
single_port, cluster_port = int(sys.argv[1]), int(sys.argv[2])
bitmapist.setup_redis("single", "127.0.0.1", single_port)
bitmapist.setup_redis("cluster", "127.0.0.1", cluster_port, redis_client=RedisCluster)
rng = random.Random(7)
start = datetime(2024, 12, 20, 12)
for i in range(1500):
    uid = rng.randrange(400)
    ev = rng.choice(["py:signup", "py:active", "py:buy"])
    t = start + timedelta(hours=rng.randrange(24 * 30))
    for system in ("single", "cluster"):
        bitmapist.mark_event(ev, uid, now=t, system=system, track_hourly=True)
# What we marked on the cluster, read by Python (BITCOUNT on one key works on a cluster).
print(bitmapist.DayEvents("rs:mark", 2025, 1, 5, system="cluster").get_count())
"#;
    let cluster_store = shared_store().await;
    let rust_side = Bitmapist::builder()
        .store(Arc::new(cluster_store.clone()))
        .open()
        .await
        .expect("open cluster");
    let jan5 = Utc
        .with_ymd_and_hms(2025, 1, 5, 9, 0, 0)
        .single()
        .expect("valid");
    rust_side.delete_event("rs:mark").await.expect("clean");
    for uid in [3u32, 30, 300] {
        rust_side
            .mark_event("rs:mark", uid)
            .at(jan5)
            .await
            .expect("mark");
    }
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(single.port().to_string())
        .arg(cluster_ports[0].to_string())
        .output()
        .expect("run the Python interpreter");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");

    let on_single = Bitmapist::open(&single.url()).await.expect("open single");
    let keys = on_single.store().keys("trackist_py:").await.expect("keys");
    assert!(keys.len() > 100, "{}", keys.len());
    assert_eq!(
        cluster_store
            .keys("trackist_py:")
            .await
            .expect("cluster keys"),
        keys
    );
    assert_eq!(
        cluster_store.count(&keys).await.expect("count"),
        on_single.store().count(&keys).await.expect("count")
    );
    let now = Utc
        .with_ymd_and_hms(2025, 1, 19, 23, 0, 0)
        .single()
        .expect("valid");
    for (group, rows) in [
        (TimeGroup::Days, 30),
        (TimeGroup::Weeks, 6),
        (TimeGroup::Months, 3),
        (TimeGroup::Years, 2),
        (TimeGroup::Hours, 48),
    ] {
        for replacement in [false, true] {
            let spec = CohortSpec::new("py:signup", "py:active")
                .and("py:buy")
                .time_group(group)
                .rows(rows)
                .cols(rows)
                .with_replacement(replacement)
                .now(now);
            let a = rust_side.get_cohort(&spec).await.expect("cluster cohort");
            let b = on_single.get_cohort(&spec).await.expect("single cohort");
            assert_eq!(a.cohort, b.cohort, "{group}");
            assert_eq!(a.totals, b.totals, "{group}");
            assert!(a.total > 0, "{group}: the cohort has users");
        }
    }
}
