//! Bit commands: `SETBIT`, `GETBIT`, `BITCOUNT` (byte or bit ranges) and `BITOP`.
//! Arguments are checked in Redis 7.0's order, so errors match it exactly.

use bitmapist::Bitmap;
use bitmapist::Store;
use roaring::{MultiOps, RoaringBitmap};

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
    let (key, offset, value) = setbit_args(args)?;
    let _gate = ctx.shared_for(key).await?;
    setbit_under_gate(ctx, key, offset, value, out)
}

/// `SETBIT` without waiting: `None` (nothing done) when the shared gate is not free at
/// once or `key` is past its deadline; [`setbit`] then runs it.
pub fn setbit_now(ctx: &Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Option<Outcome> {
    let (key, offset, value) = match setbit_args(args) {
        Ok(parsed) => parsed,
        Err(e) => return Some(Err(e)),
    };
    let _gate = ctx.server.keyspace.try_shared_for(key)?;
    Some(setbit_under_gate(ctx, key, offset, value, out))
}

/// `SETBIT`'s key, offset and bit, checked in Redis's order.
fn setbit_args(args: Args<'_>) -> Result<(&str, u32, bool), CommandError> {
    let offset = offset(args.get(2))?;
    let value = match parse_i64(args.get(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CommandError::BAD_BIT),
    };
    Ok((args.key(1)?, offset, value))
}

fn setbit_under_gate(
    ctx: &Ctx<'_>,
    key: &str,
    offset: u32,
    value: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let previous = ctx.server.keyspace.store().set_bit(key, offset, value)?;
    encode::int(out, i64::from(previous));
    Ok(Flow::Continue)
}

/// `GETBIT key offset`.
pub async fn getbit(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let offset = offset(args.get(2))?;
    let key = args.key(1)?;
    let _gate = ctx.shared_for(key).await?;
    getbit_under_gate(ctx, key, offset, out)
}

/// `GETBIT` without waiting (see [`setbit_now`]).
pub fn getbit_now(ctx: &Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Option<Outcome> {
    let parsed = offset(args.get(2)).and_then(|o| Ok((o, args.key(1)?)));
    let (offset, key) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return Some(Err(e)),
    };
    let _gate = ctx.server.keyspace.try_shared_for(key)?;
    Some(getbit_under_gate(ctx, key, offset, out))
}

fn getbit_under_gate(ctx: &Ctx<'_>, key: &str, offset: u32, out: &mut Vec<u8>) -> Outcome {
    let bit = ctx
        .server
        .keyspace
        .store()
        .read(key, |b| b.contains(offset))?;
    ctx.server.stats.count_lookup(bit.is_some());
    encode::int(out, i64::from(bit.unwrap_or(false)));
    Ok(Flow::Continue)
}

/// `BITCOUNT key [start end [BYTE|BIT]]`: Redis 7.0 looks the key up first (a missing key
/// counts 0 whatever the other arguments), then reads the range.
pub async fn bitcount(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let key = args.key(1)?;
    let _gate = ctx.shared_for(key).await?;
    bitcount_under_gate(ctx, key, args, out)
}

/// `BITCOUNT` without waiting (see [`setbit_now`]).
pub fn bitcount_now(ctx: &Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Option<Outcome> {
    let key = match args.key(1) {
        Ok(key) => key,
        Err(e) => return Some(Err(e)),
    };
    let _gate = ctx.server.keyspace.try_shared_for(key)?;
    Some(bitcount_under_gate(ctx, key, args, out))
}

fn bitcount_under_gate(ctx: &Ctx<'_>, key: &str, args: Args<'_>, out: &mut Vec<u8>) -> Outcome {
    let ks = &ctx.server.keyspace;
    let count = ks.store().read(key, |b| count_range(b, args))?;
    ctx.server.stats.count_lookup(count.is_some());
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
    let run = |srcs: &[Option<&Bitmap>]| compute_beside_others(op, srcs);
    let len = if let Some(gate) = ctx.held {
        // Inside EXEC: the transaction holds the exclusive gate.
        ks.expire_due(gate).await?;
        bitop_exclusive(ks, gate, dest, &sources, run).await?
    } else {
        let mut keys = sources.clone();
        keys.push(dest);
        let shared = ks.shared_for_keys(&keys).await?;
        if ks.expiry().get(dest).is_none() {
            // The common case: no deadline to clear, so the shared gate suffices (see the
            // keyspace's module docs); other commands go on while this one computes.
            let len = ks.store().compute_into(dest, &sources, run)?;
            drop(shared);
            len
        } else {
            drop(shared);
            let gate = ctx.exclusive().await?;
            bitop_exclusive(ks, &gate, dest, &sources, run).await?
        }
    };
    encode::int(out, i64::from(len));
    Ok(Flow::Continue)
}

/// `BITOP` under the exclusive gate: stores the result and removes `dest`'s deadline
/// (committing the store first, as the keyspace's module docs require).
async fn bitop_exclusive(
    ks: &crate::keyspace::Keyspace,
    gate: &crate::keyspace::ExclusiveGate<'_>,
    dest: &str,
    sources: &[&str],
    run: impl Fn(&[Option<&Bitmap>]) -> Bitmap,
) -> Result<u32, CommandError> {
    let len = ks.store().compute_into(dest, sources, run)?;
    if ks.expiry().get(dest).is_some() {
        ks.store().flush().await?;
        ks.persist(gate, dest).await?;
    }
    Ok(len)
}

/// Operands whose serialized sizes add up to more than this are combined with the worker
/// thread handed over to the other connections first (about 512 full 8 KiB containers:
/// a millisecond or more of work; the hand-over costs a thread wake-up, tens of
/// microseconds).
const LARGE_OPERANDS: usize = 4 << 20;

/// [`compute`], on a thread of its own when the operands are large
/// ([`LARGE_OPERANDS`]): with few worker threads (the default is one per two cores) a long
/// `BITOP` would otherwise hold up every connection served by the same worker. Small ones
/// (the usual case: a cohort cell) run in place, which is cheaper than any hand-over.
fn compute_beside_others(op: Op, sources: &[Option<&Bitmap>]) -> Bitmap {
    let size: usize = sources
        .iter()
        .flatten()
        .map(|b| b.bits().serialized_size())
        .sum();
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if size > LARGE_OPERANDS && multi_thread {
        tokio::task::block_in_place(|| compute(op, sources))
    } else {
        compute(op, sources)
    }
}

/// The result of `BITOP op` on `sources` (`None`: a missing key, a string of length 0),
/// computed from borrowed bitmaps: its length is the longest source's, `AND` starts from
/// the smallest source and stops once empty, `OR` and `XOR` use roaring's multi-way
/// operations.
fn compute(op: Op, sources: &[Option<&Bitmap>]) -> Bitmap {
    let byte_len = sources
        .iter()
        .flatten()
        .map(|b| b.byte_len())
        .max()
        .unwrap_or(0);
    let bits = match op {
        Op::Not => {
            return sources
                .first()
                .copied()
                .flatten()
                .map_or_else(Bitmap::new, Bitmap::not);
        }
        Op::And => {
            let mut present = Vec::with_capacity(sources.len());
            for source in sources {
                match source {
                    Some(b) => present.push(b.bits()),
                    // A missing key is all zeros: so is the result.
                    None => return Bitmap::with_byte_len(RoaringBitmap::new(), byte_len),
                }
            }
            present.sort_by_key(|b| b.len());
            let mut present = present.into_iter();
            let mut acc = present.next().cloned().unwrap_or_default();
            for b in present {
                if acc.is_empty() {
                    break;
                }
                acc &= b;
            }
            acc
        }
        Op::Or => sources.iter().flatten().map(|b| b.bits()).union(),
        Op::Xor => sources
            .iter()
            .flatten()
            .map(|b| b.bits())
            .symmetric_difference(),
    };
    Bitmap::with_byte_len(bits, byte_len)
}
