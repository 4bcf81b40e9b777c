//! The `bitmapist` binary run as a process against memory, embedded-file, Redis and Redis
//! Cluster stores.
//! Outputs are checked against the engine's own answers on the same data.

use crate::common::{json_of, succeed};
use crate::common::{run, run_env};

use bitmapist_test_support::{redis_cluster, redis_server};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use bitmapist::{Bitmapist, CohortSpec, Period, TimeGroup};
use chrono::{DateTime, TimeZone, Utc};
use redis_server::RedisServer;
use serde_json::Value;
use tempfile::TempDir;

const END: &str = "2026-11-22T18:00:00Z";

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("a valid time")
}

/// Expects a failure with `code` and exactly one `error:` line on stderr, no panic.
fn fails(dir: &Path, args: &[&str], code: i32, env: &[(&str, &str)]) -> String {
    let r = run_env(dir, args, env);
    assert_eq!(r.code, code, "bitmapist {args:?}: stderr {}", r.stderr);
    assert!(r.stdout.is_empty(), "stdout of a failure: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {}", r.stderr);
    assert!(lines[0].starts_with("error: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked") && !r.stderr.contains("backtrace"));
    r.stderr
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn file_url(dir: &Path, name: &str) -> String {
    format!("file://{}", dir.join(name).display())
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// mark, unmark, count (every period), ids and events on one store.
fn mark_count_ids_events(dir: &Path, url: &str) {
    let with = |args: &[&'static str]| [&["--store", url][..], args].concat();
    let at = "2026-11-22T10:15:00Z";
    succeed(
        dir,
        &with(&[
            "mark",
            "user:logged_in",
            "1",
            "2",
            "3",
            "--at",
            at,
            "--hourly",
        ]),
    );
    succeed(dir, &with(&["mark", "user:premium", "2", "--unique-only"]));
    succeed(
        dir,
        &with(&[
            "mark",
            "user:signed_up",
            "3",
            "--at",
            "2026-11-22",
            "--unique",
        ]),
    );
    succeed(
        dir,
        &with(&["unmark", "user:logged_in", "2", "--at", at, "--hourly"]),
    );
    for (period, n) in [
        ("hour", "2"),
        ("day", "2"),
        ("week", "2"),
        ("month", "2"),
        ("year", "2"),
        ("unique", "0"),
    ] {
        let got = succeed(
            dir,
            &with(&["count", "user:logged_in", "--period", period, "--at", at]),
        )
        .stdout;
        assert_eq!(got.trim(), n, "{period}");
    }
    assert_eq!(
        succeed(
            dir,
            &with(&[
                "count",
                "user:logged_in",
                "--period",
                "hour",
                "--at",
                "2026-11-22T11:00"
            ])
        )
        .stdout
        .trim(),
        "0"
    );
    assert_eq!(
        succeed(dir, &with(&["count", "user:premium", "--period", "unique"]))
            .stdout
            .trim(),
        "1"
    );
    assert_eq!(
        succeed(dir, &with(&["count", "user:premium", "--at", at]))
            .stdout
            .trim(),
        "0"
    );
    assert_eq!(
        succeed(
            dir,
            &with(&["count", "user:signed_up", "--period", "unique"])
        )
        .stdout
        .trim(),
        "1"
    );
    assert_eq!(
        succeed(dir, &with(&["ids", "user:logged_in", "--at", at])).stdout,
        "1\n3\n"
    );
    assert_eq!(
        json_of(
            dir,
            &with(&["ids", "user:logged_in", "--period", "week", "--at", at])
        ),
        serde_json::json!([1, 3])
    );
    let c = json_of(
        dir,
        &with(&["count", "user:logged_in", "--period", "week", "--at", at]),
    );
    assert_eq!(c["count"], 2);
    assert_eq!(c["start"], "2026-11-16");

    let events = json_of(dir, &with(&["events", "--at", at]));
    let rows = events["events"].as_array().expect("a list");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(names, ["user:logged_in", "user:premium", "user:signed_up"]);
    assert_eq!(rows[0]["today"], 2);
    assert_eq!(rows[0]["week"], 2);
    assert_eq!(rows[0]["month"], 2);
    assert_eq!(rows[1]["today"], 0);
    let filtered = json_of(dir, &with(&["events", "user:s", "--at", at]));
    assert_eq!(filtered["events"].as_array().map(Vec::len), Some(1));
    let table = succeed(dir, &with(&["events", "--at", at])).stdout;
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["user:logged_in", "2", "2", "2"]),
        "{table}"
    );
    let csv = succeed(dir, &with(&["events", "--at", at, "--format", "csv"])).stdout;
    assert!(
        csv.starts_with("event,today,week,month\nuser:logged_in,2,2,2\n"),
        "{csv}"
    );
}

#[test]
fn memory_store_commands_run_in_one_process_each() {
    let dir = tempdir();
    let d = dir.path();
    // Each process has its own empty memory store: marks do not outlive the process.
    succeed(
        d,
        &[
            "--store",
            "memory://",
            "mark",
            "user:logged_in",
            "1",
            "--at",
            END,
        ],
    );
    assert_eq!(
        succeed(
            d,
            &[
                "--store",
                "memory://",
                "count",
                "user:logged_in",
                "--at",
                END
            ]
        )
        .stdout
        .trim(),
        "0"
    );
    assert_eq!(
        succeed(d, &["--store", "memory://", "ids", "user:logged_in"]).stdout,
        ""
    );
    assert_eq!(
        json_of(d, &["--store", "memory://", "events"]),
        serde_json::json!({"store": "memory://", "events": [], "storage": null})
    );
    let summary = json_of(
        d,
        &[
            "--store",
            "memory://",
            "seed",
            "--users",
            "500",
            "--days",
            "20",
            "--end",
            END,
        ],
    );
    assert!(
        summary["marks"].as_u64().is_some_and(|n| n > 500),
        "{summary}"
    );
    assert!(
        summary["seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{summary}"
    );
    assert_eq!(summary["events"]["user:signed_up"], 500);
    let cohort = json_of(
        d,
        &[
            "--store",
            "memory://",
            "cohort",
            "a",
            "b",
            "--rows",
            "3",
            "--cols",
            "2",
            "--now",
            END,
        ],
    );
    assert_eq!(
        cohort["cohort"],
        serde_json::json!([[null, null], [null, null], [null, null]])
    );
    assert!(
        !d.join("bitmapist.redb").exists(),
        "memory:// must not create the default file"
    );
}

#[test]
fn embedded_store_mark_count_ids_events() {
    let dir = tempdir();
    let url = file_url(dir.path(), "data.redb");
    mark_count_ids_events(dir.path(), &url);
}

#[test]
fn redis_store_mark_count_ids_events() {
    let server = RedisServer::start();
    let dir = tempdir();
    mark_count_ids_events(dir.path(), &server.url());
}

#[test]
fn default_store_is_the_embedded_file_and_env_and_prefix_apply() {
    let dir = tempdir();
    let d = dir.path();
    succeed(d, &["mark", "e", "7", "--at", END]);
    assert!(d.join("bitmapist.redb").exists());
    assert_eq!(succeed(d, &["count", "e", "--at", END]).stdout.trim(), "1");
    // --prefix: another key space in the same store.
    assert_eq!(
        succeed(d, &["--prefix", "bitmapist_", "count", "e", "--at", END])
            .stdout
            .trim(),
        "0"
    );
    succeed(
        d,
        &["mark", "e", "8", "--at", END, "--prefix", "bitmapist_"],
    );
    assert_eq!(
        succeed(d, &["count", "e", "--at", END, "--prefix", "bitmapist_"])
            .stdout
            .trim(),
        "1"
    );
    // BITMAPIST_URL, and --store over it.
    let other = file_url(d, "other.redb");
    // (A read never creates the store it names: the missing file is an error naming it.)
    let r = run_env(
        d,
        &["count", "e", "--at", END],
        &[("BITMAPIST_URL", &other)],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("other.redb") && r.stderr.contains("does not exist"));
    assert!(!d.join("other.redb").exists());
    let r = run_env(
        d,
        &[
            "--store",
            "file://./bitmapist.redb",
            "count",
            "e",
            "--at",
            END,
        ],
        &[("BITMAPIST_URL", "not a url")],
    );
    assert_eq!((r.code, r.stdout.trim()), (0, "1"), "{}", r.stderr);
    // BITMAPIST_TRACK_HOURLY applies to mark.
    let r = run_env(
        d,
        &["mark", "h", "1", "--at", END],
        &[("BITMAPIST_TRACK_HOURLY", "yes")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        succeed(d, &["count", "h", "--period", "hour", "--at", END])
            .stdout
            .trim(),
        "1"
    );
}

/// Checks `cohort --format json` against `get_cohort` on the same store; the store must
/// not be open in this process while the binary runs (embedded files are exclusive).
fn cohort_matches_library(dir: &Path, url: &str, extra: &[&str], spec: &CohortSpec) {
    let mut args = vec!["--store", url, "cohort", &spec.primary, &spec.secondary];
    args.extend_from_slice(extra);
    let cli = json_of(dir, &args);
    let lib = runtime().block_on(async {
        let bm = Bitmapist::open(url).await.expect("open the store");
        bm.get_cohort(spec).await.expect("get_cohort")
    });
    let lib = serde_json::to_value(&lib).expect("serialize");
    for key in [
        "cohort",
        "dates",
        "totals",
        "averages",
        "col_totals",
        "total",
        "labels",
    ] {
        assert!(
            same(&cli[key], &lib[key]),
            "{key} differs for {extra:?}: {} vs {}",
            cli[key],
            lib[key]
        );
    }
    assert!(
        cli["dates"][0].as_str().is_some_and(|d| d.len() == 10),
        "{}",
        cli["dates"]
    );
}

/// Equal JSON values, floats within 1e-12 relative (serde_json's default float parsing may
/// be one unit in the last place off).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

fn cohorts_on(dir: &Path, url: &str) {
    succeed(
        dir,
        &[
            "--store", url, "seed", "--users", "3000", "--days", "70", "--end", END, "--seed", "9",
        ],
    );
    let now = end();
    let base = |tg| {
        CohortSpec::new("user:signed_up", "user:logged_in")
            .time_group(tg)
            .rows(8)
            .cols(6)
            .now(now)
    };
    cohort_matches_library(
        dir,
        url,
        &[
            "--time-group",
            "weeks",
            "--rows",
            "8",
            "--cols",
            "6",
            "--now",
            END,
        ],
        &base(TimeGroup::Weeks),
    );
    cohort_matches_library(
        dir,
        url,
        &[
            "--time-group",
            "days",
            "--rows",
            "8",
            "--cols",
            "6",
            "--now",
            END,
            "--with-replacement",
        ],
        &base(TimeGroup::Days).with_replacement(true),
    );
    // Chain order is the command-line order.
    cohort_matches_library(
        dir,
        url,
        &[
            "--time-group",
            "weeks",
            "--rows",
            "8",
            "--cols",
            "6",
            "--now",
            END,
            "--or",
            "user:purchased",
            "--and",
            "page:viewed",
            "--with-replacement",
        ],
        &base(TimeGroup::Weeks)
            .or("user:purchased")
            .and("page:viewed")
            .with_replacement(true),
    );
    cohort_matches_library(
        dir,
        url,
        &[
            "--time-group",
            "weeks",
            "--rows",
            "8",
            "--cols",
            "6",
            "--now",
            END,
            "--and",
            "page:viewed",
            "--or",
            "user:purchased",
            "--with-replacement",
        ],
        &base(TimeGroup::Weeks)
            .and("page:viewed")
            .or("user:purchased")
            .with_replacement(true),
    );
    cohort_matches_library(
        dir,
        url,
        &[
            "--time-group",
            "months",
            "--rows",
            "3",
            "--cols",
            "3",
            "--now",
            END,
        ],
        &base(TimeGroup::Months).rows(3).cols(3),
    );

    // The table: header, one line per row, averages and totals; --percent; CSV.
    let table = succeed(
        dir,
        &[
            "--store",
            url,
            "cohort",
            "user:signed_up",
            "user:logged_in",
            "--time-group",
            "weeks",
            "--rows",
            "4",
            "--cols",
            "4",
            "--now",
            END,
            "--with-replacement",
            "--percent",
        ],
    )
    .stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2 + 4 + 2, "{table}");
    assert!(
        lines[0]
            .split_whitespace()
            .eq(["week", "users", "+0", "+1", "+2", "+3"]),
        "{table}"
    );
    assert!(lines[2].trim_start().starts_with("2026-W44"), "{table}");
    assert!(
        lines[2].contains('%') && lines[6].trim_start().starts_with("average"),
        "{table}"
    );
    let csv = succeed(
        dir,
        &[
            "--store",
            url,
            "cohort",
            "user:signed_up",
            "user:logged_in",
            "--time-group",
            "weeks",
            "--rows",
            "4",
            "--cols",
            "4",
            "--now",
            END,
            "--format",
            "csv",
        ],
    )
    .stdout;
    let csv: Vec<&str> = csv.lines().collect();
    assert_eq!(csv[0], "week,users,+0,+1,+2,+3");
    assert_eq!(csv.len(), 1 + 4 + 2);
    assert!(
        csv[4].ends_with(",,,"),
        "future cells are empty: {}",
        csv[4]
    );
    let pct = json_of(
        dir,
        &[
            "--store",
            url,
            "cohort",
            "user:signed_up",
            "user:logged_in",
            "--rows",
            "2",
            "--cols",
            "2",
            "--now",
            END,
            "--percent",
        ],
    );
    assert!(pct["fractions"].is_array() && pct["cohort"].is_array());
}

#[test]
fn embedded_store_cohort_json_matches_the_library() {
    let dir = tempdir();
    cohorts_on(dir.path(), &file_url(dir.path(), "c.redb"));
}

#[test]
fn redis_store_cohort_json_matches_the_library() {
    let server = RedisServer::start();
    let dir = tempdir();
    cohorts_on(dir.path(), &server.url());
}

/// `events --format json` of a store, as a map name -> [today, week, month].
fn event_counts(dir: &Path, url: &str) -> BTreeMap<String, Value> {
    let v = json_of(dir, &["--store", url, "events", "--at", END]);
    v["events"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            (
                r["event"].as_str().unwrap_or_default().to_string(),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn seed_is_deterministic_and_plausible() {
    let dir = tempdir();
    let d = dir.path();
    let seed = |name: &str, s: &str| {
        let url = file_url(d, name);
        let summary = json_of(
            d,
            &[
                "--store", &url, "seed", "--users", "5000", "--days", "60", "--end", END, "--seed",
                s,
            ],
        );
        (summary, event_counts(d, &url), url)
    };
    let (a, counts_a, url_a) = seed("a.redb", "7");
    let (b, counts_b, _) = seed("b.redb", "7");
    let (c, counts_c, _) = seed("c.redb", "8");
    assert_eq!(a["events"], b["events"]);
    assert_eq!(a["flags"], b["flags"]);
    assert_eq!(a["marks"], b["marks"]);
    assert_eq!(counts_a, counts_b);
    assert_ne!(a["events"], c["events"]);
    assert_ne!(counts_a, counts_c);
    for event in [
        "user:signed_up",
        "user:logged_in",
        "user:logged_out",
        "user:created",
        "user:updated",
        "user:deleted",
        "user:purchased",
        "page:viewed",
    ] {
        assert!(
            counts_a.contains_key(event),
            "{event} missing: {counts_a:?}"
        );
    }
    assert_eq!(a["events"]["user:signed_up"], 5000);

    // Stored data agrees with the summary, and retention decays.
    runtime().block_on(async {
        let bm = Bitmapist::open(&url_a).await.expect("open");
        let signed: u64 = bm
            .events("user:signed_up", Period::year(2026).expect("year"))
            .count()
            .await
            .expect("count");
        let signed_2025 = bm
            .events("user:signed_up", Period::year(2025).expect("year"))
            .count()
            .await
            .expect("count");
        assert_eq!(signed + signed_2025, 5000);
        let premium = bm
            .events("user:premium", Period::unique())
            .count()
            .await
            .expect("count");
        assert_eq!(Some(premium), a["flags"]["user:premium"].as_u64());
        let spec = CohortSpec::new("user:signed_up", "user:logged_in")
            .rows(50)
            .cols(30)
            .with_replacement(true)
            .now(end());
        let c = bm.get_cohort(&spec).await.expect("cohort");
        let avg = |j: usize| c.average_fractions[j].unwrap_or(0.0);
        assert!(
            avg(1) > avg(7) && avg(7) > avg(28),
            "{:?}",
            c.average_fractions
        );
    });
    // Hour keys only with --hourly.
    let url = file_url(d, "h.redb");
    succeed(
        d,
        &[
            "--store", &url, "seed", "--users", "200", "--days", "3", "--end", END, "--hourly",
        ],
    );
    let hour = succeed(
        d,
        &[
            "--store",
            &url,
            "count",
            "user:logged_in",
            "--period",
            "hour",
            "--at",
            "2026-11-21T20:00",
        ],
    )
    .stdout;
    assert!(hour.trim().parse::<u64>().is_ok_and(|n| n > 0), "{hour}");
    assert_eq!(
        succeed(
            d,
            &[
                "--store",
                &file_url(d, "a.redb"),
                "count",
                "user:logged_in",
                "--period",
                "hour",
                "--at",
                "2026-11-21T20:00"
            ]
        )
        .stdout
        .trim(),
        "0"
    );
}

/// Every key of a Redis server with its raw bytes.
fn dump(server: &RedisServer) -> BTreeMap<String, Vec<u8>> {
    let mut con = server.raw_connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
    keys.into_iter()
        .map(|k| {
            let v: Vec<u8> = redis::cmd("GET").arg(&k).query(&mut con).expect("GET");
            (k, v)
        })
        .collect()
}

#[test]
fn import_redis_to_file_to_redis_keeps_identical_bits() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    let dir = tempdir();
    let d = dir.path();
    succeed(
        d,
        &[
            "--store",
            &a.url(),
            "seed",
            "--users",
            "1500",
            "--days",
            "40",
            "--end",
            END,
            "--hourly",
        ],
    );
    // A bit cleared at a high offset (a longer Redis string), Python's temporary BITOP
    // result and another application's key: only event keys are copied.
    succeed(
        d,
        &[
            "--store",
            &a.url(),
            "mark",
            "user:odd",
            "100000",
            "--at",
            END,
        ],
    );
    succeed(
        d,
        &[
            "--store",
            &a.url(),
            "unmark",
            "user:odd",
            "100000",
            "--at",
            END,
        ],
    );
    let mut con = a.raw_connection();
    let _: () = redis::cmd("SET")
        .arg("trackist_bitop_and_x_y")
        .arg("abc")
        .query(&mut con)
        .expect("SET");
    let _: () = redis::cmd("SET")
        .arg("session:1")
        .arg("zzz")
        .query(&mut con)
        .expect("SET");
    let before = dump(&a);

    let file = file_url(d, "copy.redb");
    let dry = json_of(
        d,
        &["import", "--from", &a.url(), "--to", &file, "--dry-run"],
    );
    assert_eq!(dry["skipped"], 1);
    assert!(!d.join("copy.redb").exists() || event_counts(d, &file).is_empty());

    let first = json_of(d, &["import", "--from", &a.url(), "--to", &file]);
    assert_eq!(first["mismatches"], 0);
    assert_eq!(first["skipped"], 1);
    let keys = first["keys"].as_u64().expect("keys");
    // Neither the two foreign keys nor the zone record (`{trackist_}.timezone`, written by
    // the first mark) is an event key.
    assert!(before.contains_key("{trackist_}.timezone"));
    assert_eq!(keys as usize, before.len() - 3);
    // Re-running is safe.
    let again = json_of(d, &["import", "--from", &a.url(), "--to", &file]);
    assert_eq!(
        (again["keys"].as_u64(), again["mismatches"].as_u64()),
        (Some(keys), Some(0))
    );
    // --from defaults to --store.
    let back = run(d, &["--store", &file, "import", "--to", &b.url()]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert!(back.stdout.contains("differ"), "{}", back.stdout);

    let after = dump(&b);
    let mut expected = before.clone();
    expected.remove("trackist_bitop_and_x_y");
    expected.remove("session:1");
    assert_eq!(after.len(), expected.len());
    assert!(after == expected, "the round trip changed some bytes");
    assert!(
        after.keys().any(|k| k.ends_with("-18")),
        "hour keys travel too"
    );
    assert_eq!(
        after.get("trackist_user:odd_2026-11-22").map(Vec::len),
        Some(12_501)
    );
}

#[test]
fn errors_are_one_line_with_exit_codes() {
    let server = RedisServer::start();
    let dir = tempdir();
    let d = dir.path();
    // Usage errors: exit 2.
    let e = fails(d, &["count", "e", "--bogus"], 2, &[]);
    assert!(e.contains("--bogus"), "{e}");
    fails(d, &["frobnicate"], 2, &[]);
    fails(d, &["mark", "e"], 2, &[]);
    fails(d, &["mark", "e", "-1"], 2, &[]);
    fails(d, &["mark", "e", "4294967296"], 2, &[]);
    fails(d, &["mark", "", "1"], 2, &[]);
    let e = fails(d, &["mark", "e", "1", "--at", "yesterday"], 2, &[]);
    assert!(e.contains("--at") && e.contains("YYYY-MM-DD"), "{e}");
    let e = fails(d, &["cohort", "a", "b", "--now", "2026-02-30"], 2, &[]);
    assert!(e.contains("--now"), "{e}");
    let e = fails(d, &["seed", "--end", "soon"], 2, &[]);
    assert!(e.contains("--end"), "{e}");
    fails(
        d,
        &["cohort", "a", "b", "--time-group", "fortnights"],
        2,
        &[],
    );
    fails(d, &["cohort", "a", "b", "--rows", "0"], 2, &[]);
    fails(d, &["cohort", "a", "b", "--cols", "10001"], 2, &[]);
    fails(d, &["count", "e", "--period", "decade"], 2, &[]);
    fails(d, &["count", "e", "--format", "csv"], 2, &[]);
    fails(d, &["seed", "--users", "0"], 2, &[]);
    let e = fails(d, &["--store", "mysql://localhost", "events"], 2, &[]);
    assert!(e.contains("mysql"), "{e}");
    fails(d, &["--store", "redis://:secret@", "events"], 2, &[]);
    let e = fails(d, &["events"], 2, &[("BITMAPIST_TRACK_HOURLY", "maybe")]);
    assert!(e.contains("BITMAPIST_TRACK_HOURLY"), "{e}");
    fails(d, &["--prefix", "", "events"], 2, &[]);
    fails(d, &["import", "--from", "memory://"], 2, &[]);
    fails(
        d,
        &["import", "--from", &server.url(), "--to", &server.url()],
        2,
        &[],
    );
    // Runtime errors: exit 1.
    let e = fails(d, &["--store", "redis://127.0.0.1:1", "count", "e"], 1, &[]);
    assert!(e.contains("127.0.0.1:1"), "{e}");
    let e = fails(
        d,
        &["--store", "redis://:secret@127.0.0.1:1", "events"],
        1,
        &[],
    );
    assert!(!e.contains("secret"), "the password is masked: {e}");
    std::fs::write(d.join("junk.redb"), b"not a database").expect("write");
    fails(d, &["--store", "file://./junk.redb", "events"], 1, &[]);
    let held = runtime()
        .block_on(Bitmapist::open(&file_url(d, "held.redb")))
        .expect("open");
    let e = fails(d, &["--store", "file://./held.redb", "events"], 1, &[]);
    assert!(e.contains("another process"), "{e}");
    drop(held);
    // Help and version are not errors; a closed stdout is not a failure.
    assert_eq!(run(d, &["--help"]).code, 0);
    assert!(run(d, &["--version"]).stdout.contains("bitmapist"));
    assert!(
        run(d, &["cohort", "--help"])
            .stdout
            .contains("--with-replacement")
    );
}

#[test]
fn json_stdout_is_pipe_clean_and_ids_survive_a_closed_pipe() {
    let dir = tempdir();
    let d = dir.path();
    let url = file_url(d, "p.redb");
    let r = run(
        d,
        &[
            "--store", &url, "seed", "--users", "300", "--days", "5", "--end", END, "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0);
    assert!(
        serde_json::from_str::<Value>(&r.stdout).is_ok(),
        "{}",
        r.stdout
    );
    // The table summary goes to stdout, the sentence to stderr.
    let r = run(
        d,
        &[
            "--store", &url, "seed", "--users", "300", "--days", "5", "--end", END, "--reset",
        ],
    );
    assert!(
        r.stdout.contains("user:signed_up") && r.stdout.contains("total"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("marks/s") && r.stderr.contains("deleted"),
        "{}",
        r.stderr
    );
    let summary = json_of(
        d,
        &[
            "--store", &url, "seed", "--users", "300", "--days", "5", "--end", END, "--reset",
        ],
    );
    assert_eq!(summary["events"]["user:signed_up"], 300);
    assert_eq!(event_counts(d, &url)["user:signed_up"]["month"], 300);

    // `ids | head -1`: the reader goes away early; no panic, no error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .args([
            "--store",
            &url,
            "ids",
            "user:verified_email",
            "--period",
            "unique",
        ])
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends `GET path` over a plain socket and returns (status, body).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        raw.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default(),
    ))
}

#[test]
fn serve_shows_the_dashboard_over_a_store_and_rejects_a_bad_address() {
    let dir = tempdir();
    let url = file_url(dir.path(), "serve.redb");
    succeed(
        dir.path(),
        &[
            "--store", &url, "seed", "--users", "200", "--days", "10", "--seed", "1",
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .current_dir(dir.path())
        .args([
            "--store",
            &url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut page = None;
    for _ in 0..100 {
        page = http_get(port, "/bitmapist/api/events");
        if page.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let root = http_get(port, "/");
    let html = http_get(port, "/bitmapist");
    let slash = http_get(port, "/bitmapist/");
    let _ = child.kill();
    let _ = child.wait();
    let (status, body) = page.expect("serve answers");
    let slash = slash.expect("serve answers /bitmapist/");
    assert_eq!(
        slash.0, 200,
        "/bitmapist/ (Flask-Bitmapist's URL) serves the overview"
    );
    assert!(slash.1.contains("user:signed_up"), "{}", slash.1);
    assert_eq!(status, 200);
    assert!(
        body.contains("user:signed_up"),
        "seeded events are listed: {body}"
    );
    assert_eq!(root.map(|r| r.0), Some(303), "/ redirects to the dashboard");
    assert_eq!(html.map(|r| r.0), Some(200));
    let msg = fails(
        dir.path(),
        &["--store", "memory://", "serve", "--listen", "nowhere"],
        2,
        &[],
    );
    assert!(msg.contains("--listen"), "{msg}");
}

/// Every command on a Redis Cluster: mark, count, ids, events, cohorts (checked against the
/// library), `import` into and out of the cluster (bytes identical to the source), and
/// `serve` over it.
#[test]
fn cluster_store_every_command_import_both_ways_and_serve() {
    let cluster = redis_cluster::RedisCluster::start(3, 0);
    let url = cluster.url();
    let dir = tempdir();
    let d = dir.path();
    mark_count_ids_events(d, &url);
    // BITMAPIST_REDIS_URL names a cluster as well.
    let r = run_env(
        d,
        &["count", "user:logged_in", "--at", "2026-11-22T10:15:00Z"],
        &[("BITMAPIST_REDIS_URL", &url)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(r.stdout.trim(), "0");
    succeed(
        d,
        &["--store", &url, "import", "--to", "memory://", "--dry-run"],
    );
    // Start over: delete what the first part marked (delete_all reaches every primary).
    let delete_all = || {
        runtime().block_on(async {
            let bm = Bitmapist::open(&url).await.expect("open");
            bm.delete_all().await.expect("delete_all");
            // Only the zone record stays: it is not an event key.
            let left = bm.store().keys("").await.expect("keys");
            assert!(left.iter().all(|k| k == "{trackist_}.timezone"), "{left:?}");
        })
    };
    delete_all();
    cohorts_on(d, &url);
    delete_all();

    // Redis -> cluster -> Redis keeps every event key's bytes.
    let a = RedisServer::start();
    let b = RedisServer::start();
    succeed(
        d,
        &[
            "--store",
            &a.url(),
            "seed",
            "--users",
            "800",
            "--days",
            "20",
            "--end",
            END,
            "--hourly",
        ],
    );
    let before = dump(&a);
    let second = format!("{url}?timeout_ms=10000");
    let into = json_of(d, &["import", "--from", &a.url(), "--to", &second]);
    assert_eq!(into["mismatches"], 0);
    let out_of = json_of(d, &["--store", &second, "import", "--to", &b.url()]);
    assert_eq!(out_of["mismatches"], 0);
    assert_eq!(out_of["keys"].as_u64(), into["keys"].as_u64());
    let after = dump(&b);
    assert_eq!(after.len(), before.len());
    assert!(
        after == before,
        "the round trip through the cluster changed some bytes"
    );

    // serve over the cluster.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bitmapist"))
        .current_dir(d)
        .args([
            "--store",
            &url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut page = None;
    for _ in 0..100 {
        page = http_get(port, "/bitmapist/api/events");
        if page.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let html = http_get(port, "/bitmapist");
    let _ = child.kill();
    let _ = child.wait();
    let (status, body) = page.expect("serve answers");
    assert_eq!(status, 200);
    assert!(body.contains("user:signed_up"), "{body}");
    assert_eq!(html.map(|r| r.0), Some(200));

    // A cluster URL with a problem is a usage error (exit 2) naming it, password masked.
    let e = fails(
        d,
        &["--store", "redis+cluster://:secret@h:1/4", "events"],
        2,
        &[],
    );
    assert!(e.contains("database 0") && !e.contains("secret"), "{e}");
}

/// `--store rediss+cluster://:password@...?ca=PATH` against a real cluster with a password
/// that speaks TLS only: marks and counts work; without the CA the command fails with a
/// message naming the certificate, password masked.
#[test]
fn tls_password_cluster_through_the_cli() {
    let cluster = redis_cluster::RedisCluster::start_secured(redis_cluster::Security {
        password: Some("cli-secret".into()),
        tls: true,
    });
    let ca = cluster.ca().expect("a CA");
    let url = format!("{}?ca={}", cluster.url(), ca.display());
    let dir = tempdir();
    let d = dir.path();
    let at = "2026-11-22T10:15:00Z";
    succeed(
        d,
        &[
            "--store", &url, "mark", "tls:seen", "4", "5", "6", "--at", at,
        ],
    );
    assert_eq!(
        succeed(d, &["--store", &url, "count", "tls:seen", "--at", at])
            .stdout
            .trim(),
        "3"
    );
    let untrusted = format!("{}?timeout_ms=3000", cluster.url());
    let r = run(d, &["--store", &untrusted, "count", "tls:seen", "--at", at]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("certificate"), "{}", r.stderr);
    assert!(!r.stderr.contains("cli-secret"), "{}", r.stderr);
}
