//! The seed's random source: SplitMix64, one independent stream per (seed, salt, index).
//!
//! Why: a seed must give the same data in every version and on every platform, so the
//! generator does not use a crate whose algorithm may change; SplitMix64 is a few lines,
//! fast, and well mixed.
//!
//! How: [`Rng::stream`] hashes `(seed, salt, n)` into a starting state, so that each user
//! and each day has its own stream and can be drawn alone, in any order, in parallel.
//!
//! Invariants: only integer and IEEE arithmetic (no platform `exp`), so the numbers are the
//! same everywhere; a change here changes every seeded data set (the generator's
//! fingerprint test says so).

/// The golden-ratio increment of SplitMix64 (also spreads user ids over a day's stream).
pub(super) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finalizer: a fast, well-mixed 64-bit hash.
pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast and stable across versions.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    /// An independent stream for `(seed, salt, n)`.
    pub(super) fn stream(seed: u64, salt: u64, n: u64) -> Rng {
        Rng(mix(seed ^ mix(salt ^ mix(n.wrapping_add(GOLDEN)))))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}
