//! Server and client-management commands with real clients: CLIENT KILL,
//! PAUSE, REPLY, MONITOR, SLOWLOG, CONFIG, FLUSHALL, SWAPDB, INFO, SHUTDOWN.

mod common;

use common::*;
use redis::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn client_id(con: &mut redis::Connection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query(con).unwrap()
}

#[test]
fn client_kill_closes_the_other_connection() {
    let srv = server();
    let mut killer = client(&srv);
    let mut victim = client(&srv);
    let id = client_id(&mut victim);
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut killer).unwrap();
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains(&format!("id={id} ")), "{list}");
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query(&mut killer)
        .unwrap();
    assert_eq!(n, 1);
    let r: redis::RedisResult<String> = redis::cmd("PING").query(&mut victim);
    assert!(r.is_err(), "killed connection still answers");
    // The killer survives (SKIPME yes is the default) and the victim is gone.
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut killer).unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains("cmd=client|list"), "{list}");
}

#[test]
fn client_kill_by_address_old_form() {
    let srv = server();
    let mut killer = client(&srv);
    let mut victim = client(&srv);
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut victim).unwrap();
    let addr = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string();
    let ok: String = redis::cmd("CLIENT")
        .arg("KILL")
        .arg(&addr)
        .query(&mut killer)
        .unwrap();
    assert_eq!(ok, "OK");
    assert!(redis::cmd("PING").query::<String>(&mut victim).is_err());
    assert_eq!(
        err(&mut killer, &["CLIENT", "KILL", &addr]),
        "ERR No such client"
    );
}

#[test]
fn client_pause_write_delays_set_but_not_get() {
    let srv = server();
    let mut admin = client(&srv);
    let mut con = client(&srv);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(400)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    let start = Instant::now();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "GET was paused"
    );
    let start = Instant::now();
    let _: () = redis::cmd("SET").arg("k").arg("w").query(&mut con).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "SET ran during a write pause after {:?}",
        start.elapsed()
    );
}

#[test]
fn client_unpause_releases_waiting_writes() {
    let srv = server();
    let mut admin = client(&srv);
    // Connect first: the client's own handshake would otherwise be paused.
    // WRITE mode, because under ALL the UNPAUSE itself would wait, as in
    // Redis.
    let mut con = client(&srv);
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    let writer = std::thread::spawn(move || {
        let start = Instant::now();
        let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
        start.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    let waited = writer.join().unwrap();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(
        waited < Duration::from_secs(5),
        "UNPAUSE did not wake the writer"
    );
}

#[test]
fn client_reply_off_and_skip_suppress_replies() {
    let srv = server();
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.write_all(
        b"CLIENT REPLY SKIP\r\nSET a 1\r\nGET a\r\nCLIENT REPLY OFF\r\nSET b 2\r\nGET b\r\n\
          CLIENT REPLY ON\r\nGET b\r\nQUIT\r\n",
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        "$1\r\n1\r\n+OK\r\n$1\r\n2\r\n+OK\r\n"
    );
}

#[test]
fn monitor_sees_other_clients_commands() {
    let srv = server();
    let mut mon = TcpStream::connect(srv.addr).unwrap();
    mon.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    mon.write_all(b"MONITOR\r\n").unwrap();
    let mut reader = BufReader::new(mon.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "+OK\r\n");
    let mut con = client(&srv);
    let _: () = redis::cmd("SET")
        .arg("mon-key")
        .arg("a \"quoted\" value")
        .query(&mut con)
        .unwrap();
    // redis-rs announces itself (CLIENT SETINFO) before the SET.
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.contains("\"SET\"") {
            break;
        }
    }
    assert!(line.starts_with('+'), "{line}");
    assert!(
        line.ends_with("\"SET\" \"mon-key\" \"a \\\"quoted\\\" value\"\r\n"),
        "{line}"
    );
    assert!(line.contains(" [0 127.0.0.1:"), "{line}");
}

#[test]
fn slowlog_records_commands_over_the_threshold() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(0)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("slowpoke")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("slow")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert!(len >= 2, "{len}");
    let Value::Array(entries) = cmd(&mut con, &["SLOWLOG", "GET", "1"]).unwrap() else {
        panic!("SLOWLOG GET is an array")
    };
    assert_eq!(entries.len(), 1);
    let Value::Array(e) = &entries[0] else {
        panic!("entry is an array")
    };
    assert_eq!(e.len(), 6);
    // The newest entry is the SLOWLOG LEN just run.
    assert_eq!(
        e[3],
        Value::Array(vec![
            Value::BulkString(b"SLOWLOG".to_vec()),
            Value::BulkString(b"LEN".to_vec())
        ])
    );
    assert_eq!(e[5], Value::BulkString(b"slowpoke".to_vec()));
    let all: Vec<Value> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query(&mut con)
        .unwrap();
    // LEN and GET 1 were logged after `len` was read.
    assert_eq!(all.len() as i64, len + 2);
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(-1)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("fast")
        .arg("1")
        .query(&mut con)
        .unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert_eq!(len, 1, "only the CONFIG SET before disabling is logged");
}

#[test]
fn config_set_get_round_trip() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("10mb")
        .arg("maxmemory-policy")
        .arg("ALLKEYS-LRU")
        .query(&mut con)
        .unwrap();
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, ["maxmemory", "10485760"]);
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, ["maxmemory-policy", "allkeys-lru"]);
    // All or nothing: a bad second pair leaves the first untouched.
    let e = err(
        &mut con,
        &["CONFIG", "SET", "maxmemory", "1", "timeout", "x"],
    );
    assert!(e.contains("'timeout'"), "{e}");
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con)
        .unwrap();
    assert_eq!(v[1], "10485760");
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    assert!(info.contains("\r\nmaxmemory:10485760\r\n"), "{info}");
    assert!(
        info.contains("\r\nmaxmemory_policy:allkeys-lru\r\n"),
        "{info}"
    );
}

#[test]
fn config_rewrite_writes_a_file_that_restarts_the_same_config() {
    let dir = std::env::temp_dir().join(format!("quiver-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("quiver.conf");
    std::fs::write(&path, "# keep me\nmaxmemory 1mb\nunknown-directive kept\n").unwrap();
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(
        err(&mut con, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
    *srv.state.config.file.write() = Some(path.clone());
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("2mb")
        .arg("timeout")
        .arg("7")
        .arg("requirepass")
        .arg("p w")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# keep me\nmaxmemory 2097152\nunknown-directive kept\n"),
        "{text}"
    );
    // Reading the file back (minus the line Quiver does not know) gives the
    // same values.
    let reread = dir.join("reread.conf");
    std::fs::write(&reread, text.replace("unknown-directive kept\n", "")).unwrap();
    let argv = vec![reread.to_string_lossy().into_owned()];
    let Ok(quiver_server::options::Invocation::Run(cfg)) =
        quiver_server::options::parse_args(&argv)
    else {
        panic!("rewritten config does not load")
    };
    for name in ["maxmemory", "timeout", "requirepass", "port", "save"] {
        assert_eq!(cfg.get(name), srv.state.config.get(name), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flushall_async_and_flushdb_empty_the_keyspace() {
    let srv = server();
    let mut con = client(&srv);
    for i in 0..1000 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("in2").arg(1).query(&mut con).unwrap();
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 0);
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 1000, "FLUSHDB emptied another database");
    let _: () = redis::cmd("FLUSHALL").arg("ASYNC").query(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 0);
    let v: Option<String> = redis::cmd("GET").arg("k1").query(&mut con).unwrap();
    assert_eq!(v, None);
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut con).unwrap();
    assert_eq!(info, "# Keyspace\r\n");
}

#[test]
fn swapdb_swaps_contents_for_every_client() {
    let srv = server();
    let mut a = client(&srv);
    let mut b = client(&srv);
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("zero")
        .query(&mut a)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(1).query(&mut b).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("one").query(&mut b).unwrap();
    let _: () = redis::cmd("SET")
        .arg("only1")
        .arg("x")
        .query(&mut b)
        .unwrap();
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut a).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut a).unwrap();
    assert_eq!(v, "one");
    let v: String = redis::cmd("GET").arg("k").query(&mut b).unwrap();
    assert_eq!(v, "zero");
    let n: i64 = redis::cmd("DBSIZE").query(&mut a).unwrap();
    assert_eq!(n, 2);
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut a).unwrap();
    assert_eq!(
        info,
        "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb1:keys=1,expires=0,avg_ttl=0\r\n"
    );
}

#[test]
fn info_reports_counters_and_commandstats() {
    let srv = server();
    let mut con = client(&srv);
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("missing").query(&mut con).unwrap();
    let _: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut con)
        .unwrap();
    let info: String = redis::cmd("INFO").arg("all").query(&mut con).unwrap();
    let field = |name: &str| -> String {
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .to_string()
    };
    assert_eq!(
        field("redis_version"),
        quiver_commands::state::REDIS_VERSION
    );
    assert_eq!(field("tcp_port"), srv.addr.port().to_string());
    assert_eq!(field("connected_clients"), "1");
    assert_eq!(field("keyspace_hits"), "1");
    assert_eq!(field("keyspace_misses"), "1");
    assert_eq!(field("role"), "master");
    assert!(field("used_memory").parse::<u64>().unwrap() > 0);
    assert!(field("used_cpu_user").parse::<f64>().is_ok());
    assert!(field("cmdstat_get").starts_with("calls=2,usec="), "{info}");
    assert!(
        field("cmdstat_config|get").starts_with("calls=1,"),
        "{info}"
    );
    assert_eq!(field("db0"), "keys=1,expires=0,avg_ttl=0");
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut con)
        .unwrap();
    assert!(!info.contains("cmdstat_get"), "{info}");
}

#[test]
fn shutdown_stops_the_server() {
    let srv = server();
    let mut con = client(&srv);
    assert_eq!(
        err(&mut con, &["SHUTDOWN", "ABORT"]),
        "ERR No shutdown in progress."
    );
    let r = cmd(&mut con, &["SHUTDOWN", "NOSAVE"]);
    assert!(r.is_err(), "SHUTDOWN replied {r:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if TcpStream::connect(srv.addr).is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "server still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
}
