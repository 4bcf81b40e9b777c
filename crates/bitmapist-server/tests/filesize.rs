//! The server's file size: `INFO persistence` reports the sum of the serialized roaring
//! sizes (checked against roaring's own, from the bytes `GET` returns), and after `BGSAVE`
//! the file is at most 1.25x that sum, with every key intact.

use crate::common;

use bitmapist::Bitmap;
use common::Server;

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(con)
        .expect("INFO persistence");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{field} in {info}"))
}

fn info_u64(con: &mut redis::Connection, field: &str) -> u64 {
    info_field(con, field)
        .parse()
        .unwrap_or_else(|e| panic!("{field}: {e}"))
}

/// A deterministic pseudo-random byte string of `len` bytes with density about `1/den`.
fn bytes(seed: u64, len: usize, den: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            let mut b = 0u8;
            for bit in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(den) {
                    b |= 1 << bit;
                }
            }
            b
        })
        .collect()
}

/// Every key's value, and the sum of their serialized roaring sizes after `optimize`.
fn snapshot(con: &mut redis::Connection, keys: &[String]) -> (Vec<Vec<u8>>, u64) {
    let mut values = Vec::new();
    let mut sum = 0u64;
    for k in keys {
        let v: Vec<u8> = redis::cmd("GET").arg(k).query(con).expect("GET");
        let mut bits = Bitmap::from_redis_bytes(&v).expect("a bitmap").into_bits();
        bits.optimize();
        sum += bits.serialized_size() as u64;
        values.push(v);
    }
    (values, sum)
}

#[test]
fn info_reports_the_roaring_sum_and_bgsave_keeps_the_file_within_the_bound() {
    let mut s = Server::start(&["-save-every", "100ms"]);
    let mut con = s.con();
    let mut keys = Vec::new();
    // Dense, sparse and run-shaped bitmaps, then overwrites that leave free pages behind.
    for round in 0..3u64 {
        for i in 0..60u64 {
            let key = format!("trackist_e{}_{i}", i % 4);
            let value = match i % 3 {
                0 => bytes(round * 1_000 + i, 40_000, 2),
                1 => bytes(round * 1_000 + i, 60_000, 40),
                _ => {
                    let mut v = vec![0u8; 30_000];
                    v[1_000..20_000].fill(0xFF);
                    v
                }
            };
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .query(&mut con)
                .expect("SET");
            if round == 0 {
                keys.push(key);
            }
        }
        // Let a commit happen between rounds, so that overwritten rows become free pages.
        let _: () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    }
    let (values, sum) = snapshot(&mut con, &keys);
    assert_eq!(info_u64(&mut con, "db_roaring_bytes"), sum);
    let before = info_u64(&mut con, "db_file_bytes");
    assert_eq!(before, std::fs::metadata(s.db()).expect("db file").len());

    let reply: String = redis::cmd("BGSAVE").query(&mut con).expect("BGSAVE");
    assert_eq!(reply, "Background saving started");
    let after = std::fs::metadata(s.db()).expect("db file").len();
    eprintln!("file {before} -> {after} bytes for {sum} bytes of bitmaps");
    assert_eq!(info_u64(&mut con, "db_file_bytes"), after);
    assert_eq!(info_u64(&mut con, "db_roaring_bytes"), sum);
    assert!(
        after as f64 <= 1.25 * sum as f64,
        "{after} bytes on disk for {sum} bytes of bitmaps"
    );
    let ratio: f64 = info_field(&mut con, "db_file_to_roaring_ratio")
        .parse()
        .expect("ratio");
    assert!((ratio - after as f64 / sum as f64).abs() < 0.001, "{ratio}");

    // Every key is intact after the compaction, and writes keep landing in the new file.
    let (again, _) = snapshot(&mut con, &keys);
    assert_eq!(again, values);
    let _: i64 = redis::cmd("SETBIT")
        .arg("after")
        .arg(5)
        .arg(1)
        .query(&mut con)
        .expect("SETBIT");
    let _: () = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    drop(con);
    s.kill();
    s.restart();
    let mut con = s.con();
    let (restarted, _) = snapshot(&mut con, &keys);
    assert_eq!(restarted, values);
    let bit: i64 = redis::cmd("GETBIT")
        .arg("after")
        .arg(5)
        .query(&mut con)
        .expect("GETBIT");
    assert_eq!(bit, 1);
}
