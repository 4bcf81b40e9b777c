//! Python bitmapist from PyPI driving bitmapist-server: the script in tests/python/ marks
//! events, counts, runs bit operations and cohorts, lists and deletes events, asserting the
//! values it knows; its output must equal its output against a real redis-server.
//!
//! The interpreter is `BITMAPIST_PYTHON`, else `target/pyvenv/bin/python` at the workspace
//! root (what `.ci/run` creates). Missing interpreter or module: the test fails with the
//! command that installs them; it never passes without running.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::{RedisServer, Server};

const INSTALL: &str = "python3 -m venv target/pyvenv && target/pyvenv/bin/pip install bitmapist==3.119 \
                       (from the workspace root; .ci/run does this)";

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BITMAPIST_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyvenv/bin/python")
}

fn run_script(python: &PathBuf, port: u16) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/bitmapist_check.py");
    let out = Command::new(python)
        .arg(&script)
        .arg("127.0.0.1")
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "the Python bitmapist script failed on port {port}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn python_bitmapist_works_against_the_server() {
    let python = python();
    assert!(
        python.exists(),
        "no Python interpreter at {} (set BITMAPIST_PYTHON); install with: {INSTALL}",
        python.display()
    );
    let check = Command::new(&python)
        .args(["-c", "import bitmapist, bitmapist.cohort"])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        check.status.success(),
        "Python bitmapist is not installed for {}: {}\ninstall with: {INSTALL}",
        python.display(),
        String::from_utf8_lossy(&check.stderr)
    );

    let ours = Server::start(&[]);
    let redis = RedisServer::start();
    let on_ours = run_script(&python, ours.port());
    let on_redis = run_script(&python, redis.port());
    assert!(on_ours.contains("\"cohort_days\""), "{on_ours}");
    assert_eq!(on_ours, on_redis, "Python bitmapist sees a difference");
}
