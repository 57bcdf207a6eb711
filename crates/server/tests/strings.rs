//! String and bitmap commands through a real client (redis-rs): the
//! patterns applications actually use, binary safety and large values.

mod common;

use common::*;
use redis::{Commands, Value};

/// The classic fixed-window rate limiter: INCR and EXPIRE in one atomic
/// pipeline, then reading the counter and TTL back.
#[test]
fn rate_limiter_incr_expire_pipeline() {
    let srv = server();
    let mut con = client(&srv);
    let mut counts = Vec::new();
    for _ in 0..5 {
        let (n, _): (i64, i64) = redis::pipe()
            .atomic()
            .incr("rl:user:42", 1)
            .expire("rl:user:42", 60)
            .query(&mut con)
            .unwrap();
        counts.push(n);
    }
    assert_eq!(counts, vec![1, 2, 3, 4, 5]);
    let ttl: i64 = con.ttl("rl:user:42").unwrap();
    assert!((1..=60).contains(&ttl), "ttl {ttl}");
    // INCR keeps the TTL: the window must not become permanent.
    let _: i64 = con.incr("rl:user:42", 1).unwrap();
    let ttl: i64 = con.ttl("rl:user:42").unwrap();
    assert!(ttl > 0, "INCR dropped the TTL");
    // Over the limit of 6: the counter value decides.
    let n: i64 = con.get("rl:user:42").unwrap();
    assert_eq!(n, 6);
}

#[test]
fn binary_safe_values_round_trip() {
    let srv = server();
    let mut con = client(&srv);
    let value: Vec<u8> = (0..=255u8).chain([0, 0, b'\r', b'\n', 0]).collect();
    let key = b"bin\x00key\r\n".to_vec();
    let _: () = con.set(&key, &value).unwrap();
    let back: Vec<u8> = con.get(&key).unwrap();
    assert_eq!(back, value);
    let len: usize = con.strlen(&key).unwrap();
    assert_eq!(len, value.len());
    let n: usize = con.append(&key, b"\x00tail").unwrap();
    assert_eq!(n, value.len() + 5);
    let range: Vec<u8> = con.getrange(&key, -5, -1).unwrap();
    assert_eq!(range, b"\x00tail");
    let n: usize = con.setrange(&key, 1, b"\x00\x00").unwrap();
    assert_eq!(n, value.len() + 5);
    let head: Vec<u8> = con.getrange(&key, 0, 3).unwrap();
    assert_eq!(head, vec![0, 0, 0, 3]);
}

#[test]
fn megabyte_values_and_mget() {
    let srv = server();
    let mut con = client(&srv);
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let _: () = con.mset(&[("big1", &big), ("big2", &big)]).unwrap();
    let all: Vec<Option<Vec<u8>>> = con.mget(&["big1", "big2", "missing"]).unwrap();
    assert_eq!(all, vec![Some(big.clone()), Some(big.clone()), None]);
    let n: usize = con.append("big1", &big).unwrap();
    assert_eq!(n, 2 * big.len());
    let tail: Vec<u8> = con.getrange("big1", -3, -1).unwrap();
    assert_eq!(tail, big[big.len() - 3..].to_vec());
    // A megabyte in SETRANGE far from the start: zero padding before it.
    let n: usize = con.setrange("padded", 1_000_000, &big).unwrap();
    assert_eq!(n, 1_000_000 + big.len());
    let gap: Vec<u8> = con.getrange("padded", 999_998, 1_000_001).unwrap();
    assert_eq!(gap, vec![0, 0, big[0], big[1]]);
}

#[test]
fn setrange_limit_is_checked_before_allocating() {
    let srv = server();
    let mut con = client(&srv);
    // 2^62 would abort the process if anything tried to allocate it.
    let e = err(&mut con, &["SETRANGE", "k", "4611686018427387904", "x"]);
    assert_eq!(
        e,
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
    let e = err(&mut con, &["SETBIT", "k", "4294967296", "1"]);
    assert_eq!(e, "ERR bit offset is not an integer or out of range");
    let exists: bool = con.exists("k").unwrap();
    assert!(!exists);
}

#[test]
fn counters_and_floats() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = con.set("max", i64::MAX).unwrap();
    assert_eq!(
        err(&mut con, &["INCR", "max"]),
        "ERR increment or decrement would overflow"
    );
    let v: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("10.5")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, "10.5");
    let v: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg("0.1")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, "10.6");
    assert_eq!(
        err(&mut con, &["INCRBYFLOAT", "f", "inf"]),
        "ERR increment would produce NaN or Infinity"
    );
    let v: String = con.get("f").unwrap();
    assert_eq!(v, "10.6", "a failed INCRBYFLOAT must not write");
}

#[test]
fn bitmaps_for_daily_active_users() {
    let srv = server();
    let mut con = client(&srv);
    for user in [1u64, 7, 8, 1000, 99_999] {
        let old: bool = con.setbit("dau:mon", user as usize, true).unwrap();
        assert!(!old);
    }
    for user in [7u64, 1000, 5] {
        let _: bool = con.setbit("dau:tue", user as usize, true).unwrap();
    }
    let mon: i64 = con.bitcount("dau:mon").unwrap();
    assert_eq!(mon, 5);
    let both: i64 = redis::cmd("BITOP")
        .arg("AND")
        .arg("dau:both")
        .arg("dau:mon")
        .arg("dau:tue")
        .query(&mut con)
        .unwrap();
    assert_eq!(both, 99_999 / 8 + 1);
    let n: i64 = con.bitcount("dau:both").unwrap();
    assert_eq!(n, 2);
    let first: i64 = redis::cmd("BITPOS")
        .arg("dau:both")
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(first, 7);
    let vals: Value = redis::cmd("BITFIELD")
        .arg("counters")
        .arg(&[
            "INCRBY", "u8", "#3", "200", "OVERFLOW", "FAIL", "INCRBY", "u8", "#3", "100", "GET",
            "u8", "#3",
        ])
        .query(&mut con)
        .unwrap();
    assert_eq!(
        vals,
        Value::Array(vec![Value::Int(200), Value::Nil, Value::Int(200)])
    );
}
