//! The dashboard core's tests, through `DashboardCore::handle` and no web framework: one
//! binary, one module per topic: `handle` (routing, the guard, 400/404/405/413, the heavy
//! bound, the security headers), `hardening` (the store's zone, events never marked, empty
//! choices, the mount's slash, the overview's bound), `pruned` (periods a retention policy
//! pruned); `support` holds what they share.
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is not listed). Run one topic with `cargo test -p bitmapist-web
//! --test tests TOPIC::`.

mod handle;
mod hardening;
mod pruned;
mod support;

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
