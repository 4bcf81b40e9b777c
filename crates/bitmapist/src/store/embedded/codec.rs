//! The bytes of one stored bitmap: a version byte, the Redis length, the roaring bitmap.
//!
//! ```text
//! offset 0      1 byte   value format version (VALUE_VERSION = 1)
//! offset 1      4 bytes  Redis byte length, little-endian (Bitmap::byte_len)
//! offset 5      ...      RoaringBitmap portable serialization (RoaringFormatSpec)
//! ```
//!
//! Invariants of a well-formed value, all checked by [`decode`]:
//! - it is at least [`HEADER_LEN`] bytes long and starts with [`VALUE_VERSION`];
//! - `0 < byte_len <= MAX_BYTE_LEN` (a stored key always exists, so it has a length);
//! - the roaring part deserializes (with validation) and is followed by nothing;
//! - every set bit lies below `byte_len * 8`.
//!
//! Anything else is [`Error::CorruptBitmap`] naming the key; decoding never panics.

use roaring::RoaringBitmap;

use crate::bitmap::{Bitmap, MAX_BYTE_LEN};
use crate::error::{Error, Result};

/// The format version of one value (its first byte).
pub(super) const VALUE_VERSION: u8 = 1;

/// Bytes before the roaring serialization: version byte and length.
pub(super) const HEADER_LEN: usize = 5;

/// Writes the value for `bitmap` into `out`, replacing what was there.
pub(super) fn encode_into(key: &str, bitmap: &Bitmap, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    out.reserve(HEADER_LEN + bitmap.bits().serialized_size());
    out.push(VALUE_VERSION);
    out.extend_from_slice(&bitmap.byte_len().to_le_bytes());
    // Writing into a Vec does not fail; the error path exists only to avoid a panic path.
    bitmap
        .bits()
        .serialize_into(&mut *out)
        .map_err(|source| Error::Io {
            context: format!("serializing the bitmap under key {key:?}"),
            source,
        })
}

/// The value for `bitmap`, in a fresh buffer.
#[cfg(test)]
pub(super) fn encode(bitmap: &Bitmap) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into("test", bitmap, &mut out).unwrap_or_else(|e| panic!("{e}"));
    out
}

fn corrupt(key: &str, reason: impl Into<String>) -> Error {
    Error::CorruptBitmap {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// Reads a value written by [`encode_into`]; [`Error::CorruptBitmap`] naming `key` otherwise.
pub(super) fn decode(key: &str, bytes: &[u8]) -> Result<Bitmap> {
    let (byte_len, mut body) = header(key, bytes)?;
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

/// Checks the version byte and the length; returns the length and the roaring part.
fn header<'b>(key: &str, bytes: &'b [u8]) -> Result<(u32, &'b [u8])> {
    let Some((&version, rest)) = bytes.split_first() else {
        return Err(corrupt(key, "empty value"));
    };
    if version != VALUE_VERSION {
        return Err(corrupt(
            key,
            format!(
                "unknown value format version {version} (this bitmapist reads version {VALUE_VERSION})"
            ),
        ));
    }
    let Some((len, body)) = rest.split_at_checked(HEADER_LEN - 1) else {
        return Err(corrupt(
            key,
            format!("value of {} bytes is shorter than its header", bytes.len()),
        ));
    };
    let len: [u8; 4] = len
        .try_into()
        .map_err(|_| corrupt(key, "malformed length"))?;
    let byte_len = u32::from_le_bytes(len);
    if byte_len == 0 || u64::from(byte_len) > MAX_BYTE_LEN {
        return Err(corrupt(
            key,
            format!("stored length {byte_len} is outside 1..={MAX_BYTE_LEN}"),
        ));
    }
    Ok((byte_len, body))
}

/// Reads only the part of a value that `within` touches: `decode(..) AND within`, with the
/// stored length, decoding only the roaring containers `within` has.
///
/// The header is checked as [`decode`] checks it, and the result's bits against the length,
/// but the containers read are not validated (roaring's `intersection_with_serialized_unchecked`):
/// a corrupt container can give wrong bits where `decode` would give an error. Never panics.
pub(super) fn decode_within(key: &str, bytes: &[u8], within: &Bitmap) -> Result<Bitmap> {
    let (byte_len, body) = header(key, bytes)?;
    let bits = within
        .bits()
        .intersection_with_serialized_unchecked(std::io::Cursor::new(body))
        .map_err(|e| corrupt(key, format!("bad roaring serialization: {e}")))?;
    if bits.max().is_some_and(|max| max / 8 >= byte_len) {
        return Err(corrupt(
            key,
            format!("a set bit lies beyond the stored length of {byte_len} bytes"),
        ));
    }
    Ok(Bitmap::with_byte_len(bits, byte_len))
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
            let got = decode_within("k", &value, &within).unwrap_or_else(|e| panic!("{e}"));
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
            let back = decode("k", &encode(&b)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, b);
            assert_eq!(back.byte_len(), b.byte_len());
        }
        assert_eq!(sample().byte_len(), 250_001);
    }

    #[test]
    fn header_layout() {
        let bytes = encode(&sample());
        assert_eq!(bytes[0], VALUE_VERSION);
        assert_eq!(&bytes[1..5], &250_001u32.to_le_bytes());
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
        assert!(reason(&[2, 1, 0, 0, 0]).contains("version 2"));
        assert!(reason(&[1, 1, 0]).contains("shorter"));
        assert!(reason(&[1, 0, 0, 0, 0]).contains("length"));
        assert!(reason(b"\x01\x01\x00\x00\x00garbage!").contains("roaring"));
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
