//! One client connection: read, decode every complete command in the buffer, run them in
//! order, and write their replies in one go (pipelining), until the client leaves.
//!
//! Memory per connection is bounded: the read buffer holds at most one command in progress
//! (the decoder's limits: 512 MiB for a bulk string, a bit more for a whole command) plus one
//! read; it shrinks back after a large command. Replies are written whenever 64 KiB
//! accumulate; a client that stops reading stops being read. A protocol error is answered
//! (`-ERR Protocol error: ...`) and closes the connection, as in Redis; nothing it sent
//! before the error is lost, nothing after is run.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::args::Args;
use crate::commands::{self, Ctx, Flow};
use crate::resp::{Decoded, Decoder, encode};
use crate::server::{ConnState, ServerState};

/// The usual size of a read, and of the buffers when idle.
const CHUNK: usize = 16 * 1024;
/// Replies are written once this many bytes are waiting.
const WRITE_AT: usize = 64 * 1024;
/// Buffers larger than this are given back once empty.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// Serves one client until it disconnects, sends `QUIT`, breaks the protocol, or asks for
/// `SHUTDOWN`.
pub async fn serve(mut stream: TcpStream, state: &ServerState, mut conn: ConnState) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut decoder = Decoder::new(state.limits.clone());
    let mut needed = 0usize;
    loop {
        if needed > buf.len() + CHUNK {
            buf.reserve_exact(needed - buf.len());
        } else if buf.capacity() - buf.len() < CHUNK / 4 {
            buf.reserve(CHUNK);
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut start = 0;
        let mut flow = Flow::Continue;
        needed = 0;
        let mut ran = 0u64;
        loop {
            match decoder.decode(&buf[start..]) {
                Ok(Decoded::Command { len }) => {
                    let command = &buf[start..start + len];
                    let args = Args::new(command, decoder.args());
                    start += len;
                    if args.is_empty() {
                        continue;
                    }
                    if state.debug {
                        log_command(&conn, args);
                    }
                    ran += 1;
                    let mut ctx = Ctx::new(state, &mut conn);
                    flow = commands::execute(&mut ctx, args, &mut out).await;
                    if flow != Flow::Continue {
                        break;
                    }
                    if out.len() >= WRITE_AT {
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                }
                Ok(Decoded::Incomplete { needed: n }) => {
                    needed = n;
                    break;
                }
                Err(e) => {
                    tracing::info!(client = %conn.peer, error = %e, "closing the connection");
                    encode::error(&mut out, format!("ERR {e}").as_bytes());
                    let _ = stream.write_all(&out).await;
                    state.stats.add_commands(ran);
                    return;
                }
            }
        }
        state.stats.add_commands(ran);
        buf.drain(..start);
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        match flow {
            Flow::Continue => {}
            Flow::Close => return,
            Flow::Shutdown => {
                state.request_shutdown();
                return;
            }
        }
        if buf.is_empty() && buf.capacity() > SHRINK_ABOVE {
            buf = Vec::with_capacity(CHUNK);
        }
        if out.capacity() > SHRINK_ABOVE {
            out = Vec::with_capacity(CHUNK);
        }
    }
}

fn log_command(conn: &ConnState, args: Args<'_>) {
    let words: Vec<String> = args
        .from(0)
        .map(|a| String::from_utf8_lossy(&a[..a.len().min(64)]).into_owned())
        .collect();
    tracing::info!(client = %conn.peer, "{}", words.join(" "));
}
