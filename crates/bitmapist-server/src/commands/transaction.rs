//! Transactions: `MULTI`, `EXEC`, `DISCARD` (what redis-py's default pipelines and
//! redis-rs's atomic pipelines send), with Redis 7.0's replies and queueing rules.
//!
//! Between `MULTI` and `EXEC` commands are checked (name, arity) and queued (`+QUEUED`); a
//! bad one is answered with its error and makes `EXEC` answer `EXECABORT`. `EXEC` runs the
//! queue holding the keyspace's exclusive gate, so no other client sees or interleaves with
//! a transaction in progress, and answers an array of the replies. The queue is bounded
//! (as much as one command may be); `WATCH` is refused (no optimistic locking here),
//! `UNWATCH` is accepted.

use super::{Command, Ctx, Flow, Outcome, execute};
use crate::args::Args;
use crate::error::CommandError;
use crate::resp::encode;
use crate::state::Multi;

/// Marks the transaction in progress, if any, as failed.
pub fn fail(ctx: &mut Ctx<'_>) {
    if let Some(multi) = ctx.conn.multi.as_mut() {
        multi.failed = true;
    }
}

/// Queues `command` if a transaction is in progress and the command is one that queues;
/// whether it did (the reply, `+QUEUED` or an error, is written).
pub fn queue(ctx: &mut Ctx<'_>, command: Command, args: Args<'_>, out: &mut Vec<u8>) -> bool {
    let limit = ctx.server.limits.max_command;
    let Some(multi) = ctx.conn.multi.as_mut() else {
        return false;
    };
    if matches!(
        command,
        Command::Exec | Command::Discard | Command::MultiCmd | Command::Watch | Command::Quit
    ) {
        return false;
    }
    let mut buf = Vec::new();
    let mut ranges = Vec::with_capacity(args.len());
    for arg in args.from(0) {
        ranges.push(buf.len()..buf.len() + arg.len());
        buf.extend_from_slice(arg);
    }
    if multi.bytes + buf.len() > limit {
        multi.failed = true;
        multi.queued.clear();
        multi.bytes = 0;
        encode::error(
            out,
            b"ERR transaction too large (bitmapist-server bounds MULTI queues)",
        );
        return true;
    }
    multi.bytes += buf.len();
    multi.queued.push((buf, ranges));
    encode::status(out, "QUEUED");
    true
}

/// `MULTI`.
pub fn multi(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    if ctx.conn.multi.is_some() {
        return Err(CommandError::reply("ERR MULTI calls can not be nested"));
    }
    ctx.conn.multi = Some(Multi::default());
    encode::ok(out);
    Ok(Flow::Continue)
}

/// `DISCARD`.
pub fn discard(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    if ctx.conn.multi.take().is_none() {
        return Err(CommandError::reply("ERR DISCARD without MULTI"));
    }
    encode::ok(out);
    Ok(Flow::Continue)
}

/// `WATCH`: refused (inside `MULTI` with Redis's error).
pub fn watch(ctx: &mut Ctx<'_>) -> Outcome {
    if ctx.conn.multi.is_some() {
        return Err(CommandError::reply("ERR WATCH inside MULTI is not allowed"));
    }
    Err(CommandError::reply(
        "ERR WATCH is not supported by bitmapist-server (MULTI/EXEC transactions are atomic)",
    ))
}

/// `UNWATCH`: nothing is watched.
pub fn unwatch(out: &mut Vec<u8>) -> Outcome {
    encode::ok(out);
    Ok(Flow::Continue)
}

/// `EXEC`: runs the queue under the exclusive gate; an array of the replies.
pub async fn exec(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    let Some(multi) = ctx.conn.multi.take() else {
        return Err(CommandError::reply("ERR EXEC without MULTI"));
    };
    if multi.failed {
        return Err(CommandError::reply(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let server = ctx.server;
    let gate = server.keyspace.exclusive().await?;
    encode::array(out, multi.queued.len());
    let mut flow = Flow::Continue;
    for (buf, ranges) in &multi.queued {
        let mut inner = Ctx {
            server,
            conn: &mut *ctx.conn,
            held: Some(&gate),
        };
        let args = Args::new(buf, ranges);
        if Box::pin(execute(&mut inner, args, out)).await == Flow::Shutdown {
            flow = Flow::Shutdown;
        }
    }
    Ok(flow)
}
