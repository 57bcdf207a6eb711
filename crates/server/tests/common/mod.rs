//! Shared helpers for integration tests: a real server on 127.0.0.1:0 and
//! real redis-rs clients talking to it over TCP.

#![allow(dead_code)]

pub use quiver_server::RunningServer;

/// Starts a server with default settings on an ephemeral port.
pub fn server() -> RunningServer {
    RunningServer::start(&[]).expect("server starts")
}

/// Starts a server with extra directives.
pub fn server_with(directives: &[(&str, &str)]) -> RunningServer {
    RunningServer::start(directives).expect("server starts")
}

/// A synchronous redis-rs connection to `srv`.
pub fn client(srv: &RunningServer) -> redis::Connection {
    let c = redis::Client::open(srv.url()).expect("valid url");
    c.get_connection().expect("connects")
}

/// Runs a raw command and returns redis-rs's typed value.
pub fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

/// The error message of a command that must fail.
pub fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(con, args) {
        Ok(v) => panic!("{args:?} succeeded with {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("");
            let detail = e.detail().unwrap_or("");
            if code.is_empty() {
                detail.to_string()
            } else {
                format!("{code} {detail}")
            }
        }
    }
}

/// INFO's `blocked_clients`.
pub fn blocked_clients(con: &mut redis::Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("clients").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO clients has blocked_clients")
}

/// Waits until exactly `n` clients are blocked (so waiters queue in a
/// known order).
pub fn wait_blocked(con: &mut redis::Connection, n: i64) {
    let start = std::time::Instant::now();
    while blocked_clients(con) != n {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "never reached {n} blocked clients"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Runs `args` on a fresh connection in a thread; returns the reply and how
/// long it took.
pub fn spawn_cmd(
    srv: &RunningServer,
    args: &[&str],
) -> std::thread::JoinHandle<(redis::RedisResult<redis::Value>, std::time::Duration)> {
    let mut con = client(srv);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let t = std::time::Instant::now();
        let r = cmd(&mut con, &refs);
        (r, t.elapsed())
    })
}

/// A bulk-string reply value.
pub fn bulk(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}
