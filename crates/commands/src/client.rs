//! CLIENT subcommands: identity (ID, SETNAME, GETNAME, SETINFO, INFO),
//! listing and killing other connections (LIST, KILL), flow control (PAUSE,
//! UNPAUSE, REPLY) and per-connection switches (NO-EVICT, NO-TOUCH).

use crate::clients::ClientHandle;
use crate::context::{Ctx, ReplyMode};
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::registry::registry;
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_resp::Args;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

const CONN: u64 = acl::CONNECTION;
const F: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE;
const ADMIN: u32 = flag::ADMIN | F;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the unique client ID of the connection.",
        since: "5.0.0",
        ..CommandSpec::new("client|id", 2, F, NO_KEYS, CONN, "connection", id)
    },
    CommandSpec {
        summary: "Sets the connection name.",
        since: "2.6.9",
        ..CommandSpec::new("client|setname", 3, F, NO_KEYS, CONN, "connection", setname)
    },
    CommandSpec {
        summary: "Returns the name of the connection.",
        since: "2.6.9",
        ..CommandSpec::new("client|getname", 2, F, NO_KEYS, CONN, "connection", getname)
    },
    CommandSpec {
        summary: "Sets information specific to the client or connection.",
        since: "7.2.0",
        ..CommandSpec::new("client|setinfo", 4, F, NO_KEYS, CONN, "connection", setinfo)
    },
    CommandSpec {
        summary: "Lists open connections.",
        since: "2.4.0",
        ..CommandSpec::new("client|list", -2, ADMIN, NO_KEYS, CONN, "connection", list)
    },
    CommandSpec {
        summary: "Returns information about the connection.",
        since: "6.2.0",
        ..CommandSpec::new("client|info", 2, F, NO_KEYS, CONN, "connection", info)
    },
    CommandSpec {
        summary: "Terminates open connections.",
        since: "2.4.0",
        ..CommandSpec::new("client|kill", -3, ADMIN, NO_KEYS, CONN, "connection", kill)
    },
    CommandSpec {
        summary: "Suspends commands processing.",
        since: "3.0.0",
        ..CommandSpec::new(
            "client|pause",
            -3,
            ADMIN,
            NO_KEYS,
            CONN,
            "connection",
            pause,
        )
    },
    CommandSpec {
        summary: "Resumes processing commands from paused clients.",
        since: "6.2.0",
        ..CommandSpec::new(
            "client|unpause",
            2,
            ADMIN,
            NO_KEYS,
            CONN,
            "connection",
            unpause,
        )
    },
    CommandSpec {
        summary: "Instructs the server whether to reply to commands.",
        since: "3.2.0",
        ..CommandSpec::new("client|reply", 3, F, NO_KEYS, CONN, "connection", reply)
    },
    CommandSpec {
        summary: "Sets the client eviction mode of the connection.",
        since: "7.0.0",
        ..CommandSpec::new(
            "client|no-evict",
            3,
            ADMIN,
            NO_KEYS,
            CONN,
            "connection",
            no_evict,
        )
    },
    CommandSpec {
        summary:
            "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        since: "7.2.0",
        ..CommandSpec::new(
            "client|no-touch",
            3,
            F,
            NO_KEYS,
            CONN,
            "connection",
            no_touch,
        )
    },
    CommandSpec {
        summary: "Unblocks a client blocked by a blocking command from a different connection.",
        since: "5.0.0",
        ..CommandSpec::new(
            "client|unblock",
            -3,
            flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
            NO_KEYS,
            CONN,
            "connection",
            unblock,
        )
    },
    CommandSpec {
        summary:
            "Returns the client ID to which the connection's tracking notifications are redirected.",
        since: "6.0.0",
        ..CommandSpec::new(
            "client|getredir",
            2,
            F,
            NO_KEYS,
            CONN,
            "connection",
            crate::tracking::client_getredir,
        )
    },
    CommandSpec {
        summary: "Controls server-assisted client-side caching for the connection.",
        since: "6.0.0",
        ..CommandSpec::new(
            "client|tracking",
            -3,
            F,
            NO_KEYS,
            CONN,
            "connection",
            crate::tracking::client_tracking,
        )
    },
    CommandSpec {
        summary: "Instructs the server whether to track the keys in the next request.",
        since: "6.0.0",
        ..CommandSpec::new(
            "client|caching",
            3,
            F,
            NO_KEYS,
            CONN,
            "connection",
            crate::tracking::client_caching,
        )
    },
    CommandSpec {
        summary:
            "Returns information about server-assisted client-side caching for the connection.",
        since: "6.2.0",
        ..CommandSpec::new(
            "client|trackinginfo",
            2,
            F,
            NO_KEYS,
            CONN,
            "connection",
            crate::tracking::client_trackinginfo,
        )
    },
    CommandSpec {
        summary: "Returns helpful text about the different subcommands.",
        since: "5.0.0",
        ..CommandSpec::new(
            "client|help",
            2,
            flag::LOADING | flag::STALE,
            NO_KEYS,
            CONN,
            "connection",
            help,
        )
    },
];

/// Redis refuses names (and library names) with spaces or control characters.
pub fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn id(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.int(ctx.session.id as i64);
    Ok(())
}

fn setname(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = args.get(2);
    validate_name(name)?;
    *ctx.session.handle.name.lock() = name.to_vec();
    ctx.reply.ok();
    Ok(())
}

fn getname(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let name = ctx.session.handle.name.lock().clone();
    if name.is_empty() {
        ctx.reply.null();
    } else {
        ctx.reply.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let attr = args.get(2);
    let value = args.get(3);
    let slot = if eq_ic(attr, "lib-name") {
        &ctx.session.handle.lib_name
    } else if eq_ic(attr, "lib-ver") {
        &ctx.session.handle.lib_ver
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    };
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr).to_ascii_lowercase()
        )));
    }
    *slot.lock() = value.to_vec();
    ctx.reply.ok();
    Ok(())
}

/// Client classes for `TYPE` filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

fn parse_type(arg: &[u8]) -> Result<ClientType, CmdError> {
    if eq_ic(arg, "normal") {
        Ok(ClientType::Normal)
    } else if eq_ic(arg, "master") {
        Ok(ClientType::Master)
    } else if eq_ic(arg, "replica") || eq_ic(arg, "slave") {
        Ok(ClientType::Replica)
    } else if eq_ic(arg, "pubsub") {
        Ok(ClientType::PubSub)
    } else {
        Err(CmdError::err(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(arg)
        )))
    }
}

fn client_type(h: &ClientHandle) -> ClientType {
    if h.subscriptions.load(Ordering::Relaxed)
        + h.psubscriptions.load(Ordering::Relaxed)
        + h.ssubscriptions.load(Ordering::Relaxed)
        > 0
    {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// What the calling connection adds to its own line: the command running
/// now (its `cmd=` and argument memory) and its authenticated user.
struct Current<'a> {
    cmd: &'a str,
    argv_mem: usize,
    user: &'a str,
}

/// Capacity Redis gives a fresh query buffer; `qbuf-free` is what is left.
const QBUF_CAP: usize = 20474;
const REPLY_BUF: usize = 16384;

/// One CLIENT LIST / CLIENT INFO line in Redis 7.0's field order, ending in
/// `\n`. Buffer figures are estimates from the sizes connections publish.
/// `track` is the client's tracking redirect and flag letters
/// (`tracking::list_fields`).
fn client_line(
    out: &mut String,
    h: &ClientHandle,
    now_ms: u64,
    cur: Option<&Current<'_>>,
    track: (i64, &str),
) {
    let name = h.name.lock().clone();
    let age = now_ms.saturating_sub(h.created_ms) / 1000;
    let idle = match cur {
        Some(_) => 0,
        None => now_ms.saturating_sub(h.last_interaction_ms.load(Ordering::Relaxed)) / 1000,
    };
    let mut flags = String::new();
    if h.monitor.load(Ordering::Relaxed) {
        flags.push('O');
    }
    // Redis's letter order: P (any subscription, shard channels included)
    // comes before x.
    if client_type(h) == ClientType::PubSub {
        flags.push('P');
    }
    let multi = h.multi.load(Ordering::Relaxed);
    if multi != u64::MAX {
        flags.push('x');
    }
    flags.push_str(track.1);
    if h.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if h.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if h.is_killed() {
        flags.push('A');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let qbuf = h.query_buf.load(Ordering::Relaxed);
    let obl = h.out_buf.load(Ordering::Relaxed).min(REPLY_BUF);
    let omem = h.out_buf.load(Ordering::Relaxed).saturating_sub(REPLY_BUF);
    let argv_mem = cur.map(|c| c.argv_mem).unwrap_or(0);
    let cmd = match cur {
        Some(c) => c.cmd,
        None => match h.last_cmd.load(Ordering::Relaxed) {
            usize::MAX => "NULL",
            i => registry()
                .entries
                .get(i)
                .map(|e| e.spec.name)
                .unwrap_or("NULL"),
        },
    };
    let tot_mem = QBUF_CAP.max(qbuf) + REPLY_BUF + argv_mem + omem + 1024;
    // Other connections' users come from their handles (kept current by
    // AUTH, HELLO AUTH and RESET); the caller's from its session.
    let other_user;
    let user = match cur {
        Some(c) => c.user,
        None => {
            other_user = h.user.lock().clone();
            other_user.as_str()
        }
    };
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={age} idle={idle} flags={flags} db={} \
         sub={} psub={} ssub={} multi={} watch={} qbuf={qbuf} qbuf-free={} \
         argv-mem={argv_mem} multi-mem=0 rbs={REPLY_BUF} rbp={REPLY_BUF} obl={obl} oll=0 \
         omem={omem} tot-mem={tot_mem} events=r cmd={cmd} user={} redir={} resp={} \
         lib-name={} lib-ver={}",
        h.id,
        h.addr,
        h.laddr,
        h.fd,
        String::from_utf8_lossy(&name),
        h.db.load(Ordering::Relaxed),
        h.subscriptions.load(Ordering::Relaxed),
        h.psubscriptions.load(Ordering::Relaxed),
        h.ssubscriptions.load(Ordering::Relaxed),
        if multi == u64::MAX { -1 } else { multi as i64 },
        h.watching.load(Ordering::Relaxed),
        QBUF_CAP.saturating_sub(qbuf),
        user,
        track.0,
        h.resp.load(Ordering::Relaxed),
        String::from_utf8_lossy(&h.lib_name.lock()),
        String::from_utf8_lossy(&h.lib_ver.lock()),
    );
}

fn current<'a>(ctx: &'a Ctx<'_>, args: &Args<'_>) -> Current<'a> {
    Current {
        cmd: ctx.spec.name,
        argv_mem: args.iter().map(|a| a.len()).sum(),
        user: &ctx.session.user,
    }
}

fn list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut by_type = None;
    let mut ids: Option<Vec<i64>> = None;
    if args.len() == 4 && eq_ic(args.get(2), "type") {
        by_type = Some(parse_type(args.get(3))?);
    } else if args.len() >= 4 && eq_ic(args.get(2), "id") {
        let mut v = Vec::with_capacity(args.len() - 3);
        for a in args.iter().skip(3) {
            v.push(parse_i64(a).map_err(|_| CmdError::err("Invalid client ID"))?);
        }
        ids = Some(v);
    } else if args.len() != 2 {
        return Err(CmdError::Syntax);
    }
    let mut out = String::new();
    let me = ctx.session.id;
    let cur = current(ctx, &args);
    let emit = |out: &mut String, h: &ClientHandle| {
        let track = crate::tracking::list_fields(ctx.server, h.id);
        client_line(out, h, ctx.now, (h.id == me).then_some(&cur), track);
    };
    match ids {
        Some(ids) => {
            // Listed in the order asked, each at most once.
            let mut seen = Vec::new();
            for id in ids {
                if id < 1 || seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                if let Some(h) = ctx.server.clients.get(id as u64) {
                    emit(&mut out, &h);
                }
            }
        }
        None => {
            for h in ctx.server.clients.all() {
                if by_type.is_some_and(|t| t != client_type(&h)) {
                    continue;
                }
                emit(&mut out, &h);
            }
        }
    }
    ctx.reply.verbatim(out.as_bytes());
    Ok(())
}

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut out = String::new();
    let cur = current(ctx, &args);
    let track = crate::tracking::list_fields(ctx.server, ctx.session.id);
    client_line(&mut out, &ctx.session.handle, ctx.now, Some(&cur), track);
    ctx.reply.verbatim(out.as_bytes());
    Ok(())
}

/// Filters of the `CLIENT KILL <filter> <value> ...` form.
#[derive(Default)]
struct KillFilter<'a> {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    user: Option<&'a [u8]>,
    max_age: Option<i64>,
    skip_me: bool,
}

fn kill(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() == 3 {
        // Old form: CLIENT KILL addr:port, replying +OK.
        let addr = args.get(2);
        let target = ctx
            .server
            .clients
            .all()
            .into_iter()
            .find(|h| h.addr.as_bytes() == addr);
        let Some(h) = target else {
            return Err(CmdError::err("No such client"));
        };
        h.kill();
        ctx.reply.ok();
        return Ok(());
    }
    let mut f = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let (opt, val) = (args.get(i), args.get(i + 1));
        if eq_ic(opt, "id") {
            match parse_i64(val) {
                Ok(id) if id > 0 => f.id = Some(id as u64),
                _ => return Err(CmdError::err("client-id should be greater than 0")),
            }
        } else if eq_ic(opt, "type") {
            f.kind = Some(parse_type(val)?);
        } else if eq_ic(opt, "addr") {
            f.addr = Some(val);
        } else if eq_ic(opt, "laddr") {
            f.laddr = Some(val);
        } else if eq_ic(opt, "user") {
            // As in Redis, the user must exist (ACL users and the users
            // that token authentication created).
            let exists = std::str::from_utf8(val)
                .ok()
                .and_then(|n| ctx.server.acl.get(n))
                .is_some();
            if !exists {
                return Err(CmdError::err(format!(
                    "No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
            f.user = Some(val);
        } else if eq_ic(opt, "skipme") {
            if eq_ic(val, "yes") {
                f.skip_me = true;
            } else if eq_ic(val, "no") {
                f.skip_me = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else if eq_ic(opt, "maxage") {
            // Redis 7.4's filter: connections older than this many seconds.
            f.max_age = Some(parse_i64(val).map_err(|_| CmdError::Syntax)?);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let me = ctx.session.id;
    let mut killed = 0;
    for h in ctx.server.clients.all() {
        if f.skip_me && h.id == me {
            continue;
        }
        let matches = f.id.is_none_or(|id| h.id == id)
            && f.kind.is_none_or(|t| t == client_type(&h))
            && f.addr.is_none_or(|a| h.addr.as_bytes() == a)
            && f.laddr.is_none_or(|a| h.laddr.as_bytes() == a)
            && f.max_age
                .is_none_or(|age| (ctx.now.saturating_sub(h.created_ms) / 1000) as i64 >= age)
            && f.user.is_none_or(|u| h.user.lock().as_bytes() == u);
        if matches {
            h.kill();
            killed += 1;
        }
    }
    ctx.reply.int(killed);
    Ok(())
}

fn pause(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let ms = parse_i64(args.get(2))
        .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let writes_only = match args.len() {
        3 => false,
        4 if eq_ic(args.get(3), "write") => true,
        4 if eq_ic(args.get(3), "all") => false,
        4 => return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL")),
        _ => {
            return Err(CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(args.get(1))
            )))
        }
    };
    let p = &ctx.server.pause;
    let until = ctx.now.saturating_add(ms as u64).max(1);
    let old_until = p.until_ms.load(Ordering::Relaxed);
    if old_until > ctx.now {
        // While a pause is active the more restrictive mode and the later
        // end win, so one client cannot shorten another's pause.
        let keep_all = !p.writes_only.load(Ordering::Relaxed);
        p.writes_only
            .store(writes_only && !keep_all, Ordering::Relaxed);
        p.until_ms.store(until.max(old_until), Ordering::Relaxed);
    } else {
        p.writes_only.store(writes_only, Ordering::Relaxed);
        p.until_ms.store(until, Ordering::Relaxed);
    }
    ctx.reply.ok();
    Ok(())
}

fn unpause(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let p = &ctx.server.pause;
    p.until_ms.store(0, Ordering::Relaxed);
    p.writes_only.store(false, Ordering::Relaxed);
    p.notify.notify_waiters();
    ctx.reply.ok();
    Ok(())
}

/// ON replies +OK; OFF and SKIP are silent themselves. SKIP sets
/// `SkipNext`, which dispatch turns into `Skip` after this command so that
/// only the *next* reply is dropped.
fn reply(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mode = args.get(2);
    if eq_ic(mode, "on") {
        ctx.session.reply_mode = ReplyMode::On;
        ctx.reply.ok();
    } else if eq_ic(mode, "off") {
        ctx.session.reply_mode = ReplyMode::Off;
    } else if eq_ic(mode, "skip") {
        if ctx.session.reply_mode != ReplyMode::Off {
            ctx.session.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, "on") {
        Ok(true)
    } else if eq_ic(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn no_evict(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let on = on_off(args.get(2))?;
    ctx.session.no_evict = on;
    ctx.session.handle.no_evict.store(on, Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}

fn no_touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let on = on_off(args.get(2))?;
    ctx.session.no_touch = on;
    ctx.session.handle.no_touch.store(on, Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking
/// command as if it had timed out, or with an UNBLOCKED error. Replies 1 if
/// that client was blocked.
fn unblock(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let id = crate::util::parse_i64(args.get(2))?;
    let mode = match args.try_get(3) {
        None => crate::clients::Unblock::Timeout,
        Some(a) if eq_ic(a, "timeout") => crate::clients::Unblock::Timeout,
        Some(a) if eq_ic(a, "error") => crate::clients::Unblock::Error,
        Some(_) => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let done = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(id))
        .is_some_and(|h| h.unblock(mode));
    ctx.reply.int(done as i64);
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "CLIENT",
        &[
            "GETNAME",
            "    The name of this connection.",
            "GETREDIR",
            "    The client that receives this connection's tracking messages (-1: none).",
            "ID",
            "    This connection's id.",
            "INFO",
            "    This connection's line of CLIENT LIST.",
            "KILL <ip:port>",
            "    Close the connection with that address.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Close every connection matching all the filters:",
            "    * ID <client-id>",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "    * ADDR <ip:port>",
            "    * LADDR <ip:port>",
            "    * USER <username>",
            "    * MAXAGE <seconds>",
            "    * SKIPME (YES|NO)  -- whether this connection is spared (default YES)",
            "LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <client-id> [...]]",
            "    One line per connection.",
            "UNPAUSE",
            "    End a CLIENT PAUSE.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Hold client commands (or only writes) for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Turn replies off or on, or drop just the next one.",
            "SETNAME <name>",
            "    Name this connection.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Record the client library's name or version.",
            "NO-EVICT (ON|OFF)",
            "    Protect this connection from client eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Stop this connection's reads from refreshing keys' access times.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}
