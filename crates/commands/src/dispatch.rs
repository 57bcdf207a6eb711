//! From an argument vector to a reply: command lookup, arity, authentication,
//! MULTI queueing, the call itself, and the bookkeeping around it
//! (commandstats, SLOWLOG, LATENCY, MONITOR, CLIENT REPLY).

use crate::context::{Ctx, Multi, ReplyMode, Session};
use crate::error::CmdError;
use crate::events;
use crate::registry::{registry, Registered};
use crate::spec::flag;
use crate::state::{ServerState, SlowEntry};
use quiver_resp::{Args, ArgsBuf, ReplyBuf};
use std::sync::atomic::Ordering;

/// Resolves argv to a registry entry (descending into subcommands), or the
/// error Redis gives for an unknown command, subcommand or arity.
pub fn resolve(args: &Args<'_>) -> Result<&'static Registered, CmdError> {
    let reg = registry();
    let name = args.get(0);
    let Some(entry) = reg.lookup(name) else {
        return Err(unknown_command(args));
    };
    // A container called alone runs its own handler when its arity allows
    // that (bare COMMAND); otherwise a subcommand is required.
    if entry.subs.is_some() && !(args.len() == 1 && entry.spec.arity_ok(1)) {
        if args.len() < 2 {
            return Err(CmdError::WrongArity(entry.spec.name.to_string()));
        }
        let Some(sub) = reg.lookup_sub(entry, args.get(1)) else {
            return Err(CmdError::UnknownSubcommand {
                cmd: entry.spec.name.to_ascii_uppercase(),
                sub: String::from_utf8_lossy(args.get(1))
                    .chars()
                    .take(128)
                    .collect(),
            });
        };
        if !sub.spec.arity_ok(args.len()) {
            return Err(CmdError::WrongArity(sub.spec.name.to_string()));
        }
        return Ok(sub);
    }
    if !entry.spec.arity_ok(args.len()) {
        return Err(CmdError::WrongArity(entry.spec.name.to_string()));
    }
    Ok(entry)
}

fn unknown_command(args: &Args<'_>) -> CmdError {
    let name: String = String::from_utf8_lossy(args.get(0))
        .chars()
        .take(128)
        .collect();
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        let a = String::from_utf8_lossy(a);
        let a: String = a.chars().take(room).collect();
        rest.push('\'');
        rest.push_str(&a);
        rest.push_str("' ");
    }
    CmdError::err(format!(
        "unknown command '{name}', with args beginning with: {rest}"
    ))
}

/// Commands that run immediately even inside MULTI.
fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Executes one request from a client, writing its reply into `reply`.
pub fn execute(server: &ServerState, session: &mut Session, reply: &mut ReplyBuf, args: Args<'_>) {
    if args.is_empty() {
        return;
    }
    let mark = reply.len();
    let entry = match resolve(&args) {
        Ok(e) => e,
        Err(e) => {
            if let Some(m) = session.multi.as_mut() {
                m.dirty = true;
            }
            server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
            if let Ok(e2) = registry_entry_for_reject(&args) {
                server.cmd_stats[e2]
                    .rejected
                    .fetch_add(1, Ordering::Relaxed);
            }
            reply.error(&e.to_string());
            finish_reply_mode(session, reply, mark);
            return;
        }
    };
    let spec = entry.spec;
    if !session.authenticated && !spec.has(flag::NO_AUTH) {
        if let Some(m) = session.multi.as_mut() {
            m.dirty = true;
        }
        reject(server, entry, reply, CmdError::NoAuth);
        finish_reply_mode(session, reply, mark);
        return;
    }
    if session.authenticated && !spec.has(flag::NO_AUTH) {
        if let Err(e) = acl_check(server, session, entry, &args) {
            if let Some(m) = session.multi.as_mut() {
                m.dirty = true;
            }
            reject(server, entry, reply, e);
            finish_reply_mode(session, reply, mark);
            return;
        }
    }
    // maxmemory: evict before running anything; refuse what may grow
    // memory when that fails. One relaxed load when there is no limit.
    if server.config.hot.maxmemory.load(Ordering::Relaxed) != 0 {
        let queued = session.multi.as_ref().map_or(&[][..], |m| &m.queued[..]);
        if let Err(e) = crate::evict::check(server, session.multi.is_some(), queued, entry) {
            if let Some(m) = session.multi.as_mut() {
                m.dirty = true;
            }
            reject(server, entry, reply, e);
            finish_reply_mode(session, reply, mark);
            return;
        }
    }
    if session.pubsub.total() > 0
        && reply.proto == quiver_resp::Proto::Resp2
        && !crate::pubsub::allowed_when_subscribed(
            entry
                .parent
                .map(|p| registry().entries[p].spec.name)
                .unwrap_or(spec.name),
        )
    {
        if let Some(m) = session.multi.as_mut() {
            m.dirty = true;
        }
        reject(
            server,
            entry,
            reply,
            crate::pubsub::subscribed_mode_error(spec.name),
        );
        finish_reply_mode(session, reply, mark);
        return;
    }
    if let Some(multi) = session.multi.as_mut() {
        let top = entry
            .parent
            .map(|p| registry().entries[p].spec.name)
            .unwrap_or(spec.name);
        if !runs_inside_multi(top) {
            if spec.has(flag::NO_MULTI) {
                multi.dirty = true;
                reject(
                    server,
                    entry,
                    reply,
                    CmdError::err("Command not allowed inside a transaction"),
                );
            } else {
                multi.queued.push(ArgsBuf::to_owned_args(&args));
                session
                    .handle
                    .multi
                    .store(multi.queued.len() as u64, Ordering::Relaxed);
                reply.simple("QUEUED");
            }
            finish_reply_mode(session, reply, mark);
            return;
        }
    }
    call(server, session, reply, entry, args);
    // CLIENT CACHING YES/NO covers the one command after it (all of a
    // MULTI block when sent before EXEC).
    if session.tracking.caching.is_some()
        && session.multi.is_none()
        && spec.name != "client|caching"
    {
        session.tracking.caching = None;
    }
    finish_reply_mode(session, reply, mark);
}

/// The ACL check: one epoch load and, for unrestricted users, nothing
/// more. A denial is logged in ACL LOG and becomes Redis's NOPERM error.
/// EXEC re-checks queued commands through this same path.
pub fn acl_check(
    server: &ServerState,
    session: &mut Session,
    entry: &'static Registered,
    args: &Args<'_>,
) -> Result<(), CmdError> {
    acl_verdict(server, session, entry, args).map_err(|d| CmdError::Raw(d.message(entry.spec)))
}

/// Whether the session's user may run this command with these arguments
/// (a refusal is written to the ACL log, except for a deleted user).
pub fn acl_verdict(
    server: &ServerState,
    session: &mut Session,
    entry: &'static Registered,
    args: &Args<'_>,
) -> Result<(), crate::acl::Denied> {
    let epoch = server.acl.epoch.load(Ordering::Acquire);
    if session.acl_epoch != epoch || session.acl_user.is_none() {
        server.acl.sync(&server.config);
        session.acl_user = server.acl.get(&session.user);
        session.acl_epoch = server.acl.epoch.load(Ordering::Acquire);
        session.acl_unrestricted = session.acl_user.as_ref().is_some_and(|u| u.unrestricted());
    }
    if session.acl_unrestricted {
        return Ok(());
    }
    let Some(user) = session.acl_user.clone() else {
        // The user was deleted under us: nothing is allowed.
        return Err(crate::acl::Denied::Command);
    };
    match user.check(entry.id, entry.spec, args) {
        Ok(()) => Ok(()),
        Err(d) => {
            let (reason, object) = match &d {
                crate::acl::Denied::Command => ("command", entry.spec.name.to_string()),
                crate::acl::Denied::Key(i) => {
                    ("key", String::from_utf8_lossy(args.get(*i)).into_owned())
                }
                crate::acl::Denied::Channel(i) => (
                    "channel",
                    String::from_utf8_lossy(args.get(*i)).into_owned(),
                ),
            };
            let name = session.user.clone();
            crate::acl::command::log_event(server, session, reason, object, name);
            Err(d)
        }
    }
}

/// Finds the entry to charge a rejection to (known command, bad arity).
fn registry_entry_for_reject(args: &Args<'_>) -> Result<usize, ()> {
    registry().lookup(args.get(0)).map(|e| e.id).ok_or(())
}

fn reject(server: &ServerState, entry: &Registered, reply: &mut ReplyBuf, err: CmdError) {
    server.cmd_stats[entry.id]
        .rejected
        .fetch_add(1, Ordering::Relaxed);
    server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
    reply.error(&err.to_string());
}

/// Runs a resolved command: the part shared by direct execution and EXEC.
pub fn call(
    server: &ServerState,
    session: &mut Session,
    reply: &mut ReplyBuf,
    entry: &'static Registered,
    args: Args<'_>,
) {
    let spec = entry.spec;
    // One clock read gives both the command's time (for expiry) and the
    // start of its duration: clock reads are a visible share of a small
    // command, and a script pays them for every `redis.call`.
    let start_us = quiver_engine::clock::now_us();
    let now = start_us / 1000;
    let result = {
        let mut ctx = Ctx {
            server,
            session: &mut *session,
            reply: &mut *reply,
            now,
            spec,
        };
        (spec.handler)(&mut ctx, args)
    };
    let micros = quiver_engine::clock::now_us().saturating_sub(start_us);
    let stat = &server.cmd_stats[entry.id];
    stat.calls.fetch_add(1, Ordering::Relaxed);
    stat.usec.fetch_add(micros, Ordering::Relaxed);
    server
        .stats
        .commands_processed
        .fetch_add(1, Ordering::Relaxed);
    match result {
        Err(e) => {
            stat.failed.fetch_add(1, Ordering::Relaxed);
            server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
            reply.error(&e.to_string());
        }
        Ok(()) if spec.has(flag::WRITE) && events::write_listeners(server) => {
            for i in crate::introspection::key_positions(spec, &args) {
                events::key_written_by(server, session.db, args.get(i), session.id);
            }
        }
        Ok(()) if session.tracking.on && spec.has(flag::READONLY) => {
            crate::tracking::remember_reads(server, session, spec, &args);
        }
        Ok(()) => {}
    }
    events::drain_expired(server);
    let handle = &session.handle;
    handle.last_cmd.store(entry.id, Ordering::Relaxed);
    handle.last_interaction_ms.store(now, Ordering::Relaxed);

    if !spec.has(flag::SKIP_SLOWLOG) {
        let threshold = server
            .config
            .hot
            .slowlog_slower_than
            .load(Ordering::Relaxed);
        if threshold >= 0 && micros >= threshold as u64 {
            slowlog_push(server, session, spec, &args, now, micros);
        }
    }
    let lat = server.config.hot.latency_threshold.load(Ordering::Relaxed);
    if lat > 0 && micros / 1000 >= lat {
        let event = if spec.has(flag::FAST) {
            "fast-command"
        } else {
            "command"
        };
        server.latency.record(event, now / 1000, micros / 1000);
    }
    if server.monitors.count.load(Ordering::Acquire) > 0
        && !spec.has(flag::SKIP_MONITOR)
        && !spec.has(flag::ADMIN)
    {
        feed_monitors(server, session, spec, &args, now);
    }
}

fn slowlog_push(
    server: &ServerState,
    session: &Session,
    spec: &crate::spec::CommandSpec,
    args: &Args<'_>,
    now: u64,
    micros: u64,
) {
    let max = server.config.hot.slowlog_max_len.load(Ordering::Relaxed);
    // Like Redis: at most 32 arguments, each cut to 128 bytes.
    let argc = args.len();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i == 31 && argc > 32 {
            kept.push(format!("... ({} more arguments)", argc - 31).into_bytes());
            break;
        }
        // Secrets (AUTH passwords, …) never reach the log.
        if crate::acl::redacted(spec, args, i) {
            kept.push(b"(redacted)".to_vec());
            continue;
        }
        if a.len() > 128 {
            let mut v = a[..128].to_vec();
            v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
            kept.push(v);
        } else {
            kept.push(a.to_vec());
        }
    }
    let id = server.slowlog.next_id.fetch_add(1, Ordering::Relaxed);
    let entry = SlowEntry {
        id,
        time: now / 1000,
        micros,
        args: kept,
        addr: session.handle.addr.clone(),
        name: session.handle.name.lock().clone(),
    };
    let mut log = server.slowlog.entries.lock();
    log.push_front(entry);
    while log.len() > max {
        log.pop_back();
    }
}

/// Formats a command the way MONITOR shows it: quoted, escaped arguments.
fn feed_monitors(
    server: &ServerState,
    session: &Session,
    spec: &crate::spec::CommandSpec,
    args: &Args<'_>,
    now_ms: u64,
) {
    let us = quiver_engine::clock::now_us();
    let _ = now_ms;
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        session.db,
        if session.from_script {
            "lua"
        } else {
            session.handle.addr.as_str()
        }
    )
    .into_bytes();
    for (i, a) in args.iter().enumerate() {
        let a: &[u8] = if crate::acl::redacted(spec, args, i) {
            b"(redacted)"
        } else {
            a
        };
        line.extend_from_slice(b" \"");
        for &b in a {
            match b {
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'"' => line.extend_from_slice(b"\\\""),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\t' => line.extend_from_slice(b"\\t"),
                7 => line.extend_from_slice(b"\\a"),
                8 => line.extend_from_slice(b"\\b"),
                0x20..=0x7e => line.push(b),
                _ => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            }
        }
        line.push(b'"');
    }
    line.extend_from_slice(b"\r\n");
    server.monitors.feed(line);
}

/// Applies CLIENT REPLY OFF/SKIP to what the command just wrote.
fn finish_reply_mode(session: &mut Session, reply: &mut ReplyBuf, mark: usize) {
    match session.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => reply.truncate(mark),
        ReplyMode::Skip => {
            reply.truncate(mark);
            session.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => session.reply_mode = ReplyMode::Skip,
    }
}

/// Starts a MULTI block.
pub fn begin_multi(session: &mut Session) {
    session.multi = Some(Multi::default());
    session.handle.multi.store(0, Ordering::Relaxed);
}
