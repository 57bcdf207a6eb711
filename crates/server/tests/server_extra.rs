//! MEMORY, LASTSAVE, ROLE, REPLICAOF, the save commands (which must refuse,
//! not pretend) and DEBUG ERROR / CHANGE-REPL-ID, over real connections.

mod common;

use common::*;
use redis::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn debug_server() -> RunningServer {
    server_with(&[("enable-debug-command", "yes")])
}

fn usage(con: &mut redis::Connection, key: &str) -> Option<i64> {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query(con)
        .unwrap()
}

/// Sends raw RESP and returns what arrives until `done` accepts it.
fn raw(srv: &RunningServer, payload: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.write_all(payload).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 8192];
    while !done(&out) && Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => continue,
        }
    }
    out
}

#[test]
fn memory_usage_follows_the_value_size() {
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(usage(&mut con, "missing"), None);
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg("x".repeat(10_000))
        .query(&mut con)
        .unwrap();
    let small = usage(&mut con, "small").unwrap();
    let big = usage(&mut con, "big").unwrap();
    assert!(small > 0, "{small}");
    assert!(big >= small + 10_000, "small {small}, big {big}");
    // A long key name costs its bytes too.
    let long = "k".repeat(200);
    let _: () = redis::cmd("SET")
        .arg(&long)
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert!(usage(&mut con, &long).unwrap() >= small + 180);
    // Collections: more members, more memory.
    let _: () = redis::cmd("HSET")
        .arg("h1")
        .arg("f")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let mut many = redis::cmd("HSET");
    many.arg("h1000");
    for i in 0..1000 {
        many.arg(format!("field:{i}")).arg(format!("value:{i}"));
    }
    let _: () = many.query(&mut con).unwrap();
    let h1 = usage(&mut con, "h1").unwrap();
    let h1000 = usage(&mut con, "h1000").unwrap();
    assert!(h1000 > h1 + 10_000, "h1 {h1}, h1000 {h1000}");
    // SAMPLES is validated but every count gives the same answer.
    let with_samples: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("h1000")
        .arg("SAMPLES")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(with_samples, h1000);
    assert_eq!(
        err(&mut con, &["MEMORY", "USAGE", "missing", "SAMPLES", "-1"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "USAGE", "missing", "SAMPLES", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn memory_usage_leaves_access_time_and_stats_alone() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    for _ in 0..3 {
        assert!(usage(&mut con, "k").is_some());
        assert!(usage(&mut con, "nokey").is_none());
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    assert!(info.contains("keyspace_hits:0\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:0\r\n"), "{info}");
}

/// Flattens a RESP2 MEMORY STATS reply into (name, value) pairs.
fn stats_pairs(v: Value) -> Vec<(String, Value)> {
    let Value::Array(items) = v else {
        panic!("not an array: {v:?}")
    };
    items
        .chunks(2)
        .map(|p| match &p[0] {
            Value::BulkString(b) => (String::from_utf8(b.clone()).unwrap(), p[1].clone()),
            other => panic!("field name {other:?}"),
        })
        .collect()
}

#[test]
fn memory_stats_names_fields_like_redis() {
    let srv = server();
    let mut con = client(&srv);
    let pairs = stats_pairs(redis::cmd("MEMORY").arg("STATS").query(&mut con).unwrap());
    // Empty server: no db.<n> entry at all.
    assert_eq!(pairs.len(), 27);
    assert!(pairs.iter().all(|(n, _)| !n.starts_with("db.")));
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..3],
        ["peak.allocated", "total.allocated", "startup.allocated"]
    );
    assert_eq!(names[26], "fragmentation.bytes");

    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("b").arg("2").query(&mut con).unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("c").arg("3").query(&mut con).unwrap();
    let pairs = stats_pairs(redis::cmd("MEMORY").arg("STATS").query(&mut con).unwrap());
    assert_eq!(pairs.len(), 29);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(get("keys.count"), Value::Int(3));
    for db in ["db.0", "db.3"] {
        let Value::Array(inner) = get(db) else {
            panic!("{db} is not a nested reply")
        };
        assert_eq!(inner.len(), 6);
        assert_eq!(
            inner[0],
            Value::BulkString(b"overhead.hashtable.main".to_vec())
        );
        assert!(matches!(inner[1], Value::Int(n) if n > 0));
    }
    // Ratios are doubles (bulk strings in RESP2).
    match get("fragmentation") {
        Value::BulkString(b) => {
            let f: f64 = std::str::from_utf8(&b).unwrap().parse().unwrap();
            assert!(f >= 0.0);
        }
        other => panic!("fragmentation {other:?}"),
    }
    match get("total.allocated") {
        Value::Int(n) => assert!(n > 0),
        other => panic!("total.allocated {other:?}"),
    }

    // RESP3: a map (27 fields plus db.0 and db.3), database entries maps too.
    let out = raw(&srv, b"HELLO 3\r\nSET x 1\r\nMEMORY STATS\r\n", |o| {
        o.windows(20).any(|w| w == b"fragmentation.bytes\r") && o.ends_with(b"\r\n")
    });
    let text = String::from_utf8_lossy(&out);
    let stats = &text[text.find("+OK\r\n").expect("SET replied") + 5..];
    assert!(stats.starts_with("%29\r\n"), "{stats}");
    assert!(stats.contains("$4\r\ndb.0\r\n%3\r\n"), "{stats}");
    assert!(stats.contains("$13\r\nfragmentation\r\n,"), "{stats}");
}

#[test]
fn memory_doctor_malloc_stats_purge_help() {
    let srv = server();
    let mut con = client(&srv);
    let doctor: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut con).unwrap();
    assert!(doctor.starts_with("Memory doctor"), "{doctor}");
    let malloc: String = redis::cmd("MEMORY")
        .arg("MALLOC-STATS")
        .query(&mut con)
        .unwrap();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    if info.contains("mem_allocator:libc") {
        assert_eq!(malloc, "Stats not supported for the current allocator");
    } else {
        assert!(malloc.contains("allocated: "), "{malloc}");
    }
    let ok: String = redis::cmd("MEMORY").arg("PURGE").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    let help: Vec<String> = redis::cmd("MEMORY").arg("HELP").query(&mut con).unwrap();
    assert!(help[0].starts_with("MEMORY <subcommand>"), "{help:?}");
    assert!(
        help.iter().any(|l| l.starts_with("USAGE <key>")),
        "{help:?}"
    );
    assert_eq!(
        err(&mut con, &["MEMORY", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try MEMORY HELP."
    );
}

#[test]
fn lastsave_is_the_start_time_and_role_is_master() {
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let srv = server();
    let mut con = client(&srv);
    let last: i64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(last >= before - 1 && last <= now, "{before} {last} {now}");
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut con)
        .unwrap();
    assert!(
        info.contains(&format!("rdb_last_save_time:{last}\r\n")),
        "{info}"
    );
    let role = cmd(&mut con, &["ROLE"]).unwrap();
    assert_eq!(
        role,
        Value::Array(vec![
            Value::BulkString(b"master".to_vec()),
            Value::Int(0),
            Value::Array(vec![]),
        ])
    );
}

#[test]
fn save_commands_refuse_instead_of_pretending() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let dirty = |con: &mut redis::Connection| -> String {
        let info: String = redis::cmd("INFO").arg("persistence").query(con).unwrap();
        info.lines()
            .find(|l| l.starts_with("rdb_changes_since_last_save:"))
            .unwrap()
            .to_string()
    };
    let before = dirty(&mut con);
    assert_ne!(before, "rdb_changes_since_last_save:0");
    for args in [
        &["SAVE"][..],
        &["BGSAVE"],
        &["BGSAVE", "SCHEDULE"],
        &["BGREWRITEAOF"],
    ] {
        let e = err(&mut con, args);
        assert!(
            e.starts_with(&format!("ERR {} is not supported", args[0]))
                && e.contains("persistence"),
            "{args:?}: {e}"
        );
    }
    // Nothing was saved: the change counter and LASTSAVE did not move.
    assert_eq!(dirty(&mut con), before);
    assert_eq!(err(&mut con, &["BGSAVE", "NOW"]), "ERR syntax error");
    // SAVE is refused inside MULTI, like Redis's no-multi commands.
    let _: () = redis::cmd("MULTI").query(&mut con).unwrap();
    assert_eq!(
        err(&mut con, &["SAVE"]),
        "ERR Command not allowed inside a transaction"
    );
    let _: () = redis::cmd("DISCARD").query(&mut con).unwrap();
}

#[test]
fn replicaof_no_one_succeeds_and_attaching_fails() {
    let srv = server();
    let mut con = client(&srv);
    for name in ["REPLICAOF", "SLAVEOF"] {
        let ok: String = redis::cmd(name)
            .arg("NO")
            .arg("ONE")
            .query(&mut con)
            .unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(
            err(&mut con, &[name, "127.0.0.1", "65536"]),
            "ERR Invalid master port"
        );
        assert!(err(&mut con, &[name, "127.0.0.1", "6379"]).contains("no replication"));
    }
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut con).unwrap();
    assert_eq!(role[0], Value::BulkString(b"master".to_vec()));
}

#[test]
fn debug_error_replies_the_message_as_the_error() {
    let srv = debug_server();
    let mut con = client(&srv);
    assert_eq!(
        err(&mut con, &["DEBUG", "ERROR", "LOADING fake message"]),
        "LOADING fake message"
    );
    assert_eq!(
        err(&mut con, &["DEBUG", "ERROR", "READONLY You can't write"]),
        "READONLY You can't write"
    );
    // Raw bytes: no ERR prefix, CR/LF flattened so the framing survives.
    let out = raw(
        &srv,
        b"*3\r\n$5\r\nDEBUG\r\n$5\r\nERROR\r\n$8\r\nab\r\ncd\ne\r\nPING\r\n",
        |o| o.ends_with(b"+PONG\r\n"),
    );
    assert_eq!(out, b"-ab  cd e\r\n+PONG\r\n");
    let ok: String = redis::cmd("DEBUG")
        .arg("CHANGE-REPL-ID")
        .query(&mut con)
        .unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(
        err(&mut con, &["DEBUG", "ERROR"]),
        "ERR unknown subcommand or wrong number of arguments for 'ERROR'. Try DEBUG HELP."
    );
}
