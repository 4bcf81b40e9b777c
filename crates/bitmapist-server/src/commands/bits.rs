//! Bit commands: `SETBIT`, `GETBIT`, `BITCOUNT` (byte or bit ranges) and `BITOP`.
//! Arguments are checked in Redis 7.0's order, so errors match it exactly.

use bitmapist::Bitmap;

use super::{Ctx, Flow, Outcome};
use crate::args::{Args, parse_i64};
use crate::error::CommandError;
use crate::resp::encode;

/// A bit offset: 0..=2^32-1, as Redis's `getBitOffsetFromArgument` allows for SETBIT.
fn offset(arg: &[u8]) -> Result<u32, CommandError> {
    parse_i64(arg)
        .and_then(|o| u32::try_from(o).ok())
        .ok_or(CommandError::BAD_OFFSET)
}

/// `SETBIT key offset 0|1`: the previous bit.
pub async fn setbit(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let offset = offset(args.get(2))?;
    let value = match parse_i64(args.get(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CommandError::BAD_BIT),
    };
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let _gate = ctx.shared_for(key).await?;
    let previous = ks.store().set_bit(key, offset, value)?;
    encode::int(out, i64::from(previous));
    Ok(Flow::Continue)
}

/// `GETBIT key offset`.
pub async fn getbit(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let offset = offset(args.get(2))?;
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let _gate = ctx.shared_for(key).await?;
    let bit = ks.store().read(key, |b| b.contains(offset))?;
    encode::int(out, i64::from(bit.unwrap_or(false)));
    Ok(Flow::Continue)
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: Redis 7.0 looks the key up first (a missing key
/// counts 0 whatever the other arguments), then reads the range.
pub async fn bitcount(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let ks = &ctx.server.keyspace;
    let _gate = ctx.shared_for(key).await?;
    let count = ks.store().read(key, |b| count_range(b, args))?;
    encode::count(out, count.transpose()?.unwrap_or(0));
    Ok(Flow::Continue)
}

/// The bits of `b` that `BITCOUNT`'s range arguments select.
fn count_range(b: &Bitmap, args: Args<'_>) -> Result<u64, CommandError> {
    match args.len() {
        2 => Ok(b.count()),
        4 | 5 => {
            let mut start = args.int(2)?;
            let mut end = args.int(3)?;
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            let in_bits = match args.len() {
                5 if args.is(4, "bit") => true,
                5 if args.is(4, "byte") => false,
                5 => return Err(CommandError::SYNTAX),
                _ => false,
            };
            let mut total = i64::from(b.byte_len());
            if in_bits {
                total *= 8;
            }
            if start < 0 {
                start = start.saturating_add(total);
            }
            if end < 0 {
                end = end.saturating_add(total);
            }
            let start = start.max(0);
            let end = end.max(0).min(total - 1);
            if start > end {
                return Ok(0);
            }
            let (first, last) = if in_bits {
                (start, end)
            } else {
                (start * 8, end * 8 + 7)
            };
            // 0 <= first <= last < byte_len * 8 <= 2^32.
            let (Ok(first), Ok(last)) = (u32::try_from(first), u32::try_from(last)) else {
                return Ok(0);
            };
            Ok(b.bits().range_cardinality(first..=last))
        }
        _ => Err(CommandError::SYNTAX),
    }
}

/// The four `BITOP` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Xor,
    Not,
}

/// `BITOP AND|OR|XOR|NOT dest src...`: the length of the result in bytes (the longest
/// source); a result of length 0 (every source missing) deletes `dest`, as Redis does.
pub async fn bitop(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let op = if args.is(1, "and") {
        Op::And
    } else if args.is(1, "or") {
        Op::Or
    } else if args.is(1, "xor") {
        Op::Xor
    } else if args.is(1, "not") {
        Op::Not
    } else {
        return Err(CommandError::SYNTAX);
    };
    if op == Op::Not && args.len() != 4 {
        return Err(CommandError::reply(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = args.key(2)?;
    let sources = args
        .from(3)
        .map(crate::args::key)
        .collect::<Result<Vec<&str>, _>>()?;
    let ks = &ctx.server.keyspace;
    let gate = ctx.exclusive().await?;
    let mut operands = Vec::with_capacity(sources.len());
    for key in sources {
        operands.push(ks.store().read(key, Bitmap::clone)?.unwrap_or_default());
    }
    let mut operands = operands.into_iter();
    let mut result = operands.next().unwrap_or_default();
    match op {
        Op::Not => result = result.not(),
        Op::And => operands.for_each(|b| result.and_assign(&b)),
        Op::Or => operands.for_each(|b| result.or_assign(&b)),
        Op::Xor => operands.for_each(|b| result.xor_assign(&b)),
    }
    let len = result.byte_len();
    if len == 0 {
        if ks.store().exists(dest)? {
            ks.delete(&gate, &[dest.to_owned()]).await?;
        }
    } else {
        ks.put(&gate, dest, result, false).await?;
    }
    encode::int(out, i64::from(len));
    Ok(Flow::Continue)
}
