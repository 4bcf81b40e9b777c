//! The Redis store against real `redis-server` processes: bit layout shared with Python
//! bitmapist, SETBIT length semantics, SCAN listing, agreement with the memory store,
//! passwords, databases and TLS. The store-independent bodies live in
//! tests/common/store_cases.rs and run against a cluster in tests/cluster.rs too.

use crate::common;

use std::time::Instant;

use bitmapist::Error;
use bitmapist::{KeyWrite, RedisStore, Store};
use common::redis_server::{RedisServer, TlsFiles, free_port};
use common::store_cases::{self as cases, raw_get};

fn s(k: &str) -> String {
    k.to_string()
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

#[tokio::test]
async fn bits_are_laid_out_as_python_bitmapist_lays_them_out() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    cases::bits_are_laid_out_as_python_bitmapist_lays_them_out(&store, &mut raw, "").await;
}

#[tokio::test]
async fn clearing_a_bit_creates_a_zero_string() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    cases::clearing_a_bit_creates_a_zero_string(&store, &mut raw, "").await;
}

#[tokio::test]
async fn a_key_of_another_type_is_named_in_the_error() {
    let server = RedisServer::start();
    let mut raw = server.raw_connection();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    cases::a_key_of_another_type_is_named_in_the_error(&store, &mut raw, "").await;
}

#[tokio::test]
async fn keys_delete_and_delete_prefix() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.expect("connect");
    cases::keys_delete_and_delete_prefix(&store, "").await;
}

/// Random sequences of writes, puts and deletes leave Redis and the memory store equal.
#[test]
fn agrees_with_the_memory_store() {
    let server = RedisServer::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = rt
        .block_on(RedisStore::connect(&server.url()))
        .expect("connect");
    cases::agrees_with_the_memory_store(&rt, &redis, "", 32);
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

/// `rediss://...?ca=PATH` trusts the server's CA (made at test time): the store connects
/// and writes; without `ca=` the certificate is refused naming it; an unreadable CA file
/// is a URL error naming the file.
#[tokio::test]
async fn tls_with_a_trusted_ca() {
    let files = TlsFiles::create(None);
    let server = RedisServer::start_tls_signed(&files);
    let tls_port = server.tls_port().expect("a TLS port");
    let url = format!(
        "rediss://127.0.0.1:{tls_port}/?ca={}&connect_timeout_ms=2000",
        files.ca().display()
    );
    let store = RedisStore::connect(&url)
        .await
        .expect("connect trusting the CA");
    store
        .write(&[KeyWrite::set(s("p6:ca"), 3)])
        .await
        .expect("write");
    assert_eq!(store.count(&[s("p6:ca")]).await.expect("count"), vec![1]);
    let mut raw = server.raw_connection();
    assert_eq!(raw_get(&mut raw, "p6:ca"), Some(vec![0b0001_0000]));

    let err = RedisStore::connect(&format!("rediss://127.0.0.1:{tls_port}/"))
        .await
        .expect_err("untrusted certificate");
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");

    let err = RedisStore::connect(&format!(
        "rediss://127.0.0.1:{tls_port}/?ca=/nonexistent/ca.pem"
    ))
    .await
    .expect_err("no CA file");
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
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
