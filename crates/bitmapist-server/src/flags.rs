//! The command line, as Doist's Go server reads it: Go `flag` syntax (`-addr x`, `-addr=x`,
//! `--addr x`), the same flag names and defaults, plus a few of our own for tuning.
//!
//! Go's rules kept: a boolean flag takes no separate value (`-debug`, `-debug=false`);
//! parsing stops at the first argument that is not a flag, or after `--`; `version` alone
//! prints the version. `-relaxed` is accepted and changes nothing (writes always land in
//! memory first and are committed every `-save-every`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// The usage text (`-h`, `-help`, `--help`).
pub const USAGE: &str = "\
Usage of bitmapist-server:
  -addr address
    \taddress to listen (default \"localhost:6379\"; \":6379\" listens on every interface)
  -bak path
    \toptional path to backup file; send SIGUSR1 (or BGSAVE) to write a consistent copy
  -db path
    \tpath to database file (default \"bitmapist.db\")
  -debug
    \tlog all commands
  -relaxed
    \taccepted for compatibility with Doist's server; no effect
  -save-every duration
    \thow often acknowledged writes are committed to the file (default 1s); a crash
    \t(SIGKILL, power loss) loses at most this much
  -idle duration
    \tbitmaps unused this long leave memory, reloaded on use (default 10m; 0 keeps them)
  -file-cache-mb n
    \tsize of the database file's page cache in MiB (default 4); bitmaps in use are
    \tcached separately, so this only speeds up reloading cold ones
  -requirepass password
    \tclients must AUTH with this password before any other command (default: none);
    \tthe BITMAPIST_REQUIREPASS environment variable sets it without showing it in ps
  -max-output-mb n
    \treplies kept waiting for a client that does not read, in MiB (default 64); past
    \tit, commands pause, and a client that still sends as much is disconnected
  -slowlog-log-slower-than microseconds
    \tcommands taking at least this long go to the slow log (SLOWLOG GET); default
    \t10000; 0 logs every command, a negative value none
  -slowlog-max-len n
    \tentries the slow log keeps, newest first (default 128)
  -workers n
    \tthreads that serve connections (default 0: half the CPUs, at least 1; one thread
    \tserves many clients, and the other cores are left to the clients and the kernel)
  -v, -version
    \tprint version and exit

Every flag may also be written with two dashes (--addr) and as -flag=value.
Durations are Go's: 300ms, 1s, 1m30s, 2h.
";

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flags {
    /// `-addr`: where to listen.
    pub addr: String,
    /// `-db`: the database file.
    pub db: PathBuf,
    /// `-bak`: where SIGUSR1 and `BGSAVE` write a consistent copy.
    pub bak: Option<PathBuf>,
    /// `-debug`: log every command.
    pub debug: bool,
    /// `-relaxed`: accepted, no effect.
    pub relaxed: bool,
    /// `-save-every`: the commit interval.
    pub save_every: Duration,
    /// `-idle`: idle eviction (`None` for 0: never).
    pub idle: Option<Duration>,
    /// `-file-cache-mb`: the page cache of the database file, in MiB.
    pub file_cache_mb: usize,
    /// `-requirepass`: the password `AUTH` must give (else `BITMAPIST_REQUIREPASS`).
    pub requirepass: Option<String>,
    /// `-max-output-mb`: the client output limit, in MiB.
    pub max_output_mb: usize,
    /// `-slowlog-log-slower-than`: the slow log's threshold in microseconds (negative: off).
    pub slowlog_slower_than: i64,
    /// `-slowlog-max-len`: the slow log's length.
    pub slowlog_max_len: usize,
    /// `-workers`: the runtime's worker threads (0: [`Flags::worker_threads`] chooses).
    pub workers: usize,
    /// `-v`, `-version`, or the single argument `version`.
    pub version: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            addr: "localhost:6379".into(),
            db: PathBuf::from("bitmapist.db"),
            bak: None,
            debug: false,
            relaxed: false,
            save_every: Duration::from_secs(1),
            idle: Some(Duration::from_secs(600)),
            file_cache_mb: 4,
            requirepass: None,
            max_output_mb: 64,
            slowlog_slower_than: 10_000,
            slowlog_max_len: 128,
            workers: 0,
            version: false,
        }
    }
}

impl Flags {
    /// The worker threads to run: `-workers` when given, else half of `cpus` (at least
    /// one). Serving a request is mostly the kernel's socket work; one thread per two
    /// cores leaves the rest to the clients and the kernel, and avoids waking a second
    /// worker (a futex call and a context switch) for each request that arrives.
    pub fn worker_threads(&self, cpus: usize) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            (cpus / 2).max(1)
        }
    }
}

/// Why the command line was not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FlagsError {
    /// `-h`, `-help` or `--help`: print [`USAGE`].
    #[error("help requested")]
    Help,
    /// A flag that does not exist.
    #[error("flag provided but not defined: -{0}")]
    Unknown(String),
    /// A flag that needs a value came last.
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    /// A value that could not be read.
    #[error("invalid value {value:?} for flag -{flag}: {reason}")]
    BadValue {
        /// The flag.
        flag: String,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Flags, FlagsError> {
    let args: Vec<String> = args.into_iter().collect();
    let mut flags = Flags::default();
    if args.len() == 1 && args[0] == "version" {
        flags.version = true;
        return Ok(flags);
    }
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        let Some((name, inline)) = split_flag(arg) else {
            // The first non-flag argument ends the flags, as in Go; the rest are ignored.
            break;
        };
        match name {
            "h" | "help" => return Err(FlagsError::Help),
            "debug" | "relaxed" | "v" | "version" => {
                set_bool(&mut flags, name, parse_bool(name, inline)?);
            }
            "addr"
            | "db"
            | "bak"
            | "save-every"
            | "idle"
            | "file-cache-mb"
            | "requirepass"
            | "max-output-mb"
            | "workers"
            | "slowlog-log-slower-than"
            | "slowlog-max-len" => {
                let value = match inline {
                    Some(v) => v.to_string(),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| FlagsError::MissingValue(name.to_string()))?;
                        i += 1;
                        v.clone()
                    }
                };
                set_value(&mut flags, name, value)?;
            }
            _ => return Err(FlagsError::Unknown(name.to_string())),
        }
    }
    Ok(flags)
}

/// A flag argument's name and its `=value`, if any (`-name`, `--name`, `-name=value`);
/// `None` for an argument that is not a flag.
fn split_flag(arg: &str) -> Option<(&str, Option<&str>)> {
    let body = arg
        .strip_prefix("--")
        .or_else(|| arg.strip_prefix('-'))
        .filter(|b| !b.is_empty() && !b.starts_with('-'))?;
    Some(match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    })
}

/// The error for `value` of flag `name`.
fn bad(name: &str, value: &str, reason: &str) -> FlagsError {
    FlagsError::BadValue {
        flag: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A boolean flag's value: on when given alone, else Go's spellings of true and false.
fn parse_bool(name: &str, inline: Option<&str>) -> Result<bool, FlagsError> {
    match inline {
        None | Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(v) => Err(bad(name, v, "not a boolean")),
    }
}

/// Sets the boolean flag `name` (`debug`, `relaxed`, `v`/`version`).
fn set_bool(flags: &mut Flags, name: &str, on: bool) {
    match name {
        "debug" => flags.debug = on,
        "relaxed" => flags.relaxed = on,
        _ => flags.version = on,
    }
}

/// Sets the flag `name` that takes a value, checking the value.
fn set_value(flags: &mut Flags, name: &str, value: String) -> Result<(), FlagsError> {
    match name {
        "addr" => flags.addr = value,
        "db" => flags.db = PathBuf::from(value),
        "bak" => flags.bak = (!value.is_empty()).then(|| PathBuf::from(value)),
        "requirepass" => flags.requirepass = (!value.is_empty()).then_some(value),
        "max-output-mb" => {
            flags.max_output_mb = value
                .parse()
                .ok()
                .filter(|&n: &usize| n > 0)
                .ok_or_else(|| bad(name, &value, "not a positive whole number"))?;
        }
        "slowlog-log-slower-than" => {
            flags.slowlog_slower_than = value
                .parse()
                .map_err(|_| bad(name, &value, "not a whole number of microseconds"))?;
        }
        "slowlog-max-len" => {
            flags.slowlog_max_len = value
                .parse()
                .map_err(|_| bad(name, &value, "not a whole number"))?;
        }
        "workers" => {
            flags.workers = value
                .parse()
                .map_err(|_| bad(name, &value, "not a whole number"))?;
        }
        "save-every" => {
            let d = parse_duration(&value).map_err(|r| bad(name, &value, &r))?;
            if d.is_zero() {
                return Err(bad(name, &value, "must be positive"));
            }
            flags.save_every = d;
        }
        "idle" => {
            let d = parse_duration(&value).map_err(|r| bad(name, &value, &r))?;
            flags.idle = (!d.is_zero()).then_some(d);
        }
        _ => {
            flags.file_cache_mb = value
                .parse()
                .map_err(|_| bad(name, &value, "not a whole number"))?;
        }
    }
    Ok(())
}

/// Refuses a `-db` path whose directory does not exist (a mistyped path would otherwise
/// start an empty server); the file itself is created when missing.
pub fn check_db_parent(db: &Path) -> Result<(), FlagsError> {
    let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(FlagsError::BadValue {
        flag: "db".into(),
        value: db.display().to_string(),
        reason: format!(
            "the directory {} does not exist (create it first; the server does not create directories)",
            dir.display()
        ),
    })
}

/// Reads a Go duration: a sequence of decimal numbers with units (`ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h`), e.g. `1m30s`, `1.5h`, `300ms`; `0` alone is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {s:?}"))?;
        if number_len == 0 {
            return Err(format!("invalid duration {s:?}"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        total += number * seconds;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Flags, FlagsError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn go_style_flags() {
        let f = p(&[
            "-addr",
            "127.0.0.1:7000",
            "--db=x.db",
            "-bak",
            "b.db",
            "-debug",
        ])
        .unwrap();
        assert_eq!(f.addr, "127.0.0.1:7000");
        assert_eq!(f.db, PathBuf::from("x.db"));
        assert_eq!(f.bak, Some(PathBuf::from("b.db")));
        assert!(f.debug && !f.relaxed);
        assert_eq!(p(&[]).ok(), Some(Flags::default()));
        assert_eq!(p(&["--help"]), Err(FlagsError::Help));
        assert_eq!(p(&["-h"]), Err(FlagsError::Help));
        assert_eq!(p(&["-nope"]), Err(FlagsError::Unknown("nope".into())));
        assert_eq!(p(&["-addr"]), Err(FlagsError::MissingValue("addr".into())));
        assert!(p(&["version"]).is_ok_and(|f| f.version));
        assert!(p(&["-debug=false"]).is_ok_and(|f| !f.debug));
        assert!(p(&["-relaxed", "extra", "-nope"]).is_ok_and(|f| f.relaxed));
        assert!(
            p(&["-save-every", "250ms", "-idle", "0"])
                .is_ok_and(|f| f.save_every == Duration::from_millis(250) && f.idle.is_none())
        );
        assert!(p(&["-save-every", "0"]).is_err());
        assert!(
            p(&["-requirepass", "s3", "-max-output-mb=8"])
                .is_ok_and(|f| f.requirepass.as_deref() == Some("s3") && f.max_output_mb == 8)
        );
        assert!(p(&["-max-output-mb", "0"]).is_err());
        assert!(p(&["-requirepass"]).is_err());
        assert!(
            p(&["-slowlog-log-slower-than", "-1", "-slowlog-max-len=5"])
                .is_ok_and(|f| f.slowlog_slower_than == -1 && f.slowlog_max_len == 5)
        );
        assert!(p(&["-slowlog-max-len", "-1"]).is_err());
        assert!(p(&["-slowlog-log-slower-than", "1ms"]).is_err());
    }

    #[test]
    fn worker_threads_default_to_half_the_cpus() {
        let auto = Flags::default();
        assert_eq!(auto.worker_threads(1), 1);
        assert_eq!(auto.worker_threads(2), 1);
        assert_eq!(auto.worker_threads(3), 1);
        assert_eq!(auto.worker_threads(8), 4);
        let three = p(&["-workers", "3"]).unwrap();
        assert_eq!((three.workers, three.worker_threads(2)), (3, 3));
        assert_eq!(p(&["-workers=0"]).map(|f| f.worker_threads(16)), Ok(8));
        assert!(p(&["-workers", "two"]).is_err());
        assert!(p(&["-workers", "-1"]).is_err());
    }

    #[test]
    fn db_parent_must_exist() {
        assert!(check_db_parent(Path::new("bitmapist.db")).is_ok());
        assert!(check_db_parent(Path::new("/tmp/x.db")).is_ok());
        let err = check_db_parent(Path::new("/mistyped/path/x.db"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/mistyped/path does not exist"), "{err}");
    }

    #[test]
    fn go_durations() {
        let d = |s: &str| parse_duration(s).unwrap();
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d("300ms"), Duration::from_millis(300));
        assert_eq!(d("0"), Duration::ZERO);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }
}
