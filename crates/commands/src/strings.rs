//! String commands.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KeySpec, ALL_KEYS, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::{Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};

const STR: u64 = acl::STRING;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the string value of a key.",
        ..CommandSpec::new("get", 2, flag::READONLY | flag::FAST, KEY1, STR, "string", get)
    },
    CommandSpec {
        summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        ..CommandSpec::new("set", -3, flag::WRITE | flag::DENYOOM, KEY1, STR, "string", set)
    },
    CommandSpec {
        summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        ..CommandSpec::new("incr", 2, flag::WRITE | flag::DENYOOM | flag::FAST, KEY1, STR, "string", incr)
    },
    CommandSpec {
        summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        ..CommandSpec::new("decr", 2, flag::WRITE | flag::DENYOOM | flag::FAST, KEY1, STR, "string", decr)
    },
    CommandSpec {
        summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        ..CommandSpec::new("incrby", 3, flag::WRITE | flag::DENYOOM | flag::FAST, KEY1, STR, "string", incrby)
    },
    CommandSpec {
        summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        ..CommandSpec::new("decrby", 3, flag::WRITE | flag::DENYOOM | flag::FAST, KEY1, STR, "string", decrby)
    },
    CommandSpec {
        summary: "Atomically returns the string values of one or more keys.",
        ..CommandSpec::new("mget", -2, flag::READONLY | flag::FAST, ALL_KEYS, STR, "string", mget)
    },
    CommandSpec {
        summary: "Atomically creates or modifies the string values of one or more keys.",
        since: "1.0.1",
        ..CommandSpec::new(
            "mset",
            -3,
            flag::WRITE | flag::DENYOOM,
            KeySpec { first: 1, last: -1, step: 2 },
            STR,
            "string",
            mset,
        )
    },
];

/// Writes a string value as a bulk reply.
#[inline]
pub fn reply_value(reply: &mut ReplyBuf, v: &Value) {
    match v {
        Value::Str(b) | Value::Raw(b) => reply.bulk(b),
        Value::Int(i) => reply.bulk_int(*i),
    }
}

/// Reads a string key: `Ok(None)` if missing, WRONGTYPE if another type.
#[inline]
pub fn get_string<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v Value>, CmdError> {
    match view.get(key) {
        None => Ok(None),
        Some(e) if e.value.is_string() => Ok(Some(&e.value)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    match v {
        Some(v) => reply_value(ctx.reply, v),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// How a SET-family command sets the expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOpt {
    /// Remove any existing TTL.
    Clear,
    Keep,
    /// Absolute unix ms.
    At(u64),
}

/// Converts an EX/PX/EXAT/PXAT argument to absolute ms, with Redis's checks.
pub fn parse_expire_arg(
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    now: u64,
    cmd: &'static str,
) -> Result<u64, CmdError> {
    let v = parse_i64(arg)?;
    if v <= 0 {
        return Err(CmdError::InvalidExpire(cmd));
    }
    let ms = v.checked_mul(unit_ms).ok_or(CmdError::InvalidExpire(cmd))?;
    let when = if absolute {
        ms
    } else {
        ms.checked_add(now as i64)
            .ok_or(CmdError::InvalidExpire(cmd))?
    };
    Ok(when as u64)
}

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let value = args.get(2);
    let mut nx = false;
    let mut xx = false;
    let mut get = false;
    let mut expire = ExpireOpt::Clear;
    let mut have_expire = false;
    let mut i = 3;
    while i < args.len() {
        let a = args.get(i);
        let next = args.try_get(i + 1);
        if eq_ic(a, "nx") && !xx {
            nx = true;
        } else if eq_ic(a, "xx") && !nx {
            xx = true;
        } else if eq_ic(a, "get") {
            get = true;
        } else if eq_ic(a, "keepttl") && !have_expire {
            have_expire = true;
            expire = ExpireOpt::Keep;
        } else if !have_expire
            && next.is_some()
            && (eq_ic(a, "ex") || eq_ic(a, "px") || eq_ic(a, "exat") || eq_ic(a, "pxat"))
        {
            let unit = if eq_ic(a, "ex") || eq_ic(a, "exat") {
                1000
            } else {
                1
            };
            let absolute = eq_ic(a, "exat") || eq_ic(a, "pxat");
            let when = parse_expire_arg(next.unwrap_or_default(), unit, absolute, ctx.now, "set")?;
            expire = ExpireOpt::At(when);
            have_expire = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }

    let mut view = ctx.view(key);
    let existing = view.get(key);
    if get {
        if let Some(e) = existing {
            if !e.value.is_string() {
                return Err(CmdError::WrongType);
            }
        }
    }
    let exists = existing.is_some();
    let old_for_get = if get {
        existing.map(|e| e.value.clone())
    } else {
        None
    };
    let old_expire = existing.and_then(|e| e.expire());
    let allowed = !(nx && exists || xx && !exists);
    if allowed {
        let when = match expire {
            ExpireOpt::Clear => 0,
            ExpireOpt::Keep => old_expire.unwrap_or(0),
            ExpireOpt::At(w) => w,
        };
        let entry = Entry::with_expire(Value::from_bytes(value), when);
        if when != 0 && when <= ctx.now {
            // Already in the past: Redis sets and immediately deletes.
            view.remove(key);
        } else {
            view.insert(key, entry);
        }
        ctx.dirty(1);
    }
    drop(view);
    if get {
        match old_for_get {
            Some(v) => reply_value(ctx.reply, &v),
            None => ctx.reply.null(),
        }
    } else if allowed {
        ctx.reply.ok();
    } else {
        ctx.reply.null();
    }
    Ok(())
}

/// Adds `delta` to the integer at `key`, creating it at 0; returns the result.
pub fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> Result<i64, CmdError> {
    let mut view = ctx.view(key);
    let result = match view.get_mut(key) {
        Some(e) => {
            let cur = match &e.value {
                Value::Int(i) => *i,
                Value::Str(b) | Value::Raw(b) => {
                    quiver_engine::value::parse_canonical_i64(b).ok_or(CmdError::NotInteger)?
                }
            };
            let new = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
            e.value = Value::Int(new);
            new
        }
        None => {
            view.insert(key, Entry::new(Value::Int(delta)));
            delta
        }
    };
    ctx.dirty(1);
    Ok(result)
}

fn incr(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let v = incr_by(ctx, args.get(1), 1)?;
    ctx.reply.int(v);
    Ok(())
}

fn decr(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let v = incr_by(ctx, args.get(1), -1)?;
    ctx.reply.int(v);
    Ok(())
}

fn incrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let delta = parse_i64(args.get(2))?;
    let v = incr_by(ctx, args.get(1), delta)?;
    ctx.reply.int(v);
    Ok(())
}

fn decrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let delta = parse_i64(args.get(2))?;
    let delta = delta
        .checked_neg()
        .ok_or_else(|| CmdError::err("decrement would overflow"))?;
    let v = incr_by(ctx, args.get(1), delta)?;
    ctx.reply.int(v);
    Ok(())
}

fn mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    ctx.reply.array(keys.len());
    for key in keys.iter() {
        match view.get(key) {
            Some(e) if e.value.is_string() => reply_value(ctx.reply, &e.value),
            _ => ctx.reply.null(),
        }
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CmdError::WrongArity("mset".into()));
    }
    let pairs = args.slice_from(1);
    let mut view = ctx.view_keys(pairs.iter().step_by(2));
    let mut i = 1;
    while i + 1 < args.len() {
        view.insert(args.get(i), Entry::new(Value::from_bytes(args.get(i + 1))));
        i += 2;
    }
    drop(view);
    ctx.dirty(((args.len() - 1) / 2) as u64);
    ctx.reply.ok();
    Ok(())
}
