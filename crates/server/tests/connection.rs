//! Connection-level behaviour with a real client: pipelining, protocol
//! errors, RESP3 negotiation, transactions.

mod common;

use common::*;
use redis::Value;
use std::io::{Read, Write};

#[test]
fn ping_echo_and_pipelining() {
    let srv = server();
    let mut con = client(&srv);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    pipe.cmd("MGET").arg("k0").arg("k99");
    let (vals,): (Vec<i64>,) = pipe.query(&mut con).unwrap();
    assert_eq!(vals, vec![0, 99]);
}

#[test]
fn protocol_error_closes_connection_with_redis_message() {
    let srv = server();
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"*1\r\n$3\r\nFOO\r\n*1\r\n+bad\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("-ERR unknown command 'FOO'"), "{text}");
    assert!(
        text.ends_with("-ERR Protocol error: expected '$', got '+'\r\n"),
        "{text}"
    );
}

#[test]
fn hello_switches_to_resp3() {
    let srv = server();
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"HELLO 3\r\nPING\r\nQUIT\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{text}"
    );
    assert!(text.contains("$5\r\nproto\r\n:3\r\n"), "{text}");
    assert!(text.ends_with("+PONG\r\n+OK\r\n"), "{text}");
}

#[test]
fn transactions_queue_and_abort() {
    let srv = server();
    let mut con = client(&srv);
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .incr("c", 1)
        .incr("c", 2)
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (1, 3));
    assert_eq!(cmd(&mut con, &["MULTI"]).unwrap(), Value::Okay);
    assert!(err(&mut con, &["GET"]).contains("wrong number of arguments for 'get'"));
    assert!(err(&mut con, &["EXEC"]).starts_with("EXECABORT"));
}

#[test]
fn requirepass_gates_commands() {
    let srv = server_with(&[("requirepass", "s3cret")]);
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.write_all(b"GET k\r\nAUTH wrong\r\nAUTH s3cret\r\nGET k\r\nQUIT\r\n")
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n$-1\r\n+OK\r\n"
    );
}

#[test]
fn client_setinfo_is_reported() {
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(
        cmd(&mut con, &["CLIENT", "SETINFO", "lib-name", "redis-rs"]).unwrap(),
        Value::Okay
    );
    assert!(
        err(&mut con, &["CLIENT", "SETINFO", "lib-ver", "a b"]).contains("cannot contain spaces")
    );
    assert!(err(&mut con, &["CLIENT", "SETINFO", "foo", "x"]).contains("Unrecognized option 'foo'"));
}

#[test]
fn watch_aborts_exec_when_another_client_writes() {
    let srv = server();
    let mut a = client(&srv);
    let mut b = client(&srv);
    assert_eq!(cmd(&mut a, &["WATCH", "balance"]).unwrap(), Value::Okay);
    assert_eq!(
        cmd(&mut b, &["SET", "balance", "100"]).unwrap(),
        Value::Okay
    );
    assert_eq!(cmd(&mut a, &["MULTI"]).unwrap(), Value::Okay);
    cmd(&mut a, &["INCRBY", "balance", "5"]).unwrap();
    assert_eq!(cmd(&mut a, &["EXEC"]).unwrap(), Value::Nil);
    // The failed EXEC unwatched everything: the retry goes through.
    assert_eq!(cmd(&mut a, &["WATCH", "balance"]).unwrap(), Value::Okay);
    let (v,): (i64,) = redis::pipe()
        .atomic()
        .incr("balance", 5)
        .query(&mut a)
        .unwrap();
    assert_eq!(v, 105);
    // Writes to other keys and reads of the watched key do not abort.
    cmd(&mut a, &["WATCH", "balance"]).unwrap();
    cmd(&mut b, &["SET", "other", "1"]).unwrap();
    cmd(&mut b, &["GET", "balance"]).unwrap();
    let (v,): (i64,) = redis::pipe()
        .atomic()
        .incr("balance", 1)
        .query(&mut a)
        .unwrap();
    assert_eq!(v, 106);
}

#[test]
fn watch_is_released_when_the_client_disconnects() {
    let srv = server();
    {
        let mut a = client(&srv);
        cmd(&mut a, &["WATCH", "k"]).unwrap();
    }
    // The watcher is gone; writes keep working and nothing leaks.
    let mut b = client(&srv);
    for _ in 0..50 {
        if !srv.state.watches.active() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!srv.state.watches.active());
    assert_eq!(cmd(&mut b, &["SET", "k", "1"]).unwrap(), Value::Okay);
}

#[test]
fn io_poll_us_is_a_live_directive() {
    let srv = server();
    let mut con = client(&srv);
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("io-poll-us")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec!["io-poll-us", "50"]);
    for v in ["0", "200", "50"] {
        let ok: String = redis::cmd("CONFIG")
            .arg("SET")
            .arg("io-poll-us")
            .arg(v)
            .query(&mut con)
            .unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(
            srv.state
                .config
                .hot
                .io_poll_us
                .load(std::sync::atomic::Ordering::Relaxed),
            v.parse::<u64>().unwrap()
        );
        // Served with and without polling.
        let pong: String = redis::cmd("PING").query(&mut con).unwrap();
        assert_eq!(pong, "PONG");
    }
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("io-poll-us")
        .arg("-1")
        .query::<String>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("io-poll-us"), "{err}");
}
