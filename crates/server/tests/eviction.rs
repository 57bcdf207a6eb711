//! Eviction under `maxmemory` against the real binary.
//!
//! These tests start `quiver-server` as a child process rather than the
//! in-process `RunningServer`: memory accounting reads jemalloc's counters,
//! which only the binary installs, and each server must own its process so
//! that parallel tests do not count each other's allocations.

mod common;

use redis::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `quiver-server` child process on a free loopback port.
struct Proc {
    child: Child,
    port: u16,
}

impl Proc {
    fn start(extra: &[&str]) -> Proc {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            "".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(env!("CARGO_BIN_EXE_quiver-server"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("quiver-server starts");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "server never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Proc { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn con(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    common::cmd(con, args)
}

fn ok(con: &mut redis::Connection, args: &[&str]) {
    cmd(con, args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn info_field(con: &mut redis::Connection, section: &str, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no {name}"))
}

fn used_memory(con: &mut redis::Connection) -> u64 {
    info_field(con, "memory", "used_memory")
}

/// Writes `n` string keys `{prefix}{i}` with `size`-byte values, pipelined.
/// Returns the OOM errors seen (0 unless the server refused writes).
fn fill(con: &mut redis::Connection, prefix: &str, n: usize, size: usize) -> usize {
    let value = "x".repeat(size);
    let mut oom = 0;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut p = redis::pipe();
        for i in chunk {
            p.cmd("SET").arg(format!("{prefix}{i}")).arg(&value);
        }
        let replies: Vec<redis::RedisResult<Value>> = p
            .query::<Vec<Value>>(con)
            .map(|v| v.into_iter().map(Ok).collect())
            .unwrap_or_else(|e| vec![Err(e)]);
        oom += replies.iter().filter(|r| r.is_err()).count();
    }
    oom
}

fn exists(con: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(con).unwrap() == 1
}

/// Sets maxmemory to what is in use now plus `headroom` bytes.
fn limit_to_current_plus(con: &mut redis::Connection, headroom: u64) -> u64 {
    let max = used_memory(con) + headroom;
    ok(con, &["CONFIG", "SET", "maxmemory", &max.to_string()]);
    max
}

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let srv = Proc::start(&[]);
    let mut con = srv.con();
    fill(&mut con, "k", 100, 100);
    ok(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(common::err(&mut con, &["SET", "new", "v"]), OOM);
    assert_eq!(common::err(&mut con, &["LPUSH", "l", "v"]), OOM);
    // Reads and deletes work; DEL is not denyoom.
    let v: String = redis::cmd("GET").arg("k1").query(&mut con).unwrap();
    assert_eq!(v.len(), 100);
    let n: i64 = redis::cmd("DEL").arg("k2").query(&mut con).unwrap();
    assert_eq!(n, 1);
    // Inside MULTI every queued command but EXEC/DISCARD is refused, and
    // the transaction aborts.
    ok(&mut con, &["MULTI"]);
    assert_eq!(common::err(&mut con, &["GET", "k1"]), OOM);
    assert!(common::err(&mut con, &["EXEC"]).starts_with("EXECABORT"));
    assert_eq!(info_field(&mut con, "stats", "evicted_keys"), 0);
    assert_eq!(
        redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(),
        99,
        "nothing was evicted"
    );
    // The time spent over the limit is accounted while it lasts.
    std::thread::sleep(Duration::from_millis(30));
    assert!(info_field(&mut con, "stats", "current_eviction_exceeded_time") >= 20);
    // Back under a (now generous) limit: the period over it is closed.
    ok(&mut con, &["CONFIG", "SET", "maxmemory", "1gb"]);
    ok(&mut con, &["SET", "new", "v"]);
    assert_eq!(
        info_field(&mut con, "stats", "current_eviction_exceeded_time"),
        0
    );
    assert!(info_field(&mut con, "stats", "total_eviction_exceeded_time") >= 20);
    ok(&mut con, &["CONFIG", "RESETSTAT"]);
    assert_eq!(
        info_field(&mut con, "stats", "total_eviction_exceeded_time"),
        0
    );
}

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    let srv = Proc::start(&["--maxmemory-policy", "volatile-lru"]);
    let mut con = srv.con();
    fill(&mut con, "k", 200, 100);
    ok(&mut con, &["SET", "v1", "x", "EX", "1000"]);
    ok(&mut con, &["SET", "v2", "x", "EX", "1000"]);
    ok(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    // The two volatile keys go, then there is nothing left to evict.
    assert_eq!(common::err(&mut con, &["SET", "new", "v"]), OOM);
    assert!(!exists(&mut con, "v1") && !exists(&mut con, "v2"));
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 200);
    assert_eq!(info_field(&mut con, "stats", "evicted_keys"), 2);
    for p in ["volatile-lfu", "volatile-random", "volatile-ttl"] {
        ok(&mut con, &["CONFIG", "SET", "maxmemory-policy", p]);
        assert_eq!(common::err(&mut con, &["SET", "new", "v"]), OOM, "{p}");
    }
    assert_eq!(redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap(), 200);
    ok(&mut con, &["CONFIG", "RESETSTAT"]);
    assert_eq!(info_field(&mut con, "stats", "evicted_keys"), 0);
}

#[test]
fn allkeys_lru_keeps_recently_used_keys() {
    let srv = Proc::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut con = srv.con();
    fill(&mut con, "old", 3000, 200);
    // Access times have one-second resolution (as Redis's LRU clock):
    // let the old keys age before some of them are read again.
    std::thread::sleep(Duration::from_millis(2100));
    for i in 0..300 {
        let _: Value = redis::cmd("GET")
            .arg(format!("old{i}"))
            .query(&mut con)
            .unwrap();
    }
    limit_to_current_plus(&mut con, 100_000);
    // About 400 KB more than the limit allows: fewer keys must make room
    // than there are idle ones.
    assert_eq!(fill(&mut con, "new", 1500, 200), 0);
    let evicted = info_field(&mut con, "stats", "evicted_keys");
    assert!((500..2500).contains(&evicted), "evicted {evicted}");
    let hot_kept = (0..300)
        .filter(|i| exists(&mut con, &format!("old{i}")))
        .count();
    let cold_kept = (300..3000)
        .filter(|i| exists(&mut con, &format!("old{i}")))
        .count();
    assert!(
        hot_kept >= 285,
        "recently read keys kept: {hot_kept}/300 ({evicted} evicted)"
    );
    assert!(
        cold_kept < 2700 * 2 / 3,
        "idle keys go first: {cold_kept}/2700 kept"
    );
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys_and_freq_grows() {
    let srv = Proc::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut con = srv.con();
    // OBJECT FREQ: new keys start at 5; with log factor 0 every hit counts.
    ok(&mut con, &["CONFIG", "SET", "lfu-log-factor", "0"]);
    ok(&mut con, &["SET", "f", "1"]);
    let freq = |con: &mut redis::Connection| -> i64 {
        redis::cmd("OBJECT")
            .arg("FREQ")
            .arg("f")
            .query(con)
            .unwrap()
    };
    assert_eq!(freq(&mut con), 5);
    for _ in 0..10 {
        ok(&mut con, &["GET", "f"]);
    }
    assert_eq!(freq(&mut con), 15);
    // OBJECT FREQ itself is not an access; IDLETIME is refused under LFU.
    assert_eq!(freq(&mut con), 15);
    assert!(common::err(&mut con, &["OBJECT", "IDLETIME", "f"])
        .contains("LFU maxmemory policy is selected"));
    ok(&mut con, &["DEL", "f"]);

    ok(&mut con, &["CONFIG", "SET", "lfu-log-factor", "10"]);
    fill(&mut con, "k", 3000, 200);
    for _ in 0..5 {
        for i in 0..300 {
            ok(&mut con, &["GET", &format!("k{i}")]);
        }
    }
    limit_to_current_plus(&mut con, 100_000);
    assert_eq!(fill(&mut con, "new", 3000, 200), 0);
    assert!(info_field(&mut con, "stats", "evicted_keys") > 1000);
    let hot_kept = (0..300)
        .filter(|i| exists(&mut con, &format!("k{i}")))
        .count();
    assert!(hot_kept >= 285, "frequently read keys kept: {hot_kept}/300");
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    let srv = Proc::start(&["--maxmemory-policy", "volatile-ttl"]);
    let mut con = srv.con();
    fill(&mut con, "persistent", 500, 200);
    let value = "y".repeat(200);
    for i in 0..2000 {
        let _: () = redis::cmd("SET")
            .arg(format!("t{i}"))
            .arg(&value)
            .arg("EX")
            .arg(10_000 + i)
            .query(&mut con)
            .unwrap();
    }
    limit_to_current_plus(&mut con, 50_000);
    fill(&mut con, "plain", 800, 200);
    let evicted = info_field(&mut con, "stats", "evicted_keys");
    assert!((400..1400).contains(&evicted), "evicted {evicted}");
    // No key without a TTL was touched.
    assert!((0..500).all(|i| exists(&mut con, &format!("persistent{i}"))));
    // Survivors are overwhelmingly the later-expiring keys.
    let gone_early = (0..500)
        .filter(|i| !exists(&mut con, &format!("t{i}")))
        .count();
    let gone_late = (1500..2000)
        .filter(|i| !exists(&mut con, &format!("t{i}")))
        .count();
    assert!(
        gone_early > 300 && gone_late < 50,
        "early {gone_early}/500 evicted, late {gone_late}/500 evicted ({evicted} in all)"
    );
}

#[test]
fn evicted_keys_are_announced_unindexed_and_invalidated() {
    let srv = Proc::start(&["--maxmemory-policy", "volatile-random"]);
    let mut con = srv.con();
    ok(&mut con, &["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    ok(
        &mut con,
        &[
            "FT.CREATE",
            "idx",
            "ON",
            "HASH",
            "PREFIX",
            "1",
            "doc:",
            "SCHEMA",
            "tag",
            "TAG",
        ],
    );
    ok(&mut con, &["HSET", "doc:1", "tag", "a"]);
    ok(&mut con, &["HSET", "doc:2", "tag", "a"]);
    ok(&mut con, &["EXPIRE", "doc:1", "1000"]);
    let total = |con: &mut redis::Connection| -> i64 {
        match cmd(con, &["FT.SEARCH", "idx", "@tag:{a}", "NOCONTENT"]).unwrap() {
            Value::Array(items) => match items.first() {
                Some(Value::Int(n)) => *n,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(total(&mut con), 2);

    // A RESP3 tracking client that read doc:1, and a keyevent subscriber.
    let mut t = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    t.write_all(b"HELLO 3\r\nCLIENT TRACKING on\r\nHGET doc:1 tag\r\n")
        .unwrap();
    read_until(&mut t, b"+OK\r\n");
    read_until(&mut t, b"$1\r\na\r\n");
    let mut sub = srv.con();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__keyevent@0__:evicted").unwrap();

    ok(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    // doc:1 is the only volatile key: it is evicted, then nothing is left.
    assert_eq!(common::err(&mut con, &["SET", "x", "y"]), OOM);
    ok(&mut con, &["CONFIG", "SET", "maxmemory", "0"]);

    assert!(!exists(&mut con, "doc:1"));
    assert_eq!(total(&mut con), 1, "the evicted document left the index");
    let msg = ps.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "__keyevent@0__:evicted");
    assert_eq!(msg.get_payload::<String>().unwrap(), "doc:1");
    read_until(&mut t, b">2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\ndoc:1\r\n");
}

#[test]
fn lowering_maxmemory_evicts_without_further_commands() {
    // Redis starts evicting from a timer when CONFIG SET lowers maxmemory
    // under the memory in use; a subscriber sees the `evicted` events
    // although no client sends another command.
    let srv = Proc::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut con = srv.con();
    ok(&mut con, &["CONFIG", "SET", "notify-keyspace-events", "Ee"]);
    assert_eq!(fill(&mut con, "k:", 2000, 1000), 0);
    let mut sub = srv.con();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__keyevent@0__:evicted").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A megabyte under what is in use: hundreds of keys must go.
    let max = used_memory(&mut con) - 1000 * 1000;
    ok(&mut con, &["CONFIG", "SET", "maxmemory", &max.to_string()]);
    let mut evicted = std::collections::HashSet::new();
    while evicted.len() < 200 {
        let msg = ps
            .get_message()
            .unwrap_or_else(|e| panic!("{} evicted events, then: {e}", evicted.len()));
        let key: String = msg.get_payload().unwrap();
        assert!(key.starts_with("k:"), "{key}");
        evicted.insert(key);
    }
    drop(ps);
    // Every announced key is really gone.
    let left: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert!(left as usize <= 2000 - evicted.len(), "{left} keys left");
    assert!(evicted.iter().all(|k| !exists(&mut con, k)));
}

/// Reads from `s` until `want` has arrived (anything before it is skipped).
fn read_until(s: &mut TcpStream, want: &[u8]) {
    let mut seen = Vec::new();
    let mut b = [0u8; 1];
    while !seen.ends_with(want) {
        s.read_exact(&mut b).unwrap_or_else(|e| {
            panic!(
                "waiting for {:?}, got {:?}: {e}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&seen)
            )
        });
        seen.push(b[0]);
    }
}

#[test]
fn memory_stays_bounded_under_sustained_pipelined_writes() {
    let srv = Proc::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut con = srv.con();
    let max = limit_to_current_plus(&mut con, 8 << 20);
    let mut peak = 0;
    // ~40 MB of writes, five times the headroom, checking as it goes.
    for round in 0..10 {
        let oom = fill(&mut con, &format!("r{round}:"), 20_000, 150);
        assert_eq!(oom, 0, "allkeys policies never refuse writes");
        peak = peak.max(used_memory(&mut con));
    }
    assert!(info_field(&mut con, "stats", "evicted_keys") > 100_000);
    assert!(
        peak as f64 <= max as f64 * 1.1,
        "used_memory peaked at {peak}, maxmemory {max}"
    );
    assert_eq!(info_field(&mut con, "memory", "maxmemory"), max);
}
