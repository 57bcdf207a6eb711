//! Keyspace notifications that the differential scripts cannot cover:
//! hash-field TTL events (Redis 7.4+, while the reference server is 7.0),
//! active field expiry, and blocked clients served after they parked.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// A subscriber to every keyevent channel of db 0.
fn listener(srv: &RunningServer) -> redis::PubSub<'static> {
    let con = Box::leak(Box::new(client(srv)));
    let mut ps = con.as_pubsub();
    ps.psubscribe("__keyevent@0__:*").unwrap();
    ps.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    ps
}

/// The events (as `event:key`) received until nothing arrives for 300 ms.
fn drain(ps: &mut redis::PubSub<'_>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(m) = ps.get_message() {
        let ch = m.get_channel_name().to_string();
        let key: String = m.get_payload().unwrap();
        out.push(format!(
            "{}:{key}",
            ch.trim_start_matches("__keyevent@0__:")
        ));
    }
    out
}

fn run(con: &mut redis::Connection, line: &str) {
    let args: Vec<&str> = line.split(' ').collect();
    cmd(con, &args).unwrap();
}

#[test]
fn hash_field_ttl_events() {
    let srv = server();
    let mut con = client(&srv);
    run(&mut con, "CONFIG SET notify-keyspace-events KEAn");
    let mut ps = listener(&srv);
    let steps: &[(&str, &[&str])] = &[
        // Created with a time already past: added, set, deleted, gone.
        (
            "HSETEX h EXAT 1 FIELDS 1 a b",
            &["new:h", "hset:h", "hdel:h", "del:h"],
        ),
        (
            "HSETEX h EX 100 FIELDS 2 a 1 b 2",
            &["new:h", "hset:h", "hexpire:h"],
        ),
        ("HSETEX h FXX KEEPTTL FIELDS 1 zz 1", &[]),
        ("HEXPIRE h 200 FIELDS 2 a zz", &["hexpire:h"]),
        // Condition not met: nothing changed, nothing announced.
        ("HEXPIRE h 300 NX FIELDS 1 a", &[]),
        ("HPERSIST h FIELDS 1 a", &["hpersist:h"]),
        ("HPERSIST h FIELDS 1 a", &[]),
        ("HGETEX h EX 100 FIELDS 1 a", &["hexpire:h"]),
        ("HGETEX h PERSIST FIELDS 1 a", &["hpersist:h"]),
        ("HGETEX h FIELDS 1 a", &[]),
        ("HEXPIRE h 0 FIELDS 1 a", &["hdel:h"]),
        ("HGETEX h PXAT 1 FIELDS 1 b", &["hdel:h", "del:h"]),
        ("HSET g a 1 b 2", &["new:g", "hset:g"]),
        ("HGETDEL g FIELDS 2 a zz", &["hdel:g"]),
        ("HGETDEL g FIELDS 1 b", &["hdel:g", "del:g"]),
        ("HGETDEL g FIELDS 1 b", &[]),
    ];
    for (line, want) in steps {
        run(&mut con, line);
        assert_eq!(drain(&mut ps), *want, "after {line}");
    }
}

#[test]
fn active_field_expiry_announces_hexpired_then_del() {
    // A faster cron, so the field-expiry cycle comes round sooner.
    let srv = server_with(&[("hz", "100")]);
    let mut con = client(&srv);
    run(&mut con, "CONFIG SET notify-keyspace-events KEA");
    run(&mut con, "HSET h a 1 b 2 c 3");
    let mut ps = listener(&srv);
    run(&mut con, "HPEXPIRE h 20 FIELDS 2 a b");
    assert_eq!(drain(&mut ps), ["hexpire:h"]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.is_empty() {
        assert!(Instant::now() < deadline, "fields never expired");
        seen = drain(&mut ps);
    }
    assert_eq!(seen, ["hexpired:h"]);
    // The last field going takes the key with it.
    run(&mut con, "HPEXPIRE h 20 FIELDS 1 c");
    assert_eq!(drain(&mut ps), ["hexpire:h"]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 2 {
        assert!(Instant::now() < deadline, "last field never expired");
        seen.extend(drain(&mut ps));
    }
    assert_eq!(seen, ["hexpired:h", "del:h"]);
}

#[test]
fn blocked_pop_announces_its_pop_when_served() {
    let srv = server();
    let mut con = client(&srv);
    run(&mut con, "CONFIG SET notify-keyspace-events KEAn");
    let mut ps = listener(&srv);
    let waiter = spawn_cmd(&srv, &["BLPOP", "q", "0"]);
    wait_blocked(&mut con, 1);
    run(&mut con, "RPUSH q x");
    let (reply, _) = waiter.join().unwrap();
    reply.unwrap();
    assert_eq!(drain(&mut ps), ["new:q", "rpush:q", "lpop:q", "del:q"]);

    let waiter = spawn_cmd(&srv, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut con, 1);
    run(&mut con, "ZADD z 1 a 2 b");
    waiter.join().unwrap().0.unwrap();
    assert_eq!(drain(&mut ps), ["new:z", "zadd:z", "zpopmax:z"]);
}

#[test]
fn new_class_is_not_part_of_all_but_survives_config_get() {
    let srv = server();
    let mut con = client(&srv);
    run(&mut con, "CONFIG SET notify-keyspace-events KEA");
    let mut ps = listener(&srv);
    run(&mut con, "SET a 1");
    assert_eq!(drain(&mut ps), ["set:a"]);
    // Redis 7.0 prints `AKE` for `KEAn` (the `A` hides the `n`), yet the
    // class is in effect.
    run(&mut con, "CONFIG SET notify-keyspace-events KEAn");
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .query(&mut con)
        .unwrap();
    assert_eq!(v[1], "AKE");
    run(&mut con, "SET b 1");
    assert_eq!(drain(&mut ps), ["new:b", "set:b"]);
}
