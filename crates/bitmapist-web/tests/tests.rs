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
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let listed = include_str!("tests.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs")
            && stem != "tests"
            && !listed.lines().any(|l| l.trim() == format!("mod {stem};"))
        {
            missing.push(stem.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "tests/*.rs files not declared as modules in tests/tests.rs: {missing:?}"
    );
}
