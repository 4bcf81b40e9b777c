//! Backends that stop answering, against real servers: a redis-server paused with SIGSTOP
//! (it accepts connections but answers nothing) and a Redis Cluster with a primary killed.
//! A request waits at most the configured timeout, and once one has timed out (or given
//! up), the next fails at once instead of waiting the timeout again; the store recovers
//! when the server answers again.
//!
//! Timings here are behaviour checks against the configured timeouts (the second request
//! takes less than half of the timeout the first one waited), not benchmarks.

use crate::common;

use std::time::{Duration, Instant};

use bitmapist::{ClusterStore, Error, KeyWrite, RedisStore, Store};
use common::redis_cluster::RedisCluster;
use common::redis_server::RedisServer;

/// The response timeout the paused-server test configures.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1500);

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[tokio::test]
async fn a_paused_redis_times_out_once_then_fails_fast_then_recovers() {
    let server = RedisServer::start();
    let url = format!(
        "{}?response_timeout_ms={}",
        server.url(),
        RESPONSE_TIMEOUT.as_millis()
    );
    let store = RedisStore::connect(&url).await.expect("connect");
    let ks = keys("hung:", 3);
    store
        .write(&[KeyWrite::set(ks[0].clone(), 7)])
        .await
        .expect("write before the pause");

    server.pause();
    let started = Instant::now();
    let first = store.count(&ks).await;
    let first_took = started.elapsed();
    match &first {
        Err(Error::Redis { source, .. }) => {
            assert!(source.is_timeout(), "a timeout, not {source:?}");
        }
        other => panic!("the paused server's request must time out: {other:?}"),
    }
    // Bounded by the configured timeout (the client's default before this option: 60 s).
    assert!(
        first_took < RESPONSE_TIMEOUT * 4,
        "the first request waited {first_took:?} with response_timeout_ms={}",
        RESPONSE_TIMEOUT.as_millis()
    );

    let started = Instant::now();
    let second = store.count(&ks).await;
    let second_took = started.elapsed();
    match &second {
        Err(e @ Error::Redis { .. }) => {
            assert!(e.to_string().contains("unreachable"), "{e}");
        }
        other => panic!("the second request must fail too: {other:?}"),
    }
    assert!(
        second_took < RESPONSE_TIMEOUT / 2,
        "the second request waited {second_took:?}: it should fail at once"
    );
    // After the fail-fast window, a request checks the server with a short PING: still
    // paused, it fails within the connection timeout (1 s), not the response timeout.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let third = store.count(&ks).await;
    assert!(third.is_err(), "still paused: {third:?}");
    assert!(
        started.elapsed() < RESPONSE_TIMEOUT,
        "the probe waited {:?}",
        started.elapsed()
    );

    server.resume();
    // The server answers again: within a few windows a request goes through, with the data.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match store.count(&ks).await {
            Ok(counts) => {
                assert_eq!(counts, vec![1, 0, 0]);
                break;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "never recovered: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test]
async fn the_response_timeout_is_bounded_and_named() {
    for bad in ["0", "300001", "soon"] {
        let url = format!("redis://127.0.0.1:1?response_timeout_ms={bad}");
        match RedisStore::connect(&url).await {
            Err(Error::InvalidUrl { reason, .. }) => {
                assert!(reason.contains("response_timeout_ms"), "{reason}");
                assert!(reason.contains("1..=300000"), "{reason}");
            }
            other => panic!("{bad}: expected an invalid-URL error, got {other:?}"),
        }
    }
    for bad in ["300001", "0"] {
        let url = format!("redis+cluster://127.0.0.1:1?timeout_ms={bad}");
        match ClusterStore::connect(&url).await {
            Err(e @ Error::InvalidUrl { .. }) => {
                assert!(e.to_string().contains("1..=300000"), "{e}");
            }
            other => panic!("{bad}: expected an invalid-URL error, got {other:?}"),
        }
    }
}

/// The cluster's call limit for this test.
const CLUSTER_TIMEOUT: Duration = Duration::from_millis(3000);

#[test]
fn a_cluster_with_a_primary_down_gives_up_once_then_fails_fast() {
    let mut cluster = RedisCluster::start(3, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!(
        "{}?timeout_ms={}&connect_timeout_ms=200",
        cluster.url(),
        CLUSTER_TIMEOUT.as_millis()
    );
    let store = rt.block_on(ClusterStore::connect(&url)).expect("connect");
    // 60 keys: every primary owns some.
    let ks = keys("down:", 60);
    let writes: Vec<KeyWrite> = ks.iter().map(|k| KeyWrite::set(k.clone(), 1)).collect();
    rt.block_on(store.write(&writes)).expect("write");
    assert_eq!(rt.block_on(store.count(&ks)).expect("count"), vec![1; 60]);

    let victim = cluster.primary_ports()[0];
    cluster.kill(victim);

    let started = Instant::now();
    let first = rt.block_on(store.count(&ks));
    let first_took = started.elapsed();
    match &first {
        Err(e @ Error::Redis { .. }) => {
            assert!(e.to_string().contains("did not recover in time"), "{e}");
        }
        other => panic!("the first call must give up: {other:?}"),
    }
    assert!(
        first_took >= CLUSTER_TIMEOUT / 2,
        "the first call rode the failover attempt for its limit: {first_took:?}"
    );

    let started = Instant::now();
    let second = rt.block_on(store.count(&ks));
    let second_took = started.elapsed();
    match &second {
        Err(e @ Error::Redis { .. }) => {
            assert!(e.to_string().contains("the cluster is down"), "{e}");
        }
        other => panic!("the second call must fail too: {other:?}"),
    }
    assert!(
        second_took < CLUSTER_TIMEOUT / 2,
        "the second call waited {second_took:?} (timeout_ms={})",
        CLUSTER_TIMEOUT.as_millis()
    );
    // After the window each call is a short probe, not another full timeout.
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    assert!(rt.block_on(store.count(&ks)).is_err());
    assert!(
        started.elapsed() < CLUSTER_TIMEOUT / 2,
        "the probe waited {:?}",
        started.elapsed()
    );
}
