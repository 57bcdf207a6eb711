//! Transactions: MULTI, EXEC, DISCARD.
//!
//! Queued commands are resolved again at EXEC and run through the same
//! `dispatch::call` as direct commands, so every handler works unchanged
//! inside a transaction. (WATCH arrives with the change-events work.)

use crate::context::Ctx;
use crate::dispatch::{acl_verdict, begin_multi, call, resolve};
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, ALL_KEYS, NO_KEYS};
use quiver_resp::Args;
use std::sync::atomic::Ordering;

const TXN: u64 = acl::TRANSACTION;
const FLAGS: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::FAST | flag::ALLOW_BUSY;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Starts a transaction.",
        since: "1.2.0",
        ..CommandSpec::new("multi", 1, FLAGS, NO_KEYS, TXN, "transactions", multi)
    },
    CommandSpec {
        summary: "Executes all commands in a transaction.",
        since: "1.2.0",
        ..CommandSpec::new(
            "exec",
            1,
            flag::NOSCRIPT | flag::LOADING | flag::STALE | flag::SKIP_SLOWLOG,
            NO_KEYS,
            TXN,
            "transactions",
            exec,
        )
    },
    CommandSpec {
        summary: "Monitors changes to keys to determine the execution of a transaction.",
        since: "2.2.0",
        ..CommandSpec::new("watch", -2, FLAGS, ALL_KEYS, TXN, "transactions", watch)
    },
    CommandSpec {
        summary: "Forgets about watched keys of a transaction.",
        since: "2.2.0",
        ..CommandSpec::new("unwatch", 1, FLAGS, NO_KEYS, TXN, "transactions", unwatch)
    },
    CommandSpec {
        summary: "Discards a transaction.",
        since: "2.0.0",
        ..CommandSpec::new("discard", 1, FLAGS, NO_KEYS, TXN, "transactions", discard)
    },
];

fn multi(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    begin_multi(ctx.session);
    ctx.reply.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if ctx.session.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let db = ctx.session.db;
    for key in args.iter().skip(1) {
        if ctx
            .session
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && k == key)
        {
            continue;
        }
        // Remember whether the key was live: one that expires before EXEC
        // aborts the transaction, as in Redis.
        let existed = ctx.view(key).get_no_touch(key).is_some();
        ctx.server
            .watches
            .watch(db, key, ctx.session.id, &ctx.session.watch_dirty);
        ctx.session.watched.push((db, key.to_vec(), existed));
        ctx.session.handle.watching.store(
            ctx.session.watched.len(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    ctx.reply.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.session.unwatch_all(ctx.server);
    ctx.reply.ok();
    Ok(())
}

/// Whether a WATCHed key was touched, or existed at WATCH time and has
/// expired since.
fn watch_failed(ctx: &Ctx<'_>) -> bool {
    if ctx.session.watch_dirty.load(Ordering::Acquire) {
        return true;
    }
    ctx.session.watched.iter().any(|(db, key, existed)| {
        *existed
            && ctx
                .server
                .keyspace
                .lock_key(*db, key, ctx.now)
                .get_no_touch(key)
                .is_none()
    })
}

fn discard(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    if ctx.session.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    ctx.session.unwatch_all(ctx.server);
    ctx.session.handle.multi.store(u64::MAX, Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}

fn exec(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let Some(multi) = ctx.session.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    ctx.session.handle.multi.store(u64::MAX, Ordering::Relaxed);
    let aborted = watch_failed(ctx);
    ctx.session.unwatch_all(ctx.server);
    if multi.dirty {
        return Err(CmdError::Raw(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if aborted {
        ctx.reply.null_array();
        return Ok(());
    }
    ctx.reply.array(multi.queued.len());
    ctx.session.in_exec = true;
    for queued in &multi.queued {
        let args = queued.owned_view();
        match resolve(&args) {
            Ok(entry) => {
                // The user's rules may have changed since the command was
                // queued: Redis checks them again now.
                if ctx.session.authenticated && !entry.spec.has(flag::NO_AUTH) {
                    if let Err(d) = acl_verdict(ctx.server, ctx.session, entry, &args) {
                        ctx.reply.error(&d.exec_message());
                        continue;
                    }
                }
                call(ctx.server, ctx.session, ctx.reply, entry, args)
            }
            Err(e) => ctx.reply.error(&e.to_string()),
        }
    }
    ctx.session.in_exec = false;
    Ok(())
}
