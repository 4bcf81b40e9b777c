//! The command line as a script that starts Doist's server would use it: `--help`, bad
//! flags, `-version`, and a database already open in another process.

use crate::common;

use std::process::Command;

use common::Server;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bitmapist-server"))
        .args(args)
        .output()
        .expect("run bitmapist-server")
}

#[test]
fn help_version_and_bad_flags() {
    for help in ["--help", "-help", "-h"] {
        let out = run(&[help]);
        assert!(out.status.success(), "{help}");
        let text = String::from_utf8_lossy(&out.stdout);
        for flag in ["-addr", "-db", "-bak", "localhost:6379", "bitmapist.db"] {
            assert!(text.contains(flag), "{help}: {flag} in {text}");
        }
    }
    let out = run(&["-version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("bitmapist-server "));
    let out = run(&["-nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flag provided but not defined: -nope"));
    let out = run(&["-save-every", "soon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_database_in_use_is_refused_clearly() {
    let s = Server::start(&[]);
    let db = s.db().display().to_string();
    let out = run(&["-addr", "127.0.0.1:0", "-db", &db]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already open"), "{err}");
}
