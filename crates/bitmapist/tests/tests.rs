//! The engine's integration tests: one binary, one module per topic (each file's docs say
//! what it covers), sharing `common` (real redis-server and Redis Cluster processes, the
//! store contract cases, child processes of this binary for crash and environment tests).
//! Tests that share the binary's one Redis Cluster use key prefixes of their own.
//!
//! A test target of its own, listed in `SEPARATE`: `metrics`, which installs the global
//! metrics recorder. The topics that need the seed generator build with `--features seed`.
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is neither listed nor in `SEPARATE`). Run one topic with `cargo test
//! -p bitmapist --all-features --test tests TOPIC::`.

mod common;

mod backup;
mod cluster;
mod cluster_secure;
mod cohort;
mod config;
mod count_breakdown;
mod embedded_store;
mod event_periods;
#[cfg(feature = "seed")]
mod filesize;
mod funnels;
mod harden;
mod hung_backends;
mod idmap;
mod kept_counts;
mod lifecycle_trends;
mod model;
mod module_graph;
mod periods_keys;
mod prune;
mod prune_python;
mod redis_store;
mod restricted_reads;
mod retention;
#[cfg(feature = "seed")]
mod scale;
mod segments;
mod timezone;
mod timezone_python;

/// Test files built as test targets of their own (declared in Cargo.toml).
const SEPARATE: &[&str] = &["metrics"];

/// Every `tests/*.rs` file is a module of this binary or a test target of its own listed in
/// `SEPARATE` and declared in Cargo.toml (`autotests = false` would otherwise leave a
/// forgotten file silently unbuilt).
#[test]
fn every_test_file_is_a_module() {
    bitmapist_test_support::test_files::assert_every_test_file_is_a_module(
        env!("CARGO_MANIFEST_DIR"),
        include_str!("tests.rs"),
        include_str!("../Cargo.toml"),
        SEPARATE,
    );
}
