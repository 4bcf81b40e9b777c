//! Restricted reads (`Store::get_within`) from the embedded file, writable and read-only:
//! equal to the full read AND the restriction, for bitmaps stored inline, in one row and in
//! many rows, with array, bitmap and run containers; and they read only the rows they need.
//! Counts (`Store::count`) read only the stored roaring header, and equal the model's.

use std::path::Path;
use std::time::Duration;

use bitmapist::{Bitmap, EmbeddedOptions, EmbeddedStore, Error, ReadOnlyEmbeddedStore, Store};
use proptest::prelude::*;
use redb::{ReadableDatabase, ReadableTable};
use roaring::RoaringBitmap;

/// The redb table of full-page chunk rows, as the store names it.
const CHUNKS: redb::TableDefinition<(&str, u32), &[u8]> = redb::TableDefinition::new("chunks");

fn options() -> EmbeddedOptions {
    EmbeddedOptions {
        flush_interval: Duration::from_secs(3600),
        idle_eviction: None,
    }
}

/// What one roaring container of a generated bitmap holds.
#[derive(Clone, Debug)]
enum Kind {
    /// `n` values spread out: an array container (or a bitmap one above 4,096).
    Sparse { n: u32, step: u32, start: u16 },
    /// Every value in these ranges: a run container once run-optimized.
    Runs(Vec<(u16, u16)>),
    /// Pseudo-random dense values: a bitmap container.
    Dense { seed: u64, n: u32 },
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (1..600u32, 1..100u32, any::<u16>()).prop_map(|(n, step, start)| Kind::Sparse {
            n,
            step,
            start
        }),
        (4_097..9_000u32, 1..8u32, any::<u16>()).prop_map(|(n, step, start)| Kind::Sparse {
            n,
            step,
            start
        }),
        proptest::collection::vec((any::<u16>(), 0..3_000u16), 1..6).prop_map(Kind::Runs),
        (any::<u64>(), 5_000..30_000u32).prop_map(|(seed, n)| Kind::Dense { seed, n }),
    ]
}

/// The values of one container with key `high`.
fn container(high: u16, kind: &Kind) -> Vec<u32> {
    let base = u32::from(high) << 16;
    match kind {
        Kind::Sparse { n, step, start } => (0..*n)
            .map(|i| (u32::from(*start) + i * step) & 0xFFFF)
            .map(|low| base | low)
            .collect(),
        Kind::Runs(runs) => runs
            .iter()
            .flat_map(|&(start, len)| {
                let end = u32::from(start).saturating_add(u32::from(len)).min(0xFFFF);
                (u32::from(start)..=end).map(move |low| base | low)
            })
            .collect(),
        Kind::Dense { seed, n } => {
            let mut x = *seed | 1;
            (0..*n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    base | (x as u32 & 0xFFFF)
                })
                .collect()
        }
    }
}

/// A bitmap from container keys and kinds (the keys de-duplicated by the set).
fn build(containers: &[(u16, Kind)]) -> RoaringBitmap {
    containers
        .iter()
        .flat_map(|(high, kind)| container(*high, kind))
        .collect()
}

/// How a restriction is made from a stored bitmap's containers.
#[derive(Clone, Debug)]
enum Restrict {
    /// Values in the first container only.
    First,
    /// Values in the last container only.
    Last,
    /// Values in containers the bitmap does not have.
    NoContainer,
    /// Every other value of some of its containers, plus containers it lacks.
    Some(Vec<bool>, u16),
    /// Everything.
    All,
    /// Nothing.
    Empty,
}

fn restrict() -> impl Strategy<Value = Restrict> {
    prop_oneof![
        Just(Restrict::First),
        Just(Restrict::Last),
        Just(Restrict::NoContainer),
        (
            proptest::collection::vec(any::<bool>(), 0..40),
            any::<u16>()
        )
            .prop_map(|(v, extra)| Restrict::Some(v, extra)),
        Just(Restrict::All),
        Just(Restrict::Empty),
    ]
}

/// The container keys of `bits`, in order.
fn keys_of(bits: &RoaringBitmap) -> Vec<u16> {
    let mut keys: Vec<u16> = bits.iter().map(|v| (v >> 16) as u16).collect();
    keys.dedup();
    keys
}

/// Values `low` in container `high` with `low % 2 == parity` (a half of it).
fn half(high: u16, parity: u32) -> impl Iterator<Item = u32> {
    let base = u32::from(high) << 16;
    (0..=0xFFFFu32)
        .filter(move |v| v % 2 == parity)
        .map(move |v| base | v)
}

fn restriction(bits: &RoaringBitmap, how: &Restrict) -> RoaringBitmap {
    let keys = keys_of(bits);
    match how {
        Restrict::First => keys
            .first()
            .map(|&k| half(k, 0).collect())
            .unwrap_or_default(),
        Restrict::Last => keys
            .last()
            .map(|&k| half(k, 1).collect())
            .unwrap_or_default(),
        Restrict::NoContainer => (0..=u16::MAX)
            .filter(|k| keys.binary_search(k).is_err() && (*k < 70 || k % 4_099 == 0))
            .flat_map(|k| half(k, 0))
            .collect(),
        Restrict::Some(take, extra) => {
            let mut r: RoaringBitmap = keys
                .iter()
                .zip(take.iter().cycle())
                .filter(|(_, t)| **t)
                .flat_map(|(&k, _)| half(k, 1))
                .collect();
            r.extend(half(*extra, 0));
            r
        }
        Restrict::All => RoaringBitmap::full(),
        Restrict::Empty => RoaringBitmap::new(),
    }
}

/// `get_within` of `keys` on `store` equals its `get` AND `within` and the model AND
/// `within`, with each key's own length.
async fn check(
    store: &dyn Store,
    keys: &[String],
    model: &[Bitmap],
    within: &Bitmap,
) -> Result<(), TestCaseError> {
    // Counts and restricted reads first: a writable store caches what `get` reads, and a
    // cached key is not read from the file. A count reads the stored roaring header only.
    let counts = store.count(keys).await.expect("count");
    let want_counts: Vec<u64> = model.iter().map(Bitmap::count).collect();
    prop_assert_eq!(counts, want_counts, "counts from the stored headers");
    let restricted = store.get_within(keys, within).await.expect("get_within");
    let full = store.get(keys).await.expect("get");
    for ((key, want), (full, got)) in keys.iter().zip(model).zip(full.iter().zip(&restricted)) {
        let full = full.as_ref().expect("stored");
        let got = got.as_ref().expect("stored");
        prop_assert_eq!(full, want, "full read of {}", key);
        let expected = Bitmap::with_byte_len(want.bits() & within.bits(), want.byte_len());
        prop_assert_eq!(got, &expected, "restricted read of {}", key);
        prop_assert_eq!(got.byte_len(), want.byte_len());
    }
    let missing = store
        .get_within(&["missing".to_string()], within)
        .await
        .expect("get_within of a missing key");
    prop_assert_eq!(missing, vec![None]);
    Ok(())
}

/// Stores `bitmaps` under `keys` and commits them.
async fn store_all(path: &Path, keys: &[String], bitmaps: &[Bitmap]) {
    let store = EmbeddedStore::open(path, options()).expect("open");
    let entries: Vec<(String, Bitmap)> =
        keys.iter().cloned().zip(bitmaps.iter().cloned()).collect();
    store.put(&entries).await.expect("put");
    store.flush().await.expect("flush");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A restricted read from the file (writable store after a reopen, then read-only)
    /// equals the full read AND the restriction. Bitmaps of 0 to 24 containers: inline
    /// values, values of one row and of many rows; restrictions hitting the first, the last,
    /// some, all or none of their containers.
    #[test]
    fn restricted_reads_equal_full_reads_and_the_restriction(
        bitmaps in proptest::collection::vec(
            (proptest::collection::vec((0..64u16, kind()), 0..24), any::<bool>()),
            1..4,
        ),
        how in restrict(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("within.redb");
            let keys: Vec<String> = (0..bitmaps.len()).map(|i| format!("trackist_day:{i}")).collect();
            let model: Vec<Bitmap> = bitmaps
                .iter()
                .map(|(containers, top)| {
                    let mut bits = build(containers);
                    if *top {
                        bits.insert(u32::MAX - 3);
                    }
                    // At least one bit of length, as a stored key has.
                    let len = bits.max().map_or(1, |m| m / 8 + 1);
                    Bitmap::with_byte_len(bits, len)
                })
                .collect();
            store_all(&path, &keys, &model).await;
            let within = Bitmap::from_bits(restriction(model[0].bits(), &how));

            let store = EmbeddedStore::open(&path, options()).expect("reopen");
            check(&store, &keys, &model, &within).await?;
            drop(store);
            let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only open");
            check(&ro, &keys, &model, &within).await
        })?;
    }
}

/// A bitmap of 40 full bitmap containers (~330 KB: ~80 rows), read restricted to its first
/// and last containers, after the rows in the middle were deleted behind the store's back:
/// the restricted read does not touch them (and answers right), the full read does (and
/// reports the key as corrupt).
#[tokio::test]
async fn restricted_reads_skip_the_rows_they_do_not_need() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("lazy.redb");
    let key = "trackist_user:logged_in_2026-11-22".to_string();
    let bits: RoaringBitmap = (0..(40u32 << 16)).filter(|v| v % 3 != 0).collect();
    let bitmap = Bitmap::with_byte_len(bits.clone(), (40 << 16) / 8);
    store_all(
        &path,
        std::slice::from_ref(&key),
        std::slice::from_ref(&bitmap),
    )
    .await;

    let db = redb::Database::open(&path).expect("open the file with redb");
    let txn = db.begin_write().expect("write txn");
    let removed = {
        let mut chunks = txn.open_table(CHUNKS).expect("chunks table");
        let stored = chunks
            .range((key.as_str(), 0u32)..=(key.as_str(), u32::MAX))
            .expect("range")
            .count();
        assert!(stored > 60, "the bitmap lies in many rows ({stored})");
        let mut removed = 0;
        for i in 20..40u32 {
            removed += u32::from(chunks.remove((key.as_str(), i)).expect("remove").is_some());
        }
        removed
    };
    txn.commit().expect("commit");
    drop(db);
    assert_eq!(removed, 20);

    // A count reads the header (in the first row) alone: the deleted rows do not matter.
    let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only open");
    assert_eq!(
        ro.count(std::slice::from_ref(&key)).await.expect("count"),
        vec![bits.len()]
    );
    drop(ro);
    let store = EmbeddedStore::open(&path, options()).expect("writable open");
    assert_eq!(
        store
            .count(std::slice::from_ref(&key))
            .await
            .expect("count"),
        vec![bits.len()]
    );
    drop(store);

    let within: RoaringBitmap = (0..3u32).chain((39 << 16)..(39 << 16) + 9).collect();
    let want = Bitmap::with_byte_len(&bits & &within, bitmap.byte_len());
    let within = Bitmap::from_bits(within);
    let keys = [key];

    let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only open");
    let got = ro
        .get_within(&keys, &within)
        .await
        .expect("restricted read");
    assert_eq!(got, vec![Some(want.clone())]);
    match ro.get(&keys).await {
        Err(Error::CorruptBitmap { key, reason }) => {
            assert_eq!(key, keys[0]);
            assert!(reason.contains("row 20"), "{reason}");
        }
        other => panic!("a full read needs the deleted rows: {other:?}"),
    }
    drop(ro);

    let store = EmbeddedStore::open(&path, options()).expect("writable open");
    let got = store
        .get_within(&keys, &within)
        .await
        .expect("restricted read");
    assert_eq!(got, vec![Some(want)]);
    // A restriction that needs a deleted row finds it missing.
    let middle = Bitmap::from_bits(((12u32 << 16)..(12 << 16) + 5).collect());
    match store.get_within(&keys, &middle).await {
        Err(Error::CorruptBitmap { key, reason }) => {
            assert_eq!(key, keys[0]);
            assert!(reason.contains("missing"), "{reason}");
        }
        other => panic!("the restriction needs a deleted row: {other:?}"),
    }
}

/// The redb table of bitmaps, as the store names it.
const BITMAPS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("bitmaps");

/// Fixed bitmaps covering every layout the proptest draws from at random, each checked to
/// be stored as intended: inline (format byte 1) or in rows (2) with 0, 1 or many full-page
/// chunks; roaring with and without run containers, with and without its offset table.
#[tokio::test]
async fn every_layout_reads_restricted_like_the_full_read() {
    let runs = |containers: u16| -> RoaringBitmap {
        let mut b = RoaringBitmap::new();
        for c in 0..u32::from(containers) {
            for r in 0..900u32 {
                b.insert_range((c << 16) + r * 70..(c << 16) + r * 70 + 30);
            }
        }
        b
    };
    // (name, bits, format byte, fewest and most full-page chunks)
    let cases: Vec<(&str, RoaringBitmap, u8, u32, u32)> = vec![
        ("empty", RoaringBitmap::new(), 1, 0, 0),
        ("small array", (0..100).map(|v| v * 5).collect(), 1, 0, 0),
        (
            "one row of array",
            (0..1_900).map(|v| v * 3).collect(),
            2,
            0,
            1,
        ),
        (
            "arrays in many rows",
            (0..30u32 << 16).step_by(33).collect(),
            2,
            10,
            40,
        ),
        (
            "bitmaps, no runs",
            (0..12u32 << 16).filter(|v| v % 3 != 0).collect(),
            2,
            20,
            30,
        ),
        ("runs, no offset table", runs(3), 2, 1, 4),
        ("runs with offset table", runs(9), 2, 5, 10),
        (
            "mixed, up to the top container",
            {
                let mut b = runs(2);
                b.extend((5u32 << 16..6 << 16).filter(|v| v % 3 != 0));
                b.extend((7u32 << 16..8 << 16).step_by(40));
                b.insert(u32::MAX - 1);
                b
            },
            2,
            3,
            6,
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("layouts.redb");
    let keys: Vec<String> = cases.iter().map(|c| format!("layout:{}", c.0)).collect();
    let model: Vec<Bitmap> = cases
        .iter()
        .map(|(_, bits, ..)| {
            let len = bits.max().map_or(1, |m| m / 8 + 1);
            Bitmap::with_byte_len(bits.clone(), len)
        })
        .collect();
    store_all(&path, &keys, &model).await;

    {
        let db = redb::Database::open(&path).expect("open the file with redb");
        let txn = db.begin_read().expect("read txn");
        let bitmaps = txn.open_table(BITMAPS).expect("bitmaps");
        let chunks = txn.open_table(CHUNKS).expect("chunks");
        for ((name, _, format, fewest, most), key) in cases.iter().zip(&keys) {
            let value = bitmaps.get(key.as_str()).expect("get").expect("stored");
            assert_eq!(value.value()[0], *format, "{name}: value format");
            let n = chunks
                .range((key.as_str(), 0u32)..=(key.as_str(), u32::MAX))
                .expect("range")
                .count() as u32;
            assert!(
                (*fewest..=*most).contains(&n),
                "{name}: {n} full-page chunks"
            );
        }
    }

    for bits in model.iter().map(Bitmap::bits) {
        for how in [
            Restrict::First,
            Restrict::Last,
            Restrict::NoContainer,
            Restrict::Some(vec![true, false], 9),
            Restrict::All,
            Restrict::Empty,
        ] {
            let within = Bitmap::from_bits(restriction(bits, &how));
            let store = EmbeddedStore::open(&path, options()).expect("reopen");
            check(&store, &keys, &model, &within)
                .await
                .unwrap_or_else(|e| panic!("{how:?}, writable: {e}"));
            drop(store);
            let ro = ReadOnlyEmbeddedStore::open(&path).expect("read-only open");
            check(&ro, &keys, &model, &within)
                .await
                .unwrap_or_else(|e| panic!("{how:?}, read-only: {e}"));
        }
    }
}
