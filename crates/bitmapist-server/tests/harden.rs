//! Hostile and heavy clients: pipelines far larger than the socket buffers, a
//! client that never reads its replies, bulk lengths announced and never sent, `AUTH` with
//! `-requirepass` from redis-cli and redis-py, and a `-db` path in a missing directory.

use crate::common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::Server;

/// One command in RESP.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Writes the whole of `input` before reading any reply, as redis-py does with a pipeline,
/// then reads `lines` reply lines (without their `\r\n`). A server that stops reading while
/// its replies are pending deadlocks this client: the write times out and the test fails.
fn pipeline(port: u16, input: Vec<u8>, lines: usize) -> Vec<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    stream
        .write_all(&input)
        .unwrap_or_else(|e| panic!("the server stopped reading the pipeline: {e}"));
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut got = Vec::with_capacity(lines);
    let mut line = String::new();
    for i in 0..lines {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reply line {i} of {lines}: {e}"));
        assert!(n > 0, "the server closed after {i} of {lines} reply lines");
        got.push(line.trim_end().to_string());
    }
    got
}

#[test]
fn huge_pipeline_of_getbits_completes_in_order() {
    let server = Server::start(&[]);
    let mut con = server.con();
    // A HashSet model of the bits set.
    let set: HashSet<u32> = (0..1_500_000u32).filter(|i| i % 7 == 3).collect();
    let mut setup = Vec::new();
    let mut sorted: Vec<u32> = set.iter().copied().collect();
    sorted.sort_unstable();
    for chunk in sorted.chunks(10_000) {
        let mut p = redis::pipe();
        for &o in chunk {
            p.cmd("SETBIT").arg("big").arg(o).arg(1).ignore();
        }
        p.query::<()>(&mut con).expect("seed the bitmap");
        setup.push(chunk.len());
    }
    let n = 1_500_000u32;
    let mut input = Vec::with_capacity(n as usize * 40);
    for o in 0..n {
        input.extend_from_slice(&resp(&[b"GETBIT", b"big", o.to_string().as_bytes()]));
    }
    input.extend_from_slice(&resp(&[b"ECHO", b"end"]));
    let lines = pipeline(server.port(), input, n as usize + 2);
    for (o, line) in lines.iter().take(n as usize).enumerate() {
        let expected = if set.contains(&(o as u32)) {
            ":1"
        } else {
            ":0"
        };
        assert_eq!(line, expected, "GETBIT big {o}");
    }
    assert_eq!(&lines[n as usize..], ["$3", "end"]);
}

#[test]
fn huge_multi_pipeline_of_setbits_completes() {
    let server = Server::start(&[]);
    let n = 800_000u32;
    let mut input = resp(&[b"MULTI"]);
    for o in 0..n {
        input.extend_from_slice(&resp(&[
            b"SETBIT",
            b"tx",
            (o * 3).to_string().as_bytes(),
            b"1",
        ]));
    }
    input.extend_from_slice(&resp(&[b"EXEC"]));
    input.extend_from_slice(&resp(&[b"BITCOUNT", b"tx"]));
    // +OK, n x +QUEUED, *n, n x :0, then the count.
    let lines = pipeline(server.port(), input, 2 * n as usize + 3);
    assert_eq!(lines[0], "+OK");
    assert!(lines[1..=n as usize].iter().all(|l| l == "+QUEUED"));
    assert_eq!(lines[n as usize + 1], format!("*{n}"));
    assert!(
        lines[n as usize + 2..2 * n as usize + 2]
            .iter()
            .all(|l| l == ":0")
    );
    assert_eq!(lines[2 * n as usize + 2], format!(":{n}"));
}

#[test]
fn a_client_that_never_reads_is_disconnected_and_others_go_on() {
    let server = Server::start(&["-max-output-mb", "1"]);
    let mut con = server.con();
    // A 64 KiB bitmap: every GET of it is a 64 KiB reply from 22 bytes of request.
    redis::cmd("SETBIT")
        .arg("wide")
        .arg(524_287)
        .arg(1)
        .query::<i64>(&mut con)
        .expect("setbit");
    let mut hog = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    hog.set_write_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let batch = resp(&[b"GET", b"wide"]).repeat(1000);
    let mut sent = 0usize;
    let mut refused = None;
    // At most 400 MB of requests (1.2 TB of replies): the server must give up well before.
    for _ in 0..20_000 {
        match hog.write_all(&batch) {
            Ok(()) => sent += batch.len(),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.unwrap_or_else(|| {
        panic!(
            "the server kept accepting requests ({sent} bytes) from a client that never reads\n{}",
            server.log()
        )
    });
    let log = server.log();
    assert!(
        log.contains("client output limit reached"),
        "no logged reason for the disconnection ({refused}):\n{log}"
    );
    // The server is healthy for everyone else, and the data is intact.
    let mut other = server.con();
    assert_eq!(
        redis::cmd("BITCOUNT").arg("wide").query::<i64>(&mut other),
        Ok(1)
    );
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut other),
        Ok("PONG".to_string())
    );
}

/// The process's virtual size in KiB, from /proc.
fn vm_size_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no VmSize for process {pid}"))
}

#[test]
fn announced_but_unsent_bulks_reserve_no_memory() {
    let server = Server::start(&[]);
    let before = vm_size_kib(server.pid());
    let mut clients = Vec::new();
    for _ in 0..16 {
        let mut c = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
        c.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\nabc")
            .expect("write");
        clients.push(c);
    }
    // The server has read the headers when it answers another client after them.
    let mut con = server.con();
    for _ in 0..20 {
        assert_eq!(
            redis::cmd("PING").query::<String>(&mut con),
            Ok("PONG".into())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = vm_size_kib(server.pid());
    // Reserving the announced length costs 512 MiB of address space per connection: 8 GiB.
    assert!(
        after < before + 1024 * 1024,
        "VmSize grew from {before} KiB to {after} KiB for 16 unsent 512 MiB bulks"
    );
    drop(clients);
    assert_eq!(
        redis::cmd("EXISTS").arg("k").query::<i64>(&mut con),
        Ok(0),
        "an unfinished SET must not run"
    );
}

#[test]
fn requirepass_from_the_flag_the_environment_redis_cli_and_redis_py() {
    let server = Server::start(&["-requirepass", "s3cret"]);
    let raw = |input: &[u8]| {
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(700)))
            .expect("timeout");
        s.write_all(input).expect("write");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(
        raw(b"SETBIT k 1 1\r\nAUTH nope\r\nAUTH default nope\r\nGET k\r\nAUTH s3cret\r\nSETBIT k 1 1\r\nQUIT\r\n"),
        "-NOAUTH Authentication required.\r\n\
         -WRONGPASS invalid username-password pair or user is disabled.\r\n\
         -WRONGPASS invalid username-password pair or user is disabled.\r\n\
         -NOAUTH Authentication required.\r\n+OK\r\n:0\r\n+OK\r\n"
    );
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &server.port().to_string()])
            .args(args)
            .env_remove("REDISCLI_AUTH")
            .output()
            .expect("redis-cli is installed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["BITCOUNT", "k"]), "NOAUTH Authentication required.");
    assert_eq!(
        cli(&["--no-auth-warning", "-a", "s3cret", "BITCOUNT", "k"]),
        "1"
    );
    assert!(cli(&["--no-auth-warning", "-a", "bad", "BITCOUNT", "k"]).contains("NOAUTH"));

    // redis-py, which authenticates with `AUTH password` (or HELLO with a username).
    let python = std::env::var_os("BITMAPIST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyvenv/bin/python")
        });
    assert!(
        python.exists(),
        "no Python at {} (set BITMAPIST_PYTHON)",
        python.display()
    );
    let script = r#"
import sys, redis
port = int(sys.argv[1])
ok = redis.Redis(port=port, password="s3cret")
print(ok.bitcount("k"))
print(redis.Redis(port=port, username="default", password="s3cret").setbit("k", 2, 1))
for kwargs in ({}, {"password": "bad"}, {"username": "u", "password": "s3cret"}):
    try:
        redis.Redis(port=port, **kwargs).bitcount("k")
        print("accepted", kwargs)
    except redis.exceptions.AuthenticationError as e:
        print("refused:", e)
    except redis.exceptions.ResponseError as e:
        print("refused:", e)
"#;
    let out = Command::new(&python)
        .args(["-c", script, &server.port().to_string()])
        .output()
        .expect("run python");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(&lines[..2], ["1", "0"]);
    assert!(lines[2].starts_with("refused:") && lines[2].contains("uthentication required"));
    assert!(lines[3].starts_with("refused:") && lines[3].contains("invalid username-password"));
    assert!(lines[4].starts_with("refused:") && lines[4].contains("invalid username-password"));

    // The environment variable sets it too.
    drop(server);
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist-server"))
        .args(["-addr", &format!("127.0.0.1:{port}"), "-db"])
        .arg(tmp.path().join("e.db"))
        .env("BITMAPIST_REQUIREPASS", "fromenv")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let mut answered = String::new();
    for _ in 0..200 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(700)));
            let _ = s.write_all(b"PING\r\nAUTH fromenv\r\nPING\r\nQUIT\r\n");
            let _ = s.read_to_string(&mut answered);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        answered,
        "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n+OK\r\n"
    );
}

#[test]
fn a_db_path_in_a_missing_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("mistyped").join("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_bitmapist-server"))
        .args([
            "-addr",
            &format!("127.0.0.1:{}", common::free_port()),
            "-db",
        ])
        .arg(missing.join("bitmapist.db"))
        .output()
        .expect("run the server");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );
    assert!(
        !tmp.path().join("mistyped").exists(),
        "no directory may be created"
    );
}
