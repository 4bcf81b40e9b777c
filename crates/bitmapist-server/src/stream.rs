//! Large replies (`GET` of a big bitmap) encoded a chunk at a time, off the workers that
//! serve connections, and abandoned when their client goes away.
//!
//! # Why
//!
//! A bitmap's Redis string is up to 512 MiB (a dense key: `SETBIT big 4294967295 1`,
//! `BITOP NOT dbig big`). Encoding it whole on the connection's worker would hold every
//! other connection on that worker for as long as it takes, keep the whole string (and its
//! copy in the output buffer) in memory per client, and go on for clients that left.
//!
//! # How
//!
//! `GET` of a value longer than [`STREAM_ABOVE`] writes the bulk header (`$len\r\n`) and
//! hands a snapshot of the bitmap (the cache's shared `Arc`, which later writes copy rather
//! than change) to [`ReplyStream::start`]. A blocking-pool thread encodes it
//! [`CHUNK_BYTES`] at a time ([`Bitmap::write_redis_bytes`]) into a channel of
//! [`CHUNKS_AHEAD`] chunks; the connection takes a chunk whenever its output buffer is
//! empty, and runs no further command until the last chunk (with the closing `\r\n`) is
//! taken, so replies stay in order.
//!
//! # Invariants
//!
//! - Memory per streamed reply: the snapshot (shared with the cache) plus at most
//!   `CHUNKS_AHEAD + 2` chunks (queued, being encoded, being sent).
//! - When the connection ends with a stream unfinished, the receiver is dropped, the
//!   encoder's next send fails and it stops; the connection counts the reply as abandoned
//!   (`INFO stats`: `bitmapist_abandoned_replies`).
//!
//! Nothing here is persisted: a crash loses only replies in flight.

use std::sync::Arc;

use bitmapist::Bitmap;
use tokio::sync::mpsc;

/// Values longer than this (in bytes) are streamed; shorter ones are encoded at once.
pub const STREAM_ABOVE: u32 = 1 << 20;
/// The size of one encoded chunk.
pub const CHUNK_BYTES: u32 = 1 << 20;
/// Chunks encoded ahead of the connection's writes.
const CHUNKS_AHEAD: usize = 2;

/// A large bulk reply being encoded: the connection's end of the channel.
#[derive(Debug)]
pub struct ReplyStream {
    chunks: mpsc::Receiver<Vec<u8>>,
}

impl ReplyStream {
    /// Starts encoding `bitmap`'s Redis string (the bulk header is already written) on the
    /// blocking pool; the last chunk ends with the bulk's `\r\n`.
    pub fn start(bitmap: Arc<Bitmap>) -> Self {
        let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
        tokio::task::spawn_blocking(move || {
            let len = bitmap.byte_len();
            let mut start = 0u32;
            loop {
                let size = CHUNK_BYTES.min(len - start);
                let last = start + size == len;
                let mut chunk = vec![0u8; size as usize + if last { 2 } else { 0 }];
                bitmap.write_redis_bytes(start, &mut chunk[..size as usize]);
                if last {
                    chunk[size as usize..].copy_from_slice(b"\r\n");
                }
                if tx.blocking_send(chunk).is_err() {
                    // The connection is gone.
                    return;
                }
                if last {
                    return;
                }
                start += size;
            }
        });
        ReplyStream { chunks: rx }
    }

    /// The next chunk; `None` once the whole reply was taken.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        self.chunks.recv().await
    }
}
