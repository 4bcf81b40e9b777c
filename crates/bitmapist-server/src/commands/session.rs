//! Session commands (Redis's "connection" group): `PING`, `ECHO`, `QUIT`, `SELECT`, `HELLO`, `AUTH`, and the minimal
//! `CLIENT`, `COMMAND` and `CONFIG` that redis-py, redis-rs, redis-cli and redis-benchmark
//! send when they connect.
//!
//! There is one database (0) and only RESP2 (`HELLO 3` gets Redis's `NOPROTO` error, so
//! clients fall back). Authentication is Redis's with a single `default` user: without
//! `-requirepass`, `AUTH default <anything>` succeeds and other users get `WRONGPASS`; with
//! it, every command but `AUTH`, `HELLO` and `QUIT` answers `NOAUTH` until the client
//! gives the password (`AUTH pass`, `AUTH default pass`, `HELLO 2 AUTH default pass`).

use super::{Command, Ctx, Flow, Outcome, unknown_subcommand};
use crate::args::Args;
use crate::error::CommandError;
use crate::resp::encode;

/// The Redis version the server answers as (its commands follow Redis 7.0).
pub const REDIS_VERSION: &str = "7.0.15";

/// `PING [message]`.
pub fn ping(args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    match args.len() {
        1 => encode::status(out, "PONG"),
        2 => encode::bulk(out, args.get(1)),
        _ => return Err(CommandError::arity("ping")),
    }
    Ok(Flow::Continue)
}

/// `ECHO message`.
pub fn echo(args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    encode::bulk(out, args.get(1));
    Ok(Flow::Continue)
}

/// `QUIT`: `OK`, then the connection closes.
pub fn quit(out: &mut Vec<u8>) -> Outcome {
    encode::ok(out);
    Ok(Flow::Close)
}

/// `SELECT 0` (the only database).
pub fn select(args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    match args.int(1)? {
        0 => encode::ok(out),
        _ => {
            return Err(CommandError::reply(
                "ERR DB index is out of range (bitmapist-server has only database 0)",
            ));
        }
    }
    Ok(Flow::Continue)
}

/// Redis's reply to a wrong user or password.
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Whether the connection may run `command`: everything once authenticated (or without
/// `-requirepass`); only `AUTH`, `HELLO` and `QUIT` before.
pub fn allowed(ctx: &Ctx<'_>, command: Command) -> bool {
    ctx.conn.authenticated
        || ctx.server.requirepass.is_none()
        || matches!(command, Command::Auth | Command::Hello | Command::Quit)
}

/// Compares without stopping at the first difference (no timing hint about the password).
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let diff = given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    diff == 0 && given.len() == expected.len()
}

/// Checks `user` (the `default` user only) and `password`; on success the connection is
/// authenticated. A failure leaves the connection as it was, as in Redis.
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> Result<(), CommandError> {
    let ok = user == b"default"
        && match &ctx.server.requirepass {
            None => true,
            Some(expected) => same_secret(password, expected),
        };
    if !ok {
        return Err(CommandError::reply(WRONGPASS));
    }
    ctx.conn.authenticated = true;
    Ok(())
}

/// `AUTH [user] password`, as Redis answers it (see the module docs).
pub fn auth(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    match args.len() {
        2 if ctx.server.requirepass.is_none() => {
            return Err(CommandError::reply(
                "ERR AUTH <password> called without any password configured for the default \
                 user. Are you sure your configuration is correct?",
            ));
        }
        2 => authenticate(ctx, b"default", args.get(1))?,
        3 => authenticate(ctx, args.get(1), args.get(2))?,
        _ => return Err(CommandError::SYNTAX),
    }
    encode::ok(out);
    Ok(Flow::Continue)
}

/// `HELLO [2 [AUTH user password] [SETNAME name]]`: the server's description, RESP2 only.
pub fn hello(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let mut i = 1;
    if args.len() >= 2 {
        let version = crate::args::parse_i64(args.get(1)).ok_or_else(|| {
            CommandError::reply("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&version) {
            return Err(CommandError::reply("NOPROTO unsupported protocol version"));
        }
        i = 2;
    }
    let mut name = None;
    let mut credentials = None;
    while i < args.len() {
        let left = args.len() - i - 1;
        if args.is(i, "auth") && left >= 2 {
            credentials = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if args.is(i, "setname") && left >= 1 {
            name = Some(valid_name(args.get(i + 1))?);
            i += 2;
        } else {
            return Err(CommandError::reply(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args.get(i))
            )));
        }
    }
    if let Some((user, password)) = credentials {
        authenticate(ctx, user, password)?;
    }
    if !allowed(ctx, Command::Ping) {
        return Err(CommandError::reply(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time",
        ));
    }
    if args.len() >= 2 && !args.is(1, "2") {
        return Err(CommandError::reply("NOPROTO unsupported protocol version"));
    }
    if let Some(name) = name {
        ctx.conn.name = name;
    }
    encode::array(out, 14);
    encode::bulk(out, b"server");
    encode::bulk(out, b"redis");
    encode::bulk(out, b"version");
    encode::bulk(out, REDIS_VERSION.as_bytes());
    encode::bulk(out, b"proto");
    encode::int(out, 2);
    encode::bulk(out, b"id");
    encode::count(out, ctx.conn.id);
    for (k, v) in [("mode", "standalone"), ("role", "master")] {
        encode::bulk(out, k.as_bytes());
        encode::bulk(out, v.as_bytes());
    }
    encode::bulk(out, b"modules");
    encode::array(out, 0);
    Ok(Flow::Continue)
}

/// A client name: no blanks or special characters, as Redis requires; empty clears it.
fn valid_name(name: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::reply(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok((!name.is_empty()).then(|| name.to_vec()))
}

/// `CLIENT SETNAME|GETNAME|ID|SETINFO|INFO|LIST|NO-EVICT|NO-TOUCH|HELP`.
pub fn client(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let sub = args.get(1).to_ascii_lowercase();
    let arity = |n: usize, name: &str| {
        if args.len() == n {
            Ok(())
        } else {
            Err(CommandError::arity(&format!("client|{name}")))
        }
    };
    match sub.as_slice() {
        b"setname" => {
            arity(3, "setname")?;
            ctx.conn.name = valid_name(args.get(2))?;
            encode::ok(out);
        }
        b"getname" => {
            arity(2, "getname")?;
            match &ctx.conn.name {
                Some(name) => encode::bulk(out, name),
                None => encode::nil(out),
            }
        }
        b"id" => {
            arity(2, "id")?;
            encode::count(out, ctx.conn.id);
        }
        b"setinfo" => {
            arity(4, "setinfo")?;
            if !(args.is(2, "lib-name") || args.is(2, "lib-ver")) {
                return Err(CommandError::reply(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(args.get(2))
                )));
            }
            encode::ok(out);
        }
        b"info" | b"list" => {
            let name = ctx.conn.name.as_deref().unwrap_or_default();
            let line = format!(
                "id={} addr={} name={} db=0 cmd=client|{}\n",
                ctx.conn.id,
                ctx.conn.peer,
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(&sub)
            );
            encode::bulk(out, line.as_bytes());
        }
        b"no-evict" | b"no-touch" => {
            arity(3, &String::from_utf8_lossy(&sub))?;
            encode::ok(out);
        }
        b"help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
                "SETNAME <name>, GETNAME, ID, SETINFO <LIB-NAME|LIB-VER> <value>, INFO, LIST",
            ];
            encode::array(out, lines.len());
            for l in lines {
                encode::status(out, l);
            }
        }
        _ => return Err(unknown_subcommand(args.get(1), "client")),
    }
    Ok(Flow::Continue)
}

/// One command's `COMMAND INFO` entry, Redis 7's ten fields: name, arity, and (not
/// tracked here) empty flags, no key positions, empty categories, tips, key specs and
/// subcommands.
fn command_info(out: &mut Vec<u8>, command: Command) {
    encode::array(out, 10);
    encode::bulk(out, command.name().as_bytes());
    encode::int(out, i64::from(command.arity()));
    encode::array(out, 0);
    for _ in 0..3 {
        encode::int(out, 0);
    }
    for _ in 0..4 {
        encode::array(out, 0);
    }
}

/// `COMMAND [COUNT|DOCS|INFO|LIST]`: the command table (names and arities; no command
/// documentation).
pub fn command(args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    if args.len() == 1 {
        encode::array(out, Command::ALL.len());
        for &c in Command::ALL {
            command_info(out, c);
        }
        return Ok(Flow::Continue);
    }
    let sub = args.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"count" => encode::count(out, Command::ALL.len() as u64),
        b"docs" => encode::array(out, 0),
        b"info" => {
            encode::array(out, args.len().saturating_sub(2));
            for name in args.from(2) {
                let name = name.to_ascii_lowercase();
                match Command::ALL
                    .iter()
                    .find(|c| c.name().as_bytes() == name.as_slice())
                {
                    Some(&c) => command_info(out, c),
                    None => out.extend_from_slice(b"*-1\r\n"),
                }
            }
        }
        b"list" => {
            encode::array(out, Command::ALL.len());
            for c in Command::ALL {
                encode::bulk(out, c.name().as_bytes());
            }
        }
        _ => return Err(unknown_subcommand(args.get(1), "command")),
    }
    Ok(Flow::Continue)
}

/// The `CONFIG GET` parameters the server reports (what redis-benchmark and
/// redis_exporter ask for), with the slow log's flags.
fn config_values(ctx: &Ctx<'_>) -> Vec<(&'static str, String)> {
    let (slower_than, max_len) = ctx.server.stats.slowlog_settings();
    vec![
        ("save", String::new()),
        ("appendonly", "no".into()),
        ("databases", "1".into()),
        ("maxmemory", "0".into()),
        ("slowlog-log-slower-than", slower_than.to_string()),
        ("slowlog-max-len", max_len.to_string()),
    ]
}

/// `CONFIG GET pattern...` (a few read-only values), `CONFIG RESETSTAT` (zeroes the
/// figures of `INFO stats`, `commandstats`, `errorstats` and `latencystats`; see `stats`);
/// `CONFIG SET` is refused.
pub fn config(ctx: &Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let sub = args.get(1).to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => {
            if args.len() < 3 {
                return Err(CommandError::arity("config|get"));
            }
            let found: Vec<(&str, String)> = config_values(ctx)
                .into_iter()
                .filter(|(k, _)| {
                    args.from(2)
                        .any(|p| crate::glob::matches(&p.to_ascii_lowercase(), k.as_bytes()))
                })
                .collect();
            encode::array(out, found.len() * 2);
            for (k, v) in found {
                encode::bulk(out, k.as_bytes());
                encode::bulk(out, v.as_bytes());
            }
        }
        b"resetstat" => {
            ctx.server.stats.reset();
            ctx.server.keyspace.reset_expired_keys();
            encode::ok(out)
        }
        b"set" => {
            return Err(CommandError::reply(
                "ERR bitmapist-server has no runtime configuration (use its command-line flags)",
            ));
        }
        _ => return Err(unknown_subcommand(args.get(1), "config")),
    }
    Ok(Flow::Continue)
}
