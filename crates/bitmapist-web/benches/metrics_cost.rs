//! What recording metrics costs marking: two markers on two embedded stores in one process,
//! one built before the Prometheus recorder is installed (its handles are no-ops: nothing
//! recorded) and one after (every mark counted, the queue depth set per batch, every commit
//! measured), driven alternately so that both share the machine's noise.
//!
//! Run: `cargo bench -p bitmapist-web --bench metrics_cost`
//!
//! One round: TASKS concurrent tasks queue PER_TASK marks each through `Marker::mark_event`,
//! then wait until the worker has written them all; marks per second from the first push
//! to the last write. The queue is large enough that nothing is dropped (checked).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitmapist::{Bitmapist, EmbeddedOptions, EmbeddedStore};
use bitmapist_web::Marker;

const TASKS: u32 = 4;
const PER_TASK: u32 = 100_000;
const ROUNDS: usize = 31;

fn open(dir: &std::path::Path, name: &str) -> Marker {
    let store = EmbeddedStore::open(&dir.join(name), EmbeddedOptions::default()).expect("open");
    let client = Bitmapist::new(Arc::new(store));
    Marker::start(client, (TASKS * PER_TASK) as usize, false)
}

/// Marks per second of one round on `marker` (user ids offset by `round`, so that every
/// round sets new bits).
async fn round(marker: &Marker, round: u32) -> f64 {
    let before = marker.stats();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let marker = marker.clone();
        tasks.push(tokio::spawn(async move {
            let base = round * TASKS * PER_TASK + t * PER_TASK;
            for i in 0..PER_TASK {
                marker.mark_event("page:viewed", base + i).expect("queued");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let want = before.written + u64::from(TASKS * PER_TASK);
    while marker.stats().written < want {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let rate = f64::from(TASKS * PER_TASK) / started.elapsed().as_secs_f64();
    assert_eq!(marker.stats().dropped, 0, "nothing dropped");
    rate
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let plain = open(dir.path(), "plain.redb");
        let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("install the recorder");
        let recorded = open(dir.path(), "recorded.redb");

        // Warm up both, then alternate.
        round(&plain, 0).await;
        round(&recorded, 0).await;
        let (mut p, mut r, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for i in 1..=ROUNDS as u32 {
            let (a, b) = if i % 2 == 0 {
                let b = round(&recorded, i).await;
                (round(&plain, i).await, b)
            } else {
                let a = round(&plain, i).await;
                (a, round(&recorded, i).await)
            };
            p.push(a);
            r.push(b);
            ratios.push(b / a);
        }
        // The recorded marker really recorded: its counter holds every mark it queued.
        let text = prometheus.render();
        let queued = text
            .lines()
            .find_map(|l| l.strip_prefix("bitmapist_marks_queued_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        assert_eq!(queued, recorded.stats().queued, "the recorder saw every mark");

        println!(
            "{TASKS} tasks x {PER_TASK} marks per round, {ROUNDS} rounds each, alternating (embedded store)"
        );
        println!("without metrics  median {:>10.0} marks/s", median(p));
        println!("with metrics     median {:>10.0} marks/s", median(r));
        println!(
            "ratio with/without: median {:.3} (of {ROUNDS} paired rounds)",
            median(ratios)
        );
        plain.shutdown().await.expect("shutdown");
        recorded.shutdown().await.expect("shutdown");
    });
}
