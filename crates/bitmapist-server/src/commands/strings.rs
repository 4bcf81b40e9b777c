//! String commands on bitmaps: `GET` (Redis bytes, most significant bit first; a value over
//! 1 MiB is streamed, see `stream`), `SET`, `MGET`, `STRLEN`.
//!
//! Every value is a bitmap: `SET` stores the bytes it is given as the bitmap whose bit `n` is
//! bit `7 - n % 8` of byte `n / 8`, with the string's exact length, so `GET` returns them
//! byte for byte, whatever they are (text included). The one value that is not a bitmap is
//! the empty string (a bitmap key always has a length of at least one byte, as every key
//! `SETBIT` creates does): `SET key ""` is refused with an error reply. Values are at most
//! 512 MiB, Redis's own limit and the largest bitmap.

use std::io::Write as _;

use bitmapist::Bitmap;

use super::{Ctx, Flow, Outcome};
use crate::args::Args;
use crate::error::CommandError;
use crate::expiry::now_ms;
use crate::resp::encode;
use crate::stream::STREAM_ABOVE;

/// `GET key`: the bitmap as Redis bytes, or nil.
pub async fn get(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let bitmap = {
        let _gate = ctx.shared_for(key).await?;
        ks.store().read_shared(key)?
    };
    ctx.server.stats.count_lookup(bitmap.is_some());
    match bitmap {
        // Outside a transaction, a large value is streamed after its header.
        Some(b) if b.byte_len() > STREAM_ABOVE && ctx.held.is_none() => {
            let _ = write!(out, "${}\r\n", b.byte_len());
            ctx.conn.stream = Some(b);
        }
        Some(b) => encode::bulk(out, &b.to_redis_bytes()),
        None => encode::nil(out),
    }
    Ok(Flow::Continue)
}

/// `STRLEN key`: the length of the bitmap in bytes.
pub async fn strlen(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let _gate = ctx.shared_for(key).await?;
    let len = ks.store().read(key, Bitmap::byte_len)?;
    ctx.server.stats.count_lookup(len.is_some());
    encode::int(out, i64::from(len.unwrap_or(0)));
    Ok(Flow::Continue)
}

/// `MGET key...`: one bulk string or nil per key, read atomically.
pub async fn mget(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let keys = args
        .from(1)
        .map(crate::args::key)
        .collect::<Result<Vec<&str>, _>>()?;
    let ks = &ctx.server.keyspace;
    let values = {
        let _gate = ctx.exclusive().await?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(ks.store().read_shared(key)?);
        }
        values
    };
    encode::array(out, values.len());
    for value in values {
        ctx.server.stats.count_lookup(value.is_some());
        match value {
            Some(b) => encode::bulk(out, &b.to_redis_bytes()),
            None => encode::nil(out),
        }
    }
    Ok(Flow::Continue)
}

/// The options of `SET`, as Redis 7.0 parses them.
#[derive(Debug, Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// The expiry argument and its kind.
    expire: Option<(Expire, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expire {
    Ex,
    Px,
    ExAt,
    PxAt,
}

fn set_options(args: Args<'_>) -> Result<SetOptions, CommandError> {
    let mut o = SetOptions::default();
    let mut j = 3;
    while j < args.len() {
        let has_next = j + 1 < args.len();
        let no_expire = o.expire.is_none() && !o.keep_ttl;
        if args.is(j, "nx") && !o.xx {
            o.nx = true;
        } else if args.is(j, "xx") && !o.nx {
            o.xx = true;
        } else if args.is(j, "get") {
            o.get = true;
        } else if args.is(j, "keepttl") && o.expire.is_none() {
            o.keep_ttl = true;
        } else if no_expire && has_next {
            let kind = [
                ("ex", Expire::Ex),
                ("px", Expire::Px),
                ("exat", Expire::ExAt),
                ("pxat", Expire::PxAt),
            ]
            .into_iter()
            .find(|(name, _)| args.is(j, name))
            .ok_or(CommandError::SYNTAX)?
            .1;
            o.expire = Some((kind, j + 1));
            j += 1;
        } else {
            return Err(CommandError::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The deadline (Unix ms) a `SET` expiry argument names.
fn set_deadline(args: Args<'_>, kind: Expire, at: usize) -> Result<u64, CommandError> {
    let invalid = || CommandError::reply("ERR invalid expire time in 'set' command");
    let n = args.int(at)?;
    if n <= 0 || (matches!(kind, Expire::Ex | Expire::ExAt) && n > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = match kind {
        Expire::Ex | Expire::ExAt => n * 1000,
        Expire::Px | Expire::PxAt => n,
    };
    if matches!(kind, Expire::Ex | Expire::Px) {
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        ms = ms.checked_add(now).ok_or_else(invalid)?;
    }
    u64::try_from(ms).map_err(|_| invalid())
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]` (see the module docs
/// for which values are bitmaps).
pub async fn set(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let options = set_options(args)?;
    let deadline = match options.expire {
        Some((kind, at)) => Some(set_deadline(args, kind, at)?),
        None => None,
    };
    let key = args.key(1)?;
    let value = args.get(2);
    if value.is_empty() {
        return Err(CommandError::reply(
            "ERR value is not a bitmap: bitmapist-server stores bitmaps, which are 1 byte long \
             or more; an empty string has no bitmap",
        ));
    }
    let bitmap = Bitmap::from_redis_bytes(value)
        .ok_or_else(|| CommandError::reply("ERR value is not a bitmap: longer than 512 MiB"))?;
    let ks = &ctx.server.keyspace;
    let gate = ctx.exclusive().await?;
    let old = if options.get {
        ks.store().read_shared(key)?
    } else {
        None
    };
    let found = match &old {
        Some(_) => true,
        None => ks.store().exists(key)?,
    };
    let proceed = !(options.nx && found || options.xx && !found);
    if proceed {
        ks.put(&gate, key, bitmap, options.keep_ttl).await?;
        if let Some(at) = deadline {
            if at <= now_ms() {
                ks.delete(&gate, &[key.to_owned()]).await?;
            } else {
                ks.set_deadline(&gate, key, at).await?;
            }
        }
    }
    drop(gate);
    match (options.get, old, proceed) {
        (true, Some(b), _) => encode::bulk(out, &b.to_redis_bytes()),
        (true, None, _) | (false, _, false) => encode::nil(out),
        (false, _, true) => encode::ok(out),
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<SetOptions, String> {
        let mut ranges = Vec::new();
        let mut pos = 0;
        for word in line.split(' ') {
            ranges.push(pos..pos + word.len());
            pos += word.len() + 1;
        }
        set_options(Args::new(line.as_bytes(), &ranges)).map_err(|e| e.to_string())
    }

    #[test]
    fn options_follow_redis() {
        assert!(parse("SET k v NX GET").is_ok_and(|o| o.nx && o.get));
        assert!(parse("SET k v NX XX").is_err());
        assert!(parse("SET k v EX 10 PX 5").is_err());
        assert!(parse("SET k v KEEPTTL EX 5").is_err());
        assert!(parse("SET k v EX").is_err());
        assert!(parse("SET k v px 5").is_ok_and(|o| o.expire == Some((Expire::Px, 4))));
        assert!(parse("SET k v FOO").is_err());
    }
}
