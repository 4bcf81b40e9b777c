//! The guard every crate's one integration-test binary runs: with `autotests = false`, a
//! `tests/*.rs` file that `tests/tests.rs` does not declare would silently never build.

use std::path::Path;

/// Fails naming every `tests/*.rs` file of the crate at `manifest_dir` that is neither a
/// module of `tests/tests.rs` (`listed`: that file's text, a `mod NAME;` line per module)
/// nor in `separate` (files built as test targets of their own), and every name of
/// `separate` that `manifest` (the crate's Cargo.toml text) does not declare as a target.
///
/// ```no_run
/// // in tests/tests.rs:
/// const SEPARATE: &[&str] = &["metrics"];
/// #[test]
/// fn every_test_file_is_a_module() {
///     bitmapist_test_support::test_files::assert_every_test_file_is_a_module(
///         env!("CARGO_MANIFEST_DIR"),
///         include_str!("tests.rs"),
///         include_str!("../Cargo.toml"),
///         SEPARATE,
///     );
/// }
/// ```
pub fn assert_every_test_file_is_a_module(
    manifest_dir: &str,
    listed: &str,
    manifest: &str,
    separate: &[&str],
) {
    let dir = Path::new(manifest_dir).join("tests");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs")
            && stem != "tests"
            && !separate.contains(&stem)
            && !listed.lines().any(|l| l.trim() == format!("mod {stem};"))
        {
            missing.push(stem.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "tests/*.rs files neither modules of tests/tests.rs nor in SEPARATE: {missing:?}"
    );
    for name in separate {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} is in SEPARATE but not a [[test]] target in Cargo.toml"
        );
    }
}
