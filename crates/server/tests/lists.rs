//! Blocking list commands with several real clients: wake-ups by another
//! connection's push, FIFO order among waiters, timeouts, BLMOVE, clients
//! that go away while blocked, and MULTI. (Single-connection semantics are
//! covered by tests/diff/lists.redis against redis-server.)

mod common;

use common::*;
use redis::Value;
use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn blpop_wakes_on_another_clients_push() {
    let srv = server();
    let mut con = client(&srv);
    let waiter = spawn_cmd(&srv, &["BLPOP", "q", "other", "5"]);
    wait_blocked(&mut con, 1);
    let n: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    let (reply, took) = waiter.join().unwrap();
    assert_eq!(reply.unwrap(), Value::Array(vec![bulk("q"), bulk("x")]));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // The element was consumed and the emptied list deleted.
    let exists: i64 = redis::cmd("EXISTS").arg("q").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn brpop_and_blmpop_wake_on_any_of_their_keys() {
    let srv = server();
    let mut con = client(&srv);
    let a = spawn_cmd(&srv, &["BRPOP", "k1", "k2", "0"]);
    wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("RPUSH")
        .arg("k2")
        .arg("a")
        .arg("b")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        a.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("k2"), bulk("b")])
    );
    let b = spawn_cmd(
        &srv,
        &["BLMPOP", "0", "2", "k1", "k3", "LEFT", "COUNT", "5"],
    );
    wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("LPUSH")
        .arg("k3")
        .arg("x")
        .arg("y")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        b.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("k3"), Value::Array(vec![bulk("y"), bulk("x")])])
    );
}

#[test]
fn waiters_on_a_key_are_served_first_come_first_served() {
    let srv = server();
    let mut con = client(&srv);
    let mut waiters = Vec::new();
    for i in 0..3 {
        waiters.push(spawn_cmd(&srv, &["BLPOP", "q", "5"]));
        wait_blocked(&mut con, i + 1);
    }
    // One push of three elements serves all three, in arrival order.
    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("first")
        .arg("second")
        .arg("third")
        .query(&mut con)
        .unwrap();
    let got: Vec<Value> = waiters
        .into_iter()
        .map(|w| w.join().unwrap().0.unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            Value::Array(vec![bulk("q"), bulk("first")]),
            Value::Array(vec![bulk("q"), bulk("second")]),
            Value::Array(vec![bulk("q"), bulk("third")]),
        ]
    );

    // One element at a time: still the longest waiter first.
    let mut waiters = Vec::new();
    for i in 0..3 {
        waiters.push(spawn_cmd(&srv, &["BRPOP", "q", "5"]));
        wait_blocked(&mut con, i + 1);
    }
    for (i, w) in waiters.into_iter().enumerate() {
        let v = format!("v{i}");
        let _: i64 = redis::cmd("LPUSH")
            .arg("q")
            .arg(&v)
            .query(&mut con)
            .unwrap();
        assert_eq!(
            w.join().unwrap().0.unwrap(),
            Value::Array(vec![bulk("q"), bulk(&v)])
        );
    }
}

#[test]
fn timeouts_return_nil_after_the_timeout() {
    let srv = server();
    let mut con = client(&srv);
    for args in [
        &["BLPOP", "nokey", "0.2"][..],
        &["BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.2"][..],
        &["BLMPOP", "0.2", "1", "nokey", "LEFT"][..],
    ] {
        let (reply, took) = spawn_cmd(&srv, args).join().unwrap();
        assert_eq!(reply.unwrap(), Value::Nil, "{args:?}");
        assert!(took >= Duration::from_millis(190), "{args:?} took {took:?}");
        assert!(took < Duration::from_secs(3), "{args:?} took {took:?}");
    }
    assert_eq!(blocked_clients(&mut con), 0);
    // A push after the timeout stays in the list.
    let _: i64 = redis::cmd("RPUSH")
        .arg("nokey")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let len: i64 = redis::cmd("LLEN").arg("nokey").query(&mut con).unwrap();
    assert_eq!(len, 1);
}

#[test]
fn blmove_moves_atomically_when_woken() {
    let srv = server();
    let mut con = client(&srv);
    let mover = spawn_cmd(&srv, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "5"]);
    wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("RPUSH")
        .arg("dst")
        .arg("old")
        .query(&mut con)
        .unwrap();
    // A push to the destination does not wake a client blocked on the source.
    thread::sleep(Duration::from_millis(50));
    assert_eq!(blocked_clients(&mut con), 1);
    let _: i64 = redis::cmd("RPUSH")
        .arg("src")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(mover.join().unwrap().0.unwrap(), bulk("x"));
    let dst: Vec<String> = redis::cmd("LRANGE")
        .arg("dst")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(dst, vec!["old", "x"]);
    let exists: i64 = redis::cmd("EXISTS").arg("src").query(&mut con).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn lmove_into_a_key_wakes_its_waiter() {
    let srv = server();
    let mut con = client(&srv);
    let waiter = spawn_cmd(&srv, &["BLPOP", "target", "5"]);
    wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("RPUSH")
        .arg("from")
        .arg("m")
        .query(&mut con)
        .unwrap();
    let moved: String = redis::cmd("RPOPLPUSH")
        .arg("from")
        .arg("target")
        .query(&mut con)
        .unwrap();
    assert_eq!(moved, "m");
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("target"), bulk("m")])
    );
}

#[test]
fn a_client_that_goes_away_while_blocked_does_not_swallow_a_push() {
    let srv = server();
    let mut con = client(&srv);

    // A raw connection that blocks and then hangs up.
    let mut doomed = std::net::TcpStream::connect(srv.addr).unwrap();
    doomed
        .write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        .unwrap();
    wait_blocked(&mut con, 1);
    // A second waiter queued behind it.
    let waiter = spawn_cmd(&srv, &["BLPOP", "q", "5"]);
    wait_blocked(&mut con, 2);
    drop(doomed);
    wait_blocked(&mut con, 1);

    // One killed with CLIENT KILL, also queued ahead of nobody in particular.
    let mut victim = client(&srv);
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut victim).unwrap();
    let victim_thread = thread::spawn(move || cmd(&mut victim, &["BLPOP", "q", "0"]));
    wait_blocked(&mut con, 2);
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query(&mut con)
        .unwrap();
    assert_eq!(killed, 1);
    assert!(victim_thread.join().unwrap().is_err());
    wait_blocked(&mut con, 1);

    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("q"), bulk("x")])
    );
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn blocking_pops_inside_multi_answer_at_once() {
    let srv = server();
    let mut con = client(&srv);
    let t = Instant::now();
    let (a, b, c): (Value, Value, Value) = redis::pipe()
        .atomic()
        .cmd("BLPOP")
        .arg("nokey")
        .arg(0)
        .cmd("BLMOVE")
        .arg("nokey")
        .arg("d")
        .arg("LEFT")
        .arg("LEFT")
        .arg(0)
        .cmd("BLMPOP")
        .arg(0)
        .arg(1)
        .arg("nokey")
        .arg("LEFT")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b, c), (Value::Nil, Value::Nil, Value::Nil));
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn pipelined_commands_after_a_blocked_one_wait_for_it() {
    let srv = server();
    let mut con = client(&srv);
    let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"BLPOP q 0\r\nPING\r\n").unwrap();
    wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let want = b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n+PONG\r\n";
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < want.len() {
        let n = std::io::Read::read(&mut s, &mut buf).unwrap();
        assert!(n > 0, "connection closed early");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, want);
}

#[test]
fn a_woken_client_skips_keys_that_now_hold_another_type() {
    // Blocked on k1 and k2; k1 becomes a string, then k2 gets an element:
    // Redis serves the waiter from k2 rather than failing with WRONGTYPE.
    let srv = server();
    let mut con = client(&srv);
    let waiter = spawn_cmd(&srv, &["BLPOP", "k1", "k2", "5"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["SET", "k1", "str"]).unwrap();
    cmd(&mut con, &["RPUSH", "k2", "x"]).unwrap();
    let (reply, _) = waiter.join().unwrap();
    assert_eq!(reply.unwrap(), Value::Array(vec![bulk("k2"), bulk("x")]));
}

#[test]
fn client_unblock_ends_a_blocked_pop() {
    let srv = server();
    let mut con = client(&srv);
    // Blocked client's id: the next one the server hands out.
    let mut blocked = client(&srv);
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut blocked).unwrap();
    let waiter = thread::spawn(move || cmd(&mut blocked, &["BLPOP", "nothing", "0"]));
    wait_blocked(&mut con, 1);
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(waiter.join().unwrap().unwrap(), Value::Nil);
    // Not blocked any more: nothing to unblock.
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 0);

    let mut blocked = client(&srv);
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut blocked).unwrap();
    let waiter = thread::spawn(move || cmd(&mut blocked, &["BRPOP", "nothing", "0"]));
    wait_blocked(&mut con, 1);
    let n: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(id)
        .arg("ERROR")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!(e.code(), Some("UNBLOCKED"));
    assert_eq!(blocked_clients(&mut con), 0);
}
