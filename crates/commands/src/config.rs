//! The directive registry: one table serves the config file, the command
//! line, and `CONFIG GET/SET/RESETSTAT/REWRITE`.
//!
//! Values are kept in their canonical text form (what CONFIG GET prints);
//! the few that the request path reads on every command are mirrored into
//! atomics so that reading them costs nothing.

use crate::error::CmdError;
use parking_lot::RwLock;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// How a directive's value is parsed and validated.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    /// Bytes, accepting `k`/`kb`/`m`/`mb`/`g`/`gb` suffixes.
    Memory {
        max: i64,
    },
    Bool,
    Enum(&'static [&'static str]),
    Str,
    /// `save`: pairs of seconds and changes, or empty.
    Save,
    /// `client-output-buffer-limit`: class, hard, soft, seconds, repeated.
    OutputBufferLimit,
    /// `notify-keyspace-events`: a set of class flag characters.
    NotifyFlags,
}

/// One directive.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub mutable: bool,
    /// Hidden from `CONFIG GET *` listings of secrets? Redis shows them; kept for parity.
    pub sensitive: bool,
}

const fn d(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable,
        sensitive: false,
    }
}

const fn da(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
    mutable: bool,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable,
        sensitive: false,
    }
}

const INT: Kind = Kind::Int {
    min: i32::MIN as i64,
    max: i32::MAX as i64,
};
const UINT: Kind = Kind::Int {
    min: 0,
    max: i32::MAX as i64,
};
const LONG: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
const MEM: Kind = Kind::Memory { max: i64::MAX };
const YESNO: Kind = Kind::Bool;

pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
pub const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every directive Quiver accepts, with Redis 7's names and defaults.
pub static DIRECTIVES: &[Directive] = &[
    d("port", Kind::Int { min: 0, max: 65535 }, "6379", false),
    d("bind", Kind::Str, "127.0.0.1", false),
    d(
        "databases",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "16",
        false,
    ),
    d("dir", Kind::Str, ".", true),
    d("loglevel", Kind::Enum(LOGLEVELS), "notice", true),
    d("logfile", Kind::Str, "", false),
    d(
        "maxclients",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "10000",
        true,
    ),
    d("timeout", UINT, "0", true),
    d("tcp-keepalive", UINT, "300", true),
    d("tcp-backlog", UINT, "511", false),
    d(
        "proto-max-bulk-len",
        Kind::Memory { max: i64::MAX },
        "536870912",
        true,
    ),
    d("client-query-buffer-limit", MEM, "1073741824", true),
    d(
        "hz",
        Kind::Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "10",
        true,
    ),
    d("dynamic-hz", YESNO, "yes", true),
    d("io-threads", Kind::Int { min: 1, max: 128 }, "1", false),
    d("io-threads-do-reads", YESNO, "no", false),
    d(
        "io-poll-us",
        Kind::Int {
            min: 0,
            max: 1_000_000,
        },
        "50",
        true,
    ),
    d("daemonize", YESNO, "no", false),
    d(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        false,
    ),
    d("pidfile", Kind::Str, "", false),
    d("unixsocket", Kind::Str, "", false),
    d("unixsocketperm", UINT, "0", false),
    d("protected-mode", YESNO, "yes", true),
    d("requirepass", Kind::Str, "", true),
    d("maxmemory", MEM, "0", true),
    d("maxmemory-policy", Kind::Enum(POLICIES), "noeviction", true),
    d(
        "maxmemory-samples",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "5",
        true,
    ),
    d(
        "maxmemory-eviction-tenacity",
        Kind::Int { min: 0, max: 100 },
        "10",
        true,
    ),
    d("maxmemory-clients", MEM, "0", true),
    d("lfu-log-factor", UINT, "10", true),
    d("lfu-decay-time", UINT, "1", true),
    d(
        "active-expire-effort",
        Kind::Int { min: 1, max: 10 },
        "1",
        true,
    ),
    d("activerehashing", YESNO, "yes", true),
    d("lazyfree-lazy-eviction", YESNO, "no", true),
    d("lazyfree-lazy-expire", YESNO, "no", true),
    d("lazyfree-lazy-server-del", YESNO, "no", true),
    d("lazyfree-lazy-user-del", YESNO, "no", true),
    d("lazyfree-lazy-user-flush", YESNO, "no", true),
    d("appendonly", YESNO, "no", true),
    d("appendfilename", Kind::Str, "appendonly.aof", false),
    d("appenddirname", Kind::Str, "appendonlydir", false),
    d(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec",
        true,
    ),
    d("save", Kind::Save, "3600 1 300 100 60 10000", true),
    d("dbfilename", Kind::Str, "dump.rdb", true),
    d("rdbcompression", YESNO, "yes", true),
    d("rdbchecksum", YESNO, "yes", true),
    d("stop-writes-on-bgsave-error", YESNO, "yes", true),
    d(
        "slowlog-log-slower-than",
        Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        "10000",
        true,
    ),
    d("slowlog-max-len", LONG, "128", true),
    d("latency-monitor-threshold", LONG, "0", true),
    d("latency-tracking", YESNO, "yes", true),
    d(
        "latency-tracking-info-percentiles",
        Kind::Str,
        "50 99 99.9",
        true,
    ),
    d("notify-keyspace-events", Kind::NotifyFlags, "", true),
    da(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        LONG,
        "128",
        true,
    ),
    da(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        LONG,
        "64",
        true,
    ),
    da(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        INT,
        "-2",
        true,
    ),
    d("list-compress-depth", UINT, "0", true),
    d("set-max-intset-entries", LONG, "512", true),
    d("set-max-listpack-entries", LONG, "128", true),
    d("set-max-listpack-value", LONG, "64", true),
    da(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        LONG,
        "128",
        true,
    ),
    da(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        LONG,
        "64",
        true,
    ),
    d("hll-sparse-max-bytes", LONG, "3000", true),
    d("stream-node-max-bytes", MEM, "4096", true),
    d("stream-node-max-entries", LONG, "100", true),
    d(
        "client-output-buffer-limit",
        Kind::OutputBufferLimit,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
    ),
    da("replica-read-only", "slave-read-only", YESNO, "yes", true),
    d("tracking-table-max-keys", LONG, "1000000", true),
    d("acllog-max-len", LONG, "128", true),
    d("aclfile", Kind::Str, "", false),
    // TLS (see the server crate's tls module). Certificates are re-read
    // when any of these change, without touching live connections.
    d("tls-port", Kind::Int { min: 0, max: 65535 }, "0", false),
    d("tls-cert-file", Kind::Str, "", true),
    d("tls-key-file", Kind::Str, "", true),
    d("tls-key-file-pass", Kind::Str, "", true),
    d("tls-ca-cert-file", Kind::Str, "", true),
    d("tls-ca-cert-dir", Kind::Str, "", true),
    d(
        "tls-auth-clients",
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
        true,
    ),
    d("tls-protocols", Kind::Str, "", true),
    d("tls-ciphersuites", Kind::Str, "", true),
    d("tls-ciphers", Kind::Str, "", true),
    // Two access keys for the default user, valid at once, so one can be
    // rotated while clients use the other (Azure semantics).
    d("access-key-primary", Kind::Str, "", true),
    d("access-key-secondary", Kind::Str, "", true),
    d("access-key-authentication", YESNO, "yes", true),
    // Token (OIDC/JWT) authentication: trusted issuers and audiences
    // (space separated), the JWKS file of signing keys, and per-object-id
    // policies `oid:role;oid:role` (roles owner, contributor, reader or ACL
    // rules), with an optional default for unknown ids.
    d("jwt-issuers", Kind::Str, "", true),
    d(
        "jwt-audiences",
        Kind::Str,
        "https://redis.azure.com acca5fbb-b7e4-4009-81f1-37e38fd66d78",
        true,
    ),
    d("jwt-jwks-file", Kind::Str, "", true),
    d("jwt-policies", Kind::Str, "", true),
    d("jwt-default-policy", Kind::Str, "", true),
    // Failed AUTHs allowed per client IP per minute before AUTH is refused
    // outright (0: unlimited).
    d("auth-failures-max", LONG, "100", true),
    da("busy-reply-threshold", "lua-time-limit", LONG, "5000", true),
    d(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    d(
        "enable-protected-configs",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    d(
        "enable-module-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        false,
    ),
    d("cluster-enabled", YESNO, "no", false),
    d("always-show-logo", YESNO, "no", false),
    d("set-proc-title", YESNO, "yes", false),
    d("crash-log-enabled", YESNO, "yes", true),
    d(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        true,
    ),
    d("activedefrag", YESNO, "no", true),
    d("jemalloc-bg-thread", YESNO, "yes", true),
    d("repl-backlog-size", MEM, "1048576", true),
    d("min-replicas-to-write", UINT, "0", true),
    d("min-replicas-max-lag", UINT, "10", true),
    d("replica-serve-stale-data", YESNO, "yes", true),
    d("replica-priority", UINT, "100", true),
    d("masterauth", Kind::Str, "", true),
    d("masteruser", Kind::Str, "", true),
    d("aof-use-rdb-preamble", YESNO, "yes", true),
    d("auto-aof-rewrite-percentage", UINT, "100", true),
    d("auto-aof-rewrite-min-size", MEM, "67108864", true),
    d("aof-timestamp-enabled", YESNO, "no", false),
    d("shutdown-timeout", UINT, "10", true),
    d("shutdown-on-sigint", Kind::Str, "default", true),
    d("shutdown-on-sigterm", Kind::Str, "default", true),
];

/// Looks a directive up by name or alias, case-insensitively.
pub fn find(name: &str) -> Option<(usize, &'static Directive)> {
    DIRECTIVES.iter().enumerate().find(|(_, d)| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Parses `1gb`, `512mb`, `100k`, `42` into bytes (Redis's `memtoull`).
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul): (&str, i64) = if let Some(n) = lower.strip_suffix("gb") {
        (n, 1 << 30)
    } else if let Some(n) = lower.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = lower.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = lower.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = lower.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = lower.strip_suffix('k') {
        (n, 1000)
    } else if let Some(n) = lower.strip_suffix('b') {
        (n, 1)
    } else {
        (lower.as_str(), 1)
    };
    let v: i64 = num.parse().ok()?;
    if v < 0 {
        return None;
    }
    v.checked_mul(mul)
}

/// Validates and normalises a value for `dir`; the error text is what
/// Redis appends after `CONFIG SET failed (possibly related to argument …) - `.
pub fn normalise(dir: &Directive, value: &str) -> Result<String, String> {
    match dir.kind {
        Kind::Int { min, max } => {
            let v: i64 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if v < min || v > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(v.to_string())
        }
        Kind::Memory { max } => {
            let v =
                parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            if v > max {
                return Err(format!("argument must be between 0 and {max} inclusive"));
            }
            Ok(v.to_string())
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Enum(opts) => {
            let lower = value.to_ascii_lowercase();
            if opts.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    opts.join(", ")
                ))
            }
        }
        Kind::Str => Ok(value.to_string()),
        Kind::Save => {
            let parts: Vec<&str> = value.split_whitespace().collect();
            if !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".into());
            }
            Ok(parts.join(" "))
        }
        Kind::OutputBufferLimit => normalise_obl(value),
        Kind::NotifyFlags => {
            let flags = parse_notify_flags(value).ok_or_else(|| {
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()
            })?;
            Ok(notify_flags_string(&flags))
        }
    }
}

/// The keyspace-event classes Redis accepts.
const NOTIFY_CLASSES: &str = "g$lshzxetmdnKEA";

fn parse_notify_flags(value: &str) -> Option<Vec<char>> {
    let mut out = Vec::new();
    for c in value.chars() {
        if !NOTIFY_CLASSES.contains(c) {
            return None;
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Some(out)
}

/// Redis prints the flags back in a canonical form: `A` when every class
/// it stands for is on (the `n` class is then not shown, as in Redis 7.0),
/// otherwise each class letter in a fixed order; then K, E and m.
fn notify_flags_string(flags: &[char]) -> String {
    let has = |c: char| flags.contains(&c);
    let all = "g$lshzxetd";
    let mut s = String::new();
    if has('A') || all.chars().all(has) {
        s.push('A');
    } else {
        for c in "g$lshzxetdn".chars() {
            if has(c) {
                s.push(c);
            }
        }
    }
    for c in ['K', 'E', 'm'] {
        if has(c) {
            s.push(c);
        }
    }
    s
}

fn normalise_obl(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut classes = [
        ("normal", [0i64; 3]),
        ("slave", [268435456, 67108864, 60]),
        ("pubsub", [33554432, 8388608, 60]),
    ];
    for chunk in parts.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs: Option<i64> = chunk[3].parse().ok().filter(|v: &i64| *v >= 0);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => classes[class].1 = [h, s, t],
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    Ok(classes
        .iter()
        .map(|(n, v)| format!("{n} {} {} {}", v[0], v[1], v[2]))
        .collect::<Vec<_>>()
        .join(" "))
}

/// Values read on the request path, mirrored from the text table.
#[derive(Debug)]
pub struct Hot {
    pub timeout: AtomicU64,
    pub maxclients: AtomicUsize,
    pub proto_max_bulk_len: AtomicI64,
    pub client_query_buffer_limit: AtomicUsize,
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    pub latency_threshold: AtomicU64,
    /// `busy-reply-threshold` (alias `lua-time-limit`) in ms: the script
    /// gate reads it on every pass while a script runs, so no name lookup.
    pub busy_reply_threshold: AtomicU64,
    pub hz: AtomicU64,
    /// `io-poll-us`: how long an I/O thread polls its sockets before it
    /// sleeps (Quiver's own directive; see `quiver_server::idle_poll`).
    pub io_poll_us: AtomicU64,
    pub protected_mode: AtomicBool,
    pub active_expire_effort: AtomicU64,
    pub enable_debug: AtomicBool,
    /// The compact-encoding limits (`*-max-listpack-*`, `set-max-intset-entries`),
    /// in the order of `quiver_engine::types::Limits`.
    pub hash_max_listpack_entries: AtomicI64,
    pub hash_max_listpack_value: AtomicI64,
    pub set_max_intset_entries: AtomicI64,
    pub set_max_listpack_entries: AtomicI64,
    pub set_max_listpack_value: AtomicI64,
    pub zset_max_listpack_entries: AtomicI64,
    pub zset_max_listpack_value: AtomicI64,
    pub list_max_listpack_size: AtomicI64,
    /// `notify-keyspace-events` as `notify::*` class bits (0: off).
    pub notify_flags: std::sync::atomic::AtomicU32,
    /// The `pubsub` class of `client-output-buffer-limit`: hard bytes, soft
    /// bytes, soft seconds.
    pub pubsub_obl_hard: AtomicU64,
    pub pubsub_obl_soft: AtomicU64,
    pub pubsub_obl_secs: AtomicU64,
    pub tracking_table_max_keys: AtomicU64,
    /// `maxmemory` in bytes (0: no limit). Dispatch loads it before every
    /// command, so an unlimited server pays one relaxed load.
    pub maxmemory: AtomicU64,
    /// `maxmemory-policy` as an index into [`POLICIES`].
    pub maxmemory_policy: std::sync::atomic::AtomicU8,
    pub maxmemory_samples: AtomicU64,
    pub maxmemory_eviction_tenacity: AtomicU64,
    /// The LFU settings, shared with the engine (which applies them on
    /// every key access): the keyspace holds a clone of this `Arc`.
    pub lfu: std::sync::Arc<quiver_engine::evict::LfuConfig>,
    /// Bumped whenever an authentication directive changes (requirepass,
    /// access keys, jwt-*): the ACL layer re-applies them lazily.
    pub auth_gen: AtomicU64,
    /// Bumped by every set of a `tls-*` directive, changed or not: as in
    /// Redis, `CONFIG SET tls-cert-file <same path>` re-reads rotated
    /// certificate files (the server's TLS acceptor compares generations).
    pub tls_gen: AtomicU64,
}

impl Hot {
    /// The compact-encoding limits, for the engine's collection types.
    pub fn encoding_limits(&self) -> quiver_engine::types::Limits {
        let g = |a: &AtomicI64| a.load(Ordering::Relaxed).max(0) as usize;
        quiver_engine::types::Limits {
            hash_entries: g(&self.hash_max_listpack_entries),
            hash_value: g(&self.hash_max_listpack_value),
            set_intset_entries: g(&self.set_max_intset_entries),
            set_entries: g(&self.set_max_listpack_entries),
            set_value: g(&self.set_max_listpack_value),
            zset_entries: g(&self.zset_max_listpack_entries),
            zset_value: g(&self.zset_max_listpack_value),
            list_size: self.list_max_listpack_size.load(Ordering::Relaxed),
        }
    }
}

/// The live configuration.
pub struct Config {
    values: RwLock<Vec<String>>,
    pub hot: Hot,
    /// The config file the server started from (for CONFIG REWRITE).
    pub file: RwLock<Option<std::path::PathBuf>>,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    pub fn new() -> Self {
        let cfg = Config {
            values: RwLock::new(DIRECTIVES.iter().map(|d| d.default.to_string()).collect()),
            hot: Hot {
                timeout: AtomicU64::new(0),
                maxclients: AtomicUsize::new(10000),
                proto_max_bulk_len: AtomicI64::new(536870912),
                client_query_buffer_limit: AtomicUsize::new(1 << 30),
                slowlog_slower_than: AtomicI64::new(10000),
                slowlog_max_len: AtomicUsize::new(128),
                latency_threshold: AtomicU64::new(0),
                busy_reply_threshold: AtomicU64::new(5000),
                hz: AtomicU64::new(10),
                io_poll_us: AtomicU64::new(50),
                protected_mode: AtomicBool::new(true),
                active_expire_effort: AtomicU64::new(1),
                enable_debug: AtomicBool::new(false),
                hash_max_listpack_entries: AtomicI64::new(512),
                hash_max_listpack_value: AtomicI64::new(64),
                set_max_intset_entries: AtomicI64::new(512),
                set_max_listpack_entries: AtomicI64::new(128),
                set_max_listpack_value: AtomicI64::new(64),
                zset_max_listpack_entries: AtomicI64::new(128),
                zset_max_listpack_value: AtomicI64::new(64),
                list_max_listpack_size: AtomicI64::new(-2),
                notify_flags: std::sync::atomic::AtomicU32::new(0),
                pubsub_obl_hard: AtomicU64::new(0),
                pubsub_obl_soft: AtomicU64::new(0),
                pubsub_obl_secs: AtomicU64::new(0),
                tracking_table_max_keys: AtomicU64::new(0),
                maxmemory: AtomicU64::new(0),
                maxmemory_policy: std::sync::atomic::AtomicU8::new(0),
                maxmemory_samples: AtomicU64::new(5),
                maxmemory_eviction_tenacity: AtomicU64::new(10),
                lfu: Default::default(),
                auth_gen: AtomicU64::new(0),
                tls_gen: AtomicU64::new(0),
            },
            file: RwLock::new(None),
        };
        for (i, d) in DIRECTIVES.iter().enumerate() {
            cfg.apply_hot(i, d.default, d.default);
            let _ = d;
        }
        cfg
    }

    /// The current text value of a directive (by canonical name).
    pub fn get(&self, name: &str) -> String {
        match find(name) {
            Some((i, _)) => self.values.read()[i].clone(),
            None => String::new(),
        }
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    /// Sets a directive at start-up (immutable ones allowed).
    pub fn set_startup(&self, name: &str, value: &str) -> Result<(), String> {
        let (i, dir) =
            find(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let v = normalise(dir, value)?;
        self.apply_hot(i, &v, value);
        self.values.write()[i] = v;
        Ok(())
    }

    /// CONFIG SET with one or more pairs, all-or-nothing as in Redis 7.
    pub fn set_runtime(&self, pairs: &[(String, String)]) -> Result<(), CmdError> {
        let mut staged: Vec<(usize, String, &str)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let Some((i, dir)) = find(name) else {
                return Err(CmdError::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            };
            if staged.iter().any(|(j, _, _)| *j == i) {
                return Err(CmdError::err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                )));
            }
            if !dir.mutable {
                return Err(CmdError::err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"
                )));
            }
            let v = normalise(dir, value).map_err(|e| {
                CmdError::err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - {e}"
                ))
            })?;
            staged.push((i, v, value.as_str()));
        }
        let mut values = self.values.write();
        for (i, v, raw) in staged {
            self.apply_hot(i, &v, raw);
            values[i] = v;
        }
        Ok(())
    }

    /// Name/value pairs whose name or alias matches any of `patterns`.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for (i, d) in DIRECTIVES.iter().enumerate() {
            for name in std::iter::once(d.name).chain(d.alias) {
                if out.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                if patterns
                    .iter()
                    .any(|p| quiver_engine::glob_match(p, name.as_bytes(), true))
                {
                    out.push((name, values[i].clone()));
                }
            }
        }
        out
    }

    /// Directives whose value differs from the default (CONFIG REWRITE).
    pub fn non_default(&self) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        DIRECTIVES
            .iter()
            .enumerate()
            .filter(|(i, d)| values[*i] != d.default)
            .map(|(i, d)| (d.name, values[i].clone()))
            .collect()
    }

    /// Mirrors a directive into its `hot` atomic. `v` is the normalised
    /// value, `raw` the one given (they differ only where normalising
    /// loses information: `notify-keyspace-events` prints `A` without the
    /// `n` that is still in effect, as Redis 7.0 does).
    fn apply_hot(&self, i: usize, v: &str, raw: &str) {
        let h = &self.hot;
        let num = || v.parse::<i64>().unwrap_or(0);
        let name = DIRECTIVES[i].name;
        if name == "requirepass" || name.starts_with("access-key") || name.starts_with("jwt-") {
            h.auth_gen.fetch_add(1, Ordering::AcqRel);
        }
        if name.starts_with("tls-") {
            h.tls_gen.fetch_add(1, Ordering::AcqRel);
        }
        match DIRECTIVES[i].name {
            "timeout" => h.timeout.store(num() as u64, Ordering::Relaxed),
            "maxclients" => h.maxclients.store(num() as usize, Ordering::Relaxed),
            "io-poll-us" => h.io_poll_us.store(num() as u64, Ordering::Relaxed),
            "proto-max-bulk-len" => h.proto_max_bulk_len.store(num(), Ordering::Relaxed),
            "client-query-buffer-limit" => h
                .client_query_buffer_limit
                .store(num() as usize, Ordering::Relaxed),
            "slowlog-log-slower-than" => h.slowlog_slower_than.store(num(), Ordering::Relaxed),
            "slowlog-max-len" => h.slowlog_max_len.store(num() as usize, Ordering::Relaxed),
            "latency-monitor-threshold" => {
                h.latency_threshold.store(num() as u64, Ordering::Relaxed)
            }
            "busy-reply-threshold" => h
                .busy_reply_threshold
                .store(num().max(0) as u64, Ordering::Relaxed),
            "hz" => h.hz.store(num().clamp(1, 500) as u64, Ordering::Relaxed),
            "protected-mode" => h.protected_mode.store(v == "yes", Ordering::Relaxed),
            "active-expire-effort" => h
                .active_expire_effort
                .store(num() as u64, Ordering::Relaxed),
            "enable-debug-command" => h.enable_debug.store(v != "no", Ordering::Relaxed),
            "hash-max-listpack-entries" => {
                h.hash_max_listpack_entries.store(num(), Ordering::Relaxed)
            }
            "hash-max-listpack-value" => h.hash_max_listpack_value.store(num(), Ordering::Relaxed),
            "set-max-intset-entries" => h.set_max_intset_entries.store(num(), Ordering::Relaxed),
            "set-max-listpack-entries" => {
                h.set_max_listpack_entries.store(num(), Ordering::Relaxed)
            }
            "set-max-listpack-value" => h.set_max_listpack_value.store(num(), Ordering::Relaxed),
            "zset-max-listpack-entries" => {
                h.zset_max_listpack_entries.store(num(), Ordering::Relaxed)
            }
            "zset-max-listpack-value" => h.zset_max_listpack_value.store(num(), Ordering::Relaxed),
            "list-max-listpack-size" => h.list_max_listpack_size.store(num(), Ordering::Relaxed),
            "notify-keyspace-events" => h
                .notify_flags
                .store(crate::notify::parse_flags(raw), Ordering::Relaxed),
            "client-output-buffer-limit" => {
                // Canonical form: "normal h s t slave h s t pubsub h s t".
                let parts: Vec<&str> = v.split_whitespace().collect();
                if let Some(i) = parts.iter().position(|p| *p == "pubsub") {
                    let n = |j: usize| parts.get(i + j).and_then(|x| x.parse().ok()).unwrap_or(0);
                    h.pubsub_obl_hard.store(n(1), Ordering::Relaxed);
                    h.pubsub_obl_soft.store(n(2), Ordering::Relaxed);
                    h.pubsub_obl_secs.store(n(3), Ordering::Relaxed);
                }
            }
            "maxmemory" => h.maxmemory.store(num().max(0) as u64, Ordering::Relaxed),
            "maxmemory-policy" => {
                let i = POLICIES.iter().position(|p| *p == v).unwrap_or(0);
                h.maxmemory_policy.store(i as u8, Ordering::Relaxed);
                h.lfu.enabled.store(v.ends_with("-lfu"), Ordering::Relaxed);
            }
            "maxmemory-samples" => h
                .maxmemory_samples
                .store(num().max(1) as u64, Ordering::Relaxed),
            "maxmemory-eviction-tenacity" => h
                .maxmemory_eviction_tenacity
                .store(num().max(0) as u64, Ordering::Relaxed),
            "lfu-log-factor" => h
                .lfu
                .log_factor
                .store(num().clamp(0, u32::MAX as i64) as u32, Ordering::Relaxed),
            "lfu-decay-time" => h
                .lfu
                .decay_time
                .store(num().clamp(0, u32::MAX as i64) as u32, Ordering::Relaxed),
            "tracking-table-max-keys" => h
                .tracking_table_max_keys
                .store(num() as u64, Ordering::Relaxed),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("100MB"), Some(100 << 20));
        assert_eq!(parse_memory("5k"), Some(5000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn set_is_all_or_nothing() {
        let c = Config::new();
        let err = c
            .set_runtime(&[
                ("timeout".into(), "5".into()),
                ("maxclients".into(), "x".into()),
            ])
            .unwrap_err();
        assert!(err.to_string().contains("'maxclients'"));
        assert_eq!(c.get("timeout"), "0");
        c.set_runtime(&[("timeout".into(), "5".into())]).unwrap();
        assert_eq!(c.hot.timeout.load(Ordering::Relaxed), 5);
        assert!(c.set_runtime(&[("databases".into(), "3".into())]).is_err());
    }

    #[test]
    fn notify_flags_canonical() {
        let dir = find("notify-keyspace-events").unwrap().1;
        assert_eq!(normalise(dir, "KEA").unwrap(), "AKE");
        assert_eq!(normalise(dir, "Ex").unwrap(), "xE");
        assert_eq!(normalise(dir, "").unwrap(), "");
        assert!(normalise(dir, "Q").is_err());
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(
            find("hash-max-ziplist-entries").unwrap().1.name,
            "hash-max-listpack-entries"
        );
        assert_eq!(find("PORT").unwrap().1.name, "port");
    }
}
