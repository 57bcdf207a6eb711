//! CLIENT TRACKING over real sockets: RESP3 invalidation pushes, flushes,
//! BCAST prefixes, NOLOOP and RESP2 redirection.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn raw(srv: &quiver_server::RunningServer) -> TcpStream {
    let s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn expect(s: &mut TcpStream, want: &str) {
    let mut buf = vec![0u8; want.len()];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(&buf), want);
}

/// A RESP3 connection with tracking enabled using `opts`.
fn tracker(srv: &quiver_server::RunningServer, opts: &str) -> TcpStream {
    let mut s = raw(srv);
    s.write_all(format!("HELLO 3\r\nCLIENT TRACKING on {opts}\r\n").as_bytes())
        .unwrap();
    // Skip the HELLO map: read until the +OK of CLIENT TRACKING.
    let mut seen = Vec::new();
    let mut b = [0u8; 1];
    while !seen.ends_with(b"+OK\r\n") {
        s.read_exact(&mut b).unwrap();
        seen.push(b[0]);
    }
    s
}

#[test]
fn read_key_is_invalidated_once_when_another_client_writes() {
    let srv = server();
    let mut t = tracker(&srv, "");
    t.write_all(b"GET k\r\n").unwrap();
    expect(&mut t, "_\r\n");
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "k", "1"]).unwrap();
    expect(&mut t, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    // Not read again: a second write sends nothing before the PONG.
    cmd(&mut con, &["SET", "k", "2"]).unwrap();
    t.write_all(b"PING\r\n").unwrap();
    expect(&mut t, "+PONG\r\n");
}

#[test]
fn flush_sends_null_invalidation() {
    let srv = server();
    let mut t = tracker(&srv, "");
    let mut con = client(&srv);
    cmd(&mut con, &["FLUSHALL"]).unwrap();
    expect(&mut t, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
}

#[test]
fn bcast_prefix_and_noloop() {
    let srv = server();
    let mut t = tracker(&srv, "BCAST PREFIX user: NOLOOP");
    // Its own write is not echoed back (NOLOOP).
    t.write_all(b"SET user:1 a\r\n").unwrap();
    expect(&mut t, "+OK\r\n");
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "other", "x"]).unwrap();
    cmd(&mut con, &["SET", "user:2", "x"]).unwrap();
    expect(&mut t, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nuser:2\r\n");
}

#[test]
fn resp2_redirect_through_invalidate_channel() {
    let srv = server();
    let mut sink = raw(&srv);
    sink.write_all(b"CLIENT ID\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = sink.read(&mut buf).unwrap();
    let id = String::from_utf8_lossy(&buf[1..n - 2]).into_owned();
    sink.write_all(b"SUBSCRIBE __redis__:invalidate\r\n")
        .unwrap();
    expect(
        &mut sink,
        "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n",
    );
    let mut con = client(&srv);
    cmd(&mut con, &["CLIENT", "TRACKING", "ON", "REDIRECT", &id]).unwrap();
    cmd(&mut con, &["GET", "r"]).unwrap();
    let mut other = client(&srv);
    cmd(&mut other, &["SET", "r", "1"]).unwrap();
    expect(
        &mut sink,
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nr\r\n",
    );
}

/// INFO stats field `name` as an integer.
fn info_field(con: &mut redis::Connection, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg("stats").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {name}"))
}

#[test]
fn bcast_batches_a_commands_keys_per_prefix() {
    let srv = server();
    let mut t = tracker(&srv, "BCAST PREFIX user: PREFIX cart:");
    let mut con = client(&srv);
    cmd(
        &mut con,
        &[
            "MSET", "user:1", "a", "other", "b", "user:2", "c", "cart:9", "d",
        ],
    )
    .unwrap();
    // One message per prefix, in the order the prefixes were written to.
    let mut buf = vec![0u8; 256];
    let want_user = ">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n";
    let want_cart = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\ncart:9\r\n";
    let n = want_user.len() + want_cart.len();
    t.read_exact(&mut buf[..n]).unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        got == format!("{want_user}{want_cart}") || got == format!("{want_cart}{want_user}"),
        "got {got:?}"
    );
    // Nothing else was queued: the next reply is the PING's.
    t.write_all(b"PING\r\n").unwrap();
    expect(&mut t, "+PONG\r\n");
}

#[test]
fn bcast_noloop_skips_only_own_keys_in_a_batch() {
    let srv = server();
    let mut t = tracker(&srv, "BCAST NOLOOP");
    t.write_all(b"MSET a 1 b 2\r\n").unwrap();
    expect(&mut t, "+OK\r\n");
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "c", "3"]).unwrap();
    expect(&mut t, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nc\r\n");
}

#[test]
fn disconnect_forgets_the_keys_a_client_read() {
    let srv = server();
    let mut con = client(&srv);
    let mut t = tracker(&srv, "");
    t.write_all(b"MGET k1 k2 k3\r\n").unwrap();
    expect(&mut t, "*3\r\n_\r\n_\r\n_\r\n");
    assert_eq!(info_field(&mut con, "tracking_total_items"), 3);
    assert_eq!(info_field(&mut con, "tracking_total_keys"), 3);
    drop(t);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while info_field(&mut con, "tracking_total_items") != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "tracked keys survived disconnect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(info_field(&mut con, "tracking_total_keys"), 0);
}
