//! Command dispatch: the checks every command gets (unknown name, wrong number of
//! arguments), and the call into one family's module. The table of names and Redis arities
//! is `command_table.rs` (what the statistics count by, too).
//!
//! Every call is recorded for `INFO commandstats`/`latencystats`, `LATENCY HISTOGRAM` and
//! the slow log (see `stats`); refusals (unknown command, arity, `NOAUTH`) and error
//! replies are counted for `INFO errorstats`.
//!
//! A handler computes its whole answer before writing any of it, so an error reply is never
//! mixed with a partial answer; it returns a [`Flow`] or a [`CommandError`], which is
//! answered as a Redis error reply (the connection stays usable).

mod admin;
mod bits;
mod expire;
mod keys;
mod observe;
mod session;
mod strings;
mod transaction;

use std::ops::Deref;
use std::time::Instant;

use crate::args::Args;
use crate::error::CommandError;
use crate::keyspace::{ExclusiveGate, SharedGate};
use crate::resp::encode;
use crate::state::{ConnState, ServerState};

pub use crate::command_table::Command;

/// What the connection does after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Send what is buffered, then close (`QUIT`).
    Close,
    /// Close, and shut the server down (`SHUTDOWN`).
    Shutdown,
}

/// A handler's result.
pub type Outcome = Result<Flow, CommandError>;

/// What a handler may use: the server and its own connection's state.
pub struct Ctx<'a> {
    /// The server (keyspace, configuration, counters).
    pub server: &'a ServerState,
    /// The calling connection.
    pub conn: &'a mut ConnState,
    /// The exclusive gate, when the command runs inside `EXEC` (which holds it for the
    /// whole transaction).
    pub held: Option<&'a ExclusiveGate<'a>>,
}

/// The exclusive gate as a handler holds it: its own, or the one `EXEC` holds.
pub enum Gate<'a> {
    /// Taken for this command.
    Owned(ExclusiveGate<'a>),
    /// Held by the enclosing `EXEC`.
    Borrowed(&'a ExclusiveGate<'a>),
}

impl<'a> Deref for Gate<'a> {
    type Target = ExclusiveGate<'a>;
    fn deref(&self) -> &ExclusiveGate<'a> {
        match self {
            Gate::Owned(g) => g,
            Gate::Borrowed(g) => g,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context for a command of `conn` outside any transaction.
    pub fn new(server: &'a ServerState, conn: &'a mut ConnState) -> Self {
        Ctx {
            server,
            conn,
            held: None,
        }
    }

    /// The shared gate for a command on `key` (nothing to take inside `EXEC`), after
    /// deleting `key` if it is past its deadline.
    pub async fn shared_for(&self, key: &str) -> Result<Option<SharedGate<'a>>, CommandError> {
        let ks = &self.server.keyspace;
        match self.held {
            Some(gate) => {
                ks.expire_due(gate).await?;
                Ok(None)
            }
            None => Ok(Some(ks.shared_for(key).await?)),
        }
    }

    /// The exclusive gate (the one `EXEC` holds, inside a transaction), after deleting
    /// every key past its deadline.
    pub async fn exclusive(&self) -> Result<Gate<'a>, CommandError> {
        let ks = &self.server.keyspace;
        match self.held {
            Some(gate) => {
                ks.expire_due(gate).await?;
                Ok(Gate::Borrowed(gate))
            }
            None => Ok(Gate::Owned(ks.exclusive().await?)),
        }
    }
}

/// Redis's reply to an unknown command: its name and the start of its arguments.
fn unknown_command(args: Args<'_>) -> Vec<u8> {
    let name = args.get(0);
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(&name[..name.len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    let mut listed = Vec::new();
    for arg in args.from(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push(b'\'');
        listed.extend_from_slice(&arg[..arg.len().min(room)]);
        listed.extend_from_slice(b"' ");
    }
    msg.extend_from_slice(&listed);
    msg
}

/// Redis's reply to an unknown subcommand of `command` (`CLIENT`, `COMMAND`, `CONFIG`).
pub(crate) fn unknown_subcommand(sub: &[u8], command: &str) -> CommandError {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    CommandError::reply(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        command.to_ascii_uppercase()
    ))
}

/// Runs a single-key bit command (`SETBIT`, `GETBIT`, `BITCOUNT`) at once, without
/// waiting, and appends its reply to `out`: the common request of a bitmap server, served
/// without building the future of [`execute`]. `None` (nothing run, nothing written) for
/// any other command, inside `MULTI`, before `AUTH`, on a wrong argument count, when the
/// gate is not free at once or the key is past its deadline: [`execute`] then runs it,
/// with the same checks and replies.
pub fn execute_now(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Option<Flow> {
    let command = Command::lookup(args.get(0))?;
    let now: fn(&Ctx<'_>, Args<'_>, &mut Vec<u8>) -> Option<Outcome> = match command {
        Command::SetBit => bits::setbit_now,
        Command::GetBit => bits::getbit_now,
        Command::BitCount => bits::bitcount_now,
        _ => return None,
    };
    if ctx.held.is_some()
        || ctx.conn.multi.is_some()
        || !command.accepts(args.len())
        || !session::allowed(ctx, command)
    {
        return None;
    }
    let started = Instant::now();
    let outcome = now(ctx, args, out)?;
    Some(answer(ctx, command, args, started, outcome, out))
}

/// Records `command`'s call (see `stats`) and answers its error (if any) on `out`; the
/// flow after it.
fn answer(
    ctx: &mut Ctx<'_>,
    command: Command,
    args: Args<'_>,
    started: Instant,
    outcome: Outcome,
    out: &mut Vec<u8>,
) -> Flow {
    let elapsed = started.elapsed();
    let stats = &ctx.server.stats;
    ctx.conn.recorder.ran(command, elapsed, outcome.is_err());
    if stats.is_slow(elapsed) && !matches!(command, Command::Auth | Command::Hello | Command::Exec)
    {
        let name = ctx.conn.name.as_deref().unwrap_or_default();
        stats.log_slow(args, elapsed, &ctx.conn.peer, name);
    }
    match outcome {
        Ok(flow) => flow,
        Err(e) => {
            if let CommandError::Store(inner) = &e {
                tracing::error!(command = command.name(), error = %inner, "store error");
            }
            let text = e.text();
            stats.count_error(&text);
            encode::error(out, &text);
            Flow::Continue
        }
    }
}

/// Answers an error for a command refused before running (`rejected`: one that exists).
fn refuse(ctx: &mut Ctx<'_>, rejected: Option<Command>, text: &[u8], out: &mut Vec<u8>) -> Flow {
    transaction::fail(ctx);
    if let Some(command) = rejected {
        ctx.conn.recorder.rejected(command);
    }
    ctx.server.stats.count_error(text);
    encode::error(out, text);
    Flow::Continue
}

/// Runs one command and appends its reply to `out`.
pub async fn execute(ctx: &mut Ctx<'_>, args: Args<'_>, out: &mut Vec<u8>) -> Flow {
    let started = Instant::now();
    let Some(command) = Command::lookup(args.get(0)) else {
        return refuse(ctx, None, &unknown_command(args), out);
    };
    if !command.accepts(args.len()) {
        return refuse(
            ctx,
            Some(command),
            &CommandError::arity(command.name()).text(),
            out,
        );
    }
    if !session::allowed(ctx, command) {
        return refuse(ctx, Some(command), b"NOAUTH Authentication required.", out);
    }
    if transaction::queue(ctx, command, args, out) {
        return Flow::Continue;
    }
    let outcome = run(command, ctx, args, out).await;
    answer(ctx, command, args, started, outcome, out)
}

pub(crate) async fn run(
    command: Command,
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    out: &mut Vec<u8>,
) -> Outcome {
    use Command as C;
    match command {
        C::SetBit => bits::setbit(ctx, args, out).await,
        C::GetBit => bits::getbit(ctx, args, out).await,
        C::BitCount => bits::bitcount(ctx, args, out).await,
        C::BitOp => bits::bitop(ctx, args, out).await,
        C::Get => strings::get(ctx, args, out).await,
        C::Set => strings::set(ctx, args, out).await,
        C::MGet => strings::mget(ctx, args, out).await,
        C::StrLen => strings::strlen(ctx, args, out).await,
        C::Exists => keys::exists(ctx, args, out).await,
        C::Del | C::Unlink => keys::del(ctx, args, out).await,
        C::Keys => keys::keys(ctx, args, out).await,
        C::Scan => keys::scan(ctx, args, out).await,
        C::Type => keys::key_type(ctx, args, out).await,
        C::Rename => keys::rename(ctx, args, out, false).await,
        C::RenameNx => keys::rename(ctx, args, out, true).await,
        C::DbSize => keys::dbsize(ctx, out).await,
        C::FlushDb | C::FlushAll => keys::flush(ctx, args, out).await,
        C::Ttl => expire::ttl(ctx, args, out, expire::TtlKind::Seconds).await,
        C::PTtl => expire::ttl(ctx, args, out, expire::TtlKind::Millis).await,
        C::ExpireTime => expire::ttl(ctx, args, out, expire::TtlKind::AtSeconds).await,
        C::PExpireTime => expire::ttl(ctx, args, out, expire::TtlKind::AtMillis).await,
        C::Expire => expire::expire(ctx, args, out, command, false, 1000).await,
        C::PExpire => expire::expire(ctx, args, out, command, false, 1).await,
        C::ExpireAt => expire::expire(ctx, args, out, command, true, 1000).await,
        C::PExpireAt => expire::expire(ctx, args, out, command, true, 1).await,
        C::Persist => expire::persist(ctx, args, out).await,
        C::Ping => session::ping(args, out),
        C::Echo => session::echo(args, out),
        C::Quit => session::quit(out),
        C::Select => session::select(args, out),
        C::Hello => session::hello(ctx, args, out),
        C::Auth => session::auth(ctx, args, out),
        C::Client => session::client(ctx, args, out),
        C::CommandCmd => session::command(args, out),
        C::Config => session::config(ctx, args, out),
        C::Info => observe::info(ctx, args, out).await,
        C::Latency => observe::latency(ctx, args, out),
        C::SlowLog => observe::slowlog(ctx, args, out),
        C::BgSave => admin::bgsave(ctx, args, out).await,
        C::Save => admin::save(ctx, out).await,
        C::LastSave => admin::lastsave(ctx, out),
        C::Shutdown => admin::shutdown(args, out),
        C::Time => admin::time(out),
        C::Slurp => admin::slurp(ctx, args, out).await,
        C::MultiCmd => transaction::multi(ctx, out),
        C::Exec => transaction::exec(ctx, out).await,
        C::Discard => transaction::discard(ctx, out),
        C::Watch => transaction::watch(ctx),
        C::Unwatch => transaction::unwatch(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_checks_arity() {
        assert_eq!(Command::lookup(b"setBit"), Some(Command::SetBit));
        assert_eq!(Command::lookup(b"nope"), None);
        assert_eq!(Command::lookup(b"averyveryverylongcommandname"), None);
        assert!(Command::SetBit.accepts(4) && !Command::SetBit.accepts(3));
        assert!(Command::BitOp.accepts(4) && Command::BitOp.accepts(9));
        assert!(!Command::BitOp.accepts(3));
    }

    #[test]
    fn unknown_command_text_matches_redis() {
        let buf = b"foo a b";
        let ranges = [0..3, 4..5, 6..7];
        assert_eq!(
            String::from_utf8_lossy(&unknown_command(Args::new(buf, &ranges))),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
    }
}
