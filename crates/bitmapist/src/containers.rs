//! Container walks: many whole bitmaps taken apart one roaring container key at a time into
//! dense words, for the counts that need every bitmap at once (trends' rolling windows,
//! stickiness's days per user).
//!
//! **Why.** A union or a per-user count over 30 or 209 day bitmaps is a sum over container
//! keys (users `65536 k .. 65536 k + 65535`) of the same count on each key's containers. On
//! one key, the days' containers are 8 KiB of words each and stay in the CPU's cache;
//! nothing is decoded into a `RoaringBitmap`, nothing is allocated per union.
//!
//! **How.** A [`ContainerCount`] says what to count on one key's days. [`count_held`]
//! walks serializations in memory: the keys present in some bitmap are shared between up to
//! [`MAX_THREADS`] threads (at least [`KEYS_PER_THREAD`] keys each), each with its own
//! state and one key's words; every bitmap's container `key` is written into 1024 words (a
//! copy for a bitmap container; all zero where the bitmap lacks it). [`count_stored`] asks
//! the store for the bitmaps a span of containers at a time
//! ([`Store::get_serialized_spans`]), on the store's threads, and counts each span as
//! [`count_held`] does; the embedded file then never holds more than a span of every bitmap
//! in memory; each of the store's threads keeps one state and one key's words from span to
//! span. The answer is each bitmap's number of set bits (from the serialization headers,
//! summed over spans), one state per thread, for the caller to add up, and the bitmaps'
//! versions as the store read them (for [`kept`](crate::kept) counts).
//!
//! A breakdown counts each value on the same walk: [`ValueMasks`] gives each value's users
//! of the key as words, which the count ANDs with the days' (or with their unions). The
//! word loops of a count run inside `vectorized!`, compiled for the best SIMD level the CPU
//! has (chosen at run time by `fearless_simd`, without `unsafe` here): `count_ones` sums
//! become `vpopcntq` on AVX-512.
//!
//! **Memory.** Per thread one key's words of every bitmap (209 days: 1.7 MB), plus the
//! count's state; for [`count_stored`] what the store holds per span.
//!
//! **Invariants.** Every container of every bitmap is counted exactly once: by one share
//! of one span. Errors (a corrupt serialization) name `what` and stop the walk.
//!
//! **What a crash can lose.** Nothing: this module only reads.

use std::sync::{Mutex, PoisonError};

use crate::error::Result;
use crate::segment::Members;
use crate::store::{DenseContainer, DenseParts, SpanVisitor, Store};

/// The words of a container, all zero.
pub(crate) const ZERO: DenseContainer = [0; 1024];

/// At most this many threads walk the keys of serializations in memory.
const MAX_THREADS: usize = 4;

/// A thread walks at least this many keys: a span of the embedded file (16 keys, counted on
/// one of the store's threads) is not cut further.
const KEYS_PER_THREAD: usize = 64;

/// What to count on one container key's days.
pub(crate) trait ContainerCount: Sync {
    /// One thread's running count.
    type State: Send;

    /// A fresh state.
    fn init(&self) -> Self::State;

    /// Adds container `key` of every bitmap to `state`: `days[i]` is bitmap `i`'s, all zero
    /// where it has none, which `present[i]` (false) tells without reading the words.
    fn add(&self, state: &mut Self::State, key: u16, days: &[DenseContainer], present: &[bool]);
}

/// The serializations of a walk taken apart: per bitmap its containers (`None`: empty) and
/// their keys, and the union of the keys, ascending.
struct Parts<'b> {
    parts: Vec<Option<DenseParts<'b>>>,
    day_keys: Vec<Vec<u16>>,
    keys: Vec<u16>,
}

impl<'b> Parts<'b> {
    /// Reads every header of `days` (errors name `what`).
    fn read(what: &str, days: &[&'b [u8]]) -> Result<Self> {
        let parts = days
            .iter()
            .map(|bytes| {
                (!bytes.is_empty())
                    .then(|| DenseParts::read(what, bytes))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let day_keys: Vec<Vec<u16>> = parts
            .iter()
            .map(|p| p.as_ref().map(|p| p.keys().collect()).unwrap_or_default())
            .collect();
        let mut keys: Vec<u16> = day_keys.iter().flatten().copied().collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(Parts {
            parts,
            day_keys,
            keys,
        })
    }

    /// Each bitmap's number of set bits, from the headers.
    fn lens(&self) -> impl Iterator<Item = u64> + '_ {
        self.parts
            .iter()
            .map(|p| p.as_ref().map_or(0, DenseParts::len))
    }
}

/// One thread of a walk: the count, its state, and one key's words of every bitmap, kept
/// from span to span, with whether each bitmap has the key (an absent one's words are
/// zeroed once, not on every key it lacks).
struct Walker<'c, C: ContainerCount> {
    what: &'c str,
    count: &'c C,
    state: C::State,
    slots: Vec<DenseContainer>,
    present: Vec<bool>,
}

impl<'c, C: ContainerCount> Walker<'c, C> {
    fn new(what: &'c str, count: &'c C) -> Self {
        Walker {
            what,
            count,
            state: count.init(),
            slots: Vec::new(),
            present: Vec::new(),
        }
    }

    /// Adds the containers `keys` (ascending) of `parts` to the state.
    fn walk(&mut self, parts: &Parts<'_>, keys: &[u16]) -> Result<()> {
        let n = parts.parts.len();
        if self.slots.len() != n {
            self.slots = vec![ZERO; n];
            self.present = vec![false; n];
        }
        for &key in keys {
            for (((slot, present), part), day_keys) in self
                .slots
                .iter_mut()
                .zip(&mut self.present)
                .zip(&parts.parts)
                .zip(&parts.day_keys)
            {
                match (day_keys.binary_search(&key), part) {
                    (Ok(i), Some(p)) => {
                        p.write(self.what, i, slot)?;
                        *present = true;
                    }
                    _ if *present => {
                        *slot = ZERO;
                        *present = false;
                    }
                    _ => {}
                }
            }
            self.count
                .add(&mut self.state, key, &self.slots, &self.present);
        }
        Ok(())
    }
}

/// What a walk counted.
pub(crate) struct Counted<S> {
    /// Each bitmap's number of set bits.
    pub(crate) lens: Vec<u64>,
    /// One state per thread (and per span of a store).
    pub(crate) states: Vec<S>,
    /// Each bitmap's version as read ([`Store::versions`]); `None` for bitmaps in memory.
    pub(crate) versions: Vec<Option<u64>>,
}

/// Walks the roaring serializations `days` (empty: no user) container key by container key
/// (see the module docs). Errors name `what`.
pub(crate) fn count_held<C: ContainerCount>(
    what: &str,
    days: &[&[u8]],
    count: &C,
) -> Result<Counted<C::State>> {
    let parts = Parts::read(what, days)?;
    let threads = parts
        .keys
        .len()
        .div_ceil(KEYS_PER_THREAD)
        .clamp(1, MAX_THREADS);
    // Containers are independent: each thread takes a share of the keys.
    let states = crate::threads::in_shares(&parts.keys, threads, |mine| -> Result<C::State> {
        let mut walker = Walker::new(what, count);
        walker.walk(&parts, mine)?;
        Ok(walker.state)
    });
    Ok(Counted {
        lens: parts.lens().collect(),
        states: states.into_iter().collect::<Result<Vec<_>>>()?,
        versions: vec![None; days.len()],
    })
}

/// The bitmaps' sizes and the states a walk of a store has counted so far.
type Totals<S> = Mutex<(Vec<u64>, Vec<S>)>;

/// A thread's visitor of a store's walk: counts each span into its [`Walker`], and hands
/// its sizes and state over to the totals when the walk drops it.
struct StoredVisitor<'c, C: ContainerCount> {
    walker: Option<Walker<'c, C>>,
    lens: Vec<u64>,
    totals: &'c Totals<C::State>,
}

impl<C: ContainerCount> SpanVisitor for StoredVisitor<'_, C> {
    fn visit(&mut self, span: &[&[u8]]) -> Result<()> {
        let Some(walker) = &mut self.walker else {
            return Ok(());
        };
        let parts = Parts::read(walker.what, span)?;
        self.lens.resize(span.len(), 0);
        self.lens
            .iter_mut()
            .zip(parts.lens())
            .for_each(|(a, b)| *a += b);
        walker.walk(&parts, &parts.keys)
    }
}

impl<C: ContainerCount> Drop for StoredVisitor<'_, C> {
    fn drop(&mut self) {
        if let Some(walker) = self.walker.take() {
            let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
            totals
                .0
                .iter_mut()
                .zip(&self.lens)
                .for_each(|(a, b)| *a += b);
            totals.1.push(walker.state);
        }
    }
}

/// [`count_held`] over the bitmaps of `keys` in `store`, read a span of containers at a time
/// ([`Store::get_serialized_spans`]), one [`Walker`] per thread of the store's walk; a
/// missing key counts as empty. The versions are those of what was read.
pub(crate) async fn count_stored<C: ContainerCount>(
    what: &str,
    store: &dyn Store,
    keys: &[String],
    count: &C,
) -> Result<Counted<C::State>> {
    let totals: Totals<C::State> = Mutex::new((vec![0u64; keys.len()], Vec::new()));
    let versions = store
        .get_serialized_spans(keys, &|| {
            Box::new(StoredVisitor {
                walker: Some(Walker::new(what, count)),
                lens: Vec::new(),
                totals: &totals,
            })
        })
        .await?;
    let (lens, states) = totals.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok(Counted {
        lens,
        states,
        versions,
    })
}

/// Evaluates an expression compiled for the best SIMD level this CPU has (`fearless_simd`'s
/// runtime dispatch: SSE4.2 with `popcnt`, AVX2, or AVX-512 with `vpopcntq`), so that the
/// word loops in it (ANDs, ORs and `count_ones` sums over containers) are vectorized. What
/// it calls must be `#[inline(always)]` to be compiled that way (a function that is not
/// inlined is compiled for the baseline CPU).
macro_rules! vectorized {
    ($e:expr) => {
        fearless_simd::dispatch!(fearless_simd::Level::new(), _simd => $e)
    };
}
pub(crate) use vectorized;

/// The number of bits set in both `a` and `b`.
#[inline(always)]
pub(crate) fn and_count(a: &DenseContainer, b: &DenseContainer) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x & y).count_ones()))
        .sum()
}

/// The number of bits set in `a`.
#[inline(always)]
pub(crate) fn count_words(a: &DenseContainer) -> u64 {
    a.iter().map(|x| u64::from(x.count_ones())).sum()
}

/// A breakdown value's users serialized, and whether the value is every user but them: what
/// [`ValueMasks`] takes apart.
pub(crate) type ValueMask = (Vec<u8>, bool);

/// Serializes breakdown values' users for [`ValueMasks`].
pub(crate) fn value_masks<'v>(values: impl Iterator<Item = &'v Members>) -> Vec<ValueMask> {
    values
        .map(|m| match m {
            Members::In(b) => (crate::store::serialize(b), false),
            Members::AllBut(b) => (crate::store::serialize(b), true),
        })
        .collect()
}

/// Breakdown values' users taken apart, to mask days container by container: a count per
/// value on one walk of the days (each value's words of a key ANDed with what is counted).
pub(crate) struct ValueMasks<'m> {
    /// Per value: its users' containers, their keys, and whether the value is every user
    /// but them.
    values: Vec<(DenseParts<'m>, Vec<u16>, bool)>,
    /// What errors name.
    what: String,
}

impl<'m> ValueMasks<'m> {
    /// Reads the headers of `masks` (errors name `what`).
    pub(crate) fn new(what: String, masks: &[&'m ValueMask]) -> Result<Self> {
        let values = masks
            .iter()
            .map(|&(bytes, all_but)| {
                let parts = DenseParts::read(&what, bytes)?;
                let keys = parts.keys().collect();
                Ok((parts, keys, *all_but))
            })
            .collect::<Result<_>>()?;
        Ok(ValueMasks { values, what })
    }

    /// How many values.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Writes value `v`'s users of container `key` into `mask`.
    pub(crate) fn words(&self, v: usize, key: u16, mask: &mut DenseContainer) -> Result<()> {
        let (parts, keys, all_but) = &self.values[v];
        match keys.binary_search(&key) {
            Ok(i) => parts.write(&self.what, i, mask)?,
            Err(_) => *mask = ZERO,
        }
        if *all_but {
            mask.iter_mut().for_each(|w| *w = !*w);
        }
        Ok(())
    }
}
