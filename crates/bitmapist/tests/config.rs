//! Configuration from the environment (`Config::from_vars`, `Config::from_env`), store URLs,
//! opening a configured handle, and named systems.
//!
//! `Config::from_env` reads the real process environment. Setting variables in this process
//! would need `unsafe` (forbidden in this workspace) and would race with other tests, so
//! those tests re-run this test binary as a child process with the variables set, filtered
//! to an `#[ignore]`d child test that prints what it read.

use crate::common;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::time::Duration;

use bitmapist::{Bitmapist, Config, Error, Period, Systems, TimeGroup};
use bitmapist::{DEFAULT_FILE, EmbeddedOptions, MemoryStore, StoreUrl};
use bitmapist::{
    DEFAULT_SYSTEM, ENV_KEY_PREFIX, ENV_REDIS_URL, ENV_SYSTEM, ENV_TRACK_HOURLY, ENV_TRACK_UNIQUE,
    ENV_URL, parse_env_bool,
};
use chrono::{TimeZone, Utc};

const ALL_VARS: [&str; 6] = [
    ENV_URL,
    ENV_REDIS_URL,
    ENV_SYSTEM,
    ENV_KEY_PREFIX,
    ENV_TRACK_HOURLY,
    ENV_TRACK_UNIQUE,
];

fn from(vars: &[(&str, &str)]) -> Result<Config, Error> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|name| map.get(name).cloned())
}

/// The configuration `vars` give; the panic names the variables when they are refused.
fn accepted(vars: &[(&str, &str)]) -> Config {
    from(vars).unwrap_or_else(|e| panic!("{vars:?} should be accepted: {e}"))
}

fn err(vars: &[(&str, &str)]) -> String {
    match from(vars) {
        Ok(c) => panic!("{vars:?} should be rejected, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
}

fn url(text: &str) -> StoreUrl {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn url_err(text: &str) -> String {
    match text.parse::<StoreUrl>() {
        Ok(u) => panic!("{text:?} should be rejected, got {u:?}"),
        Err(e) => {
            assert!(matches!(e, Error::InvalidUrl { .. }), "{text:?}: {e:?}");
            e.to_string()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Config::from_vars
// ---------------------------------------------------------------------------------------

#[test]
fn defaults_when_nothing_is_set() {
    let c = accepted(&[]);
    assert_eq!(c, Config::default());
    assert_eq!(
        c.url,
        StoreUrl::File {
            path: PathBuf::from(DEFAULT_FILE),
            options: EmbeddedOptions::default()
        }
    );
    assert_eq!(c.url_text, None);
    assert_eq!(c.system, DEFAULT_SYSTEM);
    assert_eq!(c.system, "default");
    assert_eq!(c.key_prefix, "trackist_");
    assert!(!c.track_hourly);
    assert!(!c.track_unique);
}

#[test]
fn empty_values_count_as_unset() {
    for empty in ["", "   ", "\t\n"] {
        let vars: Vec<(&str, &str)> = ALL_VARS.iter().map(|v| (*v, empty)).collect();
        assert_eq!(accepted(&vars), Config::default(), "all set to {empty:?}");
    }
    // An empty BITMAPIST_URL does not conflict with a set BITMAPIST_REDIS_URL.
    let c = accepted(&[(ENV_URL, ""), (ENV_REDIS_URL, "memory://")]);
    assert_eq!(c.url, StoreUrl::Memory);
}

#[test]
fn good_values_for_every_variable() {
    let c = accepted(&[
        (ENV_URL, "memory://"),
        (ENV_SYSTEM, "archive"),
        (ENV_KEY_PREFIX, "bitmapist_"),
        (ENV_TRACK_HOURLY, "true"),
        (ENV_TRACK_UNIQUE, "1"),
    ]);
    assert_eq!(c.url, StoreUrl::Memory);
    assert_eq!(c.url_text.as_deref(), Some("memory://"));
    assert_eq!(c.system, "archive");
    assert_eq!(c.key_prefix, "bitmapist_");
    assert!(c.track_hourly);
    assert!(c.track_unique);

    // Flask-Bitmapist's variable name alone, with each kind of store URL.
    let c = accepted(&[(ENV_REDIS_URL, "redis://localhost:6379/2")]);
    assert_eq!(
        c.url,
        StoreUrl::Redis {
            url: "redis://localhost:6379/2".to_string()
        }
    );
    assert_eq!(c.url_text.as_deref(), Some("redis://localhost:6379/2"));
    assert_eq!(
        accepted(&[(ENV_REDIS_URL, "memory://")]).url,
        StoreUrl::Memory
    );
    let c = accepted(&[(ENV_URL, "file://./data/a.redb?flush_ms=250&idle_secs=0")]);
    assert_eq!(
        c.url,
        StoreUrl::File {
            path: PathBuf::from("./data/a.redb"),
            options: EmbeddedOptions {
                flush_interval: Duration::from_millis(250),
                idle_eviction: None
            }
        }
    );

    // Each variable on its own leaves the others at their defaults.
    let c = accepted(&[(ENV_TRACK_UNIQUE, "yes")]);
    assert_eq!(
        c,
        Config {
            track_unique: true,
            ..Config::default()
        }
    );
    let c = accepted(&[(ENV_TRACK_HOURLY, "on")]);
    assert_eq!(
        c,
        Config {
            track_hourly: true,
            ..Config::default()
        }
    );
    let c = accepted(&[(ENV_SYSTEM, "  reports  ")]);
    assert_eq!(c.system, "reports", "the system name is trimmed");
    let c = accepted(&[(ENV_KEY_PREFIX, "app:bm_")]);
    assert_eq!(c.key_prefix, "app:bm_");
}

#[test]
fn system_and_prefix_take_any_non_empty_value() {
    // Neither has a value that is wrong: any non-empty text is a name or a prefix.
    for v in ["x", "ünïcødé", "with space", "a_b:c-d", "0"] {
        let c = accepted(&[(ENV_SYSTEM, v), (ENV_KEY_PREFIX, v)]);
        assert_eq!(c.system, v);
        assert_eq!(c.key_prefix, v);
    }
}

#[test]
fn booleans_accept_every_spelling() {
    let truthy = [
        "1", "true", "TRUE", "True", "yes", "YES", "on", "On", " true ", "yes\n",
    ];
    let falsy = ["0", "false", "FALSE", "no", "No", "off", "OFF", " 0 "];
    for var in [ENV_TRACK_HOURLY, ENV_TRACK_UNIQUE] {
        for v in truthy {
            assert!(parse_env_bool(var, v).expect("bool"), "{v:?}");
            let c = accepted(&[(var, v)]);
            assert!(c.track_hourly || c.track_unique, "{var}={v:?}");
        }
        for v in falsy {
            assert!(!parse_env_bool(var, v).expect("bool"), "{v:?}");
            let c = accepted(&[(var, v)]);
            assert!(!c.track_hourly && !c.track_unique, "{var}={v:?}");
        }
    }
}

#[test]
fn bad_booleans_name_their_variable() {
    for var in [ENV_TRACK_HOURLY, ENV_TRACK_UNIQUE] {
        for v in [
            "maybe", "2", "-1", "y", "n", "t", "enabled", "truee", "on off", "ja",
        ] {
            let text = err(&[(ENV_URL, "memory://"), (var, v)]);
            assert_mentions(&text, &[var, v, "boolean"]);
            let other = if var == ENV_TRACK_HOURLY {
                ENV_TRACK_UNIQUE
            } else {
                ENV_TRACK_HOURLY
            };
            assert!(!text.contains(other), "{text:?} names the wrong variable");
            assert!(matches!(
                from(&[(var, v)]),
                Err(Error::Config { var: ref name, .. }) if name == var
            ));
            let direct = parse_env_bool(var, v)
                .expect_err("not a boolean")
                .to_string();
            assert_mentions(&direct, &[var, v]);
        }
    }
}

#[test]
fn bad_urls_name_their_variable_and_the_problem() {
    let cases = [
        ("mysql://localhost", "unknown scheme"),
        ("localhost:6379", "SCHEME://"),
        ("file://", "needs a path"),
        ("file://x?flush_ms=abc", "flush_ms"),
        ("redis://host/notanumber", "notanumber"),
        ("memory://somewhere", "memory://"),
    ];
    for var in [ENV_URL, ENV_REDIS_URL] {
        for (value, problem) in cases {
            let text = err(&[(var, value)]);
            assert_mentions(&text, &[var, problem]);
            assert!(matches!(
                from(&[(var, value)]),
                Err(Error::Config { var: ref name, .. }) if name == var
            ));
        }
    }
}

#[test]
fn both_url_variables_must_agree() {
    let text = err(&[(ENV_URL, "memory://"), (ENV_REDIS_URL, "redis://localhost")]);
    assert_mentions(&text, &[ENV_URL, ENV_REDIS_URL, "differ"]);
    // Differing even when both are invalid: the conflict is reported.
    let text = err(&[(ENV_URL, "x"), (ENV_REDIS_URL, "y")]);
    assert_mentions(&text, &[ENV_URL, ENV_REDIS_URL]);

    let c = accepted(&[(ENV_URL, "memory://"), (ENV_REDIS_URL, "memory://")]);
    assert_eq!(c.url, StoreUrl::Memory);
    let c = accepted(&[
        (ENV_URL, "redis://localhost:6379/1"),
        (ENV_REDIS_URL, " redis://localhost:6379/1 "),
    ]);
    assert_eq!(
        c.url,
        StoreUrl::Redis {
            url: "redis://localhost:6379/1".to_string()
        }
    );
    // Equal but invalid: the error names BITMAPIST_URL.
    let text = err(&[(ENV_URL, "ftp://x"), (ENV_REDIS_URL, "ftp://x")]);
    assert_mentions(&text, &[ENV_URL, "unknown scheme"]);
}

// ---------------------------------------------------------------------------------------
// Store URLs
// ---------------------------------------------------------------------------------------

#[test]
fn store_urls_that_parse() {
    assert_eq!(url("memory://"), StoreUrl::Memory);
    assert_eq!(url("memory:///"), StoreUrl::Memory);
    assert_eq!(url("MEMORY://"), StoreUrl::Memory);
    assert_eq!(url("  memory://  "), StoreUrl::Memory);
    assert_eq!(
        url("file://./bitmapist.redb"),
        StoreUrl::File {
            path: PathBuf::from("./bitmapist.redb"),
            options: EmbeddedOptions::default()
        }
    );
    assert_eq!(
        url("file:///var/lib/app/a.redb?idle_secs=30"),
        StoreUrl::File {
            path: PathBuf::from("/var/lib/app/a.redb"),
            options: EmbeddedOptions {
                idle_eviction: Some(Duration::from_secs(30)),
                ..EmbeddedOptions::default()
            }
        }
    );
    assert_eq!(
        url("file://x.redb?flush_ms=5&"),
        StoreUrl::File {
            path: PathBuf::from("x.redb"),
            options: EmbeddedOptions {
                flush_interval: Duration::from_millis(5),
                ..EmbeddedOptions::default()
            }
        }
    );
    for r in [
        "redis://localhost",
        "redis://localhost:6380/",
        "redis://:secret@host:6380/3",
        "rediss://user:pw@cache.example.com:6380/0",
    ] {
        assert_eq!(url(r), StoreUrl::Redis { url: r.to_string() });
    }
    assert_eq!(StoreUrl::default(), url(&format!("file://{DEFAULT_FILE}")));
}

#[test]
fn store_url_errors_name_the_problem() {
    let cases: [(&str, &[&str]); 17] = [
        (
            "mysql://localhost",
            &["unknown scheme", "mysql", "memory, file, redis"],
        ),
        ("http://localhost", &["unknown scheme", "http"]),
        ("localhost:6379", &["SCHEME://"]),
        ("", &["SCHEME://"]),
        ("file://", &["file://", "needs a path"]),
        ("file://?flush_ms=5", &["needs a path"]),
        (
            "file://x?flush_ms=abc",
            &["flush_ms", "abc", "not a whole number"],
        ),
        ("file://x?flush_ms=", &["flush_ms", "not a whole number"]),
        ("file://x?flush_ms=0", &["flush_ms", "at least 1"]),
        (
            "file://x?idle_secs=-1",
            &["idle_secs", "-1", "not a whole number"],
        ),
        (
            "file://x?bogus=1",
            &["unknown option", "bogus", "flush_ms, idle_secs"],
        ),
        ("memory://x", &["memory://", "nothing after"]),
        (
            "redis://host/notanumber",
            &["database", "notanumber", "not a number"],
        ),
        ("rediss://host/1/2", &["database", "not a number"]),
        ("redis://", &["no host"]),
        ("redis:///0", &["no host"]),
        ("redis://host:notaport/0", &["port"]),
    ];
    for (text, words) in cases {
        let e = url_err(text);
        assert_mentions(&e, words);
        assert_mentions(&e, &[&format!("{text:?}")]);
    }
    // A password never appears in the message.
    let e = url_err("redis://:hunter2@host/notanumber");
    assert!(!e.contains("hunter2"), "{e:?} leaks the password");
    assert_mentions(&e, &["notanumber"]);
    let e = err(&[(ENV_URL, "rediss://user:hunter2@host/db")]);
    assert!(!e.contains("hunter2"), "{e:?} leaks the password");
    assert_mentions(&e, &[ENV_URL, "database"]);
}

// ---------------------------------------------------------------------------------------
// Config::from_env, in a child process
// ---------------------------------------------------------------------------------------

/// Set in the child's environment so the `#[ignore]`d child tests do something only there.
const CHILD_GUARD: &str = "BITMAPIST_CONFIG_TEST_CHILD";
/// Marks the child's report line in its output.
const REPORT: &str = "CHILD-REPORT:";

fn describe(config: &Result<Config, Error>) -> String {
    match config {
        Ok(c) => format!(
            "ok url={:?} text={:?} system={} prefix={} hourly={} unique={}",
            c.url, c.url_text, c.system, c.key_prefix, c.track_hourly, c.track_unique
        ),
        Err(e) => format!("err {e}"),
    }
}

/// Runs the child test `test` of this binary with exactly the given `BITMAPIST_*`
/// variables set, and returns its report.
fn run_child(test: &str, vars: &[(&str, &OsStr)]) -> String {
    let mut cmd = common::child_test(module_path!(), test);
    for var in ALL_VARS {
        cmd.env_remove(var);
    }
    cmd.env(CHILD_GUARD, "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {test} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .split_once(REPORT)
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_else(|| panic!("child {test} printed no report: {stdout}"))
        .to_string()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

#[test]
#[ignore = "child process of the from_env tests; does nothing unless run by them"]
fn child_config_from_env() {
    if std::env::var_os(CHILD_GUARD).is_none() {
        return;
    }
    println!("{REPORT}{}", describe(&Config::from_env()));
}

#[test]
#[ignore = "child process of the from_env tests; does nothing unless run by them"]
fn child_systems_from_env() {
    if std::env::var_os(CHILD_GUARD).is_none() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = rt.block_on(async {
        match Systems::from_env().await {
            Ok(s) => {
                let primary = s.primary().expect("one system");
                format!(
                    "ok names={:?} prefix={} hourly={} unique={}",
                    s.names(),
                    primary.layout().prefix(),
                    primary.tracks_hourly(),
                    primary.tracks_unique()
                )
            }
            Err(e) => format!("err {e}"),
        }
    });
    println!("{REPORT}{report}");
}

#[test]
fn from_env_reads_the_process_environment() {
    let report = run_child(
        "child_config_from_env",
        &[
            (ENV_REDIS_URL, os("memory://")),
            (ENV_SYSTEM, os("archive")),
            (ENV_KEY_PREFIX, os("bitmapist_")),
            (ENV_TRACK_HOURLY, os("Yes")),
            (ENV_TRACK_UNIQUE, os("off")),
            (bitmapist::ENV_KEEP, os("hour:7d, day:400d")),
        ],
    );
    let want = describe(&Ok(Config {
        url: StoreUrl::Memory,
        url_text: Some("memory://".to_string()),
        system: "archive".to_string(),
        key_prefix: "bitmapist_".to_string(),
        track_hourly: true,
        track_unique: false,
        id_map: false,
        timezone: bitmapist::Zone::UTC,
        keep: "hour:7d,day:400d".parse().expect("policy"),
    }));
    assert_eq!(report, want);
}

#[test]
fn from_env_with_nothing_set_is_the_default() {
    let report = run_child("child_config_from_env", &[]);
    assert_eq!(report, describe(&Ok(Config::default())));
}

#[test]
fn from_env_errors_name_the_variable() {
    let report = run_child("child_config_from_env", &[(ENV_TRACK_UNIQUE, os("maybe"))]);
    assert!(report.starts_with("err "), "{report}");
    assert_mentions(&report, &[ENV_TRACK_UNIQUE, "maybe"]);

    let report = run_child(
        "child_config_from_env",
        &[
            (ENV_URL, os("memory://")),
            (ENV_REDIS_URL, os("file://./x.redb")),
        ],
    );
    assert!(report.starts_with("err "), "{report}");
    assert_mentions(&report, &[ENV_URL, ENV_REDIS_URL]);

    let report = run_child("child_config_from_env", &[(ENV_URL, os("file://"))]);
    assert!(report.starts_with("err "), "{report}");
    assert_mentions(&report, &[ENV_URL, "needs a path"]);
}

#[cfg(unix)]
#[test]
fn from_env_rejects_values_that_are_not_utf8() {
    use std::os::unix::ffi::OsStringExt;
    let bad = OsString::from_vec(vec![b'b', b'm', 0xff, b'_']);
    let report = run_child(
        "child_config_from_env",
        &[(ENV_URL, os("memory://")), (ENV_KEY_PREFIX, &bad)],
    );
    assert!(report.starts_with("err "), "{report}");
    assert_mentions(&report, &[ENV_KEY_PREFIX, "UTF-8"]);
}

#[test]
fn systems_from_env_registers_the_configured_system() {
    let report = run_child(
        "child_systems_from_env",
        &[
            (ENV_URL, os("memory://")),
            (ENV_SYSTEM, os("archive")),
            (ENV_KEY_PREFIX, os("bitmapist_")),
            (ENV_TRACK_UNIQUE, os("1")),
        ],
    );
    assert_eq!(
        report,
        r#"ok names=["archive"] prefix=bitmapist_ hourly=false unique=true"#
    );
    let report = run_child(
        "child_systems_from_env",
        &[(ENV_URL, os("memory://")), (ENV_TRACK_HOURLY, os("nope"))],
    );
    assert!(report.starts_with("err "), "{report}");
    assert_mentions(&report, &[ENV_TRACK_HOURLY]);
}

// ---------------------------------------------------------------------------------------
// Config::open and builder
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn open_memory_gives_a_working_handle_with_the_settings() -> Result<(), Error> {
    let config = accepted(&[
        (ENV_URL, "memory://"),
        (ENV_KEY_PREFIX, "bitmapist_"),
        (ENV_TRACK_HOURLY, "true"),
        (ENV_TRACK_UNIQUE, "true"),
    ]);
    let bm = config.open().await?;
    assert_eq!(bm.layout().prefix(), "bitmapist_");
    assert!(bm.tracks_hourly());
    assert!(bm.tracks_unique());

    let t = Utc
        .with_ymd_and_hms(2024, 12, 30, 15, 5, 0)
        .single()
        .expect("instant");
    bm.mark_event("user:logged_in", 7).at(t).await?;
    let keys = bm.store().keys("").await?;
    assert_eq!(
        keys,
        [
            "bitmapist_user:logged_in_2024-12",
            "bitmapist_user:logged_in_2024-12-30",
            "bitmapist_user:logged_in_2024-12-30-15",
            "bitmapist_user:logged_in_W2025-1",
            "bitmapist_user:logged_in_u",
        ]
    );
    for g in TimeGroup::ALL {
        let q = bm.get_event_data("user:logged_in", g, t)?;
        assert_eq!(q.count().await?, 1, "{g}");
        assert!(q.contains(7).await?, "{g}");
    }
    assert_eq!(
        bm.events("user:logged_in", Period::unique())
            .count()
            .await?,
        1
    );
    assert_eq!(bm.event_names(None).await?, ["user:logged_in"]);

    // Defaults: trackist_ prefix, no hour or unique keys.
    let bm = accepted(&[(ENV_URL, "memory://")]).open().await?;
    assert_eq!(bm.layout().prefix(), "trackist_");
    assert!(!bm.tracks_hourly() && !bm.tracks_unique());
    bm.mark_event("e", 1).at(t).await?;
    assert_eq!(
        bm.store().keys("").await?,
        [
            "trackist_e_2024-12",
            "trackist_e_2024-12-30",
            "trackist_e_W2025-1"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn open_file_store_from_config() -> Result<(), Error> {
    let dir = tempfile::tempdir().expect("temp dir");
    // The file is created; its directory must exist (a missing one is refused).
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let path = dir.path().join("sub").join("a.redb");
    let text = format!("file://{}?flush_ms=10", path.display());
    let config = accepted(&[(ENV_REDIS_URL, text.as_str()), (ENV_TRACK_UNIQUE, "1")]);
    assert_eq!(config.url_text.as_deref(), Some(text.as_str()));
    let bm = config.open().await?;
    assert!(bm.tracks_unique() && !bm.tracks_hourly());
    bm.mark_event("signup", 3).await?;
    bm.flush().await?;
    assert_eq!(bm.events("signup", Period::unique()).count().await?, 1);
    drop(bm);
    assert!(path.exists(), "{} was not created", path.display());
    Ok(())
}

#[tokio::test]
async fn builder_carries_the_settings_but_not_the_store() -> Result<(), Error> {
    let config = accepted(&[
        (ENV_URL, "redis://unreachable.invalid:1/0"),
        (ENV_KEY_PREFIX, "p_"),
        (ENV_TRACK_HOURLY, "1"),
    ]);
    let store: std::sync::Arc<dyn bitmapist::Store> = std::sync::Arc::new(MemoryStore::new());
    let bm = config.builder().store(store).open().await?;
    assert_eq!(bm.layout().prefix(), "p_");
    assert!(bm.tracks_hourly());
    assert!(!bm.tracks_unique());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Systems
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn systems_keep_default_first_and_report_unknown_names() -> Result<(), Error> {
    let mut systems = Systems::new();
    assert!(systems.names().is_empty());
    assert!(systems.primary().is_none());
    let e = systems.get("default").expect_err("empty");
    assert!(matches!(e, Error::UnknownSystem(_)));

    let open = |prefix: &'static str| async move {
        Bitmapist::builder()
            .url("memory://")
            .key_prefix(prefix)
            .open()
            .await
    };
    systems.insert("b", open("b_").await?);
    assert_eq!(systems.primary().map(|c| c.layout().prefix()), Some("b_"));
    systems.insert("a", open("a_").await?);
    systems.insert("default", open("d_").await?);
    systems.insert("c", open("c_").await?);
    assert_eq!(systems.names(), ["default", "b", "a", "c"]);
    assert_eq!(systems.primary().map(|c| c.layout().prefix()), Some("d_"));

    // Replacing keeps the position.
    systems.insert("a", open("a2_").await?);
    systems.insert("default", open("d2_").await?);
    assert_eq!(systems.names(), ["default", "b", "a", "c"]);
    assert_eq!(systems.get("a")?.layout().prefix(), "a2_");
    assert_eq!(systems.get("default")?.layout().prefix(), "d2_");
    assert_eq!(systems.get("c")?.layout().prefix(), "c_");

    // Each system is its own store.
    systems.get("b")?.mark_event("e", 1).await?;
    assert_eq!(systems.get("b")?.store().keys("").await?.len(), 3);
    assert!(systems.get("c")?.store().keys("").await?.is_empty());

    for name in ["nope", "Default", "", " a"] {
        let e = systems.get(name).expect_err("unknown system");
        assert!(
            matches!(e, Error::UnknownSystem(ref n) if n == name),
            "{e:?}"
        );
        assert_mentions(&e.to_string(), &["system", &format!("{name:?}")]);
    }
    Ok(())
}

#[test]
fn unparseable_url_does_not_leak_password() {
    for text in [
        "redis://:hunter2@/3",
        "redis://user:hunter2@host:notaport/0",
    ] {
        let e = url_err(text);
        assert!(!e.contains("hunter2"), "{e:?} leaks the password");
        let e = err(&[(ENV_URL, text)]);
        assert!(!e.contains("hunter2"), "{e:?} leaks the password");
    }
}

#[test]
fn timezone_is_an_iana_name() {
    assert_eq!(accepted(&[]).timezone, bitmapist::Zone::UTC);
    let berlin = accepted(&[("BITMAPIST_TIMEZONE", "Europe/Berlin")]);
    assert_eq!(berlin.timezone.name(), "Europe/Berlin");
    assert_eq!(
        accepted(&[("BITMAPIST_TIMEZONE", " america/new_york ")])
            .timezone
            .name(),
        "America/New_York"
    );
    assert_mentions(
        &err(&[("BITMAPIST_TIMEZONE", "Mars/Olympus")]),
        &["BITMAPIST_TIMEZONE", "Mars/Olympus"],
    );
    assert_mentions(
        &err(&[("BITMAPIST_TIMEZONE", "+02:00")]),
        &["BITMAPIST_TIMEZONE", "IANA"],
    );
}
