//! Pub/sub over real sockets: delivery, cleanup on disconnect, and the
//! `client-output-buffer-limit pubsub` bound on slow subscribers.

mod common;

use common::*;
use redis::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn raw(srv: &quiver_server::RunningServer) -> TcpStream {
    let s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until `want` bytes arrived (or the timeout fails the test).
fn read_exact_str(s: &mut TcpStream, want: usize) -> String {
    let mut buf = vec![0u8; want];
    s.read_exact(&mut buf).unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

fn numsub(con: &mut redis::Connection, ch: &str) -> i64 {
    match cmd(con, &["PUBSUB", "NUMSUB", ch]).unwrap() {
        Value::Array(v) => match &v[1] {
            Value::Int(n) => *n,
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn message_reaches_subscriber_and_pattern_subscriber() {
    let srv = server();
    let mut sub = raw(&srv);
    sub.write_all(b"SUBSCRIBE ch\r\nPSUBSCRIBE c*\r\n").unwrap();
    let ack =
        "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n";
    assert_eq!(read_exact_str(&mut sub, ack.len()), ack);
    let mut con = client(&srv);
    assert_eq!(
        cmd(&mut con, &["PUBLISH", "ch", "hi"]).unwrap(),
        Value::Int(2)
    );
    let msg = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    assert_eq!(read_exact_str(&mut sub, msg.len()), msg);
}

#[test]
fn disconnect_drops_subscriptions() {
    let srv = server();
    let mut sub = raw(&srv);
    sub.write_all(b"SUBSCRIBE gone\r\n").unwrap();
    let ack = "*3\r\n$9\r\nsubscribe\r\n$4\r\ngone\r\n:1\r\n";
    assert_eq!(read_exact_str(&mut sub, ack.len()), ack);
    let mut con = client(&srv);
    assert_eq!(numsub(&mut con, "gone"), 1);
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(5);
    while numsub(&mut con, "gone") != 0 {
        assert!(
            Instant::now() < deadline,
            "subscription survived disconnect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        cmd(&mut con, &["PUBLISH", "gone", "x"]).unwrap(),
        Value::Int(0)
    );
}

#[test]
fn slow_subscriber_is_disconnected_at_hard_limit() {
    let srv = server_with(&[("client-output-buffer-limit", "pubsub 64kb 0 0")]);
    let mut sub = raw(&srv);
    sub.write_all(b"SUBSCRIBE flood\r\n").unwrap();
    let ack = "*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n";
    assert_eq!(read_exact_str(&mut sub, ack.len()), ack);
    let mut con = client(&srv);
    let payload = "x".repeat(64 * 1024);
    // The subscriber never reads: socket buffers fill, then the outbox
    // passes the hard limit and the server drops the client.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        cmd(&mut con, &["PUBLISH", "flood", &payload]).unwrap();
        if numsub(&mut con, "flood") == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "slow subscriber never dropped");
    }
}

#[test]
fn resp2_subscribed_mode_rejects_other_commands() {
    let srv = server();
    let mut sub = raw(&srv);
    sub.write_all(b"SUBSCRIBE a\r\nGET k\r\nPING\r\n").unwrap();
    let want = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
                -ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n\
                *2\r\n$4\r\npong\r\n$0\r\n\r\n";
    assert_eq!(read_exact_str(&mut sub, want.len()), want);
}

/// The `flags=` field of the CLIENT LIST line of client `id`.
fn list_flags(con: &mut redis::Connection, id: &str) -> String {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(con).unwrap();
    list.lines()
        .find(|l| l.starts_with(&format!("id={id} ")))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("flags=")))
        .unwrap_or_else(|| panic!("client {id} not listed"))
        .to_string()
}

#[test]
fn client_list_flags_and_type_count_shard_subscribers() {
    let srv = server();
    let mut shard = raw(&srv);
    shard
        .write_all(b"HELLO 3\r\nCLIENT ID\r\nSSUBSCRIBE sh\r\n")
        .unwrap();
    let mut multi = raw(&srv);
    multi
        .write_all(b"HELLO 3\r\nCLIENT ID\r\nSUBSCRIBE c\r\nMULTI\r\n")
        .unwrap();
    let mut con = client(&srv);
    // Both connections' commands have run once both show up as pubsub.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (a, b) = loop {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut con)
            .unwrap();
        let ids: Vec<String> = list
            .lines()
            .filter_map(|l| l.strip_prefix("id="))
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect();
        if ids.len() == 2 && list.contains("multi=0") {
            break (ids[0].clone(), ids[1].clone());
        }
        assert!(
            Instant::now() < deadline,
            "subscribers never listed: {list}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    // A shard-only subscriber is a pubsub client (`P`); P comes before x.
    assert_eq!(list_flags(&mut con, &a), "P");
    assert_eq!(list_flags(&mut con, &b), "Px");
}
