//! The seed's bulk path and `Store::merge`, against independent models.
//!
//! - `seed::run` (days generated in parallel, written as whole bitmaps in batches, the store
//!   released between batches) must leave exactly the keys and bitmaps (bits and Redis
//!   lengths) that marking the generator's marks one by one with `mark_events` leaves, on the
//!   memory store, on the embedded file (after a reopen) and on a real redis-server, with and
//!   without hour and unique keys, and must add to what a store already holds.
//! - `Store::merge` must be `BITOP OR key key bitmap` on every store: checked with proptest
//!   against a model of sets of ids and lengths.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bitmapist::seed::{self, BATCH_DAYS, PLAN_PROPERTY, PLAN_VALUES, SeedPlan};
use bitmapist::{Bitmap, Bitmapist, MarkOptions, Period};
use bitmapist::{EmbeddedOptions, EmbeddedStore, KeyWrite, MemoryStore, Store};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use proptest::prelude::*;

use common::redis_server::RedisServer;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Mid-afternoon, so that the last day is cut at `end`.
fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 15, 30, 0)
        .single()
        .expect("a valid time")
}

/// Every key under the prefix with its bitmap.
async fn dump(store: &dyn Store) -> BTreeMap<String, Bitmap> {
    let keys = store.keys("trackist_").await.expect("keys");
    let got = store.get(&keys).await.expect("get");
    keys.into_iter()
        .zip(got)
        .map(|(k, b)| {
            (
                k.clone(),
                b.unwrap_or_else(|| panic!("{k} listed but missing")),
            )
        })
        .collect()
}

/// The model: the generator's marks written one day at a time with `mark_events`, the
/// unique flags and each user's plan with `mark_unique`, into a memory store.
async fn marked(plan: &SeedPlan, unique: bool) -> BTreeMap<String, Bitmap> {
    let bm = Bitmapist::builder()
        .store(Arc::new(MemoryStore::new()))
        .track_unique(unique)
        .open()
        .await
        .expect("memory store");
    let generator = plan.generator().expect("generator");
    let opts = MarkOptions {
        hourly: Some(plan.hourly),
        unique: None,
    };
    for day in generator.clone() {
        bm.mark_events(day.marks.iter().copied(), opts)
            .await
            .expect("mark_events");
    }
    for (flag, uid) in generator.unique_flags() {
        bm.mark_unique(flag, uid).await.expect("mark_unique");
    }
    // Each user's plan as its unique event (one value per user: nothing to clear, so
    // `set_property`'s clearing of the other values, which lengthens their strings as
    // Redis's SETBIT does, is not part of the model).
    for uid in 1..=plan.users {
        let value = PLAN_VALUES[generator.plan_of(uid)];
        bm.mark_unique(&format!("{PLAN_PROPERTY}:{value}"), uid)
            .await
            .expect("mark_unique");
    }
    dump(bm.store().as_ref()).await
}

/// Seeds `plan` into `store` with `seed::run`; checks the summary against the generator.
async fn seeded(store: Arc<dyn Store>, plan: &SeedPlan, unique: bool) {
    let bm = Bitmapist::builder()
        .store(store)
        .track_unique(unique)
        .open()
        .await
        .expect("handle");
    let mut days_seen = Vec::new();
    let summary = seed::run(&bm, plan, |p| days_seen.push(p.days_done))
        .await
        .expect("seed");
    assert_eq!(days_seen, (1..=plan.days).collect::<Vec<_>>());
    let generator = plan.generator().expect("generator");
    let marks: u64 = generator.clone().map(|d| d.marks.len() as u64).sum();
    let flags = generator.unique_flags().len() as u64;
    assert_eq!(summary.marks, marks + flags);
    assert_eq!(summary.events.values().sum::<u64>(), marks);
}

fn assert_same(got: &BTreeMap<String, Bitmap>, want: &BTreeMap<String, Bitmap>) {
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "the same keys");
    for (key, bitmap) in want {
        let g = &got[key];
        assert_eq!(g.byte_len(), bitmap.byte_len(), "length of {key}");
        assert!(
            g == bitmap,
            "bits of {key}: {} vs {}",
            g.count(),
            bitmap.count()
        );
    }
}

/// Plans crossing month and ISO-week boundaries, with more days than a batch.
fn plans() -> Vec<(SeedPlan, bool)> {
    let days = 3 * BATCH_DAYS + 5;
    vec![
        (SeedPlan::new(3_000, days, end()).seed(4), false),
        (SeedPlan::new(1_500, days, end()).seed(5).hourly(true), true),
        (SeedPlan::new(700, 1, end()).seed(6), false),
    ]
}

#[test]
fn seeding_the_memory_store_writes_what_marking_writes() {
    rt().block_on(async {
        for (plan, unique) in plans() {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
            seeded(Arc::clone(&store), &plan, unique).await;
            let want = marked(&plan, unique).await;
            assert!(want.len() > 10, "a real data set: {} keys", want.len());
            assert_same(&dump(store.as_ref()).await, &want);
        }
    });
}

#[test]
fn seeding_the_file_store_writes_what_marking_writes_and_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    rt().block_on(async {
        for (i, (plan, unique)) in plans().into_iter().enumerate() {
            let path = dir.path().join(format!("s{i}.redb"));
            // Idle eviction off: only the seed's own release may empty the cache.
            let options = EmbeddedOptions {
                flush_interval: Duration::from_secs(3600),
                idle_eviction: None,
            };
            let store = EmbeddedStore::open(&path, options.clone()).expect("open");
            seeded(Arc::new(store), &plan, unique).await;
            let reopened = EmbeddedStore::open(&path, options).expect("reopen");
            assert_same(&dump(&reopened).await, &marked(&plan, unique).await);
        }
    });
}

#[test]
fn seeding_a_real_redis_writes_what_marking_writes() {
    let server = RedisServer::start();
    rt().block_on(async {
        let plan = SeedPlan::new(400, BATCH_DAYS + 3, end())
            .seed(8)
            .hourly(true);
        let store = bitmapist::open_store(&server.url()).await.expect("redis");
        seeded(Arc::clone(&store), &plan, true).await;
        assert_same(&dump(store.as_ref()).await, &marked(&plan, true).await);
    });
}

#[test]
fn seeding_adds_to_what_the_store_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    rt().block_on(async {
        let plan = SeedPlan::new(2_000, BATCH_DAYS + 2, end()).seed(9);
        let day = plan.start().expect("start");
        let at = day.and_hms_opt(12, 0, 0).expect("noon").and_utc();
        // Earlier marks: a user beyond the plan's in a day, week and month it writes, an
        // event it does not know, and a key made longer by a cleared bit.
        let earlier = [
            ("user:logged_in", 9_000_000u32, at),
            ("user:logged_in", 2, at),
            ("app:opened", 1, at),
        ];
        let cleared = KeyWrite {
            key: "trackist_user:signed_up_u".to_string(),
            value: false,
            offsets: vec![40_000],
        };
        let store: Arc<dyn Store> = Arc::new(
            EmbeddedStore::open(&dir.path().join("a.redb"), EmbeddedOptions::default())
                .expect("open"),
        );
        let bm = Bitmapist::new(Arc::clone(&store));
        bm.mark_events(earlier, MarkOptions::default())
            .await
            .expect("mark");
        store
            .write(std::slice::from_ref(&cleared))
            .await
            .expect("write");
        seed::run(&bm, &plan, |_| {}).await.expect("seed");

        let model = Bitmapist::new(Arc::new(MemoryStore::new()));
        model
            .mark_events(earlier, MarkOptions::default())
            .await
            .expect("mark");
        model.store().write(&[cleared]).await.expect("write");
        for day in plan.generator().expect("generator") {
            model
                .mark_events(day.marks.iter().copied(), MarkOptions::default())
                .await
                .expect("mark");
        }
        let generator = plan.generator().expect("generator");
        for (flag, uid) in generator.unique_flags() {
            model.mark_unique(flag, uid).await.expect("mark_unique");
        }
        for uid in 1..=plan.users {
            let value = PLAN_VALUES[generator.plan_of(uid)];
            model
                .mark_unique(&format!("{PLAN_PROPERTY}:{value}"), uid)
                .await
                .expect("mark_unique");
        }
        let got = dump(store.as_ref()).await;
        assert_same(&got, &dump(model.store().as_ref()).await);
        let month = Period::month(day.year(), day.month()).expect("month");
        let month = bm.layout().key("user:logged_in", &month);
        assert!(got[&month].contains(9_000_000), "the earlier mark survives");
    });
}

/// One step of the merge model: a bit write or a merge of a bitmap.
#[derive(Clone, Debug)]
enum Op {
    Write(usize, bool, Vec<u32>),
    Merge(Vec<(usize, Vec<u32>, u32)>),
}

const KEYS: [&str; 3] = ["trackist_a", "trackist_b", "trackist_c"];

fn op() -> impl Strategy<Value = Op> {
    let ids = prop::collection::vec(prop_oneof![0u32..200, 60_000u32..70_000], 0..20);
    prop_oneof![
        (0..KEYS.len(), any::<bool>(), ids.clone()).prop_map(|(k, v, o)| Op::Write(k, v, o)),
        prop::collection::vec((0..KEYS.len(), ids, 0u32..20_000), 0..4).prop_map(Op::Merge),
    ]
}

/// The model: per key, the set ids and the length in bytes; a key exists once touched.
type Model = BTreeMap<&'static str, (BTreeSet<u32>, u32)>;

/// Applies `op` to the model; `exact_len`: a merge reaches the bitmap's whole length (memory,
/// file), else only its highest set bit (Redis, which cannot grow a key without a write).
fn apply(model: &mut Model, op: &Op, exact_len: bool) {
    let grow = |len: &mut u32, to: u32| *len = (*len).max(to);
    match op {
        Op::Write(k, value, offsets) => {
            if offsets.is_empty() {
                return;
            }
            let (set, len) = model.entry(KEYS[*k]).or_default();
            for &o in offsets {
                grow(len, o / 8 + 1);
                if *value {
                    set.insert(o);
                } else {
                    set.remove(&o);
                }
            }
        }
        Op::Merge(entries) => {
            for (k, ids, byte_len) in entries {
                let need = ids.iter().max().map_or(0, |m| m / 8 + 1);
                if exact_len && (*byte_len).max(need) == 0 || !exact_len && ids.is_empty() {
                    continue;
                }
                let l = if exact_len {
                    (*byte_len).max(need)
                } else {
                    need
                };
                let (set, len) = model.entry(KEYS[*k]).or_default();
                set.extend(ids.iter().copied());
                grow(len, l);
            }
        }
    }
}

async fn run_ops(store: &dyn Store, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Write(k, value, offsets) => store
                .write(&[KeyWrite {
                    key: KEYS[*k].to_string(),
                    value: *value,
                    offsets: offsets.clone(),
                }])
                .await
                .expect("write"),
            Op::Merge(entries) => store
                .merge(
                    entries
                        .iter()
                        .map(|(k, ids, len)| {
                            let bits = ids.iter().copied().collect();
                            (KEYS[*k].to_string(), Bitmap::with_byte_len(bits, *len))
                        })
                        .collect(),
                )
                .await
                .expect("merge"),
        }
    }
}

async fn check(store: &dyn Store, model: &Model) {
    let got = dump(store).await;
    let want: BTreeMap<String, (BTreeSet<u32>, u32)> = model
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let got: BTreeMap<String, (BTreeSet<u32>, u32)> = got
        .into_iter()
        .map(|(k, b)| (k, (b.iter().collect(), b.byte_len())))
        .collect();
    assert_eq!(got, want, "{}", store.describe());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn merge_is_bitop_or_on_memory_and_file(ops in prop::collection::vec(op(), 1..12)) {
        let mut model = Model::new();
        for op in &ops {
            apply(&mut model, op, true);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        rt().block_on(async {
            check(&{
                let s = MemoryStore::new();
                run_ops(&s, &ops).await;
                s
            }, &model).await;
            let path = dir.path().join("m.redb");
            let options = EmbeddedOptions { flush_interval: Duration::from_secs(3600), idle_eviction: None };
            {
                let s = EmbeddedStore::open(&path, options.clone()).expect("open");
                // Half the steps, a release (commit and empty cache), the rest: merges then
                // load from the file.
                let half = ops.len() / 2;
                run_ops(&s, &ops[..half]).await;
                s.flush_release().await.expect("release");
                run_ops(&s, &ops[half..]).await;
                check(&s, &model).await;
            }
            check(&EmbeddedStore::open(&path, options).expect("reopen"), &model).await;
        });
    }
}

#[test]
fn merge_is_bitop_or_on_a_real_redis() {
    let server = RedisServer::start();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    let rt = rt();
    let store = rt
        .block_on(bitmapist::open_store(&server.url()))
        .expect("redis");
    runner
        .run(&prop::collection::vec(op(), 1..10), |ops| {
            let mut model = Model::new();
            for op in &ops {
                apply(&mut model, op, false);
            }
            rt.block_on(async {
                store.delete_prefix("trackist_").await.expect("clear");
                run_ops(store.as_ref(), &ops).await;
                check(store.as_ref(), &model).await;
            });
            Ok(())
        })
        .expect("merge matches the model on Redis");
}

#[test]
fn cohorts_read_from_the_file_match_the_memory_store() {
    use bitmapist::{CohortSpec, TimeGroup};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.redb");
    rt().block_on(async {
        let plan = SeedPlan::new(150_000, 45, end()).seed(12);
        let memory = Bitmapist::new(Arc::new(MemoryStore::new()));
        seed::run(&memory, &plan, |_| {})
            .await
            .expect("seed memory");
        {
            let file = Bitmapist::open(&format!("file://{}", path.display()))
                .await
                .expect("open");
            seed::run(&file, &plan, |_| {}).await.expect("seed file");
        }
        // Reopened: nothing cached, every chain read from the file, restricted.
        let file = Bitmapist::open(&format!("file://{}", path.display()))
            .await
            .expect("reopen");
        let specs = [
            CohortSpec::new("user:signed_up", "user:logged_in")
                .rows(30)
                .cols(30),
            CohortSpec::new("user:signed_up", "user:logged_in")
                .rows(40)
                .cols(10)
                .with_replacement(true),
            CohortSpec::new("user:signed_up", "page:viewed")
                .and("user:logged_out")
                .or("user:purchased")
                .time_group(TimeGroup::Weeks)
                .rows(6)
                .cols(6),
            // An `or` on a secondary without users: the cells stay 0.
            CohortSpec::new("user:signed_up", "user:never")
                .or("user:logged_in")
                .rows(5),
            CohortSpec::new("user:purchased", "user:upgraded")
                .rows(20)
                .cols(20),
        ];
        let mut nonzero = 0;
        for spec in specs {
            let spec = spec.now(end());
            let want = memory.get_cohort(&spec).await.expect("memory cohort");
            let got = file.get_cohort(&spec).await.expect("file cohort");
            assert_eq!(got, want, "{spec:?}");
            nonzero += want.col_totals.iter().filter(|&&n| n > 0).count();
        }
        assert!(nonzero > 20, "tables with data: {nonzero} non-zero columns");
    });
}
