//! Hash field expiry (Redis 7.4): HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT,
//! HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST; the Redis 8
//! get-and-modify commands HGETDEL, HGETEX, HSETEX; and the active expiry
//! step the server's cron calls ([`active_expire_fields`]).
//!
//! Redis 7.0 (the differential oracle) has none of these, so their
//! semantics and error strings follow the redis.io documentation and Redis
//! 8's behaviour: the key's type is checked first (HSETEX parses its options
//! first), then the options, then the `FIELDS numfields field…` block, whose
//! count must match the remaining arguments exactly; a missing key answers
//! as an empty hash would (-2 per field, or nulls). A field whose new expiry
//! time is not in the future is deleted on the spot (code 2).
//!
//! Expired fields disappear lazily (every command drops them before it
//! looks, see [`crate::hashes::with_hash`]) and actively: the cron walks the
//! keyspace in slot order a little at a time looking for hashes whose
//! earliest field expiry has passed. That walk is skipped entirely while no
//! hash in the process has a field TTL.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::hashes::{reply_item, with_hash};
use crate::state::ServerState;
use crate::util::{eq_ic, parse_i64};
use quiver_engine::types::hash::{hashes_with_field_ttls, FieldTtl};
use quiver_engine::value::parse_canonical_i64;
use quiver_engine::{Value, View};
use quiver_resp::{Args, ReplyBuf};

/// Largest absolute field expiry Redis accepts: 2^48 - 1 ms.
const EXPIRE_MAX: i64 = (1 << 48) - 1;

/// An expiry argument: non-negative, in `unit_ms` units, relative to
/// `basetime` (0 for absolute forms), at most 2^48-1 ms once resolved.
fn parse_expire_time(
    arg: &[u8],
    unit_ms: i64,
    basetime: u64,
    cmd: &'static str,
) -> Result<u64, CmdError> {
    let mut v = parse_i64(arg)?;
    if v < 0 {
        return Err(CmdError::NegativeExpire);
    }
    if unit_ms == 1000 {
        if v > EXPIRE_MAX / 1000 {
            return Err(CmdError::InvalidExpire(cmd));
        }
        v *= 1000;
    }
    let base = basetime as i64;
    if v > EXPIRE_MAX - base {
        return Err(CmdError::InvalidExpire(cmd));
    }
    Ok((v + base) as u64)
}

/// Checks `FIELDS numfields field…` with the keyword at `at`, running to
/// the end of the arguments. Returns the index of the first field.
fn fields_block(args: &Args<'_>, at: usize, bad_count: CmdError) -> Result<usize, CmdError> {
    match args.try_get(at) {
        Some(a) if eq_ic(a, "fields") => {}
        _ => return Err(CmdError::FieldsMissing),
    }
    let n = args
        .try_get(at + 1)
        .and_then(parse_canonical_i64)
        .filter(|&n| n >= 1)
        .ok_or(bad_count)?;
    if n as u64 != (args.len() - at - 2) as u64 {
        return Err(CmdError::NumFieldsMismatch);
    }
    Ok(at + 2)
}

/// WRONGTYPE if `key` holds something other than a hash. Used by commands
/// that must report a type error before their own argument errors.
fn check_hash_type(view: &mut View<'_>, key: &[u8]) -> CmdResult {
    match view.get_no_touch(key) {
        Some(e) if !matches!(e.value, Value::Hash(_)) => Err(CmdError::WrongType),
        _ => Ok(()),
    }
}

/// HEXPIRE's NX/XX/GT/LT.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl Cond {
    /// Whether a field whose current expiry is `cur` (None = persistent,
    /// i.e. infinite for GT/LT) may get the expiry `when`.
    fn allows(self, cur: Option<u64>, when: u64) -> bool {
        match self {
            Cond::Always => true,
            Cond::Nx => cur.is_none(),
            Cond::Xx => cur.is_some(),
            Cond::Gt => cur.is_some_and(|c| when > c),
            Cond::Lt => cur.is_none_or(|c| when < c),
        }
    }
}

/// HEXPIRE key time [NX|XX|GT|LT] FIELDS numfields field…
/// Per field: -2 no such field, 0 condition not met, 1 expiry set,
/// 2 deleted because the time is not in the future.
fn hexpire_generic(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    unit_ms: i64,
    relative: bool,
    cmd: &'static str,
) -> CmdResult {
    let key = args.get(1);
    let now = ctx.now;
    let mut view = ctx.view(key);
    check_hash_type(&mut view, key)?;
    let base = if relative { now } else { 0 };
    let when = parse_expire_time(args.get(2), unit_ms, base, cmd)?;
    let opt = args.get(3);
    let cond = if eq_ic(opt, "nx") {
        Cond::Nx
    } else if eq_ic(opt, "xx") {
        Cond::Xx
    } else if eq_ic(opt, "gt") {
        Cond::Gt
    } else if eq_ic(opt, "lt") {
        Cond::Lt
    } else {
        Cond::Always
    };
    let at = if cond == Cond::Always { 3 } else { 4 };
    let first = fields_block(&args, at, CmdError::NumFieldsGreaterThanZero)?;
    let n = args.len() - first;
    let reply = &mut *ctx.reply;
    // (fields given a TTL, fields deleted because the time had passed)
    let changed = with_hash(&mut view, key, false, |h| {
        let (mut updated, mut deleted) = (0u64, 0u64);
        reply.array(n);
        for f in args.iter().skip(first) {
            let cur = match h.field_ttl(f) {
                FieldTtl::Missing => {
                    reply.int(-2);
                    continue;
                }
                FieldTtl::Persistent => None,
                FieldTtl::At(w) => Some(w),
            };
            if !cond.allows(cur, when) {
                reply.int(0);
            } else if when <= now {
                h.remove(f);
                deleted += 1;
                reply.int(2);
            } else {
                h.set_field_expire(f, when);
                updated += 1;
                reply.int(1);
            }
        }
        (updated, deleted)
    })?;
    let gone = changed.is_some_and(|(_, d)| d > 0) && !view.contains(key);
    drop(view);
    match changed {
        Some((updated, deleted)) => {
            ctx.dirty(updated + deleted);
            // Redis 7.4+: one event per command, `hdel` when any field was
            // deleted by a time already in the past, else `hexpire`.
            if deleted > 0 {
                crate::notify::emit(ctx, crate::notify::HASH, "hdel", key);
            } else if updated > 0 {
                crate::notify::emit(ctx, crate::notify::HASH, "hexpire", key);
            }
            if gone {
                crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
            }
        }
        None => reply_no_such_fields(reply, n),
    }
    Ok(())
}

/// The reply for `n` fields of a key that does not exist: -2 for each.
fn reply_no_such_fields(reply: &mut ReplyBuf, n: usize) {
    reply.array(n);
    for _ in 0..n {
        reply.int(-2);
    }
}

pub fn hexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, 1000, true, "hexpire")
}

pub fn hpexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, 1, true, "hpexpire")
}

pub fn hexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, 1000, false, "hexpireat")
}

pub fn hpexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    hexpire_generic(ctx, args, 1, false, "hpexpireat")
}

/// Which of the four TTL questions is asked.
#[derive(Clone, Copy)]
enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PexpireTime,
}

/// HTTL/HPTTL/HEXPIRETIME/HPEXPIRETIME key FIELDS numfields field…
/// Per field: -2 no such field, -1 no TTL, else the time. Seconds round
/// up, as Redis computes them (`(ms + 999) / 1000`).
fn httl_generic(ctx: &mut Ctx<'_>, args: Args<'_>, kind: TtlKind) -> CmdResult {
    let key = args.get(1);
    let now = ctx.now as i64;
    let mut view = ctx.view(key);
    check_hash_type(&mut view, key)?;
    let first = fields_block(&args, 2, CmdError::NumFieldsPositive)?;
    let n = args.len() - first;
    let reply = &mut *ctx.reply;
    let found = with_hash(&mut view, key, false, |h| {
        reply.array(n);
        for f in args.iter().skip(first) {
            let v = match h.field_ttl(f) {
                FieldTtl::Missing => -2,
                FieldTtl::Persistent => -1,
                FieldTtl::At(w) => {
                    let w = w as i64;
                    match kind {
                        TtlKind::Ttl => (w + 999 - now) / 1000,
                        TtlKind::Pttl => w - now,
                        TtlKind::ExpireTime => (w + 999) / 1000,
                        TtlKind::PexpireTime => w,
                    }
                }
            };
            reply.int(v);
        }
    })?;
    if found.is_none() {
        reply_no_such_fields(reply, n);
    }
    Ok(())
}

pub fn httl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    httl_generic(ctx, args, TtlKind::Ttl)
}

pub fn hpttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    httl_generic(ctx, args, TtlKind::Pttl)
}

pub fn hexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    httl_generic(ctx, args, TtlKind::ExpireTime)
}

pub fn hpexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    httl_generic(ctx, args, TtlKind::PexpireTime)
}

/// HPERSIST key FIELDS numfields field… — per field: -2 no such field,
/// -1 no TTL, 1 TTL removed.
pub fn hpersist(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    check_hash_type(&mut view, key)?;
    let first = fields_block(&args, 2, CmdError::NumFieldsPositive)?;
    let n = args.len() - first;
    let reply = &mut *ctx.reply;
    let changed = with_hash(&mut view, key, false, |h| {
        let mut changed = 0;
        reply.array(n);
        for f in args.iter().skip(first) {
            match h.field_ttl(f) {
                FieldTtl::Missing => reply.int(-2),
                FieldTtl::Persistent => reply.int(-1),
                FieldTtl::At(_) => {
                    h.persist_field(f);
                    changed += 1;
                    reply.int(1);
                }
            }
        }
        changed
    })?;
    drop(view);
    match changed {
        Some(c) => {
            ctx.dirty(c);
            if c > 0 {
                crate::notify::emit(ctx, crate::notify::HASH, "hpersist", key);
            }
        }
        None => reply_no_such_fields(reply, n),
    }
    Ok(())
}

/// HGETDEL key FIELDS numfields field… — each field's value (or nil), and
/// the fields are deleted; the key goes when its last field does.
pub fn hgetdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    check_hash_type(&mut view, key)?;
    let first = fields_block(&args, 2, CmdError::NumFieldsPositive)?;
    let n = args.len() - first;
    let reply = &mut *ctx.reply;
    let deleted = with_hash(&mut view, key, false, |h| {
        let mut deleted = 0;
        reply.array(n);
        for f in args.iter().skip(first) {
            let found = match h.get(f) {
                Some(v) => {
                    reply_item(reply, v);
                    true
                }
                None => {
                    reply.null();
                    false
                }
            };
            if found {
                h.remove(f);
                deleted += 1;
            }
        }
        deleted
    })?;
    let gone = deleted.is_some_and(|d| d > 0) && !view.contains(key);
    drop(view);
    match deleted {
        Some(d) => {
            ctx.dirty(d);
            if d > 0 {
                crate::notify::emit(ctx, crate::notify::HASH, "hdel", key);
            }
            if gone {
                crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
            }
        }
        None => {
            reply.array(n);
            for _ in 0..n {
                reply.null();
            }
        }
    }
    Ok(())
}

/// What HGETEX does to the TTL of the fields it returns.
#[derive(Clone, Copy)]
enum GetExOp {
    Nothing,
    Persist,
    At(u64),
}

/// HGETEX key [EX s | PX ms | EXAT ts | PXAT ts-ms | PERSIST] FIELDS
/// numfields field… — returns the values, then changes the TTLs of the
/// fields that exist (a time not in the future deletes them).
pub fn hgetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let now = ctx.now;
    let mut view = ctx.view(key);
    check_hash_type(&mut view, key)?;
    let opt = args.get(2);
    let timed = |unit: i64, relative: bool| -> Result<GetExOp, CmdError> {
        let base = if relative { now } else { 0 };
        parse_expire_time(args.get(3), unit, base, "hgetex").map(GetExOp::At)
    };
    let (op, at) = if eq_ic(opt, "ex") {
        (timed(1000, true)?, 4)
    } else if eq_ic(opt, "px") {
        (timed(1, true)?, 4)
    } else if eq_ic(opt, "exat") {
        (timed(1000, false)?, 4)
    } else if eq_ic(opt, "pxat") {
        (timed(1, false)?, 4)
    } else if eq_ic(opt, "persist") {
        (GetExOp::Persist, 3)
    } else {
        (GetExOp::Nothing, 2)
    };
    let first = fields_block(&args, at, CmdError::NumFieldsPositive)?;
    let n = args.len() - first;
    let reply = &mut *ctx.reply;
    // (fields whose TTL changed, fields deleted by a time in the past)
    let changed = with_hash(&mut view, key, false, |h| {
        let (mut updated, mut deleted) = (0u64, 0u64);
        reply.array(n);
        for f in args.iter().skip(first) {
            let found = match h.get(f) {
                Some(v) => {
                    reply_item(reply, v);
                    true
                }
                None => {
                    reply.null();
                    false
                }
            };
            if !found {
                continue;
            }
            match op {
                GetExOp::Nothing => {}
                GetExOp::Persist => updated += h.persist_field(f) as u64,
                GetExOp::At(when) if when <= now => {
                    h.remove(f);
                    deleted += 1;
                }
                GetExOp::At(when) => {
                    h.set_field_expire(f, when);
                    updated += 1;
                }
            }
        }
        (updated, deleted)
    })?;
    let gone = changed.is_some_and(|(_, d)| d > 0) && !view.contains(key);
    drop(view);
    match changed {
        Some((updated, deleted)) => {
            ctx.dirty(updated + deleted);
            if updated > 0 {
                let event = match op {
                    GetExOp::Persist => "hpersist",
                    _ => "hexpire",
                };
                crate::notify::emit(ctx, crate::notify::HASH, event, key);
            } else if deleted > 0 {
                crate::notify::emit(ctx, crate::notify::HASH, "hdel", key);
            }
            if gone {
                crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
            }
        }
        None => {
            reply.array(n);
            for _ in 0..n {
                reply.null();
            }
        }
    }
    Ok(())
}

/// HSETEX's parsed options.
struct SetExOpts {
    fnx: bool,
    fxx: bool,
    keepttl: bool,
    expire: Option<u64>,
    first: usize,
}

/// Parses HSETEX's options in order, as Redis does: each error is the
/// first one met scanning left to right; an expiry value is validated
/// where it appears.
fn parse_setex(args: &Args<'_>, now: u64) -> Result<SetExOpts, CmdError> {
    let mut o = SetExOpts {
        fnx: false,
        fxx: false,
        keepttl: false,
        expire: None,
        first: 0,
    };
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if eq_ic(a, "fields") {
            if i + 3 >= args.len() {
                return Err(CmdError::WrongArity("hsetex".into()));
            }
            let n = parse_canonical_i64(args.get(i + 1))
                .filter(|n| (1..=i32::MAX as i64).contains(n))
                .ok_or(CmdError::InvalidNumFields)?;
            let remaining = args.len() - i - 2;
            if !remaining.is_multiple_of(2) || n as usize != remaining / 2 {
                return Err(CmdError::WrongArity("hsetex".into()));
            }
            o.first = i + 2;
            return Ok(o);
        }
        let timed = if eq_ic(a, "ex") {
            Some((1000, true))
        } else if eq_ic(a, "px") {
            Some((1, true))
        } else if eq_ic(a, "exat") {
            Some((1000, false))
        } else if eq_ic(a, "pxat") {
            Some((1, false))
        } else {
            None
        };
        if let Some((unit, relative)) = timed {
            if o.expire.is_some() || o.keepttl {
                return Err(CmdError::OneExpiryOption);
            }
            let Some(t) = args.try_get(i + 1) else {
                return Err(CmdError::MissingExpire);
            };
            let base = if relative { now } else { 0 };
            o.expire = Some(parse_expire_time(t, unit, base, "hsetex")?);
            i += 2;
        } else if eq_ic(a, "keepttl") {
            if o.expire.is_some() || o.keepttl {
                return Err(CmdError::OneExpiryOption);
            }
            o.keepttl = true;
            i += 1;
        } else if eq_ic(a, "fxx") || eq_ic(a, "fnx") {
            if o.fxx || o.fnx {
                return Err(CmdError::FxxFnx);
            }
            if eq_ic(a, "fxx") {
                o.fxx = true;
            } else {
                o.fnx = true;
            }
            i += 1;
        } else {
            return Err(CmdError::UnknownArgument(
                String::from_utf8_lossy(a).into_owned(),
            ));
        }
    }
    // Every option is at most two arguments and the arity demands more,
    // so a line without FIELDS always fails above; kept for safety.
    Err(CmdError::Syntax)
}

/// HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT time | KEEPTTL] FIELDS numfields
/// field value… — 1 if the fields were set, 0 if FNX/FXX stopped it. Plain
/// HSETEX clears the fields' TTLs like HSET; KEEPTTL keeps them.
pub fn hsetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let now = ctx.now;
    let o = parse_setex(&args, now)?;
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    let absent = !view.contains(key);
    let pairs = || {
        args.iter()
            .skip(o.first)
            .step_by(2)
            .zip(args.iter().skip(o.first + 1).step_by(2))
    };
    let set = with_hash(&mut view, key, !o.fxx, |h| {
        if o.fxx && !pairs().all(|(f, _)| h.contains(f)) {
            return false;
        }
        if o.fnx && pairs().any(|(f, _)| h.contains(f)) {
            return false;
        }
        let keep = o.keepttl || o.expire.is_some();
        for (f, v) in pairs() {
            h.set(f, v, &limits, keep);
            match o.expire {
                Some(when) if when <= now => {
                    h.remove(f);
                }
                Some(when) => {
                    h.set_field_expire(f, when);
                }
                None => {}
            }
        }
        true
    })?
    .unwrap_or(false);
    let gone = set && !view.contains(key);
    drop(view);
    if set {
        ctx.dirty(((args.len() - o.first) / 2) as u64);
        // As Redis: the key is created before the fields are written, so a
        // time in the past gives `new`, `hset`, `hdel`, `del`.
        crate::notify::emit_new(ctx, absent, key);
        crate::notify::emit(ctx, crate::notify::HASH, "hset", key);
        match o.expire {
            Some(when) if when <= now => crate::notify::emit(ctx, crate::notify::HASH, "hdel", key),
            Some(_) => crate::notify::emit(ctx, crate::notify::HASH, "hexpire", key),
            None => {}
        }
        if gone {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    ctx.reply.int(set as i64);
    Ok(())
}

/// One step of active field expiry, for the server's cron.
///
/// Walks each database's slots from `cursors[db]` (the caller keeps the
/// vector between calls; it starts empty), examining up to `budget` keys
/// per database, and drops the expired fields of every hash whose earliest
/// field expiry has passed, deleting hashes left empty. Returns the number
/// of fields removed. Does nothing while no hash has a field TTL.
pub fn active_expire_fields(state: &ServerState, cursors: &mut Vec<u64>, budget: usize) -> usize {
    if hashes_with_field_ttls() == 0 {
        return 0;
    }
    let now = quiver_engine::now_ms();
    let dbs = state.keyspace.db_count();
    cursors.resize(dbs, 0);
    let mut removed = 0;
    for (db, cursor) in cursors.iter_mut().enumerate() {
        let mut examined = 0usize;
        // The engine's scan stops once it has `count` keys; keys past the
        // budget are returned too, as a way to end the step early.
        let out = state.keyspace.db(db).scan(*cursor, 32, now, |_, v| {
            examined += 1;
            match v {
                Value::Hash(h) => {
                    examined >= budget || h.next_field_expiry().is_some_and(|m| m < now)
                }
                _ => examined >= budget,
            }
        });
        *cursor = out.cursor;
        for key in out.keys {
            let mut view = state.keyspace.lock_key(db, &key, now);
            let (purged, emptied) = match view.get_mut(&key) {
                Some(e) => match &mut e.value {
                    Value::Hash(h) => (h.purge_expired(now), h.is_empty()),
                    _ => (0, false),
                },
                None => (0, false),
            };
            if emptied {
                view.remove(&key);
            }
            drop(view);
            removed += purged;
            if purged > 0 {
                // The hash changed without a command naming it: WATCH,
                // tracking and notifications hear of it here (`hexpired`,
                // then `del` when it was the last field, as Redis 7.4+).
                crate::events::key_written(state, db, &key);
                crate::notify::emit_db(state, db, crate::notify::HASH, "hexpired", &key);
                if emptied {
                    crate::notify::emit_db(state, db, crate::notify::GENERIC, "del", &key);
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_times_follow_redis_bounds() {
        assert_eq!(parse_expire_time(b"10", 1000, 5, "hexpire"), Ok(10_005));
        assert_eq!(parse_expire_time(b"0", 1, 7, "hpexpire"), Ok(7));
        assert_eq!(
            parse_expire_time(b"-1", 1, 0, "hpexpire"),
            Err(CmdError::NegativeExpire)
        );
        assert_eq!(
            parse_expire_time(b"1.5", 1, 0, "hpexpire"),
            Err(CmdError::NotInteger)
        );
        let max = EXPIRE_MAX.to_string();
        assert_eq!(
            parse_expire_time(max.as_bytes(), 1, 0, "hpexpireat"),
            Ok(EXPIRE_MAX as u64)
        );
        assert_eq!(
            parse_expire_time(max.as_bytes(), 1, 1, "hpexpire"),
            Err(CmdError::InvalidExpire("hpexpire"))
        );
        let secs = (EXPIRE_MAX / 1000 + 1).to_string();
        assert_eq!(
            parse_expire_time(secs.as_bytes(), 1000, 0, "hexpireat"),
            Err(CmdError::InvalidExpire("hexpireat"))
        );
    }

    #[test]
    fn conditions_treat_persistent_as_infinite() {
        assert!(Cond::Nx.allows(None, 5) && !Cond::Nx.allows(Some(1), 5));
        assert!(Cond::Xx.allows(Some(1), 5) && !Cond::Xx.allows(None, 5));
        assert!(Cond::Gt.allows(Some(4), 5) && !Cond::Gt.allows(Some(5), 5));
        assert!(!Cond::Gt.allows(None, u64::MAX));
        assert!(Cond::Lt.allows(None, 5) && Cond::Lt.allows(Some(6), 5));
        assert!(!Cond::Lt.allows(Some(5), 5));
    }
}
