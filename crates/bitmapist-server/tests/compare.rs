//! One script of commands run against a real `redis-server` and against bitmapist-server
//! through redis-rs, asserting identical replies (values, errors, nils), edge cases included;
//! raw protocol errors compared byte for byte; and `SLURP` from the real Redis.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{RedisServer, Server};
use redis::Value;

/// A reply, with errors as text (kind, code and message).
type Reply = Result<Value, String>;

fn call(con: &mut redis::Connection, args: &[&[u8]]) -> Reply {
    let name = std::str::from_utf8(args[0]).expect("command names are ASCII");
    let mut cmd = redis::cmd(name);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<Value>(con)
        .map_err(|e| format!("{:?} {:?} {:?}", e.kind(), e.code(), e.detail()))
}

/// Sorts the elements of an array reply (KEYS answers in hash order on Redis).
fn sorted(reply: Reply) -> Reply {
    reply.map(|v| match v {
        Value::Array(mut items) => {
            items.sort_by_key(|i| format!("{i:?}"));
            Value::Array(items)
        }
        other => other,
    })
}

/// Both connections; every step runs on both and must answer the same.
struct Both {
    redis: redis::Connection,
    ours: redis::Connection,
    steps: usize,
}

impl Both {
    fn args(&mut self, args: &[&[u8]]) -> Reply {
        let theirs = call(&mut self.redis, args);
        let ours = call(&mut self.ours, args);
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert_eq!(ours, theirs, "step {}: {}", self.steps, shown.join(" "));
        self.steps += 1;
        ours
    }

    /// Runs a command written as words separated by spaces.
    fn run(&mut self, line: &str) -> Reply {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.args(&words)
    }

    /// Runs several commands.
    fn all(&mut self, lines: &[&str]) {
        for line in lines {
            let _ = self.run(line);
        }
    }

    /// Runs a command whose array reply is compared as a set.
    fn run_unordered(&mut self, line: &str) {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        let theirs = sorted(call(&mut self.redis, &words));
        let ours = sorted(call(&mut self.ours, &words));
        assert_eq!(ours, theirs, "step {}: {line}", self.steps);
        self.steps += 1;
    }

    /// A whole SCAN iteration on each server; the sets of keys must be equal.
    fn scan_all(&mut self, options: &str) {
        let collect = |con: &mut redis::Connection| {
            let mut keys = BTreeSet::new();
            let mut cursor = "0".to_string();
            for _ in 0..10_000 {
                let line = format!("SCAN {cursor} {options}");
                let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
                let reply = call(con, &words).unwrap_or_else(|e| panic!("{line}: {e}"));
                let Value::Array(parts) = reply else {
                    panic!("{line}: {reply:?}")
                };
                let [Value::BulkString(next), Value::Array(found)] = parts.as_slice() else {
                    panic!("{line}: {parts:?}")
                };
                for k in found {
                    let Value::BulkString(k) = k else {
                        panic!("{k:?}")
                    };
                    keys.insert(k.clone());
                }
                cursor = String::from_utf8_lossy(next).into_owned();
                if cursor == "0" {
                    return keys;
                }
            }
            panic!("SCAN {options} never finished");
        };
        let theirs = collect(&mut self.redis);
        let ours = collect(&mut self.ours);
        assert_eq!(ours, theirs, "step {}: SCAN ... {options}", self.steps);
        self.steps += 1;
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The script: every command of the issue, with its edge cases.
fn script(s: &mut Both) {
    // Connection.
    s.all(&[
        "PING",
        "PING hello",
        "PING a b",
        "ECHO hi",
        "ECHO",
        "SELECT 0",
        "SELECT x",
        "FOOBAR",
        "FOOBAR a b",
        "GET",
        "GET a b",
    ]);

    // SETBIT / GETBIT, offsets 0..2^32-1, bad offsets and values.
    s.all(&[
        "SETBIT a 7 1",
        "SETBIT a 7 1",
        "SETBIT a 7 0",
        "SETBIT a 7 1",
        "SETBIT a 100 1",
        "SETBIT a 3 0",
        "SETBIT cleared 30 0",
        "SETBIT a 4294967296 1",
        "SETBIT a -1 1",
        "SETBIT a abc 1",
        "SETBIT a 007 1",
        "SETBIT a +7 1",
        "SETBIT a 7 2",
        "SETBIT a 7 -1",
        "SETBIT a 7 abc",
        "SETBIT a 7",
        "GETBIT a 7",
        "GETBIT a 8",
        "GETBIT a 99999",
        "GETBIT missing 0",
        "GETBIT a 4294967296",
        "GETBIT a x",
        "GET a",
        "GET cleared",
        "STRLEN a",
        "STRLEN cleared",
        "STRLEN missing",
        "EXISTS cleared",
        "BITCOUNT cleared",
    ]);

    // BITCOUNT: whole, byte ranges, negative ranges, BIT/BYTE units, errors, missing keys.
    s.all(&[
        "SETBIT b 0 1",
        "SETBIT b 9 1",
        "SETBIT b 10 1",
        "SETBIT b 23 1",
        "SETBIT b 31 1",
        "BITCOUNT a",
        "BITCOUNT b",
        "BITCOUNT missing",
        "BITCOUNT b 0 0",
        "BITCOUNT b 1 1",
        "BITCOUNT b 0 -1",
        "BITCOUNT b -1 -1",
        "BITCOUNT b -2 -1",
        "BITCOUNT b -5 -10",
        "BITCOUNT b -100 -1",
        "BITCOUNT b -100 -50",
        "BITCOUNT b 5 3",
        "BITCOUNT b 2 100",
        "BITCOUNT b 0 -1 BIT",
        "BITCOUNT b 1 9 bit",
        "BITCOUNT b 9 10 BIT",
        "BITCOUNT b -9 -1 BIT",
        "BITCOUNT b 0 1 BYTE",
        "BITCOUNT b 0 1 foo",
        "BITCOUNT b -1 -5 foo",
        "BITCOUNT b 0",
        "BITCOUNT b a b",
        "BITCOUNT b 0 b",
        "BITCOUNT b 0 99999999999999999999",
        "BITCOUNT b 1 2 3 4",
        "BITCOUNT missing a b",
        "BITCOUNT missing 0",
        "BITCOUNT",
    ]);

    // The top offset (a 512 MiB string on Redis): only cheap reads of it.
    s.all(&[
        "SETBIT top 4294967295 1",
        "GETBIT top 4294967295",
        "GETBIT top 4294967294",
        "BITCOUNT top",
        "BITCOUNT top -1 -1",
        "BITCOUNT top -8 -1 BIT",
        "STRLEN top",
        "DEL top",
    ]);

    // BITOP: Redis return values, NOT padding, missing operands, empty results.
    s.all(&[
        "BITOP AND and1 a b",
        "GET and1",
        "BITOP OR or1 a b",
        "GET or1",
        "BITOP XOR xor1 a b",
        "GET xor1",
        "BITOP NOT not1 a",
        "GET not1",
        "BITCOUNT not1",
        "BITOP NOT not2 cleared",
        "GET not2",
        "BITOP AND and2 a missing",
        "GET and2",
        "EXISTS and2",
        "BITOP OR or2 missing b",
        "GET or2",
        "BITOP XOR xor2 missing1 missing2",
        "EXISTS xor2",
        "BITOP OR or1 missing1 missing2",
        "EXISTS or1",
        "BITOP NOT not1 missing",
        "EXISTS not1",
        "BITOP NOT not3 a b",
        "BITOP FOO x a",
        "BITOP AND x",
        "BITOP and andlower a b",
        "GET andlower",
    ]);

    // GET / SET (values are bitmaps; any non-empty bytes round-trip), MGET.
    let _ = s.args(&[b"SET", b"bin", b"\x00\xff\x10\x80\x00"]);
    s.all(&[
        "GET bin",
        "BITCOUNT bin",
        "GETBIT bin 8",
        "GETBIT bin 32",
        "STRLEN bin",
        "SET text hello",
        "GET text",
        "BITCOUNT text",
        "BITCOUNT text 1 2",
        "BITOP NOT nottext text",
        "GET nottext",
        "SETBIT text 100 1",
        "GET text",
        "MGET a missing text bin",
        "MGET",
        "SET",
        "SET k",
        "SET k v FOO",
        "SET k v NX XX",
        "SET k v EX",
        "SET k v EX 0",
        "SET k v EX -5",
        "SET k v EX abc",
        "SET k v PX 10 EX 10",
        "SET k v NX",
        "SET k w NX",
        "GET k",
        "SET k x XX",
        "GET k",
        "SET k2 y XX",
        "EXISTS k2",
        "SET k y GET",
        "SET newk z GET",
        "SET k z NX GET",
        "GET k",
        "SET k v2 EX 100",
        "TTL k",
        "SET k v3 KEEPTTL",
        "TTL k",
        "SET k v4",
        "TTL k",
        "SET k v5 KEEPTTL EX 5",
    ]);

    // Keys: EXISTS, DEL, KEYS, SCAN, TYPE, DBSIZE.
    s.all(&[
        "EXISTS a",
        "EXISTS a a missing b",
        "EXISTS",
        "TYPE a",
        "TYPE missing",
        "DBSIZE",
        "DBSIZE x",
        "KEYS",
    ]);
    for pattern in ["*", "a*", "?ot*", "[ab]", "[^a]*", "not[12]", "*text", "no"] {
        s.run_unordered(&format!("KEYS {pattern}"));
    }
    for options in [
        "",
        "COUNT 1",
        "COUNT 3",
        "MATCH *o*",
        "MATCH [ab] COUNT 2",
        "TYPE string",
        "TYPE list",
    ] {
        s.scan_all(options);
    }
    s.all(&[
        "SCAN abc",
        "SCAN +",
        "SCAN 0 COUNT 0",
        "SCAN 0 COUNT x",
        "SCAN 0 MATCH",
        "SCAN 0 FOO bar",
        "DEL a missing",
        "DEL a",
        "DEL b b",
        "EXISTS a b",
        "DEL",
        "UNLINK text",
    ]);

    // Expiry: TTL, PTTL, EXPIRE family with NX/XX/GT/LT, PERSIST, EXPIREAT, EXPIRETIME.
    let at = unix_secs() + 100_000;
    s.all(&[
        "SETBIT e 1 1",
        "TTL e",
        "PTTL e",
        "TTL missing",
        "PTTL missing",
        "EXPIRETIME e",
        "EXPIRETIME missing",
        "EXPIRE missing 10",
        "EXPIRE e abc",
        "EXPIRE e 10 FOO",
        "EXPIRE e 10 NX XX",
        "EXPIRE e 10 GT LT",
        "EXPIRE e 99999999999999999",
        "EXPIRE e 100 XX",
        "EXPIRE e 100 GT",
        "EXPIRE e 100 LT",
        "TTL e",
        "EXPIRE e 100 NX",
        "TTL e",
        "EXPIRE e 200 NX",
        "EXPIRE e 50 GT",
        "EXPIRE e 500 GT",
        "TTL e",
        "EXPIRE e 1000 LT",
        "EXPIRE e 60 LT",
        "TTL e",
        "SETBIT e 2 1",
        "TTL e",
        "PERSIST e",
        "PERSIST e",
        "PERSIST missing",
        "TTL e",
        &format!("EXPIREAT e {at}"),
        "EXPIRETIME e",
        &format!("PEXPIREAT e {}", at * 1000 + 123),
        "PEXPIRETIME e",
        "EXPIRETIME e",
        "EXPIRE e 0",
        "EXISTS e",
        "SETBIT e 1 1",
        "EXPIRE e -10",
        "GET e",
        "SETBIT e 1 1",
        "PEXPIRE e -1",
        "EXISTS e",
        "SETBIT r 5 1",
        "EXPIRE r 300",
        "RENAME r r2",
        "TTL r2",
        "TTL r",
        "SET p v EX 100",
        "SET p2 v",
        "RENAME p2 p",
        "TTL p",
    ]);
    let pttl = |s: &mut Both| {
        let ours = call(&mut s.ours, &[b"PTTL", b"f"]);
        let theirs = call(&mut s.redis, &[b"PTTL", b"f"]);
        for reply in [ours, theirs] {
            match reply {
                Ok(Value::Int(ms)) => assert!((99_000..=100_000).contains(&ms), "PTTL {ms}"),
                other => panic!("PTTL: {other:?}"),
            }
        }
    };
    s.all(&["SETBIT f 3 1", "PEXPIRE f 100000"]);
    pttl(s);
    s.all(&["SETBIT g 3 1", "PEXPIRE g 100", "SET h v PX 100", "TTL g"]);
    std::thread::sleep(Duration::from_millis(250));
    s.all(&[
        "EXISTS g",
        "GET g",
        "GETBIT g 3",
        "BITCOUNT g",
        "TTL g",
        "PTTL g",
        "GET h",
        "SETBIT g 4 1",
        "TTL g",
        "BITCOUNT g",
    ]);

    // RENAME, RENAMENX.
    s.all(&[
        "SETBIT r3 9 1",
        "RENAME missing x",
        "RENAME r3 r3",
        "RENAME r3 r4",
        "GET r4",
        "EXISTS r3",
        "RENAMENX r4 r2",
        "RENAMENX r4 r5",
        "RENAMENX missing r6",
        "RENAMENX r5 r5",
        "GET r5",
        "RENAME a",
    ]);

    // Transactions (redis-py pipelines are MULTI/EXEC).
    s.all(&[
        "EXEC",
        "DISCARD",
        "MULTI",
        "MULTI",
        "SETBIT t 1 1",
        "GETBIT t 1",
        "BITCOUNT t",
        "TTL t",
        "EXEC",
        "MULTI",
        "SETBIT t 2 1",
        "DISCARD",
        "BITCOUNT t",
        "MULTI",
        "SETBIT t 3 1",
        "GET",
        "EXEC",
        "MULTI",
        "SETBIT t 3 1",
        "FOOBAR",
        "EXEC",
        "BITCOUNT t",
        "MULTI",
        "SETBIT t 3 x",
        "BITOP NOT t2 t",
        "GET t2",
        "EXEC",
    ]);

    // FLUSHDB / FLUSHALL.
    s.all(&[
        "FLUSHDB foo",
        "FLUSHDB",
        "DBSIZE",
        "SETBIT z 1 1",
        "FLUSHALL ASYNC",
        "DBSIZE",
        "KEYS *",
        "SETBIT z 1 1",
        "FLUSHALL SYNC",
        "EXISTS z",
    ]);
}

#[test]
fn same_replies_as_redis_for_every_command() {
    let redis = RedisServer::start();
    let ours = Server::start(&[]);
    let mut both = Both {
        redis: redis.raw_connection(),
        ours: ours.con(),
        steps: 0,
    };
    script(&mut both);
    eprintln!("{} steps compared", both.steps);
    assert!(both.steps > 300, "{} steps", both.steps);
}

/// Sends raw bytes and reads until the server closes the connection or goes quiet.
fn raw_exchange(port: u16, input: &[u8]) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(700)))
        .expect("timeout");
    stream.write_all(input).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

#[test]
fn protocol_errors_byte_for_byte() {
    let redis = RedisServer::start();
    let ours = Server::start(&[]);
    let cases: &[&[u8]] = &[
        b"PING\r\n",
        b"ECHO hi\r\n\r\n  PING  \r\n",
        b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n*1\r\n$4\r\nPING\r\n",
        b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
        b"*1\r\n$1073741824\r\n",
        b"*1\r\n$-5\r\n",
        b"*x\r\n",
        b"*2\r\n$4\r\nPING\r\n:1\r\n",
        b"*1\r\n$4\r\nPING\r\n*1\r\n$abc\r\nPING\r\n",
        b"*3\r\n$6\r\nSETBIT\r\n$1\r\nk\r\n$1\r\n9\r\n",
    ];
    for case in cases {
        let theirs = raw_exchange(redis.port(), case);
        let mine = raw_exchange(ours.port(), case);
        assert_eq!(
            (String::from_utf8_lossy(&mine.0), mine.1),
            (String::from_utf8_lossy(&theirs.0), theirs.1),
            "input {:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn empty_values_are_refused_and_info_keys_counts() {
    let ours = Server::start(&[]);
    let mut con = ours.con();
    let err = call(&mut con, &[b"SET", b"k", b""]).expect_err("an empty value is no bitmap");
    assert!(err.contains("not a bitmap"), "{err}");
    assert_eq!(call(&mut con, &[b"EXISTS", b"k"]), Ok(Value::Int(0)));
    let err = call(&mut con, &[b"SELECT", b"1"]).expect_err("one database");
    assert!(err.contains("only database 0"), "{err}");
    let err = call(&mut con, &[b"SETBIT", b"\xff", b"1", b"1"]).expect_err("UTF-8 keys");
    assert!(err.contains("UTF-8"), "{err}");
    for k in ["trackist_a", "trackist_b", "other"] {
        call(&mut con, &[b"SETBIT", k.as_bytes(), b"1", b"1"]).expect("setbit");
    }
    let Ok(Value::BulkString(info)) = call(&mut con, &[b"INFO", b"keys"]) else {
        panic!("INFO keys")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(info.starts_with("# Keys\r\n"), "{info}");
    assert!(info.contains("keys_total:3\r\n"), "{info}");
    assert!(info.contains("keys_cached:3\r\n"), "{info}");
    let Ok(Value::BulkString(all)) = call(&mut con, &[b"INFO"]) else {
        panic!("INFO")
    };
    let all = String::from_utf8_lossy(&all).into_owned();
    assert!(all.contains("db0:keys=3,expires=0,avg_ttl=0"), "{all}");
    // Clients' connection handshakes.
    for line in [
        "CLIENT SETINFO LIB-NAME redis-py",
        "CLIENT SETINFO LIB-VER 5.3.1",
        "CLIENT SETNAME me",
        "HELLO 2",
        "COMMAND DOCS",
        "CONFIG GET save",
    ] {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        call(&mut con, &words).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    assert_eq!(
        call(&mut con, &[b"CLIENT", b"GETNAME"]),
        Ok(Value::BulkString(b"me".to_vec()))
    );
    let err = call(&mut con, &[b"HELLO", b"3"]).expect_err("RESP2 only");
    assert!(err.contains("NOPROTO"), "{err}");
}

#[test]
fn slurp_imports_every_string_key_from_redis() {
    let redis = RedisServer::start();
    let mut r = redis.raw_connection();
    for i in 0..2500u32 {
        let key = format!("trackist_ev_{i}");
        redis::cmd("SETBIT")
            .arg(&key)
            .arg(i * 7)
            .arg(1)
            .query::<i64>(&mut r)
            .expect("setbit");
    }
    redis::cmd("SET")
        .arg("bin")
        .arg(&b"\x00\x01\xff\x00"[..])
        .query::<()>(&mut r)
        .expect("set");
    redis::cmd("SET")
        .arg("ttl")
        .arg("x")
        .arg("EX")
        .arg(1000)
        .query::<()>(&mut r)
        .expect("set");
    redis::cmd("SET")
        .arg("empty")
        .arg("")
        .query::<()>(&mut r)
        .expect("set");
    redis::cmd("LPUSH")
        .arg("list")
        .arg("x")
        .query::<i64>(&mut r)
        .expect("lpush");

    let ours = Server::start(&[]);
    let mut con = ours.con();
    let addr = format!("127.0.0.1:{}", redis.port());
    let imported = call(&mut con, &[b"SLURP", addr.as_bytes()]);
    assert_eq!(imported, Ok(Value::Int(2502)));
    for key in [
        "trackist_ev_0",
        "trackist_ev_1234",
        "trackist_ev_2499",
        "bin",
        "ttl",
    ] {
        let theirs = call(&mut r, &[b"GET", key.as_bytes()]);
        assert_eq!(call(&mut con, &[b"GET", key.as_bytes()]), theirs, "{key}");
    }
    assert_eq!(call(&mut con, &[b"DBSIZE"]), Ok(Value::Int(2502)));
    assert_eq!(
        call(&mut con, &[b"EXISTS", b"list", b"empty"]),
        Ok(Value::Int(0))
    );
    let Ok(Value::Int(ttl)) = call(&mut con, &[b"TTL", b"ttl"]) else {
        panic!("TTL")
    };
    assert!((990..=1000).contains(&ttl), "{ttl}");
    let err = call(&mut con, &[b"SLURP", b"127.0.0.1:1"]).expect_err("nothing listens");
    assert!(err.contains("SLURP"), "{err}");
    let err = call(&mut con, &[b"SLURP", addr.as_bytes(), b"x"]).expect_err("bad db");
    assert!(err.contains("not an integer"), "{err}");
}

/// `AUTH`, `HELLO AUTH` and refused `SHUTDOWN`s answer byte for byte as Redis 7.0 does,
/// without a password and with one (`-requirepass` / `--requirepass`).
#[test]
fn auth_hello_and_shutdown_errors_byte_for_byte() {
    let without: &[&[u8]] = &[
        b"AUTH x\r\nAUTH u p\r\nAUTH default p\r\nAUTH a b c\r\nPING\r\n",
        b"HELLO 2 AUTH u p\r\nHELLO 4\r\nHELLO x\r\nPING\r\n",
        b"SHUTDOWN NOSAVE SAVE\r\nSHUTDOWN ABORT\r\nSHUTDOWN SAVE ABORT\r\nSHUTDOWN ABORT NOW\r\n\
          SHUTDOWN FOO\r\nSHUTDOWN NOSAVE NOSAVE FOO\r\nPING\r\n",
    ];
    let with: &[&[u8]] = &[
        b"PING\r\nGET k\r\nFOO\r\nGET\r\nAUTH x\r\nAUTH u p\r\nAUTH default x\r\nPING\r\n",
        b"HELLO 2\r\nHELLO 2 SETNAME n\r\nHELLO 2 AUTH default x\r\nHELLO 2 AUTH u s3\r\nPING\r\n",
        b"AUTH s3\r\nPING\r\nAUTH bad\r\nPING\r\n",
        b"AUTH default s3\r\nSETBIT k 1 1\r\nGETBIT k 1\r\n",
        b"MULTI\r\nAUTH s3\r\nMULTI\r\nSETBIT k 1 1\r\nEXEC\r\n",
    ];
    for (cases, redis_args, our_args) in [
        (without, &[][..], &[][..]),
        (
            with,
            &["--requirepass", "s3"][..],
            &["-requirepass", "s3"][..],
        ),
    ] {
        let redis = RedisServer::start_with(redis_args);
        let ours = Server::start(our_args);
        for case in cases {
            let theirs = raw_exchange(redis.port(), case);
            let mine = raw_exchange(ours.port(), case);
            assert_eq!(
                String::from_utf8_lossy(&mine.0),
                String::from_utf8_lossy(&theirs.0),
                "input {:?} with {our_args:?}",
                String::from_utf8_lossy(case)
            );
        }
        // Neither shut down.
        assert!(common::answers_ping(ours.port()));
    }
}
