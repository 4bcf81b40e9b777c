//! The bytes of one stored bitmap: a version byte, the Redis length, the roaring bitmap,
//! either whole (inline) or as a header whose body lies in page-sized chunk rows.
//!
//! ```text
//! inline (VALUE_INLINE = 1), small bitmaps and files written before format 2:
//! offset 0      1 byte   VALUE_INLINE
//! offset 1      4 bytes  Redis byte length, little-endian (Bitmap::byte_len)
//! offset 5      ...      RoaringBitmap portable serialization (RoaringFormatSpec)
//!
//! chunked (VALUE_CHUNKED = 2), bitmaps with rows elsewhere (see rows.rs):
//! offset 0      1 byte   VALUE_CHUNKED
//! offset 1      4 bytes  Redis byte length, little-endian
//! offset 5      4 bytes  total length T of the roaring serialization, little-endian
//! offset 9      4 bytes  full-page chunk count N, little-endian
//! offset 13     4 bytes  full-page chunk length C, little-endian (> 0 when N > 0)
//! offset 17     1 byte   parts mask: bit j-1 set = one row in the 1/2^j-page table (j=1..3)
//! offset 18     ...      the tail: the last bytes of the serialization
//! the serialization is chunk 0 .. chunk N-1 (each exactly C bytes), then the half-,
//! quarter- and eighth-page rows named by the mask, in that order, then the tail: T bytes.
//! ```
//!
//! Invariants of a well-formed value, all checked by [`parse`] and [`decode_roaring`]:
//! - it is at least its header long and starts with a known version byte;
//! - `0 < byte_len <= MAX_BYTE_LEN` (a stored key always exists, so it has a length);
//! - the roaring part deserializes (with validation) and is followed by nothing;
//! - every set bit lies below `byte_len * 8`.
//!
//! Anything else is [`Error::CorruptBitmap`] naming the key; decoding never panics. A
//! restricted read (`partial.rs`) checks the roaring header and the containers it reads,
//! not the others.
//!
//! The roaring part is written after `RoaringBitmap::optimize` (run containers wherever
//! they are smaller): its length is the bitmap's *serialized roaring size*, the baseline
//! the file size is measured against (see `compact.rs`).

use roaring::RoaringBitmap;

use crate::bitmap::{Bitmap, MAX_BYTE_LEN};
use crate::error::{Error, Result};

/// The version byte of an inline value.
pub(super) const VALUE_INLINE: u8 = 1;

/// The version byte of a chunked value's header.
pub(super) const VALUE_CHUNKED: u8 = 2;

/// Bytes before the roaring serialization of an inline value: version byte and length.
pub(super) const HEADER_LEN: usize = 5;

/// Bytes before the tail of a chunked value.
pub(super) const CHUNKED_HEADER_LEN: usize = 18;

/// The largest roaring serialization a header may announce: 65,536 bitmap containers and
/// their descriptions (anything larger is corrupt).
pub(super) const MAX_ROARING_LEN: u64 = 65_536 * (8_192 + 16) + 8 + 8_192;

/// What one value of the bitmaps table says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stored<'v> {
    /// The whole serialization is here.
    Inline {
        /// The Redis length in bytes.
        byte_len: u32,
        /// The roaring serialization.
        roaring: &'v [u8],
    },
    /// `chunks` chunk rows of `chunk_len` bytes, the part rows of `parts`, then `tail`.
    Chunked {
        /// The Redis length in bytes.
        byte_len: u32,
        /// The length of the whole serialization.
        total: u32,
        /// How many full-page chunk rows.
        chunks: u32,
        /// The length of every full-page chunk row.
        chunk_len: u32,
        /// Which part rows exist (bit j-1: the 1/2^j-page row).
        parts: u8,
        /// The last bytes of the serialization.
        tail: &'v [u8],
    },
}

impl Stored<'_> {
    /// The length of the roaring serialization the value stands for.
    pub(super) fn roaring_len(&self) -> u64 {
        match self {
            Stored::Inline { roaring, .. } => roaring.len() as u64,
            Stored::Chunked { total, .. } => u64::from(*total),
        }
    }
}

/// Run-optimizes `bitmap` in place (see the module docs); its bits do not change.
pub(super) fn optimize(bitmap: &mut Bitmap) {
    let byte_len = bitmap.byte_len();
    let mut bits = std::mem::take(bitmap).into_bits();
    bits.optimize();
    *bitmap = Bitmap::with_byte_len(bits, byte_len);
}

/// Writes the roaring serialization of `bitmap` into `out`, replacing what was there.
pub(super) fn serialize_into(key: &str, bitmap: &Bitmap, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    out.reserve(bitmap.bits().serialized_size());
    // Writing into a Vec does not fail; the error path exists only to avoid a panic path.
    bitmap
        .bits()
        .serialize_into(&mut *out)
        .map_err(|source| Error::Io {
            context: format!("serializing the bitmap under key {key:?}"),
            source,
        })
}

/// Writes an inline value into `out`, replacing what was there.
pub(super) fn inline_into(byte_len: u32, roaring: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(HEADER_LEN + roaring.len());
    out.push(VALUE_INLINE);
    out.extend_from_slice(&byte_len.to_le_bytes());
    out.extend_from_slice(roaring);
}

/// The fields of a chunked header besides its tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ChunkedHeader {
    /// The Redis length in bytes.
    pub byte_len: u32,
    /// The length of the whole serialization.
    pub total: u32,
    /// How many full-page chunk rows.
    pub chunks: u32,
    /// Their length.
    pub chunk_len: u32,
    /// Which part rows exist.
    pub parts: u8,
}

/// Writes a chunked value's header (with its tail) into `out`, replacing what was there.
pub(super) fn chunked_into(h: ChunkedHeader, tail: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(CHUNKED_HEADER_LEN + tail.len());
    out.push(VALUE_CHUNKED);
    out.extend_from_slice(&h.byte_len.to_le_bytes());
    out.extend_from_slice(&h.total.to_le_bytes());
    out.extend_from_slice(&h.chunks.to_le_bytes());
    out.extend_from_slice(&h.chunk_len.to_le_bytes());
    out.push(h.parts);
    out.extend_from_slice(tail);
}

/// The inline value for `bitmap` (not optimized), in a fresh buffer.
#[cfg(test)]
pub(super) fn encode(bitmap: &Bitmap) -> Vec<u8> {
    let mut roaring = Vec::new();
    serialize_into("test", bitmap, &mut roaring).unwrap();
    let mut out = Vec::new();
    inline_into(bitmap.byte_len(), &roaring, &mut out);
    out
}

pub(super) fn corrupt(key: &str, reason: impl Into<String>) -> Error {
    Error::CorruptBitmap {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn u32_at(key: &str, bytes: &[u8], at: usize) -> Result<u32> {
    let field: [u8; 4] = bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            corrupt(
                key,
                format!("value of {} bytes is shorter than its header", bytes.len()),
            )
        })?;
    Ok(u32::from_le_bytes(field))
}

/// Reads the header of a value of the bitmaps table; [`Error::CorruptBitmap`] naming `key`
/// when it is malformed.
pub(super) fn parse<'v>(key: &str, bytes: &'v [u8]) -> Result<Stored<'v>> {
    let Some(&version) = bytes.first() else {
        return Err(corrupt(key, "empty value"));
    };
    if version != VALUE_INLINE && version != VALUE_CHUNKED {
        return Err(corrupt(
            key,
            format!(
                "unknown value format version {version} (this bitmapist reads versions {VALUE_INLINE} and {VALUE_CHUNKED})"
            ),
        ));
    }
    let byte_len = u32_at(key, bytes, 1)?;
    if byte_len == 0 || u64::from(byte_len) > MAX_BYTE_LEN {
        return Err(corrupt(
            key,
            format!("stored length {byte_len} is outside 1..={MAX_BYTE_LEN}"),
        ));
    }
    if version == VALUE_INLINE {
        return Ok(Stored::Inline {
            byte_len,
            roaring: &bytes[HEADER_LEN..],
        });
    }
    let total = u32_at(key, bytes, 5)?;
    let chunks = u32_at(key, bytes, 9)?;
    let chunk_len = u32_at(key, bytes, 13)?;
    let Some(&parts) = bytes.get(17) else {
        return Err(corrupt(
            key,
            format!("value of {} bytes is shorter than its header", bytes.len()),
        ));
    };
    let tail = &bytes[CHUNKED_HEADER_LEN..];
    let full = u64::from(chunks) * u64::from(chunk_len);
    if (chunks > 0 && chunk_len == 0)
        || parts > 0b111
        || u64::from(total) > MAX_ROARING_LEN
        || full + tail.len() as u64 > u64::from(total)
    {
        return Err(corrupt(
            key,
            format!(
                "malformed chunk header: {total} bytes as {chunks} chunks of {chunk_len}, parts {parts:#b}, a tail of {}",
                tail.len()
            ),
        ));
    }
    Ok(Stored::Chunked {
        byte_len,
        total,
        chunks,
        chunk_len,
        parts,
        tail,
    })
}

/// Deserializes (with validation) a roaring serialization stored under `key` with Redis
/// length `byte_len`.
pub(super) fn decode_roaring(key: &str, byte_len: u32, mut body: &[u8]) -> Result<Bitmap> {
    let bits = RoaringBitmap::deserialize_from(&mut body)
        .map_err(|e| corrupt(key, format!("bad roaring serialization: {e}")))?;
    if !body.is_empty() {
        return Err(corrupt(
            key,
            format!("{} unexpected bytes after the bitmap", body.len()),
        ));
    }
    if bits.max().is_some_and(|max| max / 8 >= byte_len) {
        return Err(corrupt(
            key,
            format!("a set bit lies beyond the stored length of {byte_len} bytes"),
        ));
    }
    Ok(Bitmap::with_byte_len(bits, byte_len))
}

/// Reads an inline value; [`Error::CorruptBitmap`] naming `key` otherwise (a chunked
/// header is read by `rows.rs`, which has its chunks).
#[cfg(test)]
pub(super) fn decode(key: &str, bytes: &[u8]) -> Result<Bitmap> {
    match parse(key, bytes)? {
        Stored::Inline { byte_len, roaring } => decode_roaring(key, byte_len, roaring),
        Stored::Chunked { .. } => Err(corrupt(key, "chunked value without its chunks")),
    }
}

/// A restricted read of an inline value (`partial.rs`; tests).
#[cfg(test)]
pub(super) fn decode_within(key: &str, bytes: &[u8], within: &Bitmap) -> Result<Bitmap> {
    match parse(key, bytes)? {
        Stored::Inline { byte_len, roaring } => super::partial::decode_within(
            key,
            byte_len,
            &mut super::partial::InMemory(roaring),
            within,
            &mut Vec::new(),
        ),
        Stored::Chunked { .. } => Err(corrupt(key, "chunked value without its chunks")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_within_is_decode_and_within() {
        // Array, bitmap and run containers, with and without roaring's offset header.
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..40u32 {
            let containers = 1 + round % 9;
            let mut bits = roaring::RoaringBitmap::new();
            let mut within = roaring::RoaringBitmap::new();
            for c in 0..containers {
                let base = c * 65_536 * (1 + round % 3);
                let dense = next() % 3;
                for _ in 0..(if dense == 0 { 9_000 } else { 300 }) {
                    bits.insert(base + (next() % 65_536) as u32);
                }
                if dense == 2 {
                    bits.insert_range(base + 100..base + 5_000);
                }
                if next() % 2 == 0 {
                    for _ in 0..500 {
                        within.insert(base + (next() % 65_536) as u32);
                    }
                }
            }
            if round % 2 == 0 {
                bits.optimize();
            }
            let bitmap = Bitmap::with_byte_len(bits.clone(), 40_000_000);
            let value = encode(&bitmap);
            let within = Bitmap::from_bits(within);
            let got = decode_within("k", &value, &within).unwrap();
            let want = Bitmap::with_byte_len(&bits & within.bits(), 40_000_000);
            assert_eq!(got, want, "round {round}");
        }
        assert!(decode_within("k", &[2, 1, 0, 0, 0], &Bitmap::new()).is_err());
        assert!(decode_within("k", &[1, 1, 0, 0, 0, 9, 9], &Bitmap::new()).is_err());
    }

    fn sample() -> Bitmap {
        let mut b: Bitmap = [1u32, 7, 100_000, 100_001].into_iter().collect();
        b.set(2_000_000, false); // a cleared bit still extends the length
        b
    }

    #[test]
    fn round_trip_keeps_bits_and_length() {
        for b in [sample(), [0u32].into_iter().collect(), {
            let mut top = Bitmap::new();
            top.set(u32::MAX, true);
            top
        }] {
            let back = decode("k", &encode(&b)).unwrap();
            assert_eq!(back, b);
            assert_eq!(back.byte_len(), b.byte_len());
        }
        assert_eq!(sample().byte_len(), 250_001);
    }

    #[test]
    fn header_layout() {
        let bytes = encode(&sample());
        assert_eq!(bytes[0], VALUE_INLINE);
        assert_eq!(&bytes[1..5], &250_001u32.to_le_bytes());
        let mut chunked = Vec::new();
        let h = ChunkedHeader {
            byte_len: 9,
            total: 14_100,
            chunks: 3,
            chunk_len: 4000,
            parts: 0b101,
        };
        chunked_into(h, b"xy", &mut chunked);
        assert_eq!(
            parse("k", &chunked).unwrap(),
            Stored::Chunked {
                byte_len: 9,
                total: 14_100,
                chunks: 3,
                chunk_len: 4000,
                parts: 0b101,
                tail: b"xy"
            }
        );
        assert_eq!(parse("k", &chunked).unwrap().roaring_len(), 14_100);
    }

    #[test]
    fn optimize_keeps_bits_and_shrinks_runs() {
        let mut b = Bitmap::with_byte_len((0..200_000u32).collect(), 30_000);
        let before = b.clone();
        let plain = b.bits().serialized_size();
        optimize(&mut b);
        assert_eq!(b, before);
        assert_eq!(b.byte_len(), 30_000);
        assert!(
            b.bits().serialized_size() * 100 < plain,
            "runs are far smaller"
        );
    }

    fn reason(bytes: &[u8]) -> String {
        match decode("the/key", bytes) {
            Err(Error::CorruptBitmap { key, reason }) => {
                assert_eq!(key, "the/key");
                reason
            }
            other => panic!("expected CorruptBitmap, got {other:?}"),
        }
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let good = encode(&sample());
        assert!(reason(&[]).contains("empty"));
        assert!(reason(&[3, 1, 0, 0, 0]).contains("version 3"));
        assert!(reason(&[1, 1, 0]).contains("shorter"));
        assert!(reason(&[1, 0, 0, 0, 0]).contains("length"));
        assert!(reason(b"\x01\x01\x00\x00\x00garbage!").contains("roaring"));
        assert!(reason(&[2, 1, 0, 0, 0, 1, 0, 0]).contains("shorter"));
        assert!(reason(&[2, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]).contains("shorter"));
        // One chunk of length 0; parts beyond the mask; more than the total.
        let header = |chunks: u8, len: u8, parts: u8, tail: &[u8]| {
            let mut v = vec![
                2, 1, 0, 0, 0, 9, 0, 0, 0, chunks, 0, 0, 0, len, 0, 0, 0, parts,
            ];
            v.extend_from_slice(tail);
            v
        };
        assert!(reason(&header(1, 0, 0, b"")).contains("chunk header"));
        assert!(reason(&header(0, 0, 8, b"")).contains("chunk header"));
        assert!(reason(&header(2, 5, 0, b"")).contains("chunk header"));
        assert!(reason(&header(0, 0, 0, b"0123456789")).contains("chunk header"));
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(reason(&trailing).contains("unexpected"));
        let mut short = good.clone();
        short[1..5].copy_from_slice(&1u32.to_le_bytes());
        assert!(reason(&short).contains("beyond"));
        for cut in 0..good.len() {
            assert!(decode("k", &good[..cut]).is_err());
        }
        // Flipping any byte gives an error or some valid bitmap, never a panic.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0xA5;
            let _ = decode("k", &bad);
        }
    }
}
