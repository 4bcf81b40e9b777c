//! A bitmap as Redis sees it: a roaring set of bit offsets plus the string's length in bytes.
//! Conversions to and from Redis bytes (most significant bit first) and Redis `BITOP` semantics.
//!
//! Redis stores a bitmap as a string. `SETBIT key n v` grows the string to at least
//! `n / 8 + 1` bytes, whatever `v` is, and never shrinks it; `BITOP` pads shorter operands
//! with zero bytes and gives its result the length of the longest operand. `BITOP NOT`
//! therefore complements up to that length. [`Bitmap`] keeps that length next to the set
//! bits so that every store, and the in-memory evaluation of expressions, answers exactly
//! what Redis would for the same writes.

use roaring::RoaringBitmap;

/// The largest length of a Redis bitmap in bytes: offsets end at 2^32 - 1.
pub const MAX_BYTE_LEN: u64 = 1 << 29;

/// A set of user ids (bit offsets) with the length, in bytes, of the Redis string holding it.
///
/// Invariant: every set bit lies below `byte_len * 8`.
///
/// ```
/// use bitmapist::Bitmap;
///
/// let mut b = Bitmap::new();
/// b.set(9, true);
/// assert_eq!(b.to_redis_bytes(), vec![0b0000_0000, 0b0100_0000]);
/// let not = b.not();
/// assert_eq!(not.count(), 15); // 2 bytes = 16 bits, one of them set
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitmap {
    bits: RoaringBitmap,
    byte_len: u32,
}

/// Sets bits `first..=last` of `out`, most significant bit first: the partial bytes at
/// either end bit by bit, the bytes between whole.
fn set_bit_run(out: &mut [u8], first: u64, last: u64) {
    let (first_byte, last_byte) = ((first / 8) as usize, (last / 8) as usize);
    let head = 0xFFu8 >> (first % 8);
    let tail = 0xFFu8 << (7 - last % 8);
    if first_byte == last_byte {
        out[first_byte] |= head & tail;
        return;
    }
    out[first_byte] |= head;
    out[first_byte + 1..last_byte].fill(0xFF);
    out[last_byte] |= tail;
}

/// Bytes needed to hold bit `offset`.
fn bytes_for(offset: u32) -> u32 {
    offset / 8 + 1
}

impl Bitmap {
    /// An empty bitmap of length zero (what Redis returns for a missing key).
    pub fn new() -> Self {
        Self::default()
    }

    /// A bitmap of the given set bits, as long as its highest bit needs.
    pub fn from_bits(bits: RoaringBitmap) -> Self {
        let byte_len = bits.max().map_or(0, bytes_for);
        Bitmap { bits, byte_len }
    }

    /// A bitmap with an explicit length in bytes; the length grows if a set bit needs more.
    pub fn with_byte_len(bits: RoaringBitmap, byte_len: u32) -> Self {
        let needed = bits.max().map_or(0, bytes_for);
        Bitmap {
            bits,
            byte_len: byte_len.max(needed),
        }
    }

    /// Sets or clears bit `offset`, as `SETBIT`; returns the bit's previous value.
    /// The length grows to cover `offset` either way, as in Redis.
    pub fn set(&mut self, offset: u32, value: bool) -> bool {
        self.byte_len = self.byte_len.max(bytes_for(offset));
        if value {
            !self.bits.insert(offset)
        } else {
            self.bits.remove(offset)
        }
    }

    /// Sets or clears many offsets at once (faster than repeated [`Bitmap::set`]).
    pub fn set_many(&mut self, offsets: &[u32], value: bool) {
        if let Some(max) = offsets.iter().max() {
            self.byte_len = self.byte_len.max(bytes_for(*max));
        }
        if value {
            self.bits.extend(offsets.iter().copied());
        } else {
            for &o in offsets {
                self.bits.remove(o);
            }
        }
    }

    /// Whether bit `offset` is set (`GETBIT`).
    pub fn contains(&self, offset: u32) -> bool {
        self.bits.contains(offset)
    }

    /// The number of set bits (`BITCOUNT`).
    pub fn count(&self) -> u64 {
        self.bits.len()
    }

    /// Whether no bit is set. A bitmap can be empty and still have a length.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// The length of the Redis string in bytes (`STRLEN`).
    pub fn byte_len(&self) -> u32 {
        self.byte_len
    }

    /// The set bits.
    pub fn bits(&self) -> &RoaringBitmap {
        &self.bits
    }

    /// The set bits, by value.
    pub fn into_bits(self) -> RoaringBitmap {
        self.bits
    }

    /// The set offsets in ascending order.
    pub fn iter(&self) -> roaring::bitmap::Iter<'_> {
        self.bits.iter()
    }

    /// Reads a Redis string: bit `n` is bit `7 - n % 8` of byte `n / 8`.
    ///
    /// Returns `None` when the string is longer than a bitmap can be (512 MiB).
    pub fn from_redis_bytes(bytes: &[u8]) -> Option<Self> {
        let byte_len = u32::try_from(bytes.len())
            .ok()
            .filter(|&l| u64::from(l) <= MAX_BYTE_LEN)?;
        let reversed: Vec<u8> = bytes.iter().map(|b| b.reverse_bits()).collect();
        let bits = RoaringBitmap::from_lsb0_bytes(0, &reversed);
        Some(Bitmap { bits, byte_len })
    }

    /// The Redis string for this bitmap (`GET`), most significant bit first.
    pub fn to_redis_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.byte_len as usize];
        self.write_redis_bytes(0, &mut out);
        out
    }

    /// Writes bytes `start..start + out.len()` of the Redis string into `out` (which must be
    /// zeroed), so that a large value can be encoded a chunk at a time; bytes past
    /// [`Bitmap::byte_len`] stay zero.
    ///
    /// Runs of set bits are written as runs (whole bytes at once), so a dense bitmap costs
    /// about a `memset` of its length, not one step per bit.
    ///
    /// ```
    /// use bitmapist::Bitmap;
    ///
    /// let mut b = Bitmap::new();
    /// b.set(9, true);
    /// let mut second = [0u8; 1];
    /// b.write_redis_bytes(1, &mut second);
    /// assert_eq!(second, [0b0100_0000]);
    /// ```
    pub fn write_redis_bytes(&self, start: u32, out: &mut [u8]) {
        let lo = u64::from(start) * 8;
        let hi = (lo + out.len() as u64 * 8).min(u64::from(u32::MAX) + 1);
        if lo >= hi {
            return;
        }
        // Offsets are below 2^32, so `lo` and `hi - 1` fit in a u32.
        let mut runs = self.bits.range(lo as u32..=(hi - 1) as u32);
        while let Some(run) = runs.next_range() {
            let (first, last) = (u64::from(*run.start()) - lo, u64::from(*run.end()) - lo);
            set_bit_run(out, first, last);
        }
    }

    /// `BITOP AND`: bits set in both; length of the longer operand.
    pub fn and(&self, other: &Bitmap) -> Bitmap {
        Bitmap {
            bits: &self.bits & &other.bits,
            byte_len: self.byte_len.max(other.byte_len),
        }
    }

    /// `BITOP OR`: bits set in either; length of the longer operand.
    pub fn or(&self, other: &Bitmap) -> Bitmap {
        Bitmap {
            bits: &self.bits | &other.bits,
            byte_len: self.byte_len.max(other.byte_len),
        }
    }

    /// `BITOP XOR`: bits set in exactly one; length of the longer operand.
    pub fn xor(&self, other: &Bitmap) -> Bitmap {
        Bitmap {
            bits: &self.bits ^ &other.bits,
            byte_len: self.byte_len.max(other.byte_len),
        }
    }

    /// Bits set in `self` and not in `other` (`BITOP NOT` of `other`, then `AND`);
    /// length of the longer operand.
    pub fn difference(&self, other: &Bitmap) -> Bitmap {
        Bitmap {
            bits: &self.bits - &other.bits,
            byte_len: self.byte_len.max(other.byte_len),
        }
    }

    /// `BITOP NOT`: the complement within the string's length, which is whole bytes.
    /// A missing key (length 0) gives an empty result.
    pub fn not(&self) -> Bitmap {
        let mut all = RoaringBitmap::new();
        if self.byte_len > 0 {
            let last = u64::from(self.byte_len) * 8 - 1;
            // byte_len <= 2^29, so last <= 2^32 - 1.
            all.insert_range(0..=u32::try_from(last).unwrap_or(u32::MAX));
        }
        all -= &self.bits;
        Bitmap {
            bits: all,
            byte_len: self.byte_len,
        }
    }

    /// In-place `AND`.
    pub fn and_assign(&mut self, other: &Bitmap) {
        self.bits &= &other.bits;
        self.byte_len = self.byte_len.max(other.byte_len);
    }

    /// In-place `OR`.
    pub fn or_assign(&mut self, other: &Bitmap) {
        self.bits |= &other.bits;
        self.byte_len = self.byte_len.max(other.byte_len);
    }

    /// In-place `XOR`.
    pub fn xor_assign(&mut self, other: &Bitmap) {
        self.bits ^= &other.bits;
        self.byte_len = self.byte_len.max(other.byte_len);
    }

    /// In-place difference.
    pub fn difference_assign(&mut self, other: &Bitmap) {
        self.bits -= &other.bits;
        self.byte_len = self.byte_len.max(other.byte_len);
    }

    /// The number of bits set in both, without building the intersection.
    pub fn intersection_count(&self, other: &Bitmap) -> u64 {
        self.bits.intersection_len(&other.bits)
    }
}

impl From<RoaringBitmap> for Bitmap {
    fn from(bits: RoaringBitmap) -> Self {
        Bitmap::from_bits(bits)
    }
}

impl FromIterator<u32> for Bitmap {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> Self {
        Bitmap::from_bits(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Bitmap {
    type Item = u32;
    type IntoIter = roaring::bitmap::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.bits.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_bytes_are_msb_first() {
        let b: Bitmap = [0u32, 7, 8, 15].into_iter().collect();
        assert_eq!(b.to_redis_bytes(), vec![0b1000_0001, 0b1000_0001]);
        let back = Bitmap::from_redis_bytes(&b.to_redis_bytes()).expect("fits");
        assert_eq!(back, b);
    }

    #[test]
    fn clearing_keeps_length_like_setbit() {
        let mut b = Bitmap::new();
        assert!(!b.set(100, false));
        assert_eq!(b.byte_len(), 13);
        assert!(b.is_empty());
        assert_eq!(b.not().count(), 104);
    }

    #[test]
    fn not_of_missing_is_empty() {
        assert!(Bitmap::new().not().is_empty());
    }

    #[test]
    fn not_at_top_offset_does_not_overflow() {
        let mut b = Bitmap::new();
        b.set(u32::MAX, true);
        assert_eq!(u64::from(b.byte_len()), MAX_BYTE_LEN);
        assert_eq!(b.not().count(), (1u64 << 32) - 1);
    }

    /// The Redis string bit by bit: the model the run-wise encoder must match.
    fn model_bytes(b: &Bitmap) -> Vec<u8> {
        let mut out = vec![0u8; b.byte_len() as usize];
        for bit in b.iter() {
            out[(bit / 8) as usize] |= 0x80 >> (bit % 8);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn chunks_match_the_bitwise_model(
            runs in proptest::collection::vec((0u32..5000, 0u32..300), 0..20),
            chunk in 1usize..700,
        ) {
            let mut bits = RoaringBitmap::new();
            for (start, len) in runs {
                bits.insert_range(start..start + len);
            }
            let b = Bitmap::with_byte_len(bits, 700);
            let model = model_bytes(&b);
            proptest::prop_assert_eq!(&b.to_redis_bytes(), &model);
            let mut joined = Vec::new();
            for start in (0..model.len()).step_by(chunk) {
                let mut part = vec![0u8; chunk.min(model.len() - start)];
                b.write_redis_bytes(start as u32, &mut part);
                joined.extend_from_slice(&part);
            }
            proptest::prop_assert_eq!(joined, model);
        }
    }

    #[test]
    fn dense_top_offset_encodes_by_runs() {
        let mut b = Bitmap::new();
        b.set(u32::MAX, true);
        let not = b.not();
        let mut tail = [0u8; 4];
        not.write_redis_bytes((MAX_BYTE_LEN - 4) as u32, &mut tail);
        assert_eq!(tail, [0xFF, 0xFF, 0xFF, 0xFE]);
        let mut past = [0u8; 4];
        not.write_redis_bytes(u32::MAX - 3, &mut past);
        assert_eq!(past, [0; 4], "past the end stays zero");
    }

    #[test]
    fn ops_take_the_longer_length() {
        let a: Bitmap = [1u32].into_iter().collect();
        let b: Bitmap = [1u32, 20].into_iter().collect();
        let and = a.and(&b);
        assert_eq!(and.count(), 1);
        assert_eq!(and.byte_len(), 3);
        assert_eq!(and.not().count(), 23);
    }
}
