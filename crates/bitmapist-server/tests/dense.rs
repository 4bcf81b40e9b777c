//! A real dense key (`SETBIT big 4294967295 1`, `BITOP NOT dbig big`: 512 MiB of ones)
//! on the real server with a single worker thread: its `GET` streams while another client
//! is served, equals the model byte for byte, and is abandoned when its client leaves.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

/// The length of the dense value: offsets up to 2^32 - 1.
const LEN: usize = 1 << 29;

/// Builds `dbig`: every bit set but `holes` (and the top bit, set in `big`).
fn dense_key(con: &mut redis::Connection, holes: &BTreeSet<u32>) {
    let mut pipe = redis::pipe();
    pipe.cmd("SETBIT").arg("big").arg(u32::MAX).arg(1).ignore();
    for &h in holes {
        pipe.cmd("SETBIT").arg("big").arg(h).arg(1).ignore();
    }
    pipe.cmd("BITOP").arg("NOT").arg("dbig").arg("big").ignore();
    pipe.query::<()>(con).expect("build the dense key");
}

/// The model's bytes `start..start + out.len()`: ones except the holes and the top bit.
fn model_bytes(start: usize, out: &mut [u8], holes: &BTreeSet<u32>) {
    out.fill(0xFF);
    let end = start + out.len();
    for &h in holes {
        let byte = (h / 8) as usize;
        if (start..end).contains(&byte) {
            out[byte - start] &= !(0x80 >> (h % 8));
        }
    }
    if end == LEN {
        out[out.len() - 1] &= 0xFE;
    }
}

/// Reads the value's bytes from `r` and compares them with the model, chunk by chunk.
fn read_and_compare(r: &mut impl Read, holes: &BTreeSet<u32>) {
    let mut got = vec![0u8; 1 << 20];
    let mut want = vec![0u8; 1 << 20];
    let mut at = 0usize;
    while at < LEN {
        let n = (LEN - at).min(got.len());
        r.read_exact(&mut got[..n]).expect("value bytes");
        model_bytes(at, &mut want[..n], holes);
        if got[..n] != want[..n] {
            let j = (0..n).find(|&j| got[j] != want[j]).unwrap_or(0);
            panic!("byte {} is {:#04x}, model {:#04x}", at + j, got[j], want[j]);
        }
        at += n;
    }
    let mut crlf = [0u8; 2];
    r.read_exact(&mut crlf).expect("CRLF");
    assert_eq!(&crlf, b"\r\n");
}

/// Sends `GET dbig` on a new connection and reads the bulk header.
fn start_get(port: u16) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"GET dbig\r\n").expect("send GET");
    let mut r = BufReader::new(s);
    let mut header = String::new();
    r.read_line(&mut header).expect("bulk header");
    assert_eq!(header, format!("${LEN}\r\n"));
    r
}

fn info_stat(con: &mut redis::Connection, field: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg("stats").query(con).expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {text}"))
}

#[test]
fn dense_get_streams_equals_the_model_and_stops_for_gone_clients() {
    let server = Server::start(&["-workers", "1"]);
    let mut con = server.con();
    let holes: BTreeSet<u32> = [
        0u32,
        9,
        65_535,
        65_536,
        1 << 20,
        3_000_000_001,
        u32::MAX - 8,
    ]
    .into_iter()
    .collect();
    dense_key(&mut con, &holes);

    // Client A starts the GET and reads nothing more yet; client B is served meanwhile.
    let mut a = start_get(server.port());
    let mut events = vec!["A: header"];
    let mut b = TcpStream::connect(("127.0.0.1", server.port())).expect("connect B");
    // A guard against a hang, not a timing assertion: a stalled server fails here.
    b.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    b.write_all(b"PING\r\n").expect("PING");
    let mut pong = [0u8; 7];
    b.read_exact(&mut pong).expect("PONG while the GET streams");
    assert_eq!(&pong, b"+PONG\r\n");
    events.push("B: PONG");

    // A reads the whole value: equal to the model, then the bulk's CRLF.
    read_and_compare(&mut a, &holes);
    events.push("A: complete");
    assert_eq!(events, ["A: header", "B: PONG", "A: complete"]);
    // The connection goes on with the next command.
    a.get_mut().write_all(b"PING\r\n").expect("PING on A");
    let mut line = String::new();
    a.read_line(&mut line).expect("PONG on A");
    assert_eq!(line, "+PONG\r\n");

    // Client C leaves after the header: its reply is abandoned, not encoded to the end.
    let abandoned = info_stat(&mut con, "bitmapist_abandoned_replies");
    assert!(info_stat(&mut con, "bitmapist_streamed_replies") >= 1);
    drop(start_get(server.port()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_stat(&mut con, "bitmapist_abandoned_replies") == abandoned {
        assert!(
            Instant::now() < deadline,
            "the gone client's GET was not abandoned"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        info_stat(&mut con, "bitmapist_abandoned_replies"),
        abandoned + 1
    );

    // Inside a transaction the value is answered whole, in the EXEC array.
    let mut s = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    s.write_all(b"MULTI\r\nGET dbig\r\nEXEC\r\n").expect("send");
    let mut r = BufReader::new(s);
    let mut head = String::new();
    for _ in 0..4 {
        r.read_line(&mut head).expect("reply lines");
    }
    assert_eq!(head, format!("+OK\r\n+QUEUED\r\n*1\r\n${LEN}\r\n"));
    read_and_compare(&mut r, &holes);
}
