//! Server commands: `BGSAVE`, `SAVE`, `LASTSAVE`, `SHUTDOWN`, `TIME` and
//! `SLURP host:port [db]` (import from a running Redis). `INFO`, `LATENCY` and `SLOWLOG`
//! are in `observe`.
//!
//! `BGSAVE` commits every acknowledged write and, when `-bak` is set, writes a consistent
//! copy there, all before it answers Redis's `Background saving started` (so a client
//! knows the data is on disk when it gets the answer); then, when the file is more than
//! [`StorageStats::worth_compacting`](bitmapist::StorageStats::worth_compacting) allows, it compacts the file (see
//! `EmbeddedStore::compact`) before answering. `SHUTDOWN` always saves.

use super::{Ctx, Flow, Outcome};
use crate::args::Args;
use crate::error::CommandError;
use crate::expiry::now_ms;
use crate::resp::encode;

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
