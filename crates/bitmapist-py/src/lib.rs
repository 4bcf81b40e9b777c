//! `bitmapist._native`: the Rust engine under the Python package `bitmapist`.
//!
//! Why: Python bitmapist pays one Redis round trip per `BITOP` and leaves the result keys
//! behind; a 30x30 cohort is thousands of round trips. The Python package keeps Python
//! bitmapist's public API (key names, classes, semantics) and hands every hot path to
//! the engine (`crates/bitmapist`): marks, key reads, bit operations, cohort tables.
//!
//! How: one [`Handle`] per store (a [`Bitmapist`] opened by URL); every call releases the
//! GIL and runs the engine's future to completion on one process-wide tokio runtime,
//! driven by the calling thread (no hand-off between threads per call).
//! Bit operations fetch their operands in one batch and combine them in memory into a
//! [`Bits`] snapshot (Redis `BITOP` semantics, lengths included); nothing is written.
//! Cohort tables ([`Handle::dates_data`]) read every bitmap they need in one batch.
//!
//! Invariants: no call panics on input (bad input is a `ValueError`/`TypeError` naming the
//! argument; a store failure is a `ConnectionError` or `OSError`); every write is sent
//! before the call returns, so the next read sees it.
//!
//! What a crash can lose: nothing acknowledged on Redis; on the embedded store (`file://`),
//! what the store's own flush policy says (see `EmbeddedStore`).

mod dashboard;

use std::future::Future;
use std::sync::{Mutex, RwLock};

use bitmapist::{
    Average, Bitmap, Bitmapist, ChainedEvent, CohortKind, CohortSpec, Criterion, Error, Expr,
    FunnelSpec, MarkOptions, Period, RetentionSpec, TimeGroup, Zone, chain_events,
};
use chrono::{DateTime, NaiveDate, Utc};
use pyo3::exceptions::{PyConnectionError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// The process-wide runtime every call blocks on (with the GIL released). A forked child
/// (gunicorn, multiprocessing) inherits no runtime threads, so each process id gets its
/// own runtime; the parent's copy is left alone (dropping it would wait for threads that
/// do not exist in the child). The Python side opens new handles after a fork too.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((owner, rt)) = *slot
        && owner == pid
    {
        return Ok(rt);
    }
    // A current-thread runtime: the calling thread itself drives the connection while it
    // waits, so a call costs no hand-off between threads (what a loop of single marks
    // pays most for); Python threads calling at once take turns driving it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the bitmapist runtime: {e}")))?;
    let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Runs an engine future with the GIL released; engine errors become Python exceptions.
fn run<T: Send, F>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = bitmapist::Result<T>> + Send,
{
    let rt = runtime()?;
    py.detach(|| rt.block_on(fut)).map_err(to_py)
}

/// The one place engine errors become Python exceptions.
fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Redis { .. } => PyConnectionError::new_err(msg),
        Error::AlreadyOpen { .. } | Error::Embedded { .. } => PyOSError::new_err(msg),
        Error::CorruptBitmap { .. } => PyRuntimeError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

fn bad_arg(name: &str, reason: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid argument `{name}`: {reason}"))
}

/// A wall-clock instant given as (year, month, day, hour, minute, second): the fields of a
/// Python `datetime`, read on its own clock exactly as Python bitmapist reads them.
type WallClock = (i32, u32, u32, u32, u32, u32);

fn wall_clock(name: &str, t: WallClock) -> PyResult<DateTime<Utc>> {
    let (y, mo, d, h, mi, s) = t;
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .map(|dt| dt.and_utc())
        .ok_or_else(|| bad_arg(name, format!("{t:?} is not a valid date and time")))
}

/// A period named by Python: `("Y", year)`, `("M", year, month)`, `("W", iso_year, week)`,
/// `("D", year, month, day)`, `("H", year, month, day, hour)`.
#[derive(FromPyObject)]
enum PeriodArg {
    Five(String, i32, u32, u32, u32),
    Four(String, i32, u32, u32),
    Three(String, i32, u32),
    Two(String, i32),
}

fn period(arg: &PeriodArg) -> PyResult<Period> {
    let p = match arg {
        PeriodArg::Two(k, y) if k == "Y" => Period::year(*y),
        PeriodArg::Three(k, y, m) if k == "M" => Period::month(*y, *m),
        PeriodArg::Three(k, y, w) if k == "W" => Period::week(*y, *w),
        PeriodArg::Four(k, y, m, d) if k == "D" => match NaiveDate::from_ymd_opt(*y, *m, *d) {
            Some(date) => Period::day(date),
            None => return Err(bad_arg("period", format!("{y}-{m}-{d} is not a date"))),
        },
        PeriodArg::Five(k, y, m, d, h) if k == "H" => match NaiveDate::from_ymd_opt(*y, *m, *d) {
            Some(date) => Period::hour(date, *h),
            None => return Err(bad_arg("period", format!("{y}-{m}-{d} is not a date"))),
        },
        _ => {
            return Err(bad_arg(
                "period",
                "expected (\"Y\", y), (\"M\", y, m), (\"W\", y, w), (\"D\", y, m, d) or (\"H\", y, m, d, h)",
            ));
        }
    };
    p.map_err(to_py)
}

/// A bitmap held in this process: the result of a bit operation (a snapshot, as Python
/// bitmapist's `BITOP` result key is), shared by every object that names the same result.
#[pyclass(frozen, weakref, module = "bitmapist._native")]
pub struct Bits {
    inner: RwLock<Bitmap>,
}

impl Bits {
    fn new(b: Bitmap) -> Self {
        Bits {
            inner: RwLock::new(b),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Bitmap) -> T) -> T {
        match self.inner.read() {
            Ok(g) => f(&g),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write(&self, b: Bitmap) {
        match self.inner.write() {
            Ok(mut g) => *g = b,
            Err(poisoned) => *poisoned.into_inner() = b,
        }
    }
}

#[pymethods]
impl Bits {
    /// How many ids are set (`BITCOUNT`).
    fn count(&self) -> u64 {
        self.read(Bitmap::count)
    }

    fn __len__(&self) -> usize {
        usize::try_from(self.count()).unwrap_or(usize::MAX)
    }

    /// Whether id `uid` is set (`GETBIT`); ids outside 0..2^32 never are.
    fn contains(&self, uid: i64) -> bool {
        u32::try_from(uid).is_ok_and(|u| self.read(|b| b.contains(u)))
    }

    /// The set ids, ascending (decoded with the GIL released).
    fn ids(&self, py: Python<'_>) -> Vec<u32> {
        py.detach(|| self.read(|b| b.iter().collect()))
    }

    /// The length of the equivalent Redis string, in bytes.
    fn byte_len(&self) -> u32 {
        self.read(Bitmap::byte_len)
    }

    /// Empties the bitmap (what deleting the result key does).
    fn clear(&self) {
        self.write(Bitmap::new());
    }

    /// Takes `other`'s content (what a new `BITOP` into the same key does).
    fn assign(&self, other: &Bits) {
        let b = other.read(Bitmap::clone);
        self.write(b);
    }

    /// The equivalent Redis string (`GET` of the result key).
    fn to_bytes(&self, py: Python<'_>) -> Vec<u8> {
        py.detach(|| self.read(Bitmap::to_redis_bytes))
    }
}

/// An operand of a bit operation: a store key, or a bitmap already in this process.
#[derive(FromPyObject)]
enum Operand {
    Held(Py<Bits>),
    Key(String),
}

/// A bit operation's name, as Redis `BITOP` spells it.
#[derive(Clone, Copy)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop_name(op: &str) -> PyResult<BitOp> {
    match op.to_ascii_uppercase().as_str() {
        "AND" => Ok(BitOp::And),
        "OR" => Ok(BitOp::Or),
        "XOR" => Ok(BitOp::Xor),
        "NOT" => Ok(BitOp::Not),
        _ => Err(bad_arg("op", format!("{op:?} is not AND, OR, XOR or NOT"))),
    }
}

/// Folds operands with Redis `BITOP` semantics (missing keys are empty strings; the result
/// is as long as the longest operand).
fn fold(op: BitOp, operands: Vec<Bitmap>) -> Bitmap {
    let mut it = operands.into_iter();
    let Some(mut acc) = it.next() else {
        return Bitmap::new();
    };
    match op {
        BitOp::Not => acc.not(),
        BitOp::And => {
            it.for_each(|b| acc.and_assign(&b));
            acc
        }
        BitOp::Or => {
            it.for_each(|b| acc.or_assign(&b));
            acc
        }
        BitOp::Xor => {
            it.for_each(|b| acc.xor_assign(&b));
            acc
        }
    }
}

fn time_group(name: &str) -> PyResult<TimeGroup> {
    name.parse::<TimeGroup>().map_err(|_| {
        bad_arg(
            "time_group",
            format!("{name:?} is not one of hours, days, weeks, months, years"),
        )
    })
}

fn check_event_arg(name: &str, event: &str) -> PyResult<()> {
    if event.is_empty() {
        return Err(bad_arg(name, "an event name must not be empty"));
    }
    Ok(())
}

/// A handle on one store: the engine's [`Bitmapist`], opened by URL.
#[pyclass(frozen, module = "bitmapist._native")]
pub struct Handle {
    bm: Bitmapist,
}

#[pymethods]
impl Handle {
    /// Opens the store `url` names (`redis://`, `rediss://`, `redis+cluster://`,
    /// `file://PATH`, `memory://`), with key prefix `prefix` and time zone `timezone`.
    #[new]
    #[pyo3(signature = (url, prefix = None, timezone = None, track_hourly = false, track_unique = false))]
    fn new(
        py: Python<'_>,
        url: String,
        prefix: Option<String>,
        timezone: Option<String>,
        track_hourly: bool,
        track_unique: bool,
    ) -> PyResult<Self> {
        let mut builder = Bitmapist::builder()
            .url(url)
            .track_hourly(track_hourly)
            .track_unique(track_unique);
        if let Some(p) = prefix {
            builder = builder.key_prefix(p);
        }
        if let Some(z) = timezone {
            builder = builder.timezone(z.parse::<Zone>().map_err(to_py)?);
        }
        let bm = run(py, builder.open())?;
        Ok(Handle { bm })
    }

    /// The store's URL (password masked).
    fn url(&self) -> String {
        self.bm.store().describe()
    }

    /// The key prefix.
    fn prefix(&self) -> String {
        self.bm.layout().prefix().to_string()
    }

    /// The time zone's IANA name.
    fn timezone(&self) -> String {
        self.bm.timezone().to_string()
    }

    /// Whether marks write the hour key unless told otherwise.
    fn tracks_hourly(&self) -> bool {
        self.bm.tracks_hourly()
    }

    /// Whether marks write the unique key unless told otherwise.
    fn tracks_unique(&self) -> bool {
        self.bm.tracks_unique()
    }

    /// Marks (or, `value=False`, clears) `event` for `uid` at `at` (wall clock; now when
    /// `None`): month, week, day, and the hour and unique keys when asked.
    #[pyo3(signature = (event, uid, at = None, hourly = None, unique = None, value = true))]
    #[allow(clippy::too_many_arguments)]
    fn mark(
        &self,
        py: Python<'_>,
        event: &str,
        uid: u32,
        at: Option<WallClock>,
        hourly: Option<bool>,
        unique: Option<bool>,
        value: bool,
    ) -> PyResult<()> {
        check_event_arg("event", event)?;
        let at = at.map(|t| wall_clock("now", t)).transpose()?;
        let bm = &self.bm;
        run(py, async move {
            let mut m = if value {
                bm.mark_event(event, uid)
            } else {
                bm.unmark_event(event, uid)
            };
            if let Some(t) = at {
                m = m.at(t);
            }
            if let Some(h) = hourly {
                m = m.hourly(h);
            }
            if let Some(u) = unique {
                m = m.unique(u);
            }
            m.await
        })
    }

    /// Marks (or clears) many `(event, uid, at)` at once: one store round trip. `at` is a
    /// wall clock or `None` for now. Returns how many marks were written.
    #[pyo3(signature = (marks, hourly = None, unique = None, value = true))]
    fn mark_many(
        &self,
        py: Python<'_>,
        marks: Vec<(String, u32, Option<WallClock>)>,
        hourly: Option<bool>,
        unique: Option<bool>,
        value: bool,
    ) -> PyResult<u64> {
        let now = Utc::now();
        let mut batch = Vec::with_capacity(marks.len());
        for (event, uid, at) in marks {
            check_event_arg("event", &event)?;
            let t = match at {
                Some(t) => wall_clock("now", t)?,
                None => now,
            };
            batch.push((event, uid, t));
        }
        let opts = MarkOptions { hourly, unique };
        let bm = &self.bm;
        run(py, async move {
            if value {
                bm.mark_events(batch, opts).await
            } else {
                bm.unmark_events(batch, opts).await
            }
        })
    }

    /// Sets (or clears) `uid` in the date-less key of `event`.
    #[pyo3(signature = (event, uid, value = true))]
    fn mark_unique(&self, py: Python<'_>, event: &str, uid: u32, value: bool) -> PyResult<()> {
        check_event_arg("event", event)?;
        let bm = &self.bm;
        run(py, async move {
            if value {
                bm.mark_unique(event, uid).await
            } else {
                bm.unmark_unique(event, uid).await
            }
        })
    }

    /// The number of set bits of `key` (`BITCOUNT`); 0 when missing.
    fn count(&self, py: Python<'_>, key: String) -> PyResult<u64> {
        let store = self.bm.store();
        let keys = [key];
        let counts = run(py, store.count(&keys))?;
        Ok(counts.first().copied().unwrap_or(0))
    }

    /// Whether bit `uid` of `key` is set (`GETBIT`).
    fn contains(&self, py: Python<'_>, key: String, uid: u32) -> PyResult<bool> {
        let store = self.bm.store();
        run(py, store.contains(&key, uid))
    }

    /// The set bits of `key`, ascending (empty when missing).
    fn ids(&self, py: Python<'_>, key: String) -> PyResult<Vec<u32>> {
        let store = self.bm.store();
        run(py, async move {
            let got = store.get(&[key]).await?;
            Ok(got
                .into_iter()
                .flatten()
                .next()
                .map(|b| b.iter().collect())
                .unwrap_or_default())
        })
    }

    /// The bitmap of `key` (empty when missing), held in this process.
    fn get(&self, py: Python<'_>, key: String) -> PyResult<Bits> {
        let store = self.bm.store();
        let got = run(py, async move { store.get(&[key]).await })?;
        Ok(Bits::new(
            got.into_iter().flatten().next().unwrap_or_default(),
        ))
    }

    /// `BITOP op` over store keys and bitmaps held in this process: the keys are fetched in
    /// one batch and combined in memory; nothing is written.
    fn bitop(&self, py: Python<'_>, op: &str, operands: Vec<Operand>) -> PyResult<Bits> {
        let op = bitop_name(op)?;
        if operands.is_empty() {
            return Err(bad_arg(
                "events",
                "a bit operation needs at least one operand",
            ));
        }
        if matches!(op, BitOp::Not) && operands.len() != 1 {
            return Err(bad_arg("events", "BitOpNot takes exactly one operand"));
        }
        let keys: Vec<String> = operands
            .iter()
            .filter_map(|o| match o {
                Operand::Key(k) => Some(k.clone()),
                Operand::Held(_) => None,
            })
            .collect();
        let store = self.bm.store();
        let mut fetched = if keys.is_empty() {
            Vec::new()
        } else {
            run(py, store.get(&keys))?
        }
        .into_iter();
        let mut values = Vec::with_capacity(operands.len());
        for o in &operands {
            values.push(match o {
                Operand::Key(_) => fetched.next().flatten().unwrap_or_default(),
                Operand::Held(b) => b.get().read(Bitmap::clone),
            });
        }
        Ok(Bits::new(py.detach(|| fold(op, values))))
    }

    /// Replaces whole bitmaps, each given as its Redis string (what `GET` returns); an
    /// empty string deletes the key. Returns how many were written.
    fn put(&self, py: Python<'_>, entries: Vec<(String, Vec<u8>)>) -> PyResult<usize> {
        let mut bitmaps = Vec::with_capacity(entries.len());
        for (key, bytes) in entries {
            let b = Bitmap::from_redis_bytes(&bytes).ok_or_else(|| {
                bad_arg(
                    "entries",
                    format!("the value of {key:?} is too long for a bitmap"),
                )
            })?;
            bitmaps.push((key, b));
        }
        let n = bitmaps.len();
        let store = self.bm.store();
        run(py, async move { store.put(&bitmaps).await })?;
        Ok(n)
    }

    /// Every key that starts with `prefix`, sorted.
    fn keys(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<String>> {
        let store = self.bm.store();
        run(py, async move { store.keys(&prefix).await })
    }

    /// Deletes the keys; returns how many existed.
    fn delete(&self, py: Python<'_>, keys: Vec<String>) -> PyResult<u64> {
        let store = self.bm.store();
        run(py, async move { store.delete(&keys).await })
    }

    /// Deletes every key that starts with `prefix`; returns how many existed.
    fn delete_prefix(&self, py: Python<'_>, prefix: String) -> PyResult<u64> {
        if prefix.is_empty() {
            return Err(bad_arg("prefix", "must not be empty"));
        }
        let store = self.bm.store();
        run(py, async move { store.delete_prefix(&prefix).await })
    }

    /// Python bitmapist's `get_dates_data` table, counted: `periods` are the consecutive
    /// periods from the first row's on (at least `rows`); row `i` is the users of `select1`
    /// (and `select1b`) in `periods[i]`; its cell `j < cols` is `None` when `select2` (and
    /// `select2b`) has no user in `periods[i + j]` (or beyond `periods`), else the number of
    /// the row's users in it. Returns `(row total, cells)` per row.
    #[pyo3(signature = (select1, select1b, select2, select2b, periods, rows, cols))]
    #[allow(clippy::too_many_arguments)]
    fn dates_data(
        &self,
        py: Python<'_>,
        select1: String,
        select1b: Option<String>,
        select2: String,
        select2b: Option<String>,
        periods: Vec<PeriodArg>,
        rows: usize,
        cols: usize,
    ) -> PyResult<Vec<(u64, Vec<Option<u64>>)>> {
        for (name, e) in [("select1", &select1), ("select2", &select2)] {
            check_event_arg(name, e)?;
        }
        if rows > periods.len() {
            return Err(bad_arg("periods", "fewer periods than rows"));
        }
        let periods: Vec<Period> = periods.iter().map(period).collect::<PyResult<_>>()?;
        let bm = &self.bm;
        run(py, async move {
            dates_table(
                bm,
                &select1,
                select1b.as_deref(),
                &select2,
                select2b.as_deref(),
                &periods,
                rows,
                cols,
            )
            .await
        })
    }

    // ----- Beyond Python bitmapist: the engine's own questions -----

    /// Every event name under the prefix, sorted (only those starting with `prefix`).
    #[pyo3(signature = (prefix = None))]
    fn event_names(&self, py: Python<'_>, prefix: Option<String>) -> PyResult<Vec<String>> {
        let bm = &self.bm;
        run(py, async move { bm.event_names(prefix.as_deref()).await })
    }

    /// The users of `event` in `period`, ascending.
    fn period_ids(&self, py: Python<'_>, event: String, period: PeriodArg) -> PyResult<Vec<u32>> {
        let p = self::period(&period)?;
        let bm = &self.bm;
        run(py, async move {
            Ok(bm.events(&event, p).ids().await?.collect())
        })
    }

    /// How many users `event` has in `period`.
    fn period_count(&self, py: Python<'_>, event: String, period: PeriodArg) -> PyResult<u64> {
        let p = self::period(&period)?;
        let bm = &self.bm;
        run(py, async move { bm.events(&event, p).count().await })
    }

    /// The period of `time_group` containing the instant given as seconds since the
    /// epoch, on the handle's zone, as a period tuple.
    fn period_containing(
        &self,
        time_group: &str,
        epoch_seconds: i64,
    ) -> PyResult<(String, String)> {
        let g = self::time_group(time_group)?;
        let at = DateTime::from_timestamp(epoch_seconds, 0)
            .ok_or_else(|| bad_arg("at", "out of range"))?;
        let p = self.bm.period_containing(g, at).map_err(to_py)?;
        let mut suffix = String::new();
        p.write_suffix(&mut suffix);
        Ok((g.as_str().to_string(), suffix))
    }

    /// A retention table (the engine's `retention`): returns it as JSON text.
    #[pyo3(signature = (primary, secondary, time_group = "days", rows = 10, cols = 10, now = None, additional = Vec::new(), kind = "recurring", criterion = "first-return", average = "simple", complete_only = false))]
    #[allow(clippy::too_many_arguments)]
    fn retention(
        &self,
        py: Python<'_>,
        primary: String,
        secondary: String,
        time_group: &str,
        rows: usize,
        cols: usize,
        now: Option<i64>,
        additional: Vec<(String, String)>,
        kind: &str,
        criterion: &str,
        average: &str,
        complete_only: bool,
    ) -> PyResult<String> {
        let mut spec = CohortSpec::new(primary, secondary)
            .time_group(self::time_group(time_group)?)
            .rows(rows)
            .cols(cols)
            .additional(chained(additional)?);
        if let Some(t) = now {
            spec = spec
                .now(DateTime::from_timestamp(t, 0).ok_or_else(|| bad_arg("now", "out of range"))?);
        }
        let kind = match kind.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "recurring" => CohortKind::Recurring,
            "first-time" => CohortKind::FirstTime,
            other => {
                return Err(bad_arg(
                    "kind",
                    format!("{other:?} is not recurring or first-time"),
                ));
            }
        };
        let criterion = criterion.parse::<Criterion>().map_err(to_py)?;
        let average = average.parse::<Average>().map_err(to_py)?;
        let mut spec = RetentionSpec::new(spec)
            .criterion(criterion)
            .average(average);
        spec.kind = kind;
        spec.complete_only = complete_only;
        let bm = &self.bm;
        let r = run(py, async move { bm.retention(&spec).await })?;
        serde_json::to_string(&r).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// A funnel (the engine's `funnel`): returns it as JSON text.
    #[pyo3(signature = (steps, time_group = "days", rows = 30, window = 14, strict = false, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn funnel(
        &self,
        py: Python<'_>,
        steps: Vec<String>,
        time_group: &str,
        rows: usize,
        window: usize,
        strict: bool,
        now: Option<i64>,
    ) -> PyResult<String> {
        let mut spec = FunnelSpec::new(steps)
            .time_group(self::time_group(time_group)?)
            .rows(rows)
            .window(window)
            .strict(strict);
        if let Some(t) = now {
            spec = spec
                .now(DateTime::from_timestamp(t, 0).ok_or_else(|| bad_arg("now", "out of range"))?);
        }
        let bm = &self.bm;
        let f = run(py, async move { bm.funnel(&spec).await })?;
        serde_json::to_string(&f).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Stickiness of `event` in the week or month containing the instant `at` (seconds
    /// since the epoch; now when `None`): returns it as JSON text.
    #[pyo3(signature = (event, time_group = "weeks", at = None))]
    fn stickiness(
        &self,
        py: Python<'_>,
        event: String,
        time_group: &str,
        at: Option<i64>,
    ) -> PyResult<String> {
        let g = self::time_group(time_group)?;
        let at = match at {
            Some(t) => {
                DateTime::from_timestamp(t, 0).ok_or_else(|| bad_arg("at", "out of range"))?
            }
            None => Utc::now(),
        };
        let bm = &self.bm;
        let s = run(py, async move { bm.stickiness(&event, g, at).await })?;
        serde_json::to_string(&s).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// Marks (or clears) `event` for an external id (any string: a UUID, an e-mail), mapped
    /// to a dense id through the store's id map. Returns the dense id (`None` when clearing
    /// an id never mapped).
    #[pyo3(signature = (event, external_id, at = None, value = true))]
    fn mark_external(
        &self,
        py: Python<'_>,
        event: String,
        external_id: String,
        at: Option<WallClock>,
        value: bool,
    ) -> PyResult<Option<u32>> {
        check_event_arg("event", &event)?;
        let at = at.map(|t| wall_clock("now", t)).transpose()?;
        let bm = &self.bm;
        run(py, async move {
            let mut m = if value {
                bm.mark_external(&event, &external_id)
            } else {
                bm.unmark_external(&event, &external_id)
            };
            if let Some(t) = at {
                m = m.at(t);
            }
            m.await
        })
    }

    /// The external ids of dense ids (`None` for those never handed out).
    fn resolve_ids(&self, py: Python<'_>, dense: Vec<u32>) -> PyResult<Vec<Option<String>>> {
        let bm = &self.bm;
        run(py, async move { bm.resolve_ids(&dense).await })
    }
}

fn chained(additional: Vec<(String, String)>) -> PyResult<Vec<ChainedEvent>> {
    additional
        .into_iter()
        .map(|(op, name)| {
            Ok(ChainedEvent {
                op: op.parse().map_err(to_py)?,
                name,
            })
        })
        .collect()
}

/// The counts of a `get_dates_data` table (see [`Handle::dates_data`]).
#[allow(clippy::too_many_arguments)]
async fn dates_table(
    bm: &Bitmapist,
    select1: &str,
    select1b: Option<&str>,
    select2: &str,
    select2b: Option<&str>,
    periods: &[Period],
    rows: usize,
    cols: usize,
) -> bitmapist::Result<Vec<(u64, Vec<Option<u64>>)>> {
    let and = |b: Option<&str>| b.map(|b| vec![ChainedEvent::and(b)]).unwrap_or_default();
    let (and1, and2) = (and(select1b), and(select2b));

    // Every bitmap the table needs, in one batch (one pipeline on Redis): the rows' users
    // (select1, and select1b) and the returning users (select2, and select2b) of every
    // period a cell falls on.
    let last = periods.len().min(rows + cols.saturating_sub(1));
    let mut exprs: Vec<Expr> = periods[..rows]
        .iter()
        .map(|&p| chain_events(select1, &and1, p))
        .collect();
    exprs.extend(
        periods[..last]
            .iter()
            .map(|&p| chain_events(select2, &and2, p)),
    );
    let mut evaluated = bm.evaluate_many(&exprs).await?;
    let returning = evaluated.split_off(rows);
    let row_users = evaluated;

    let mut out = Vec::with_capacity(rows);
    for (i, users) in row_users.iter().enumerate() {
        let total = users.count();
        let cells = (0..cols)
            .map(|j| {
                let t = i + j;
                (total > 0 && t < last && !returning[t].is_empty())
                    .then(|| users.intersection_count(&returning[t]))
            })
            .collect();
        out.push((total, cells));
    }
    Ok(out)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<dashboard::PyDashboard>()?;
    m.add_class::<Handle>()?;
    m.add_class::<Bits>()?;
    Ok(())
}
