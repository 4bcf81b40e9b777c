//! Server commands: `INFO` (with the `keys` section of Doist's server), `BGSAVE`, `SAVE`,
//! `LASTSAVE`, `SHUTDOWN`, `TIME` and `SLURP host:port [db]` (import from a running Redis).
//!
//! `BGSAVE` commits every acknowledged write and, when `-bak` is set, writes a consistent
//! copy there, all before it answers Redis's `Background saving started` (so a client
//! knows the data is on disk when it gets the answer); then, when the file is more than
//! [`StorageStats::worth_compacting`](bitmapist::StorageStats::worth_compacting) allows, it compacts the file (see
//! `EmbeddedStore::compact`) before answering. `SHUTDOWN` always saves.
//!
//! `INFO persistence` reports the file's footprint: `db_file_bytes`, `db_roaring_bytes`
//! (the sum of the bitmaps' serialized roaring sizes, see [`StorageStats`](bitmapist::StorageStats)) and their
//! ratio, of the last commit.

use super::{Ctx, Flow, Outcome};
use crate::args::Args;
use crate::error::CommandError;
use crate::expiry::now_ms;
use crate::resp::encode;

/// The sections of `INFO`, in order.
const SECTIONS: [&str; 7] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "keyspace",
    "keys",
];

/// The resident set size of this process in bytes, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// `INFO [section...]`: Redis-style sections; `INFO keys` answers as Doist's server does
/// (`keys_total`, `keys_cached`), with a `# Keys` header line.
pub async fn info(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let wanted: Vec<String> = args
        .from(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| matches!(w.as_str(), "all" | "default" | "everything"));
    let server = ctx.server;
    let ks = &server.keyspace;
    let (keys_total, expires) = {
        let gate = ctx.exclusive().await?;
        (ks.len(&gate)?, ks.expiry().len())
    };
    let (cached, dirty) = ks.store().cache_stats();
    let footprint = if all || wanted.iter().any(|w| w == "persistence") {
        Some(ks.store().storage_stats().await?)
    } else {
        None
    };
    let mut text = String::new();
    for section in SECTIONS {
        if !all && !wanted.iter().any(|w| w == section) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let lines: Vec<String> = match section {
            "server" => vec![
                format!("redis_version:{}", super::session::REDIS_VERSION),
                format!("bitmapist_server_version:{}", env!("CARGO_PKG_VERSION")),
                "redis_mode:standalone".into(),
                format!("process_id:{}", std::process::id()),
                format!("tcp_port:{}", server.port),
                format!("uptime_in_seconds:{}", server.started.elapsed().as_secs()),
                format!("db_path:{}", ks.store().path().display()),
            ],
            "clients" => vec![format!("connected_clients:{}", server.stats.clients())],
            "memory" => vec![format!("used_memory_rss:{}", rss_bytes())],
            "persistence" => {
                let f = footprint.clone().unwrap_or_default();
                vec![
                    "loading:0".into(),
                    format!("rdb_changes_since_last_save:{dirty}"),
                    format!("rdb_last_save_time:{}", ks.last_save()),
                    format!(
                        "save_interval_ms:{}",
                        ks.store().options().flush_interval.as_millis()
                    ),
                    format!("db_file_bytes:{}", f.file_bytes),
                    format!("db_roaring_bytes:{}", f.roaring_bytes),
                    format!("db_file_to_roaring_ratio:{:.3}", f.ratio()),
                ]
            }
            "stats" => vec![
                format!("total_connections_received:{}", server.stats.connections()),
                format!("total_commands_processed:{}", server.stats.commands()),
            ],
            "keyspace" if keys_total > 0 => {
                vec![format!("db0:keys={keys_total},expires={expires},avg_ttl=0")]
            }
            "keyspace" => vec![],
            _ => vec![
                format!("keys_total:{keys_total}"),
                format!("keys_cached:{cached}"),
            ],
        };
        let mut title = section.to_string();
        title[..1].make_ascii_uppercase();
        text.push_str(&format!("# {title}\r\n"));
        for line in lines {
            text.push_str(&line);
            text.push_str("\r\n");
        }
    }
    encode::bulk(out, text.as_bytes());
    Ok(Flow::Continue)
}

/// `BGSAVE [SCHEDULE]`: commits, and writes the `-bak` copy when configured.
pub async fn bgsave(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    match args.len() {
        1 => {}
        2 if args.is(1, "schedule") => {}
        _ => return Err(CommandError::SYNTAX),
    }
    let ks = &ctx.server.keyspace;
    if ks.save_and_backup().await? {
        tracing::info!(path = ?ks.backup_path(), "BGSAVE: saved and backed up");
    }
    let before = ks.store().storage_stats().await?;
    if before.worth_compacting() {
        let report = ks.store().compact().await?;
        tracing::info!(
            before_bytes = report.before_bytes,
            after_bytes = report.after.file_bytes,
            roaring_bytes = report.after.roaring_bytes,
            seconds = report.seconds,
            "BGSAVE: compacted the file"
        );
    }
    encode::status(out, "Background saving started");
    Ok(Flow::Continue)
}

/// `SAVE`: commits every acknowledged write.
pub async fn save(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    ctx.server.keyspace.save().await?;
    encode::ok(out);
    Ok(Flow::Continue)
}

/// `LASTSAVE`: the Unix time of the last save.
pub fn lastsave(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    encode::count(out, ctx.server.keyspace.last_save());
    Ok(Flow::Continue)
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: saves and exits (the connection closes
/// without a reply, as with Redis). Arguments are checked as Redis 7.0 does: `NOSAVE` with
/// `SAVE`, or `ABORT` with anything else, is a syntax error; `ABORT` alone answers Redis's
/// `No shutdown in progress` (a shutdown here never waits, so there is none to abort).
/// `NOSAVE` is accepted but the server saves anyway: its saves are commits of writes it
/// already acknowledged, never skipped.
pub fn shutdown(args: Args<'_>, _out: &mut Vec<u8>) -> Outcome {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for i in 1..args.len() {
        if args.is(i, "nosave") {
            nosave = true;
        } else if args.is(i, "save") {
            save = true;
        } else if args.is(i, "abort") {
            abort = true;
        } else if args.is(i, "now") || args.is(i, "force") {
            other = true;
        } else {
            return Err(CommandError::SYNTAX);
        }
    }
    if (nosave && save) || (abort && (nosave || save || other)) {
        return Err(CommandError::SYNTAX);
    }
    if abort {
        return Err(CommandError::reply("ERR No shutdown in progress."));
    }
    Ok(Flow::Shutdown)
}

/// `TIME`: Unix seconds and microseconds.
pub fn time(out: &mut Vec<u8>) -> Outcome {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    encode::array(out, 2);
    encode::bulk(out, now.as_secs().to_string().as_bytes());
    encode::bulk(out, now.subsec_micros().to_string().as_bytes());
    Ok(Flow::Continue)
}

/// `SLURP host:port [db]`: imports every string key (with its time to live) of a running
/// Redis, replacing keys of the same name; answers the number of keys imported once done.
pub async fn slurp(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    if args.len() > 3 {
        return Err(CommandError::arity("slurp"));
    }
    let addr = String::from_utf8_lossy(args.get(1)).into_owned();
    let db = if args.len() == 3 { args.int(2)? } else { 0 };
    if ctx.held.is_some() {
        return Err(CommandError::reply("ERR SLURP inside MULTI is not allowed"));
    }
    let started = now_ms();
    let stats = crate::slurp::slurp(&ctx.server.keyspace, &addr, db)
        .await
        .map_err(|e| CommandError::reply(format!("ERR SLURP {addr}: {e}")))?;
    tracing::info!(
        from = %addr,
        db,
        imported = stats.imported,
        skipped_non_strings = stats.non_strings,
        skipped_empty = stats.empty,
        ms = now_ms().saturating_sub(started),
        "SLURP done"
    );
    encode::count(out, stats.imported);
    Ok(Flow::Continue)
}
