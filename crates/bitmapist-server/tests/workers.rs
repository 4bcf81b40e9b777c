//! `-workers` and large `BITOP`s: with one worker thread and with two, a `BITOP` over
//! operands large enough to hand the worker over (8 MiB of random bits each) gives Redis's
//! bytes (checked against a byte-wise model) while another client's `SETBIT`/`GETBIT`/
//! `BITCOUNT` on other keys keep answering correctly (checked against a set model).

use crate::common;

use std::collections::HashSet;

use bitmapist_test_support::Rng;
use common::Server;

/// 8 MiB per operand: 1,024 dense (bitmap) containers, more than the hand-over threshold.
const BYTES: usize = 8 << 20;

/// A `BITOP` operation on one byte of each operand (the model).
type ByteOp = fn(u8, u8) -> u8;

fn random_bytes(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(BYTES);
    while out.len() < BYTES {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(BYTES);
    out
}

/// Another client's single-key bit commands, all answered as a set model says.
fn bit_traffic(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("client");
    let mut con = client.get_connection().expect("connect");
    let mut model = HashSet::new();
    let mut rng = Rng(7);
    for _ in 0..1_000 {
        let offset = u32::try_from(rng.next() % 100_000).expect("small");
        let before: i64 = redis::cmd("SETBIT")
            .arg("side")
            .arg(offset)
            .arg(1)
            .query(&mut con)
            .expect("SETBIT");
        assert_eq!(before == 1, !model.insert(offset), "SETBIT side {offset}");
        let probe = u32::try_from(rng.next() % 100_000).expect("small");
        let bit: i64 = redis::cmd("GETBIT")
            .arg("side")
            .arg(probe)
            .query(&mut con)
            .expect("GETBIT");
        assert_eq!(bit == 1, model.contains(&probe), "GETBIT side {probe}");
    }
    let count: usize = redis::cmd("BITCOUNT")
        .arg("side")
        .query(&mut con)
        .expect("BITCOUNT");
    assert_eq!(count, model.len());
}

fn large_bitops_beside_other_clients(workers: &str) {
    let server = Server::start(&["-workers", workers]);
    let mut con = server.con();
    let a = random_bytes(1);
    let b = random_bytes(2);
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg(&a)
        .query(&mut con)
        .expect("SET a");
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg(&b)
        .query(&mut con)
        .expect("SET b");

    let port = server.port();
    let side = std::thread::spawn(move || bit_traffic(port));
    let ops: [(&str, ByteOp); 3] = [
        ("AND", |x, y| x & y),
        ("OR", |x, y| x | y),
        ("XOR", |x, y| x ^ y),
    ];
    for round in 0..1 {
        for (op, f) in ops {
            let len: usize = redis::cmd("BITOP")
                .arg(op)
                .arg("dest")
                .arg("a")
                .arg("b")
                .query(&mut con)
                .expect("BITOP");
            assert_eq!(len, BYTES, "{op} round {round}");
            let want: Vec<u8> = a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect();
            let got: Vec<u8> = redis::cmd("GET").arg("dest").query(&mut con).expect("GET");
            assert!(
                got == want,
                "BITOP {op} dest a b differs from the byte-wise model"
            );
            let count: u64 = redis::cmd("BITCOUNT")
                .arg("dest")
                .query(&mut con)
                .expect("BITCOUNT");
            let ones: u64 = want.iter().map(|x| u64::from(x.count_ones())).sum();
            assert_eq!(count, ones, "BITCOUNT after BITOP {op}");
        }
    }
    side.join()
        .expect("the other client's commands were all answered right");
}

#[test]
fn one_worker_large_bitops_and_other_clients() {
    large_bitops_beside_other_clients("1");
}

#[test]
fn two_workers_large_bitops_and_other_clients() {
    large_bitops_beside_other_clients("2");
}

#[test]
fn a_bad_worker_count_is_refused_with_exit_code_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bitmapist-server"))
        .args(["-workers", "many"])
        .output()
        .expect("run bitmapist-server");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("workers"), "{err}");
}
