//! `SLURP`: imports every string key of a running Redis, with its time to live.
//! Scans the source with `SCAN` and reads values and TTLs in pipelined batches of 1,000 keys.
//!
//! Each value becomes a bitmap with the string's exact length (see `commands/strings.rs`);
//! keys of other types, empty strings and keys that are not UTF-8 are skipped and counted.
//! A key the source deletes during the import is skipped; one it writes during the import
//! may be imported before or after the write. Keys are replaced, batch by batch, under the
//! keyspace's exclusive gate.

use std::time::Duration;

use bitmapist::Bitmap;
use redis::{AsyncConnectionConfig, Value};
use thiserror::Error;

use crate::expiry::now_ms;
use crate::keyspace::Keyspace;

/// Keys per `SCAN` step and per pipeline.
const BATCH: usize = 1000;

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlurpStats {
    /// Keys stored.
    pub imported: u64,
    /// Keys that hold something other than a string.
    pub non_strings: u64,
    /// Empty strings (no bitmap has length 0).
    pub empty: u64,
    /// Keys whose names are not UTF-8.
    pub non_utf8: u64,
}

/// Why an import stopped (keys imported before the failure stay).
#[derive(Debug, Error)]
pub enum SlurpError {
    /// The database number is negative.
    #[error("invalid database number {0}")]
    Database(i64),
    /// The source could not be reached or answered an error.
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    /// Storing failed.
    #[error("{0}")]
    Store(#[from] bitmapist::Error),
}

/// One key read from the source.
struct Imported {
    key: String,
    bitmap: Bitmap,
    deadline: Option<u64>,
}

/// Imports every string key of database `db` of the Redis at `addr` (`host:port`).
pub async fn slurp(ks: &Keyspace, addr: &str, db: i64) -> Result<SlurpStats, SlurpError> {
    if db < 0 {
        return Err(SlurpError::Database(db));
    }
    let client = redis::Client::open(format!("redis://{addr}/{db}"))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(120)));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let mut stats = SlurpStats::default();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut con)
            .await?;
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for key in &keys {
                pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
            }
            let replies: Vec<Value> = pipe.query_async(&mut con).await?;
            let batch = read_batch(keys, &replies, &mut stats);
            let gate = ks.exclusive().await?;
            for item in batch {
                ks.put(&gate, &item.key, item.bitmap, false).await?;
                if let Some(at) = item.deadline {
                    ks.set_deadline(&gate, &item.key, at).await?;
                }
                stats.imported += 1;
            }
        }
        cursor = next;
        if cursor == 0 {
            return Ok(stats);
        }
    }
}

/// Turns the pipeline's replies (GET, PTTL per key) into keys to store.
fn read_batch(keys: Vec<Vec<u8>>, replies: &[Value], stats: &mut SlurpStats) -> Vec<Imported> {
    let now = now_ms();
    let mut out = Vec::with_capacity(keys.len());
    for (key, pair) in keys.into_iter().zip(replies.chunks(2)) {
        let [value, ttl] = pair else { continue };
        let bytes = match value {
            Value::BulkString(bytes) => bytes,
            Value::Nil => continue,
            _ => {
                stats.non_strings += 1;
                continue;
            }
        };
        let Ok(key) = String::from_utf8(key) else {
            stats.non_utf8 += 1;
            continue;
        };
        let Some(bitmap) = Bitmap::from_redis_bytes(bytes).filter(|b| b.byte_len() > 0) else {
            stats.empty += 1;
            continue;
        };
        let deadline = match ttl {
            Value::Int(ms) if *ms > 0 => u64::try_from(*ms).ok().map(|ms| now + ms),
            _ => None,
        };
        out.push(Imported {
            key,
            bitmap,
            deadline,
        });
    }
    out
}
