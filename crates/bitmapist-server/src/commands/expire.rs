//! Expiry commands: `EXPIRE`, `PEXPIRE`, `EXPIREAT`, `PEXPIREAT` (with Redis 7's NX, XX, GT,
//! LT), `TTL`, `PTTL`, `EXPIRETIME`, `PEXPIRETIME`, `PERSIST`, with Redis 7.0's replies.

use super::{Command, Ctx, Flow, Outcome};
use crate::args::Args;
use crate::error::CommandError;
use crate::expiry::now_ms;
use crate::resp::encode;

/// Which of the four TTL questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlKind {
    /// `TTL`: seconds left, rounded.
    Seconds,
    /// `PTTL`: milliseconds left.
    Millis,
    /// `EXPIRETIME`: the deadline in Unix seconds.
    AtSeconds,
    /// `PEXPIRETIME`: the deadline in Unix milliseconds.
    AtMillis,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `TTL`, `PTTL`, `EXPIRETIME`, `PEXPIRETIME`: -2 for a missing key, -1 without a deadline.
pub async fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>, kind: TtlKind) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let (exists, deadline) = {
        let _gate = ctx.shared_for(key).await?;
        (ks.store().exists(key)?, ks.expiry().get(key))
    };
    let reply = match (exists, deadline) {
        (false, _) => -2,
        (true, None) => -1,
        (true, Some(at)) => {
            let left = to_i64(at.saturating_sub(now_ms()));
            match kind {
                TtlKind::Seconds => (left + 500) / 1000,
                TtlKind::Millis => left,
                TtlKind::AtSeconds => to_i64(at / 1000),
                TtlKind::AtMillis => to_i64(at),
            }
        }
    };
    encode::int(out, reply);
    Ok(Flow::Continue)
}

/// The NX/XX/GT/LT flags of the expire commands.
#[derive(Debug, Default)]
struct Flags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn flags(args: Args<'_>) -> Result<Flags, CommandError> {
    let mut f = Flags::default();
    for (i, opt) in args.from(3).enumerate() {
        let j = i + 3;
        if args.is(j, "nx") {
            f.nx = true;
        } else if args.is(j, "xx") {
            f.xx = true;
        } else if args.is(j, "gt") {
            f.gt = true;
        } else if args.is(j, "lt") {
            f.lt = true;
        } else {
            return Err(CommandError::reply(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CommandError::reply(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CommandError::reply(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// `EXPIRE key seconds [NX|XX|GT|LT]` and its three siblings: `unit_ms` is 1000 for
/// seconds, `absolute` for the `...AT` forms. A deadline already past deletes the key.
pub async fn expire(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    out: &mut Vec<u8>,
    command: Command,
    absolute: bool,
    unit_ms: i64,
) -> Outcome {
    let f = flags(args)?;
    let invalid = || {
        CommandError::reply(format!(
            "ERR invalid expire time in '{}' command",
            command.name()
        ))
    };
    let when = args.int(2)?;
    let when = when.checked_mul(unit_ms).ok_or_else(invalid)?;
    let base = if absolute { 0 } else { to_i64(now_ms()) };
    let when = when.checked_add(base).ok_or_else(invalid)?;
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let gate = ctx.exclusive().await?;
    if !ks.store().exists(key)? {
        drop(gate);
        encode::int(out, 0);
        return Ok(Flow::Continue);
    }
    let current = ks.expiry().get(key).map(to_i64);
    let refused = (f.nx && current.is_some())
        || (f.xx && current.is_none())
        || (f.gt && current.is_none_or(|c| when <= c))
        || (f.lt && current.is_some_and(|c| when >= c));
    if refused {
        drop(gate);
        encode::int(out, 0);
        return Ok(Flow::Continue);
    }
    if when <= to_i64(now_ms()) {
        ks.delete(&gate, &[key.to_owned()]).await?;
    } else {
        let at = u64::try_from(when).map_err(|_| invalid())?;
        ks.set_deadline(&gate, key, at).await?;
    }
    drop(gate);
    encode::int(out, 1);
    Ok(Flow::Continue)
}

/// `PERSIST key`: 1 when a deadline was removed.
pub async fn persist(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let removed = {
        let gate = ctx.exclusive().await?;
        ks.store().exists(key)? && ks.persist(&gate, key).await?
    };
    encode::int(out, i64::from(removed));
    Ok(Flow::Continue)
}
