//! DEBUG: the handful of subcommands test suites rely on (SLEEP, OBJECT,
//! SET-ACTIVE-EXPIRE, ERROR, CHANGE-REPL-ID). Refused unless
//! `enable-debug-command` allows it, as in Redis 7.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::spec::{flag, CommandSpec, NO_KEYS};
use crate::util::eq_ic;
use quiver_engine::value::Value;
use quiver_resp::Args;
use std::sync::atomic::Ordering;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for debugging commands.",
    since: "1.0.0",
    ..CommandSpec::new(
        "debug",
        -2,
        flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE,
        NO_KEYS,
        0,
        "server",
        debug,
    )
}];

/// Whether this client may run DEBUG: `yes` allows everyone, `local` only
/// loopback connections.
fn allowed(ctx: &Ctx<'_>) -> bool {
    match ctx.server.config.get("enable-debug-command").as_str() {
        "yes" => true,
        "local" => {
            let addr = &ctx.session.handle.addr;
            addr.starts_with("127.") || addr.starts_with("[::1]") || addr.starts_with('/')
        }
        _ => false,
    }
}

fn unknown(sub: &[u8]) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(sub)
    ))
}

fn debug(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !allowed(ctx) {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
             you can run it from a local connection, otherwise you need to set this option in \
             the configuration file, and then restart the server.",
        ));
    }
    let sub = args.get(1);
    let argc = args.len();
    if eq_ic(sub, "help") && argc == 2 {
        help_reply(
            ctx.reply,
            "DEBUG",
            &[
                "CHANGE-REPL-ID",
                "    Change the replication IDs of the instance (a no-op: Quiver has no replication).",
                "ERROR <string>",
                "    Reply with a protocol error whose message is <string>, verbatim.",
                "OBJECT <key>",
                "    Low-level facts about the value stored at <key>.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Turn the background expiry of keys off (0) or on (1).",
                "SLEEP <seconds>",
                "    Stop the server for <seconds> (decimals allowed).",
                "HELP",
                "    Print this help.",
            ],
        );
    } else if eq_ic(sub, "sleep") && argc == 3 {
        // Like Redis (`strtod`), an unparsable duration sleeps for zero.
        let secs = std::str::from_utf8(args.get(2))
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(0.0);
        // Blocking the thread is the point: DEBUG SLEEP simulates a server
        // stuck in a slow command.
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
        ctx.reply.ok();
    } else if eq_ic(sub, "set-active-expire") && argc == 3 {
        // Redis accepts anything here (`atoi`): non-zero enables.
        let on = std::str::from_utf8(args.get(2))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0)
            != 0;
        ctx.server.active_expire.store(on, Ordering::Relaxed);
        ctx.reply.ok();
    } else if eq_ic(sub, "error") && argc == 3 {
        // Client test suites use this to fake server errors (`LOADING …`,
        // `READONLY …`, `OOM …`), so the message is the whole error line:
        // no `ERR` prefix is added. The reply writer turns CR/LF into spaces.
        return Err(CmdError::Raw(
            String::from_utf8_lossy(args.get(2)).into_owned(),
        ));
    } else if eq_ic(sub, "change-repl-id") && argc == 2 {
        // Redis regenerates its replication IDs here. Quiver has no
        // replication yet, so there are no IDs any replica could hold.
        ctx.reply.ok();
    } else if eq_ic(sub, "object") && argc == 3 {
        object(ctx, args.get(2))?;
    } else {
        return Err(unknown(sub));
    }
    Ok(())
}

/// `Value at:… refcount:… encoding:… serializedlength:… lru:… lru_seconds_idle:…`.
fn object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let now_s = ctx.now / 1000;
    let mut view = ctx.view(key);
    let access = view.last_access(key).unwrap_or(0) as u64;
    let Some(entry) = view.peek(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let addr = entry as *const _ as usize;
    let (refcount, serialized) = match &entry.value {
        // Redis shares small integers; the rest have one reference.
        Value::Int(i) if (0..10000).contains(i) => (i32::MAX as i64, int_rdb_len(*i)),
        Value::Int(i) => (1, int_rdb_len(*i)),
        Value::Str(b) | Value::Raw(b) => (1, len_prefix(b.len()) + b.len()),
        // Collections: a rough size until persistence defines the real encoding.
        other => (1, other.heap_size()),
    };
    let line = format!(
        "Value at:0x{addr:x} refcount:{refcount} encoding:{} serializedlength:{serialized} lru:{} lru_seconds_idle:{}",
        entry.value.encoding(),
        access & ((1 << 24) - 1),
        now_s.saturating_sub(access)
    );
    drop(view);
    ctx.reply.simple(&line);
    Ok(())
}

/// Bytes an RDB length prefix takes.
fn len_prefix(n: usize) -> usize {
    match n {
        0..=63 => 1,
        64..=16383 => 2,
        _ if n <= u32::MAX as usize => 5,
        _ => 9,
    }
}

/// Bytes an integer takes in RDB: 8/16/32-bit encodings, else as a string.
fn int_rdb_len(i: i64) -> usize {
    if i8::try_from(i).is_ok() {
        2
    } else if i16::try_from(i).is_ok() {
        3
    } else if i32::try_from(i).is_ok() {
        5
    } else {
        let digits = i.to_string().len();
        len_prefix(digits) + digits
    }
}
