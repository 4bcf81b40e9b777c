//! Helpers shared by the topic modules: the harness's real `redis-server` and Redis Cluster
//! processes, the store contract cases every backend runs ([`store_cases`]), and
//! [`child_test`] for tests whose other half runs in a child process.

use std::ffi::OsStr;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

pub use bitmapist_test_support::{redis_cluster, redis_server};
pub mod store_cases;

/// A command that runs this test binary filtered to one `#[ignore]`d child test, alone and
/// with its output uncaptured: the kill -9 and crash tests run their writer this way, the
/// environment tests their reader. `module` is the caller's `module_path!()` (`tests::TOPIC`
/// here), `test` the child's function name; libtest names the test `TOPIC::test`.
pub fn child_test(module: &str, test: &str) -> Command {
    let name = match module.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_string(),
    };
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.args([
        "--exact",
        &name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd
}

/// Starts [`child_test`] `test` of `module` with `env` set, its stdout piped (for the lines
/// it reports) and its stderr shown.
pub fn spawn_child<V: AsRef<OsStr>>(module: &str, test: &str, env: &[(&str, V)]) -> Child {
    let mut cmd = child_test(module, test);
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

/// The payload of a line a child printed as `TAG payload` (libtest may print its own text
/// before it on the same line).
pub fn tagged<'l>(line: &'l str, tag: &str) -> Option<&'l str> {
    line.find(tag).map(|at| line[at + tag.len()..].trim())
}

/// Reads a child's lines until `n` of them carry `tag` ([`tagged`]): the payload of the
/// last one. Fails the test, naming `what`, when the child exits first.
pub fn wait_tagged(reader: &mut impl BufRead, tag: &str, n: usize, what: &str) -> String {
    let mut last = String::new();
    let mut seen = 0;
    let mut line = String::new();
    while seen < n {
        line.clear();
        let read = reader.read_line(&mut line).expect("read child stdout");
        assert!(read > 0, "{what} exited early");
        if let Some(payload) = tagged(&line, tag) {
            last = payload.to_string();
            seen += 1;
        }
    }
    last
}
