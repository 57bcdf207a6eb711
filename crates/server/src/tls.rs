//! TLS with rustls: the acceptor built from the `tls-*` directives, its
//! reload when they change (new handshakes use the new certificate, live
//! sessions keep theirs), and the self-signed "Azure-like" start.

use quiver_commands::ServerState;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// The current acceptor and the `tls_gen` configuration generation it was
/// built (or last attempted) at.
#[derive(Default)]
pub struct Tls {
    current: parking_lot::Mutex<Option<(u64, TlsAcceptor)>>,
}

impl Tls {
    /// The acceptor for the current settings, rebuilt when any `tls-*`
    /// directive was set since (even to the same value, so rotated files
    /// behind an unchanged path are re-read, as in Redis). A bad new
    /// certificate keeps the old acceptor serving, logged once, rather than
    /// taking the TLS port down or being retried on every handshake.
    pub fn acceptor(&self, state: &ServerState) -> Result<TlsAcceptor, String> {
        let gen = state.config.hot.tls_gen.load(Ordering::Acquire);
        let mut cur = self.current.lock();
        if let Some((g, a)) = cur.as_mut() {
            if *g == gen {
                return Ok(a.clone());
            }
            match build(state) {
                Ok(cfg) => *a = TlsAcceptor::from(Arc::new(cfg)),
                Err(e) => tracing::warn!("TLS configuration not reloaded: {e}"),
            }
            *g = gen;
            return Ok(a.clone());
        }
        let a = TlsAcceptor::from(Arc::new(build(state)?));
        *cur = Some((gen, a.clone()));
        Ok(a)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Whether the `tls-*` directives load, when TLS is on (`tls-port` set);
/// CONFIG SET calls it through [`quiver_commands::state::TLS_CHECK`] and
/// replies "Check server logs", so the reason is logged here.
pub fn check(state: &ServerState) -> Result<(), String> {
    if state.config.get_i64("tls-port") == 0 {
        return Ok(());
    }
    build(state).map(|_| ()).inspect_err(|e| {
        tracing::warn!("new TLS configuration rejected, previous settings restored: {e}")
    })
}

/// Builds a rustls server configuration from the `tls-*` directives.
pub fn build(state: &ServerState) -> Result<ServerConfig, String> {
    let c = &state.config;
    let cert_file = c.get("tls-cert-file");
    let key_file = c.get("tls-key-file");
    if cert_file.is_empty() || key_file.is_empty() {
        return Err("tls-cert-file and tls-key-file must be set".into());
    }
    let certs = load_certs(Path::new(&cert_file))?;
    let key = load_key(Path::new(&key_file), &c.get("tls-key-file-pass"))?;

    let mut prov = (*provider()).clone();
    let suites = c.get("tls-ciphersuites");
    if !suites.is_empty() {
        let wanted: Vec<String> = suites
            .split(':')
            .map(|s| s.trim().to_ascii_uppercase())
            .collect();
        prov.cipher_suites.retain(|cs| {
            let name = format!("{:?}", cs.suite()).to_ascii_uppercase();
            // TLS 1.2 suites are chosen by tls-ciphers in Redis; keep them.
            cs.version() == &rustls::version::TLS12 || wanted.contains(&name)
        });
    }
    let versions = protocol_versions(&c.get("tls-protocols"))?;
    let builder = ServerConfig::builder_with_provider(Arc::new(prov))
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;

    let ca_file = c.get("tls-ca-cert-file");
    let ca_dir = c.get("tls-ca-cert-dir");
    let mode = c.get("tls-auth-clients");
    let builder = if mode != "no" && (!ca_file.is_empty() || !ca_dir.is_empty()) {
        let mut roots = RootCertStore::empty();
        let mut files: Vec<PathBuf> = Vec::new();
        if !ca_file.is_empty() {
            files.push(PathBuf::from(&ca_file));
        }
        if !ca_dir.is_empty() {
            if let Ok(rd) = std::fs::read_dir(&ca_dir) {
                files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
            }
        }
        for f in files {
            for cert in load_certs(&f)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("bad CA certificate: {e}"))?;
            }
        }
        let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
        let v = if mode == "optional" {
            v.allow_unauthenticated()
        } else {
            v
        };
        builder.with_client_cert_verifier(v.build().map_err(|e| e.to_string())?)
    } else {
        // Without a CA nothing can vouch for client certificates, so none
        // are requested (the self-signed start relies on this).
        builder.with_no_client_auth()
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("bad certificate or key: {e}"))
}

fn protocol_versions(spec: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if spec.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out = Vec::new();
    for p in spec.split_whitespace() {
        match p.to_ascii_lowercase().as_str() {
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            other => {
                return Err(format!(
                    "unsupported TLS protocol '{other}' (TLSv1.2 and TLSv1.3 are)"
                ))
            }
        }
    }
    Ok(out)
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

fn load_key(path: &Path, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if data.windows(9).any(|w| w == b"ENCRYPTED") {
        // rustls-pemfile reads plain PKCS#8/PKCS#1/SEC1 keys only.
        let _ = pass;
        return Err(format!(
            "{} is an encrypted key: decrypt it first (tls-key-file-pass is not supported)",
            path.display()
        ));
    }
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| format!("bad PEM in {}: {e}", path.display()))?
        .ok_or_else(|| format!("no private key in {}", path.display()))
}

/// The one-flag start: `--tls-port N` without a certificate generates a
/// CA and a server certificate signed by it into `dir` (clients trust
/// `quiver-ca.crt`), and, if no authentication is configured, a primary
/// access key written to `quiver-access-key` (mode 0600). Paths are
/// printed; the key itself never is.
pub fn self_signed_start(state: &ServerState) -> Result<(), String> {
    let c = &state.config;
    if c.get_i64("tls-port") == 0 || !c.get("tls-cert-file").is_empty() {
        return Ok(());
    }
    let dir = PathBuf::from(c.get("dir"));
    let (ca_pem, cert_pem, key_pem) = generate_certs()?;
    let ca = dir.join("quiver-ca.crt");
    let cert = dir.join("quiver-tls.crt");
    let key = dir.join("quiver-tls.key");
    std::fs::write(&ca, ca_pem).map_err(|e| format!("{}: {e}", ca.display()))?;
    std::fs::write(&cert, cert_pem).map_err(|e| format!("{}: {e}", cert.display()))?;
    write_private(&key, key_pem.as_bytes())?;
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    c.set_startup("tls-cert-file", &abs(&cert).to_string_lossy())?;
    c.set_startup("tls-key-file", &abs(&key).to_string_lossy())?;
    println!(
        "TLS: generated a self-signed certificate; clients must trust the CA at {}",
        abs(&ca).display()
    );
    if state.acl.default_open(c) {
        let bytes: [u8; 32] = rand::random();
        let k: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let kf = dir.join("quiver-access-key");
        write_private(&kf, k.as_bytes())?;
        c.set_startup("access-key-primary", &k)?;
        println!(
            "Authentication required: the primary access key is in {}",
            abs(&kf).display()
        );
    }
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A CA and a `localhost`/`127.0.0.1`/`::1` server certificate signed by
/// it, as PEM: (CA cert, server cert chain, server key).
pub fn generate_certs() -> Result<(String, String, String), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let e = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Quiver self-signed CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;

    let key = KeyPair::generate().map_err(e)?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(e)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &ca_cert, &ca_key).map_err(e)?;
    Ok((ca_cert.pem(), cert.pem(), key.serialize_pem()))
}
