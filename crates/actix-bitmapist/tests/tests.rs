//! actix-bitmapist's integration tests: one binary, one module per topic (each file's docs
//! say what it covers). `orm` is a test target of its own (the installed marker is
//! process-wide state), listed in `SEPARATE`.
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is neither listed nor in `SEPARATE`). Run one topic with `cargo test
//! -p actix-bitmapist --all-features --test tests TOPIC::`.

mod dashboard;
mod marking;

/// Test files built as test targets of their own (declared in Cargo.toml).
const SEPARATE: &[&str] = &["orm"];

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
