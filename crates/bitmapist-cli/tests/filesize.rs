//! File size through the `bitmapist` binary: `seed` and `import` leave a compacted file
//! within 1.25x of the serialized bitmaps, `events --format json` reports that sum (checked
//! against roaring's own sizes), and `compact` works on files and refuses other stores.

use crate::common::json_of;
use std::path::Path;

use bitmapist::{ReadOnlyEmbeddedStore, Store};
use serde_json::Value;

const END: &str = "2026-11-22T18:00:00Z";

/// Runs `bitmapist ARGS` in `dir` with no `BITMAPIST_*` variable set; (code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    crate::common::run(dir, args).parts()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("file size").len()
}

/// The sum of the serialized roaring sizes (after `optimize`) of every bitmap in the file,
/// computed with roaring itself through the library (the binary has exited).
fn roaring_sum(path: &Path) -> (u64, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Read-only: a writable open and close would record redb's allocator state and
        // grow the file being measured.
        let store = ReadOnlyEmbeddedStore::open(path).expect("open");
        let keys = store.keys("").await.expect("keys");
        let got = store.get(&keys).await.expect("get");
        let sum = got
            .into_iter()
            .map(|b| {
                let mut bits = b.expect("exists").into_bits();
                bits.optimize();
                bits.serialized_size() as u64
            })
            .sum();
        (sum, keys.len())
    })
}

/// Checks `events --format json`'s `storage` against the file and roaring, and the bound.
fn check_file(dir: &Path, path: &Path) -> Value {
    let url = format!("file://{}", path.display());
    let events = json_of(dir, &["--store", &url, "events", "--at", END]);
    let storage = events["storage"].clone();
    let (sum, keys) = roaring_sum(path);
    assert_eq!(storage["roaring_bytes"].as_u64(), Some(sum), "{storage}");
    assert_eq!(storage["keys"].as_u64(), Some(keys as u64), "{storage}");
    let file = file_len(path);
    assert_eq!(storage["file_bytes"].as_u64(), Some(file), "{storage}");
    assert!(
        file as f64 <= 1.25 * sum as f64,
        "{} on disk for {sum} bytes of bitmaps ({:.3}x)",
        file,
        file as f64 / sum as f64
    );
    assert!(keys > 500, "{keys} keys");
    storage
}

#[test]
fn seed_and_import_leave_a_file_within_the_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let seeded = d.join("seeded.redb");
    let url = format!("file://{}", seeded.display());
    let summary = json_of(
        d,
        &[
            "--store", &url, "seed", "--users", "20000", "--days", "60", "--end", END, "--seed",
            "3",
        ],
    );
    let compaction = &summary["compaction"];
    assert!(
        compaction["after"]["file_bytes"].as_u64() <= compaction["before_bytes"].as_u64(),
        "{compaction}"
    );
    let storage = check_file(d, &seeded);
    assert_eq!(
        compaction["after"]["roaring_bytes"],
        storage["roaring_bytes"]
    );
    assert_eq!(compaction["after"]["keys"], storage["keys"]);

    let imported = d.join("imported.redb");
    let to = format!("file://{}", imported.display());
    let summary = json_of(d, &["import", "--from", &url, "--to", &to]);
    assert_eq!(summary["mismatches"], 0);
    assert!(summary["compaction"].is_object(), "{summary}");
    let copy = check_file(d, &imported);
    assert_eq!(copy["roaring_bytes"], storage["roaring_bytes"]);
    assert_eq!(copy["keys"], storage["keys"]);

    // Compacting again changes nothing but the file's identity.
    let again = json_of(d, &["--store", &to, "compact"]);
    assert_eq!(
        again["compaction"]["after"]["roaring_bytes"],
        copy["roaring_bytes"]
    );
    assert!(
        again["compaction"]["after"]["file_bytes"].as_u64() <= copy["file_bytes"].as_u64(),
        "{again}"
    );
    let (code, out, _) = run(d, &["--store", &to, "compact"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("compacted file://"), "{out}");
    assert!(out.contains("x the serialized bitmaps"), "{out}");
}

#[test]
fn compact_refuses_stores_without_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, out, err) = run(dir.path(), &["--store", "memory://", "compact"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("file://") && err.contains("memory://"),
        "{err}"
    );
    let events = json_of(dir.path(), &["--store", "memory://", "events"]);
    assert_eq!(events["storage"], Value::Null);
}
