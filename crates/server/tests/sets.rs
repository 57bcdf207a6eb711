//! Set behaviour the differential scripts cannot show: randomness (SPOP,
//! SRANDMEMBER), SSCAN over sets too large to come back in one call, the
//! listpack encoding Redis 7.0 lacks, and generic commands on sets.

mod common;

use common::*;
use std::collections::HashSet;

fn members(con: &mut redis::Connection, key: &str) -> HashSet<String> {
    redis::cmd("SMEMBERS").arg(key).query(con).unwrap()
}

fn encoding(con: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(con)
        .unwrap()
}

fn fill(con: &mut redis::Connection, key: &str, n: usize, prefix: &str) {
    let mut c = redis::cmd("SADD");
    c.arg(key);
    for i in 0..n {
        c.arg(format!("{prefix}{i}"));
    }
    let _: i64 = c.query(con).unwrap();
}

#[test]
fn encodings_follow_the_limits() {
    let srv = server();
    let mut con = client(&srv);
    fill(&mut con, "ints", 512, "");
    assert_eq!(encoding(&mut con, "ints"), "intset");
    fill(&mut con, "ints", 513, "");
    assert_eq!(encoding(&mut con, "ints"), "hashtable");

    // Small string sets are listpacks (Redis 7.2+; 7.0 says hashtable).
    fill(&mut con, "strs", 128, "m");
    assert_eq!(encoding(&mut con, "strs"), "listpack");
    fill(&mut con, "strs", 129, "m");
    assert_eq!(encoding(&mut con, "strs"), "hashtable");
    assert_eq!(members(&mut con, "strs").len(), 129);

    // An intset gaining a string becomes a listpack, keeping its members.
    fill(&mut con, "mixed", 10, "");
    let _: i64 = redis::cmd("SADD")
        .arg("mixed")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(encoding(&mut con, "mixed"), "listpack");
    let m = members(&mut con, "mixed");
    assert!(m.contains("0") && m.contains("9") && m.contains("x"));

    // The limits are live configuration.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("set-max-listpack-entries")
        .arg("2")
        .query(&mut con)
        .unwrap();
    fill(&mut con, "tiny", 3, "t");
    assert_eq!(encoding(&mut con, "tiny"), "hashtable");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("set-max-listpack-value")
        .arg("3")
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("SADD")
        .arg("short")
        .arg("abcd")
        .query(&mut con)
        .unwrap();
    assert_eq!(encoding(&mut con, "short"), "hashtable");
}

#[test]
fn sscan_visits_every_member_of_a_large_set() {
    let srv = server();
    let mut con = client(&srv);
    fill(&mut con, "s", 5000, "member:");
    let mut seen = HashSet::new();
    let mut cursor: u64 = 0;
    let mut calls = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg("s")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut con)
            .unwrap();
        assert!(batch.len() <= 100);
        seen.extend(batch);
        calls += 1;
        // Members removed mid-scan must not hide the others.
        let _: i64 = redis::cmd("SREM")
            .arg("s")
            .arg(format!("member:{}", calls * 13))
            .query(&mut con)
            .unwrap();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(calls > 10, "a large set is scanned in steps");
    for m in members(&mut con, "s") {
        assert!(seen.contains(&m), "{m} missed");
    }
    // MATCH filters the members of each step.
    let (_, batch): (u64, Vec<String>) = redis::cmd("SSCAN")
        .arg("s")
        .arg(0)
        .arg("MATCH")
        .arg("member:1*")
        .arg("COUNT")
        .arg(10000)
        .query(&mut con)
        .unwrap();
    assert!(batch.iter().all(|m| m.starts_with("member:1")));
    assert!(batch.len() > 1000);
}

#[test]
fn spop_and_srandmember_are_random_and_complete() {
    let srv = server();
    let mut con = client(&srv);
    for (key, prefix, n) in [("ints", "", 300), ("pack", "p", 100), ("table", "t", 1000)] {
        fill(&mut con, key, n, prefix);
        let all = members(&mut con, key);

        // Positive count: distinct members of the set.
        let got: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg(key)
            .arg(n / 2)
            .query(&mut con)
            .unwrap();
        let uniq: HashSet<_> = got.iter().cloned().collect();
        assert_eq!(uniq.len(), n / 2, "{key}");
        assert!(uniq.is_subset(&all));

        // Negative count: exactly |count| picks, repeats allowed, and over
        // many picks more than a handful of different members.
        let got: Vec<String> = redis::cmd("SRANDMEMBER")
            .arg(key)
            .arg(-(3 * n as i64))
            .query(&mut con)
            .unwrap();
        assert_eq!(got.len(), 3 * n);
        let uniq: HashSet<_> = got.into_iter().collect();
        assert!(uniq.is_subset(&all) && uniq.len() > n / 2, "{key}");

        // SPOP drains the set exactly, in random order, then deletes it.
        let mut popped = Vec::new();
        loop {
            let batch: Vec<String> = redis::cmd("SPOP").arg(key).arg(7).query(&mut con).unwrap();
            if batch.is_empty() {
                break;
            }
            popped.extend(batch);
        }
        assert_eq!(popped.len(), n);
        assert_eq!(popped.iter().cloned().collect::<HashSet<_>>(), all);
        let sorted = {
            let mut s = popped.clone();
            s.sort();
            s
        };
        assert_ne!(popped, sorted, "{key}: pops look ordered");
        let exists: i64 = redis::cmd("EXISTS").arg(key).query(&mut con).unwrap();
        assert_eq!(exists, 0);
    }
}

#[test]
fn generic_commands_see_sets() {
    let srv = server();
    let mut con = client(&srv);
    fill(&mut con, "a", 20, "x");
    fill(&mut con, "n", 5, "");
    let t: String = redis::cmd("TYPE").arg("a").query(&mut con).unwrap();
    assert_eq!(t, "set");
    let _: i64 = redis::cmd("COPY")
        .arg("a")
        .arg("b")
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("SREM")
        .arg("a")
        .arg("x0")
        .query(&mut con)
        .unwrap();
    assert_eq!(members(&mut con, "b").len(), 20, "COPY is deep");
    assert_eq!(members(&mut con, "a").len(), 19);
    let _: () = redis::cmd("RENAME")
        .arg("b")
        .arg("c")
        .query(&mut con)
        .unwrap();
    assert_eq!(members(&mut con, "c").len(), 20);
    let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("TYPE")
        .arg("set")
        .arg("COUNT")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let keys: HashSet<_> = keys.into_iter().collect();
    assert_eq!(
        keys,
        ["a", "c", "n"].iter().map(|s| s.to_string()).collect()
    );

    // Store commands overwrite other types and drop the TTL.
    let _: () = redis::cmd("SET")
        .arg("dst")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut con)
        .unwrap();
    let n: i64 = redis::cmd("SUNIONSTORE")
        .arg("dst")
        .arg("a")
        .arg("n")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 24);
    let ttl: i64 = redis::cmd("TTL").arg("dst").query(&mut con).unwrap();
    assert_eq!(ttl, -1);
    assert_eq!(encoding(&mut con, "dst"), "listpack");
}

#[test]
fn algebra_over_mixed_encodings() {
    let srv = server();
    let mut con = client(&srv);
    fill(&mut con, "ints", 400, "");
    fill(&mut con, "pack", 50, "");
    let _: i64 = redis::cmd("SADD")
        .arg("pack")
        .arg("z")
        .query(&mut con)
        .unwrap();
    fill(&mut con, "table", 1000, "");
    let _: i64 = redis::cmd("SADD")
        .arg("table")
        .arg("zz")
        .query(&mut con)
        .unwrap();
    let inter: HashSet<String> = redis::cmd("SINTER")
        .arg("ints")
        .arg("pack")
        .arg("table")
        .query(&mut con)
        .unwrap();
    assert_eq!(inter, (0..50).map(|i| i.to_string()).collect());
    let card: i64 = redis::cmd("SINTERCARD")
        .arg(3)
        .arg("table")
        .arg("ints")
        .arg("pack")
        .arg("LIMIT")
        .arg(7)
        .query(&mut con)
        .unwrap();
    assert_eq!(card, 7);
    let diff: HashSet<String> = redis::cmd("SDIFF")
        .arg("table")
        .arg("ints")
        .arg("pack")
        .query(&mut con)
        .unwrap();
    let want: HashSet<String> = (400..1000)
        .map(|i| i.to_string())
        .chain(["zz".to_string()])
        .collect();
    assert_eq!(diff, want);
    let n: i64 = redis::cmd("SINTERSTORE")
        .arg("ints")
        .arg("ints")
        .arg("pack")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 50);
    assert_eq!(encoding(&mut con, "ints"), "intset");
}
