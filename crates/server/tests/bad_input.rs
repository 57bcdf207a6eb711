//! Hostile and malformed input over real sockets: the server answers with
//! Redis's protocol errors, closes only the offending connection, and keeps
//! serving everyone else.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn exchange(srv: &RunningServer, input: &[u8]) -> String {
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(input).unwrap();
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_alive(srv: &RunningServer) {
    let mut con = client(srv);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn protocol_errors_use_redis_wording() {
    let srv = server();
    let cases: &[(&[u8], &str)] = &[
        (
            b"*abc\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$abc\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$-2\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n:1\r\n",
            "-ERR Protocol error: expected '$', got ':'\r\n",
        ),
        (
            b"SET \"a\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*3000000000\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$600000000\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            exchange(&srv, input),
            *want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_alive(&srv);
}

#[test]
fn oversized_inline_and_headers_are_refused() {
    let srv = server();
    let long = vec![b'a'; 70 * 1024];
    assert_eq!(
        exchange(&srv, &long),
        "-ERR Protocol error: too big inline request\r\n"
    );
    let mut mb = b"*".to_vec();
    mb.extend(std::iter::repeat_n(b'1', 70 * 1024));
    assert_eq!(
        exchange(&srv, &mb),
        "-ERR Protocol error: too big mbulk count string\r\n"
    );
    assert_alive(&srv);
}

#[test]
fn announced_huge_bulk_does_not_break_the_server() {
    // A client announces 500 MB and sends 10 bytes: nothing is reserved for
    // the announcement, and other clients are unaffected.
    let srv = server();
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"*2\r\n$3\r\nGET\r\n$500000000\r\n0123456789")
        .unwrap();
    assert_alive(&srv);
    drop(s);
    assert_alive(&srv);
}

#[test]
fn query_buffer_limit_disconnects() {
    let srv = server_with(&[("client-query-buffer-limit", "1mb")]);
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut payload = b"*2\r\n$3\r\nGET\r\n$3000000\r\n".to_vec();
    payload.extend(std::iter::repeat_n(b'x', 2_000_000));
    // The server may close mid-write; either way it must not reply.
    let _ = s.write_all(&payload);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.is_empty(),
        "unexpected reply {:?}",
        String::from_utf8_lossy(&out)
    );
    assert_alive(&srv);
}

#[test]
fn random_garbage_never_kills_the_server() {
    let srv = server();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for _ in 0..200 {
        let len = rng.gen_range(1..512);
        let mut data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Bias towards protocol-looking input.
        if rng.gen_bool(0.5) {
            data.splice(0..0, b"*3\r\n$3\r\nSET\r\n".iter().copied());
        }
        let mut s = TcpStream::connect(srv.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let _ = s.write_all(&data);
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf);
    }
    assert_alive(&srv);
}

#[test]
fn wrong_arity_keeps_connection_usable() {
    let srv = server();
    let mut con = client(&srv);
    for (args, want) in [
        (
            &["GET"][..],
            "ERR wrong number of arguments for 'get' command",
        ),
        (
            &["SET", "k"][..],
            "ERR wrong number of arguments for 'set' command",
        ),
        (
            &["INCRBY", "k"][..],
            "ERR wrong number of arguments for 'incrby' command",
        ),
        (
            &["SET", "k", "v", "EX", "0"][..],
            "ERR invalid expire time in 'set' command",
        ),
        (
            &["SET", "k", "v", "EX", "x"][..],
            "ERR value is not an integer or out of range",
        ),
        (&["SET", "k", "v", "NX", "XX"][..], "ERR syntax error"),
    ] {
        assert_eq!(err(&mut con, args), want);
    }
    let _: () = redis::cmd("SET")
        .arg("n")
        .arg(i64::MAX)
        .query(&mut con)
        .unwrap();
    assert_eq!(
        err(&mut con, &["INCR", "n"]),
        "ERR increment or decrement would overflow"
    );
    let _: () = redis::cmd("SET")
        .arg("s")
        .arg("abc")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        err(&mut con, &["INCR", "s"]),
        "ERR value is not an integer or out of range"
    );
    let v: String = redis::cmd("GET").arg("s").query(&mut con).unwrap();
    assert_eq!(v, "abc", "failed commands change nothing");
}
