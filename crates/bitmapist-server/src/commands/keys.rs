//! Key-space commands: `EXISTS`, `DEL`/`UNLINK`, `KEYS`, `SCAN`, `TYPE`, `RENAME`,
//! `RENAMENX`, `DBSIZE`, `FLUSHDB`/`FLUSHALL`. Each takes the keyspace's exclusive gate.
//!
//! `KEYS` and `SCAN` return keys in sorted order (Redis: hash order). `SCAN`'s cursor is a
//! position in that order (see `scan.rs` for its guarantee); `COUNT` is the number of keys
//! examined per call, `MATCH` filters them afterwards and `TYPE string` keeps every key (every
//! value is a string), any other type none, as in Redis.

use super::{Ctx, Flow, Outcome};
use crate::args::{self, Args, parse_u64};
use crate::error::CommandError;
use crate::resp::encode;

fn keys_from(args: Args<'_>, from: usize) -> Result<Vec<String>, CommandError> {
    args.from(from)
        .map(|k| args::key(k).map(str::to_owned))
        .collect()
}

/// `EXISTS key...`: how many of the keys exist (a key named twice counts twice).
pub async fn exists(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let keys = keys_from(args, 1)?;
    let ks = &ctx.server.keyspace;
    let _gate = ctx.exclusive().await?;
    let mut n = 0;
    for key in &keys {
        if ks.store().exists(key)? {
            n += 1;
        }
    }
    encode::int(out, n);
    Ok(Flow::Continue)
}

/// `DEL key...` and `UNLINK key...`: how many existed.
pub async fn del(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let keys = keys_from(args, 1)?;
    let ks = &ctx.server.keyspace;
    let gate = ctx.exclusive().await?;
    let mut present = Vec::with_capacity(keys.len());
    for key in keys {
        if ks.store().exists(&key)? {
            present.push(key);
        }
    }
    let n = if present.is_empty() {
        0
    } else {
        ks.delete(&gate, &present).await?
    };
    drop(gate);
    encode::count(out, n);
    Ok(Flow::Continue)
}

/// `KEYS pattern`.
pub async fn keys(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let ks = &ctx.server.keyspace;
    let keys = {
        let gate = ctx.exclusive().await?;
        ks.keys(&gate, args.get(1)).await?
    };
    encode::array(out, keys.len());
    for key in keys {
        encode::bulk(out, key.as_bytes());
    }
    Ok(Flow::Continue)
}

/// `SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]`.
pub async fn scan(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let cursor = parse_u64(args.get(1)).ok_or_else(|| CommandError::reply("ERR invalid cursor"))?;
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut strings = true;
    let mut i = 2;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if args.is(i, "count") && has_value {
            count = args.int(i + 1)?;
            if count < 1 {
                return Err(CommandError::SYNTAX);
            }
        } else if args.is(i, "match") && has_value {
            let p = args.get(i + 1);
            pattern = (p != b"*").then_some(p);
        } else if args.is(i, "type") && has_value {
            strings = args.get(i + 1).eq_ignore_ascii_case(b"string");
        } else {
            return Err(CommandError::SYNTAX);
        }
        i += 2;
    }
    let ks = &ctx.server.keyspace;
    let (next, keys) = {
        let gate = ctx.exclusive().await?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        ks.scan(&gate, cursor, count, pattern)?
    };
    let keys = if strings { keys } else { Vec::new() };
    encode::array(out, 2);
    encode::bulk(out, next.to_string().as_bytes());
    encode::array(out, keys.len());
    for key in keys {
        encode::bulk(out, key.as_bytes());
    }
    Ok(Flow::Continue)
}

/// `TYPE key`: `string` for every key, `none` for a missing one.
pub async fn key_type(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let exists = {
        let _gate = ctx.shared_for(key).await?;
        ks.store().exists(key)?
    };
    encode::status(out, if exists { "string" } else { "none" });
    Ok(Flow::Continue)
}

/// `RENAME src dst` (`OK`) and `RENAMENX src dst` (1, or 0 when `dst` exists).
pub async fn rename(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>, nx: bool) -> Outcome {
    let src = args.key(1)?;
    let dst = args.key(2)?;
    let ks = &ctx.server.keyspace;
    let gate = ctx.exclusive().await?;
    if !ks.store().exists(src)? {
        return Err(CommandError::NO_SUCH_KEY);
    }
    if src == dst {
        drop(gate);
        if nx {
            encode::int(out, 0);
        } else {
            encode::ok(out);
        }
        return Ok(Flow::Continue);
    }
    if nx && ks.store().exists(dst)? {
        drop(gate);
        encode::int(out, 0);
        return Ok(Flow::Continue);
    }
    ks.rename(&gate, src, dst).await?;
    drop(gate);
    if nx {
        encode::int(out, 1);
    } else {
        encode::ok(out);
    }
    Ok(Flow::Continue)
}

/// `DBSIZE`.
pub async fn dbsize(ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Outcome {
    let ks = &ctx.server.keyspace;
    let n = {
        let gate = ctx.exclusive().await?;
        ks.len(&gate)?
    };
    encode::count(out, n);
    Ok(Flow::Continue)
}

/// `FLUSHDB [ASYNC|SYNC]` and `FLUSHALL [ASYNC|SYNC]` (one database: the same thing).
pub async fn flush(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    match args.len() {
        1 => {}
        2 if args.is(1, "async") || args.is(1, "sync") => {}
        _ => return Err(CommandError::SYNTAX),
    }
    let ks = &ctx.server.keyspace;
    {
        let gate = ctx.exclusive().await?;
        ks.flush_all(&gate).await?;
    }
    encode::ok(out);
    Ok(Flow::Continue)
}
