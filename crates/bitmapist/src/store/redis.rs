//! The Redis store: bitmaps as Redis strings, shared with Python bitmapist (`redis://`, `rediss://`).
//! Every batch is one pipeline of single-key commands, so the same code can later talk to Redis Cluster.
//!
//! # Bytes and bits
//!
//! A bitmap is a plain Redis string, written with `SETBIT key offset 0|1` exactly as Python
//! bitmapist writes it. Bit `n` (user id `n`) is bit `7 - n % 8` of byte `n / 8`: the most
//! significant bit of the first byte is user 0. `SETBIT` grows the string to `n / 8 + 1`
//! bytes even when it clears a bit, and never shrinks it; [`Bitmap`] keeps that length so
//! that `BITOP NOT` and friends answer as Redis would. [`Bitmap::from_redis_bytes`] and
//! [`Bitmap::to_redis_bytes`] convert whole strings.
//!
//! # Why pipelined `GET` rather than `MGET`
//!
//! `MGET` would read many keys in one command, but on Redis Cluster all its keys must hash to
//! the same slot, and bitmapist keys (one per event and period) never do. A pipeline of
//! single-key `GET`s costs the same single round trip per chunk on one server and can be
//! split per node on a cluster, so reads, `DEL`s, `BITCOUNT`s and writes are all pipelines of
//! single-key commands. The store avoids `BITFIELD` and `KEYS` so that it also works against
//! bitmapist-server and never blocks a production server: keys are listed with `SCAN`, and
//! a prune deletes with `UNLINK` in small batches.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, Pipeline, RedisError, Value};

use crate::bitmap::{Bitmap, MAX_BYTE_LEN};
use crate::error::{Error, Result};
use crate::store::redis_config::RedisConfig;
use crate::store::{IdStore, KeyWrite, Store};
use crate::telemetry::RedisMetrics;

/// Commands per pipeline for `SETBIT` writes.
pub(crate) const WRITE_CHUNK: usize = 10_000;
/// Keys per pipeline for `GET`, `BITCOUNT` and `SET`.
pub(crate) const READ_CHUNK: usize = 500;
/// Keys per pipeline for `DEL`.
pub(crate) const DELETE_CHUNK: usize = 1_000;
/// Bytes of values per `SET` pipeline before it is sent.
pub(crate) const PUT_CHUNK_BYTES: usize = 64 << 20;
/// `COUNT` hint for `SCAN`.
const SCAN_COUNT: usize = 1_000;
/// Bitmaps in Redis (or bitmapist-server), as Python bitmapist keeps them.
///
/// Cheap to share: every call clones a handle to one multiplexed connection that
/// reconnects by itself after a network failure; a request that found the connection
/// lost is sent once more on the new one.
///
/// ```no_run
/// use bitmapist::{KeyWrite, RedisStore, Store};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), bitmapist::Error> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?;
/// store.write(&[KeyWrite::set("trackist_user:logged_in_2024-12-30".into(), 42)]).await?;
/// assert!(store.contains("trackist_user:logged_in_2024-12-30", 42).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    /// The URL with its password masked.
    masked: String,
    /// The connection timeout, and the fail-fast window after an unreachable server.
    connect_timeout: Duration,
    /// When a request last found the server unreachable, and why (see [`RedisStore::connect`]).
    unreachable: Arc<Mutex<Option<(Instant, String)>>>,
    /// Round trips and failures (`bitmapist_redis_round_trips_total{store="redis"}`,
    /// `bitmapist_store_errors_total{store="redis"}`).
    metrics: RedisMetrics,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.masked)
            .finish_non_exhaustive()
    }
}

/// Escapes the glob metacharacters of `SCAN MATCH` (`* ? [ ] \`) so that `prefix` matches
/// only itself.
pub(crate) fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `SCAN cursor MATCH pattern COUNT 1000` (shared with the cluster store).
pub(crate) fn scan_command(cursor: u64, pattern: &str) -> redis::Cmd {
    let mut scan = redis::cmd("SCAN");
    scan.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_COUNT);
    scan
}

/// The keys of a `SCAN` batch that really start with `prefix`; keys that are not UTF-8 are
/// skipped (a `String` cannot name them). Shared with the cluster store.
pub(crate) fn keys_with_prefix(batch: Vec<Vec<u8>>, prefix: &str) -> Vec<String> {
    batch
        .into_iter()
        .filter_map(|k| String::from_utf8(k).ok())
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The `SETBIT ... 1` writes of a [`Store::merge`] on Redis: every set bit of each bitmap.
pub(crate) fn merge_writes(entries: Vec<(String, Bitmap)>) -> Vec<KeyWrite> {
    entries
        .into_iter()
        .filter(|(_, b)| b.count() > 0)
        .map(|(key, bitmap)| KeyWrite {
            key,
            value: true,
            offsets: bitmap.iter().collect(),
        })
        .collect()
}

/// Whether a failed request is worth sending once more: the connection was lost (the
/// server restarted, or closed an idle client), and the manager is reconnecting. Every
/// command this store sends can be repeated safely (`SETBIT` with an explicit value, `SET`,
/// `DEL`, reads); a timeout is not retried.
fn worth_retrying(e: &RedisError) -> bool {
    (e.is_unrecoverable_error() || e.is_connection_dropped()) && !e.is_timeout()
}

/// A client-side error for a reply of the wrong shape.
pub(crate) fn unexpected(what: &'static str, got: &Value) -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        what,
        format!("{got:?}"),
    ))
}

/// The error for an error reply to a command on `key`: `WRONGTYPE` becomes
/// [`Error::CorruptBitmap`] naming the key, anything else [`Error::Redis`] naming the store.
/// Shared with the cluster store.
pub(crate) fn reply_error(err: &redis::ServerError, key: &str, masked_url: &str) -> Error {
    if err.code() == "WRONGTYPE" {
        Error::CorruptBitmap {
            key: key.to_string(),
            reason: format!(
                "it holds a Redis type other than a string ({})",
                err.details().unwrap_or("WRONGTYPE")
            ),
        }
    } else {
        Error::Redis {
            url: masked_url.to_string(),
            source: err.clone().into(),
        }
    }
}

/// A `GET` reply as a bitmap: `None` for a missing key, an error naming the key for
/// anything that is not a string a bitmap can be. Shared with the cluster store.
pub(crate) fn get_reply(reply: Value, key: &str) -> Result<Option<Bitmap>> {
    match reply {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => {
            Bitmap::from_redis_bytes(&bytes)
                .map(Some)
                .ok_or_else(|| Error::CorruptBitmap {
                    key: key.to_string(),
                    reason: format!(
                        "{} bytes is longer than a bitmap can be ({MAX_BYTE_LEN} bytes)",
                        bytes.len()
                    ),
                })
        }
        other => Err(Error::CorruptBitmap {
            key: key.to_string(),
            reason: format!("GET answered {other:?} instead of a string"),
        }),
    }
}

/// Whether a failure says the server cannot be reached (rather than refusing a command).
fn unreachable_error(e: &RedisError) -> bool {
    e.is_connection_refusal() || e.is_timeout() || e.is_connection_dropped() || e.is_io_error()
}

impl RedisStore {
    /// Connects to `redis://[:password@]host[:port][/db]` or `rediss://...` (TLS; add
    /// `?ca=/path/ca.pem` to trust that CA instead of the public roots, or the fragment
    /// `#insecure` to accept any certificate) and checks the server with `PING`,
    /// so that a wrong host or password fails here, with the URL (password masked) in the
    /// error.
    ///
    /// A connection attempt gives up after 1 s (`?connect_timeout_ms=N` in the URL sets
    /// it), a request waits at most 10 s for its replies (`?response_timeout_ms=N`); both
    /// at most 300,000 (5 minutes). After a request finds the server unreachable or
    /// unresponsive (refused, reset, or timed out), the store fails every request at once
    /// for the connection timeout, then checks the server with one `PING` bounded by the
    /// connection timeout before sending anything else: a caller making several requests
    /// (a dashboard page) waits for one attempt, not one per request, and a server that
    /// accepts but never answers costs one response timeout, then fails fast until it
    /// answers again.
    pub async fn connect(url: &str) -> Result<Self> {
        let RedisConfig {
            client_url,
            masked,
            connect_timeout,
            response_timeout,
            ca,
        } = RedisConfig::parse(url)?;
        let url = client_url.as_str();
        let client = match ca {
            None => Client::open(url),
            Some(ca) => {
                let root = std::fs::read(&ca).map_err(|e| Error::InvalidUrl {
                    url: masked.clone(),
                    reason: format!("ca={}: cannot read the CA file: {e}", ca.display()),
                })?;
                Client::build_with_tls(
                    url,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root),
                    },
                )
            }
        }
        .map_err(|e| Error::InvalidUrl {
            url: masked.clone(),
            reason: e.to_string(),
        })?;
        if url
            .get(..9)
            .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"))
        {
            // Another part of the process may have installed a provider already; either
            // one will do.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let redis_err = |source| Error::Redis {
            url: masked.clone(),
            source,
        };

        // One plain attempt first: the manager retries for several seconds, which is
        // right after a network failure but wrong for a mistyped host or password.
        let probe_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(connect_timeout.max(Duration::from_secs(5))));
        let mut probe = client
            .get_multiplexed_async_connection_with_config(&probe_config)
            .await
            .map_err(redis_err)?;
        redis::cmd("PING")
            .query_async::<()>(&mut probe)
            .await
            .map_err(redis_err)?;
        drop(probe);

        // One attempt per reconnection: a request waits at most `connect_timeout` for it.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(0)
            .set_max_delay(Duration::from_secs(2));
        let mut conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_err)?;
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(redis_err)?;
        Ok(RedisStore {
            conn,
            masked,
            connect_timeout,
            unreachable: Arc::new(Mutex::new(None)),
            metrics: RedisMetrics::register("redis"),
        })
    }

    /// Fails at once while a recent request found the server unreachable (see
    /// [`RedisStore::connect`]); after that window, lets a request through only if the
    /// server answers a `PING` within the connection timeout.
    async fn check_reachable(&self) -> Result<()> {
        let marked = {
            let guard = self
                .unreachable
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match guard.as_ref() {
                Some((at, why)) if at.elapsed() < self.connect_timeout => {
                    return Err(self.redis_error(RedisError::from((
                        redis::ErrorKind::Io,
                        "server unreachable (not retried yet)",
                        why.clone(),
                    ))));
                }
                marked => marked.is_some(),
            }
        };
        if !marked {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        let probe =
            match tokio::time::timeout(self.connect_timeout, ping.query_async::<()>(&mut conn))
                .await
            {
                Ok(answered) => answered,
                Err(_) => Err(RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer to PING within {} ms",
                        self.connect_timeout.as_millis()
                    ),
                ))),
            };
        self.note_reachability(&probe);
        probe.map_err(|e| self.redis_error(e))
    }

    /// Records whether a request reached the server, and counts it as a round trip (one
    /// retried after a dropped connection counts once).
    fn note_reachability<T>(&self, result: &std::result::Result<T, RedisError>) {
        self.metrics.round_trip();
        let mut guard = self
            .unreachable
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Err(e) if unreachable_error(e) => *guard = Some((Instant::now(), e.to_string())),
            _ => *guard = None,
        }
    }

    /// Wraps a client error, counting it by kind.
    fn redis_error(&self, source: RedisError) -> Error {
        self.metrics.error(&source);
        Error::Redis {
            url: self.masked.clone(),
            source,
        }
    }

    /// Sends a pipeline whose command `i` touches `keys[i]` and returns one reply per
    /// command. A `WRONGTYPE` reply becomes [`Error::CorruptBitmap`] naming the key; any
    /// other error reply becomes [`Error::Redis`].
    async fn run(&self, pipe: &Pipeline, keys: &[&str]) -> Result<Vec<Value>> {
        if pipe.is_empty() {
            return Ok(Vec::new());
        }
        self.check_reachable().await?;
        let mut conn = self.conn.clone();
        let replies: std::result::Result<Vec<Value>, RedisError> =
            match pipe.query_async(&mut conn).await {
                Err(e) if worth_retrying(&e) => pipe.query_async(&mut conn).await,
                other => other,
            };
        self.note_reachability(&replies);
        let replies = replies.map_err(|e| self.redis_error(e))?;
        if replies.len() != keys.len() {
            return Err(self.redis_error(RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "pipeline reply count differs from its command count",
                format!("{} replies for {} commands", replies.len(), keys.len()),
            ))));
        }
        for (reply, key) in replies.iter().zip(keys) {
            if let Value::ServerError(err) = reply {
                self.metrics.error_reply();
                return Err(reply_error(err, key, &self.masked));
            }
        }
        Ok(replies)
    }

    /// A pipeline that keeps error replies in place, for [`RedisStore::run`].
    fn pipeline(capacity: usize) -> Pipeline {
        let mut pipe = Pipeline::with_capacity(capacity);
        pipe.ignore_errors();
        pipe
    }

    /// An integer reply (`BITCOUNT`, `DEL`, `GETBIT`).
    fn int_reply(&self, reply: &Value, what: &'static str) -> Result<i64> {
        match reply {
            Value::Int(n) => Ok(*n),
            other => Err(self.redis_error(unexpected(what, other))),
        }
    }

    /// One `SCAN` step: the next cursor and the keys of this batch that really start
    /// with `prefix` (keys that are not UTF-8 are skipped: they cannot be named by a
    /// `String`).
    async fn scan_step(
        &self,
        cursor: u64,
        pattern: &str,
        prefix: &str,
    ) -> Result<(u64, Vec<String>)> {
        self.check_reachable().await?;
        let mut conn = self.conn.clone();
        let scan = scan_command(cursor, pattern);
        let reply: std::result::Result<(u64, Vec<Vec<u8>>), RedisError> =
            match scan.query_async(&mut conn).await {
                Err(e) if worth_retrying(&e) => scan.query_async(&mut conn).await,
                other => other,
            };
        self.note_reachability(&reply);
        let (next, batch) = reply.map_err(|e| self.redis_error(e))?;
        Ok((next, keys_with_prefix(batch, prefix)))
    }
}

#[async_trait]
impl Store for RedisStore {
    /// Pipelined `SETBIT key offset 0|1`, 10,000 commands per pipeline, in order.
    async fn write(&self, writes: &[KeyWrite]) -> Result<()> {
        let mut pipe = Self::pipeline(WRITE_CHUNK);
        let mut keys: Vec<&str> = Vec::with_capacity(WRITE_CHUNK);
        let bit = |v: bool| u8::from(v);
        for w in writes {
            for &offset in &w.offsets {
                pipe.cmd("SETBIT").arg(&w.key).arg(offset).arg(bit(w.value));
                keys.push(&w.key);
                if keys.len() >= WRITE_CHUNK {
                    self.run(&pipe, &keys).await?;
                    pipe = Self::pipeline(WRITE_CHUNK);
                    keys.clear();
                }
            }
        }
        self.run(&pipe, &keys).await?;
        Ok(())
    }

    /// `SETBIT` of every set bit (as [`Store::write`]), atomic per bit like marks from other
    /// clients. The key's length grows only as far as the highest set bit: a longer
    /// [`Bitmap::byte_len`] cannot be reached without a read-modify-write (a `SETBIT 0` at
    /// the last offset would clear a bit another client may hold), so it is not.
    async fn merge(&self, entries: Vec<(String, Bitmap)>) -> Result<()> {
        self.write(&merge_writes(entries)).await
    }

    /// Pipelined `GET`, 500 keys per pipeline.
    async fn get(&self, keys: &[String]) -> Result<Vec<Option<Bitmap>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(READ_CHUNK) {
            let mut pipe = Self::pipeline(chunk.len());
            for k in chunk {
                pipe.cmd("GET").arg(k);
            }
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for (reply, key) in self.run(&pipe, &names).await?.into_iter().zip(chunk) {
                out.push(get_reply(reply, key)?);
            }
        }
        Ok(out)
    }

    /// Pipelined `SET key bytes`, or `DEL key` for a bitmap of length 0, in order.
    async fn put(&self, entries: &[(String, Bitmap)]) -> Result<()> {
        let mut pipe = Self::pipeline(READ_CHUNK);
        let mut keys: Vec<&str> = Vec::with_capacity(READ_CHUNK);
        let mut bytes = 0usize;
        for (key, bitmap) in entries {
            if bitmap.byte_len() == 0 {
                pipe.cmd("DEL").arg(key);
            } else {
                pipe.cmd("SET").arg(key).arg(bitmap.to_redis_bytes());
                bytes += bitmap.byte_len() as usize;
            }
            keys.push(key);
            if keys.len() >= READ_CHUNK || bytes >= PUT_CHUNK_BYTES {
                self.run(&pipe, &keys).await?;
                pipe = Self::pipeline(READ_CHUNK);
                keys.clear();
                bytes = 0;
            }
        }
        self.run(&pipe, &keys).await?;
        Ok(())
    }

    /// Pipelined `BITCOUNT`, 500 keys per pipeline.
    async fn count(&self, keys: &[String]) -> Result<Vec<u64>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(READ_CHUNK) {
            let mut pipe = Self::pipeline(chunk.len());
            for k in chunk {
                pipe.cmd("BITCOUNT").arg(k);
            }
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for reply in self.run(&pipe, &names).await? {
                let n = self.int_reply(&reply, "BITCOUNT did not answer an integer")?;
                out.push(u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// `GETBIT key offset`.
    async fn contains(&self, key: &str, offset: u32) -> Result<bool> {
        let mut pipe = Self::pipeline(1);
        pipe.cmd("GETBIT").arg(key).arg(offset);
        let replies = self.run(&pipe, &[key]).await?;
        match replies.first() {
            Some(reply) => Ok(self.int_reply(reply, "GETBIT did not answer an integer")? == 1),
            None => Err(self.redis_error(unexpected("GETBIT got no reply", &Value::Nil))),
        }
    }

    /// `GET key`: a metadata string key outside the event keys.
    async fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let mut pipe = Self::pipeline(1);
        pipe.cmd("GET").arg(key);
        let replies = self.run(&pipe, &[key]).await?;
        meta_reply(replies.first(), key)
    }

    /// `SET key value`.
    async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let mut pipe = Self::pipeline(1);
        pipe.cmd("SET").arg(key).arg(value);
        self.run(&pipe, &[key]).await.map(drop)
    }

    /// `SCAN 0 MATCH <prefix>* COUNT 1000` until the cursor returns to 0 (never `KEYS`),
    /// the prefix's glob characters escaped; sorted and without the duplicates SCAN may
    /// return.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let pattern = format!("{}*", escape_glob(prefix));
        let mut all = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch) = self.scan_step(cursor, &pattern, prefix).await?;
            all.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Pipelined single-key `DEL` (not `UNLINK`, which bitmapist-server lacks), 1,000 per
    /// pipeline; the sum of the replies. (If a pipeline has to be resent after a lost
    /// connection, keys its first attempt deleted are not counted.)
    async fn delete(&self, keys: &[String]) -> Result<u64> {
        let mut total = 0u64;
        for chunk in keys.chunks(DELETE_CHUNK) {
            let mut pipe = Self::pipeline(chunk.len());
            for k in chunk {
                pipe.cmd("DEL").arg(k);
            }
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for reply in self.run(&pipe, &names).await? {
                let n = self.int_reply(&reply, "DEL did not answer an integer")?;
                total += u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(total)
    }

    // --- data lifecycle (retention policy, prune) ---

    /// Pipelined `STRLEN`.
    async fn value_sizes(&self, keys: &[String]) -> Result<Vec<u64>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(READ_CHUNK) {
            let mut pipe = Self::pipeline(chunk.len());
            for k in chunk {
                pipe.cmd("STRLEN").arg(k);
            }
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for reply in self.run(&pipe, &names).await? {
                let n = self.int_reply(&reply, "STRLEN did not answer an integer")?;
                out.push(u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// One pipeline of single-key `UNLINK`s (bitmapist-server has `UNLINK` too): Redis
    /// frees large values in a background thread, so the batch costs the server a lookup
    /// per key.
    async fn unlink(&self, keys: &[String]) -> Result<u64> {
        let mut total = 0u64;
        for chunk in keys.chunks(DELETE_CHUNK) {
            let mut pipe = Self::pipeline(chunk.len());
            for k in chunk {
                pipe.cmd("UNLINK").arg(k);
            }
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            for reply in self.run(&pipe, &names).await? {
                let n = self.int_reply(&reply, "UNLINK did not answer an integer")?;
                total += u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(total)
    }

    // --- end data lifecycle ---

    /// `SCAN` as [`RedisStore::keys`] does, deleting each batch as it comes; a key SCAN
    /// returns twice is counted once because the second `DEL` answers 0.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let pattern = format!("{}*", escape_glob(prefix));
        let mut total = 0u64;
        let mut cursor = 0u64;
        loop {
            let (next, batch) = self.scan_step(cursor, &pattern, prefix).await?;
            total += self.delete(&batch).await?;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(total)
    }

    /// Nothing to do: Redis has applied every write it acknowledged (its own persistence
    /// settings decide when they reach disk).
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn id_store(&self) -> Option<&dyn IdStore> {
        Some(self)
    }

    /// The URL, password masked.
    fn describe(&self) -> String {
        self.masked.clone()
    }
}

#[async_trait]
impl IdStore for RedisStore {
    /// `EVALSHA` of the id script (`EVAL` when not cached), one call per batch (see
    /// `redis_ids.rs`).
    async fn assign_ids(&self, space: &str, external: &[String]) -> Result<Vec<u32>> {
        self.check_reachable().await?;
        let mut conn = self.conn.clone();
        let r = match super::redis_ids::assign(&mut conn, space, external).await {
            Err(e) if worth_retrying(&e) => {
                super::redis_ids::assign(&mut conn, space, external).await
            }
            other => other,
        };
        self.note_reachability(&r);
        r.map_err(|e| {
            super::redis_ids::map_error(e, &self.masked, "EVALSHA/EVAL", |e| self.redis_error(e))
        })
    }

    /// `HMGET` on the forward hash.
    async fn lookup_ids(&self, space: &str, external: &[String]) -> Result<Vec<Option<u32>>> {
        self.check_reachable().await?;
        let mut conn = self.conn.clone();
        let r = match super::redis_ids::lookup(&mut conn, space, external).await {
            Err(e) if worth_retrying(&e) => {
                super::redis_ids::lookup(&mut conn, space, external).await
            }
            other => other,
        };
        self.note_reachability(&r);
        r.map_err(|e| {
            super::redis_ids::map_error(e, &self.masked, "HMGET", |e| self.redis_error(e))
        })
    }

    /// `HMGET` on the reverse hash.
    async fn resolve_ids(&self, space: &str, dense: &[u32]) -> Result<Vec<Option<String>>> {
        self.check_reachable().await?;
        let mut conn = self.conn.clone();
        let r = match super::redis_ids::resolve(&mut conn, space, dense).await {
            Err(e) if worth_retrying(&e) => {
                super::redis_ids::resolve(&mut conn, space, dense).await
            }
            other => other,
        };
        self.note_reachability(&r);
        r.map_err(|e| {
            super::redis_ids::map_error(e, &self.masked, "HMGET", |e| self.redis_error(e))
        })
    }
}

/// The reply to `GET` of a metadata key: a UTF-8 string, or `None` for a missing key.
pub(crate) fn meta_reply(reply: Option<&Value>, key: &str) -> Result<Option<String>> {
    let bad = |reason: &str| Error::CorruptBitmap {
        key: key.to_string(),
        reason: format!("a metadata value must be a UTF-8 string: {reason}"),
    };
    match reply {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::BulkString(bytes)) => String::from_utf8(bytes.clone())
            .map(Some)
            .map_err(|_| bad("not UTF-8")),
        Some(Value::SimpleString(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(&format!("got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::escape_glob;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(escape_glob("a*b?[x]\\y"), "a\\*b\\?\\[x\\]\\\\y");
        assert_eq!(escape_glob("trackist_user:"), "trackist_user:");
    }
}
