//! One client connection: reads, decodes and runs commands in order while writing their
//! replies back, concurrently, until the client leaves (pipelining without deadlock).
//!
//! Reading never waits for writing: a client that writes a whole pipeline before reading
//! any reply (redis-py pipelines, `MULTI` with 800k commands) is read on while its replies
//! are pending, so neither side blocks on a full socket buffer. What that costs is bounded:
//!
//! - The read buffer grows only as bytes arrive (a bulk length announced but never sent
//!   reserves nothing), and shrinks back after a large command.
//! - Replies waiting to be sent are capped by [`Limits::max_output`]: once that many are
//!   pending, commands stop running (reading goes on) until half of them are sent. A
//!   client that still does not read, while its unexecuted commands pass the same cap, is
//!   disconnected with a logged reason, as Redis's `client-output-buffer-limit` does. A
//!   single reply larger than the cap (`GET` of a 512 MiB bitmap) is always accepted.
//!
//! - A large value (`GET` of a big bitmap) is streamed a chunk at a time from an encoder
//!   off the workers (see `stream`): later commands wait until it is sent, and a client
//!   that leaves meanwhile stops the encoder (counted as an abandoned reply).
//!
//! A protocol error is answered (`-ERR Protocol error: ...`) and closes the connection, as
//! in Redis; nothing it sent before the error is lost, nothing after is run. When the client
//! closes its side, the commands it already sent still run and their replies are sent.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::args::Args;
use crate::commands::{self, Ctx, Flow};
use crate::resp::{Decoded, Decoder, Limits, encode};
use crate::state::{ConnState, ServerState};
use crate::stats::Stats;
use crate::stream::ReplyStream;

/// The usual size of a read, and of the buffers when idle.
const CHUNK: usize = 16 * 1024;
/// Buffers larger than this are given back once empty.
const SHRINK_ABOVE: usize = 1024 * 1024;

/// The replies of a connection: bytes produced by commands, and how many are sent.
struct Output {
    bytes: Vec<u8>,
    sent: usize,
}

impl Output {
    /// Bytes produced and not yet sent.
    fn pending(&self) -> usize {
        self.bytes.len() - self.sent
    }

    /// Forgets what was sent, so that the buffer does not grow with the whole history.
    fn compact(&mut self) {
        if self.sent == self.bytes.len() {
            self.bytes.clear();
            self.sent = 0;
            if self.bytes.capacity() > SHRINK_ABOVE {
                self.bytes = Vec::with_capacity(CHUNK);
            }
        } else if self.sent >= CHUNK && self.sent >= self.bytes.len() / 2 {
            self.bytes.drain(..self.sent);
            self.sent = 0;
        }
    }
}

/// Why the connection stops running commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// `QUIT`, or a protocol error: send what is pending, then close.
    Close,
    /// `SHUTDOWN`: the server is asked to shut down; send what is pending, close.
    Shutdown,
}

/// Serves one client until it disconnects, sends `QUIT`, breaks the protocol, asks for
/// `SHUTDOWN`, or exceeds the output limit while not reading.
pub async fn serve(mut stream: TcpStream, state: &ServerState, mut conn: ConnState) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.split();
    let mut session = Session::new(&state.limits);
    let finished = loop {
        if session.stop.is_none() && session.stream.is_none() {
            session.run_commands(state, &mut conn).await;
        }
        if let Some(bitmap) = conn.stream.take() {
            state.stats.count_streamed();
            session.stream = Some(ReplyStream::start(bitmap));
        }
        session.out.compact();
        if session.client_does_not_read(&state.limits) {
            tracing::warn!(
                client = %conn.peer,
                pending_replies = session.out.pending(),
                queued_commands = session.buf.len(),
                limit = state.limits.max_output,
                "closing the connection: the client does not read its replies \
                 (client output limit reached)"
            );
            break false;
        }
        let want_read = session.reading && session.stop.is_none();
        let want_write = session.out.pending() > 0;
        if !want_write && !want_read && session.stream.is_none() {
            // Everything is sent; nothing more will arrive or run.
            break true;
        }
        if !session
            .transfer(
                &mut reader,
                &mut writer,
                want_read,
                want_write,
                &state.stats,
            )
            .await
        {
            break false;
        }
    };
    if !finished && session.stream.is_some() {
        // Dropping the stream stops its encoder.
        state.stats.count_abandoned();
        tracing::info!(client = %conn.peer, "client gone: large reply abandoned");
    }
}

/// The state of one connection between its phases: bytes read and not yet run, replies
/// not yet sent, and whether it still reads, waits for replies to drain, or stops.
struct Session {
    buf: Vec<u8>,
    out: Output,
    decoder: Decoder,
    /// Whether the client may still send (false after it closed its side).
    reading: bool,
    /// Whether commands wait for replies to drain (hysteresis: resume at half the cap).
    paused: bool,
    stop: Option<Stop>,
    /// A large reply being streamed: no command runs until it is sent.
    stream: Option<ReplyStream>,
}

impl Session {
    fn new(limits: &Limits) -> Self {
        Session {
            buf: Vec::with_capacity(CHUNK),
            out: Output {
                bytes: Vec::with_capacity(CHUNK),
                sent: 0,
            },
            decoder: Decoder::new(limits.clone()),
            reading: true,
            paused: false,
            stop: None,
            stream: None,
        }
    }

    /// Runs the buffered complete commands unless paused (resuming once the pending
    /// replies fell to half the cap), then gives back a large empty read buffer.
    async fn run_commands(&mut self, state: &ServerState, conn: &mut ConnState) {
        if self.paused && self.out.pending() <= state.limits.max_output / 2 {
            self.paused = false;
        }
        if !self.paused {
            let (ran, next) =
                run_buffered(state, conn, &mut self.decoder, &self.buf, &mut self.out).await;
            if ran.consumed > 0 {
                self.buf.drain(..ran.consumed);
            }
            if next == Some(Stop::Shutdown) {
                // The server saves and exits; pending replies go out meanwhile.
                state.request_shutdown();
            }
            self.stop = next;
            self.paused = ran.paused;
            if !self.reading && !self.paused && self.stop.is_none() && conn.stream.is_none() {
                // The client closed its side and every command it sent has run.
                self.stop = Some(Stop::Close);
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > SHRINK_ABOVE {
            self.buf = Vec::with_capacity(CHUNK);
        }
    }

    /// Whether commands are paused (on the output cap, or behind a streamed reply) while
    /// the unexecuted ones pass the cap too.
    fn client_does_not_read(&self, limits: &Limits) -> bool {
        self.stop.is_none()
            && (self.paused || self.stream.is_some())
            && self.buf.len() > limits.max_output
    }

    /// Waits for the socket to take some replies or give some bytes, or (once the replies
    /// are sent) for the next chunk of a streamed reply, whichever comes first; false when
    /// the connection is gone.
    async fn transfer(
        &mut self,
        reader: &mut (impl AsyncRead + Unpin),
        writer: &mut (impl AsyncWrite + Unpin),
        want_read: bool,
        want_write: bool,
        stats: &Stats,
    ) -> bool {
        if want_read && self.buf.capacity() - self.buf.len() < CHUNK / 4 {
            // Grows with the bytes that arrived (doubling), never by an announced length.
            self.buf.reserve(CHUNK);
        }
        let out = &mut self.out;
        let want_chunk = !want_write && self.stream.is_some();
        tokio::select! {
            chunk = next_chunk(&mut self.stream), if want_chunk => match chunk {
                Some(chunk) => {
                    out.bytes = chunk;
                    out.sent = 0;
                }
                None => self.stream = None,
            },
            read = reader.read_buf(&mut self.buf), if want_read => match read {
                Ok(0) => self.reading = false,
                Ok(n) => stats.add_input(n),
                Err(_) => return false,
            },
            written = writer.write(&out.bytes[out.sent..]), if want_write => match written {
                Ok(0) | Err(_) => return false,
                Ok(n) => {
                    out.sent += n;
                    stats.add_output(n);
                }
            },
        }
        true
    }
}

/// The next chunk of `stream` (which is `Some` when polled).
async fn next_chunk(stream: &mut Option<ReplyStream>) -> Option<Vec<u8>> {
    match stream {
        Some(s) => s.next().await,
        None => None,
    }
}

/// What [`run_buffered`] did.
struct Ran {
    /// Bytes of complete commands consumed from the start of the buffer.
    consumed: usize,
    /// Whether it stopped because the pending replies reached the output limit.
    paused: bool,
}

/// Runs the complete commands at the start of `buf`, in order, appending their replies to
/// `out`, until the buffer holds no complete command, the pending replies reach the output
/// limit, or a command (or a protocol error) ends the connection.
async fn run_buffered(
    state: &ServerState,
    conn: &mut ConnState,
    decoder: &mut Decoder,
    buf: &[u8],
    out: &mut Output,
) -> (Ran, Option<Stop>) {
    let mut start = 0;
    let mut ran = 0u64;
    let mut stop = None;
    let mut paused = false;
    loop {
        if out.pending() >= state.limits.max_output {
            paused = true;
            break;
        }
        match decoder.decode(&buf[start..]) {
            Ok(Decoded::Command { len }) => {
                let command = &buf[start..start + len];
                let args = Args::new(command, decoder.args());
                start += len;
                if args.is_empty() {
                    continue;
                }
                if state.debug {
                    log_command(conn, args);
                }
                ran += 1;
                let mut ctx = Ctx::new(state, conn);
                // SETBIT, GETBIT and BITCOUNT run at once; any other command goes through
                // the full dispatch, whose (large) future lives on the heap so that this
                // one stays small: it is built again for every batch a client sends.
                let flow = match commands::execute_now(&mut ctx, args, &mut out.bytes) {
                    Some(flow) => flow,
                    None => Box::pin(commands::execute(&mut ctx, args, &mut out.bytes)).await,
                };
                match flow {
                    Flow::Continue if conn.stream.is_some() => break,
                    Flow::Continue => {}
                    Flow::Close => {
                        stop = Some(Stop::Close);
                        break;
                    }
                    Flow::Shutdown => {
                        stop = Some(Stop::Shutdown);
                        break;
                    }
                }
            }
            Ok(Decoded::Incomplete { .. }) => break,
            Err(e) => {
                tracing::info!(client = %conn.peer, error = %e, "closing the connection");
                encode::error(&mut out.bytes, format!("ERR {e}").as_bytes());
                stop = Some(Stop::Close);
                break;
            }
        }
    }
    state.stats.add_commands(ran);
    state.stats.merge(&mut conn.recorder);
    (
        Ran {
            consumed: start,
            paused,
        },
        stop,
    )
}

fn log_command(conn: &ConnState, args: Args<'_>) {
    let words: Vec<String> = args
        .from(0)
        .map(|a| String::from_utf8_lossy(&a[..a.len().min(64)]).into_owned())
        .collect();
    tracing::info!(client = %conn.peer, "{}", words.join(" "));
}
