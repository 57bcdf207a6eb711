//! OBJECT subcommands: introspection of how a value is stored.
//!
//! Quiver's storage differs from Redis's, so some answers are modelled on
//! what Redis would report rather than read from an equivalent structure:
//! REFCOUNT reports Redis's shared-integer refcount for the values Redis
//! would share. FREQ reads the key's real LFU counter (see
//! `quiver_engine::evict`).

use crate::config::parse_memory;
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KeySpec, NO_KEYS};
use quiver_engine::{Entry, Value};
use quiver_resp::Args;

const KS: u64 = acl::KEYSPACE;
/// The key of OBJECT subcommands is argv[2].
const KEY2: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

/// In the order Redis 7.0 lists them (COMMAND INFO / DOCS compare equal).
pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Get the time since a Redis object was last accessed",
        since: "2.2.3",
        ..CommandSpec::new(
            "object|idletime",
            3,
            flag::READONLY,
            KEY2,
            KS,
            "generic",
            idletime,
        )
    },
    CommandSpec {
        summary: "Get the logarithmic access frequency counter of a Redis object",
        since: "4.0.0",
        ..CommandSpec::new("object|freq", 3, flag::READONLY, KEY2, KS, "generic", freq)
    },
    CommandSpec {
        summary: "Show helpful text about the different subcommands",
        since: "6.2.0",
        ..CommandSpec::new(
            "object|help",
            2,
            flag::LOADING | flag::STALE,
            NO_KEYS,
            KS,
            "generic",
            help,
        )
    },
    CommandSpec {
        summary: "Inspect the internal encoding of a Redis object",
        since: "2.2.3",
        ..CommandSpec::new(
            "object|encoding",
            3,
            flag::READONLY,
            KEY2,
            KS,
            "generic",
            encoding,
        )
    },
    CommandSpec {
        summary: "Get the number of references to the value of the key",
        since: "2.2.3",
        ..CommandSpec::new(
            "object|refcount",
            3,
            flag::READONLY,
            KEY2,
            KS,
            "generic",
            refcount,
        )
    },
];

/// The refcount Redis reports for its shared objects (`OBJ_SHARED_REFCOUNT`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis shares the integers 0..10000 (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;

const POLICY_NOTE: &str = "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// Looks the key up as OBJECT does (no-touch read, counted as a hit or miss)
/// and runs `f` on it; a missing key replies null.
fn with_entry(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    f: impl FnOnce(&Ctx<'_>, &Entry, u32) -> Result<i64, CmdError>,
) -> CmdResult {
    let key = args.get(2);
    let mut view = ctx.view(key);
    let access = view.last_access(key).unwrap_or(0);
    let result = view.get_no_touch(key).map(|e| f(ctx, e, access));
    drop(view);
    ctx.server.keyspace.hit(result.is_some());
    match result {
        None => ctx.reply.null(),
        Some(r) => ctx.reply.int(r?),
    }
    Ok(())
}

fn policy(ctx: &Ctx<'_>) -> String {
    ctx.server.config.get("maxmemory-policy")
}

fn encoding(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(2);
    let mut view = ctx.view(key);
    let enc = view.get_no_touch(key).map(|e| e.value.encoding());
    drop(view);
    ctx.server.keyspace.hit(enc.is_some());
    match enc {
        Some(enc) => ctx.reply.bulk_str(enc),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// Redis shares small integers between keys unless an LRU/LFU policy with a
/// memory limit needs per-object access data; those report a huge refcount.
fn refcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    with_entry(ctx, &args, |ctx, e, _access| {
        let shareable = match e.value {
            Value::Int(i) => (0..SHARED_INTEGERS).contains(&i),
            _ => false,
        };
        if !shareable {
            return Ok(1);
        }
        let limited = parse_memory(&ctx.server.config.get("maxmemory")).unwrap_or(0) != 0;
        let p = policy(ctx);
        let per_object = limited && (p.contains("lru") || p.contains("lfu"));
        Ok(if per_object { 1 } else { SHARED_REFCOUNT })
    })
}

/// Seconds since the key was last accessed (whole seconds, like Redis's LRU
/// clock). Meaningless under an LFU policy, where Redis refuses.
fn idletime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    with_entry(ctx, &args, |ctx, _e, access| {
        if policy(ctx).contains("lfu") {
            return Err(CmdError::err(format!(
                "An LFU maxmemory policy is selected, idle time not tracked. {POLICY_NOTE}"
            )));
        }
        Ok(((ctx.now / 1000) as i64 - i64::from(access)).max(0))
    })
}

/// The key's LFU counter, decayed to now (reading it does not count as an
/// access). Only maintained under an LFU policy, where Redis refuses
/// otherwise.
fn freq(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(2);
    let mut view = ctx.view(key);
    let counter = view.lfu_counter(key);
    let live = view.get_no_touch(key).is_some();
    drop(view);
    ctx.server.keyspace.hit(live);
    if !live {
        ctx.reply.null();
        return Ok(());
    }
    if !policy(ctx).contains("lfu") {
        return Err(CmdError::err(format!(
            "An LFU maxmemory policy is not selected, access frequency not tracked. {POLICY_NOTE}"
        )));
    }
    ctx.reply.int(i64::from(counter.unwrap_or(0)));
    Ok(())
}

const HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.array(HELP.len());
    for line in HELP {
        ctx.reply.simple(line);
    }
    Ok(())
}
