//! axum-bitmapist's integration tests: one binary, one module per topic (each file's docs
//! say what it covers), sharing `common` (serving a router on a free port, plain HTTP),
//! `dashboard_support` (a seeded dashboard and its requests) and `browser_support` (headless
//! Chromium through chromedriver).
//!
//! Test targets of their own, listed in `SEPARATE`: what installs process-wide state (the
//! SeaORM marker in `orm*`, the login tracking in `login*`, the global metrics recorder in
//! `metrics`) and `demo_stop`, which runs the demo example as a process.
//!
//! To add a topic: a file `tests/TOPIC.rs` and its `mod TOPIC;` line below (the guard test
//! fails when a file is neither listed nor in `SEPARATE`). Run one topic with `cargo test
//! -p axum-bitmapist --all-features --test tests TOPIC::`.

mod browser_support;
mod common;
mod dashboard_support;

mod browser;
mod browser_breakdown;
mod browser_lifecycle;
mod browser_pages;
mod browser_users;
mod core_parity;
mod dashboard;
mod dashboard_access;
mod dashboard_breakdown;
mod dashboard_retention;
mod dashboard_timezone;
mod dashboard_users;
mod funnels_dashboard;
mod harden;
mod lifecycle_dashboard;
mod marking;

/// Test files built as test targets of their own (declared in Cargo.toml).
const SEPARATE: &[&str] = &[
    "demo_stop",
    "login",
    "login_external",
    "metrics",
    "orm",
    "orm_external",
    "orm_not_installed",
];

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
