//! The id map's forward cache: external id bytes to dense ids in a compact open-addressing
//! table, looked up a group of ids at a time so that the group's memory misses overlap.
//!
//! # Layout
//!
//! - **Slots**: 16 bytes each (four to a cache line), a power of two of them, at most half
//!   full, linear probing. A slot holds the key's fingerprint (the hash's high 32 bits), its
//!   dense id (0 marks an empty slot: the map never hands out 0) and where its bytes are.
//! - **Key lines**: the keys' bytes, packed into 64-byte-aligned lines; a key of up to 64
//!   bytes never straddles two lines, so comparing it reads one cache line. Longer keys
//!   start a line of their own and fill as many as they need.
//!
//! A look-up reads the slot (one line), and only when the fingerprint matches, the key's
//! line; a slot holds no pointer to follow, and for 100,000 e-mail-sized ids the table
//! takes about 4 MB of slots and 3 MB of key lines (the `HashMap` it replaces took 6 MB
//! of 48-byte slots).
//!
//! # Batches
//!
//! [`ForwardCache::get_many`] takes [`GROUP`] ids at a time through short passes: read
//! each id's first and last byte; hash each id; read each home slot; find each id's first
//! slot with its fingerprint; read that slot's key line; then compare. The loads of one pass do not depend on each other, so
//! the processor has the group's cache misses in flight at once instead of one after
//! another (a `HashMap::get` per id waits for the id's bytes, then the slot, then the key).
//!
//! # Limit
//!
//! The cache holds at most its limit of keys: inserting into a full cache first empties it
//! (as the `HashMap` it replaces did), keeping its memory for reuse.

use std::hash::BuildHasher;

/// How many ids [`ForwardCache::get_many`] takes through each pass before comparing any.
const GROUP: usize = 32;

/// The bytes of a key line.
pub(super) const LINE: usize = 64;

/// Bits of [`Slot::len_off`] that hold the key's offset in its first line.
const OFF_BITS: u32 = 6;

/// The longest key the cache holds (longer ones are never cached; the map's ids are at
/// most [`crate::idmap::MAX_EXTERNAL_ID_BYTES`]).
const MAX_KEY: usize = 1 << (32 - OFF_BITS);

/// One slot of the table: 16 bytes.
#[derive(Clone, Copy, Default)]
struct Slot {
    /// The high 32 bits of the key's hash.
    tag: u32,
    /// The dense id; 0 for an empty slot.
    dense: u32,
    /// The key's first line.
    line: u32,
    /// The key's length (high bits) and its offset in its first line (low [`OFF_BITS`]).
    len_off: u32,
}

impl Slot {
    fn len(self) -> usize {
        (self.len_off >> OFF_BITS) as usize
    }

    fn off(self) -> usize {
        (self.len_off & ((1 << OFF_BITS) - 1)) as usize
    }
}

/// 64 bytes of key text, aligned to a cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; LINE]);

/// The forward cache: external id bytes to dense ids (see the module docs).
pub(super) struct ForwardCache<S = foldhash::fast::RandomState> {
    /// Empty, or a power of two of slots.
    slots: Vec<Slot>,
    lines: Vec<Line>,
    /// Bytes used of the last line.
    used: usize,
    len: usize,
    limit: usize,
    hasher: S,
}

fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

fn index(h: u64, mask: usize) -> usize {
    // Truncation intended: the low bits pick the home slot.
    (h as usize) & mask
}

/// Whether `a` and `b` hold the same bytes, reading neither past its end: a library
/// `memcmp` reads whole vectors past a short key, into a cache line no pass has loaded.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a8, a_rest) = a.as_chunks::<8>();
    let (b8, b_rest) = b.as_chunks::<8>();
    a8.iter()
        .zip(b8)
        .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && a_rest.iter().zip(b_rest).all(|(x, y)| x == y)
}

impl ForwardCache {
    /// An empty cache of at most `limit` keys, hashing with foldhash (randomly seeded).
    pub(super) fn new(limit: usize) -> Self {
        Self::with_hasher(limit, foldhash::fast::RandomState::default())
    }
}

impl<S: BuildHasher> ForwardCache<S> {
    /// An empty cache of at most `limit` keys, hashing with `hasher`.
    pub(super) fn with_hasher(limit: usize, hasher: S) -> Self {
        ForwardCache {
            slots: Vec::new(),
            lines: Vec::new(),
            used: LINE,
            len: 0,
            limit,
            hasher,
        }
    }

    /// How many keys the cache holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Whether the key of slot `s` is `key`.
    fn matches(&self, s: Slot, key: &[u8]) -> bool {
        let (len, off, line) = (s.len(), s.off(), s.line as usize);
        if len != key.len() {
            return false;
        }
        if off + len <= LINE {
            return self
                .lines
                .get(line)
                .and_then(|l| l.0.get(off..off + len))
                .is_some_and(|b| same(b, key));
        }
        // A long key starts at its first line's start.
        self.lines
            .get(line..line + len.div_ceil(LINE))
            .is_some_and(|lines| {
                key.chunks(LINE)
                    .zip(lines)
                    .all(|(k, l)| l.0.get(..k.len()).is_some_and(|b| same(b, k)))
            })
    }

    /// The key of slot `s`, copied out of its lines.
    fn key_of(&self, s: Slot) -> Vec<u8> {
        let (len, mut off) = (s.len(), s.off());
        let mut out = Vec::with_capacity(len);
        for l in self.lines.iter().skip(s.line as usize) {
            if out.len() == len {
                break;
            }
            let take = (len - out.len()).min(LINE - off);
            out.extend_from_slice(&l.0[off..off + take]);
            off = 0;
        }
        out
    }

    /// The dense id of `key` with hash `h`, probing from its home slot `home`; 0 if absent.
    fn find_from(&self, key: &[u8], h: u64, home: Slot, mask: usize) -> u32 {
        let t = tag(h);
        let mut i = index(h, mask);
        let mut s = home;
        // At most half the slots are used, so an empty one ends the probe; the bound only
        // makes termination obvious.
        for _ in 0..self.slots.len() {
            if s.dense == 0 {
                return 0;
            }
            if s.tag == t && self.matches(s, key) {
                return s.dense;
            }
            i = (i + 1) & mask;
            s = self.slots[i];
        }
        0
    }

    /// The first slot from `home` (the home slot of hash `h`) with `h`'s fingerprint, or an
    /// empty slot if none comes before the first empty slot.
    fn first_tagged(&self, h: u64, home: Slot, mask: usize) -> Slot {
        let t = tag(h);
        let mut i = index(h, mask);
        let mut s = home;
        for _ in 0..self.slots.len() {
            if s.dense == 0 || s.tag == t {
                return s;
            }
            i = (i + 1) & mask;
            s = self.slots[i];
        }
        Slot::default()
    }

    /// The dense id of `key`, if cached.
    #[cfg(test)]
    pub(super) fn get(&self, key: &[u8]) -> Option<u32> {
        let mut out = Vec::with_capacity(1);
        self.get_many(&[key], |k| k, &mut out);
        out.first().copied().filter(|&d| d != 0)
    }

    /// Appends to `out` the dense id of `key(item)` for each of `items`, in order, 0 for
    /// those not cached; answers how many were not cached. See the module docs.
    pub(super) fn get_many<T>(
        &self,
        items: &[T],
        key: impl Fn(&T) -> &[u8],
        out: &mut Vec<u32>,
    ) -> usize {
        out.reserve(items.len());
        if self.len == 0 {
            out.resize(out.len() + items.len(), 0);
            return items.len();
        }
        let mask = self.slots.len() - 1;
        let mut missing = 0;
        let mut hashes = [0u64; GROUP];
        let mut home = [Slot::default(); GROUP];
        let mut candidate = [Slot::default(); GROUP];
        for group in items.chunks(GROUP) {
            // Each pass's loads are independent of each other, so their misses overlap;
            // `black_box` keeps the loads whose values only warm the cache.
            let mut touch = 0u8;
            for item in group {
                let k = key(item);
                touch ^= k.first().copied().unwrap_or(0) ^ k.last().copied().unwrap_or(0);
            }
            std::hint::black_box(touch);
            for (h, item) in hashes.iter_mut().zip(group) {
                *h = self.hash(key(item));
            }
            for (s, &h) in home.iter_mut().zip(&hashes) {
                *s = self.slots[index(h, mask)];
            }
            // The first slot with the id's fingerprint (probing from the home slot, whose
            // line is now cached; usually the home slot itself), and its key's line.
            for (c, (&h, &s)) in candidate.iter_mut().zip(hashes.iter().zip(&home)) {
                *c = self.first_tagged(h, s, mask);
            }
            let mut touch = 0u8;
            for c in &candidate {
                touch ^= self.lines.get(c.line as usize).map_or(0, |l| l.0[c.off()]);
            }
            std::hint::black_box(touch);
            for ((item, &h), (&s, &c)) in group.iter().zip(&hashes).zip(home.iter().zip(&candidate))
            {
                let k = key(item);
                let d = if c.dense != 0 && self.matches(c, k) {
                    c.dense
                } else {
                    // Not cached, or another key with the same fingerprint.
                    self.find_from(k, h, s, mask)
                };
                missing += usize::from(d == 0);
                out.push(d);
            }
        }
        missing
    }

    /// Caches `key -> dense`, first emptying the cache if it is full. A key already cached
    /// gets `dense`; an empty key, a key longer than [`MAX_KEY`] or a `dense` of 0 is not
    /// cached.
    pub(super) fn insert(&mut self, key: &[u8], dense: u32) {
        if dense == 0 || key.is_empty() || key.len() >= MAX_KEY {
            return;
        }
        let lines_needed = key.len().div_ceil(LINE) + 1;
        if self.len >= self.limit || u32::try_from(self.lines.len() + lines_needed).is_err() {
            self.clear();
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let h = self.hash(key);
        let mask = self.slots.len() - 1;
        let t = tag(h);
        let mut i = index(h, mask);
        loop {
            let s = self.slots[i];
            if s.dense == 0 {
                break;
            }
            if s.tag == t && self.matches(s, key) {
                self.slots[i].dense = dense;
                return;
            }
            i = (i + 1) & mask;
        }
        // A key of up to a line never straddles two; a longer one starts a line.
        if self.lines.is_empty() || self.used + key.len() > LINE {
            self.lines.push(Line([0; LINE]));
            self.used = 0;
        }
        let first = self.lines.len() - 1;
        let off = self.used;
        for (n, chunk) in key.chunks(LINE).enumerate() {
            let at = if n == 0 {
                off
            } else {
                self.lines.push(Line([0; LINE]));
                0
            };
            if let Some(l) = self.lines.last_mut() {
                l.0[at..at + chunk.len()].copy_from_slice(chunk);
            }
            self.used = at + chunk.len();
        }
        // Both fit: `first` was checked against u32 above, `key.len() < MAX_KEY`, `off < 64`.
        let (Ok(line), Ok(len), Ok(off)) = (
            u32::try_from(first),
            u32::try_from(key.len()),
            u32::try_from(off),
        ) else {
            return;
        };
        self.slots[i] = Slot {
            tag: t,
            dense,
            line,
            len_off: (len << OFF_BITS) | off,
        };
        self.len += 1;
    }

    /// Forgets every key, keeping the memory.
    pub(super) fn clear(&mut self) {
        self.slots.fill(Slot::default());
        self.lines.clear();
        self.used = LINE;
        self.len = 0;
    }

    /// Doubles the slots (at least 16), placing every key again.
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); cap]);
        let mask = cap - 1;
        for s in old.into_iter().filter(|s| s.dense != 0) {
            let h = self.hash(&self.key_of(s));
            let mut i = index(h, mask);
            while self.slots[i].dense != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hasher};

    use proptest::prelude::*;

    use super::{ForwardCache, LINE};

    /// A hasher with a handful of distinct outputs, all with fingerprint 0: most keys share
    /// their fingerprint and home slot, so look-ups rest on the key comparison and on
    /// probing past other keys.
    #[derive(Clone, Copy, Default)]
    struct Colliding;

    #[derive(Default)]
    struct CollidingHasher(u64);

    impl Hasher for CollidingHasher {
        fn finish(&self) -> u64 {
            self.0 % 5
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = self.0.wrapping_add(u64::from(*b & 1));
            }
        }
    }

    impl BuildHasher for Colliding {
        type Hasher = CollidingHasher;
        fn build_hasher(&self) -> CollidingHasher {
            CollidingHasher::default()
        }
    }

    /// The model: a `HashMap` emptied when full before an insert, as the cache is.
    #[derive(Default)]
    struct Model(HashMap<Vec<u8>, u32>);

    impl Model {
        fn insert(&mut self, key: &[u8], dense: u32, limit: usize) {
            if dense == 0 || key.is_empty() {
                return;
            }
            if self.0.len() >= limit {
                self.0.clear();
            }
            self.0.insert(key.to_vec(), dense);
        }
        fn get(&self, key: &[u8]) -> u32 {
            self.0.get(key).copied().unwrap_or(0)
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(usize, u32),
        Get(Vec<usize>),
        Clear,
    }

    /// Keys of lengths around the word and line sizes, from a two-letter alphabet (so
    /// equal lengths, shared prefixes and near misses are common), and the empty key.
    fn keys() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let len = prop_oneof![
            0usize..=10,
            (LINE - 2)..=(LINE + 2),
            (2 * LINE - 1)..=(2 * LINE + 1),
            0usize..=200,
        ];
        proptest::collection::vec(
            len.prop_flat_map(|n| {
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b')], n)
            }),
            1..24,
        )
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            6 => (any::<usize>(), prop_oneof![Just(0u32), 1u32..=3, Just(u32::MAX), any::<u32>()])
                .prop_map(|(k, d)| Op::Insert(k, d)),
            3 => proptest::collection::vec(any::<usize>(), 0..80).prop_map(Op::Get),
            1 => Just(Op::Clear),
        ];
        proptest::collection::vec(op, 1..120)
    }

    /// Runs `ops` on a cache with `hasher` and on the model, checking every answer.
    fn check<S: BuildHasher>(
        hasher: S,
        limit: usize,
        keys: &[Vec<u8>],
        ops: &[Op],
    ) -> Result<(), TestCaseError> {
        let mut cache = ForwardCache::with_hasher(limit, hasher);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Insert(k, d) => {
                    let key = &keys[k % keys.len()];
                    cache.insert(key, *d);
                    model.insert(key, *d, limit);
                }
                Op::Get(ks) => {
                    let batch: Vec<&[u8]> =
                        ks.iter().map(|k| keys[k % keys.len()].as_slice()).collect();
                    let mut got = vec![7u32];
                    let missing = cache.get_many(&batch, |k| k, &mut got);
                    let want: Vec<u32> = batch.iter().map(|k| model.get(k)).collect();
                    prop_assert_eq!(got[0], 7, "get_many appends");
                    prop_assert_eq!(&got[1..], &want[..]);
                    prop_assert_eq!(missing, want.iter().filter(|&&d| d == 0).count());
                    for k in &batch {
                        prop_assert_eq!(cache.get(k), Some(model.get(k)).filter(|&d| d != 0));
                    }
                }
                Op::Clear => {
                    cache.clear();
                    model.0.clear();
                }
            }
            prop_assert_eq!(cache.len(), model.0.len());
        }
        Ok(())
    }

    proptest! {
        /// The cache answers as a `HashMap` emptied when full, with real hashes.
        #[test]
        fn agrees_with_a_hash_map(limit in 1usize..30, keys in keys(), ops in ops()) {
            check(foldhash::fast::RandomState::default(), limit, &keys, &ops)?;
        }

        /// The same when nearly every key shares its fingerprint and home slot.
        #[test]
        fn agrees_with_a_hash_map_when_fingerprints_collide(
            limit in 1usize..30,
            keys in keys(),
            ops in ops(),
        ) {
            check(Colliding, limit, &keys, &ops)?;
        }
    }

    /// Thousands of keys: the table grows many times, empties at its limit and starts
    /// over, and every answer agrees with the model.
    #[test]
    fn grows_and_empties_at_scale() {
        let limit = 3_000;
        let mut cache = ForwardCache::new(limit);
        let mut model = Model::default();
        let keys: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| {
                format!("user-{i}@example.com-{}", "x".repeat((i % 150) as usize)).into_bytes()
            })
            .collect();
        for (i, key) in keys.iter().enumerate() {
            let dense = u32::try_from(i).expect("small") + 1;
            cache.insert(key, dense);
            model.insert(key, dense, limit);
            assert_eq!(cache.len(), model.0.len());
        }
        let mut got = Vec::new();
        let missing = cache.get_many(&keys, |k| k.as_slice(), &mut got);
        let want: Vec<u32> = keys.iter().map(|k| model.get(k)).collect();
        assert_eq!(got, want);
        assert_eq!(missing, keys.len() - model.0.len());
        // Emptied before the 3,001st, 6,001st and 9,001st: the newest 1,000 stay.
        assert_eq!(model.0.len(), 1_000);
        assert!(
            got[9_000..].iter().all(|&d| d != 0),
            "the newest keys stay cached"
        );
    }
}
