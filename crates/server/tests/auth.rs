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
    assert!(matches!(cmd(&mut admin, &["PING"]), Ok(_)));
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
