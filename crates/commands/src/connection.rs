//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, SELECT, AUTH.

use crate::context::{Ctx, ReplyMode};
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::state::REDIS_VERSION;
use crate::util::{eq_ic, parse_i64};
use quiver_resp::{Args, Proto};
use std::sync::atomic::Ordering;

const CONN: u64 = acl::CONNECTION;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the server's liveliness response.",
        ..CommandSpec::new("ping", -1, flag::FAST, NO_KEYS, CONN, "connection", ping)
    },
    CommandSpec {
        summary: "Returns the given string.",
        ..CommandSpec::new("echo", 2, flag::FAST, NO_KEYS, CONN, "connection", echo)
    },
    CommandSpec {
        summary: "Closes the connection.",
        since: "1.0.0",
        ..CommandSpec::new(
            "quit",
            -1,
            flag::ALLOW_BUSY
                | flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH,
            NO_KEYS,
            CONN,
            "connection",
            quit,
        )
    },
    CommandSpec {
        summary: "Resets the connection.",
        since: "6.2.0",
        ..CommandSpec::new(
            "reset",
            1,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            NO_KEYS,
            CONN,
            "connection",
            reset,
        )
    },
    CommandSpec {
        summary: "Handshakes with the Redis server.",
        since: "6.0.0",
        ..CommandSpec::new(
            "hello",
            -1,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            NO_KEYS,
            CONN,
            "connection",
            hello,
        )
    },
    CommandSpec {
        summary: "Changes the selected database.",
        ..CommandSpec::new(
            "select",
            2,
            flag::LOADING | flag::STALE | flag::FAST,
            NO_KEYS,
            CONN,
            "connection",
            select,
        )
    },
    CommandSpec {
        summary: "Authenticates the connection.",
        ..CommandSpec::new(
            "auth",
            -2,
            flag::NOSCRIPT
                | flag::LOADING
                | flag::STALE
                | flag::FAST
                | flag::NO_AUTH
                | flag::ALLOW_BUSY,
            NO_KEYS,
            CONN,
            "connection",
            auth,
        )
    },
];

fn ping(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    match args.len() {
        1 => ctx.reply.simple("PONG"),
        2 => ctx.reply.bulk(args.get(1)),
        _ => return Err(CmdError::WrongArity("ping".into())),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ctx.reply.bulk(args.get(1));
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.ok();
    ctx.session.close_after_reply = true;
    // QUIT's reply is sent even under CLIENT REPLY OFF.
    ctx.session.reply_mode = ReplyMode::On;
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.session.unwatch_all(ctx.server);
    let s = &mut *ctx.session;
    s.db = 0;
    s.handle.db.store(0, Ordering::Relaxed);
    s.multi = None;
    s.handle.multi.store(u64::MAX, Ordering::Relaxed);
    s.reply_mode = ReplyMode::On;
    s.no_touch = false;
    s.no_evict = false;
    s.handle.no_touch.store(false, Ordering::Relaxed);
    s.handle.no_evict.store(false, Ordering::Relaxed);
    s.handle.name.lock().clear();
    if ctx
        .server
        .config
        .hot
        .requirepass_set
        .load(Ordering::Relaxed)
    {
        s.authenticated = false;
    }
    s.user = "default".into();
    ctx.reply.proto = Proto::Resp2;
    s.handle.resp.store(2, Ordering::Relaxed);
    ctx.reply.simple("RESET");
    Ok(())
}

/// Checks a username/password pair against the configured credentials.
/// Until ACL users exist, only `default` is known: with `requirepass` set
/// it needs that password; without, it accepts any (Redis's `nopass`).
pub fn check_credentials(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    let required = ctx.server.config.get("requirepass");
    required.is_empty() || constant_time_eq(required.as_bytes(), pass)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => {
            if !ctx
                .server
                .config
                .hot
                .requirepass_set
                .load(Ordering::Relaxed)
            {
                return Err(CmdError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (b"default", args.get(1))
        }
        3 => (args.get(1), args.get(2)),
        _ => return Err(CmdError::Syntax),
    };
    if check_credentials(ctx, user, pass) {
        ctx.session.authenticated = true;
        ctx.session.user = String::from_utf8_lossy(user).into_owned();
        ctx.reply.ok();
        Ok(())
    } else {
        Err(CmdError::WrongPass)
    }
}

fn hello(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = parse_i64(args.get(1))
            .map_err(|_| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::Raw("NOPROTO unsupported protocol version".into()));
        }
        proto = Some(v);
        i = 2;
    }
    let mut auth: Option<(&[u8], &[u8])> = None;
    let mut setname: Option<&[u8]> = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(args.get(i), "auth") && more >= 2 {
            auth = Some((args.get(i + 1), args.get(i + 2)));
            i += 3;
        } else if eq_ic(args.get(i), "setname") && more >= 1 {
            setname = Some(args.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args.get(i))
            )));
        }
    }
    if let Some((user, pass)) = auth {
        if !check_credentials(ctx, user, pass) {
            return Err(CmdError::WrongPass);
        }
        ctx.session.authenticated = true;
        ctx.session.user = String::from_utf8_lossy(user).into_owned();
    }
    if !ctx.session.authenticated {
        return Err(CmdError::Raw(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(name) = setname {
        crate::client::validate_name(name)?;
        *ctx.session.handle.name.lock() = name.to_vec();
    }
    if let Some(v) = proto {
        ctx.reply.proto = if v == 3 { Proto::Resp3 } else { Proto::Resp2 };
        ctx.session.handle.resp.store(v as u8, Ordering::Relaxed);
    }
    let r = &mut *ctx.reply;
    r.map(7);
    r.bulk(b"server");
    r.bulk(b"redis");
    r.bulk(b"version");
    r.bulk(REDIS_VERSION.as_bytes());
    r.bulk(b"proto");
    r.int(if r.is_resp3() { 3 } else { 2 });
    r.bulk(b"id");
    r.int(ctx.session.id as i64);
    r.bulk(b"mode");
    r.bulk(b"standalone");
    r.bulk(b"role");
    r.bulk(b"master");
    r.bulk(b"modules");
    r.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let idx = parse_i64(args.get(1))?;
    if idx < 0 || idx as usize >= ctx.server.keyspace.db_count() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.session.db = idx as usize;
    ctx.session.handle.db.store(idx as usize, Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}
