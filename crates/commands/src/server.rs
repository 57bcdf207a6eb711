//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LOLWUT,
//! SHUTDOWN, MONITOR and the CLIENT container. INFO, CONFIG, COMMAND,
//! SLOWLOG/LATENCY and DEBUG live in their own modules.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::state::REDIS_VERSION;
use crate::util::{eq_ic, parse_i64};
use quiver_resp::Args;
use std::sync::atomic::Ordering;

const KS: u64 = acl::KEYSPACE;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "A container for client connection commands.",
        since: "2.4.0",
        subcommands: crate::client::SUBCOMMANDS,
        ..CommandSpec::new("client", -2, 0, NO_KEYS, acl::SLOW, "connection", container)
    },
    CommandSpec {
        summary: "Returns the number of keys in the database.",
        ..CommandSpec::new(
            "dbsize",
            1,
            flag::READONLY | flag::FAST,
            NO_KEYS,
            KS,
            "server",
            dbsize,
        )
    },
    CommandSpec {
        summary: "Remove all keys from the current database.",
        ..CommandSpec::new(
            "flushdb",
            -1,
            flag::WRITE,
            NO_KEYS,
            KS | acl::DANGEROUS,
            "server",
            flushdb,
        )
    },
    CommandSpec {
        summary: "Removes all keys from all databases.",
        ..CommandSpec::new(
            "flushall",
            -1,
            flag::WRITE,
            NO_KEYS,
            KS | acl::DANGEROUS,
            "server",
            flushall,
        )
    },
    CommandSpec {
        summary: "Swaps two Redis databases.",
        since: "4.0.0",
        ..CommandSpec::new(
            "swapdb",
            3,
            flag::WRITE | flag::FAST,
            NO_KEYS,
            KS | acl::DANGEROUS,
            "server",
            swapdb,
        )
    },
    CommandSpec {
        summary: "Returns the server time.",
        since: "2.6.0",
        ..CommandSpec::new(
            "time",
            1,
            flag::LOADING | flag::STALE | flag::FAST,
            NO_KEYS,
            0,
            "server",
            time,
        )
    },
    CommandSpec {
        summary: "Displays computer art and the Redis version",
        since: "5.0.0",
        ..CommandSpec::new(
            "lolwut",
            -1,
            flag::READONLY | flag::FAST,
            NO_KEYS,
            0,
            "server",
            lolwut,
        )
    },
    CommandSpec {
        summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        ..CommandSpec::new(
            "shutdown",
            -1,
            flag::ADMIN
                | flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::NO_MULTI
                | flag::ALLOW_BUSY,
            NO_KEYS,
            0,
            "server",
            shutdown,
        )
    },
    CommandSpec {
        summary: "Listens for all requests received by the server in real-time.",
        ..CommandSpec::new(
            "monitor",
            1,
            flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            NO_KEYS,
            0,
            "server",
            monitor,
        )
    },
];

/// Containers are never called directly: dispatch resolves a subcommand.
pub fn container(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::Syntax)
}

fn dbsize(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let n = ctx.server.keyspace.db(ctx.session.db).len();
    ctx.reply.int(n as i64);
    Ok(())
}

/// `[ASYNC|SYNC]`: whether the old data is freed in the background. Without
/// an option, `lazyfree-lazy-user-flush` decides.
fn flush_mode(ctx: &Ctx<'_>, args: &Args<'_>) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(ctx.server.config.get_bool("lazyfree-lazy-user-flush")),
        2 if eq_ic(args.get(1), "async") => Ok(true),
        2 if eq_ic(args.get(1), "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let lazy = flush_mode(ctx, &args)?;
    let db = ctx.session.db;
    let removed = ctx.server.keyspace.db(db).len() as u64;
    ctx.server.keyspace.flush_db(db, lazy);
    crate::events::db_flushed(ctx.server, Some(db));
    ctx.dirty(removed.max(1));
    ctx.reply.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let lazy = flush_mode(ctx, &args)?;
    let removed = ctx.server.keyspace.total_keys() as u64;
    ctx.server.keyspace.flush_all(lazy);
    crate::events::db_flushed(ctx.server, None);
    ctx.dirty(removed.max(1));
    ctx.reply.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let a = parse_i64(args.get(1)).map_err(|_| CmdError::err("invalid first DB index"))?;
    let b = parse_i64(args.get(2)).map_err(|_| CmdError::err("invalid second DB index"))?;
    let n = ctx.server.keyspace.db_count() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    if a != b {
        ctx.server.keyspace.swap(a as usize, b as usize);
        // Clients blocked in either database may now find their keys.
        ctx.server.blocking.signal_db(a as usize);
        ctx.server.blocking.signal_db(b as usize);
        crate::events::dbs_swapped(ctx.server, a as usize, b as usize);
    }
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}

fn time(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let us = quiver_engine::clock::now_us();
    ctx.reply.array(2);
    ctx.reply.bulk_int((us / 1_000_000) as i64);
    ctx.reply.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

/// LOLWUT [VERSION v]: a small quiver-and-arrows drawing plus the version
/// line clients print.
fn lolwut(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut i = 1;
    while i < args.len() {
        if eq_ic(args.get(i), "version") && i + 1 < args.len() {
            parse_i64(args.get(i + 1))?;
            i += 2;
        } else {
            i += 1;
        }
    }
    let art = concat!(
        "   |>  |>  |>\n",
        "   |   |   |\n",
        "  _|___|___|_\n",
        " |  QUIVER   |\n",
        " |           |\n",
        " |___________|\n",
        "\n"
    );
    let text = format!(
        "{art}Quiver ver. {}, Redis ver. {REDIS_VERSION}\n",
        crate::state::QUIVER_VERSION
    );
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. There is nothing to save
/// yet and no shutdown ever waits, so ABORT always finds none in progress.
/// On success the server stops and the connection closes without a reply,
/// as in Redis.
fn shutdown(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for a in args.iter().skip(1) {
        if eq_ic(a, "nosave") {
            nosave = true;
        } else if eq_ic(a, "save") {
            save = true;
        } else if eq_ic(a, "now") || eq_ic(a, "force") {
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (save && nosave) || (abort && args.len() != 2) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::err("No shutdown in progress."));
    }
    let s = ctx.server;
    s.shutting_down.store(true, Ordering::SeqCst);
    s.shutdown.notify_one();
    ctx.session.close_after_reply = true;
    Ok(())
}

fn monitor(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    // Already monitoring: Redis ignores a second MONITOR silently.
    if ctx.session.handle.monitor.load(Ordering::Relaxed) {
        return Ok(());
    }
    ctx.session.handle.monitor.store(true, Ordering::Relaxed);
    ctx.session.start_monitor = true;
    ctx.reply.ok();
    Ok(())
}
