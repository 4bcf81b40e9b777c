//! The reply side of RESP2: appends replies to a connection's output buffer.
//! Each function writes one complete reply (or, for [`array`], the header of one).

use std::io::Write as _;

/// `+OK`.
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// A status reply, `+text`. `text` must not contain a line break.
pub fn status(out: &mut Vec<u8>, text: &str) {
    out.push(b'+');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// An error reply, `-text`; line breaks in `text` become spaces, as Redis does.
pub fn error(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'-');
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// An integer reply, `:n`.
pub fn int(out: &mut Vec<u8>, n: i64) {
    match n {
        0 => out.extend_from_slice(b":0\r\n"),
        1 => out.extend_from_slice(b":1\r\n"),
        _ => {
            // Writing into a Vec cannot fail.
            let _ = write!(out, ":{n}\r\n");
        }
    }
}

/// An integer reply from an unsigned count (saturating at `i64::MAX`).
pub fn count(out: &mut Vec<u8>, n: u64) {
    int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// A bulk string reply, `$len` and the bytes.
pub fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = write!(out, "${}\r\n", bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// The null bulk string, `$-1` (a missing key).
pub fn nil(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `len` replies; the caller writes them next.
pub fn array(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "*{len}\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut out = Vec::new();
        ok(&mut out);
        int(&mut out, -12);
        count(&mut out, u64::MAX);
        bulk(&mut out, b"a\r\nb");
        nil(&mut out);
        array(&mut out, 2);
        error(&mut out, b"ERR bad\r\nline");
        status(&mut out, "PONG");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "+OK\r\n:-12\r\n:9223372036854775807\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n-ERR bad  line\r\n+PONG\r\n"
        );
    }
}
