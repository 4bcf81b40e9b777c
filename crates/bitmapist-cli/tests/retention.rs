//! `bitmapist cohort` retention flags: `--retention`, `--first-time`, `--average`,
//! `--complete-only`, run as a process on a seeded file, checked against the engine.

use crate::common::json_of;
use std::path::Path;

use bitmapist::{Average, Bitmapist, CohortSpec, Criterion, RetentionSpec, TimeGroup};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

const END: &str = "2026-11-22T18:00:00Z";

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0)
        .single()
        .expect("a valid time")
}

/// Runs `bitmapist ARGS` in `dir` with no `BITMAPIST_*` variable set.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    crate::common::run(dir, args).parts()
}

/// Expects exit 2 and one `error:` line naming `needle`.
fn usage_error(dir: &Path, args: &[&str], needle: &str) {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, 2, "bitmapist {args:?}: {err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b))
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0)
        }
        _ => a == b,
    }
}

#[test]
fn retention_flags_match_the_engine_and_bad_values_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let url = format!("file://{}", d.join("r.redb").display());
    let (code, _, err) = run(
        d,
        &[
            "--store", &url, "seed", "--users", "2000", "--days", "60", "--end", END, "--seed", "3",
        ],
    );
    assert_eq!(code, 0, "seed: {err}");

    let base = CohortSpec::new("user:signed_up", "user:logged_in")
        .time_group(TimeGroup::Weeks)
        .rows(6)
        .cols(6)
        .now(end());
    let cases: Vec<(Vec<&str>, RetentionSpec)> = vec![
        (vec![], RetentionSpec::new(base.clone())),
        (
            vec!["--with-replacement"],
            RetentionSpec::new(base.clone()).criterion(Criterion::On),
        ),
        (
            vec!["--retention", "on-or-after", "--average", "weighted"],
            RetentionSpec::new(base.clone())
                .criterion(Criterion::OnOrAfter)
                .average(Average::Weighted),
        ),
        (
            vec![
                "--retention",
                "on",
                "--with-replacement",
                "--first-time",
                "--complete-only",
            ],
            RetentionSpec::new(base.clone())
                .criterion(Criterion::On)
                .first_time(true)
                .complete_only(true),
        ),
        (
            vec!["--retention", "first-return", "--first-time"],
            RetentionSpec::new(base.clone()).first_time(true),
        ),
    ];
    let mut outputs = Vec::new();
    for (flags, _) in &cases {
        let mut args = vec![
            "--store",
            &url,
            "cohort",
            "user:signed_up",
            "user:logged_in",
            "--time-group",
            "weeks",
            "--rows",
            "6",
            "--cols",
            "6",
            "--now",
            END,
            "--percent",
        ];
        args.extend(flags.iter().copied());
        outputs.push(json_of(d, &args));
    }
    let lib: Vec<Value> = runtime().block_on(async {
        let bm = Bitmapist::open(&url).await.expect("open");
        let mut out = Vec::new();
        for (_, spec) in &cases {
            let r = bm.retention(spec).await.expect("retention");
            out.push(serde_json::to_value(&r).expect("json"));
        }
        out
    });
    for ((flags, spec), (cli, lib)) in cases.iter().zip(outputs.iter().zip(&lib)) {
        for key in [
            "cohort",
            "totals",
            "dates",
            "averages",
            "average_fractions",
            "fractions",
            "col_totals",
            "total",
        ] {
            assert!(
                close(&cli[key], &lib[key]),
                "{key} for {flags:?}: {} vs {}",
                cli[key],
                lib[key]
            );
        }
        assert_eq!(cli["retention"], spec.criterion.as_str(), "{flags:?}");
        assert_eq!(
            cli["first_time"],
            Value::Bool(spec.kind == bitmapist::CohortKind::FirstTime)
        );
        assert_eq!(cli["average"], spec.average.as_str());
        assert_eq!(cli["complete_only"], Value::Bool(spec.complete_only));
    }
    // The modes differ on seeded data: on-or-after counts at least as many as on.
    let on_or_after = &outputs[2]["cohort"][0];
    let on = &outputs[1]["cohort"][0];
    assert!(
        on_or_after[1].as_u64() >= on[1].as_u64(),
        "{on_or_after} vs {on}"
    );
    assert_ne!(outputs[0]["cohort"], outputs[2]["cohort"]);

    // The table and CSV formats accept the flags too.
    let (code, csv, err) = run(
        d,
        &[
            "--store",
            &url,
            "cohort",
            "user:signed_up",
            "user:logged_in",
            "--retention",
            "on-or-after",
            "--first-time",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(csv.starts_with("day,users,+0"), "{csv}");

    let cohort = ["--store", &url, "cohort", "a", "b"];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = cohort.to_vec();
        v.extend_from_slice(extra);
        v
    };
    usage_error(d, &with(&["--retention", "later"]), "later");
    usage_error(d, &with(&["--retention"]), "--retention");
    usage_error(d, &with(&["--average", "median"]), "median");
    usage_error(
        d,
        &with(&["--with-replacement", "--retention", "on-or-after"]),
        "--with-replacement means --retention on",
    );
}
