//! bitmapist-server: a Redis-protocol server on roaring bitmaps, a drop-in for Doist's Go
//! bitmapist-server, keeping its data in bitmapist's embedded store (a redb file).
//!
//! It speaks the subset of RESP2 that bitmapist clients use (bit commands, strings as
//! bitmaps, keys, expiry, `SLURP`, and Redis 7's observability: `INFO` sections,
//! `LATENCY HISTOGRAM`, `SLOWLOG`), answering as Redis 7.0 does for the same
//! state. Its modules are private (everything public is re-exported at the crate root);
//! bottom up:
//!
//! - `resp`: the protocol (an incremental, bounded decoder; the reply encoder);
//! - `args`, `glob`: reading arguments as Redis does, Redis glob patterns;
//! - `expiry`, `scan`, `keyspace`: deadlines, `SCAN` cursors, the store behind a gate;
//! - `stats`: the figures of `INFO`, `LATENCY HISTOGRAM` and `SLOWLOG`;
//! - `state`: what the connections share and each connection's own state;
//! - `commands`: one module per command family (`commands::session`: `PING`, `AUTH`, ...),
//!   and the dispatch table;
//! - `stream`: large replies encoded a chunk at a time off the workers;
//! - `connection`, `server`: pipelined connections, the accept loop, the expiry sweep;
//! - `slurp`: importing from a running Redis; `flags`: the Go server's command line.

mod args;
mod command_table;
mod commands;
mod connection;
mod error;
mod expiry;
mod flags;
mod glob;
mod keyspace;
mod resp;
mod scan;
mod server;
mod slurp;
mod state;
mod stats;
mod stream;

pub use error::CommandError;
pub use flags::{Flags, FlagsError, USAGE, check_db_parent, parse as parse_flags, parse_duration};
pub use keyspace::{Keyspace, KeyspaceOptions};
pub use resp::{Decoded, Decoder, Limits, ProtocolError};
pub use server::{SWEEP_EVERY, accept_loop, sweep_loop};
pub use state::{ConnState, Multi, ServerState};
pub use stats::{CommandFigures, Recorder, SlowEntry, Stats};
