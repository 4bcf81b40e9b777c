//! Temporary keys cost no disk write: Python bitmapist's cohort command mix (`BITOP` into
//! temporary keys, `BITCOUNT`, `RENAME`, `DEL`) leaves the database file untouched until the
//! next commit, answers as a set model says, and a crash loses at most those commands.

use crate::common;

use std::collections::HashSet;
use std::time::SystemTime;

use common::Server;
use redis::Commands;

/// The file's length and modification time.
fn file_state(s: &Server) -> (u64, SystemTime) {
    let meta = std::fs::metadata(s.db()).expect("stat the database file");
    (meta.len(), meta.modified().expect("mtime"))
}

fn setbits(con: &mut redis::Connection, key: &str, offsets: &HashSet<u32>) {
    let mut pipe = redis::pipe();
    for o in offsets {
        pipe.cmd("SETBIT").arg(key).arg(*o).arg(1).ignore();
    }
    pipe.query::<()>(con).expect("pipelined SETBIT");
}

fn bitop(con: &mut redis::Connection, op: &str, dest: &str, sources: &[&str]) -> i64 {
    redis::cmd("BITOP")
        .arg(op)
        .arg(dest)
        .arg(sources)
        .query(con)
        .expect("BITOP")
}

fn bitcount(con: &mut redis::Connection, key: &str) -> usize {
    redis::cmd("BITCOUNT")
        .arg(key)
        .query(con)
        .expect("BITCOUNT")
}

#[test]
fn the_cohort_command_mix_does_not_write_the_file() {
    // Commits an hour apart: only SAVE (and the final save) write the file.
    let mut s = Server::start(&["-save-every", "1h"]);
    let mut con = s.con();
    let days: Vec<HashSet<u32>> = (0..6u32)
        .map(|d| {
            (0..3000u32)
                .filter(|u| (u * 7 + d * 13) % (d + 2) != 1)
                .collect()
        })
        .collect();
    for (d, users) in days.iter().enumerate() {
        setbits(&mut con, &format!("trackist_active_{d}"), users);
    }
    let _: String = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    let before = file_state(&s);

    // One cohort row per day, as Python bitmapist computes it: AND with each later day,
    // BITCOUNT, XOR the matched users out, RENAME the result to a short temporary key.
    for (row, first) in days.iter().enumerate() {
        let mut model = first.clone();
        let mut prim = format!("trackist_active_{row}");
        let mut temps = Vec::new();
        for (col, day) in days.iter().enumerate().skip(row + 1) {
            let both = format!("trackist_bitop_AND_{row}_{col}");
            bitop(
                &mut con,
                "AND",
                &both,
                &[&prim, &format!("trackist_active_{col}")],
            );
            let expect: HashSet<u32> = model.intersection(day).copied().collect();
            assert_eq!(
                bitcount(&mut con, &both),
                expect.len(),
                "row {row} col {col}"
            );
            let xor = format!("trackist_bitop_XOR_{row}_{col}");
            bitop(&mut con, "XOR", &xor, &[&prim, &both]);
            model = model.difference(&expect).copied().collect();
            let tmp = format!("trackist_bitop_oracle_{row}_{col}");
            let _: () = con.rename(&xor, &tmp).expect("RENAME");
            assert_eq!(bitcount(&mut con, &tmp), model.len());
            temps.push(both);
            temps.push(tmp.clone());
            prim = tmp;
        }
        let bitop_keys: Vec<String> = con.keys("trackist_bitop_*").expect("KEYS");
        assert_eq!(bitop_keys.len(), temps.len());
        if !temps.is_empty() {
            let deleted: usize = con.del(&temps).expect("DEL");
            assert_eq!(deleted, temps.len());
        }
    }
    let left: Vec<String> = con.keys("trackist_bitop_*").expect("KEYS");
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        file_state(&s),
        before,
        "BITOP/RENAME/DEL of temporary keys wrote the database file"
    );

    // A deleted key of the file: gone at once, from the file at the next commit; a crash
    // before it brings the key back (a delete is a write, see the README).
    let deleted: usize = con.del("trackist_active_0").expect("DEL");
    assert_eq!(deleted, 1);
    assert_eq!(bitcount(&mut con, "trackist_active_0"), 0);
    assert_eq!(file_state(&s), before);
    s.kill();
    s.restart();
    let mut con = s.con();
    assert_eq!(bitcount(&mut con, "trackist_active_0"), days[0].len());
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut con).expect("DBSIZE");
    assert_eq!(dbsize, days.len(), "no temporary key reached the file");
    let _: usize = con.del("trackist_active_0").expect("DEL");
    let _: String = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    s.kill();
    s.restart();
    let mut con = s.con();
    let exists: usize = con.exists("trackist_active_0").expect("EXISTS");
    assert_eq!(exists, 0, "a saved delete survives a crash");
}

#[test]
fn deleting_a_key_with_a_deadline_commits_before_the_deadline_goes() {
    let mut s = Server::start(&["-save-every", "1h"]);
    let mut con = s.con();
    let _: () = con.set("k", &b"\x01"[..]).expect("SET");
    let _: () = con.set("tmp", &b"\x02"[..]).expect("SET");
    let _: String = redis::cmd("SAVE").query(&mut con).expect("SAVE");
    let _: i64 = con.expire("k", 1000).expect("EXPIRE");
    let _: i64 = con.expire("tmp", 1000).expect("EXPIRE");
    // RENAME moves the deadline; DEL removes it: both commit the store first.
    let _: () = con.rename("tmp", "moved").expect("RENAME");
    let deleted: usize = con.del("k").expect("DEL");
    assert_eq!(deleted, 1);
    s.kill();
    s.restart();
    let mut con = s.con();
    let exists: usize = con.exists(&["k", "tmp"]).expect("EXISTS");
    assert_eq!(exists, 0, "a deleted key came back without its deadline");
    let ttl: i64 = con.ttl("moved").expect("TTL");
    assert!((990..=1000).contains(&ttl), "{ttl}");
}
