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
    if args.len() <= 2 && crate::pubsub::subscribed_ping(ctx, &args) {
        return Ok(());
    }
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
    ctx.session.pubsub.clear();
    ctx.session.tracking.disable();
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
    // RESET logs the client back in as `default`, which needs no AUTH only
    // when the default user is open.
    s.authenticated = ctx.server.acl.default_open(&ctx.server.config);
    s.user = "default".into();
    *s.handle.user.lock() = "default".into();
    s.handle
        .auth_kind
        .store(crate::acl::auth_kind::NONE, Ordering::Relaxed);
    s.handle.token_deadline_ms.store(0, Ordering::Release);
    s.acl_user = None;
    ctx.reply.proto = Proto::Resp2;
    s.handle.resp.store(2, Ordering::Relaxed);
    ctx.reply.simple("RESET");
    Ok(())
}

/// Authenticates the session as `user` with `pass` (a password, an access
/// key of the default user, or a token): AUTH and HELLO AUTH share it.
/// Failures are counted per client address (and refused outright past
/// `auth-failures-max` a minute) and logged in ACL LOG without the secret.
pub fn login(ctx: &mut Ctx<'_>, user: &[u8], pass: &[u8]) -> CmdResult {
    let server = ctx.server;
    let ip = crate::acl::ip_of(&ctx.session.handle.addr).to_string();
    if server.acl.rate_limited(&server.config, &ip, ctx.now) {
        return Err(CmdError::err(
            "too many failed authentication attempts from this address, try again later",
        ));
    }
    match server.acl.authenticate(&server.config, user, pass, ctx.now) {
        Ok(authed) => {
            ctx.session.login(authed);
            ctx.session.acl_epoch = 0;
            Ok(())
        }
        Err(reason) => {
            server.acl.note_failure(&server.config, &ip, ctx.now);
            let object = if reason == "auth" {
                "AUTH".to_string()
            } else {
                format!("AUTH ({reason})")
            };
            crate::acl::command::log_event(
                server,
                ctx.session,
                "auth",
                object,
                String::from_utf8_lossy(user).into_owned(),
            );
            Err(CmdError::WrongPass)
        }
    }
}

fn auth(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (user, pass): (&[u8], &[u8]) = match args.len() {
        2 => {
            if ctx.server.acl.default_open(&ctx.server.config) {
                return Err(CmdError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (b"default", args.get(1))
        }
        3 => (args.get(1), args.get(2)),
        _ => return Err(CmdError::Syntax),
    };
    login(ctx, user, pass)?;
    ctx.reply.ok();
    Ok(())
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
        login(ctx, user, pass)?;
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
    crate::search::admin::write_module_list(r);
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
