//! Whole bitmaps handed over a span of roaring containers at a time
//! ([`Store::get_serialized_spans`](crate::Store::get_serialized_spans)), for the
//! computations that take many whole bitmaps apart container by container (trends,
//! stickiness).
//!
//! # Why
//!
//! Trends on a 90-day range with the previous one beside it read 209 day bitmaps: 260 MB of
//! serialization at ten million users, 1.3 GB at fifty million. Gathered whole, every byte
//! went into freshly allocated memory (a page fault per 4 KiB, half of the time spent in
//! the kernel) and was copied twice more before it was counted, long after it had left the
//! CPU's caches. The count itself needs all bitmaps at once, but only one container key at
//! a time.
//!
//! # How
//!
//! 1. The keys of every bitmap's containers are read from the roaring headers alone
//!    (`partial::keys_of`; a chunked value's first row or two).
//! 2. Their union is cut into spans of [`SPAN_KEYS`] consecutive container keys.
//! 3. Up to [`READ_THREADS`](super::READ_THREADS) threads each take a share of the spans,
//!    with their own read transaction and one buffer per bitmap, reused from span to span:
//!    for each span, every bitmap's containers in it are written into its buffer as a
//!    serialization of their own (`partial::span_of`: the header rows and the rows holding
//!    those containers, one range scan), and the visitor counts them while they are still
//!    in the cache that read them.
//!
//! # Memory
//!
//! Per thread, one span of every bitmap: 209 days x 16 full containers is 27 MB, whatever
//! the number of users; a cached bitmap is serialized whole once.
//!
//! # Invariants
//!
//! - The spans are disjoint, ascending within each thread, and cover every container of
//!   every bitmap exactly once; a bitmap without containers in a span (or missing) is
//!   handed over empty.
//! - Each thread reads in its own read transaction, all of one commit: the writable store
//!   holds off commits for the whole walk (its flush lock), and a read-only handle sees one
//!   snapshot. So the versions read before the walk name what it reads (see `versions.rs`).
//! - Nothing read is cached, and nothing is decoded here.
//!
//! # What a crash can lose
//!
//! Nothing: this module only reads.

use std::ops::RangeInclusive;
use std::path::Path;

use super::READ_THREADS;
use super::partial::{self, InMemory};
use super::rows::ReadTables;
use crate::error::Result;
use crate::store::SpanVisitors;

/// Container keys per span: 16 full containers are 128 KiB per bitmap.
pub(super) const SPAN_KEYS: usize = 16;

/// Where one bitmap's serialization lies.
pub(super) enum Held<'a> {
    /// Nowhere: the key is missing (or deleted and not yet committed).
    Missing,
    /// In memory: a cached bitmap, serialized.
    Memory(&'a [u8]),
    /// In the file.
    File,
}

/// Hands every span of the keys' containers to a visitor (see the module docs), one
/// visitor per thread made with `visitors`; `open` opens one read transaction's tables
/// (`None`: the file holds no bitmaps). The first error, of a read or of a visitor, is
/// returned.
pub(super) fn walk(
    path: &Path,
    keys: &[String],
    held: &[Held<'_>],
    open: impl Fn() -> Result<Option<ReadTables>> + Sync,
    visitors: &SpanVisitors<'_>,
) -> Result<()> {
    let spans = {
        let tables = open()?;
        let mut all: Vec<u16> = Vec::new();
        for (key, held) in keys.iter().zip(held) {
            match (held, &tables) {
                (Held::Memory(bytes), _) => {
                    all.extend(partial::keys_of(key, &mut InMemory(bytes))?);
                }
                (Held::File, Some(tables)) => all.extend(tables.container_keys(path, key)?),
                _ => {}
            }
        }
        all.sort_unstable();
        all.dedup();
        all.chunks(SPAN_KEYS)
            .map(|c| c[0]..=c[c.len() - 1])
            .collect::<Vec<RangeInclusive<u16>>>()
    };
    if spans.is_empty() {
        // Nothing stored: one empty span, so that the visitor still sees every key.
        return visitors().visit(&vec![&[][..]; keys.len()]);
    }
    let shares = crate::threads::in_shares(&spans, READ_THREADS, |mine| -> Result<()> {
        let tables = open()?;
        let mut visitor = visitors();
        let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); keys.len()];
        for span in mine {
            for ((key, held), out) in keys.iter().zip(held).zip(&mut buffers) {
                match (held, &tables) {
                    (Held::Memory(bytes), _) => {
                        partial::span_of(key, &mut InMemory(bytes), span.clone(), out)?;
                    }
                    (Held::File, Some(tables)) => {
                        tables.load_span(path, key, span.clone(), out)?;
                    }
                    _ => out.clear(),
                }
            }
            let views: Vec<&[u8]> = buffers.iter().map(Vec::as_slice).collect();
            visitor.visit(&views)?;
        }
        Ok(())
    });
    shares.into_iter().collect()
}
