//! Test bodies shared by the Redis store and the Redis Cluster store: the same assertions
//! run against one `redis-server` (tests/redis_store.rs) and a real cluster (tests/cluster.rs).
//!
//! Every body takes the store under test, a raw connection for checking what is really
//! stored (`redis::Connection` or a slot-routed `redis::cluster::ClusterConnection`), and
//! a key namespace, so that several bodies can share one server or cluster.

use std::cell::Cell;
use std::time::Instant;

use bitmapist::Bitmap;
use bitmapist::Error;
use bitmapist::{KeyWrite, MemoryStore, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis::ConnectionLike;
use roaring::RoaringBitmap;

/// `GET key` on the raw connection.
pub fn raw_get(conn: &mut dyn ConnectionLike, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(conn).expect("raw GET")
}

/// Python bitmapist sends `SETBIT key n 1`; the store must read the same bits, and what the
/// store writes must be the bytes Python would read.
pub async fn bits_are_laid_out_as_python_bitmapist_lays_them_out(
    store: &dyn Store,
    raw: &mut dyn ConnectionLike,
    ns: &str,
) {
    let ids: [u32; 9] = [0, 1, 7, 8, 9, 15, 1000, 123_457, 1 << 24];

    // Python -> store.
    let key = format!("{ns}p1:trackist_user:logged_in_2024-12-30");
    for &id in &ids {
        let _: i64 = redis::cmd("SETBIT")
            .arg(&key)
            .arg(id)
            .arg(1)
            .query(raw)
            .expect("raw SETBIT");
    }
    let got = store.get(std::slice::from_ref(&key)).await.expect("get");
    let bitmap = got[0].as_ref().expect("the key exists");
    assert_eq!(bitmap.iter().collect::<Vec<_>>(), ids.to_vec());
    assert_eq!(bitmap.byte_len(), (1 << 24) / 8 + 1);
    assert_eq!(
        store
            .count(std::slice::from_ref(&key))
            .await
            .expect("count"),
        vec![ids.len() as u64]
    );
    for &id in &ids {
        assert!(store.contains(&key, id).await.expect("contains"), "id {id}");
        assert!(!store.contains(&key, id + 1).await.expect("contains") || ids.contains(&(id + 1)));
    }
    assert!(
        !store
            .contains(&format!("{ns}p1:missing"), 3)
            .await
            .expect("contains")
    );

    // Store -> Python.
    let key2 = format!("{ns}p1:trackist_user:signed_up_2024-12");
    let written: Vec<u32> = vec![3, 8, 9, 65, 4095, 99_999];
    store
        .write(&[KeyWrite {
            key: key2.clone(),
            value: true,
            offsets: written.iter().rev().copied().collect(),
        }])
        .await
        .expect("write");
    let bytes = raw_get(raw, &key2).expect("the key exists");
    assert_eq!(bytes.len(), 99_999 / 8 + 1);
    for n in 0..(bytes.len() as u32 * 8) {
        let bit = bytes[(n / 8) as usize] >> (7 - n % 8) & 1 == 1;
        assert_eq!(bit, written.contains(&n), "bit {n}");
    }
    let pycount: i64 = redis::cmd("BITCOUNT")
        .arg(&key2)
        .query(raw)
        .expect("BITCOUNT");
    assert_eq!(pycount, written.len() as i64);
}

/// `SETBIT key n 0` on a missing key creates `n / 8 + 1` zero bytes, and the store reports
/// that length.
pub async fn clearing_a_bit_creates_a_zero_string(
    store: &dyn Store,
    raw: &mut dyn ConnectionLike,
    ns: &str,
) {
    let k = |name: &str| format!("{ns}{name}");
    store
        .write(&[KeyWrite {
            key: k("p2:cleared"),
            value: false,
            offsets: vec![100],
        }])
        .await
        .expect("write");
    assert_eq!(raw_get(raw, &k("p2:cleared")), Some(vec![0u8; 13]));
    let got = store
        .get(&[k("p2:cleared"), k("p2:missing")])
        .await
        .expect("get");
    let b = got[0].as_ref().expect("the key exists");
    assert_eq!((b.byte_len(), b.count()), (13, 0));
    assert!(got[1].is_none());
    assert_eq!(
        store
            .count(&[k("p2:cleared"), k("p2:missing")])
            .await
            .expect("count"),
        vec![0, 0]
    );
    assert_eq!(
        store.keys(&k("p2:")).await.expect("keys"),
        vec![k("p2:cleared")]
    );

    // put: a length-0 bitmap deletes; otherwise the exact length is kept.
    let padded = Bitmap::with_byte_len([1u32].into_iter().collect(), 4);
    store
        .put(&[
            (k("p2:put"), padded.clone()),
            (k("p2:cleared"), Bitmap::new()),
        ])
        .await
        .expect("put");
    assert_eq!(raw_get(raw, &k("p2:put")), Some(vec![0b0100_0000, 0, 0, 0]));
    assert_eq!(raw_get(raw, &k("p2:cleared")), None);
    assert_eq!(
        store.get(&[k("p2:put")]).await.expect("get"),
        vec![Some(padded)]
    );
}

/// A key of another Redis type is reported as a corrupt bitmap, naming the key.
pub async fn a_key_of_another_type_is_named_in_the_error(
    store: &dyn Store,
    raw: &mut dyn ConnectionLike,
    ns: &str,
) {
    let list = format!("{ns}p2:list");
    let ok = format!("{ns}p2:ok");
    let _: i64 = redis::cmd("LPUSH")
        .arg(&list)
        .arg("x")
        .query(raw)
        .expect("LPUSH");
    store
        .write(&[KeyWrite::set(ok.clone(), 1)])
        .await
        .expect("write");
    let keys = [ok.clone(), list.clone()];
    for err in [
        store.get(&keys).await.expect_err("get"),
        store.count(&keys).await.expect_err("count"),
        store.contains(&list, 1).await.expect_err("contains"),
        store
            .write(&[KeyWrite::set(list.clone(), 1)])
            .await
            .expect_err("write"),
    ] {
        match &err {
            Error::CorruptBitmap { key, .. } => assert_eq!(key, &list),
            other => panic!("expected CorruptBitmap, got {other:?}"),
        }
        assert!(err.to_string().contains(&list), "{err}");
    }
    // Other keys are still fine, and listing / deleting do not care about types.
    assert_eq!(
        store.count(std::slice::from_ref(&ok)).await.expect("count"),
        vec![1]
    );
    assert_eq!(store.delete(&keys).await.expect("delete"), 2);
}

/// Listing uses SCAN with the prefix's glob characters escaped; deletes count what existed.
pub async fn keys_delete_and_delete_prefix(store: &dyn Store, ns: &str) {
    let k = |name: &str| format!("{ns}{name}");
    let bulk: Vec<String> = (0..3000).map(|i| k(&format!("p3:bulk:{i:05}"))).collect();
    let writes: Vec<KeyWrite> = bulk.iter().map(|k| KeyWrite::set(k.clone(), 1)).collect();
    store.write(&writes).await.expect("write");

    let globby = [k("p3:a*b?[x]1"), k("p3:a*b?[x]2")];
    // Each decoy matches the unescaped pattern `p3:a*b?[x]*`, or part of it.
    let decoys = [
        k("p3:aXbYx1"),
        k("p3:aZZbQx"),
        k("p3:a*b?x"),
        k("p3:a*b?[y]"),
        k("p3:ab?[x]"),
        k("p3:back\\slash"),
        k("p3:backXslash"),
    ];
    let others: Vec<KeyWrite> = globby
        .iter()
        .chain(&decoys)
        .map(|k| KeyWrite::set(k.clone(), 3))
        .collect();
    store.write(&others).await.expect("write");

    let started = Instant::now();
    assert_eq!(store.keys(&k("p3:bulk:")).await.expect("keys"), bulk);
    eprintln!("SCAN of 3000 of 3009 keys: {:?}", started.elapsed());
    assert_eq!(
        store.keys(&k("p3:a*b?[x]")).await.expect("keys"),
        globby.to_vec()
    );
    assert_eq!(
        store.keys(&k("p3:back\\")).await.expect("keys"),
        vec![k("p3:back\\slash")]
    );
    assert_eq!(
        store.keys(&k("p3:zzz")).await.expect("keys"),
        Vec::<String>::new()
    );
    assert_eq!(store.keys(ns).await.expect("keys").len(), 3009);

    // delete counts only keys that existed.
    assert_eq!(
        store
            .delete(&[k("p3:a*b?[x]1"), k("p3:nothing"), k("p3:a*b?[x]1")])
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        store
            .delete_prefix(&k("p3:a*b?[x]"))
            .await
            .expect("delete_prefix"),
        1
    );
    assert_eq!(
        store
            .delete_prefix(&k("p3:bulk:"))
            .await
            .expect("delete_prefix"),
        3000
    );
    assert_eq!(
        store
            .delete_prefix(&k("p3:bulk:"))
            .await
            .expect("delete_prefix"),
        0
    );
    let mut left = decoys.to_vec();
    left.sort();
    assert_eq!(store.keys(&k("p3:")).await.expect("keys"), left);
    assert_eq!(store.delete(&[]).await.expect("delete"), 0);
    assert_eq!(store.get(&[]).await.expect("get"), vec![]);
}

#[derive(Clone, Debug)]
enum Op {
    Write {
        key: usize,
        value: bool,
        offsets: Vec<u32>,
    },
    Put {
        key: usize,
        offsets: Vec<u32>,
        byte_len: u32,
    },
    Delete {
        keys: Vec<usize>,
    },
    DeletePrefix {
        prefix: usize,
    },
}

const KEYS: [&str; 5] = ["p4:a", "p4:ab", "p4:a*", "p4:b[1]", "p4:c"];
const PREFIXES: [&str; 5] = ["p4:", "p4:a", "p4:a*", "p4:b[", "p4:x"];

fn offset() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..64, 2 => 0u32..5000, 1 => 0u32..(1 << 20)]
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        5 => (key.clone(), any::<bool>(), prop::collection::vec(offset(), 0..6))
            .prop_map(|(key, value, offsets)| Op::Write { key, value, offsets }),
        2 => (key.clone(), prop::collection::vec(offset(), 0..6), 0u32..40)
            .prop_map(|(key, offsets, byte_len)| Op::Put { key, offsets, byte_len }),
        1 => prop::collection::vec(key, 0..3).prop_map(|keys| Op::Delete { keys }),
        1 => (0..PREFIXES.len()).prop_map(|prefix| Op::DeletePrefix { prefix }),
    ]
}

/// Applies `op` to both stores (keys under `ns`); the answers (delete counts) must agree.
async fn apply(
    op: &Op,
    store: &dyn Store,
    memory: &MemoryStore,
    ns: &str,
) -> Result<(), TestCaseError> {
    let k = |i: usize| format!("{ns}{}", KEYS[i]);
    match op {
        Op::Write {
            key,
            value,
            offsets,
        } => {
            let w = [KeyWrite {
                key: k(*key),
                value: *value,
                offsets: offsets.clone(),
            }];
            store.write(&w).await.expect("store write");
            memory.write(&w).await.expect("memory write");
        }
        Op::Put {
            key,
            offsets,
            byte_len,
        } => {
            let bits: RoaringBitmap = offsets.iter().copied().collect();
            let e = [(k(*key), Bitmap::with_byte_len(bits, *byte_len))];
            store.put(&e).await.expect("store put");
            memory.put(&e).await.expect("memory put");
        }
        Op::Delete { keys } => {
            let keys: Vec<String> = keys.iter().map(|&i| k(i)).collect();
            prop_assert_eq!(
                store.delete(&keys).await.expect("store delete"),
                memory.delete(&keys).await.expect("memory delete")
            );
        }
        Op::DeletePrefix { prefix } => {
            let p = format!("{ns}{}", PREFIXES[*prefix]);
            prop_assert_eq!(
                store.delete_prefix(&p).await.expect("store delete_prefix"),
                memory
                    .delete_prefix(&p)
                    .await
                    .expect("memory delete_prefix")
            );
        }
    }
    Ok(())
}

/// Every read agrees between the two stores.
async fn compare(store: &dyn Store, memory: &MemoryStore, ns: &str) -> Result<(), TestCaseError> {
    let keys: Vec<String> = KEYS.iter().map(|k| format!("{ns}{k}")).collect();
    prop_assert_eq!(
        store.get(&keys).await.expect("get"),
        memory.get(&keys).await.expect("get")
    );
    prop_assert_eq!(
        store.count(&keys).await.expect("count"),
        memory.count(&keys).await.expect("count")
    );
    for prefix in PREFIXES {
        let p = format!("{ns}{prefix}");
        prop_assert_eq!(
            store.keys(&p).await.expect("keys"),
            memory.keys(&p).await.expect("keys"),
            "prefix {}",
            p
        );
    }
    for key in &keys {
        for offset in [0, 1, 7, 63, 4999] {
            prop_assert_eq!(
                store.contains(key, offset).await.expect("contains"),
                memory.contains(key, offset).await.expect("contains")
            );
        }
    }
    Ok(())
}

/// Random sequences of writes, puts and deletes leave the store and the memory store equal.
/// Each case works under its own namespace `{ns}c{n}:`.
pub fn agrees_with_the_memory_store(
    rt: &tokio::runtime::Runtime,
    store: &dyn Store,
    ns: &str,
    cases: u32,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let n = Cell::new(0u32);
    let started = Instant::now();
    runner
        .run(&prop::collection::vec(op(), 1..24), |ops| {
            n.set(n.get() + 1);
            let case_ns = format!("{ns}c{}:", n.get());
            let memory = MemoryStore::new();
            rt.block_on(async {
                for op in &ops {
                    apply(op, store, &memory, &case_ns).await?;
                }
                compare(store, &memory, &case_ns).await
            })
        })
        .expect("the store and the memory store agree");
    eprintln!("{cases} random cases: {:?}", started.elapsed());
}
