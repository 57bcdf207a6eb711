//! State shared by every connection: the keyspace, configuration, client
//! registry, statistics, SLOWLOG, LATENCY and MONITOR feeds.

use crate::clients::ClientRegistry;
use crate::config::Config;
use crate::registry::registry;
use parking_lot::Mutex;
use quiver_engine::Keyspace;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::sync::{mpsc, Notify};

/// The version Quiver reports as `redis_version`. Clients (and redis-py's
/// tests) gate features on it, so it names the Redis whose behaviour we
/// implement: the differential tests run against Redis 7.0.
pub const REDIS_VERSION: &str = "7.4.2";
pub const QUIVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reports the bytes currently allocated by the process; the binary installs
/// one backed by its allocator's own statistics (INFO `used_memory`).
pub static USED_MEMORY: std::sync::OnceLock<fn() -> usize> = std::sync::OnceLock::new();

/// Bytes allocated right now, or 0 if no probe was installed.
pub fn used_memory() -> usize {
    USED_MEMORY.get().map(|f| f()).unwrap_or(0)
}

/// Checks that the `tls-*` directives as they stand now make a working TLS
/// configuration; the server crate installs it (the commands crate does
/// not know rustls). CONFIG SET runs it after changing any `tls-*`
/// directive and rolls the change back when it fails, as Redis does, so a
/// typo in a certificate path is an error reply rather than a silent
/// "OK" that only shows up in the log at the next handshake.
pub static TLS_CHECK: std::sync::OnceLock<TlsCheck> = std::sync::OnceLock::new();

/// See [`TLS_CHECK`]; the error is the reason, for the log.
pub type TlsCheck = fn(&ServerState) -> Result<(), String>;

/// Per-command counters (INFO commandstats).
#[derive(Debug, Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// Server-wide counters (INFO stats).
#[derive(Debug, Default)]
pub struct ServerStats {
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub total_reads: AtomicU64,
    pub total_writes: AtomicU64,
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SlowLog {
    pub next_id: AtomicU64,
    pub entries: Mutex<VecDeque<SlowEntry>>,
}

/// One event's record in the latency monitor.
#[derive(Debug, Clone, Default)]
pub struct LatencyEvent {
    pub latest_time: u64,
    pub latest_ms: u64,
    pub max_ms: u64,
    pub history: VecDeque<(u64, u64)>,
}

#[derive(Debug, Default)]
pub struct LatencyMonitor {
    pub events: Mutex<std::collections::BTreeMap<String, LatencyEvent>>,
}

impl LatencyMonitor {
    pub fn record(&self, event: &str, now_s: u64, ms: u64) {
        let mut events = self.events.lock();
        let e = events.entry(event.to_string()).or_default();
        e.latest_time = now_s;
        e.latest_ms = ms;
        e.max_ms = e.max_ms.max(ms);
        if e.history.back().is_some_and(|(t, _)| *t == now_s) {
            if let Some(last) = e.history.back_mut() {
                last.1 = last.1.max(ms);
            }
        } else {
            e.history.push_back((now_s, ms));
            if e.history.len() > 160 {
                e.history.pop_front();
            }
        }
    }
}

/// MONITOR subscribers: each gets every executed command as a status line.
#[derive(Default)]
pub struct Monitors {
    pub count: AtomicUsize,
    pub senders: Mutex<Vec<(u64, mpsc::UnboundedSender<Vec<u8>>)>>,
}

impl Monitors {
    pub fn add(&self, id: u64) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut s = self.senders.lock();
        s.push((id, tx));
        self.count.store(s.len(), Ordering::Release);
        rx
    }

    pub fn remove(&self, id: u64) {
        let mut s = self.senders.lock();
        s.retain(|(i, _)| *i != id);
        self.count.store(s.len(), Ordering::Release);
    }

    pub fn feed(&self, line: Vec<u8>) {
        let s = self.senders.lock();
        for (_, tx) in s.iter() {
            let _ = tx.send(line.clone());
        }
    }
}

/// CLIENT PAUSE state.
#[derive(Debug, Default)]
pub struct Pause {
    /// Unix ms until which clients are paused; 0 when not paused.
    pub until_ms: AtomicU64,
    /// Only write commands are paused (`WRITE` mode).
    pub writes_only: AtomicBool,
    pub notify: Notify,
}

/// Everything connections share.
pub struct ServerState {
    pub keyspace: Keyspace,
    pub config: Config,
    pub clients: ClientRegistry,
    pub stats: ServerStats,
    pub cmd_stats: Box<[CmdStat]>,
    pub slowlog: SlowLog,
    pub latency: LatencyMonitor,
    pub monitors: Monitors,
    pub pause: Pause,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub run_id: String,
    /// Port the TCP listener actually bound (INFO `tcp_port`).
    pub tcp_port: AtomicU64,
    /// Set by SHUTDOWN; the server stops accepting and exits.
    pub shutdown: Notify,
    pub shutting_down: AtomicBool,
    /// Search indexes (FT.*), fed by change events.
    pub search: crate::search::SearchState,
    /// ACL users, access keys, token auth and the ACL LOG.
    pub acl: crate::acl::Acl,
    /// Port the TLS listener bound (0: none).
    pub tls_port: AtomicU64,
    pub stat_reset_ms: AtomicU64,
    /// Data-changing commands since start (INFO `rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
    /// The background expiry cycle runs (DEBUG SET-ACTIVE-EXPIRE 0 stops it,
    /// so tests can observe lazy expiry alone).
    pub active_expire: AtomicBool,
    /// Clients blocked on keys (BLPOP & co.) and the writers that wake them.
    pub blocking: crate::blocking::Blocking,
    /// WATCHed keys and the EXECs they can abort.
    pub watches: crate::watch::Watches,
    /// Lua scripts and functions, and the running-script marker.
    pub scripting: crate::scripting::Scripting,
    /// Pub/sub channels, patterns and shard channels with their subscribers.
    pub pubsub: std::sync::Arc<crate::pubsub::Hub>,
    /// CLIENT TRACKING: which clients must hear about which keys.
    pub tracking: std::sync::Arc<crate::tracking::Table>,
    /// Eviction under `maxmemory`: candidate pool and memory readings.
    pub evict: crate::evict::Evictor,
}

impl ServerState {
    pub fn new(config: Config) -> Self {
        let databases = config.get_i64("databases").max(1) as usize;
        let run_id: String = {
            use rand::Rng;
            let mut rng = rand::thread_rng();
            (0..40)
                .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
                .collect()
        };
        let mut keyspace = Keyspace::new(databases);
        // The engine applies the LFU settings the config keeps current.
        keyspace.stats.lfu = config.hot.lfu.clone();
        let state = ServerState {
            keyspace,
            config,
            clients: ClientRegistry::default(),
            stats: ServerStats::default(),
            cmd_stats: (0..registry().len()).map(|_| CmdStat::default()).collect(),
            slowlog: SlowLog::default(),
            latency: LatencyMonitor::default(),
            monitors: Monitors::default(),
            pause: Pause::default(),
            started: Instant::now(),
            started_unix_ms: quiver_engine::now_ms(),
            run_id,
            tcp_port: AtomicU64::new(0),
            shutdown: Notify::new(),
            search: Default::default(),
            shutting_down: AtomicBool::new(false),
            acl: crate::acl::Acl::new(),
            tls_port: AtomicU64::new(0),
            stat_reset_ms: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            active_expire: AtomicBool::new(true),
            blocking: crate::blocking::Blocking::default(),
            watches: crate::watch::Watches::default(),
            scripting: crate::scripting::Scripting::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            evict: Default::default(),
        };
        // A config file may enable keyspace notifications for expiry.
        crate::events::update_listening(&state);
        state
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        for c in self.cmd_stats.iter() {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected.store(0, Ordering::Relaxed);
            c.failed.store(0, Ordering::Relaxed);
        }
        let s = &self.stats;
        for a in [
            &s.commands_processed,
            &s.net_input_bytes,
            &s.net_output_bytes,
            &s.error_replies,
            &s.unexpected_error_replies,
            &s.total_reads,
            &s.total_writes,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        let ks = &self.keyspace.stats;
        ks.expired_keys.store(0, Ordering::Relaxed);
        ks.keyspace_hits.store(0, Ordering::Relaxed);
        ks.keyspace_misses.store(0, Ordering::Relaxed);
        ks.evicted_keys.store(0, Ordering::Relaxed);
        self.evict.reset_stats();
        self.clients.total_connections.store(0, Ordering::Relaxed);
        self.clients
            .rejected_connections
            .store(0, Ordering::Relaxed);
    }
}
