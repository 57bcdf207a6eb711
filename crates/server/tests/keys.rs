//! Generic key commands with real clients: SCAN's guarantee under concurrent
//! writes, active expiry of keys nobody reads, MOVE/COPY across databases
//! (including cross-database lock ordering), and keyspace hit/miss counting.

mod common;

use common::*;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn scan_all(con: &mut redis::Connection, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = 0u64;
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let mut c = redis::cmd("SCAN");
        c.arg(cursor);
        for a in extra {
            c.arg(*a);
        }
        let (next, keys): (u64, Vec<String>) = c.query(con).unwrap();
        calls += 1;
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            return (seen, calls);
        }
    }
}

#[test]
fn scan_returns_every_stable_key_despite_concurrent_writes() {
    let srv = server();
    let mut con = client(&srv);
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();

    // A writer adds and deletes other keys for the whole iteration, growing
    // and shrinking the tables SCAN is walking.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = client(&srv);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut p = redis::pipe();
                for j in 0..50 {
                    p.cmd("SET").arg(format!("churn:{}", n + j)).arg(1).ignore();
                }
                if n >= 200 {
                    for j in 0..40 {
                        p.cmd("DEL").arg(format!("churn:{}", n - 200 + j)).ignore();
                    }
                }
                p.query::<()>(&mut w).unwrap();
                n += 50;
            }
            n
        })
    };

    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    let mut calls = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(20)
            .query(&mut con)
            .unwrap();
        calls += 1;
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0, "the writer never ran");
    assert!(
        calls > 10,
        "COUNT 20 over 5000 keys took only {calls} calls"
    );
    for i in 0..5000 {
        assert!(
            seen.contains(&format!("stable:{i}")),
            "SCAN missed stable:{i}"
        );
    }
}

#[test]
fn scan_filters_by_match_and_type_and_sweeps_small_databases() {
    let srv = server();
    let mut con = client(&srv);
    for i in 0..300 {
        cmd(&mut con, &["SET", &format!("user:{i}"), "x"]).unwrap();
        cmd(&mut con, &["SET", &format!("item:{i}"), "y"]).unwrap();
    }
    let (users, _) = scan_all(&mut con, &["MATCH", "user:*", "COUNT", "7"]);
    let unique: HashSet<_> = users.iter().cloned().collect();
    assert_eq!(unique.len(), 300);
    assert!(users.iter().all(|k| k.starts_with("user:")));
    let (strings, _) = scan_all(&mut con, &["TYPE", "STRING"]);
    assert_eq!(strings.iter().collect::<HashSet<_>>().len(), 600);
    let (none, _) = scan_all(&mut con, &["TYPE", "hash"]);
    assert!(none.is_empty());

    // A database no bigger than COUNT comes back whole from `SCAN 0`.
    cmd(&mut con, &["SELECT", "4"]).unwrap();
    for k in ["a", "b", "c"] {
        cmd(&mut con, &["SET", k, "1"]).unwrap();
    }
    let (keys, calls) = scan_all(&mut con, &[]);
    assert_eq!(calls, 1);
    assert_eq!(keys.len(), 3);
}

#[test]
fn active_expiry_reclaims_keys_that_are_never_read() {
    let srv = server_with(&[("hz", "50")]);
    let mut con = client(&srv);
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET")
            .arg(format!("ttl:{i}"))
            .arg(i)
            .arg("PX")
            .arg(1500)
            .ignore();
        pipe.cmd("SET").arg(format!("keep:{i}")).arg(i).ignore();
    }
    for i in 0..500 {
        pipe.cmd("PEXPIRE")
            .arg(format!("keep:{i}"))
            .arg(1500)
            .ignore();
        pipe.cmd("PERSIST").arg(format!("keep:{i}")).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let db = srv.state.keyspace.db(0);
    assert_eq!(db.len(), 4000);

    // Nothing touches the keys from here on: only the cron can free them.
    let deadline = Instant::now() + Duration::from_secs(15);
    while db.len() > 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(db.len(), 2000, "expired keys were not reclaimed in time");
    assert_eq!(db.volatile_len(), 0);
    assert_eq!(
        srv.state
            .keyspace
            .stats
            .expired_keys
            .load(Ordering::Relaxed),
        2000
    );
    // The persisted keys survived.
    let n: i64 = redis::cmd("EXISTS")
        .arg("keep:0")
        .arg("keep:499")
        .arg("keep:1999")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn expired_keys_vanish_for_every_reader() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "k", "v", "PX", "50"]).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("k").query(&mut con).unwrap();
    assert!((1..=50).contains(&pttl), "{pttl}");
    std::thread::sleep(Duration::from_millis(120));
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).unwrap();
    assert_eq!(ttl, -2);
    let t: String = redis::cmd("TYPE").arg("k").query(&mut con).unwrap();
    assert_eq!(t, "none");
    assert_eq!(err(&mut con, &["RENAME", "k", "k2"]), "ERR no such key");
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(keys.is_empty());
}

#[test]
fn move_and_copy_across_databases() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "k", "v", "EX", "100"]).unwrap();
    let moved: i64 = redis::cmd("MOVE").arg("k").arg(7).query(&mut con).unwrap();
    assert_eq!(moved, 1);
    let gone: i64 = redis::cmd("EXISTS").arg("k").query(&mut con).unwrap();
    assert_eq!(gone, 0);
    assert_eq!(
        err(&mut con, &["MOVE", "k", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        err(&mut con, &["MOVE", "k", "16"]),
        "ERR DB index is out of range"
    );

    cmd(&mut con, &["SELECT", "7"]).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).unwrap();
    assert!((99..=100).contains(&ttl), "TTL lost by MOVE: {ttl}");

    // MOVE refuses to overwrite.
    cmd(&mut con, &["SELECT", "0"]).unwrap();
    cmd(&mut con, &["SET", "k", "other"]).unwrap();
    let moved: i64 = redis::cmd("MOVE").arg("k").arg(7).query(&mut con).unwrap();
    assert_eq!(moved, 0);

    // COPY to another database, then with REPLACE; the TTL is copied too.
    let copied: i64 = redis::cmd("COPY")
        .arg("k")
        .arg("k")
        .arg("DB")
        .arg(7)
        .query(&mut con)
        .unwrap();
    assert_eq!(copied, 0);
    cmd(&mut con, &["PEXPIRE", "k", "50000"]).unwrap();
    let copied: i64 = redis::cmd("COPY")
        .arg("k")
        .arg("k2")
        .arg("DB")
        .arg(7)
        .arg("REPLACE")
        .query(&mut con)
        .unwrap();
    assert_eq!(copied, 1);
    let copied: i64 = redis::cmd("COPY")
        .arg("k")
        .arg("k")
        .arg("REPLACE")
        .arg("DB")
        .arg(7)
        .query(&mut con)
        .unwrap();
    assert_eq!(copied, 1);
    cmd(&mut con, &["SELECT", "7"]).unwrap();
    let (a, b): (String, String) = redis::pipe()
        .cmd("GET")
        .arg("k")
        .cmd("GET")
        .arg("k2")
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("other", "other"));
    let pttl: i64 = redis::cmd("PTTL").arg("k2").query(&mut con).unwrap();
    assert!((49_000..=50_000).contains(&pttl), "{pttl}");
    // The source is untouched.
    cmd(&mut con, &["SELECT", "0"]).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "other");
}

/// Two clients copy and move keys between the same two databases in opposite
/// directions: a lock-order bug would deadlock here.
#[test]
fn cross_database_commands_do_not_deadlock() {
    let srv = server();
    let workers: Vec<_> = [(0, 1), (1, 0)]
        .into_iter()
        .map(|(from, to)| {
            let mut con = client(&srv);
            std::thread::spawn(move || {
                cmd(&mut con, &["SELECT", &from.to_string()]).unwrap();
                let to = to.to_string();
                for i in 0..2000 {
                    let k = format!("k{}", i % 17);
                    let k2 = format!("k{}", (i * 7) % 17);
                    cmd(&mut con, &["SET", &k, "v"]).unwrap();
                    cmd(&mut con, &["COPY", &k, &k2, "DB", &to, "REPLACE"]).unwrap();
                    cmd(&mut con, &["MOVE", &k2, &to]).unwrap();
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for w in workers {
        while !w.is_finished() {
            assert!(
                Instant::now() < deadline,
                "cross-database commands deadlocked"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        w.join().unwrap();
    }
}

#[test]
fn keyspace_hits_and_misses_follow_redis() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "a", "1"]).unwrap();
    let stats = &srv.state.keyspace.stats;
    let counts = || {
        (
            stats.keyspace_hits.load(Ordering::Relaxed),
            stats.keyspace_misses.load(Ordering::Relaxed),
        )
    };
    let base = counts();
    // Reads count, once per key mentioned.
    cmd(&mut con, &["EXISTS", "a", "a", "nokey"]).unwrap();
    cmd(&mut con, &["TTL", "nokey"]).unwrap();
    cmd(&mut con, &["TYPE", "a"]).unwrap();
    cmd(&mut con, &["TOUCH", "a", "nokey"]).unwrap();
    cmd(&mut con, &["OBJECT", "ENCODING", "a"]).unwrap();
    let after_reads = counts();
    assert_eq!(after_reads.0 - base.0, 5);
    assert_eq!(after_reads.1 - base.1, 3);
    // Writes and enumeration do not.
    cmd(&mut con, &["EXPIRE", "a", "100"]).unwrap();
    cmd(&mut con, &["PERSIST", "a"]).unwrap();
    cmd(&mut con, &["RENAME", "a", "b"]).unwrap();
    cmd(&mut con, &["DEL", "nokey", "b"]).unwrap();
    cmd(&mut con, &["KEYS", "*"]).unwrap();
    cmd(&mut con, &["SCAN", "0"]).unwrap();
    cmd(&mut con, &["RANDOMKEY"]).unwrap();
    assert_eq!(counts(), after_reads);
}

#[test]
fn object_idletime_ignores_introspection_but_not_reads() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["SET", "k", "v"]).unwrap();
    // Age the key without waiting: pretend it was last used 100 s ago.
    {
        let now = quiver_engine::now_ms();
        let mut view = srv.state.keyspace.lock_key(0, b"k", now);
        assert!(view.set_last_access(b"k", (now / 1000) as u32 - 100));
    }
    let idle = |con: &mut redis::Connection| -> i64 {
        redis::cmd("OBJECT")
            .arg("IDLETIME")
            .arg("k")
            .query(con)
            .unwrap()
    };
    assert!((100..=101).contains(&idle(&mut con)));
    for c in ["TTL", "TYPE", "EXISTS", "PTTL", "EXPIRETIME"] {
        cmd(&mut con, &[c, "k"]).unwrap();
    }
    assert!(idle(&mut con) >= 100, "a no-touch lookup touched the key");
    cmd(&mut con, &["TOUCH", "k"]).unwrap();
    assert!(idle(&mut con) <= 1, "TOUCH did not update the access time");
    // RENAME's source lookup is a write lookup: it touches too (as in Redis).
    {
        let now = quiver_engine::now_ms();
        let mut view = srv.state.keyspace.lock_key(0, b"k", now);
        assert!(view.set_last_access(b"k", (now / 1000) as u32 - 100));
    }
    cmd(&mut con, &["RENAME", "k", "k2"]).unwrap();
    let idle3: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("k2")
        .query(&mut con)
        .unwrap();
    assert!(idle3 <= 1, "RENAME did not touch the key: {idle3}");
}

#[test]
fn restore_recreates_a_big_list_and_wakes_a_blocked_pop() {
    let srv = server();
    let mut con = client(&srv);
    let items: Vec<String> = (0..10_000).map(|i| format!("item-{i}")).collect();
    let _: i64 = redis::cmd("RPUSH")
        .arg("src")
        .arg(&items)
        .query(&mut con)
        .unwrap();
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut con).unwrap();

    let waiter = spawn_cmd(&srv, &["BLPOP", "dst", "5"]);
    wait_blocked(&mut con, 1);
    let ok: String = redis::cmd("RESTORE")
        .arg("dst")
        .arg(0)
        .arg(&payload)
        .query(&mut con)
        .unwrap();
    assert_eq!(ok, "OK");
    let (reply, _) = waiter.join().unwrap();
    assert_eq!(
        reply.unwrap(),
        redis::Value::Array(vec![bulk("dst"), bulk("item-0")])
    );
    let rest: Vec<String> = redis::cmd("LRANGE")
        .arg("dst")
        .arg(0)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(rest, items[1..]);

    // A payload cut short or with a flipped byte changes nothing.
    for bad in [
        payload[..payload.len() / 2].to_vec(),
        payload
            .iter()
            .enumerate()
            .map(|(i, b)| if i == 100 { b ^ 1 } else { *b })
            .collect(),
    ] {
        let e = redis::cmd("RESTORE")
            .arg("dst")
            .arg(0)
            .arg(&bad)
            .arg("REPLACE")
            .query::<String>(&mut con)
            .unwrap_err();
        assert_eq!(
            e.detail(),
            Some("DUMP payload version or checksum are wrong")
        );
    }
    let len: i64 = redis::cmd("LLEN").arg("dst").query(&mut con).unwrap();
    assert_eq!(len, 9_999);
}
