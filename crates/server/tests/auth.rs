//! Access keys (two at once, rotation, disabling), ACL users on live
//! connections, and secret redaction in SLOWLOG.

mod common;
use common::{client, cmd, err, server_with};
use redis::Value;

fn ok(v: redis::RedisResult<Value>) {
    assert!(matches!(v, Ok(Value::Okay)), "{v:?}");
}

#[test]
fn access_keys_rotate_without_dropping_the_other() {
    let srv = server_with(&[("access-key-primary", "k1"), ("access-key-secondary", "k2")]);
    let mut a = client(&srv);
    assert!(err(&mut a, &["GET", "x"]).starts_with("NOAUTH"));
    ok(cmd(&mut a, &["AUTH", "k1"]));
    let mut b = client(&srv);
    ok(cmd(&mut b, &["AUTH", "default", "k2"]));
    // Rotate key 2: the connection on key 1 is untouched, and so is the one
    // that used key 2 (Redis semantics), but key 2 no longer works.
    ok(cmd(
        &mut a,
        &["CONFIG", "SET", "access-key-secondary", "k2-new"],
    ));
    std::thread::sleep(std::time::Duration::from_millis(600));
    ok(cmd(&mut a, &["SET", "x", "1"]));
    ok(cmd(&mut b, &["SET", "y", "1"]));
    let mut c = client(&srv);
    assert!(err(&mut c, &["AUTH", "k2"]).starts_with("WRONGPASS"));
    ok(cmd(&mut c, &["AUTH", "k2-new"]));
    // Rotate key 1 the other way round.
    ok(cmd(
        &mut c,
        &["CONFIG", "SET", "access-key-primary", "k1-new"],
    ));
    let mut d = client(&srv);
    assert!(err(&mut d, &["AUTH", "k1"]).starts_with("WRONGPASS"));
    ok(cmd(&mut a, &["PING"]).map(|_| Value::Okay));
    // The failure is in ACL LOG, without the key.
    let log = format!("{:?}", cmd(&mut c, &["ACL", "LOG"]).unwrap());
    assert!(log.contains("AUTH") && !log.contains("k1\""), "{log}");
}

#[test]
fn disabling_key_auth_closes_key_connections() {
    let srv = server_with(&[("access-key-primary", "k1")]);
    let mut admin = client(&srv);
    ok(cmd(&mut admin, &["AUTH", "k1"]));
    ok(cmd(
        &mut admin,
        &["ACL", "SETUSER", "admin", "on", ">adminpw", "+@all", "~*"],
    ));
    ok(cmd(&mut admin, &["AUTH", "admin", "adminpw"]));
    let mut keyed = client(&srv);
    ok(cmd(&mut keyed, &["AUTH", "k1"]));
    ok(cmd(
        &mut admin,
        &["CONFIG", "SET", "access-key-authentication", "no"],
    ));
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert!(
        cmd(&mut keyed, &["PING"]).is_err(),
        "key connection must be closed"
    );
    assert!(cmd(&mut admin, &["PING"]).is_ok());
}

#[test]
fn acl_rules_apply_to_live_connections() {
    let srv = server_with(&[]);
    let mut admin = client(&srv);
    ok(cmd(
        &mut admin,
        &["ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*"],
    ));
    let mut bob = client(&srv);
    ok(cmd(&mut bob, &["AUTH", "bob", "pw"]));
    ok(cmd(&mut bob, &["SET", "k", "v"]));
    ok(cmd(&mut admin, &["ACL", "SETUSER", "bob", "-@write"]));
    assert_eq!(
        err(&mut bob, &["SET", "k", "v"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    ok(cmd(
        &mut admin,
        &["ACL", "SETUSER", "bob", "resetkeys", "~pub:*"],
    ));
    assert_eq!(
        err(&mut bob, &["GET", "k"]),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    assert!(matches!(cmd(&mut bob, &["GET", "pub:1"]), Ok(Value::Nil)));
    let who = cmd(&mut bob, &["ACL", "WHOAMI"]);
    assert_eq!(who, Ok(Value::BulkString(b"bob".to_vec())));
    // Deleting the user disconnects it.
    assert!(matches!(
        cmd(&mut admin, &["ACL", "DELUSER", "bob"]),
        Ok(Value::Int(1))
    ));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(cmd(&mut bob, &["PING"]).is_err());
}

#[test]
fn secrets_are_redacted_in_slowlog() {
    let srv = server_with(&[("requirepass", "s3cret"), ("slowlog-log-slower-than", "0")]);
    let mut c = client(&srv);
    ok(cmd(&mut c, &["AUTH", "s3cret"]));
    ok(cmd(
        &mut c,
        &["CONFIG", "SET", "access-key-primary", "topsecret"],
    ));
    let log = format!("{:?}", cmd(&mut c, &["SLOWLOG", "GET"]).unwrap());
    assert!(
        !log.contains("s3cret") && !log.contains("topsecret"),
        "{log}"
    );
    assert!(log.contains("(redacted)"), "{log}");
}

/// A non-loopback address of this machine, if it has one.
fn external_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.255:9")
        .or_else(|_| s.connect("10.255.255.254:9"))
        .ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The first line a raw connection from `ip` gets after sending PING.
fn first_line(ip: std::net::IpAddr, port: u16) -> String {
    use std::io::{BufRead, Write};
    let mut s = std::net::TcpStream::connect((ip, port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = s.write_all(b"PING\r\n");
    let mut line = String::new();
    let _ = std::io::BufReader::new(s).read_line(&mut line);
    line
}

#[test]
fn protected_mode_serves_only_loopback_without_auth() {
    let Some(ip) = external_ip() else {
        eprintln!("no non-loopback address: protected-mode test skipped");
        return;
    };
    let srv = server_with(&[("bind", "0.0.0.0")]);
    let port = srv.addr.port();
    let mut local = client(&srv);
    assert!(first_line(ip, port).starts_with("-DENIED "));
    // Loopback is always served.
    assert!(first_line("127.0.0.1".parse().unwrap(), port).starts_with("+PONG"));
    // A disabled default user still has no password: still protected, as
    // Redis looks at `nopass` only.
    ok(cmd(&mut local, &["ACL", "SETUSER", "default", "off"]));
    assert!(first_line(ip, port).starts_with("-DENIED "));
    ok(cmd(&mut local, &["ACL", "SETUSER", "default", "on"]));
    // A password lifts it (the client must then authenticate)...
    ok(cmd(&mut local, &["CONFIG", "SET", "requirepass", "pw"]));
    assert!(first_line(ip, port).starts_with("-NOAUTH "));
    ok(cmd(&mut local, &["CONFIG", "SET", "requirepass", ""]));
    assert!(first_line(ip, port).starts_with("-DENIED "));
    // ...and so does an access key, which stands in for one.
    ok(cmd(
        &mut local,
        &["CONFIG", "SET", "access-key-primary", "k1"],
    ));
    assert!(first_line(ip, port).starts_with("-NOAUTH "));
    ok(cmd(
        &mut local,
        &["CONFIG", "SET", "access-key-primary", ""],
    ));
    assert!(first_line(ip, port).starts_with("-DENIED "));
    ok(cmd(&mut local, &["CONFIG", "SET", "protected-mode", "no"]));
    assert!(first_line(ip, port).starts_with("+PONG"));
}

#[test]
fn client_list_and_kill_know_acl_users() {
    let srv = server_with(&[]);
    let mut admin = client(&srv);
    ok(cmd(
        &mut admin,
        &["ACL", "SETUSER", "bob", "on", ">pw", "+@all", "~*"],
    ));
    let mut bob = client(&srv);
    ok(cmd(&mut bob, &["AUTH", "bob", "pw"]));
    let mut bob2 = client(&srv);
    ok(cmd(&mut bob2, &["HELLO", "3", "AUTH", "bob", "pw"]).map(|_| Value::Okay));
    let list = format!("{:?}", cmd(&mut admin, &["CLIENT", "LIST"]).unwrap());
    assert_eq!(list.matches("user=bob").count(), 2, "{list}");
    assert_eq!(list.matches("user=default").count(), 1, "{list}");
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "carol"]),
        "ERR No such user 'carol'"
    );
    assert_eq!(
        cmd(&mut admin, &["CLIENT", "KILL", "USER", "bob"]),
        Ok(Value::Int(2))
    );
    assert!(cmd(&mut bob, &["PING"]).is_err());
    assert!(cmd(&mut bob2, &["PING"]).is_err());
    // RESET puts a connection back to `default` in CLIENT LIST too.
    let mut c = client(&srv);
    ok(cmd(&mut c, &["AUTH", "bob", "pw"]));
    assert!(cmd(&mut c, &["RESET"]).is_ok());
    let list = format!("{:?}", cmd(&mut admin, &["CLIENT", "LIST"]).unwrap());
    assert!(!list.contains("user=bob"), "{list}");
    // USER default kills everyone else (skipme yes by default).
    assert_eq!(
        cmd(&mut admin, &["CLIENT", "KILL", "USER", "default"]),
        Ok(Value::Int(1))
    );
}
