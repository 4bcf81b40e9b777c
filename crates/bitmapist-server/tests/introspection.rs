//! `COMMAND`, `COMMAND COUNT|LIST|INFO` and `CONFIG RESETSTAT` on the real server process:
//! the command table's answers agree with each other and with commands that run, and
//! `RESETSTAT` zeroes the counters `INFO stats` shows.

use crate::common;

use std::collections::HashSet;

use common::Server;
use redis::Value;

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn command_table_answers_agree() {
    let server = Server::start(&[]);
    let mut con = server.con();
    let count: usize = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut con)
        .expect("COUNT");
    let list: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut con)
        .expect("LIST");
    let names: HashSet<&str> = list.iter().map(String::as_str).collect();
    assert_eq!(count, list.len());
    assert_eq!(names.len(), list.len(), "no duplicates: {list:?}");
    for name in [
        "setbit", "getbit", "bitop", "bitcount", "keys", "scan", "multi", "command",
    ] {
        assert!(names.contains(name), "{name} missing from {list:?}");
    }

    // COMMAND: one ten-field entry per command, its name and arity first.
    let all: Vec<Value> = redis::cmd("COMMAND").query(&mut con).expect("COMMAND");
    assert_eq!(all.len(), count);
    let Value::Array(setbit) = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("SETBIT")
        .arg("nosuchcommand")
        .query::<Vec<Value>>(&mut con)
        .expect("COMMAND INFO")
        .remove(0)
    else {
        panic!("COMMAND INFO SETBIT is not an array");
    };
    assert_eq!(setbit.len(), 10);
    assert_eq!(setbit[0], Value::BulkString(b"setbit".to_vec()));
    assert_eq!(setbit[1], Value::Int(4));
    let unknown: Vec<Value> = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("nosuchcommand")
        .query(&mut con)
        .expect("COMMAND INFO");
    assert_eq!(unknown, vec![Value::Nil]);
}

#[test]
fn config_resetstat_zeroes_the_counters() {
    let server = Server::start(&[]);
    let mut con = server.con();
    for i in 0..20 {
        let _: i64 = redis::cmd("SETBIT")
            .arg("k")
            .arg(i)
            .arg(1)
            .query(&mut con)
            .expect("SETBIT");
    }
    assert!(info_field(&mut con, "stats", "total_commands_processed") >= 20);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");
    // The INFO command itself may be counted.
    assert!(info_field(&mut con, "stats", "total_commands_processed") <= 1);
    assert_eq!(
        info_field(&mut con, "stats", "total_connections_received"),
        0
    );
}
