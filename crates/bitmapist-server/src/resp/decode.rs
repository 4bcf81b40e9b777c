//! The request side of RESP2: splits a client's byte stream into commands (arrays of bulk
//! strings, or inline commands) with hard limits, so no client can make the server buffer without bound.
//!
//! The decoder never copies an argument: a parsed command is a list of ranges into the
//! caller's buffer, valid until the caller drops the command's bytes. It is incremental: a
//! command that arrives in pieces is parsed element by element, each complete element once
//! (only the header of the element in progress is read again when more bytes arrive).
//!
//! Errors and their texts are Redis 7's (`Protocol error: ...`); after one, Redis replies
//! and closes the connection, and so does the server. Differences from Redis, all refusals of
//! input Redis would buffer: a command's total size is capped ([`Limits::max_command`]), an
//! array is at most [`Limits::max_args`] long, and inline commands (telnet style) are split
//! on blanks only, without Redis's quoting rules.

use std::ops::Range;

use thiserror::Error;

/// The hard limits of the decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk string: 512 MiB, Redis's `proto-max-bulk-len` and the size of the
    /// largest bitmap (offsets end at 2^32 - 1), so that `SET` of any bitmap fits.
    pub max_bulk: usize,
    /// The most arguments of one command (Redis accepts up to 2^31 - 1 when buffered).
    pub max_args: usize,
    /// The most bytes one command may occupy in the buffer, headers included.
    pub max_command: usize,
    /// The longest header line and the longest inline command (Redis's 64 KiB).
    pub max_inline: usize,
    /// Not the decoder's: the most reply bytes a connection keeps waiting for a client
    /// that does not read (see `connection`), and the most unexecuted command bytes it then
    /// buffers before disconnecting that client. 64 MiB by default (`-max-output-mb`).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk: 512 << 20,
            max_args: 1 << 20,
            max_command: (512 << 20) + (1 << 20),
            max_inline: 64 << 10,
            max_output: 64 << 20,
        }
    }
}

/// Input the server refuses; the connection is closed after the error reply.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*n` with `n` not an integer or too large.
    #[error("Protocol error: invalid multibulk length")]
    MultibulkLength,
    /// No end of line within [`Limits::max_inline`] bytes after `*`.
    #[error("Protocol error: too big mbulk count string")]
    MultibulkLine,
    /// An array element that is not a bulk string.
    #[error("Protocol error: expected '$', got '{}'", char::from(*.0))]
    ExpectedBulk(u8),
    /// No end of line within [`Limits::max_inline`] bytes after `$`.
    #[error("Protocol error: too big bulk count string")]
    BulkLine,
    /// `$n` with `n` not an integer, negative, or above [`Limits::max_bulk`].
    #[error("Protocol error: invalid bulk length")]
    BulkLength,
    /// An inline command longer than [`Limits::max_inline`].
    #[error("Protocol error: too big inline request")]
    InlineTooBig,
    /// A command larger than [`Limits::max_command`] in total.
    #[error("Protocol error: command larger than {0} bytes")]
    CommandTooBig(usize),
}

/// What [`Decoder::decode`] found at the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete command of `len` bytes; its arguments are in [`Decoder::args`] (none for
    /// an empty inline line or an empty array, which Redis skips too).
    Command {
        /// Bytes the command occupies at the start of the buffer.
        len: usize,
    },
    /// The command is incomplete: nothing can be parsed until the buffer holds at least
    /// `needed` bytes (counted from the command's start).
    Incomplete {
        /// The least buffer length that lets parsing progress.
        needed: usize,
    },
}

/// Where a multibulk command in progress stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between commands.
    Idle,
    /// Inside an array: elements still to read, and the offset of the next one.
    Array { remaining: usize, pos: usize },
}

/// An incremental RESP2 request decoder: splits a client's bytes into commands (arrays of
/// bulk strings, or inline commands split on blanks) within [`Limits`].
///
/// A parsed command is a list of ranges into the caller's buffer (no argument is copied),
/// valid until the caller drops those bytes. A command arriving in pieces is parsed element
/// by element, each complete element once. Errors are Redis 7's (`Protocol error: ...`);
/// after one the connection is answered and closed, as Redis does.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    args: Vec<Range<usize>>,
    state: State,
}

/// Finds the end of the line that starts at `from`: (line end, start of the next line).
/// Like Redis, looks for `\r` and skips the byte after it. `None` when incomplete.
fn line_end(buf: &[u8], from: usize, max: usize) -> Result<Option<(usize, usize)>, ()> {
    let rest = buf.get(from..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\r') {
        Some(i) if i > max => Err(()),
        Some(i) if from + i + 1 < buf.len() => Ok(Some((from + i, from + i + 2))),
        Some(_) => Ok(None),
        None if rest.len() > max => Err(()),
        None => Ok(None),
    }
}

impl Decoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            args: Vec::new(),
            state: State::Idle,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The argument ranges of the last complete command, relative to its first byte.
    pub fn args(&self) -> &[Range<usize>] {
        &self.args
    }

    /// Parses the command at the start of `buf`. Call again with the same command start
    /// (and more bytes) after [`Decoded::Incomplete`]; after [`Decoded::Command`], the next
    /// call must start at the next command.
    pub fn decode(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        let (mut remaining, mut pos) = match self.state {
            State::Array { remaining, pos } => (remaining, pos),
            State::Idle => {
                self.args.clear();
                match buf.first() {
                    None => return Ok(Decoded::Incomplete { needed: 1 }),
                    Some(b'*') => {}
                    Some(_) => return self.inline(buf),
                }
                let Some((end, next)) = line_end(buf, 1, self.limits.max_inline)
                    .map_err(|()| ProtocolError::MultibulkLine)?
                else {
                    return Ok(Decoded::Incomplete {
                        needed: buf.len() + 1,
                    });
                };
                let count =
                    crate::args::parse_i64(&buf[1..end]).ok_or(ProtocolError::MultibulkLength)?;
                if count > i64::try_from(self.limits.max_args).unwrap_or(i64::MAX) {
                    return Err(ProtocolError::MultibulkLength);
                }
                let Ok(count) = usize::try_from(count) else {
                    // `*-1` and the like: skipped, as Redis does.
                    return Ok(Decoded::Command { len: next });
                };
                if count == 0 {
                    return Ok(Decoded::Command { len: next });
                }
                self.args.reserve(count.min(1024));
                (count, next)
            }
        };
        while remaining > 0 {
            let Some(&first) = buf.get(pos) else {
                self.state = State::Array { remaining, pos };
                return Ok(Decoded::Incomplete { needed: pos + 1 });
            };
            if first != b'$' {
                return Err(ProtocolError::ExpectedBulk(first));
            }
            let Some((end, start)) = line_end(buf, pos + 1, self.limits.max_inline)
                .map_err(|()| ProtocolError::BulkLine)?
            else {
                self.state = State::Array { remaining, pos };
                return Ok(Decoded::Incomplete {
                    needed: buf.len() + 1,
                });
            };
            let len = crate::args::parse_i64(&buf[pos + 1..end])
                .and_then(|l| usize::try_from(l).ok())
                .filter(|&l| l <= self.limits.max_bulk)
                .ok_or(ProtocolError::BulkLength)?;
            let needed = start + len + 2;
            if needed > self.limits.max_command {
                return Err(ProtocolError::CommandTooBig(self.limits.max_command));
            }
            if buf.len() < needed {
                self.state = State::Array { remaining, pos };
                return Ok(Decoded::Incomplete { needed });
            }
            // Like Redis, the two bytes after the data are skipped unchecked.
            self.args.push(start..start + len);
            pos = needed;
            remaining -= 1;
        }
        self.state = State::Idle;
        Ok(Decoded::Command { len: pos })
    }

    /// An inline command: one line, arguments separated by blanks.
    fn inline(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > self.limits.max_inline {
                return Err(ProtocolError::InlineTooBig);
            }
            return Ok(Decoded::Incomplete {
                needed: buf.len() + 1,
            });
        };
        if newline > self.limits.max_inline {
            return Err(ProtocolError::InlineTooBig);
        }
        let mut start = None;
        for (i, &b) in buf[..newline].iter().enumerate() {
            let blank = matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c');
            match (blank, start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    self.args.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            self.args.push(s..newline);
        }
        Ok(Decoded::Command { len: newline + 1 })
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes every command in `input`, fed in pieces of `chunk` bytes.
    fn decode_all(input: &[u8], chunk: usize) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut d = Decoder::default();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Decoded::Command { len } = d.decode(&buf)? {
                let args = d.args().iter().map(|r| buf[r.clone()].to_vec()).collect();
                out.push(args);
                buf.drain(..len);
            }
        }
        Ok(out)
    }

    fn cmd(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn arrays_inline_and_pieces() {
        let input =
            b"*3\r\n$6\r\nSETBIT\r\n$1\r\nk\r\n$0\r\n\r\nPING\r\n  get  k \r\n\r\n*0\r\n*-1\r\n";
        for chunk in [1, 2, 3, 7, 100] {
            let got = decode_all(input, chunk).unwrap();
            assert_eq!(
                got,
                vec![
                    cmd(&["SETBIT", "k", ""]),
                    cmd(&["PING"]),
                    cmd(&["get", "k"]),
                    vec![],
                    vec![],
                    vec![],
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn refusals_use_redis_texts() {
        let err = |input: &[u8]| decode_all(input, 1000).err().map(|e| e.to_string());
        assert_eq!(
            err(b"*1\r\n$1073741824\r\n").as_deref(),
            Some("Protocol error: invalid bulk length")
        );
        assert_eq!(
            err(b"*x\r\n").as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
        assert_eq!(
            err(b"*2\r\n:1\r\n").as_deref(),
            Some("Protocol error: expected '$', got ':'")
        );
        assert_eq!(
            err(b"*1\r\n$-1\r\n").as_deref(),
            Some("Protocol error: invalid bulk length")
        );
        assert_eq!(
            err(b"*99999999\r\n").as_deref(),
            Some("Protocol error: invalid multibulk length")
        );
        let long = vec![b'a'; 70_000];
        assert_eq!(
            err(&long).as_deref(),
            Some("Protocol error: too big inline request")
        );
    }

    #[test]
    fn incomplete_bulk_says_how_much_it_needs() {
        let mut d = Decoder::default();
        let buf = b"*1\r\n$100\r\nabc";
        assert_eq!(d.decode(buf), Ok(Decoded::Incomplete { needed: 112 }));
        let mut full = buf.to_vec();
        full.extend_from_slice(&[b'x'; 97]);
        full.extend_from_slice(b"\r\n");
        assert_eq!(d.decode(&full), Ok(Decoded::Command { len: 112 }));
        assert_eq!(
            d.args().to_vec(),
            vec![Range {
                start: 10,
                end: 110
            }]
        );
    }

    #[test]
    fn command_size_is_capped() {
        let mut d = Decoder::new(Limits {
            max_command: 64,
            ..Limits::default()
        });
        assert_eq!(
            d.decode(b"*2\r\n$40\r\n"),
            Ok(Decoded::Incomplete { needed: 51 })
        );
        let mut buf = b"*2\r\n$40\r\n".to_vec();
        buf.extend_from_slice(&[b'x'; 40]);
        buf.extend_from_slice(b"\r\n$20\r\n");
        assert_eq!(d.decode(&buf), Err(ProtocolError::CommandTooBig(64)));
    }
}
