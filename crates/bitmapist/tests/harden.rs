//! Stores under hostile conditions: an embedded file opened read-only (reads
//! equal a HashSet model, every write refused, the file untouched, an immutable file
//! readable), and a Redis store whose server went away failing fast, once.

use crate::common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::Command;

use bitmapist::{Bitmap, Error};
use bitmapist::{
    EmbeddedOptions, EmbeddedStore, KeyWrite, ReadOnlyEmbeddedStore, RedisStore, Store,
};
use bitmapist_test_support::Rng;
use common::redis_server::RedisServer;

/// Writes random bits to a new store file, returning the model of what it holds.
async fn seeded_file(path: &std::path::Path) -> HashMap<String, HashSet<u32>> {
    let store = EmbeddedStore::open(path, EmbeddedOptions::default()).expect("open");
    let mut model: HashMap<String, HashSet<u32>> = HashMap::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2_000 {
        let key = format!(
            "trackist_ev{}_2026-11-{:02}",
            rng.next() % 7,
            rng.next() % 28 + 1
        );
        let offset = (rng.next() % 200_000) as u32;
        let set = !rng.next().is_multiple_of(5);
        store
            .write(&[KeyWrite {
                key: key.clone(),
                value: set,
                offsets: vec![offset],
            }])
            .await
            .expect("write");
        let bits = model.entry(key).or_default();
        if set {
            bits.insert(offset);
        } else {
            bits.remove(&offset);
        }
    }
    drop(store); // commits
    model
}

async fn check_against_model(store: &dyn Store, model: &HashMap<String, HashSet<u32>>) {
    let keys: Vec<String> = model.keys().cloned().collect();
    let got = store.get(&keys).await.expect("get");
    for (key, bitmap) in keys.iter().zip(&got) {
        let want: BTreeSet<u32> = model[key].iter().copied().collect();
        let have: BTreeSet<u32> = bitmap
            .as_ref()
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        assert_eq!(have, want, "{key}");
    }
    let counts = store.count(&keys).await.expect("count");
    for (key, n) in keys.iter().zip(counts) {
        assert_eq!(n, model[key].len() as u64, "{key}");
    }
    let listed: BTreeSet<String> = store
        .keys("trackist_")
        .await
        .expect("keys")
        .into_iter()
        .collect();
    assert_eq!(listed, model.keys().cloned().collect::<BTreeSet<_>>());
    let ev3: Vec<String> = store.keys("trackist_ev3_").await.expect("keys");
    assert!(ev3.iter().all(|k| k.starts_with("trackist_ev3_")));
    assert_eq!(
        ev3.len(),
        model
            .keys()
            .filter(|k| k.starts_with("trackist_ev3_"))
            .count()
    );
    assert_eq!(
        store.get(&["missing".into()]).await.expect("get"),
        vec![None]
    );
}

fn is_refusal(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
}

#[tokio::test]
async fn read_only_open_reads_like_the_model_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ro.redb");
    let model = seeded_file(&path).await;
    let before = std::fs::read(&path).expect("read");
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("open read-only");
    check_against_model(&ro, &model).await;
    let key = model.keys().next().cloned().expect("a key");
    assert!(is_refusal(
        &ro.write(&[KeyWrite::set(key.clone(), 1)])
            .await
            .expect_err("write")
    ));
    assert!(is_refusal(
        &ro.put(&[(key.clone(), Bitmap::new())])
            .await
            .expect_err("put")
    ));
    assert!(is_refusal(
        &ro.delete(std::slice::from_ref(&key))
            .await
            .expect_err("delete")
    ));
    assert!(is_refusal(
        &ro.delete_prefix("trackist_")
            .await
            .expect_err("delete_prefix")
    ));
    ro.flush().await.expect("nothing to flush");
    assert!(ro.describe().contains("read-only"));
    // Two read-only opens share the file; a writable one is refused while they are open.
    let ro2 = ReadOnlyEmbeddedStore::open(&path).expect("second read-only open");
    check_against_model(&ro2, &model).await;
    drop((ro, ro2));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "the file changed"
    );
    // A missing file is an error, never created.
    let missing = dir.path().join("missing.redb");
    assert!(ReadOnlyEmbeddedStore::open(&missing).is_err());
    assert!(!missing.exists());
}

/// `chattr +i`, undone on drop: a file even root cannot open for writing.
struct Immutable(std::path::PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test]
async fn an_immutable_file_is_read_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("immutable.redb");
    let model = seeded_file(&path).await;
    let status = Command::new("chattr").arg("+i").arg(&path).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "chattr +i failed: this test needs a filesystem with the immutable flag and \
         CAP_LINUX_IMMUTABLE"
    );
    let _guard = Immutable(path.clone());
    // The writable open fails, as for any file the process may not write...
    assert!(EmbeddedStore::open(&path, EmbeddedOptions::default()).is_err());
    // ...and the read-only one works.
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("open read-only");
    check_against_model(&ro, &model).await;
}

#[tokio::test]
async fn a_redis_store_that_went_down_fails_once_then_at_once() {
    let redis = RedisServer::start();
    let url = format!("{}?connect_timeout_ms=5000", redis.url());
    let store = RedisStore::connect(&url).await.expect("connect");
    store
        .write(&[KeyWrite::set("k".into(), 3)])
        .await
        .expect("write");
    assert_eq!(store.count(&["k".into()]).await.expect("count"), vec![1]);
    drop(redis);
    let first = store
        .count(&["k".into()])
        .await
        .expect_err("the server is gone");
    assert!(matches!(first, Error::Redis { .. }), "{first}");
    // Within the window, every request fails without a new attempt.
    for _ in 0..3 {
        let again = store.keys("").await.expect_err("still gone");
        assert!(again.to_string().contains("not retried yet"), "{again}");
    }
    // A bad option in the URL is named.
    let bad = RedisStore::connect("redis://127.0.0.1:1/0?connect_timeout_ms=soon")
        .await
        .expect_err("bad option");
    assert!(bad.to_string().contains("connect_timeout_ms"), "{bad}");
}
