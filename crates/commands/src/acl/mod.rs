//! Access control: ACL users, their compiled permissions, the ACL LOG, the
//! two rotating access keys of the default user, and the check dispatch
//! runs before every command.
//!
//! A user is compiled once per change into bitsets over the registry's
//! command ids, so the per-command check is a bit test plus key/channel
//! pattern matches. Connections hold an `Arc<User>` and refresh it when the
//! ACL epoch moves, which is how ACL SETUSER reaches live connections (as in
//! Redis) without a lock on the request path.

pub mod command;
pub mod log;
pub mod rules;

use crate::config::Config;
use crate::spec::CommandSpec;
use parking_lot::{Mutex, RwLock};
use quiver_resp::Args;
use rules::Selector;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub use log::{AclLog, LogEntry};

/// How a connection proved who it is; kept on the client handle so that
/// disabling key authentication can find key-authenticated connections.
pub mod auth_kind {
    pub const NONE: u8 = 0;
    pub const PASSWORD: u8 = 1;
    pub const ACCESS_KEY: u8 = 2;
    pub const TOKEN: u8 = 3;
}

/// One ACL user, compiled.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// SHA-256 of each password: cleartext is never kept.
    pub passwords: Vec<[u8; 32]>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
    /// Created from a token's policy (not by ACL SETUSER): such users have
    /// no password and vanish from ACL LIST when the server restarts.
    pub token_user: bool,
    /// The `sanitize-payload` (true) / `skip-sanitize-payload` (false) flag,
    /// or neither. Kept so ACL rules round-trip as in Redis 7.0; RESTORE
    /// payloads are always validated in full here, whatever the flag.
    pub sanitize_payload: Option<bool>,
}

impl User {
    /// A new user as ACL SETUSER creates it: off, no passwords, no rights.
    pub fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            root: Selector::default(),
            selectors: Vec::new(),
            token_user: false,
            sanitize_payload: None,
        }
    }

    /// The default user of a fresh server: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut u = User::new("default");
        for r in ["on", "nopass", "~*", "&*", "+@all"] {
            let _ = rules::apply(&mut u, r.as_bytes());
        }
        u
    }

    /// True when every command, key and channel is allowed, so dispatch
    /// can skip the check altogether.
    pub fn unrestricted(&self) -> bool {
        self.root.unrestricted()
    }

    pub fn check_password(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let h = sha256(pass);
        self.passwords.iter().any(|p| ct_eq(p, &h))
    }

    /// Whether this user may run the command. When no selector allows it,
    /// the most specific refusal wins: a selector that allowed the command
    /// but not a key or channel explains more than "no permission to run",
    /// which is what Redis reports too.
    pub fn check(
        &self,
        entry_id: usize,
        spec: &CommandSpec,
        args: &Args<'_>,
    ) -> Result<(), Denied> {
        let mut best = match self.root.check(entry_id, spec, args) {
            Ok(()) => return Ok(()),
            Err(d) => d,
        };
        for s in &self.selectors {
            match s.check(entry_id, spec, args) {
                Ok(()) => return Ok(()),
                Err(d) if best == Denied::Command => best = d,
                Err(_) => {}
            }
        }
        Err(best)
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Command,
    /// Index of the refused key argument.
    Key(usize),
    /// Index of the refused channel argument.
    Channel(usize),
}

impl Denied {
    /// The NOPERM error, worded as Redis 7.0 words it.
    pub fn message(&self, spec: &CommandSpec) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{}' command",
                spec.name
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }

    /// The error for a queued command that the user's rules, changed since
    /// it was queued, no longer allow when EXEC runs it (Redis re-checks
    /// every queued command then).
    pub fn exec_message(&self) -> String {
        let reason = match self {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        };
        format!(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated \
             and the EXEC call. This command is no longer allowed for the following reason: {reason}"
        )
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(data);
    h.finalize().into()
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Constant-time comparison, so a failed AUTH leaks nothing through timing.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A successful authentication.
pub struct Authed {
    pub user: Arc<User>,
    pub kind: u8,
    /// Unix ms after which the connection must be closed (tokens), or 0.
    pub deadline_ms: u64,
}

/// The server's users and everything about authentication.
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    /// Bumped on every user change; sessions compare it to refresh.
    pub epoch: AtomicU64,
    pub log: AclLog,
    /// The config generation whose auth directives have been applied.
    seen_gen: AtomicU64,
    /// SHA-256 of the requirepass value last applied to the default user.
    applied_requirepass: Mutex<Option<[u8; 32]>>,
    /// SHA-256 of the two access keys (absent when unset), so cleartext
    /// keys live only in the config table.
    keys: RwLock<[Option<[u8; 32]>; 2]>,
    /// True when a new connection needs no AUTH (default user on, nopass,
    /// unrestricted... and no access key configured).
    open: AtomicBool,
    /// Auth failures per client IP, for rate limiting.
    pub failures: Mutex<hashbrown::HashMap<String, (u64, u32)>>,
    /// Signing keys and policy for token authentication.
    pub tokens: crate::token::TokenAuth,
}

impl Default for Acl {
    fn default() -> Self {
        Self::new()
    }
}

impl Acl {
    pub fn new() -> Acl {
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), Arc::new(User::default_user()));
        Acl {
            users: RwLock::new(users),
            epoch: AtomicU64::new(1),
            log: AclLog::default(),
            seen_gen: AtomicU64::new(u64::MAX),
            applied_requirepass: Mutex::new(None),
            keys: RwLock::new([None, None]),
            open: AtomicBool::new(true),
            failures: Mutex::new(hashbrown::HashMap::new()),
            tokens: crate::token::TokenAuth::default(),
        }
    }

    /// Applies changed auth directives (requirepass, access keys, token
    /// settings). Called before any decision that depends on them; a
    /// generation counter makes the common case one atomic load.
    pub fn sync(&self, config: &Config) {
        let gen = config.hot.auth_gen.load(Ordering::Acquire);
        if self.seen_gen.swap(gen, Ordering::AcqRel) == gen {
            return;
        }
        // requirepass is the default user's password (Redis semantics):
        // applied only when the directive itself changed, so ACL SETUSER
        // default … survives unrelated config changes.
        let rp = config.get("requirepass");
        let rp_hash = sha256(rp.as_bytes());
        let changed = {
            let mut applied = self.applied_requirepass.lock();
            let changed = *applied != Some(rp_hash);
            *applied = Some(rp_hash);
            changed
        };
        if changed {
            let mut users = self.users.write();
            let mut d = users
                .get("default")
                .map(|u| (**u).clone())
                .unwrap_or_else(User::default_user);
            d.passwords.clear();
            d.nopass = rp.is_empty();
            if !d.nopass {
                d.passwords.push(rp_hash);
            }
            users.insert("default".into(), Arc::new(d));
        }
        let key_auth = config.get("access-key-authentication") != "no";
        let k1 = config.get("access-key-primary");
        let k2 = config.get("access-key-secondary");
        let h = |k: &str| (key_auth && !k.is_empty()).then(|| sha256(k.as_bytes()));
        *self.keys.write() = [h(&k1), h(&k2)];
        self.tokens.configure(config);
        self.recompute_open();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    fn recompute_open(&self) {
        let keys = self.keys.read().iter().any(|k| k.is_some());
        let open = self
            .users
            .read()
            .get("default")
            .is_some_and(|d| d.enabled && d.nopass)
            && !keys;
        self.open.store(open, Ordering::Release);
    }

    /// Whether new connections start authenticated (no auth configured).
    pub fn default_open(&self, config: &Config) -> bool {
        self.sync(config);
        self.open.load(Ordering::Acquire)
    }

    /// Whether protected mode applies: the default user has no password
    /// (enabled or not, as in Redis, which looks only at `nopass`) and no
    /// access key stands in for one.
    pub fn default_unprotected(&self, config: &Config) -> bool {
        self.sync(config);
        !self.keys_active() && self.get("default").is_some_and(|d| d.nopass)
    }

    /// Whether any access key is active.
    pub fn keys_active(&self) -> bool {
        self.keys.read().iter().any(|k| k.is_some())
    }

    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.users.read().keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// Stores a user (new or changed) and publishes the change.
    pub fn put(&self, user: User) {
        self.users.write().insert(user.name.clone(), Arc::new(user));
        self.recompute_open();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    pub fn remove(&self, name: &str) -> bool {
        let gone = self.users.write().remove(name).is_some();
        if gone {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        gone
    }

    /// Replaces every user at once (ACL LOAD); the default user is kept
    /// if the new set lacks it.
    pub fn replace_all(&self, users: Vec<User>) {
        let mut map = BTreeMap::new();
        for u in users {
            map.insert(u.name.clone(), Arc::new(u));
        }
        map.entry("default".to_string())
            .or_insert_with(|| Arc::new(User::default_user()));
        *self.users.write() = map;
        self.recompute_open();
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Checks a username/password pair (or an access key for `default`, or
    /// a token). `Err` carries the reason for the ACL LOG, never a secret.
    pub fn authenticate(
        &self,
        config: &Config,
        user: &[u8],
        pass: &[u8],
        now_ms: u64,
    ) -> Result<Authed, String> {
        self.sync(config);
        let name = String::from_utf8_lossy(user);
        if user == b"default" {
            let h = sha256(pass);
            if self.keys.read().iter().flatten().any(|k| ct_eq(k, &h)) {
                if let Some(u) = self.get("default") {
                    if u.enabled {
                        return Ok(Authed {
                            user: u,
                            kind: auth_kind::ACCESS_KEY,
                            deadline_ms: 0,
                        });
                    }
                }
            }
        }
        if let Some(u) = self.get(&name) {
            // With access keys active the default user's `nopass` does not
            // let any password in: a key is required.
            let nopass_ok = !(u.name == "default" && self.keys_active());
            if u.enabled && !u.token_user && (u.check_password(pass) && (nopass_ok || !u.nopass)) {
                return Ok(Authed {
                    user: u,
                    kind: auth_kind::PASSWORD,
                    deadline_ms: 0,
                });
            }
        }
        if self.tokens.enabled() && crate::token::looks_like_jwt(pass) {
            let grant = self.tokens.verify(&name, pass, now_ms / 1000)?;
            // A token user is stored under its object id; it must never
            // replace a user made by ACL SETUSER or requirepass (`default`),
            // whatever policy the configuration maps that name to.
            if self.get(&name).is_some_and(|u| !u.token_user) {
                return Err("user name belongs to an ACL user".into());
            }
            let mut u = User::new(&name);
            u.enabled = true;
            u.token_user = true;
            for r in rules::split_rules(&grant.rules) {
                rules::apply(&mut u, r.as_bytes())
                    .map_err(|e| format!("policy for '{name}' is invalid: {e}"))?;
            }
            let u = Arc::new(u);
            self.users.write().insert(name.to_string(), u.clone());
            self.epoch.fetch_add(1, Ordering::AcqRel);
            return Ok(Authed {
                user: u,
                kind: auth_kind::TOKEN,
                deadline_ms: grant.exp * 1000,
            });
        }
        Err("auth".into())
    }

    /// Counts an auth failure from `ip`; true when the client is over the
    /// limit (`auth-failures-max` per rolling minute, 0 = unlimited).
    pub fn note_failure(&self, config: &Config, ip: &str, now_ms: u64) -> bool {
        let limit = config.get_i64("auth-failures-max");
        let mut f = self.failures.lock();
        if f.len() > 10_000 {
            f.retain(|_, (t, _)| now_ms.saturating_sub(*t) < 60_000);
        }
        let e = f.entry(ip.to_string()).or_insert((now_ms, 0));
        if now_ms.saturating_sub(e.0) >= 60_000 {
            *e = (now_ms, 0);
        }
        e.1 += 1;
        limit > 0 && e.1 as i64 > limit
    }

    /// True while `ip` is over the failure limit.
    pub fn rate_limited(&self, config: &Config, ip: &str, now_ms: u64) -> bool {
        let limit = config.get_i64("auth-failures-max");
        if limit <= 0 {
            return false;
        }
        self.failures
            .lock()
            .get(ip)
            .is_some_and(|(t, n)| now_ms.saturating_sub(*t) < 60_000 && *n as i64 >= limit)
    }
}

/// The IP part of `ip:port` / `[v6]:port`.
pub fn ip_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    }
}

/// Directives whose values are secrets (CONFIG SET arguments redacted).
fn secret_directive(name: &[u8]) -> bool {
    [
        "requirepass",
        "masterauth",
        "access-key-primary",
        "access-key-secondary",
        "tls-key-file-pass",
    ]
    .iter()
    .any(|d| d.as_bytes().eq_ignore_ascii_case(name))
}

/// Which arguments MONITOR and SLOWLOG must show as `(redacted)`: AUTH's
/// credentials, HELLO's AUTH pair, everything after ACL SETUSER, secret
/// CONFIG SET values and MIGRATE's AUTH/AUTH2 passwords — as Redis does.
pub fn redacted(spec: &CommandSpec, args: &Args<'_>, i: usize) -> bool {
    let eq = |j: usize, w: &[u8]| j < args.len() && args.get(j).eq_ignore_ascii_case(w);
    match spec.name {
        "auth" => i >= 1,
        "acl|setuser" => i >= 2,
        "hello" => (2..i).rev().take(2).any(|j| eq(j, b"auth")),
        "config|set" => i >= 3 && (i - 3).is_multiple_of(2) && secret_directive(args.get(i - 1)),
        // AUTH's password, AUTH2's user name and password.
        "migrate" => {
            (i >= 1 && (eq(i - 1, b"auth") || eq(i - 1, b"auth2")))
                || (i >= 2 && eq(i - 2, b"auth2"))
        }
        _ => false,
    }
}
