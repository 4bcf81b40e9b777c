//! The external-id map against bitmapist-server, which has no scripting and no hashes:
//! every map call fails with a clear error naming the missing command; `u32` marking and the
//! key listing are unaffected.

use crate::common;

use common::Server;

#[tokio::test]
async fn the_id_map_is_refused_with_an_error_naming_the_command() {
    let server = Server::start(&[]);
    let bm = bitmapist::Bitmapist::open(&server.url())
        .await
        .expect("connect");
    let err = bm
        .ids()
        .assign(&["alice".to_string()])
        .await
        .expect_err("no scripting on bitmapist-server");
    let msg = err.to_string();
    assert!(matches!(err, bitmapist::Error::IdMap { .. }), "{msg}");
    assert!(msg.contains("EVALSHA"), "{msg}");
    assert!(msg.contains("bitmapist-server"), "{msg}");

    let err = bm
        .ids()
        .lookup(&["alice".to_string()])
        .await
        .expect_err("no hashes on bitmapist-server");
    assert!(err.to_string().contains("HMGET"), "{err}");
    let err = bm.resolve_ids(&[1]).await.expect_err("no hashes");
    assert!(err.to_string().contains("HMGET"), "{err}");

    // Marking by external id fails before writing anything.
    assert!(bm.mark_external("user:logged_in", "alice").await.is_err());
    bm.mark_event("user:logged_in", 7)
        .await
        .expect("u32 marks work");
    let mut con = server.con();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
    assert!(!keys.is_empty());
    // Event keys, and the store's time-zone record (written by the first mark).
    let zone_record = bitmapist::zone_meta_key("trackist_");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("trackist_user:logged_in") || *k == zone_record),
        "{keys:?}"
    );
}
