//! Token (Entra-style JWT) authentication against real signed tokens:
//! RS256 keys made with the `openssl` CLI and ES256 keys made with rcgen,
//! published in a JWKS file the server reads.
//!
//! Covers the mapped policies, every rejection reason (each logged in ACL
//! LOG, and the token text never shown anywhere), the connection closing
//! when its token expires, re-AUTH extending it, and JWKS reloads.

mod common;
use common::{client, cmd, err, server_with, RunningServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use redis::Value;
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://sts.windows.net/test-tenant/";
const AUDIENCE: &str = "https://redis.azure.com";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// A signing key and its public half as a JWK.
struct Signer {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: serde_json::Value,
}

/// Unpadded base64url, as JWKs and JWTs use.
fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A fresh scratch directory for one test.
fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "quiver-token-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An RS256 key (2048 bits) from the openssl CLI: PKCS#1 DER for signing,
/// modulus for the JWK.
fn rsa_signer(kid: &str) -> Signer {
    let dir = scratch("rsa");
    let pem = dir.join("key.pem");
    let der = dir.join("key.der");
    let (pem_s, der_s) = (pem.to_str().unwrap(), der.to_str().unwrap());
    openssl(&["genrsa", "-out", pem_s, "2048"]);
    openssl(&[
        "rsa",
        "-in",
        pem_s,
        "-outform",
        "DER",
        "-traditional",
        "-out",
        der_s,
    ]);
    let modulus = String::from_utf8(openssl(&["rsa", "-in", pem_s, "-noout", "-modulus"])).unwrap();
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let key = EncodingKey::from_rsa_der(&std::fs::read(&der).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    Signer {
        kid: kid.into(),
        alg: Algorithm::RS256,
        key,
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                    "n": b64url(&n), "e": "AQAB"}),
    }
}

/// An ES256 (P-256) key from rcgen: PKCS#8 DER for signing, the public
/// point's coordinates for the JWK.
fn ec_signer(kid: &str) -> Signer {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = kp.public_key_raw();
    assert_eq!(point.len(), 65, "uncompressed P-256 point");
    Signer {
        kid: kid.into(),
        alg: Algorithm::ES256,
        key: EncodingKey::from_ec_der(&kp.serialize_der()),
        jwk: json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                    "x": b64url(&point[1..33]), "y": b64url(&point[33..])}),
    }
}

/// Keys shared by the tests (RSA generation is the slow part).
struct Keys {
    rsa: Signer,
    ec: Signer,
    /// Same kid and algorithm as `rsa`, different key: its tokens carry a
    /// signature the published key does not verify.
    rsa_impostor: Signer,
    /// Not in the initial JWKS (for reload tests).
    ec_later: Signer,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| Keys {
        rsa: rsa_signer("rsa-1"),
        ec: ec_signer("ec-1"),
        rsa_impostor: rsa_signer("rsa-1"),
        ec_later: ec_signer("ec-2"),
    })
}

fn write_jwks(path: &Path, signers: &[&Signer]) {
    let doc = json!({"keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>()});
    std::fs::write(path, doc.to_string()).unwrap();
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Standard claims for `oid`, valid for `ttl` seconds; `edit` adjusts them.
fn claims(oid: &str, ttl: u64) -> serde_json::Value {
    let now = now_s();
    json!({"iss": ISSUER, "aud": AUDIENCE, "oid": oid, "iat": now - 5, "nbf": now - 5,
           "exp": now + ttl, "tid": "test-tenant"})
}

fn sign(s: &Signer, claims: &serde_json::Value) -> String {
    let mut h = Header::new(s.alg);
    h.kid = Some(s.kid.clone());
    jsonwebtoken::encode(&h, claims, &s.key).expect("token signs")
}

/// A server trusting the JWKS at `jwks`, with policies for two object ids.
fn token_server(jwks: &Path, extra: &[(&str, &str)]) -> RunningServer {
    let mut d = vec![
        ("jwt-jwks-file", jwks.to_str().unwrap()),
        ("jwt-issuers", ISSUER),
        ("jwt-audiences", AUDIENCE),
        ("jwt-policies", "oid-owner:owner;oid-reader:reader"),
    ];
    d.extend_from_slice(extra);
    server_with(&d)
}

fn setup(extra: &[(&str, &str)]) -> (RunningServer, PathBuf) {
    let k = keys();
    let dir = scratch("srv");
    let jwks = dir.join("jwks.json");
    write_jwks(&jwks, &[&k.rsa, &k.ec]);
    (token_server(&jwks, extra), dir)
}

fn ok(v: redis::RedisResult<Value>) {
    assert!(matches!(v, Ok(Value::Okay)), "{v:?}");
}

fn text(v: redis::RedisResult<Value>) -> String {
    format!("{:?}", v.expect("command succeeds"))
}

/// A raw MONITOR connection whose output is collected until `collect`.
struct Monitor(std::net::TcpStream);

impl Monitor {
    fn start(srv: &RunningServer) -> Monitor {
        let mut s = std::net::TcpStream::connect(srv.addr).unwrap();
        s.write_all(b"MONITOR\r\n").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+OK\r\n");
        Monitor(s)
    }

    fn collect(mut self) -> String {
        self.0
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.0.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[test]
fn valid_tokens_map_to_their_policies() {
    let k = keys();
    let (srv, dir) = setup(&[]);
    let mut admin = client(&srv);

    // RS256, owner: full access.
    let mut owner = client(&srv);
    let t = sign(&k.rsa, &claims("oid-owner", 3600));
    ok(cmd(&mut owner, &["AUTH", "oid-owner", &t]));
    ok(cmd(&mut owner, &["SET", "k", "v"]));
    assert_eq!(
        cmd(&mut owner, &["ACL", "WHOAMI"]),
        Ok(Value::BulkString(b"oid-owner".to_vec()))
    );

    // ES256, reader: reads, no writes.
    let mut reader = client(&srv);
    let t = sign(&k.ec, &claims("oid-reader", 3600));
    ok(cmd(&mut reader, &["AUTH", "oid-reader", &t]));
    assert_eq!(
        cmd(&mut reader, &["GET", "k"]),
        Ok(Value::BulkString(b"v".to_vec()))
    );
    assert_eq!(
        err(&mut reader, &["SET", "k", "w"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    // HELLO AUTH takes tokens too.
    let mut hello = client(&srv);
    let t = sign(&k.ec, &claims("oid-owner", 3600));
    assert!(cmd(&mut hello, &["HELLO", "2", "AUTH", "oid-owner", &t]).is_ok());
    ok(cmd(&mut hello, &["SET", "k2", "v"]));

    // CLIENT LIST shows each connection's own user, and CLIENT KILL USER
    // finds token users.
    let list = text(cmd(&mut admin, &["CLIENT", "LIST"]));
    assert!(list.contains("user=oid-owner"), "{list}");
    assert!(list.contains("user=oid-reader"), "{list}");
    assert!(list.contains("user=default"), "{list}");
    assert_eq!(
        cmd(&mut admin, &["CLIENT", "KILL", "USER", "oid-reader"]),
        Ok(Value::Int(1))
    );
    assert!(cmd(&mut reader, &["PING"]).is_err());
    assert!(cmd(&mut owner, &["PING"]).is_ok());
    assert_eq!(
        err(&mut admin, &["CLIENT", "KILL", "USER", "nobody"]),
        "ERR No such user 'nobody'"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_tokens_are_refused_logged_and_never_shown() {
    let k = keys();
    let (srv, dir) = setup(&[("slowlog-log-slower-than", "0")]);
    let mut admin = client(&srv);
    let monitor = Monitor::start(&srv);

    let now = now_s();
    let c = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut cl = claims("oid-owner", 3600);
        edit(&mut cl);
        cl
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "oid-owner",
            sign(&k.rsa, &c(&|cl| cl["exp"] = json!(now - 10))),
            "token expired",
        ),
        (
            "oid-owner",
            sign(&k.rsa, &c(&|cl| cl["aud"] = json!("https://other.example"))),
            "wrong audience",
        ),
        (
            "oid-owner",
            sign(&k.ec, &c(&|cl| cl["iss"] = json!("https://evil.example/"))),
            "wrong issuer",
        ),
        (
            "oid-owner",
            sign(&k.rsa_impostor, &c(&|_| {})),
            "bad signature",
        ),
        (
            "someone-else",
            sign(&k.rsa, &c(&|_| {})),
            "token oid does not match user name",
        ),
        (
            "oid-owner",
            sign(&k.ec, &c(&|cl| cl["nbf"] = json!(now + 600))),
            "token not yet valid",
        ),
        (
            "oid-unknown",
            sign(&k.rsa, &c(&|cl| cl["oid"] = json!("oid-unknown"))),
            "no access policy for this identity",
        ),
        (
            "oid-owner",
            sign(&k.ec_later, &c(&|_| {})),
            "no signing key for token",
        ),
    ];
    // An HMAC token (the classic algorithm-confusion attempt) never gets
    // near a key.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &c(&|_| {}),
        &EncodingKey::from_secret(b"guessable"),
    )
    .unwrap();
    let mut cases = cases;
    cases.push(("oid-owner", hs, "unsupported token algorithm"));
    let mut tokens = Vec::new();
    for (user, token, reason) in &cases {
        let mut u = client(&srv);
        assert_eq!(err(&mut u, &["AUTH", user, token]), WRONGPASS, "{reason}");
        // Still unauthenticated? The default user is open here, so the
        // connection stays `default`, as after a failed AUTH in Redis.
        assert_eq!(
            cmd(&mut u, &["ACL", "WHOAMI"]),
            Ok(Value::BulkString(b"default".to_vec())),
            "{reason}"
        );
        let log = text(cmd(&mut admin, &["ACL", "LOG", "1"]));
        assert!(log.contains(&format!("AUTH ({reason})")), "{reason}: {log}");
        assert!(log.contains(user), "{reason}: {log}");
        tokens.push(token.clone());
    }
    let log = text(cmd(&mut admin, &["ACL", "LOG"]));
    let slowlog = text(cmd(&mut admin, &["SLOWLOG", "GET", "1000"]));
    let list = text(cmd(&mut admin, &["CLIENT", "LIST"]));
    let monitored = monitor.collect();
    assert!(monitored.contains("\"AUTH\""), "{monitored}");
    assert!(monitored.contains("(redacted)"), "{monitored}");
    assert!(slowlog.contains("(redacted)"), "{slowlog}");
    for t in &tokens {
        // Any sizeable piece of the token (its signature in particular)
        // would be a leak, not only the whole text.
        let sig = t.rsplit('.').next().unwrap();
        for (name, out) in [
            ("ACL LOG", &log),
            ("SLOWLOG", &slowlog),
            ("CLIENT LIST", &list),
            ("MONITOR", &monitored),
        ] {
            assert!(!out.contains(t.as_str()), "token in {name}: {out}");
            assert!(!out.contains(sig), "token signature in {name}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn token_for_an_acl_user_name_is_refused() {
    // A policy that names an ACL user must not let a token replace it.
    let k = keys();
    let (srv, dir) = setup(&[("jwt-default-policy", "owner"), ("requirepass", "pw0")]);
    let mut admin = client(&srv);
    ok(cmd(&mut admin, &["AUTH", "pw0"]));
    ok(cmd(
        &mut admin,
        &["ACL", "SETUSER", "alice", "on", ">pw", "+get", "~*"],
    ));
    let mut c = client(&srv);
    let t = sign(&k.rsa, &claims("alice", 3600));
    assert_eq!(err(&mut c, &["AUTH", "alice", &t]), WRONGPASS);
    // `default` with a password (with `nopass`, any password opens it, as
    // in Redis, so a token would too).
    let t = sign(&k.rsa, &claims("default", 3600));
    assert_eq!(err(&mut c, &["AUTH", "default", &t]), WRONGPASS);
    assert!(err(&mut c, &["GET", "x"]).starts_with("NOAUTH"));
    ok(cmd(&mut c, &["AUTH", "alice", "pw"]));
    assert_eq!(
        err(&mut c, &["SET", "x", "1"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// PINGs until the connection fails; returns when it failed, and whether
/// it answered before `open_until`.
fn wait_closed(con: &mut redis::Connection, open_until: Instant, limit: Instant) -> Instant {
    let mut answered_early = false;
    loop {
        let now = Instant::now();
        match cmd(con, &["PING"]) {
            Ok(_) => {
                if now < open_until {
                    answered_early = true;
                }
            }
            Err(_) => {
                assert!(answered_early, "closed before the token expired");
                return now;
            }
        }
        assert!(
            Instant::now() < limit,
            "connection still open long after exp"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `Instant` of a Unix time in seconds.
fn instant_of(unix_s: u64) -> Instant {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let target = Duration::from_secs(unix_s);
    if target >= now {
        Instant::now() + (target - now)
    } else {
        Instant::now() - (now - target)
    }
}

#[test]
fn connection_closes_when_its_token_expires() {
    let k = keys();
    let (srv, dir) = setup(&[]);
    let mut c = client(&srv);
    let cl = claims("oid-owner", 2);
    let exp = cl["exp"].as_u64().unwrap();
    ok(cmd(&mut c, &["AUTH", "oid-owner", &sign(&k.ec, &cl)]));
    let exp_at = instant_of(exp);
    let closed = wait_closed(
        &mut c,
        exp_at - Duration::from_millis(500),
        exp_at + Duration::from_secs(5),
    );
    assert!(closed + Duration::from_millis(50) >= exp_at - Duration::from_secs(1));
    // Other connections are untouched.
    let mut other = client(&srv);
    assert!(cmd(&mut other, &["PING"]).is_ok());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reauth_with_a_fresh_token_keeps_the_connection() {
    let k = keys();
    let (srv, dir) = setup(&[]);
    let mut c = client(&srv);
    let first = claims("oid-owner", 2);
    let exp_at = instant_of(first["exp"].as_u64().unwrap());
    ok(cmd(&mut c, &["AUTH", "oid-owner", &sign(&k.rsa, &first)]));
    ok(cmd(
        &mut c,
        &[
            "AUTH",
            "oid-owner",
            &sign(&k.rsa, &claims("oid-owner", 3600)),
        ],
    ));
    // Well past the first token's exp (and the 250 ms watch period).
    std::thread::sleep(
        (exp_at + Duration::from_millis(1500)).saturating_duration_since(Instant::now()),
    );
    ok(cmd(&mut c, &["SET", "still", "here"]));
    // Re-AUTH with a short token again: the deadline moves back in, too.
    let short = claims("oid-owner", 2);
    let exp_at = instant_of(short["exp"].as_u64().unwrap());
    ok(cmd(&mut c, &["AUTH", "oid-owner", &sign(&k.rsa, &short)]));
    wait_closed(
        &mut c,
        exp_at - Duration::from_millis(500),
        exp_at + Duration::from_secs(5),
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn jwks_reloads_on_file_change_and_config_set() {
    let k = keys();
    let (srv, dir) = setup(&[]);
    let jwks = dir.join("jwks.json");
    let mut c = client(&srv);
    let later = sign(&k.ec_later, &claims("oid-owner", 3600));
    assert_eq!(err(&mut c, &["AUTH", "oid-owner", &later]), WRONGPASS);

    // Rotate the file in place: the new key is picked up, the dropped one
    // stops working.
    write_jwks(&jwks, &[&k.ec_later]);
    let f = std::fs::File::options().write(true).open(&jwks).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    ok(cmd(&mut c, &["AUTH", "oid-owner", &later]));
    let old = sign(&k.rsa, &claims("oid-owner", 3600));
    let mut d = client(&srv);
    assert_eq!(err(&mut d, &["AUTH", "oid-owner", &old]), WRONGPASS);

    // CONFIG SET to another file switches at once.
    let other = dir.join("other.json");
    write_jwks(&other, &[&k.rsa]);
    ok(cmd(
        &mut c,
        &["CONFIG", "SET", "jwt-jwks-file", other.to_str().unwrap()],
    ));
    ok(cmd(&mut d, &["AUTH", "oid-owner", &old]));
    let mut e = client(&srv);
    assert_eq!(err(&mut e, &["AUTH", "oid-owner", &later]), WRONGPASS);

    // A broken file leaves no keys: tokens are refused, passwords still work.
    std::fs::write(&other, "not json").unwrap();
    let f = std::fs::File::options().write(true).open(&other).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    drop(f);
    assert_eq!(err(&mut e, &["AUTH", "oid-owner", &old]), WRONGPASS);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_object_ids_need_a_default_policy() {
    let k = keys();
    let (srv, dir) = setup(&[]);
    let mut c = client(&srv);
    let t = sign(&k.rsa, &claims("oid-new", 3600));
    assert_eq!(err(&mut c, &["AUTH", "oid-new", &t]), WRONGPASS);
    let mut admin = client(&srv);
    ok(cmd(
        &mut admin,
        &["CONFIG", "SET", "jwt-default-policy", "reader"],
    ));
    ok(cmd(&mut c, &["AUTH", "oid-new", &t]));
    assert_eq!(
        err(&mut c, &["SET", "x", "1"]),
        "NOPERM this user has no permissions to run the 'set' command"
    );
    // A custom rule string as the policy, for one id.
    ok(cmd(
        &mut admin,
        &["CONFIG", "SET", "jwt-policies", "oid-new:+get +set ~app:*"],
    ));
    ok(cmd(&mut c, &["AUTH", "oid-new", &t]));
    ok(cmd(&mut c, &["SET", "app:1", "x"]));
    assert_eq!(
        err(&mut c, &["SET", "other", "x"]),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    let _ = std::fs::remove_dir_all(dir);
}
