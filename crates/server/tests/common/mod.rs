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
