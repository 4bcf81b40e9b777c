//! Load: many concurrent pipelining clients answered in order, and clients that send a
//! 1 GiB bulk header, an unfinished 512 MiB value, or garbage are refused and disconnected
//! while the others go on and nothing stored is lost. Loopback only, bounded in size.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Server;

const CLIENTS: u32 = 50;
const ROUNDS: u32 = 10;
const PER_ROUND: u32 = 200;

/// One client: rounds of pipelined SETBIT + GETBIT pairs, checking every reply in order.
async fn client(url: String, n: u32) {
    let client = redis::Client::open(url).expect("client");
    // redis-rs gives up on a reply after 500 ms by default; on a loaded 2-core machine a
    // 600-command pipeline among many clients can take longer, and this test checks
    // replies, not speed.
    let config = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(std::time::Duration::from_secs(60)));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect");
    let key = format!("load:{}", n % 5);
    for round in 0..ROUNDS {
        let mut pipe = redis::pipe();
        for i in 0..PER_ROUND {
            let offset = n * 100_000 + round * PER_ROUND + i;
            pipe.cmd("SETBIT").arg(&key).arg(offset).arg(1);
            pipe.cmd("GETBIT").arg(&key).arg(offset);
            pipe.cmd("ECHO").arg(offset);
        }
        let replies: Vec<redis::Value> = pipe.query_async(&mut con).await.expect("pipeline");
        assert_eq!(replies.len(), 3 * PER_ROUND as usize);
        for (i, triple) in replies.chunks(3).enumerate() {
            let offset = n * 100_000 + round * PER_ROUND + i as u32;
            assert_eq!(triple[0], redis::Value::Int(0), "SETBIT {offset}");
            assert_eq!(triple[1], redis::Value::Int(1), "GETBIT {offset}");
            assert_eq!(
                triple[2],
                redis::Value::BulkString(offset.to_string().into_bytes()),
                "ECHO in order"
            );
        }
    }
}

/// Sends `input` and reads until the server closes the connection; what it answered.
fn send_and_read(port: u16, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // The server may close before reading everything: a write error is fine.
    let _ = s.write_all(input);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pipelining_clients_and_hostile_ones() {
    let server = Server::start(&[]);
    let url = server.url();
    let port = server.port();
    let mut con = server.con();
    redis::cmd("SETBIT")
        .arg("precious")
        .arg(12345)
        .arg(1)
        .query::<i64>(&mut con)
        .expect("SETBIT");

    let mut tasks = Vec::new();
    for n in 0..CLIENTS {
        tasks.push(tokio::spawn(client(url.clone(), n)));
    }
    // Hostile clients, at the same time.
    let hostile = tokio::task::spawn_blocking(move || {
        let mut huge = b"*1\r\n$1073741824\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 100_000));
        let reply = send_and_read(port, &huge);
        assert_eq!(reply, b"-ERR Protocol error: invalid bulk length\r\n");

        let garbage: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
            .filter(|b| *b != b'\n')
            .collect();
        let reply = send_and_read(port, &garbage);
        assert!(reply.starts_with(b"-ERR Protocol error"), "{reply:?}");

        // A legal 512 MiB value that never arrives: the connection just ends.
        let mut partial = b"*3\r\n$3\r\nSET\r\n$1\r\nv\r\n$536870912\r\n".to_vec();
        partial.extend(std::iter::repeat_n(0u8, 1 << 20));
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(&partial).expect("write");
        std::thread::sleep(Duration::from_millis(200));
        drop(s);

        let mut many = b"*1048577\r\n".to_vec();
        many.extend_from_slice(b"$4\r\nPING\r\n");
        let reply = send_and_read(port, &many);
        assert_eq!(reply, b"-ERR Protocol error: invalid multibulk length\r\n");
    });
    for t in tasks {
        t.await.expect("client task");
    }
    hostile.await.expect("hostile clients");

    for k in 0..5 {
        let n: i64 = redis::cmd("BITCOUNT")
            .arg(format!("load:{k}"))
            .query(&mut con)
            .expect("BITCOUNT");
        assert_eq!(n, i64::from(CLIENTS / 5 * ROUNDS * PER_ROUND));
    }
    let bit: i64 = redis::cmd("GETBIT")
        .arg("precious")
        .arg(12345)
        .query(&mut con)
        .expect("GETBIT");
    assert_eq!(bit, 1);
    let exists: i64 = redis::cmd("EXISTS")
        .arg("v")
        .query(&mut con)
        .expect("EXISTS");
    assert_eq!(exists, 0, "the unfinished SET stored nothing");
    let rss = rss_kib(server.pid());
    assert!(rss < 400 * 1024, "RSS {rss} KiB after hostile clients");
}

#[test]
fn one_write_of_many_commands_is_answered_in_order() {
    let server = Server::start(&[]);
    let mut input = Vec::new();
    let n = 20_000;
    for i in 0..n {
        let arg = i.to_string();
        input.extend_from_slice(
            format!("*2\r\n$4\r\nECHO\r\n${}\r\n{arg}\r\n", arg.len()).as_bytes(),
        );
    }
    input.extend_from_slice(b"QUIT\r\n");
    let out = send_and_read(server.port(), &input);
    let mut expected = Vec::new();
    for i in 0..n {
        let arg = i.to_string();
        expected.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    expected.extend_from_slice(b"+OK\r\n");
    assert!(out == expected, "replies out of order or missing");
}
