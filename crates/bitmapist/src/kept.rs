//! Kept counts: counts computed from bitmaps, kept by the store beside them with the
//! versions of the bitmaps they came from ([`Store::versions`](crate::Store::versions)),
//! and used again while those versions are the current ones.
//!
//! **Why.** Trends count unions of 209 day bitmaps (1.3 GB at fifty million users) for
//! every request and after every restart, though a past day's windows change only when one
//! of their days does: a late mark, an unmark, a prune. Counts by a property's values
//! (the overview and the event page broken down) AND every cell with every value, though a
//! past cell's counts change only when the cell or a value does.
//!
//! **How.** A kept count is its inputs' versions and its numbers, in one value under a name
//! the computation chooses, which starts with its first input key ([`name`],
//! [`Store::put_derived`](crate::Store::put_derived)). A reader
//! first asks the store for the inputs' current versions, uses a kept value only when it
//! was computed at exactly those, and computes the rest, keeping them with the versions the
//! read itself reports ([`Store::get_serialized_spans`](crate::Store::get_serialized_spans)).
//!
//! **Invariants.** A version names one content of a key for the store's life, and 0 an
//! absent key, so equal versions mean equal inputs and a kept value is exact. Nothing is
//! kept from an input without a version (a store that has none, a key with uncommitted
//! changes). An encoding this code does not read is not an error: the count is computed
//! again.
//!
//! **What a crash can lose.** Kept values not yet on disk: they are computed again.

/// The name of a kept value: the first key it is computed from, U+001F, then what it is
/// (`trends`, `count`, and what sets it apart). A store that removes a key drops the values
/// named after it ([`Store::put_derived`](crate::Store::put_derived)).
pub(crate) fn name(first_key: &str, what: &str) -> String {
    format!("{first_key}\u{1f}{what}")
}

/// The encoding of a kept value: this byte, the number of inputs (u32), their versions
/// (u64 each), then the counts (u64 each), little-endian.
const ENCODING: u8 = 1;

/// The value to keep for `counts` computed from inputs at `versions`; `None` when an
/// input has no version.
pub(crate) fn encode(versions: &[Option<u64>], counts: &[u64]) -> Option<Vec<u8>> {
    let n = u32::try_from(versions.len()).ok()?;
    let mut out = Vec::with_capacity(5 + 8 * (versions.len() + counts.len()));
    out.push(ENCODING);
    out.extend_from_slice(&n.to_le_bytes());
    for v in versions {
        out.extend_from_slice(&(*v)?.to_le_bytes());
    }
    for c in counts {
        out.extend_from_slice(&c.to_le_bytes());
    }
    Some(out)
}

/// The `n` counts kept in `bytes` when they were computed from inputs at exactly `versions`
/// (every one known); `None` otherwise.
pub(crate) fn decode(bytes: &[u8], versions: &[Option<u64>], n: usize) -> Option<Vec<u64>> {
    let (&encoding, rest) = bytes.split_first()?;
    if encoding != ENCODING {
        return None;
    }
    let (inputs, rest) = rest.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*inputs) as usize != versions.len()
        || rest.len() != 8 * (versions.len() + n)
    {
        return None;
    }
    let mut words = rest
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
    for want in versions {
        if Some(words.next()?) != *want {
            return None;
        }
    }
    Some(words.collect())
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    /// A kept value is used only at exactly its versions, and every input must have one.
    #[test]
    fn kept_counts_match_only_their_versions() {
        let at = [Some(3), Some(0), Some(9)];
        let bytes = encode(&at, &[7, 8]).unwrap();
        assert_eq!(decode(&bytes, &at, 2), Some(vec![7, 8]));
        assert_eq!(decode(&bytes, &[Some(3), Some(0), Some(10)], 2), None);
        assert_eq!(decode(&bytes, &[Some(3), None, Some(9)], 2), None);
        assert_eq!(decode(&bytes, &at[..2], 2), None);
        assert_eq!(decode(&bytes, &at, 3), None);
        assert_eq!(decode(&bytes[..bytes.len() - 1], &at, 2), None);
        assert_eq!(decode(&[], &at, 2), None);
        assert_eq!(encode(&[Some(1), None], &[1]), None);
    }
}
