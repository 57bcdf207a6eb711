//! SLOWLOG and LATENCY: reading and resetting what dispatch records in
//! `ServerState::slowlog` and `ServerState::latency`.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::spec::{flag, CommandSpec, NO_KEYS};
use crate::util::parse_i64;
use quiver_resp::Args;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

const LS: u32 = flag::LOADING | flag::STALE;
const ADMIN: u32 = flag::ADMIN | LS;
const ADMIN_NS: u32 = flag::ADMIN | flag::NOSCRIPT | LS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "A container for slow log commands.",
        since: "2.2.12",
        subcommands: SLOWLOG,
        ..CommandSpec::new(
            "slowlog",
            -2,
            0,
            NO_KEYS,
            0,
            "server",
            crate::server::container,
        )
    },
    CommandSpec {
        summary: "A container for latency diagnostics commands.",
        since: "2.8.13",
        subcommands: LATENCY,
        ..CommandSpec::new(
            "latency",
            -2,
            0,
            NO_KEYS,
            0,
            "server",
            crate::server::container,
        )
    },
];

static SLOWLOG: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the slow log's entries.",
        since: "2.2.12",
        ..CommandSpec::new("slowlog|get", -2, ADMIN, NO_KEYS, 0, "server", slowlog_get)
    },
    CommandSpec {
        summary: "Returns the number of entries in the slow log.",
        since: "2.2.12",
        ..CommandSpec::new("slowlog|len", 2, ADMIN, NO_KEYS, 0, "server", slowlog_len)
    },
    CommandSpec {
        summary: "Clears all entries from the slow log.",
        since: "2.2.12",
        ..CommandSpec::new(
            "slowlog|reset",
            2,
            ADMIN,
            NO_KEYS,
            0,
            "server",
            slowlog_reset,
        )
    },
    CommandSpec {
        summary: "Show helpful text about the different subcommands.",
        since: "6.2.0",
        ..CommandSpec::new("slowlog|help", 2, LS, NO_KEYS, 0, "server", slowlog_help)
    },
];

static LATENCY: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the latest latency samples for all events.",
        since: "2.8.13",
        ..CommandSpec::new(
            "latency|latest",
            2,
            ADMIN_NS,
            NO_KEYS,
            0,
            "server",
            latency_latest,
        )
    },
    CommandSpec {
        summary: "Returns timestamp-latency samples for an event.",
        since: "2.8.13",
        ..CommandSpec::new(
            "latency|history",
            3,
            ADMIN_NS,
            NO_KEYS,
            0,
            "server",
            latency_history,
        )
    },
    CommandSpec {
        summary: "Resets the latency data for one or more events.",
        since: "2.8.13",
        ..CommandSpec::new(
            "latency|reset",
            -2,
            ADMIN_NS,
            NO_KEYS,
            0,
            "server",
            latency_reset,
        )
    },
    CommandSpec {
        summary: "Returns a human-readable latency analysis report.",
        since: "2.8.13",
        ..CommandSpec::new(
            "latency|doctor",
            2,
            ADMIN_NS,
            NO_KEYS,
            0,
            "server",
            latency_doctor,
        )
    },
    CommandSpec {
        summary: "Returns helpful text about the different subcommands.",
        since: "2.8.13",
        ..CommandSpec::new("latency|help", 2, LS, NO_KEYS, 0, "server", latency_help)
    },
];

fn slowlog_get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let count = match args.try_get(2) {
        None => 10,
        Some(a) => match parse_i64(a) {
            Ok(n) if n >= -1 => n,
            _ => return Err(CmdError::err("count should be greater than or equal to -1")),
        },
    };
    let log = ctx.server.slowlog.entries.lock();
    let n = if count == -1 {
        log.len()
    } else {
        log.len().min(count as usize)
    };
    let r = &mut *ctx.reply;
    r.array(n);
    for e in log.iter().take(n) {
        r.array(6);
        r.int(e.id as i64);
        r.int(e.time as i64);
        r.int(e.micros as i64);
        r.array(e.args.len());
        for a in &e.args {
            r.bulk(a);
        }
        r.bulk_str(&e.addr);
        r.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let n = ctx.server.slowlog.entries.lock().len();
    ctx.reply.int(n as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.slowlog.entries.lock().clear();
    ctx.reply.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    The newest <count> entries (10 by default, -1 for all). Each entry holds:",
            "    id, unix time, duration in microseconds, arguments, client address,",
            "    client name.",
            "LEN",
            "    How many entries the slow log holds.",
            "RESET",
            "    Delete every entry.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}

fn latency_latest(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let events = ctx.server.latency.events.lock();
    let r = &mut *ctx.reply;
    r.array(events.len());
    for (name, e) in events.iter() {
        r.array(4);
        r.bulk_str(name);
        r.int(e.latest_time as i64);
        r.int(e.latest_ms as i64);
        r.int(e.max_ms as i64);
    }
    Ok(())
}

fn latency_history(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2));
    let events = ctx.server.latency.events.lock();
    let r = &mut *ctx.reply;
    match events.get(name.as_ref()) {
        None => r.array(0),
        Some(e) => {
            r.array(e.history.len());
            for (t, ms) in &e.history {
                r.array(2);
                r.int(*t as i64);
                r.int(*ms as i64);
            }
        }
    }
    Ok(())
}

/// Without arguments every event is reset; otherwise the named ones. The
/// reply counts the events actually removed.
fn latency_reset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut events = ctx.server.latency.events.lock();
    let n = if args.len() == 2 {
        let n = events.len();
        events.clear();
        n
    } else {
        args.iter()
            .skip(2)
            .filter(|a| events.remove(String::from_utf8_lossy(a).as_ref()).is_some())
            .count()
    };
    ctx.reply.int(n as i64);
    Ok(())
}

/// A short plain-language report: whether monitoring is on, and per event
/// its spike count, average and worst latency.
fn latency_doctor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let threshold = ctx
        .server
        .config
        .hot
        .latency_threshold
        .load(Ordering::Relaxed);
    let events = ctx.server.latency.events.lock();
    let mut text = String::new();
    if threshold == 0 && events.is_empty() {
        text.push_str(
            "Latency monitoring is disabled. Enable it with \
             \"CONFIG SET latency-monitor-threshold <milliseconds>\" and run \
             LATENCY DOCTOR again once some time has passed.\n",
        );
    } else if events.is_empty() {
        let _ = writeln!(
            text,
            "No event took {threshold} ms or longer since monitoring began: nothing to report."
        );
    } else {
        let _ = writeln!(
            text,
            "Latency report ({} event class(es) reached the {threshold} ms threshold):\n",
            events.len()
        );
        for (i, (name, e)) in events.iter().enumerate() {
            let n = e.history.len().max(1);
            let avg = e.history.iter().map(|(_, ms)| ms).sum::<u64>() / n as u64;
            let _ = writeln!(
                text,
                "{}. {name}: {} sample(s), average {avg} ms, latest {} ms, worst {} ms.",
                i + 1,
                e.history.len(),
                e.latest_ms,
                e.max_ms
            );
        }
        text.push_str(
            "\nSLOWLOG GET shows which commands were slow; large keys that are \
             deleted or expire at once are a common cause.\n",
        );
    }
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "LATENCY",
        &[
            "DOCTOR",
            "    A readable analysis of the recorded latency events.",
            "HISTORY <event>",
            "    The (unix time, milliseconds) samples recorded for <event>.",
            "LATEST",
            "    For every event: name, time of the latest sample, its latency and the",
            "    worst latency seen.",
            "RESET [<event> ...]",
            "    Forget the named events, or all of them.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}
