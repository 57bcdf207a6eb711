//! Entra-style token authentication: `AUTH <object-id> <JWT>`.
//!
//! Tokens are verified against signing keys from a JWKS file (RS256 and
//! ES256), their `iss`, `aud`, `exp` and `nbf`, and their `oid` must equal
//! the user name given to AUTH. The identity then gets an access policy:
//! a built-in role (`owner`, `contributor`, `reader`) or a custom ACL rule
//! string, configured per object id (`jwt-policies`), with an optional
//! default for unknown ids (`jwt-default-policy`, off by default).
//!
//! Failure reasons go to the ACL LOG; the token itself never does.

use crate::config::Config;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::time::SystemTime;

/// A verified token: the ACL rules it grants and when it expires.
pub struct Grant {
    pub rules: String,
    /// Unix seconds.
    pub exp: u64,
}

struct Key {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct Settings {
    issuers: Vec<String>,
    audiences: Vec<String>,
    jwks_path: String,
    jwks_mtime: Option<SystemTime>,
    keys: Vec<Key>,
    policies: HashMap<String, String>,
    default_policy: String,
}

/// Token-auth settings and signing keys, rebuilt when the directives or
/// the JWKS file change.
#[derive(Default)]
pub struct TokenAuth {
    inner: RwLock<Settings>,
}

/// The rules of a built-in role, or the text itself as custom rules.
pub fn policy_rules(policy: &str) -> String {
    match policy.trim().to_ascii_lowercase().as_str() {
        "owner" => "+@all ~* &*".into(),
        "contributor" => "+@all -@dangerous -@admin ~* &*".into(),
        "reader" => "+@read +@connection ~*".into(),
        _ => policy.trim().to_string(),
    }
}

/// A compact JWS (`header.payload.signature`, header starting `{"`)?
pub fn looks_like_jwt(s: &[u8]) -> bool {
    s.starts_with(b"eyJ") && s.iter().filter(|&&b| b == b'.').count() == 2
}

impl TokenAuth {
    /// Re-reads the `jwt-*` directives and the JWKS file.
    pub fn configure(&self, config: &Config) {
        let list = |name: &str| -> Vec<String> {
            config
                .get(name)
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut policies = HashMap::new();
        for item in config.get("jwt-policies").split(';') {
            if let Some((oid, pol)) = item.split_once(':') {
                policies.insert(oid.trim().to_string(), policy_rules(pol));
            }
        }
        let default_policy = config.get("jwt-default-policy");
        let mut s = self.inner.write();
        s.issuers = list("jwt-issuers");
        s.audiences = list("jwt-audiences");
        s.policies = policies;
        s.default_policy = if default_policy.is_empty() {
            String::new()
        } else {
            policy_rules(&default_policy)
        };
        s.jwks_path = config.get("jwt-jwks-file");
        s.jwks_mtime = None;
        reload_keys(&mut s);
    }

    /// Whether token authentication is configured (a JWKS file is set).
    pub fn enabled(&self) -> bool {
        !self.inner.read().jwks_path.is_empty()
    }

    /// Verifies `token` for `user`; the error is the reason for ACL LOG.
    pub fn verify(&self, user: &str, token: &[u8], now_s: u64) -> Result<Grant, String> {
        {
            // Pick up a rotated JWKS file (checked on each token AUTH,
            // which is rare next to commands).
            let stale = {
                let s = self.inner.read();
                mtime(&s.jwks_path) != s.jwks_mtime
            };
            if stale {
                reload_keys(&mut self.inner.write());
            }
        }
        let s = self.inner.read();
        let token = std::str::from_utf8(token).map_err(|_| "invalid token".to_string())?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| "invalid token".to_string())?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err("unsupported token algorithm".into());
        }
        let candidates: Vec<&Key> = s
            .keys
            .iter()
            .filter(|k| k.alg == header.alg)
            .filter(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
            .collect();
        if candidates.is_empty() {
            return Err("no signing key for token".into());
        }
        let mut v = Validation::new(header.alg);
        v.leeway = 0;
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "aud", "iss"]);
        v.set_audience(&s.audiences);
        if !s.issuers.is_empty() {
            v.set_issuer(&s.issuers);
        }
        let mut last = String::from("bad signature");
        for k in candidates {
            match jsonwebtoken::decode::<serde_json::Value>(token, &k.key, &v) {
                Ok(data) => {
                    let c = data.claims;
                    let exp = c.get("exp").and_then(|e| e.as_u64()).unwrap_or(0);
                    if exp <= now_s {
                        return Err("token expired".into());
                    }
                    let oid = c.get("oid").and_then(|o| o.as_str()).unwrap_or("");
                    if oid != user {
                        return Err("token oid does not match user name".into());
                    }
                    let rules = match s.policies.get(oid) {
                        Some(r) => r.clone(),
                        None if !s.default_policy.is_empty() => s.default_policy.clone(),
                        None => return Err("no access policy for this identity".into()),
                    };
                    return Ok(Grant { rules, exp });
                }
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind as K;
                    last = match e.kind() {
                        K::ExpiredSignature => "token expired",
                        K::ImmatureSignature => "token not yet valid",
                        K::InvalidAudience => "wrong audience",
                        K::InvalidIssuer => "wrong issuer",
                        K::InvalidSignature => "bad signature",
                        K::MissingRequiredClaim(_) => "token lacks a required claim",
                        _ => "invalid token",
                    }
                    .into();
                    if last != "bad signature" {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn mtime(path: &str) -> Option<SystemTime> {
    if path.is_empty() {
        return None;
    }
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Loads the JWKS file named in the settings; a bad file leaves no keys
/// (every token is then refused) and is logged.
fn reload_keys(s: &mut Settings) {
    s.keys.clear();
    s.jwks_mtime = mtime(&s.jwks_path);
    if s.jwks_path.is_empty() {
        return;
    }
    let text = match std::fs::read_to_string(&s.jwks_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read JWKS file {}: {e}", s.jwks_path);
            return;
        }
    };
    match parse_jwks(&text) {
        Ok(keys) => s.keys = keys,
        Err(e) => eprintln!("bad JWKS file {}: {e}", s.jwks_path),
    }
}

fn parse_jwks(text: &str) -> Result<Vec<Key>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let arr = v
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no \"keys\" array")?;
    let mut out = Vec::new();
    for k in arr {
        let field = |n: &str| k.get(n).and_then(|x| x.as_str());
        let kid = field("kid").map(str::to_string);
        match field("kty") {
            Some("RSA") => {
                let (Some(n), Some(e)) = (field("n"), field("e")) else {
                    continue;
                };
                if let Ok(key) = DecodingKey::from_rsa_components(n, e) {
                    out.push(Key {
                        kid,
                        alg: Algorithm::RS256,
                        key,
                    });
                }
            }
            Some("EC") if field("crv") == Some("P-256") => {
                let (Some(x), Some(y)) = (field("x"), field("y")) else {
                    continue;
                };
                if let Ok(key) = DecodingKey::from_ec_components(x, y) {
                    out.push(Key {
                        kid,
                        alg: Algorithm::ES256,
                        key,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_expand() {
        assert_eq!(policy_rules("Owner"), "+@all ~* &*");
        assert_eq!(policy_rules("reader"), "+@read +@connection ~*");
        assert_eq!(policy_rules(" +get ~a* "), "+get ~a*");
    }

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt(b"eyJhbGciOi.eyJzdWIi.sig"));
        assert!(!looks_like_jwt(b"password"));
        assert!(!looks_like_jwt(b"eyJ.only-one-dot"));
    }

    #[test]
    fn jwks_parsing_skips_unknown_keys() {
        let keys = parse_jwks(
            r#"{"keys":[{"kty":"oct","k":"x"},{"kty":"EC","crv":"P-384","x":"a","y":"b"}]}"#,
        )
        .unwrap();
        assert!(keys.is_empty());
        assert!(parse_jwks("{}").is_err());
    }
}
