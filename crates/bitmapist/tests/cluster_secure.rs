//! Password and TLS Redis Clusters as real processes: a 3-primary cluster with
//! `requirepass` + `masterauth`, and one that speaks TLS only (clients, cluster bus and
//! replication) with a certificate signed by a CA made at test time.
//!
//! With the right password (or a client that trusts the CA through `?ca=`), marks, counts
//! and cohorts equal those of the memory store over the same marks; a wrong or missing
//! password, or a client that does not trust the CA, fails at connect with an error that
//! names the cause, never a hang or a panic.

use crate::common;

use std::time::Duration;

use bitmapist::{Bitmapist, CohortSpec, Error, MarkOptions, TimeGroup};
use chrono::{DateTime, TimeZone, Utc};
use common::redis_cluster::{RedisCluster, Security};

/// A guard against a hang (not a speed check): connecting must answer, one way or another.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0)
        .single()
        .expect("valid")
}

/// Sign-ups and activity of 300 users over 20 days, deterministic.
fn marks() -> Vec<(&'static str, u32, DateTime<Utc>)> {
    let mut rng = bitmapist_test_support::Rng(0x5EC0_0D5E);
    let mut out = Vec::new();
    for uid in 0..300u32 {
        let day = (rng.next() % 20) as i64;
        let t = start() + chrono::Duration::days(day);
        out.push(("sec:signup", uid, t));
        for later in day..20 {
            if rng.next().is_multiple_of(3) {
                out.push(("sec:active", uid, start() + chrono::Duration::days(later)));
            }
        }
    }
    out
}

/// Marks the same data into the cluster at `url` and into the memory store; counts and a
/// daily cohort must agree.
async fn marks_counts_and_cohort_agree_with_memory(url: &str) {
    let on_cluster = tokio::time::timeout(ANSWER_WITHIN, Bitmapist::open(url))
        .await
        .expect("connect answered")
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    let model = Bitmapist::open("memory://").await.expect("memory");
    let marks = marks();
    for bm in [&on_cluster, &model] {
        let n = bm
            .mark_events(marks.iter().copied(), MarkOptions::default())
            .await
            .expect("mark");
        assert_eq!(n, marks.len() as u64);
    }
    let mut days_with_marks = 0;
    for day in 0..20 {
        let t = start() + chrono::Duration::days(day);
        for event in ["sec:signup", "sec:active"] {
            let a = on_cluster
                .get_event_data(event, TimeGroup::Days, t)
                .expect("day")
                .count()
                .await
                .expect("cluster count");
            let b = model
                .get_event_data(event, TimeGroup::Days, t)
                .expect("day")
                .count()
                .await
                .expect("memory count");
            assert_eq!(a, b, "{event} on day {day}");
            days_with_marks += usize::from(a > 0);
        }
    }
    assert!(days_with_marks > 20, "{days_with_marks}");
    let spec = CohortSpec::new("sec:signup", "sec:active")
        .time_group(TimeGroup::Days)
        .rows(20)
        .cols(20)
        .now(start() + chrono::Duration::days(19));
    let a = on_cluster.get_cohort(&spec).await.expect("cluster cohort");
    let b = model.get_cohort(&spec).await.expect("memory cohort");
    assert_eq!(a.cohort, b.cohort);
    assert_eq!(a.totals, b.totals);
    assert_eq!(a.total, 300);
}

/// Connecting to `url` fails (within [`ANSWER_WITHIN`]) with an error; its text.
async fn connect_error(url: &str) -> (Error, String) {
    let err = tokio::time::timeout(ANSWER_WITHIN, Bitmapist::open(url))
        .await
        .unwrap_or_else(|_| panic!("connecting to {url} hung"))
        .err()
        .unwrap_or_else(|| panic!("{url} connected"));
    let text = err.to_string();
    eprintln!("{url}: {text}");
    (err, text)
}

#[tokio::test]
async fn a_password_cluster_needs_the_right_password() {
    let password = "hunter2-cluster";
    let cluster = RedisCluster::start_secured(Security {
        password: Some(password.into()),
        tls: false,
    });
    let url = cluster.url();
    assert!(url.contains(password), "{url}");
    marks_counts_and_cohort_agree_with_memory(&format!("{url}?timeout_ms=5000")).await;

    let wrong = url.replace(password, "wrong-guess");
    let (err, text) = connect_error(&format!("{wrong}?timeout_ms=3000")).await;
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    let lower = text.to_lowercase();
    assert!(
        lower.contains("authentication"),
        "the error names authentication: {text}"
    );
    assert!(!text.contains("wrong-guess"), "password masked: {text}");

    let missing = url.replace(&format!(":{password}@"), "");
    assert!(!missing.contains('@'), "{missing}");
    let (err, text) = connect_error(&format!("{missing}?timeout_ms=3000")).await;
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    let lower = text.to_lowercase();
    assert!(
        lower.contains("authentication"),
        "the error names authentication: {text}"
    );
}

#[tokio::test]
async fn a_tls_cluster_is_reached_through_its_ca() {
    let cluster = RedisCluster::start_secured(Security {
        password: None,
        tls: true,
    });
    let url = cluster.url();
    assert!(url.starts_with("rediss+cluster://"), "{url}");
    let ca = cluster.ca().expect("a CA");
    marks_counts_and_cohort_agree_with_memory(&format!(
        "{url}?ca={}&timeout_ms=5000",
        ca.display()
    ))
    .await;

    // `#insecure` is the explicit opt-out: it connects without the CA.
    let insecure = Bitmapist::open(&format!("{url}#insecure"))
        .await
        .expect("connect with #insecure");
    let count = insecure
        .get_event_data("sec:signup", TimeGroup::Months, start())
        .expect("month")
        .count()
        .await
        .expect("count");
    assert_eq!(count, 300);

    // Without the CA, the public roots do not vouch for the nodes.
    let (err, text) = connect_error(&format!("{url}?timeout_ms=3000")).await;
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    let lower = text.to_lowercase();
    assert!(lower.contains("certificate"), "the error names TLS: {text}");

    // Plain TCP to a TLS-only node is refused, as is a CA file that is not there.
    let plain = url.replace("rediss+cluster://", "redis+cluster://");
    let (err, _) = connect_error(&format!("{plain}?timeout_ms=2000&connect_timeout_ms=500")).await;
    assert!(matches!(err, Error::Redis { .. }), "{err:?}");
    let (err, text) = connect_error(&format!("{url}?ca=/nonexistent/ca.pem")).await;
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(text.contains("/nonexistent/ca.pem"), "{text}");
}
