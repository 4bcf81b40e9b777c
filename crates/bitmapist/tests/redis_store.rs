//! The Redis store against real `redis-server` processes: bit layout shared with Python
//! bitmapist, SETBIT length semantics, SCAN listing, agreement with the memory store,
//! passwords, databases and TLS.

mod common;

use std::time::Instant;

use bitmapist::Bitmap;
use bitmapist::Error;
use bitmapist::store::{KeyWrite, MemoryStore, RedisStore, Store};
use common::redis_server::{RedisServer, free_port};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use roaring::RoaringBitmap;

fn s(k: &str) -> String {
    k.to_string()
}

fn raw_get(conn: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(conn).expect("raw GET")
}

/// Python bitmapist sends `SETBIT key n 1`; the store must read the same bits, and what the
/// store writes must be the bytes Python would read.
#[tokio::test]
async fn bits_are_laid_out_as_python_bitmapist_lays_them_out() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let ids: [u32; 9] = [0, 1, 7, 8, 9, 15, 1000, 123_457, 1 << 24];

    // Python -> store.
    let key = "p1:trackist_user:logged_in_2024-12-30";
    for &id in &ids {
        let _: i64 = redis::cmd("SETBIT")
            .arg(key)
            .arg(id)
            .arg(1)
            .query(&mut raw)
            .expect("raw SETBIT");
    }
    let got = store.get(&[s(key)]).await.expect("get");
    let bitmap = got[0].as_ref().expect("the key exists");
    assert_eq!(bitmap.iter().collect::<Vec<_>>(), ids.to_vec());
    assert_eq!(bitmap.byte_len(), (1 << 24) / 8 + 1);
    assert_eq!(
        store.count(&[s(key)]).await.expect("count"),
        vec![ids.len() as u64]
    );
    for &id in &ids {
        assert!(store.contains(key, id).await.expect("contains"), "id {id}");
        assert!(!store.contains(key, id + 1).await.expect("contains") || ids.contains(&(id + 1)));
    }
    assert!(!store.contains("p1:missing", 3).await.expect("contains"));

    // Store -> Python.
    let key2 = "p1:trackist_user:signed_up_2024-12";
    let written: Vec<u32> = vec![3, 8, 9, 65, 4095, 99_999];
    store
        .write(&[KeyWrite {
            key: s(key2),
            value: true,
            offsets: written.iter().rev().copied().collect(),
        }])
        .await
        .expect("write");
    let bytes = raw_get(&mut raw, key2).expect("the key exists");
    assert_eq!(bytes.len(), 99_999 / 8 + 1);
    for n in 0..(bytes.len() as u32 * 8) {
        let bit = bytes[(n / 8) as usize] >> (7 - n % 8) & 1 == 1;
        assert_eq!(bit, written.contains(&n), "bit {n}");
    }
    let pycount: i64 = redis::cmd("BITCOUNT")
        .arg(key2)
        .query(&mut raw)
        .expect("BITCOUNT");
    assert_eq!(pycount, written.len() as i64);
}

/// The highest id Redis allows (2^32 - 1, a 512 MiB string), read with GETBIT and BITCOUNT
/// only: a full GET of 512 MiB would take many seconds in a debug build.
#[tokio::test]
async fn the_highest_user_id_works() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let key = "p1:top";
    store
        .write(&[KeyWrite::set(s(key), u32::MAX), KeyWrite::set(s(key), 5)])
        .await
        .expect("write");
    let len: u64 = redis::cmd("STRLEN")
        .arg(key)
        .query(&mut raw)
        .expect("STRLEN");
    assert_eq!(len, 1 << 29);
    let last: i64 = redis::cmd("GETBIT")
        .arg(key)
        .arg(u32::MAX)
        .query(&mut raw)
        .expect("GETBIT");
    assert_eq!(last, 1);
    assert!(store.contains(key, u32::MAX).await.expect("contains"));
    assert!(!store.contains(key, u32::MAX - 1).await.expect("contains"));
    assert_eq!(store.count(&[s(key)]).await.expect("count"), vec![2]);
    assert_eq!(store.delete(&[s(key)]).await.expect("delete"), 1);
}

/// `SETBIT key n 0` on a missing key creates `n / 8 + 1` zero bytes, and the store reports
/// that length.
#[tokio::test]
async fn clearing_a_bit_creates_a_zero_string() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    store
        .write(&[KeyWrite {
            key: s("p2:cleared"),
            value: false,
            offsets: vec![100],
        }])
        .await
        .expect("write");
    assert_eq!(raw_get(&mut raw, "p2:cleared"), Some(vec![0u8; 13]));
    let got = store
        .get(&[s("p2:cleared"), s("p2:missing")])
        .await
        .expect("get");
    let b = got[0].as_ref().expect("the key exists");
    assert_eq!((b.byte_len(), b.count()), (13, 0));
    assert!(got[1].is_none());
    assert_eq!(
        store
            .count(&[s("p2:cleared"), s("p2:missing")])
            .await
            .expect("count"),
        vec![0, 0]
    );
    assert_eq!(
        store.keys("p2:").await.expect("keys"),
        vec![s("p2:cleared")]
    );

    // put: a length-0 bitmap deletes; otherwise the exact length is kept.
    let padded = Bitmap::with_byte_len([1u32].into_iter().collect(), 4);
    store
        .put(&[
            (s("p2:put"), padded.clone()),
            (s("p2:cleared"), Bitmap::new()),
        ])
        .await
        .expect("put");
    assert_eq!(
        raw_get(&mut raw, "p2:put"),
        Some(vec![0b0100_0000, 0, 0, 0])
    );
    assert_eq!(raw_get(&mut raw, "p2:cleared"), None);
    assert_eq!(
        store.get(&[s("p2:put")]).await.expect("get"),
        vec![Some(padded)]
    );
}

/// A key of another Redis type is reported as a corrupt bitmap, naming the key.
#[tokio::test]
async fn a_key_of_another_type_is_named_in_the_error() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    let _: i64 = redis::cmd("LPUSH")
        .arg("p2:list")
        .arg("x")
        .query(&mut raw)
        .expect("LPUSH");
    store
        .write(&[KeyWrite::set(s("p2:ok"), 1)])
        .await
        .expect("write");
    let keys = [s("p2:ok"), s("p2:list")];
    for err in [
        store.get(&keys).await.expect_err("get"),
        store.count(&keys).await.expect_err("count"),
        store.contains("p2:list", 1).await.expect_err("contains"),
        store
            .write(&[KeyWrite::set(s("p2:list"), 1)])
            .await
            .expect_err("write"),
    ] {
        match &err {
            Error::CorruptBitmap { key, .. } => assert_eq!(key, "p2:list"),
            other => panic!("expected CorruptBitmap, got {other:?}"),
        }
        assert!(err.to_string().contains("p2:list"), "{err}");
    }
    // Other keys are still fine, and listing / deleting do not care about types.
    assert_eq!(store.count(&[s("p2:ok")]).await.expect("count"), vec![1]);
    assert_eq!(store.delete(&keys).await.expect("delete"), 2);
}

/// Listing uses SCAN with the prefix's glob characters escaped; deletes count what existed.
#[tokio::test]
async fn keys_delete_and_delete_prefix() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");

    let bulk: Vec<String> = (0..3000).map(|i| format!("p3:bulk:{i:05}")).collect();
    let writes: Vec<KeyWrite> = bulk.iter().map(|k| KeyWrite::set(k.clone(), 1)).collect();
    store.write(&writes).await.expect("write");

    let globby = [s("p3:a*b?[x]1"), s("p3:a*b?[x]2")];
    // Each decoy matches the unescaped pattern `p3:a*b?[x]*`, or part of it.
    let decoys = [
        s("p3:aXbYx1"),
        s("p3:aZZbQx"),
        s("p3:a*b?x"),
        s("p3:a*b?[y]"),
        s("p3:ab?[x]"),
        s("p3:back\\slash"),
        s("p3:backXslash"),
    ];
    let others: Vec<KeyWrite> = globby
        .iter()
        .chain(&decoys)
        .map(|k| KeyWrite::set(k.clone(), 3))
        .collect();
    store.write(&others).await.expect("write");

    let started = Instant::now();
    assert_eq!(store.keys("p3:bulk:").await.expect("keys"), bulk);
    eprintln!("SCAN of 3000 of 3009 keys: {:?}", started.elapsed());
    assert_eq!(
        store.keys("p3:a*b?[x]").await.expect("keys"),
        globby.to_vec()
    );
    assert_eq!(
        store.keys("p3:back\\").await.expect("keys"),
        vec![s("p3:back\\slash")]
    );
    assert_eq!(
        store.keys("p3:zzz").await.expect("keys"),
        Vec::<String>::new()
    );
    assert_eq!(store.keys("").await.expect("keys").len(), 3009);

    // delete counts only keys that existed.
    assert_eq!(
        store
            .delete(&[s("p3:a*b?[x]1"), s("p3:nothing"), s("p3:a*b?[x]1")])
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        store
            .delete_prefix("p3:a*b?[x]")
            .await
            .expect("delete_prefix"),
        1
    );
    assert_eq!(
        store
            .delete_prefix("p3:bulk:")
            .await
            .expect("delete_prefix"),
        3000
    );
    assert_eq!(
        store
            .delete_prefix("p3:bulk:")
            .await
            .expect("delete_prefix"),
        0
    );
    let mut left = decoys.to_vec();
    left.sort();
    assert_eq!(store.keys("p3:").await.expect("keys"), left);
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

/// Applies `op` to both stores; the answers (delete counts) must agree.
async fn apply(op: &Op, redis: &RedisStore, memory: &MemoryStore) -> Result<(), TestCaseError> {
    match op {
        Op::Write {
            key,
            value,
            offsets,
        } => {
            let w = [KeyWrite {
                key: s(KEYS[*key]),
                value: *value,
                offsets: offsets.clone(),
            }];
            redis.write(&w).await.expect("redis write");
            memory.write(&w).await.expect("memory write");
        }
        Op::Put {
            key,
            offsets,
            byte_len,
        } => {
            let bits: RoaringBitmap = offsets.iter().copied().collect();
            let e = [(s(KEYS[*key]), Bitmap::with_byte_len(bits, *byte_len))];
            redis.put(&e).await.expect("redis put");
            memory.put(&e).await.expect("memory put");
        }
        Op::Delete { keys } => {
            let keys: Vec<String> = keys.iter().map(|&k| s(KEYS[k])).collect();
            prop_assert_eq!(
                redis.delete(&keys).await.expect("redis delete"),
                memory.delete(&keys).await.expect("memory delete")
            );
        }
        Op::DeletePrefix { prefix } => {
            prop_assert_eq!(
                redis
                    .delete_prefix(PREFIXES[*prefix])
                    .await
                    .expect("redis delete_prefix"),
                memory
                    .delete_prefix(PREFIXES[*prefix])
                    .await
                    .expect("memory delete_prefix")
            );
        }
    }
    Ok(())
}

/// Every read agrees between the two stores.
async fn compare(redis: &RedisStore, memory: &MemoryStore) -> Result<(), TestCaseError> {
    let keys: Vec<String> = KEYS.iter().map(|k| s(k)).collect();
    prop_assert_eq!(
        redis.get(&keys).await.expect("get"),
        memory.get(&keys).await.expect("get")
    );
    prop_assert_eq!(
        redis.count(&keys).await.expect("count"),
        memory.count(&keys).await.expect("count")
    );
    for prefix in PREFIXES {
        prop_assert_eq!(
            redis.keys(prefix).await.expect("keys"),
            memory.keys(prefix).await.expect("keys"),
            "prefix {}",
            prefix
        );
    }
    for key in KEYS {
        for offset in [0, 1, 7, 63, 4999] {
            prop_assert_eq!(
                redis.contains(key, offset).await.expect("contains"),
                memory.contains(key, offset).await.expect("contains")
            );
        }
    }
    Ok(())
}

/// Random sequences of writes, puts and deletes leave Redis and the memory store equal.
#[test]
fn agrees_with_the_memory_store() {
    let server = RedisServer::start();
    let raw = std::cell::RefCell::new(server.raw_connection());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = rt
        .block_on(RedisStore::connect(&server.url()))
        .expect("connect");
    let mut runner = TestRunner::new(Config {
        cases: 32,
        failure_persistence: None,
        ..Config::default()
    });
    let started = Instant::now();
    runner
        .run(&prop::collection::vec(op(), 1..24), |ops| {
            let _: () = redis::cmd("FLUSHDB")
                .query(&mut *raw.borrow_mut())
                .expect("FLUSHDB");
            let memory = MemoryStore::new();
            rt.block_on(async {
                for op in &ops {
                    apply(op, &redis, &memory).await?;
                }
                compare(&redis, &memory).await
            })
        })
        .expect("Redis and the memory store agree");
    eprintln!("32 random cases: {:?}", started.elapsed());
}

/// A password and a database number in the URL; wrong passwords and closed ports fail at
/// connect, without the password in the message.
#[tokio::test]
async fn password_database_and_connection_errors() {
    let server = RedisServer::start_with(&["--requirepass", "secret"]);
    let mut raw = server.raw_connection();
    let port = server.port();

    let url = format!("redis://:secret@127.0.0.1:{port}/3");
    let store = RedisStore::connect(&url)
        .await
        .expect("connect with the password");
    assert!(!store.describe().contains("secret"), "{}", store.describe());
    assert!(store.describe().contains("***"), "{}", store.describe());
    store
        .write(&[KeyWrite::set(s("p5:k"), 9)])
        .await
        .expect("write");
    assert_eq!(
        raw_get(&mut raw, "p5:k"),
        None,
        "db 0 must not see the write"
    );
    let _: () = redis::cmd("SELECT")
        .arg(3)
        .query(&mut raw)
        .expect("SELECT 3");
    assert_eq!(raw_get(&mut raw, "p5:k"), Some(vec![0, 0b0100_0000]));

    let started = Instant::now();
    let err = RedisStore::connect(&format!("redis://:wrongpass@127.0.0.1:{port}"))
        .await
        .expect_err("wrong password");
    let shown = err.to_string();
    eprintln!("wrong password ({:?}): {shown}", started.elapsed());
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    assert!(!shown.contains("wrongpass"), "{shown}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");

    let err = RedisStore::connect(&server.url())
        .await
        .expect_err("no password");
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");

    let closed = free_port();
    let started = Instant::now();
    let err = RedisStore::connect(&format!("redis://:secret@127.0.0.1:{closed}"))
        .await
        .expect_err("nothing listens there");
    let shown = err.to_string();
    eprintln!("closed port ({:?}): {shown}", started.elapsed());
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains(&closed.to_string()), "{shown}");

    let err = RedisStore::connect("redis://:secret@127.0.0.1:6379/notanumber")
        .await
        .expect_err("bad database");
    assert!(!err.to_string().contains("secret"), "{err}");
}

/// `rediss://...#insecure` against a server with a self-signed certificate.
#[tokio::test]
async fn tls_with_insecure_fragment() {
    let server = RedisServer::start_tls();
    let tls_port = server.tls_port().expect("a TLS port");
    let url = format!("rediss://127.0.0.1:{tls_port}/#insecure");
    let store = RedisStore::connect(&url).await.expect("connect over TLS");
    store
        .write(&[KeyWrite::set(s("p6:tls"), 12)])
        .await
        .expect("write");
    assert_eq!(store.count(&[s("p6:tls")]).await.expect("count"), vec![1]);
    let mut raw = server.raw_connection();
    assert_eq!(raw_get(&mut raw, "p6:tls"), Some(vec![0, 0b0000_1000]));

    // Without #insecure the self-signed certificate is refused.
    let err = RedisStore::connect(&format!("rediss://127.0.0.1:{tls_port}/"))
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
}

/// After the server drops the connection, the store reconnects and resends the request.
#[tokio::test]
async fn reconnects_after_the_connection_is_killed() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    store
        .write(&[KeyWrite::set(s("p7:k"), 1)])
        .await
        .expect("write");
    for _ in 0..3 {
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("SKIPME")
            .arg("yes")
            .query(&mut raw)
            .expect("CLIENT KILL");
        assert!(killed >= 1);
        assert_eq!(
            store.count(&[s("p7:k")]).await.expect("count after a kill"),
            vec![1]
        );
        let _: () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("SKIPME")
            .arg("yes")
            .query(&mut raw)
            .expect("CLIENT KILL");
        store
            .write(&[KeyWrite::set(s("p7:k"), 1)])
            .await
            .expect("write after a kill");
        assert_eq!(store.keys("p7:").await.expect("keys"), vec![s("p7:k")]);
    }
}
