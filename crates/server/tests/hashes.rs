//! Hash behaviour the differential scripts cannot show: field TTLs (Redis
//! 7.4) and HGETDEL/HGETEX/HSETEX (Redis 8), which the 7.0 oracle lacks;
//! lazy and active field expiry; HSCAN and HRANDFIELD over the table
//! encoding, whose order is not Redis's.

mod common;

use common::*;
use redis::FromRedisValue;
use std::collections::{BTreeMap, BTreeSet};
use std::thread::sleep;
use std::time::Duration;

fn q<T: FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn hexpire_reply_codes_and_conditions() {
    let srv = server();
    let mut con = client(&srv);
    q::<i64>(&mut con, &["HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3"]);
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "h", "100", "FIELDS", "2", "f1", "nope"]
        ),
        vec![1, -2]
    );
    assert_eq!(
        q::<String>(&mut con, &["OBJECT", "ENCODING", "h"]),
        "listpackex"
    );
    // NX: only fields without a TTL.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "h", "200", "NX", "FIELDS", "2", "f1", "f2"]
        ),
        vec![0, 1]
    );
    // XX: only fields with a TTL.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "h", "300", "XX", "FIELDS", "2", "f1", "f3"]
        ),
        vec![1, 0]
    );
    // GT: a persistent field counts as infinite, so GT never applies to it.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "h", "250", "GT", "FIELDS", "3", "f1", "f2", "f3"]
        ),
        vec![0, 1, 0]
    );
    // LT: always applies to a persistent field.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "h", "260", "lt", "FIELDS", "3", "f1", "f2", "f3"]
        ),
        vec![1, 0, 1]
    );
    let ttls: Vec<i64> = q(&mut con, &["HTTL", "h", "FIELDS", "3", "f1", "f2", "f3"]);
    assert_eq!(ttls, vec![260, 250, 260]);
    let pttl: Vec<i64> = q(&mut con, &["HPTTL", "h", "FIELDS", "1", "f1"]);
    assert!((259_000..=260_000).contains(&pttl[0]), "{pttl:?}");
    // Zero seconds, or a time in the past, deletes the field (code 2).
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HEXPIRE", "h", "0", "FIELDS", "1", "f1"]),
        vec![2]
    );
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HPEXPIREAT", "h", "1", "FIELDS", "2", "f2", "f1"]
        ),
        vec![2, -2]
    );
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 1);
    // The condition is checked before the deletion: NX on a field with a TTL fails.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIREAT", "h", "1", "NX", "FIELDS", "1", "f3"]
        ),
        vec![0]
    );
    // Deleting the last field deletes the key.
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPEXPIRE", "h", "0", "FIELDS", "1", "f3"]),
        vec![2]
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    // A missing key answers as an empty hash.
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HEXPIRE", "nokey", "10", "FIELDS", "2", "a", "b"]
        ),
        vec![-2, -2]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "nokey", "FIELDS", "1", "a"]),
        vec![-2]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPERSIST", "nokey", "FIELDS", "1", "a"]),
        vec![-2]
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "nokey"]), 0);
}

#[test]
fn ttl_queries_persist_and_absolute_times() {
    let srv = server();
    let mut con = client(&srv);
    q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2"]);
    let at = now_ms() + 100_000;
    let at_s = at.to_string();
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPEXPIREAT", "h", &at_s, "FIELDS", "1", "a"]),
        vec![1]
    );
    assert_eq!(
        q::<Vec<i64>>(
            &mut con,
            &["HPEXPIRETIME", "h", "FIELDS", "3", "a", "b", "c"]
        ),
        vec![at, -1, -2]
    );
    // Seconds round up, as Redis computes them.
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HEXPIRETIME", "h", "FIELDS", "1", "a"]),
        vec![(at + 999) / 1000]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPERSIST", "h", "FIELDS", "3", "a", "b", "c"]),
        vec![1, -1, -2]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "1", "a"]),
        vec![-1]
    );
    // HSET clears a field's TTL, HINCRBY/HINCRBYFLOAT keep it.
    q::<Vec<i64>>(&mut con, &["HEXPIRE", "h", "500", "FIELDS", "2", "a", "b"]);
    q::<i64>(&mut con, &["HINCRBY", "h", "a", "5"]);
    q::<String>(&mut con, &["HINCRBYFLOAT", "h", "b", "0.5"]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "b"]),
        vec![500, 500]
    );
    q::<i64>(&mut con, &["HSET", "h", "a", "x"]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "b"]),
        vec![-1, 500]
    );
    // TTLs survive conversion to the table encoding, COPY and RENAME.
    let long = "x".repeat(100);
    q::<i64>(&mut con, &["HSET", "h", "long", &long]);
    assert_eq!(
        q::<String>(&mut con, &["OBJECT", "ENCODING", "h"]),
        "hashtable"
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "1", "b"]),
        vec![500]
    );
    q::<i64>(&mut con, &["COPY", "h", "h2"]);
    q::<()>(&mut con, &["RENAME", "h2", "h3"]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h3", "FIELDS", "2", "b", "a"]),
        vec![500, -1]
    );
}

#[test]
fn field_ttl_argument_errors() {
    let srv = server();
    let mut con = client(&srv);
    q::<i64>(&mut con, &["HSET", "h", "f", "v"]);
    q::<()>(&mut con, &["SET", "s", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["HEXPIRE", "h", "10", "FIELD", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "10", "NX", "XX", "FIELDS", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "0", "f"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "x", "f"],
            "ERR Parameter `numFields` should be greater than 0",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "2", "f"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS", "1", "f", "g"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "-1", "FIELDS", "1", "f"],
            "ERR invalid expire time, must be >= 0",
        ),
        (
            &["HEXPIRE", "h", "abc", "FIELDS", "1", "f"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HEXPIRE", "h", "281474976710656", "FIELDS", "1", "f"],
            "ERR invalid expire time in 'hexpire' command",
        ),
        (
            &["HPEXPIREAT", "h", "281474976710656", "FIELDS", "1", "f"],
            "ERR invalid expire time in 'hpexpireat' command",
        ),
        (
            &["HTTL", "h", "FIELDS", "0", "f"],
            "ERR Number of fields must be a positive integer",
        ),
        (
            &["HTTL", "h", "f", "1", "f"],
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ),
        (
            &["HPERSIST", "h", "FIELDS", "3", "f"],
            "ERR The `numfields` parameter must match the number of arguments",
        ),
        (
            &["HEXPIRE", "h", "10", "FIELDS"],
            "ERR wrong number of arguments for 'hexpire' command",
        ),
        (
            &["HTTL", "h", "FIELDS", "1"],
            "ERR wrong number of arguments for 'httl' command",
        ),
        // The key's type is checked before the arguments.
        (
            &["HEXPIRE", "s", "-1", "FIELDS", "0", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HTTL", "s", "NOPE", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HPERSIST", "s", "FIELDS", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HGETDEL", "s", "FIELDS", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            &["HGETEX", "s", "EX", "-5", "FIELDS", "1", "f"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(&err(&mut con, args), want, "{args:?}");
    }
    // Nothing above changed the hash.
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "1", "f"]),
        vec![-1]
    );
    // The largest accepted time is 2^48-1 ms.
    let max = ((1i64 << 48) - 1).to_string();
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPEXPIREAT", "h", &max, "FIELDS", "1", "f"]),
        vec![1]
    );
}

#[test]
fn lazy_field_expiry_and_key_deletion() {
    let srv = server();
    let mut con = client(&srv);
    q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    q::<Vec<i64>>(&mut con, &["HPEXPIRE", "h", "20", "FIELDS", "2", "a", "b"]);
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 3);
    sleep(Duration::from_millis(60));
    // Every read filters expired fields.
    assert_eq!(q::<Option<String>>(&mut con, &["HGET", "h", "a"]), None);
    assert_eq!(
        q::<BTreeMap<String, String>>(&mut con, &["HGETALL", "h"]),
        BTreeMap::from([("c".to_string(), "3".to_string())])
    );
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "b"]), 0);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "c"]),
        vec![-2, -1]
    );
    // When the last field expires, the first command to look deletes the key.
    q::<Vec<i64>>(&mut con, &["HPEXPIRE", "h", "20", "FIELDS", "1", "c"]);
    sleep(Duration::from_millis(60));
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HMGET", "h", "a", "c"]),
        vec![None, None]
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    // Writers see an expired field as absent: HSETNX sets it again.
    q::<i64>(&mut con, &["HSET", "h2", "f", "old", "g", "keep"]);
    q::<Vec<i64>>(&mut con, &["HPEXPIRE", "h2", "20", "FIELDS", "1", "f"]);
    sleep(Duration::from_millis(60));
    assert_eq!(q::<i64>(&mut con, &["HSETNX", "h2", "f", "new"]), 1);
    assert_eq!(q::<i64>(&mut con, &["HINCRBY", "h2", "n", "1"]), 1);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h2", "FIELDS", "1", "f"]),
        vec![-1]
    );
}

#[test]
fn active_field_expiry_reclaims_unread_hashes() {
    let srv = server();
    let mut con = client(&srv);
    for i in 0..50 {
        let k = format!("h{i}");
        q::<i64>(&mut con, &["HSET", &k, "a", "1", "b", "2"]);
        q::<Vec<i64>>(&mut con, &["HPEXPIRE", &k, "10", "FIELDS", "1", "a"]);
        if i % 2 == 0 {
            q::<Vec<i64>>(&mut con, &["HPEXPIRE", &k, "10", "FIELDS", "1", "b"]);
        }
    }
    q::<()>(&mut con, &["SET", "plain", "v"]);
    sleep(Duration::from_millis(40));
    let mut cursors = Vec::new();
    let mut removed = 0;
    for _ in 0..1000 {
        removed += quiver_commands::hash_ttl::active_expire_fields(&srv.state, &mut cursors, 100);
        if cursors.iter().all(|&c| c == 0) && removed >= 75 {
            break;
        }
    }
    assert_eq!(removed, 75);
    // Hashes whose every field expired are gone; the others lost field a.
    assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 26);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h0"]), 0);
    assert_eq!(
        q::<BTreeMap<String, String>>(&mut con, &["HGETALL", "h1"]),
        BTreeMap::from([("b".to_string(), "2".to_string())])
    );
}

#[test]
fn hgetdel_and_hgetex() {
    let srv = server();
    let mut con = client(&srv);
    q::<i64>(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HGETDEL", "h", "FIELDS", "3", "a", "zz", "a"]),
        vec![Some("1".into()), None, None]
    );
    assert_eq!(q::<i64>(&mut con, &["HLEN", "h"]), 2);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HGETDEL", "nokey", "FIELDS", "2", "a", "b"]),
        vec![None, None]
    );
    assert_eq!(
        err(&mut con, &["HGETDEL", "h", "FIELDS", "2", "a"]),
        "ERR The `numfields` parameter must match the number of arguments"
    );
    assert_eq!(
        err(&mut con, &["HGETDEL", "h", "NOPE", "1", "a"]),
        "ERR Mandatory argument FIELDS is missing or not at the right position"
    );
    // HGETEX: read, set a TTL, persist, delete with a past time.
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HGETEX", "h", "FIELDS", "1", "b"]),
        vec![Some("2".into())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(
            &mut con,
            &["HGETEX", "h", "EX", "100", "FIELDS", "2", "b", "zz"]
        ),
        vec![Some("2".into()), None]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "b", "c"]),
        vec![100, -1]
    );
    let at = (now_ms() + 50_000).to_string();
    q::<Vec<Option<String>>>(&mut con, &["HGETEX", "h", "PXAT", &at, "FIELDS", "1", "c"]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HPEXPIRETIME", "h", "FIELDS", "1", "c"]),
        vec![at.parse::<i64>().unwrap()]
    );
    q::<Vec<Option<String>>>(&mut con, &["HGETEX", "h", "PERSIST", "FIELDS", "1", "b"]);
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "1", "b"]),
        vec![-1]
    );
    assert_eq!(
        err(&mut con, &["HGETEX", "h", "EX", "-1", "FIELDS", "1", "b"]),
        "ERR invalid expire time, must be >= 0"
    );
    assert_eq!(
        err(&mut con, &["HGETEX", "h", "EX", "10", "1", "b"]),
        "ERR Mandatory argument FIELDS is missing or not at the right position"
    );
    assert_eq!(
        err(&mut con, &["HGETEX", "h", "FIELDS", "0", "b"]),
        "ERR Number of fields must be a positive integer"
    );
    // A zero TTL deletes what it returns; the key goes with its last field.
    assert_eq!(
        q::<Vec<Option<String>>>(
            &mut con,
            &["HGETEX", "h", "PX", "0", "FIELDS", "2", "b", "c"]
        ),
        vec![Some("2".into()), Some("3".into())]
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut con, &["HGETEX", "h", "EX", "5", "FIELDS", "1", "b"]),
        vec![None]
    );
}

#[test]
fn hsetex_conditions_and_ttls() {
    let srv = server();
    let mut con = client(&srv);
    // FXX on a missing key sets nothing and creates nothing.
    assert_eq!(
        q::<i64>(&mut con, &["HSETEX", "h", "FXX", "FIELDS", "1", "a", "1"]),
        0
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    assert_eq!(
        q::<i64>(
            &mut con,
            &["HSETEX", "h", "FNX", "EX", "100", "FIELDS", "2", "a", "1", "b", "2"]
        ),
        1
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "b"]),
        vec![100, 100]
    );
    // FNX fails if any field exists, FXX if any is missing: nothing is set.
    assert_eq!(
        q::<i64>(
            &mut con,
            &["HSETEX", "h", "FNX", "FIELDS", "2", "c", "3", "a", "9"]
        ),
        0
    );
    assert_eq!(
        q::<i64>(
            &mut con,
            &["HSETEX", "h", "FXX", "FIELDS", "2", "c", "3", "a", "9"]
        ),
        0
    );
    assert_eq!(
        q::<Option<String>>(&mut con, &["HGET", "h", "a"]),
        Some("1".into())
    );
    assert_eq!(q::<i64>(&mut con, &["HEXISTS", "h", "c"]), 0);
    // KEEPTTL keeps the TTL, plain HSETEX clears it like HSET.
    assert_eq!(
        q::<i64>(
            &mut con,
            &["HSETEX", "h", "KEEPTTL", "FIELDS", "1", "a", "x"]
        ),
        1
    );
    assert_eq!(
        q::<i64>(&mut con, &["HSETEX", "h", "FIELDS", "1", "b", "y"]),
        1
    );
    assert_eq!(
        q::<Vec<i64>>(&mut con, &["HTTL", "h", "FIELDS", "2", "a", "b"]),
        vec![100, -1]
    );
    // A zero TTL sets and immediately deletes.
    assert_eq!(
        q::<i64>(
            &mut con,
            &["HSETEX", "h", "PX", "0", "FIELDS", "2", "a", "1", "b", "2"]
        ),
        1
    );
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "h"]), 0);
    // Options are parsed (in order) before the key is looked at.
    q::<()>(&mut con, &["SET", "s", "v"]);
    let cases: &[(&[&str], &str)] = &[
        (
            &["HSETEX", "s", "FNX", "FXX", "FIELDS", "1", "a", "1"],
            "ERR Only one of FXX or FNX arguments can be specified",
        ),
        (
            &["HSETEX", "s", "EX", "1", "PX", "1", "FIELDS", "1", "a", "1"],
            "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &["HSETEX", "s", "KEEPTTL", "EX", "1", "FIELDS", "1", "a", "1"],
            "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified",
        ),
        (
            &["HSETEX", "s", "EX", "-1", "FIELDS", "1", "a", "1"],
            "ERR invalid expire time, must be >= 0",
        ),
        (
            &["HSETEX", "s", "EX", "x", "FIELDS", "1", "a", "1"],
            "ERR value is not an integer or out of range",
        ),
        (
            &["HSETEX", "s", "BOGUS", "FIELDS", "1", "a", "1"],
            "ERR unknown argument: BOGUS",
        ),
        (
            &["HSETEX", "s", "FIELDS", "0", "a", "1"],
            "ERR invalid number of fields",
        ),
        (
            &["HSETEX", "s", "FIELDS", "2", "a", "1"],
            "ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "s", "FIELDS", "1", "a", "1", "b"],
            "ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "s", "FNX", "FIELDS", "1", "a"],
            "ERR wrong number of arguments for 'hsetex' command",
        ),
        (
            &["HSETEX", "s", "FIELDS", "1", "a", "1"],
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(&err(&mut con, args), want, "{args:?}");
    }
}

#[test]
fn hscan_over_a_table_returns_every_field() {
    let srv = server();
    let mut con = client(&srv);
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    assert_eq!(
        q::<String>(&mut con, &["OBJECT", "ENCODING", "big"]),
        "hashtable"
    );
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut con, &["HSCAN", "big", &cursor, "COUNT", "50"]);
        calls += 1;
        for pair in items.chunks(2) {
            assert_eq!(pair[0][1..], pair[1], "field and value line up");
            seen.insert(pair[0].clone());
        }
        // Delete a field not yet necessarily seen: the fields present for
        // the whole scan must all be reported anyway.
        q::<i64>(&mut con, &["HDEL", "big", &format!("f{}", calls * 7 + 1)]);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 10, "COUNT bounds each step ({calls} calls)");
    for i in 0..2000 {
        if i % 7 != 1 {
            assert!(seen.contains(&format!("f{i}")), "missed f{i}");
        }
    }
    // NOVALUES (7.4) and MATCH.
    let (next, fields): (String, Vec<String>) = q(
        &mut con,
        &[
            "HSCAN", "big", "0", "MATCH", "f1?", "COUNT", "5000", "NOVALUES",
        ],
    );
    assert_eq!(next, "0");
    let want: BTreeSet<String> = (10..20).map(|i| format!("f{i}")).collect();
    let got: BTreeSet<String> = fields.into_iter().collect();
    assert!(got.is_subset(&want) && got.len() >= 8, "{got:?}");
    let (_, small): (String, Vec<String>) = {
        q::<i64>(&mut con, &["HSET", "small", "a", "1", "b", "2"]);
        q(&mut con, &["HSCAN", "small", "0", "NOVALUES"])
    };
    assert_eq!(small, vec!["a", "b"]);
}

#[test]
fn hrandfield_cases_on_both_encodings() {
    let srv = server();
    let mut con = client(&srv);
    for (key, n) in [("small", 20), ("big", 700)] {
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("HSET")
                .arg(key)
                .arg(format!("f{i}"))
                .arg(i)
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
        // Positive count: distinct fields.
        let picked: Vec<String> = q(&mut con, &["HRANDFIELD", key, "10"]);
        assert_eq!(picked.len(), 10);
        assert_eq!(
            picked.iter().collect::<BTreeSet<_>>().len(),
            10,
            "{key}: distinct"
        );
        // Negative count: exactly |count| picks, repeats allowed.
        let picked: Vec<String> = q(&mut con, &["HRANDFIELD", key, "-1000"]);
        assert_eq!(picked.len(), 1000);
        let distinct = picked.iter().collect::<BTreeSet<_>>().len();
        assert!(distinct < 1000 && distinct > 5, "{key}: {distinct}");
        // Count at least the size: the whole hash.
        let all: Vec<String> = q(&mut con, &["HRANDFIELD", key, "100000"]);
        assert_eq!(all.len(), n);
        // WITHVALUES pairs fields with their own values.
        let pairs: Vec<String> = q(&mut con, &["HRANDFIELD", key, "-50", "WITHVALUES"]);
        assert_eq!(pairs.len(), 100);
        for p in pairs.chunks(2) {
            assert_eq!(p[0][1..], p[1]);
        }
    }
    assert_eq!(
        q::<String>(&mut con, &["OBJECT", "ENCODING", "big"]),
        "hashtable"
    );
}
