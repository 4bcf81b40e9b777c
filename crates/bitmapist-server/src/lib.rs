//! bitmapist-server: a Redis-protocol server on roaring bitmaps, a drop-in for Doist's Go
//! bitmapist-server, keeping its data in bitmapist's embedded store (a redb file).
//!
//! It speaks the subset of RESP2 that bitmapist clients use (bit commands, strings as
//! bitmaps, keys, expiry, `INFO keys`, `SLURP`), answering as Redis 7.0 does for the same
//! state. Modules, bottom up:
//!
//! - [`resp`]: the protocol (an incremental, bounded decoder; the reply encoder);
//! - [`args`], [`glob`]: reading arguments as Redis does, Redis glob patterns;
//! - [`expiry`], [`scan`], [`keyspace`]: deadlines, `SCAN` cursors, the store behind a gate;
//! - [`commands`]: one module per command family, and the dispatch table;
//! - [`connection`], [`server`]: pipelined connections, the accept loop, the expiry sweep;
//! - [`slurp`]: importing from a running Redis; [`flags`]: the Go server's command line.

pub mod args;
pub mod commands;
pub mod connection;
pub mod error;
pub mod expiry;
pub mod flags;
pub mod glob;
pub mod keyspace;
pub mod resp;
pub mod scan;
pub mod server;
pub mod slurp;

pub use error::CommandError;
pub use keyspace::{Keyspace, KeyspaceOptions};
pub use server::ServerState;
