//! `bitmapist --timezone` as a process on a file store: local TIME values, local periods,
//! the zone recorded in the store, a mismatch refused naming both zones, and a deliberate
//! change with `bitmapist timezone set ZONE --force`.

use std::path::Path;

use serde_json::Value;

/// One finished run: exit code, stdout, stderr.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    crate::common::run_env(dir, args, env).parts()
}

fn count(dir: &Path, zone: &str, period: &str, at: &str) -> (i32, String, String) {
    run(
        dir,
        &[
            "--store",
            "file://z.redb",
            "--timezone",
            zone,
            "count",
            "ev",
            "--period",
            period,
            "--at",
            at,
        ],
        &[],
    )
}

#[test]
fn local_times_periods_and_the_recorded_zone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Local midnight of Nov 22 in Berlin is 23:00 UTC on Nov 21.
    let (code, _, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "--timezone",
            "Europe/Berlin",
            "mark",
            "ev",
            "1",
            "--at",
            "2026-11-22",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    // The same with the variable instead of the flag, an instant with an offset.
    let (code, _, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "mark",
            "ev",
            "2",
            "--at",
            "2026-11-21T23:30:00Z",
        ],
        &[("BITMAPIST_TIMEZONE", "Europe/Berlin")],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = count(d, "Europe/Berlin", "day", "2026-11-22T12:00");
    assert_eq!((code, out.trim()), (0, "2"), "{err}");
    let (code, out, _) = count(d, "Europe/Berlin", "day", "2026-11-21T12:00");
    assert_eq!((code, out.trim()), (0, "0"));

    // UTC configured: refused, naming both zones, exit 2.
    let (code, _, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "count",
            "ev",
            "--at",
            "2026-11-22",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("Europe/Berlin") && err.contains("UTC"),
        "{err}"
    );

    let (code, out, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "timezone",
            "show",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["recorded"], "Europe/Berlin");
    assert_eq!(doc["configured"], "UTC");

    // A change needs --force while events exist.
    let (code, _, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "timezone",
            "set",
            "America/New_York",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--force") || err.contains("force"), "{err}");
    let (code, out, err) = run(
        d,
        &[
            "--store",
            "file://z.redb",
            "timezone",
            "set",
            "America/New_York",
            "--force",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("was Europe/Berlin"), "{out}");
    // Keys are not rewritten: the marks stay on the day they were bucketed in (Berlin's
    // Nov 22), now read as New York's Nov 22.
    let (code, out, err) = count(d, "America/New_York", "day", "2026-11-22");
    assert_eq!((code, out.trim()), (0, "2"), "{err}");

    let (code, _, err) = count(d, "Mars/Base", "day", "2026-11-21");
    assert_eq!(code, 2);
    assert!(err.contains("Mars/Base"), "{err}");
}
