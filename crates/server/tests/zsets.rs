//! Sorted sets with real clients, for what the differential script cannot
//! show: blocking pops woken by other connections (BZPOPMIN, BZPOPMAX,
//! BZMPOP, and ZUNIONSTORE/ZRANGESTORE destinations), FIFO order among
//! waiters, timeouts, the randomness of ZRANDMEMBER, ZSCAN over the large
//! encoding, Redis 7.2's ZRANK WITHSCORE, and a random-operation run
//! against a model through the server.

mod common;

use common::*;
use redis::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

fn strings(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap()
}

#[test]
fn bzpopmin_wakes_on_zadd_from_another_client() {
    let srv = server();
    let mut con = client(&srv);
    let waiter = spawn_cmd(&srv, &["BZPOPMIN", "z", "other", "5"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["ZADD", "other", "3", "c", "1", "a"]).unwrap();
    let (r, took) = waiter.join().unwrap();
    assert_eq!(
        r.unwrap(),
        Value::Array(vec![bulk("other"), bulk("a"), bulk("1")])
    );
    assert!(took < Duration::from_secs(4));
    assert_eq!(strings(&mut con, &["ZRANGE", "other", "0", "-1"]), ["c"]);
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn bzpopmax_and_bzmpop_wake_and_take_from_the_top() {
    let srv = server();
    let mut con = client(&srv);
    let waiter = spawn_cmd(&srv, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["ZINCRBY", "z", "2.5", "m"]).unwrap();
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("z"), bulk("m"), bulk("2.5")])
    );
    assert_eq!(cmd(&mut con, &["EXISTS", "z"]).unwrap(), Value::Int(0));

    let waiter = spawn_cmd(&srv, &["BZMPOP", "5", "2", "a", "b", "MAX", "COUNT", "2"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["ZADD", "b", "1", "x", "2", "y", "3", "z"]).unwrap();
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![
            bulk("b"),
            Value::Array(vec![
                Value::Array(vec![bulk("z"), bulk("3")]),
                Value::Array(vec![bulk("y"), bulk("2")]),
            ])
        ])
    );
    assert_eq!(strings(&mut con, &["ZRANGE", "b", "0", "-1"]), ["x"]);
}

#[test]
fn store_destinations_wake_waiters() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["ZADD", "src", "1", "a", "2", "b"]).unwrap();
    let waiter = spawn_cmd(&srv, &["BZPOPMIN", "dst", "5"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["ZUNIONSTORE", "dst", "1", "src"]).unwrap();
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("dst"), bulk("a"), bulk("1")])
    );

    let waiter = spawn_cmd(&srv, &["BZPOPMAX", "dst2", "5"]);
    wait_blocked(&mut con, 1);
    cmd(&mut con, &["ZRANGESTORE", "dst2", "src", "0", "0"]).unwrap();
    assert_eq!(
        waiter.join().unwrap().0.unwrap(),
        Value::Array(vec![bulk("dst2"), bulk("a"), bulk("1")])
    );
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let srv = server();
    let mut con = client(&srv);
    let mut waiters = Vec::new();
    for i in 0..3 {
        waiters.push(spawn_cmd(&srv, &["BZPOPMIN", "z", "5"]));
        wait_blocked(&mut con, i + 1);
    }
    // One ZADD of three members serves all three, first come first served.
    cmd(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]).unwrap();
    let got: Vec<Value> = waiters
        .into_iter()
        .map(|w| w.join().unwrap().0.unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            Value::Array(vec![bulk("z"), bulk("a"), bulk("1")]),
            Value::Array(vec![bulk("z"), bulk("b"), bulk("2")]),
            Value::Array(vec![bulk("z"), bulk("c"), bulk("3")]),
        ]
    );
}

#[test]
fn timeouts_reply_nil_and_multi_never_blocks() {
    let srv = server();
    let mut con = client(&srv);
    let (r, took) = spawn_cmd(&srv, &["BZPOPMIN", "z", "0.2"]).join().unwrap();
    assert_eq!(r.unwrap(), Value::Nil);
    assert!(took >= Duration::from_millis(190), "{took:?}");
    let (r, _) = spawn_cmd(&srv, &["BZMPOP", "0.1", "1", "z", "MIN"])
        .join()
        .unwrap();
    assert_eq!(r.unwrap(), Value::Nil);
    assert_eq!(blocked_clients(&mut con), 0);

    let t = Instant::now();
    let (a, b): (Value, Value) = redis::pipe()
        .atomic()
        .cmd("BZPOPMIN")
        .arg("z")
        .arg("0")
        .cmd("BZMPOP")
        .arg("0")
        .arg("1")
        .arg("z")
        .arg("MAX")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b), (Value::Nil, Value::Nil));
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn zrank_withscore_as_in_redis_7_2() {
    let srv = server();
    let mut con = client(&srv);
    cmd(&mut con, &["ZADD", "z", "1", "a", "2.5", "b", "3", "c"]).unwrap();
    assert_eq!(
        cmd(&mut con, &["ZRANK", "z", "b", "WITHSCORE"]).unwrap(),
        Value::Array(vec![Value::Int(1), bulk("2.5")])
    );
    assert_eq!(
        cmd(&mut con, &["ZREVRANK", "z", "c", "withscore"]).unwrap(),
        Value::Array(vec![Value::Int(0), bulk("3")])
    );
    assert_eq!(
        cmd(&mut con, &["ZRANK", "z", "nosuch", "WITHSCORE"]).unwrap(),
        Value::Nil
    );
    assert_eq!(
        err(&mut con, &["ZRANK", "z", "a", "WITHSCORES"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut con, &["ZRANK", "z", "a", "WITHSCORE", "x"]),
        "ERR wrong number of arguments for 'zrank' command"
    );
}

#[test]
fn zrandmember_samples_without_and_with_repetition() {
    let srv = server();
    let mut con = client(&srv);
    for (name, n) in [("small", 20), ("large", 300)] {
        let mut c = redis::cmd("ZADD");
        c.arg(name);
        for i in 0..n {
            c.arg(i).arg(format!("m{i}"));
        }
        let _: i64 = c.query(&mut con).unwrap();
        let all: HashSet<String> = (0..n).map(|i| format!("m{i}")).collect();

        let picked = strings(&mut con, &["ZRANDMEMBER", name, "7"]);
        assert_eq!(picked.len(), 7);
        let uniq: HashSet<String> = picked.iter().cloned().collect();
        assert_eq!(uniq.len(), 7, "positive count gives distinct members");
        assert!(uniq.is_subset(&all));

        let picked = strings(&mut con, &["ZRANDMEMBER", name, "-500"]);
        assert_eq!(picked.len(), 500);
        let uniq: HashSet<String> = picked.iter().cloned().collect();
        assert!(uniq.is_subset(&all));
        assert!(uniq.len() < 500, "negative count repeats members");

        let with = strings(&mut con, &["ZRANDMEMBER", name, "5", "WITHSCORES"]);
        for pair in with.chunks(2) {
            assert_eq!(format!("m{}", pair[1]), pair[0]);
        }
        let one = strings(&mut con, &["ZRANDMEMBER", name, "1"]);
        assert!(all.contains(&one[0]));
    }
}

#[test]
fn zscan_returns_every_member_of_a_large_set() {
    let srv = server();
    let mut con = client(&srv);
    let mut c = redis::cmd("ZADD");
    c.arg("big");
    for i in 0..1000 {
        c.arg(i as f64 / 2.0).arg(format!("member:{i}"));
    }
    let _: i64 = c.query(&mut con).unwrap();
    assert_eq!(
        cmd(&mut con, &["OBJECT", "ENCODING", "big"]).unwrap(),
        bulk("skiplist")
    );
    // Remove some while scanning: everything present throughout is seen.
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("ZSCAN")
            .arg("big")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut con)
            .unwrap();
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        if rounds == 3 {
            let _: i64 = redis::cmd("ZREM")
                .arg("big")
                .arg("member:999")
                .arg("member:0")
                .query(&mut con)
                .unwrap();
        }
        rounds += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(rounds > 5, "a large set is scanned in several steps");
    for i in 1..999 {
        let m = format!("member:{i}");
        let score = seen.get(&m).unwrap_or_else(|| panic!("{m} missing"));
        assert_eq!(score.parse::<f64>().unwrap(), i as f64 / 2.0);
    }
    // MATCH filters members; a COUNT beyond the size finishes in one call.
    let (next, matched): (String, Vec<String>) = redis::cmd("ZSCAN")
        .arg("big")
        .arg(0)
        .arg("MATCH")
        .arg("member:99?")
        .arg("COUNT")
        .arg(10000)
        .query(&mut con)
        .unwrap();
    assert_eq!(next, "0");
    assert_eq!(matched.len(), 18, "member:990..=998 with scores");
}

/// Random commands against a BTreeMap model, through the server, with a
/// small listpack limit so that both encodings are exercised.
#[test]
fn random_commands_match_a_model() {
    let srv = server_with(&[("zset-max-listpack-entries", "16")]);
    let mut con = client(&srv);
    let mut model: BTreeMap<String, f64> = BTreeMap::new();
    let mut seed: u64 = 0x1234_5678;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let sorted = |m: &BTreeMap<String, f64>| {
        let mut v: Vec<(String, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
        v
    };
    for _ in 0..1500 {
        let member = format!("m{}", next(40));
        match next(6) {
            0 | 1 => {
                let score = next(20) as f64 - 10.0;
                let added: i64 = redis::cmd("ZADD")
                    .arg("z")
                    .arg(score)
                    .arg(&member)
                    .query(&mut con)
                    .unwrap();
                assert_eq!(added == 1, model.insert(member, score).is_none());
            }
            2 => {
                let removed: i64 = redis::cmd("ZREM")
                    .arg("z")
                    .arg(&member)
                    .query(&mut con)
                    .unwrap();
                assert_eq!(removed == 1, model.remove(&member).is_some());
            }
            3 => {
                let v: Option<f64> = redis::cmd("ZINCRBY")
                    .arg("z")
                    .arg(1.5)
                    .arg(&member)
                    .query(&mut con)
                    .unwrap();
                let e = model.entry(member).or_insert(0.0);
                *e += 1.5;
                assert_eq!(v, Some(*e));
            }
            4 => {
                let (lo, hi) = (next(20) as f64 - 10.0, next(20) as f64 - 10.0);
                let got: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                    .arg("z")
                    .arg(lo)
                    .arg(format!("({hi}"))
                    .query(&mut con)
                    .unwrap();
                let want: Vec<String> = sorted(&model)
                    .into_iter()
                    .filter(|(_, s)| *s >= lo && *s < hi)
                    .map(|(m, _)| m)
                    .collect();
                assert_eq!(got, want);
            }
            _ => {
                let rank: Option<i64> = redis::cmd("ZREVRANK")
                    .arg("z")
                    .arg(&member)
                    .query(&mut con)
                    .unwrap();
                let s = sorted(&model);
                let want = s
                    .iter()
                    .position(|(m, _)| *m == member)
                    .map(|p| (s.len() - 1 - p) as i64);
                assert_eq!(rank, want);
            }
        }
        let card: i64 = redis::cmd("ZCARD").arg("z").query(&mut con).unwrap();
        assert_eq!(card as usize, model.len());
    }
    let got: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg("z")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, sorted(&model));
}
