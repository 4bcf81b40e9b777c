//! Redis's observability on the real server, beside a real redis-server 7 that gets the same
//! commands: `INFO everything` section and field names (ours are Redis's, or our documented
//! own), `commandstats`/`errorstats`/`latencystats` values that move with the commands
//! sent, `CONFIG RESETSTAT`, `LATENCY HISTOGRAM`'s reply shape and `SLOWLOG`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{RedisServer, Server};
use redis::Value;

/// Fields of our own (no Redis field means the same), by section.
const OWN_FIELDS: &[(&str, &str)] = &[
    ("server", "bitmapist_server_version"),
    ("server", "db_path"),
    ("persistence", "save_interval_ms"),
    ("persistence", "db_file_bytes"),
    ("persistence", "db_roaring_bytes"),
    ("persistence", "db_file_to_roaring_ratio"),
    ("stats", "bitmapist_streamed_replies"),
    ("stats", "bitmapist_abandoned_replies"),
    ("keys", "keys_total"),
    ("keys", "keys_cached"),
];

/// `INFO` text as section -> field -> value.
fn parse_info(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# ") {
            current = title.to_ascii_lowercase();
            sections
                .entry(current.clone())
                .or_insert_with(BTreeMap::new);
        } else if let Some((k, v)) = line.split_once(':') {
            sections
                .entry(current.clone())
                .or_insert_with(BTreeMap::new)
                .insert(k.to_string(), v.to_string());
        }
    }
    sections
}

fn info(con: &mut redis::Connection, section: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let text: String = redis::cmd("INFO").arg(section).query(con).expect("INFO");
    parse_info(&text)
}

/// The names in a `k=v,k=v` value.
fn value_names(v: &str) -> Vec<String> {
    v.split(',')
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

/// `name=` in a `k=v,k=v` value, as a number.
fn value_of(v: &str, name: &str) -> f64 {
    v.split(',')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .parse()
        .expect("a number")
}

/// The same commands for both servers: SETBITs, a GET hit and miss, an unknown command
/// and a wrong arity (errors), and a deadline.
fn workload(con: &mut redis::Connection, setbits: u32) {
    for i in 0..setbits {
        let _: i64 = redis::cmd("SETBIT")
            .arg("k")
            .arg(i * 3)
            .arg(1)
            .query(con)
            .expect("SETBIT");
    }
    let _: Option<Vec<u8>> = redis::cmd("GET").arg("k").query(con).expect("GET");
    let _: Option<Vec<u8>> = redis::cmd("GET").arg("missing").query(con).expect("GET");
    let _: i64 = redis::cmd("EXPIRE")
        .arg("k")
        .arg(1000)
        .query(con)
        .expect("EXPIRE");
    assert!(redis::cmd("NOSUCHCOMMAND").query::<()>(con).is_err());
    assert!(redis::cmd("GETBIT").arg("k").query::<()>(con).is_err());
}

#[test]
fn info_fields_are_redis_names() {
    let ours = Server::start(&[]);
    let redis = RedisServer::start();
    let mut a = ours.con();
    let mut b = redis.raw_connection();
    workload(&mut a, 50);
    workload(&mut b, 50);
    let mine = info(&mut a, "everything");
    let theirs = info(&mut b, "everything");

    let own: BTreeSet<(&str, &str)> = OWN_FIELDS.iter().copied().collect();
    for (section, fields) in &mine {
        // Entries per command and per error depend on what each client sent; they are
        // compared below, on the commands both servers got.
        if matches!(
            section.as_str(),
            "keys" | "commandstats" | "latencystats" | "errorstats"
        ) {
            continue;
        }
        let reference = theirs
            .get(section)
            .unwrap_or_else(|| panic!("redis-server has no section {section}"));
        for field in fields.keys() {
            assert!(
                reference.contains_key(field) || own.contains(&(section.as_str(), field.as_str())),
                "{section}/{field}: not a redis-server 7 field nor one of our own"
            );
        }
    }
    for section in [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "commandstats",
        "errorstats",
        "latencystats",
        "keyspace",
    ] {
        assert!(
            mine.contains_key(section),
            "INFO everything lacks {section}"
        );
    }
    for field in [
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "rejected_connections",
    ] {
        assert!(mine["stats"].contains_key(field), "stats/{field}");
    }

    // Same commands, same per-command and per-error entries, same value names.
    for (section, names) in [
        (
            "commandstats",
            ["cmdstat_setbit", "cmdstat_get", "cmdstat_getbit"],
        ),
        (
            "latencystats",
            [
                "latency_percentiles_usec_setbit",
                "latency_percentiles_usec_get",
                "latency_percentiles_usec_expire",
            ],
        ),
    ] {
        for name in names {
            let (m, t) = (&mine[section][name], &theirs[section][name]);
            assert_eq!(value_names(m), value_names(t), "{section}/{name}");
        }
    }
    let setbit = &mine["commandstats"]["cmdstat_setbit"];
    assert_eq!(value_of(setbit, "calls"), 50.0);
    let getbit = &mine["commandstats"]["cmdstat_getbit"];
    assert_eq!(
        (
            value_of(getbit, "calls"),
            value_of(getbit, "rejected_calls")
        ),
        (0.0, 1.0),
        "{getbit}"
    );
    assert_eq!(
        mine["errorstats"].keys().collect::<Vec<_>>(),
        theirs["errorstats"].keys().collect::<Vec<_>>()
    );
    assert_eq!(mine["errorstats"]["errorstat_ERR"], "count=2");
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(mine["stats"][field], theirs["stats"][field], "{field}");
    }
    assert_eq!(
        value_names(&mine["keyspace"]["db0"]),
        value_names(&theirs["keyspace"]["db0"])
    );
    assert!(value_of(&mine["keyspace"]["db0"], "avg_ttl") > 990_000.0);

    // INFO without arguments: Redis's default sections (no commandstats nor latencystats).
    let default = info(&mut a, "default");
    assert!(default.contains_key("stats") && !default.contains_key("commandstats"));
    let only = info(&mut a, "commandstats");
    assert_eq!(only.keys().collect::<Vec<_>>(), ["commandstats"]);
}

#[test]
fn resetstat_zeroes_command_and_error_figures() {
    let ours = Server::start(&[]);
    let mut con = ours.con();
    workload(&mut con, 10);
    let before = info(&mut con, "everything");
    assert!(before["commandstats"].contains_key("cmdstat_setbit"));
    assert!(
        before["stats"]["total_net_input_bytes"]
            .parse::<u64>()
            .unwrap_or(0)
            > 0
    );
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .expect("RESETSTAT");
    let after = info(&mut con, "everything");
    assert!(!after["commandstats"].contains_key("cmdstat_setbit"));
    assert!(after["errorstats"].is_empty());
    assert!(!after["latencystats"].contains_key("latency_percentiles_usec_setbit"));
    assert_eq!(after["stats"]["keyspace_hits"], "0");
}

/// `LATENCY HISTOGRAM` entries: command -> (calls, cumulative bucket counts).
fn histograms(con: &mut redis::Connection, args: &[&str]) -> BTreeMap<String, (i64, Vec<i64>)> {
    let reply: Vec<Value> = redis::cmd("LATENCY")
        .arg("HISTOGRAM")
        .arg(args)
        .query(con)
        .expect("LATENCY HISTOGRAM");
    let mut out = BTreeMap::new();
    for pair in reply.chunks(2) {
        let name: String = redis::from_redis_value(pair[0].clone()).expect("a name");
        let fields: Vec<Value> = redis::from_redis_value(pair[1].clone()).expect("a map");
        assert_eq!(fields.len(), 4, "{fields:?}");
        assert_eq!(fields[0], Value::BulkString(b"calls".to_vec()));
        assert_eq!(fields[2], Value::BulkString(b"histogram_usec".to_vec()));
        let calls: i64 = redis::from_redis_value(fields[1].clone()).expect("calls");
        let buckets: Vec<i64> = redis::from_redis_value(fields[3].clone()).expect("buckets");
        let counts: Vec<i64> = buckets.chunks(2).map(|b| b[1]).collect();
        out.insert(name, (calls, counts));
    }
    out
}

#[test]
fn latency_histogram_has_redis_shape() {
    let ours = Server::start(&[]);
    let redis = RedisServer::start();
    let mut a = ours.con();
    let mut b = redis.raw_connection();
    workload(&mut a, 40);
    workload(&mut b, 40);
    let mine = histograms(&mut a, &["setbit", "get", "nosuch"]);
    let theirs = histograms(&mut b, &["setbit", "get", "nosuch"]);
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, (calls, counts)) in &mine {
        assert_eq!(*calls, theirs[name].0, "{name}");
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{name}: {counts:?}");
        assert_eq!(
            counts.last(),
            Some(calls),
            "{name}: cumulative to all calls"
        );
    }
    let all = histograms(&mut a, &[]);
    assert!(all.contains_key("expire") && all.contains_key("setbit"));
}

#[test]
fn slowlog_keeps_the_newest_commands() {
    let ours = Server::start(&["-slowlog-log-slower-than", "0", "-slowlog-max-len", "3"]);
    let mut con = ours.con();
    let _: () = redis::cmd("SLOWLOG")
        .arg("RESET")
        .query(&mut con)
        .expect("RESET");
    for i in 0..5 {
        let _: i64 = redis::cmd("SETBIT")
            .arg(format!("key{i}"))
            .arg(i)
            .arg(1)
            .query(&mut con)
            .expect("SETBIT");
    }
    let len: i64 = redis::cmd("SLOWLOG")
        .arg("LEN")
        .query(&mut con)
        .expect("LEN");
    assert_eq!(len, 3);
    let entries: Vec<Vec<Value>> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(2)
        .query(&mut con)
        .expect("GET");
    assert_eq!(entries.len(), 2);
    // Newest first: the SLOWLOG LEN, then the last SETBIT.
    let args: Vec<String> = redis::from_redis_value(entries[1][3].clone()).expect("args");
    assert_eq!(args, ["SETBIT", "key4", "4", "1"]);
    assert_eq!(entries[1].len(), 6);
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| redis::from_redis_value(e[0].clone()).expect("id"))
        .collect();
    assert_eq!(ids[0], ids[1] + 1);
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("slowlog-*")
        .query(&mut con)
        .expect("CONFIG GET");
    assert!(config.contains(&"slowlog-max-len".to_string()) && config.contains(&"3".to_string()));
    assert!(
        redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(-2)
            .query::<()>(&mut con)
            .is_err()
    );

    let quiet = Server::start(&["-slowlog-log-slower-than", "-1"]);
    let mut con = quiet.con();
    let _: i64 = redis::cmd("SETBIT")
        .arg("k")
        .arg(1)
        .arg(1)
        .query(&mut con)
        .expect("SETBIT");
    let len: i64 = redis::cmd("SLOWLOG")
        .arg("LEN")
        .query(&mut con)
        .expect("LEN");
    assert_eq!(len, 0);
}
