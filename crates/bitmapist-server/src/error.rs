//! The server's error types: a command's error reply, and what can stop the server itself.
//! A command error never closes the connection; only protocol errors do (see `resp`).

use std::borrow::Cow;

use thiserror::Error;

/// Why a command failed: answered as a Redis error reply, the connection stays usable.
#[derive(Debug, Error)]
pub enum CommandError {
    /// An error reply: the text after `-`, starting with its code (`ERR syntax error`).
    #[error("{}", String::from_utf8_lossy(.0))]
    Reply(Cow<'static, [u8]>),
    /// The store failed (an I/O or database error): answered `-ERR` with its message.
    #[error("ERR {0}")]
    Store(#[from] bitmapist::Error),
}

impl CommandError {
    /// Redis's `-ERR syntax error`.
    pub const SYNTAX: Self = Self::fixed(b"ERR syntax error");
    /// Redis's reply to an argument that is not a 64-bit integer.
    pub const NOT_AN_INTEGER: Self = Self::fixed(b"ERR value is not an integer or out of range");
    /// Redis's reply to a bad `SETBIT`/`GETBIT` offset.
    pub const BAD_OFFSET: Self = Self::fixed(b"ERR bit offset is not an integer or out of range");
    /// Redis's reply to a `SETBIT` value other than 0 or 1.
    pub const BAD_BIT: Self = Self::fixed(b"ERR bit is not an integer or out of range");
    /// Redis's reply to `RENAME` of a missing key.
    pub const NO_SUCH_KEY: Self = Self::fixed(b"ERR no such key");
    /// Keys are strings in the store (see `args::key`).
    pub const KEY_NOT_UTF8: Self = Self::fixed(b"ERR bitmapist-server keys must be valid UTF-8");

    const fn fixed(text: &'static [u8]) -> Self {
        CommandError::Reply(Cow::Borrowed(text))
    }

    /// An error reply with the given text (code included, e.g. `ERR ...`).
    pub fn reply(text: impl Into<String>) -> Self {
        CommandError::Reply(Cow::Owned(text.into().into_bytes()))
    }

    /// Redis's `wrong number of arguments for 'name' command`.
    pub fn arity(name: &str) -> Self {
        Self::reply(format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    }

    /// The bytes of the error reply, without `-` and line end.
    pub fn text(&self) -> Cow<'_, [u8]> {
        match self {
            CommandError::Reply(text) => Cow::Borrowed(text),
            CommandError::Store(e) => Cow::Owned(format!("ERR {e}").into_bytes()),
        }
    }
}
