//! A command's arguments and Redis's rules for reading them: integers as Redis's `string2ll`
//! reads them (no sign but `-`, no leading zeros, no blanks), keys as UTF-8 strings.

use std::ops::Range;

use crate::error::CommandError;

/// The arguments of one command (the name is argument 0): slices of the connection's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    /// The arguments at `ranges` of `buf` (ranges from the decoder, relative to `buf`).
    pub fn new(buf: &'a [u8], ranges: &'a [Range<usize>]) -> Self {
        Args { buf, ranges }
    }

    /// How many arguments, the command name included.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are none (an empty command, which is skipped).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i`; empty when there is no such argument.
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.ranges
            .get(i)
            .and_then(|r| self.buf.get(r.clone()))
            .unwrap_or_default()
    }

    /// Arguments `from..`, in order.
    pub fn from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        self.ranges
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(move |r| buf.get(r.clone()).unwrap_or_default())
    }

    /// Argument `i` as a key: keys are UTF-8 in bitmapist-server (the store's keys are
    /// strings); any other bytes are refused with an error reply.
    pub fn key(&self, i: usize) -> Result<&'a str, CommandError> {
        key(self.get(i))
    }

    /// Argument `i` as a Redis integer (`ERR value is not an integer or out of range`).
    pub fn int(&self, i: usize) -> Result<i64, CommandError> {
        parse_i64(self.get(i)).ok_or(CommandError::NOT_AN_INTEGER)
    }

    /// Whether argument `i` equals `word`, ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// Reads a key (see [`Args::key`]).
pub fn key(bytes: &[u8]) -> Result<&str, CommandError> {
    std::str::from_utf8(bytes).map_err(|_| CommandError::KEY_NOT_UTF8)
}

/// Reads an integer exactly as Redis's `string2ll` does: optional `-`, then `0` alone or a
/// digit 1-9 followed by digits, at most 20 bytes, within `i64`. `None` otherwise.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > 1u64 << 63 {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(v))
    } else {
        i64::try_from(v).ok()
    }
}

/// Reads a `SCAN` cursor as Redis 7.0 does (C's `strtoul`): no leading blank, an optional
/// sign (`-1` wraps to the largest cursor), decimal digits within `u64`; the empty string
/// is 0.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_string2ll() {
        for (s, v) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-7", Some(-7)),
            ("007", None),
            ("+7", None),
            ("-0", None),
            ("", None),
            ("-", None),
            (" 7", None),
            ("7 ", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_i64(s.as_bytes()), v, "{s:?}");
        }
        assert_eq!(parse_u64(b"007"), Some(7));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"-1"), Some(u64::MAX));
        assert_eq!(parse_u64(b"+5"), Some(5));
        assert_eq!(parse_u64(b""), Some(0));
        assert_eq!(parse_u64(b"-"), None);
        assert_eq!(parse_u64(b" 1"), None);
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"x"), None);
    }

    #[test]
    fn args_are_slices() {
        let buf = b"SETBIT k 7";
        let ranges = [0..6, 7..8, 9..10];
        let a = Args::new(buf, &ranges);
        assert_eq!(a.len(), 3);
        assert!(a.is(0, "setbit"));
        assert_eq!(a.key(1).ok(), Some("k"));
        assert_eq!(a.int(2).ok(), Some(7));
        assert_eq!(a.get(9), b"");
        assert_eq!(a.from(1).collect::<Vec<_>>(), vec![&b"k"[..], b"7"]);
        assert!(key(b"\xff").is_err());
    }
}
