//! MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.
//!
//! Redis answers these from its own allocator bookkeeping. Quiver has the
//! process-wide figures INFO's memory section reports (jemalloc's
//! `allocated` when the binary installed the probe, the resident set size
//! otherwise) and, per key, [`Value::heap_size`]. MEMORY STATS reads its
//! process-wide numbers *from INFO's memory section* so that the two
//! commands can never disagree; per-key numbers are estimates of what the
//! key costs in Quiver's own layout, not Redis's (a client can compare
//! them with each other, not with a Redis server's).

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::spec::{flag, CommandSpec, KeySpec, NO_KEYS};
use crate::state::{used_memory, ServerState};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::{Bytes16, Entry};
use quiver_resp::Args;

const LS: u32 = flag::LOADING | flag::STALE;

/// MEMORY USAGE's key is argv[2].
const KEY2: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for memory diagnostics commands",
    since: "4.0.0",
    subcommands: MEMORY,
    ..CommandSpec::new(
        "memory",
        -2,
        0,
        NO_KEYS,
        0,
        "server",
        crate::server::container,
    )
}];

static MEMORY: &[CommandSpec] = &[
    CommandSpec {
        summary: "Show helpful text about the different subcommands",
        since: "4.0.0",
        ..CommandSpec::new("memory|help", 2, LS, NO_KEYS, 0, "server", help)
    },
    CommandSpec {
        summary: "Show memory usage details",
        since: "4.0.0",
        ..CommandSpec::new("memory|stats", 2, 0, NO_KEYS, 0, "server", stats)
    },
    CommandSpec {
        summary: "Show allocator internal stats",
        since: "4.0.0",
        ..CommandSpec::new(
            "memory|malloc-stats",
            2,
            0,
            NO_KEYS,
            0,
            "server",
            malloc_stats,
        )
    },
    CommandSpec {
        summary: "Estimate the memory usage of a key",
        since: "4.0.0",
        ..CommandSpec::new("memory|usage", -3, flag::READONLY, KEY2, 0, "server", usage)
    },
    CommandSpec {
        summary: "Outputs memory problems report",
        since: "4.0.0",
        ..CommandSpec::new("memory|doctor", 2, 0, NO_KEYS, 0, "server", doctor)
    },
    CommandSpec {
        summary: "Ask the allocator to release memory",
        since: "4.0.0",
        ..CommandSpec::new("memory|purge", 2, 0, NO_KEYS, 0, "server", purge)
    },
];

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "MEMORY",
        &[
            "DOCTOR",
            "    A short report on memory problems, if any are visible.",
            "MALLOC-STATS",
            "    Statistics from the memory allocator.",
            "PURGE",
            "    Ask the allocator to return unused memory (a no-op in Quiver).",
            "STATS",
            "    Memory usage details of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Estimated bytes used by <key> and its value. <count> is accepted for",
            "    compatibility; Quiver always accounts for the whole value.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}

/// Bytes one key costs in the keyspace besides its value's heap: the table
/// slot (a pointer and a control byte), the slot record (key header +
/// entry) and the key bytes when they do not fit inline.
fn key_overhead(key_len: usize) -> usize {
    let inline = std::mem::size_of::<Bytes16>() + std::mem::size_of::<Entry>();
    let spilled = if key_len > 16 { key_len } else { 0 };
    std::mem::size_of::<usize>() + 1 + inline + spilled
}

/// `MEMORY USAGE key [SAMPLES count]`: nil for a missing key. Options are
/// checked before the key is looked up, as Redis does (so a bad option
/// fails even for a missing key).
fn usage(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if eq_ic(args.get(i), "samples") && i + 1 < args.len() {
            // Negative counts are a syntax error in Redis, not a range error.
            if parse_i64(args.get(i + 1))? < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = args.get(2);
    // Redis finds the key without touching its access time (no LRU/LFU
    // update, no hit/miss counted); an already expired key counts as gone.
    let mut view = ctx.view(key);
    let size = view
        .peek(key)
        .map(|e| key_overhead(key.len()) + e.value.heap_size());
    drop(view);
    match size {
        Some(n) => ctx.reply.int(n as i64),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// The process-wide memory figures, as INFO's memory section reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Figures {
    used: u64,
    peak: u64,
    startup: u64,
    rss: u64,
    clients_normal: u64,
    allocator_allocated: u64,
    allocator_active: u64,
    allocator_resident: u64,
}

impl Figures {
    /// Reads the memory fields out of INFO's rendering. Going through the
    /// text keeps MEMORY STATS and INFO in agreement without duplicating
    /// INFO's peak/startup tracking; MEMORY STATS is rare enough that
    /// rendering a few KB of INFO is no cost worth avoiding.
    fn read(server: &ServerState, now: u64) -> Figures {
        // `render` indexes this by its section list; every section is
        // requested and the array is longer than any list of sections.
        let text = crate::info::render(server, now, &[true; 64]);
        Figures::parse(&text)
    }

    fn parse(text: &str) -> Figures {
        let mut f = Figures::default();
        let mut in_memory = false;
        for line in text.split("\r\n") {
            if let Some(section) = line.strip_prefix("# ") {
                in_memory = section == "Memory";
                continue;
            }
            if !in_memory {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let Ok(v) = value.parse::<u64>() else {
                continue;
            };
            match name {
                "used_memory" => f.used = v,
                "used_memory_peak" => f.peak = v,
                "used_memory_startup" => f.startup = v,
                "used_memory_rss" => f.rss = v,
                "mem_clients_normal" => f.clients_normal = v,
                "allocator_allocated" => f.allocator_allocated = v,
                "allocator_active" => f.allocator_active = v,
                "allocator_resident" => f.allocator_resident = v,
                _ => {}
            }
        }
        f.peak = f.peak.max(f.used);
        f
    }
}

/// `a / b` as Redis computes its ratios (single-precision floats, sent with
/// 17 significant digits).
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f32 / b as f32) as f64
    }
}

/// `MEMORY STATS`: Redis 7.0's field names and order. A `db.<n>` map is
/// included for every database holding keys.
fn stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let f = Figures::read(ctx.server, ctx.now);
    let ks = &ctx.server.keyspace;
    // Per database: (index, keys, main table overhead). Expiry times live
    // inside each entry, so Quiver has no separate expires table; cluster
    // mode (and its slot-to-keys index) does not exist.
    let dbs: Vec<(usize, usize, u64)> = (0..ks.db_count())
        .map(|i| (i, ks.db(i).len()))
        .filter(|&(_, n)| n > 0)
        .map(|(i, n)| (i, n, (n * key_overhead(0)) as u64))
        .collect();
    let keys: u64 = dbs.iter().map(|d| d.1 as u64).sum();
    let overhead = f.startup + f.clients_normal + dbs.iter().map(|d| d.2).sum::<u64>();
    let net = f.used.saturating_sub(f.startup);
    let dataset = f.used.saturating_sub(overhead);
    let signed = |a: u64, b: u64| a as i64 - b as i64;

    let r = &mut *ctx.reply;
    r.map(27 + dbs.len());
    let int = |r: &mut quiver_resp::ReplyBuf, name: &str, v: i64| {
        r.bulk(name.as_bytes());
        r.int(v);
    };
    int(r, "peak.allocated", f.peak as i64);
    int(r, "total.allocated", f.used as i64);
    int(r, "startup.allocated", f.startup as i64);
    int(r, "replication.backlog", 0);
    int(r, "clients.slaves", 0);
    int(r, "clients.normal", f.clients_normal as i64);
    int(r, "cluster.links", 0);
    int(r, "aof.buffer", 0);
    int(r, "lua.caches", 0);
    int(r, "functions.caches", 0);
    for &(i, _, main) in &dbs {
        r.bulk(format!("db.{i}").as_bytes());
        r.map(3);
        int(r, "overhead.hashtable.main", main as i64);
        int(r, "overhead.hashtable.expires", 0);
        int(r, "overhead.hashtable.slot-to-keys", 0);
    }
    int(r, "overhead.total", overhead as i64);
    int(r, "keys.count", keys as i64);
    int(
        r,
        "keys.bytes-per-key",
        net.checked_div(keys).unwrap_or(0) as i64,
    );
    int(r, "dataset.bytes", dataset as i64);
    let dbl = |r: &mut quiver_resp::ReplyBuf, name: &str, v: f64| {
        r.bulk(name.as_bytes());
        r.double(v);
    };
    dbl(r, "dataset.percentage", ratio(dataset * 100, net));
    dbl(r, "peak.percentage", ratio(f.used * 100, f.peak));
    int(r, "allocator.allocated", f.allocator_allocated as i64);
    int(r, "allocator.active", f.allocator_active as i64);
    int(r, "allocator.resident", f.allocator_resident as i64);
    dbl(
        r,
        "allocator-fragmentation.ratio",
        ratio(f.allocator_active, f.allocator_allocated),
    );
    int(
        r,
        "allocator-fragmentation.bytes",
        signed(f.allocator_active, f.allocator_allocated),
    );
    dbl(
        r,
        "allocator-rss.ratio",
        ratio(f.allocator_resident, f.allocator_active),
    );
    int(
        r,
        "allocator-rss.bytes",
        signed(f.allocator_resident, f.allocator_active),
    );
    dbl(r, "rss-overhead.ratio", ratio(f.rss, f.allocator_resident));
    int(r, "rss-overhead.bytes", signed(f.rss, f.allocator_resident));
    dbl(r, "fragmentation", ratio(f.rss, f.used));
    int(r, "fragmentation.bytes", signed(f.rss, f.used));
    Ok(())
}

/// Below this much memory in use there is nothing to diagnose (Redis uses
/// the same 5 MB threshold).
const DOCTOR_MIN_BYTES: u64 = 5 << 20;

/// `MEMORY DOCTOR`: a short plain-text report (verbatim text in RESP3, as
/// in Redis). The wording is Quiver's own; the checks are the ones that
/// make sense without a real allocator report: a peak far above current
/// use, and a resident size far above what is allocated.
fn doctor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let f = Figures::read(ctx.server, ctx.now);
    let mut text = String::new();
    if f.used < DOCTOR_MIN_BYTES {
        text.push_str(
            "Memory doctor: this instance uses very little memory (under 5 MB), \
             too little for a meaningful diagnosis.\n",
        );
    } else {
        let mut issues = Vec::new();
        if f.peak as f64 > f.used as f64 * 1.5 {
            issues.push(format!(
                "* Peak memory: the peak ({} bytes) is more than 150% of the memory in use now \
                 ({} bytes); memory freed since then may not have gone back to the system.",
                f.peak, f.used
            ));
        }
        if f.rss as f64 > f.used as f64 * 1.4 {
            issues.push(format!(
                "* High fragmentation: the resident set ({} bytes) is more than 140% of the \
                 memory allocated ({} bytes).",
                f.rss, f.used
            ));
        }
        if issues.is_empty() {
            text.push_str("Memory doctor: no memory problems found.\n");
        } else {
            text.push_str("Memory doctor found these possible problems:\n\n");
            for i in issues {
                text.push_str(&i);
                text.push('\n');
            }
        }
    }
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

/// `MEMORY MALLOC-STATS`: Redis prints jemalloc's full statistics dump.
/// Quiver's command layer sees only the allocated and resident totals, so
/// it reports those; without an allocator probe it answers with Redis's
/// sentence for allocators that keep no statistics.
fn malloc_stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if used_memory() == 0 {
        ctx.reply
            .verbatim(b"Stats not supported for the current allocator");
        return Ok(());
    }
    let f = Figures::read(ctx.server, ctx.now);
    let text = format!(
        "___ Begin allocator statistics ___\n\
         allocator: jemalloc\n\
         allocated: {}\n\
         active: {}\n\
         resident: {}\n\
         rss: {}\n\
         ___ End allocator statistics ___\n",
        f.allocator_allocated, f.allocator_active, f.allocator_resident, f.rss
    );
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

/// `MEMORY PURGE`: Redis asks jemalloc to release dirty pages. Quiver's
/// jemalloc decays them on its own schedule, so there is nothing to force;
/// the reply is Redis's.
fn purge(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_come_from_the_memory_section_only() {
        let text = "# Server\r\nused_memory:1\r\n\r\n# Memory\r\nused_memory:1000\r\n\
                    used_memory_human:1000B\r\nused_memory_rss:4000\r\nused_memory_peak:900\r\n\
                    used_memory_startup:200\r\nmem_clients_normal:30\r\n\
                    allocator_allocated:1000\r\nallocator_active:1100\r\n\
                    allocator_resident:3000\r\n\r\n# Stats\r\nused_memory_peak:5\r\n";
        let f = Figures::parse(text);
        assert_eq!(
            f,
            Figures {
                used: 1000,
                // The peak is never below current use.
                peak: 1000,
                startup: 200,
                rss: 4000,
                clients_normal: 30,
                allocator_allocated: 1000,
                allocator_active: 1100,
                allocator_resident: 3000,
            }
        );
    }

    #[test]
    fn ratios_are_single_precision_and_safe_on_zero() {
        assert_eq!(ratio(1, 0), 0.0);
        assert_eq!(ratio(1, 3), (1.0f32 / 3.0f32) as f64);
        assert_ne!(ratio(1, 3), 1.0f64 / 3.0f64);
    }

    #[test]
    fn long_keys_cost_their_bytes() {
        assert_eq!(key_overhead(16), key_overhead(0));
        assert_eq!(key_overhead(100), key_overhead(0) + 100);
    }
}
