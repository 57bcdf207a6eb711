//! TLS listeners with a rustls client: PING over TLS, TLS and plain ports
//! side by side, plain clients on the TLS port, certificate reload on
//! CONFIG SET without dropping live sessions, and mutual TLS.

mod common;
use common::{client, cmd, RunningServer};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A leaf certificate: for `localhost`/127.0.0.1 as a server, or a
    /// client certificate. Returns (cert PEM, key PEM, cert DER, key DER).
    fn leaf(&self, client: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names = if client {
            vec!["quiver-test-client".to_string()]
        } else {
            vec!["localhost".to_string(), "127.0.0.1".to_string()]
        };
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, "leaf");
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Leaf {
    /// Writes cert and key as `<stem>.crt` / `<stem>.key` in `dir`.
    fn write(&self, dir: &Path, stem: &str) -> (String, String) {
        let c = dir.join(format!("{stem}.crt"));
        let k = dir.join(format!("{stem}.key"));
        std::fs::write(&c, &self.cert_pem).unwrap();
        std::fs::write(&k, &self.key_pem).unwrap();
        (
            c.to_string_lossy().into_owned(),
            k.to_string_lossy().into_owned(),
        )
    }
}

fn scratch() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "quiver-tls-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Connects to `port` over TLS trusting `roots`, optionally presenting a
/// client certificate, and completes the handshake.
fn tls_connect(
    port: u16,
    roots: &[CertificateDer<'static>],
    auth: Option<&Leaf>,
) -> std::io::Result<Tls> {
    let mut store = RootCertStore::empty();
    for r in roots {
        store.add(r.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store);
    let cfg = match auth {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.cert_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(Arc::new(cfg), name).unwrap();
    let sock = TcpStream::connect(("127.0.0.1", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut s = StreamOwned::new(conn, sock);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// Sends one command and reads one reply (simple, error, integer or bulk).
/// Sends a command whose reply is an array of bulk strings (CONFIG GET)
/// and returns its elements.
fn call_array(s: &mut Tls, args: &[&str]) -> Vec<String> {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    s.flush().unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let n: usize = line.trim_end().strip_prefix('*').unwrap().parse().unwrap();
    (0..n)
        .map(|_| {
            line.clear();
            r.read_line(&mut line).unwrap();
            let len: usize = line.trim_end().strip_prefix('$').unwrap().parse().unwrap();
            let mut body = vec![0u8; len + 2];
            r.read_exact(&mut body).unwrap();
            body.truncate(len);
            String::from_utf8(body).unwrap()
        })
        .collect()
}

fn call(s: &mut Tls, args: &[&str]) -> std::io::Result<String> {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes())?;
    s.flush()?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let line = line.trim_end().to_string();
    if let Some(n) = line.strip_prefix('$') {
        let n: i64 = n.parse().unwrap();
        if n < 0 {
            return Ok("(nil)".into());
        }
        let mut body = vec![0u8; n as usize + 2];
        r.read_exact(&mut body)?;
        body.truncate(n as usize);
        return Ok(String::from_utf8_lossy(&body).into_owned());
    }
    Ok(line)
}

/// A server with TLS on a free port (and plain on `plain`, 0 for none).
fn tls_server(plain: u16, extra: &[(&str, &str)]) -> (RunningServer, u16) {
    let tls = free_port();
    let (p, t) = (plain.to_string(), tls.to_string());
    let mut d = vec![("port", p.as_str()), ("tls-port", t.as_str())];
    d.extend_from_slice(extra);
    (RunningServer::start(&d).expect("server starts"), tls)
}

#[test]
fn ping_over_tls_next_to_a_plain_port() {
    let dir = scratch();
    let ca = Ca::new("test CA");
    let (cert, key) = ca.leaf(false).write(&dir, "server");
    let plain = free_port();
    let (srv, tls) = tls_server(plain, &[("tls-cert-file", &cert), ("tls-key-file", &key)]);
    assert_eq!(srv.addr.port(), plain);
    let mut t = tls_connect(tls, &[ca.der()], None).unwrap();
    assert_eq!(call(&mut t, &["PING"]).unwrap(), "+PONG");
    assert_eq!(call(&mut t, &["SET", "k", "over-tls"]).unwrap(), "+OK");
    // The plain port serves the same keyspace.
    let mut p = client(&srv);
    assert_eq!(
        cmd(&mut p, &["GET", "k"]),
        Ok(redis::Value::BulkString(b"over-tls".to_vec()))
    );
    assert_eq!(call(&mut t, &["CONFIG", "GET", "tls-port"]).unwrap(), "*2");
    // CLIENT LIST sees both connections, each with its own local port.
    let list = call(&mut t, &["CLIENT", "LIST"]).unwrap();
    assert!(list.contains(&format!("laddr=127.0.0.1:{tls}")), "{list}");
    assert!(list.contains(&format!("laddr=127.0.0.1:{plain}")), "{list}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plain_clients_on_the_tls_port_are_dropped() {
    let dir = scratch();
    let ca = Ca::new("test CA");
    let (cert, key) = ca.leaf(false).write(&dir, "server");
    let (srv, tls) = tls_server(0, &[("tls-cert-file", &cert), ("tls-key-file", &key)]);
    // With `port 0` only the TLS listener exists.
    assert_eq!(srv.addr.port(), tls);
    for junk in [
        &b"PING\r\n"[..],
        b"*1\r\n$4\r\nPING\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", tls)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(junk).unwrap();
        let mut got = Vec::new();
        // The server answers with at most a TLS alert, then closes.
        let res = s.read_to_end(&mut got);
        assert!(
            res.is_ok() || got.is_empty(),
            "connection not closed: {res:?}"
        );
        assert!(
            !got.windows(5).any(|w| w == b"+PONG"),
            "a plain client got a reply"
        );
        assert!(
            got.first().is_none_or(|&b| b == 0x15),
            "not a TLS alert: {got:?}"
        );
    }
    // The server is fine, and a plain client never showed up as a client.
    let mut t = tls_connect(tls, &[ca.der()], None).unwrap();
    assert_eq!(call(&mut t, &["PING"]).unwrap(), "+PONG");
    let list = call(&mut t, &["CLIENT", "LIST"]).unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    // A TLS client that trusts another CA fails the handshake.
    let other = Ca::new("other CA");
    assert!(tls_connect(tls, &[other.der()], None).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn certificate_reload_keeps_live_sessions() {
    let dir = scratch();
    let ca1 = Ca::new("CA one");
    let (cert, key) = ca1.leaf(false).write(&dir, "server");
    let (_srv, tls) = tls_server(0, &[("tls-cert-file", &cert), ("tls-key-file", &key)]);
    let mut live = tls_connect(tls, &[ca1.der()], None).unwrap();
    assert_eq!(call(&mut live, &["SET", "k", "1"]).unwrap(), "+OK");

    // Rotate the files behind the same paths: CONFIG SET with unchanged
    // values re-reads them, as in Redis.
    let ca2 = Ca::new("CA two");
    ca2.leaf(false).write(&dir, "server");
    assert_eq!(
        call(
            &mut live,
            &[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &cert,
                "tls-key-file",
                &key
            ]
        )
        .unwrap(),
        "+OK"
    );
    assert_eq!(call(&mut live, &["GET", "k"]).unwrap(), "1");
    let mut fresh = tls_connect(tls, &[ca2.der()], None).unwrap();
    assert_eq!(call(&mut fresh, &["PING"]).unwrap(), "+PONG");
    assert!(tls_connect(tls, &[ca1.der()], None).is_err());

    // New paths switch too.
    let ca3 = Ca::new("CA three");
    let (cert3, key3) = ca3.leaf(false).write(&dir, "server3");
    assert_eq!(
        call(
            &mut fresh,
            &[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &cert3,
                "tls-key-file",
                &key3
            ]
        )
        .unwrap(),
        "+OK"
    );
    let mut third = tls_connect(tls, &[ca3.der()], None).unwrap();
    assert_eq!(call(&mut third, &["PING"]).unwrap(), "+PONG");

    // A certificate that does not load is refused as Redis refuses it, the
    // previous values are restored, and the last good acceptor keeps
    // serving.
    let missing = format!("{cert3}.missing");
    assert_eq!(
        call(
            &mut third,
            &[
                "CONFIG",
                "SET",
                "tls-key-file",
                &key3,
                "tls-cert-file",
                &missing
            ]
        )
        .unwrap(),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - \
         Unable to update TLS configuration. Check server logs."
    );
    assert_eq!(
        call_array(&mut third, &["CONFIG", "GET", "tls-cert-file"]),
        ["tls-cert-file", cert3.as_str()]
    );
    std::fs::write(&cert3, "garbage").unwrap();
    assert!(
        call(&mut third, &["CONFIG", "SET", "tls-cert-file", &cert3])
            .unwrap()
            .starts_with("-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file')")
    );
    let mut fourth = tls_connect(tls, &[ca3.der()], None).unwrap();
    assert_eq!(call(&mut fourth, &["PING"]).unwrap(), "+PONG");
    // Every session opened along the way is still alive.
    assert_eq!(call(&mut live, &["PING"]).unwrap(), "+PONG");
    assert_eq!(call(&mut fresh, &["PING"]).unwrap(), "+PONG");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn mutual_tls_requires_a_client_certificate() {
    let dir = scratch();
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let (cert, key) = server_ca.leaf(false).write(&dir, "server");
    let ca_file = dir.join("clients.crt");
    std::fs::write(&ca_file, client_ca.cert.pem()).unwrap();
    let ca_path = ca_file.to_string_lossy().into_owned();
    let (_srv, tls) = tls_server(
        0,
        &[
            ("tls-cert-file", &cert),
            ("tls-key-file", &key),
            ("tls-ca-cert-file", &ca_path),
            ("tls-auth-clients", "yes"),
        ],
    );
    let roots = [server_ca.der()];
    let good = client_ca.leaf(true);
    let mut c = tls_connect(tls, &roots, Some(&good)).unwrap();
    assert_eq!(call(&mut c, &["PING"]).unwrap(), "+PONG");

    // No certificate, or one from a CA the server does not trust: refused
    // (with TLS 1.3 the client learns it at its first read).
    let refused = |s: std::io::Result<Tls>| match s {
        Err(_) => true,
        Ok(mut s) => call(&mut s, &["PING"]).is_err(),
    };
    assert!(refused(tls_connect(tls, &roots, None)));
    let stranger = Ca::new("stranger CA").leaf(true);
    assert!(refused(tls_connect(tls, &roots, Some(&stranger))));

    // `optional`: a certificate is checked if given, not required.
    assert_eq!(
        call(&mut c, &["CONFIG", "SET", "tls-auth-clients", "optional"]).unwrap(),
        "+OK"
    );
    let mut anon = tls_connect(tls, &roots, None).unwrap();
    assert_eq!(call(&mut anon, &["PING"]).unwrap(), "+PONG");
    assert!(refused(tls_connect(tls, &roots, Some(&stranger))));
    let mut again = tls_connect(tls, &roots, Some(&good)).unwrap();
    assert_eq!(call(&mut again, &["PING"]).unwrap(), "+PONG");
    // The mTLS session from before the change is still up.
    assert_eq!(call(&mut c, &["PING"]).unwrap(), "+PONG");
    let _ = std::fs::remove_dir_all(dir);
}
