//! Property tests of the protocol parser: random bytes never panic it, any split of valid
//! input decodes the same; and random bytes sent to a live server never bring it down.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bitmapist_server::{Decoded, Decoder, Limits};
use common::Server;
use proptest::prelude::*;

/// Decodes `input` fed in pieces of the given sizes; the commands, or where it failed.
fn decode(input: &[u8], pieces: &[usize]) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut d = Decoder::new(Limits {
        max_bulk: 1 << 16,
        max_args: 64,
        max_command: 1 << 17,
        max_inline: 1 << 10,
        ..Limits::default()
    });
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = pieces.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.decode(&buf) {
                Ok(Decoded::Command { len }) => {
                    assert!(len > 0 && len <= buf.len());
                    let args = d.args().iter().map(|r| buf[r.clone()].to_vec()).collect();
                    out.push(args);
                    buf.drain(..len);
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed > buf.len());
                    break;
                }
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fn encode(commands: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in commands {
        out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
        for a in c {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..4096),
        pieces in proptest::collection::vec(1usize..300, 1..8),
    ) {
        let _ = decode(&input, &pieces);
    }

    #[test]
    fn resp_like_bytes_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"*".to_vec()), Just(b"$".to_vec()), Just(b"\r\n".to_vec()),
                Just(b"-1".to_vec()), Just(b"3".to_vec()), Just(b"99999999999999999999".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ],
            0..64,
        ),
        pieces in proptest::collection::vec(1usize..20, 1..8),
    ) {
        let input: Vec<u8> = parts.concat();
        let _ = decode(&input, &pieces);
    }

    #[test]
    fn any_split_of_valid_commands_decodes_the_same(
        commands in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
            1..10,
        ),
        pieces in proptest::collection::vec(1usize..50, 1..8),
    ) {
        let input = encode(&commands);
        let (decoded, failed) = decode(&input, &pieces);
        prop_assert!(!failed);
        prop_assert_eq!(decoded, commands);
    }
}

#[test]
fn random_bytes_never_bring_the_server_down() {
    let server = Server::start(&[]);
    let mut con = server.con();
    redis::cmd("SETBIT")
        .arg("kept")
        .arg(77)
        .arg(1)
        .query::<i64>(&mut con)
        .expect("SETBIT");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let inputs = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20_000),
        proptest::collection::vec(
            prop_oneof![
                Just(b"*2\r\n$6\r\nSETBIT\r\n".to_vec()),
                Just(b"*3\r\n$6\r\nBITCOUNT\r\n$4\r\nkept\r\n".to_vec()),
                Just(b"$-1\r\n".to_vec()),
                Just(b"*4\r\n$5\r\nBITOP\r\n$3\r\nNOT\r\n$1\r\nx\r\n$4\r\nkept\r\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..16),
            ],
            0..200,
        )
        .prop_map(|p| p.concat()),
    ];
    runner
        .run(&inputs, |input| {
            let mut s = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
            let _ = s.write_all(&input);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
            prop_assert!(common::answers_ping(server.port()));
            Ok(())
        })
        .expect("the server survives");
    let bit: i64 = redis::cmd("GETBIT")
        .arg("kept")
        .arg(77)
        .query(&mut con)
        .expect("GETBIT");
    assert_eq!(bit, 1);
}
