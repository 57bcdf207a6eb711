//! INFO: the server's state as `field:value` lines grouped in `# Section`s,
//! with Redis 7.0's section names, field names and field order, because
//! monitoring tools and client libraries parse it by name.
//!
//! Fields for machinery Quiver does not have yet (replication, forks, AOF
//! rewrites, Lua) report the values an idle Redis with that feature unused
//! would report, so parsers find every field they expect.

use crate::context::Ctx;
use crate::error::CmdResult;
use crate::registry::registry;
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::state::{used_memory, ServerState, QUIVER_VERSION, REDIS_VERSION};
use parking_lot::Mutex;
use quiver_resp::Args;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "Returns information and statistics about the server.",
    since: "1.0.0",
    ..CommandSpec::new(
        "info",
        -1,
        flag::LOADING | flag::STALE,
        NO_KEYS,
        acl::DANGEROUS,
        "server",
        info,
    )
}];

/// Every section, in the order INFO prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Sections printed by `INFO` and `INFO default`.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut wanted = [false; SECTIONS.len()];
    if args.len() == 1 {
        select(&mut wanted, DEFAULT);
    }
    for a in args.iter().skip(1) {
        let a = String::from_utf8_lossy(a).to_ascii_lowercase();
        match a.as_str() {
            "default" => select(&mut wanted, DEFAULT),
            "all" | "everything" => select(&mut wanted, SECTIONS),
            other => select(&mut wanted, &[other]),
        }
    }
    let text = render(ctx.server, ctx.now, &wanted);
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

fn select(wanted: &mut [bool], names: &[&str]) {
    for n in names {
        if let Some(i) = SECTIONS.iter().position(|s| s == n) {
            wanted[i] = true;
        }
    }
}

/// Renders the selected sections; each line ends in CRLF and sections are
/// separated by an empty line, as Redis does.
pub fn render(server: &ServerState, now_ms: u64, wanted: &[bool]) -> String {
    let mut out = String::with_capacity(4096);
    for (i, name) in SECTIONS.iter().enumerate() {
        if !wanted[i] {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *name {
            "server" => server_section(&mut out, server, now_ms),
            "clients" => clients_section(&mut out, server),
            "memory" => memory_section(&mut out, server),
            "persistence" => persistence_section(&mut out, server),
            "stats" => stats_section(&mut out, server, now_ms),
            "replication" => replication_section(&mut out, server),
            "cpu" => cpu_section(&mut out),
            "modules" => {
                out.push_str("# Modules\r\n");
                out.push_str(&format!(
                    "module:name=search,ver={},api=1,filters=0,usedby=[],using=[],options=[]\r\n",
                    crate::search::MODULE_VERSION
                ));
                out.push_str(&format!(
                    "module:name=ReJSON,ver={},api=1,filters=0,usedby=[],using=[],options=[]\r\n",
                    crate::json::MODULE_VERSION
                ));
            }
            "commandstats" => commandstats_section(&mut out, server),
            "errorstats" => out.push_str("# Errorstats\r\n"),
            "latencystats" => out.push_str("# Latencystats\r\n"),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(&mut out, server, now_ms),
            _ => {}
        }
    }
    out
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $($arg:tt)*) => {{
        $out.push_str($name);
        $out.push(':');
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

/// Redis's `bytesToHuman`: `991.44K`, `6.74M`, plain bytes below 1 KiB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[(f64, &str)] = &[
        (1024.0, "K"),
        (1048576.0, "M"),
        (1073741824.0, "G"),
        (1099511627776.0, "T"),
        (1125899906842624.0, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    let v = n as f64;
    for (i, (unit, name)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || v < UNITS[i + 1].0 {
            return format!("{:.2}{name}", v / unit);
        }
    }
    format!("{n}B")
}

fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain old data; uname fills it or fails.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("Linux".into(), String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

/// A stable build id for this binary (Redis prints a hash of its build).
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in QUIVER_VERSION.bytes().chain(REDIS_VERSION.bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        format!("{h:016x}")
    })
}

fn server_section(out: &mut String, s: &ServerState, now_ms: u64) {
    let (sys, rel, mach) = uname();
    let uptime = s.started.elapsed().as_secs();
    let hz = s.config.get_i64("hz");
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cfg = s
        .config
        .file
        .read()
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", "{REDIS_VERSION}");
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", "0");
    field!(out, "redis_build_id", "{}", build_id());
    field!(out, "redis_mode", "standalone");
    field!(out, "os", "{sys} {rel} {mach}");
    field!(out, "arch_bits", "{}", usize::BITS);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "atomicvar_api", "c11-builtin");
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", "{}", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", "{}", s.run_id);
    field!(out, "tcp_port", "{}", s.tcp_port.load(Ordering::Relaxed));
    field!(
        out,
        "server_time_usec",
        "{}",
        quiver_engine::clock::now_us()
    );
    field!(out, "uptime_in_seconds", "{uptime}");
    field!(out, "uptime_in_days", "{}", uptime / 86400);
    field!(out, "hz", "{}", s.config.hot.hz.load(Ordering::Relaxed));
    field!(out, "configured_hz", "{hz}");
    // Redis's LRU clock: seconds, modulo 2^24.
    field!(out, "lru_clock", "{}", (now_ms / 1000) & ((1 << 24) - 1));
    field!(out, "executable", "{exe}");
    field!(out, "config_file", "{cfg}");
    field!(out, "io_threads_active", "0");
    field!(out, "quiver_version", "{QUIVER_VERSION}");
}

fn clients_section(out: &mut String, s: &ServerState) {
    let clients = s.clients.all();
    let max_in = clients
        .iter()
        .map(|c| c.query_buf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let max_out = clients
        .iter()
        .map(|c| c.out_buf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", "{}", clients.len());
    field!(out, "cluster_connections", "0");
    field!(
        out,
        "maxclients",
        "{}",
        s.config.hot.maxclients.load(Ordering::Relaxed)
    );
    field!(out, "client_recent_max_input_buffer", "{max_in}");
    field!(out, "client_recent_max_output_buffer", "{max_out}");
    field!(
        out,
        "blocked_clients",
        "{}",
        s.blocking.blocked_clients.load(Ordering::Relaxed)
    );
    field!(
        out,
        "tracking_clients",
        "{}",
        s.tracking.clients.load(Ordering::Relaxed)
    );
    field!(out, "clients_in_timeout_table", "0");
}

/// Resident set size from /proc/self/statm (pages × page size).
pub fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(1) as u64
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64) * (page.max(0) as u64)
}

/// Highest `used_memory` INFO has observed (Redis samples it in its cron).
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Memory in use: the allocator's figure when the binary installed one,
/// otherwise (tests, embedding) the resident set size.
fn current_used_memory() -> u64 {
    let used = used_memory();
    if used > 0 {
        used as u64
    } else {
        rss_bytes()
    }
}

fn memory_section(out: &mut String, s: &ServerState) {
    let used = current_used_memory();
    let rss = rss_bytes();
    let peak = PEAK
        .fetch_max(used as usize, Ordering::Relaxed)
        .max(used as usize) as u64;
    let maxmemory = s.config.get_i64("maxmemory").max(0) as u64;
    let total = total_system_memory();
    let startup = startup_memory();
    let overhead = startup.min(used);
    let dataset = used - overhead;
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let frag = if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    };
    let allocator = if used_memory() > 0 {
        "jemalloc-5.3.0"
    } else {
        "libc"
    };
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", "{used}");
    field!(out, "used_memory_human", "{}", human_bytes(used));
    field!(out, "used_memory_rss", "{rss}");
    field!(out, "used_memory_rss_human", "{}", human_bytes(rss));
    field!(out, "used_memory_peak", "{peak}");
    field!(out, "used_memory_peak_human", "{}", human_bytes(peak));
    field!(out, "used_memory_peak_perc", "{:.2}%", pct(used, peak));
    field!(out, "used_memory_overhead", "{overhead}");
    field!(out, "used_memory_startup", "{startup}");
    field!(out, "used_memory_dataset", "{dataset}");
    field!(
        out,
        "used_memory_dataset_perc",
        "{:.2}%",
        pct(dataset, used)
    );
    field!(out, "allocator_allocated", "{used}");
    field!(out, "allocator_active", "{used}");
    field!(out, "allocator_resident", "{rss}");
    field!(out, "total_system_memory", "{total}");
    field!(out, "total_system_memory_human", "{}", human_bytes(total));
    let lua = s.scripting.memory_stats();
    let vm_total = lua.vm_eval + lua.vm_functions;
    let scripts = lua.scripts_eval + lua.functions_bytes;
    field!(out, "used_memory_lua", "{}", lua.vm_eval);
    field!(out, "used_memory_vm_eval", "{}", lua.vm_eval);
    field!(out, "used_memory_lua_human", "{}", human_bytes(lua.vm_eval));
    field!(out, "used_memory_scripts_eval", "{}", lua.scripts_eval);
    field!(out, "number_of_cached_scripts", "{}", lua.cached_scripts);
    field!(out, "number_of_functions", "{}", lua.functions);
    field!(out, "number_of_libraries", "{}", lua.libraries);
    field!(out, "used_memory_vm_functions", "{}", lua.vm_functions);
    field!(out, "used_memory_vm_total", "{vm_total}");
    field!(
        out,
        "used_memory_vm_total_human",
        "{}",
        human_bytes(vm_total)
    );
    field!(out, "used_memory_functions", "{}", lua.functions_bytes);
    field!(out, "used_memory_scripts", "{scripts}");
    field!(out, "used_memory_scripts_human", "{}", human_bytes(scripts));
    field!(out, "maxmemory", "{maxmemory}");
    field!(out, "maxmemory_human", "{}", human_bytes(maxmemory));
    field!(
        out,
        "maxmemory_policy",
        "{}",
        s.config.get("maxmemory-policy")
    );
    field!(out, "allocator_frag_ratio", "1.00");
    field!(out, "allocator_frag_bytes", "0");
    field!(out, "allocator_rss_ratio", "{:.2}", frag);
    field!(out, "allocator_rss_bytes", "{}", rss.saturating_sub(used));
    field!(out, "rss_overhead_ratio", "1.00");
    field!(out, "rss_overhead_bytes", "0");
    field!(out, "mem_fragmentation_ratio", "{:.2}", frag);
    field!(
        out,
        "mem_fragmentation_bytes",
        "{}",
        rss as i64 - used as i64
    );
    field!(out, "mem_not_counted_for_evict", "0");
    field!(out, "mem_replication_backlog", "0");
    field!(out, "mem_total_replication_buffers", "0");
    field!(out, "mem_clients_slaves", "0");
    field!(out, "mem_clients_normal", "{}", clients_memory(s));
    field!(out, "mem_cluster_links", "0");
    field!(out, "mem_aof_buffer", "0");
    field!(out, "mem_allocator", "{allocator}");
    field!(out, "active_defrag_running", "0");
    field!(out, "lazyfree_pending_objects", "0");
    field!(out, "lazyfreed_objects", "0");
}

/// Memory in use the first time INFO looked (stands in for Redis's
/// `used_memory_startup`, measured right after start-up).
fn startup_memory() -> u64 {
    static STARTUP: OnceLock<u64> = OnceLock::new();
    *STARTUP.get_or_init(current_used_memory)
}

/// Approximate buffer memory of normal clients.
fn clients_memory(s: &ServerState) -> usize {
    s.clients
        .all()
        .iter()
        .map(|c| c.query_buf.load(Ordering::Relaxed) + c.out_buf.load(Ordering::Relaxed))
        .sum()
}

fn persistence_section(out: &mut String, s: &ServerState) {
    out.push_str("# Persistence\r\n");
    for (k, v) in [
        ("loading", "0"),
        ("async_loading", "0"),
        ("current_cow_peak", "0"),
        ("current_cow_size", "0"),
        ("current_cow_size_age", "0"),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", "0"),
        ("current_save_keys_total", "0"),
    ] {
        field!(out, k, "{v}");
    }
    field!(
        out,
        "rdb_changes_since_last_save",
        "{}",
        s.dirty.load(Ordering::Relaxed)
    );
    field!(out, "rdb_bgsave_in_progress", "0");
    field!(out, "rdb_last_save_time", "{}", s.started_unix_ms / 1000);
    for (k, v) in [
        ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", "-1"),
        ("rdb_current_bgsave_time_sec", "-1"),
        ("rdb_saves", "0"),
        ("rdb_last_cow_size", "0"),
        ("rdb_last_load_keys_expired", "0"),
        ("rdb_last_load_keys_loaded", "0"),
        ("aof_enabled", "0"),
        ("aof_rewrite_in_progress", "0"),
        ("aof_rewrite_scheduled", "0"),
        ("aof_last_rewrite_time_sec", "-1"),
        ("aof_current_rewrite_time_sec", "-1"),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", "0"),
        ("aof_rewrites_consecutive_failures", "0"),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", "0"),
        ("module_fork_in_progress", "0"),
        ("module_fork_last_cow_size", "0"),
    ] {
        field!(out, k, "{v}");
    }
}

/// The last (time, commands processed) sample, for the instantaneous rate.
static OPS_SAMPLE: Mutex<(u64, u64, u64)> = Mutex::new((0, 0, 0));

/// Commands per second over the interval since the previous sample (at
/// least 100 ms apart); Redis averages cron samples the same way.
fn instantaneous_ops(now_ms: u64, processed: u64) -> u64 {
    let mut s = OPS_SAMPLE.lock();
    let (t, n, rate) = *s;
    if t == 0 {
        *s = (now_ms, processed, 0);
        return 0;
    }
    let dt = now_ms.saturating_sub(t);
    if dt < 100 {
        return rate;
    }
    let rate = processed.saturating_sub(n) * 1000 / dt;
    *s = (now_ms, processed, rate);
    rate
}

fn stats_section(out: &mut String, s: &ServerState, now_ms: u64) {
    let st = &s.stats;
    let ks = &s.keyspace.stats;
    let processed = st.commands_processed.load(Ordering::Relaxed);
    out.push_str("# Stats\r\n");
    field!(
        out,
        "total_connections_received",
        "{}",
        s.clients.total_connections.load(Ordering::Relaxed)
    );
    field!(out, "total_commands_processed", "{processed}");
    field!(
        out,
        "instantaneous_ops_per_sec",
        "{}",
        instantaneous_ops(now_ms, processed)
    );
    field!(
        out,
        "total_net_input_bytes",
        "{}",
        st.net_input_bytes.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_net_output_bytes",
        "{}",
        st.net_output_bytes.load(Ordering::Relaxed)
    );
    for k in ["total_net_repl_input_bytes", "total_net_repl_output_bytes"] {
        field!(out, k, "0");
    }
    for k in [
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
        "instantaneous_input_repl_kbps",
        "instantaneous_output_repl_kbps",
    ] {
        field!(out, k, "0.00");
    }
    field!(
        out,
        "rejected_connections",
        "{}",
        s.clients.rejected_connections.load(Ordering::Relaxed)
    );
    for k in ["sync_full", "sync_partial_ok", "sync_partial_err"] {
        field!(out, k, "0");
    }
    field!(
        out,
        "expired_keys",
        "{}",
        ks.expired_keys.load(Ordering::Relaxed)
    );
    field!(out, "expired_stale_perc", "0.00");
    for k in [
        "expired_time_cap_reached_count",
        "expire_cycle_cpu_milliseconds",
    ] {
        field!(out, k, "0");
    }
    field!(
        out,
        "evicted_keys",
        "{}",
        ks.evicted_keys.load(Ordering::Relaxed)
    );
    field!(out, "evicted_clients", "0");
    let (exceeded_total, exceeded_now) = s.evict.exceeded_ms(s);
    field!(out, "total_eviction_exceeded_time", "{exceeded_total}");
    field!(out, "current_eviction_exceeded_time", "{exceeded_now}");
    field!(
        out,
        "keyspace_hits",
        "{}",
        ks.keyspace_hits.load(Ordering::Relaxed)
    );
    field!(
        out,
        "keyspace_misses",
        "{}",
        ks.keyspace_misses.load(Ordering::Relaxed)
    );
    let (chans, pats, shard) = s.pubsub.counts();
    field!(out, "pubsub_channels", "{chans}");
    field!(out, "pubsub_patterns", "{pats}");
    field!(out, "pubsubshard_channels", "{shard}");
    for k in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        field!(out, k, "0");
    }
    let (tkeys, titems, tprefixes) = s.tracking.totals();
    field!(out, "tracking_total_keys", "{tkeys}");
    field!(out, "tracking_total_items", "{titems}");
    field!(out, "tracking_total_prefixes", "{tprefixes}");
    field!(
        out,
        "unexpected_error_replies",
        "{}",
        st.unexpected_error_replies.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_error_replies",
        "{}",
        st.error_replies.load(Ordering::Relaxed)
    );
    field!(out, "dump_payload_sanitizations", "0");
    field!(
        out,
        "total_reads_processed",
        "{}",
        st.total_reads.load(Ordering::Relaxed)
    );
    field!(
        out,
        "total_writes_processed",
        "{}",
        st.total_writes.load(Ordering::Relaxed)
    );
    for k in [
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
    ] {
        field!(out, k, "0");
    }
}

/// A replication id for this process (no replicas yet, but clients read it).
fn replid() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..40)
            .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect()
    })
}

fn replication_section(out: &mut String, s: &ServerState) {
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", "0");
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", "{}", replid());
    field!(out, "master_replid2", "{}", "0".repeat(40));
    field!(out, "master_repl_offset", "0");
    field!(out, "second_repl_offset", "-1");
    field!(out, "repl_backlog_active", "0");
    field!(
        out,
        "repl_backlog_size",
        "{}",
        s.config.get_i64("repl-backlog-size")
    );
    field!(out, "repl_backlog_first_byte_offset", "0");
    field!(out, "repl_backlog_histlen", "0");
}

/// (system, user) CPU seconds for `who` (RUSAGE_SELF, _CHILDREN, _THREAD).
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: rusage is plain old data that getrusage fills in.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return (0.0, 0.0);
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(ru.ru_stime), secs(ru.ru_utime))
    }
}

fn cpu_section(out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    #[cfg(target_os = "linux")]
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    #[cfg(not(target_os = "linux"))]
    let (tsys, tuser) = (sys, user);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", "{sys:.6}");
    field!(out, "used_cpu_user", "{user:.6}");
    field!(out, "used_cpu_sys_children", "{csys:.6}");
    field!(out, "used_cpu_user_children", "{cuser:.6}");
    field!(out, "used_cpu_sys_main_thread", "{tsys:.6}");
    field!(out, "used_cpu_user_main_thread", "{tuser:.6}");
}

fn commandstats_section(out: &mut String, s: &ServerState) {
    out.push_str("# Commandstats\r\n");
    for e in registry().entries.iter() {
        let st = &s.cmd_stats[e.id];
        let calls = st.calls.load(Ordering::Relaxed);
        let rejected = st.rejected.load(Ordering::Relaxed);
        let failed = st.failed.load(Ordering::Relaxed);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let usec = st.usec.load(Ordering::Relaxed);
        let per = if calls == 0 {
            0.0
        } else {
            usec as f64 / calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            e.spec.name
        );
    }
}

fn keyspace_section(out: &mut String, s: &ServerState, _now_ms: u64) {
    out.push_str("# Keyspace\r\n");
    for i in 0..s.keyspace.db_count() {
        let db = s.keyspace.db(i);
        let keys = db.len();
        if keys == 0 {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={keys},expires={},avg_ttl=0\r\n",
            db.volatile_len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units_match_redis() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1015232), "991.44K");
        assert_eq!(human_bytes(7069696), "6.74M");
        assert_eq!(human_bytes(25276514304), "23.54G");
    }

    #[test]
    fn sections_in_canonical_order() {
        let state = ServerState::new(crate::config::Config::new());
        let mut wanted = [false; SECTIONS.len()];
        select(&mut wanted, &["keyspace", "server", "cluster"]);
        let text = render(&state, 1, &wanted);
        let heads: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(heads, ["# Server", "# Cluster", "# Keyspace"]);
        assert!(text.contains("\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"));
        assert!(text.contains(&format!("redis_version:{REDIS_VERSION}\r\n")));
    }
}
