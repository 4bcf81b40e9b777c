//! What the server counts for `INFO` (`stats`, `commandstats`, `errorstats`,
//! `latencystats`), `LATENCY HISTOGRAM` and `SLOWLOG`, under Redis 7's names and shapes.
//!
//! # Why
//!
//! Operators watch bitmapist-server as they watch Redis (redis_exporter, Grafana): the
//! same fields, the same per-command calls, durations and latency percentiles.
//!
//! # How
//!
//! Connection-wide totals are relaxed atomics. Per-command figures (calls, time, failed and
//! rejected calls, an HDR latency histogram per command as Redis keeps one) are recorded
//! first in the connection's own [`Recorder`], with no lock and no allocation, and merged
//! into the shared table once per batch of pipelined commands (one lock per batch, not per
//! command). Error replies are counted by their first word (`ERR`, `WRONGTYPE`...) under a
//! lock: they are rare. A command that takes at least `-slowlog-log-slower-than`
//! microseconds goes to the slow log at once.
//!
//! # Invariants
//!
//! - Histograms hold nanoseconds from 1,024 ns to 1 s, two significant digits (Redis's
//!   bounds); longer durations count as 1 s.
//! - `CONFIG RESETSTAT` zeroes everything here except the connected clients and the slow log
//!   (which `SLOWLOG RESET` empties), as in Redis.
//!
//! Nothing here is persisted: a restart starts every figure from zero.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::args::Args;
use crate::command_table::Command;

/// The lowest duration a latency histogram tells apart (ns), as in Redis.
const HISTOGRAM_LOW_NS: u64 = 1024;
/// The highest duration a latency histogram holds (ns); longer ones count as this.
const HISTOGRAM_HIGH_NS: u64 = 1_000_000_000;
/// Significant digits of the latency histograms, as in Redis.
const HISTOGRAM_DIGITS: u8 = 2;
/// Samples of the command counter kept for `instantaneous_ops_per_sec` (Redis: 16).
const OPS_SAMPLES: usize = 16;
/// Arguments a slow log entry keeps (the last says how many more there were).
const SLOWLOG_ARGS: usize = 32;
/// Bytes of one argument a slow log entry keeps.
const SLOWLOG_ARG_BYTES: usize = 128;

/// Locks a mutex, recovering from a panic elsewhere (the figures stay usable).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One command's figures (`cmdstat_<name>` and its latency histogram).
#[derive(Debug, Default)]
pub struct CommandFigures {
    /// Calls that ran (failed ones included).
    pub calls: u64,
    /// Their total duration, in nanoseconds.
    pub nanos: u64,
    /// Calls refused before running (wrong arity, `NOAUTH`).
    pub rejected: u64,
    /// Calls that ran and answered an error.
    pub failed: u64,
    histogram: Option<Histogram<u64>>,
}

impl CommandFigures {
    fn record(&mut self, nanos: u64, failed: bool) {
        self.calls += 1;
        self.nanos += nanos;
        self.failed += u64::from(failed);
        self.histogram
            .get_or_insert_with(|| {
                Histogram::new_with_bounds(HISTOGRAM_LOW_NS, HISTOGRAM_HIGH_NS, HISTOGRAM_DIGITS)
                    .expect("constant bounds are valid")
            })
            .saturating_record(nanos.max(1));
    }

    /// Whether the command was ever called or refused.
    pub fn seen(&self) -> bool {
        self.calls > 0 || self.rejected > 0
    }

    /// The latency histogram (`None` before the first call).
    pub fn histogram(&self) -> Option<&Histogram<u64>> {
        self.histogram.as_ref()
    }
}

/// What one connection recorded since its last merge.
#[derive(Debug, Default)]
pub struct Recorder {
    /// (command, nanoseconds, failed) of each command that ran.
    ran: Vec<(Command, u64, bool)>,
    /// Commands refused before running.
    rejected: Vec<Command>,
}

impl Recorder {
    /// Records a command that ran for `elapsed`, and whether it answered an error.
    pub fn ran(&mut self, command: Command, elapsed: Duration, failed: bool) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.ran.push((command, nanos, failed));
    }

    /// Records a command refused before running.
    pub fn rejected(&mut self, command: Command) {
        self.rejected.push(command);
    }

    fn is_empty(&self) -> bool {
        self.ran.is_empty() && self.rejected.is_empty()
    }
}

/// One slow log entry (`SLOWLOG GET`).
#[derive(Clone, Debug)]
pub struct SlowEntry {
    /// Its id, increasing from 0 since the start.
    pub id: u64,
    /// When the command ran (Unix seconds).
    pub time: u64,
    /// How long it took (microseconds).
    pub micros: u64,
    /// Its arguments, shortened as Redis does.
    pub args: Vec<Vec<u8>>,
    /// The client's address.
    pub peer: String,
    /// The client's name.
    pub name: Vec<u8>,
}

/// The slow log and its settings.
#[derive(Debug)]
struct SlowLog {
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// What the server counts for `INFO` (`stats`, `commandstats`, `errorstats`,
/// `latencystats`), `LATENCY HISTOGRAM` and `SLOWLOG`, under Redis 7's names.
///
/// Connection-wide totals are relaxed atomics; per-command figures (calls, time, failed and
/// rejected calls, a latency histogram of 1,024 ns to 1 s) arrive from each connection's
/// [`Recorder`] once per batch of pipelined commands; error replies are counted by their
/// first word; a command slower than the slow-log threshold is logged at once. Nothing is
/// persisted: a restart starts every figure from zero.
#[derive(Debug)]
pub struct Stats {
    clients: AtomicUsize,
    connections: AtomicU64,
    commands: AtomicU64,
    net_input: AtomicU64,
    net_output: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    streamed: AtomicU64,
    abandoned: AtomicU64,
    error_replies: AtomicU64,
    peak_memory: AtomicU64,
    ops: Mutex<VecDeque<(u64, u64)>>,
    per_command: Mutex<Vec<CommandFigures>>,
    errors: Mutex<BTreeMap<String, u64>>,
    slowlog: Mutex<SlowLog>,
    slower_than_us: i64,
    slowlog_max_len: usize,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new(10_000, 128)
    }
}

impl Stats {
    /// Counters with a slow log of `max_len` entries of commands that took at least
    /// `slower_than_us` microseconds (negative: none).
    pub fn new(slower_than_us: i64, max_len: usize) -> Self {
        Stats {
            clients: AtomicUsize::new(0),
            connections: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            net_input: AtomicU64::new(0),
            net_output: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            streamed: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            error_replies: AtomicU64::new(0),
            peak_memory: AtomicU64::new(0),
            ops: Mutex::new(VecDeque::with_capacity(OPS_SAMPLES + 1)),
            per_command: Mutex::new(Command::ALL.iter().map(|_| Default::default()).collect()),
            errors: Mutex::new(BTreeMap::new()),
            slowlog: Mutex::new(SlowLog {
                entries: VecDeque::new(),
                next_id: 0,
            }),
            slower_than_us,
            slowlog_max_len: max_len,
        }
    }

    /// Connected clients now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Connections accepted since the start (or `CONFIG RESETSTAT`).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Commands run.
    pub fn commands(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    /// Counts `n` more commands.
    pub fn add_commands(&self, n: u64) {
        self.commands.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes read from clients.
    pub fn net_input(&self) -> u64 {
        self.net_input.load(Ordering::Relaxed)
    }

    /// Bytes written to clients.
    pub fn net_output(&self) -> u64 {
        self.net_output.load(Ordering::Relaxed)
    }

    /// Counts bytes read from a client.
    pub fn add_input(&self, n: usize) {
        self.net_input.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts bytes written to a client.
    pub fn add_output(&self, n: usize) {
        self.net_output.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a read of a key that exists (`hit`) or not.
    pub fn count_lookup(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads of keys that existed, and of keys that did not.
    pub fn lookups(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Counts a reply streamed in chunks.
    pub fn count_streamed(&self) {
        self.streamed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a streamed reply abandoned because its client left.
    pub fn count_abandoned(&self) {
        self.abandoned.fetch_add(1, Ordering::Relaxed);
    }

    /// Replies streamed, and those abandoned.
    pub fn streamed(&self) -> (u64, u64) {
        (
            self.streamed.load(Ordering::Relaxed),
            self.abandoned.load(Ordering::Relaxed),
        )
    }

    /// Counts an error reply by its first word (`ERR`, `WRONGTYPE`, `NOAUTH`...).
    pub fn count_error(&self, text: &[u8]) {
        self.error_replies.fetch_add(1, Ordering::Relaxed);
        let word = text.split(|&b| b == b' ').next().unwrap_or_default();
        let word = String::from_utf8_lossy(&word[..word.len().min(64)]).into_owned();
        *lock(&self.errors).entry(word).or_default() += 1;
    }

    /// Error replies sent.
    pub fn error_replies(&self) -> u64 {
        self.error_replies.load(Ordering::Relaxed)
    }

    /// Error replies by first word, sorted.
    pub fn errors(&self) -> Vec<(String, u64)> {
        lock(&self.errors)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Notes the allocator's size now; the highest seen.
    pub fn note_memory(&self, bytes: u64) -> u64 {
        self.peak_memory
            .fetch_max(bytes, Ordering::Relaxed)
            .max(bytes)
    }

    /// Takes a sample of the command counter at `now_ms` (every 100 ms, by the sweep).
    pub fn sample_ops(&self, now_ms: u64) {
        let mut ops = lock(&self.ops);
        ops.push_back((now_ms, self.commands()));
        while ops.len() > OPS_SAMPLES + 1 {
            ops.pop_front();
        }
    }

    /// Commands per second over the last samples (Redis's `instantaneous_ops_per_sec`).
    pub fn ops_per_sec(&self) -> u64 {
        let ops = lock(&self.ops);
        match (ops.front(), ops.back()) {
            (Some(&(t0, c0)), Some(&(t1, c1))) if t1 > t0 => {
                c1.saturating_sub(c0).saturating_mul(1000) / (t1 - t0)
            }
            _ => 0,
        }
    }

    /// Merges what a connection recorded into the shared table, and empties it.
    pub fn merge(&self, recorder: &mut Recorder) {
        if recorder.is_empty() {
            return;
        }
        let mut table = lock(&self.per_command);
        for (command, nanos, failed) in recorder.ran.drain(..) {
            table[command as usize].record(nanos, failed);
        }
        for command in recorder.rejected.drain(..) {
            table[command as usize].rejected += 1;
        }
    }

    /// Calls `f` with the per-command figures (indexed as `Command::ALL`).
    pub fn with_commands<R>(&self, f: impl FnOnce(&[CommandFigures]) -> R) -> R {
        f(&lock(&self.per_command))
    }

    /// Whether a command that took `elapsed` belongs in the slow log.
    pub fn is_slow(&self, elapsed: Duration) -> bool {
        self.slower_than_us >= 0
            && elapsed.as_micros() >= u128::from(self.slower_than_us.unsigned_abs())
    }

    /// Adds a command to the slow log (Redis's shortening of long argument lists and
    /// arguments), dropping the oldest entries past `-slowlog-max-len`.
    pub fn log_slow(&self, args: Args<'_>, elapsed: Duration, peer: &str, name: &[u8]) {
        let mut kept: Vec<Vec<u8>> = Vec::new();
        let argc = args.len();
        for (i, arg) in args.from(0).enumerate() {
            if argc > SLOWLOG_ARGS && i == SLOWLOG_ARGS - 1 {
                kept.push(format!("... ({} more arguments)", argc - i).into_bytes());
                break;
            }
            if arg.len() > SLOWLOG_ARG_BYTES {
                let mut short = arg[..SLOWLOG_ARG_BYTES].to_vec();
                short.extend_from_slice(
                    format!("... ({} more bytes)", arg.len() - SLOWLOG_ARG_BYTES).as_bytes(),
                );
                kept.push(short);
            } else {
                kept.push(arg.to_vec());
            }
        }
        let mut log = lock(&self.slowlog);
        let entry = SlowEntry {
            id: log.next_id,
            time: crate::expiry::now_ms() / 1000,
            micros: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            args: kept,
            peer: peer.to_owned(),
            name: name.to_vec(),
        };
        log.next_id += 1;
        log.entries.push_front(entry);
        log.entries.truncate(self.slowlog_max_len);
    }

    /// The newest `count` slow log entries (all when `None`), newest first.
    pub fn slow_entries(&self, count: Option<usize>) -> Vec<SlowEntry> {
        let log = lock(&self.slowlog);
        let n = count.unwrap_or(log.entries.len());
        log.entries.iter().take(n).cloned().collect()
    }

    /// The slow log's length.
    pub fn slowlog_len(&self) -> usize {
        lock(&self.slowlog).entries.len()
    }

    /// Empties the slow log (`SLOWLOG RESET`).
    pub fn slowlog_reset(&self) {
        lock(&self.slowlog).entries.clear();
    }

    /// The slow log's settings: the threshold in microseconds and the length.
    pub fn slowlog_settings(&self) -> (i64, usize) {
        (self.slower_than_us, self.slowlog_max_len)
    }

    /// Zeroes what `CONFIG RESETSTAT` resets: everything but the connected clients and the
    /// slow log (which `SLOWLOG RESET` empties), as in Redis.
    pub fn reset(&self) {
        for counter in [
            &self.connections,
            &self.commands,
            &self.net_input,
            &self.net_output,
            &self.hits,
            &self.misses,
            &self.streamed,
            &self.abandoned,
            &self.error_replies,
            &self.peak_memory,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        lock(&self.ops).clear();
        for figures in lock(&self.per_command).iter_mut() {
            *figures = CommandFigures::default();
        }
        lock(&self.errors).clear();
    }

    /// Counts a new connection; the guard counts it gone when dropped, however it ends.
    pub(crate) fn connected(&self) -> ClientGuard<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self)
    }
}

/// Decrements the client count when a connection ends, however it ends.
pub(crate) struct ClientGuard<'a>(&'a Stats);

impl Drop for ClientGuard<'_> {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_counts_calls_failures_and_rejections() {
        let stats = Stats::default();
        let mut rec = Recorder::default();
        rec.ran(Command::SetBit, Duration::from_micros(3), false);
        rec.ran(Command::SetBit, Duration::from_micros(5), true);
        rec.rejected(Command::SetBit);
        stats.merge(&mut rec);
        assert!(rec.is_empty());
        stats.with_commands(|t| {
            let f = &t[Command::SetBit as usize];
            assert_eq!((f.calls, f.nanos, f.failed, f.rejected), (2, 8000, 1, 1));
            assert_eq!(f.histogram().map(Histogram::len), Some(2));
            assert!(!t[Command::Get as usize].seen());
        });
        stats.reset();
        stats.with_commands(|t| assert!(!t[Command::SetBit as usize].seen()));
    }

    #[test]
    fn slow_log_keeps_the_newest_and_shortens() {
        let stats = Stats::new(0, 2);
        let long = vec![b'x'; 200];
        let mut buf = b"SET".to_vec();
        buf.extend_from_slice(&long);
        let ranges = [0..3, 3..203];
        for _ in 0..3 {
            stats.log_slow(Args::new(&buf, &ranges), Duration::from_micros(7), "p", b"");
        }
        let entries = stats.slow_entries(None);
        assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(entries[0].args[1].len(), 128 + "... (72 more bytes)".len());
        assert!(stats.is_slow(Duration::ZERO));
        assert!(!Stats::new(-1, 2).is_slow(Duration::from_secs(9)));
    }
}
