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
