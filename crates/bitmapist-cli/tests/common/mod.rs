//! What the CLI's tests share: running the `bitmapist` binary as a process with a clean
//! environment (no `BITMAPIST_*` variable of the caller's) and reading what it answered.

use std::path::Path;
use std::process::Command;

/// One finished run of the binary.
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// `(code, stdout, stderr)`.
    pub fn parts(self) -> (i32, String, String) {
        (self.code, self.stdout, self.stderr)
    }
}

/// Runs `bitmapist ARGS` in `dir` with no `BITMAPIST_*` or `RUST_LOG` variable from the
/// caller's environment, plus `env`. `RUST_BACKTRACE=1`: a leaked panic would show a
/// backtrace on stderr, which the tests that read stderr would see.
pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bitmapist"));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BITMAPIST_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG").env("RUST_BACKTRACE", "1");
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run the bitmapist binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`run_env`] with no extra variable.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_env(dir, args, &[])
}

/// [`run`], required to exit with 0 (a failure shows the arguments and stderr).
pub fn succeed(dir: &Path, args: &[&str]) -> Run {
    let r = run(dir, args);
    assert_eq!(r.code, 0, "bitmapist {args:?} failed:\n{}", r.stderr);
    r
}

/// [`succeed`] with `--format json` appended; stdout, which must hold the JSON alone, parsed.
pub fn json_of(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    parse_json(&succeed(dir, &all).stdout)
}

/// `text` parsed as JSON; the panic shows the text when it is not JSON.
pub fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
