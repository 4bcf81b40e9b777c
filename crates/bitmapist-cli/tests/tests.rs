//! The `bitmapist` command's integration tests: one binary, one module per topic (each
//! file's docs say what it covers), sharing `common` (the binary run as a process with a
//! clean environment).
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is not listed). Run one topic with `cargo test -p bitmapist-cli
//! --test tests TOPIC::`.

mod common;

mod backup;
mod cli;
mod external;
mod filesize;
mod funnels_cli;
mod harden;
mod lifecycle_cli;
mod metrics;
mod operator;
mod prune_cli;
mod retention;
mod segments_cli;
mod timezone;

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
