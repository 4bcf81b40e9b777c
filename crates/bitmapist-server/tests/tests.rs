//! bitmapist-server's integration tests: one binary, one module per topic (each file's
//! docs say what it covers), sharing `common` (the server as a real process, and a real
//! redis-server to compare with).
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is not listed). Run one topic with `cargo test -p bitmapist-server
//! --test tests TOPIC::`.

mod common;

mod cli;
mod compare;
mod dense;
mod durability;
mod exporter;
mod filesize;
mod fuzz;
mod harden;
mod idmap;
mod introspection;
mod load;
mod observability;
mod python;
mod temp_keys;
mod workers;

/// Every `tests/*.rs` file is a module of this binary (`autotests = false` would otherwise
/// leave a forgotten file silently unbuilt).
#[test]
fn every_test_file_is_a_module() {
    bitmapist_test_support::test_files::assert_every_test_file_is_a_module(
        env!("CARGO_MANIFEST_DIR"),
        include_str!("tests.rs"),
        include_str!("../Cargo.toml"),
        &[],
    );
}
