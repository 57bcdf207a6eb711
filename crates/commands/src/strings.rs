//! String commands: GET/SET and their variants, counters (INCR…,
//! INCRBYFLOAT), ranges (GETRANGE/SETRANGE/APPEND) and LCS.
//!
//! Strings have three encodings (see `quiver_engine::Value`): commands that
//! edit bytes in place go through `Value::make_raw()` so OBJECT ENCODING
//! reports `raw` exactly when Redis does, while commands that store a fresh
//! value use `Value::from_bytes` (which picks `int` for canonical integers).
//! Every read of a key goes through [`get_string`] / [`get_string_mut`], so
//! WRONGTYPE appears by itself once other types exist.
//!
//! The hot commands (GET, SET without options, INCR, MSET) allocate nothing
//! beyond the stored value itself.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::ldouble::{self, Ld};
use crate::spec::{acl, flag, CommandSpec, KeySpec, ALL_KEYS, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::value::{itoa_buf, parse_canonical_i64, Bytes16};
use quiver_engine::{Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};
use std::sync::atomic::Ordering;

const STR: u64 = acl::STRING;
const W: u32 = flag::WRITE;
const WD: u32 = flag::WRITE | flag::DENYOOM;
const WDF: u32 = flag::WRITE | flag::DENYOOM | flag::FAST;
const RO: u32 = flag::READONLY;
const ROF: u32 = flag::READONLY | flag::FAST;
/// MSET/MSETNX: every other argument from argv[1] is a key.
const PAIRS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 2,
};

/// A row with its documentation fields.
const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    since: &'static str,
    summary: &'static str,
    handler: crate::spec::Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        summary,
        ..CommandSpec::new(name, arity, flags, keys, STR, "string", handler)
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row("get", 2, ROF, KEY1, "1.0.0", "Get the value of a key", get),
    row(
        "set",
        -3,
        WD,
        KEY1,
        "1.0.0",
        "Set the string value of a key",
        set,
    ),
    row(
        "setnx",
        3,
        WDF,
        KEY1,
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
        setnx,
    ),
    row(
        "setex",
        4,
        WD,
        KEY1,
        "2.0.0",
        "Set the value and expiration of a key",
        setex,
    ),
    row(
        "psetex",
        4,
        WD,
        KEY1,
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
        psetex,
    ),
    row(
        "getset",
        3,
        WDF,
        KEY1,
        "1.0.0",
        "Set the string value of a key and return its old value",
        getset,
    ),
    row(
        "getdel",
        2,
        W | flag::FAST,
        KEY1,
        "6.2.0",
        "Get the value of a key and delete the key",
        getdel,
    ),
    row(
        "getex",
        -2,
        W | flag::FAST,
        KEY1,
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
        getex,
    ),
    row(
        "mget",
        -2,
        ROF,
        ALL_KEYS,
        "1.0.0",
        "Get the values of all the given keys",
        mget,
    ),
    row(
        "mset",
        -3,
        WD,
        PAIRS,
        "1.0.1",
        "Set multiple keys to multiple values",
        mset,
    ),
    row(
        "msetnx",
        -3,
        WD,
        PAIRS,
        "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist",
        msetnx,
    ),
    row(
        "append",
        3,
        WDF,
        KEY1,
        "2.0.0",
        "Append a value to a key",
        append,
    ),
    row(
        "strlen",
        2,
        ROF,
        KEY1,
        "2.2.0",
        "Get the length of the value stored in a key",
        strlen,
    ),
    row(
        "getrange",
        4,
        RO,
        KEY1,
        "2.4.0",
        "Get a substring of the string stored at a key",
        getrange,
    ),
    row(
        "substr",
        4,
        RO,
        KEY1,
        "1.0.0",
        "Get a substring of the string stored at a key",
        getrange,
    ),
    row(
        "setrange",
        4,
        WD,
        KEY1,
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
        setrange,
    ),
    row(
        "incr",
        2,
        WDF,
        KEY1,
        "1.0.0",
        "Increment the integer value of a key by one",
        incr,
    ),
    row(
        "decr",
        2,
        WDF,
        KEY1,
        "1.0.0",
        "Decrement the integer value of a key by one",
        decr,
    ),
    row(
        "incrby",
        3,
        WDF,
        KEY1,
        "1.0.0",
        "Increment the integer value of a key by the given amount",
        incrby,
    ),
    row(
        "decrby",
        3,
        WDF,
        KEY1,
        "1.0.0",
        "Decrement the integer value of a key by the given number",
        decrby,
    ),
    row(
        "incrbyfloat",
        3,
        WDF,
        KEY1,
        "2.6.0",
        "Increment the float value of a key by the given amount",
        incrbyfloat,
    ),
    row(
        "lcs",
        -3,
        RO,
        KeySpec {
            first: 1,
            last: 2,
            step: 1,
        },
        "7.0.0",
        "Find longest common substring",
        lcs,
    ),
];

/// Writes a string value as a bulk reply.
#[inline]
pub fn reply_value(reply: &mut ReplyBuf, v: &Value) {
    match v {
        Value::Str(b) | Value::Raw(b) => reply.bulk(b),
        Value::Int(i) => reply.bulk_int(*i),
        // Callers check the type first (get_string); never a string here.
        _ => reply.null(),
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

/// Like [`get_string`], for commands that modify the value (or its TTL).
#[inline]
pub fn get_string_mut<'v>(
    view: &'v mut View<'_>,
    key: &[u8],
) -> Result<Option<&'v mut Entry>, CmdError> {
    match view.get_mut(key) {
        None => Ok(None),
        Some(e) if e.value.is_string() => Ok(Some(e)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The bytes of a string value (integers formatted into `buf`).
#[inline]
pub fn value_bytes<'a>(v: &'a Value, buf: &'a mut itoa_buf::Buf) -> &'a [u8] {
    v.string_bytes(buf).unwrap_or_default()
}

/// `proto-max-bulk-len`: the largest string a command may build.
pub fn max_string_len(ctx: &Ctx<'_>) -> u64 {
    ctx.server
        .config
        .hot
        .proto_max_bulk_len
        .load(Ordering::Relaxed)
        .max(0) as u64
}

/// Redis's `checkStringLength`: growing a string to `offset + append` bytes
/// must stay within proto-max-bulk-len. Checked before allocating anything.
pub fn check_string_len(ctx: &Ctx<'_>, offset: u64, append: u64) -> Result<(), CmdError> {
    match offset.checked_add(append) {
        Some(total) if total <= max_string_len(ctx) => Ok(()),
        _ => Err(CmdError::StringTooLong),
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

/// Converts an EX/PX/EXAT/PXAT argument to absolute ms, with Redis's checks:
/// not an integer → NotInteger; zero, negative or overflowing → invalid
/// expire time (naming `cmd`).
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

/// The four ways to give an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpKind {
    fn from_arg(a: &[u8]) -> Option<ExpKind> {
        if eq_ic(a, "ex") {
            Some(ExpKind::Ex)
        } else if eq_ic(a, "px") {
            Some(ExpKind::Px)
        } else if eq_ic(a, "exat") {
            Some(ExpKind::ExAt)
        } else if eq_ic(a, "pxat") {
            Some(ExpKind::PxAt)
        } else {
            None
        }
    }

    fn is_absolute(self) -> bool {
        matches!(self, ExpKind::ExAt | ExpKind::PxAt)
    }

    /// Absolute ms for the argument `arg` of this kind.
    fn resolve(self, arg: &[u8], now: u64, cmd: &'static str) -> Result<u64, CmdError> {
        let unit = match self {
            ExpKind::Ex | ExpKind::ExAt => 1000,
            ExpKind::Px | ExpKind::PxAt => 1,
        };
        parse_expire_arg(arg, unit, self.is_absolute(), now, cmd)
    }
}

/// SET's and GETEX's options. As in Redis an option may repeat (the last
/// expiry wins) but conflicting ones are a syntax error: NX with XX, two
/// different expiry kinds, KEEPTTL or PERSIST with an expiry. The expiry
/// argument is only validated after the whole line parsed, so a syntax
/// error wins over a bad number.
#[derive(Default)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpKind, &'a [u8])>,
}

fn parse_str_opts<'a>(
    args: &Args<'a>,
    from: usize,
    for_set: bool,
) -> Result<StrOpts<'a>, CmdError> {
    let mut o = StrOpts::default();
    let mut i = from;
    while i < args.len() {
        let a = args.get(i);
        if let Some(kind) = ExpKind::from_arg(a) {
            let conflict = o.keepttl || o.persist || o.expire.is_some_and(|(k, _)| k != kind);
            match args.try_get(i + 1) {
                Some(next) if !conflict => {
                    o.expire = Some((kind, next));
                    i += 2;
                    continue;
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        if for_set && eq_ic(a, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && eq_ic(a, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && eq_ic(a, "get") {
            o.get = true;
        } else if for_set && eq_ic(a, "keepttl") && !o.persist && o.expire.is_none() {
            o.keepttl = true;
        } else if !for_set && eq_ic(a, "persist") && !o.keepttl && o.expire.is_none() {
            o.persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

/// Stores `value` at `key` with Redis's SET semantics and reports whether
/// it was written. `get` replies with the old value (WRONGTYPE if it is
/// not a string, checked before anything changes).
#[allow(clippy::too_many_arguments)]
fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    value: &[u8],
    nx: bool,
    xx: bool,
    get: bool,
    expire: ExpireOpt,
) -> Result<bool, CmdError> {
    let now = ctx.now;
    let mut view = ctx.view(key);
    let existing = if get {
        let v = get_string(&mut view, key)?;
        ctx.server.keyspace.hit(v.is_some());
        match v {
            Some(v) => reply_value(ctx.reply, v),
            None => ctx.reply.null(),
        }
        view.get(key)
    } else {
        view.get(key)
    };
    let exists = existing.is_some();
    if nx && exists || xx && !exists {
        return Ok(false);
    }
    let when = match expire {
        ExpireOpt::Clear => 0,
        ExpireOpt::Keep => existing.and_then(|e| e.expire()).unwrap_or(0),
        ExpireOpt::At(w) => w,
    };
    if when != 0 && when <= now {
        // Already in the past: the key is written and expires at once.
        view.remove(key);
    } else {
        view.insert(key, Entry::with_expire(Value::from_bytes(value), when));
    }
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, !exists, key);
    crate::notify::emit(ctx, crate::notify::STRING, "set", key);
    // KEEPTTL leaves the TTL alone: only a TTL set by this command is an
    // `expire` event.
    if matches!(expire, ExpireOpt::At(_)) {
        crate::notify::emit(ctx, crate::notify::GENERIC, "expire", key);
    }
    if when != 0 && when <= now {
        // Redis stores the key and expires it on its next lookup; Quiver
        // drops it at once, so the `expired` event comes right away.
        crate::notify::emit(ctx, crate::notify::EXPIRED, "expired", key);
    }
    Ok(true)
}

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, value) = (args.get(1), args.get(2));
    if args.len() == 3 {
        // The plain form: no option parsing, one lock, one insert.
        let mut view = ctx.view(key);
        let created = view
            .insert(key, Entry::new(Value::from_bytes(value)))
            .is_none();
        drop(view);
        ctx.dirty(1);
        crate::notify::emit_new(ctx, created, key);
        crate::notify::emit(ctx, crate::notify::STRING, "set", key);
        ctx.reply.ok();
        return Ok(());
    }
    let o = parse_str_opts(&args, 3, true)?;
    let expire = match o.expire {
        Some((kind, arg)) => ExpireOpt::At(kind.resolve(arg, ctx.now, "set")?),
        None if o.keepttl => ExpireOpt::Keep,
        None => ExpireOpt::Clear,
    };
    let written = set_generic(ctx, key, value, o.nx, o.xx, o.get, expire)?;
    if !o.get {
        if written {
            ctx.reply.ok();
        } else {
            ctx.reply.null();
        }
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let written = set_generic(
        ctx,
        args.get(1),
        args.get(2),
        true,
        false,
        false,
        ExpireOpt::Clear,
    )?;
    ctx.reply.int(written as i64);
    Ok(())
}

fn setex_generic(ctx: &mut Ctx<'_>, args: Args<'_>, kind: ExpKind, cmd: &'static str) -> CmdResult {
    let when = kind.resolve(args.get(2), ctx.now, cmd)?;
    set_generic(
        ctx,
        args.get(1),
        args.get(3),
        false,
        false,
        false,
        ExpireOpt::At(when),
    )?;
    ctx.reply.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    setex_generic(ctx, args, ExpKind::Ex, "setex")
}

fn psetex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    setex_generic(ctx, args, ExpKind::Px, "psetex")
}

fn getset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    set_generic(
        ctx,
        args.get(1),
        args.get(2),
        false,
        false,
        true,
        ExpireOpt::Clear,
    )?;
    Ok(())
}

fn getdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let found = get_string(&mut view, key)?.is_some();
    ctx.server.keyspace.hit(found);
    match view.remove(key) {
        Some(e) if found => {
            reply_value(ctx.reply, &e.value);
            drop(view);
            ctx.dirty(1);
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
        _ => ctx.reply.null(),
    }
    Ok(())
}

fn getex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let o = parse_str_opts(&args, 2, false)?;
    let now = ctx.now;
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    let Some(v) = v else {
        // A missing key answers nil before the expiry is even validated.
        ctx.reply.null();
        return Ok(());
    };
    let when = match o.expire {
        Some((kind, arg)) => Some(kind.resolve(arg, now, "getex")?),
        None => None,
    };
    reply_value(ctx.reply, v);
    match when {
        Some(w) if w <= now => {
            // EXAT/PXAT in the past deletes the key.
            view.remove(key);
            drop(view);
            ctx.dirty(1);
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
        Some(w) => {
            view.set_expire(key, w);
            drop(view);
            ctx.dirty(1);
            crate::notify::emit(ctx, crate::notify::GENERIC, "expire", key);
        }
        // PERSIST only counts as a change when there was a TTL to remove.
        None if o.persist && view.get(key).and_then(|e| e.expire()).is_some() => {
            view.set_expire(key, 0);
            drop(view);
            ctx.dirty(1);
            crate::notify::emit(ctx, crate::notify::GENERIC, "persist", key);
        }
        None => {}
    }
    Ok(())
}

/// Adds `delta` to the integer at `key`, creating it at 0; returns the
/// result. The TTL is kept, as Redis overwrites the value in place.
pub fn incr_by(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> Result<i64, CmdError> {
    let mut created = false;
    let mut view = ctx.view(key);
    let result = match get_string_mut(&mut view, key)? {
        Some(e) => {
            let cur = match &e.value {
                Value::Int(i) => *i,
                Value::Str(b) | Value::Raw(b) => {
                    parse_canonical_i64(b).ok_or(CmdError::NotInteger)?
                }
                _ => return Err(CmdError::WrongType),
            };
            let new = cur.checked_add(delta).ok_or(CmdError::Overflow)?;
            e.value = Value::Int(new);
            new
        }
        None => {
            view.insert(key, Entry::new(Value::Int(delta)));
            created = true;
            delta
        }
    };
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::STRING, "incrby", key);
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

/// INCRBYFLOAT in 80-bit extended precision, like Redis on x86-64 (see
/// [`crate::ldouble`]). The result is stored as text (never the `int`
/// encoding, even for "3") and the TTL is kept.
fn incrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let entry = get_string_mut(&mut view, key)?;
    let current = match entry.as_deref().map(|e| &e.value) {
        None => None,
        Some(Value::Int(i)) => Some(Ld::from_i64(*i)),
        Some(Value::Str(b) | Value::Raw(b)) => Some(Ld::parse(b).ok_or(CmdError::NotFloat)?),
        Some(_) => return Err(CmdError::WrongType),
    };
    let text = ldouble::incr_by_float(current, args.get(2))?;
    let value = Value::Str(Bytes16::from_slice(text.as_bytes()));
    let created = entry.is_none();
    match entry {
        Some(e) => e.value = value,
        None => {
            view.insert(key, Entry::new(value));
        }
    }
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::STRING, "incrbyfloat", key);
    ctx.reply.bulk(text.as_bytes());
    Ok(())
}

fn mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    ctx.reply.array(keys.len());
    for key in keys.iter() {
        // Non-string values read as nil, not WRONGTYPE.
        match view.get(key) {
            Some(e) if e.value.is_string() => {
                ctx.server.keyspace.hit(true);
                reply_value(ctx.reply, &e.value)
            }
            _ => {
                ctx.server.keyspace.hit(false);
                ctx.reply.null()
            }
        }
    }
    Ok(())
}

fn mset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("mset".into()));
    }
    let pairs = args.slice_from(1);
    let mut view = ctx.view_keys(pairs.iter().step_by(2));
    // Which keys were created, for `new` events (only computed when the
    // `n` class is on: MSET is a hot path).
    let track_new = crate::notify::flags(ctx.server) & crate::notify::NEW != 0;
    let mut created: Vec<bool> = Vec::new();
    let mut i = 1;
    while i + 1 < args.len() {
        let old = view.insert(args.get(i), Entry::new(Value::from_bytes(args.get(i + 1))));
        if track_new {
            created.push(old.is_none());
        }
        i += 2;
    }
    drop(view);
    ctx.dirty(((args.len() - 1) / 2) as u64);
    for (n, k) in pairs.iter().step_by(2).enumerate() {
        // A key named twice is created by its first occurrence only.
        crate::notify::emit_new(ctx, created.get(n).copied().unwrap_or(false), k);
        crate::notify::emit(ctx, crate::notify::STRING, "set", k);
    }
    ctx.reply.ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("msetnx".into()));
    }
    let pairs = args.slice_from(1);
    let mut view = ctx.view_keys(pairs.iter().step_by(2));
    let mut i = 1;
    while i < args.len() {
        if view.contains(args.get(i)) {
            drop(view);
            ctx.reply.int(0);
            return Ok(());
        }
        i += 2;
    }
    let mut created: Vec<bool> = Vec::new();
    let mut i = 1;
    while i + 1 < args.len() {
        let old = view.insert(args.get(i), Entry::new(Value::from_bytes(args.get(i + 1))));
        created.push(old.is_none());
        i += 2;
    }
    drop(view);
    ctx.dirty(((args.len() - 1) / 2) as u64);
    for (n, k) in pairs.iter().step_by(2).enumerate() {
        crate::notify::emit_new(ctx, created.get(n).copied().unwrap_or(false), k);
        crate::notify::emit(ctx, crate::notify::STRING, "set", k);
    }
    ctx.reply.int(1);
    Ok(())
}

fn append(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, tail) = (args.get(1), args.get(2));
    let max = max_string_len(ctx);
    let mut view = ctx.view(key);
    let mut created = false;
    let total = match get_string_mut(&mut view, key)? {
        None => {
            created = true;
            // A new key is stored like SET would (int/embstr/raw).
            view.insert(key, Entry::new(Value::from_bytes(tail)));
            tail.len()
        }
        Some(e) => {
            let cur = e.value.string_len().unwrap_or(0) as u64;
            if cur + tail.len() as u64 > max {
                return Err(CmdError::StringTooLong);
            }
            let buf = e.value.make_raw().ok_or(CmdError::WrongType)?;
            buf.extend_from_slice(tail);
            buf.len()
        }
    };
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::STRING, "append", key);
    ctx.reply.int(total as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    let n = v.and_then(|v| v.string_len()).unwrap_or(0);
    ctx.reply.int(n as i64);
    Ok(())
}

/// Resolves GETRANGE's inclusive `start..=end` (negative = from the end)
/// against a string of `len` bytes; `None` when the range is empty.
pub fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        (len + end).max(0)
    } else {
        end.min(len - 1)
    };
    if len == 0 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let start = parse_i64(args.get(2))?;
    let end = parse_i64(args.get(3))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    let mut buf = itoa_buf::Buf::new();
    let bytes = v.map_or(&[][..], |v| value_bytes(v, &mut buf));
    match clamp_range(start, end, bytes.len()) {
        Some((s, e)) => ctx.reply.bulk(&bytes[s..=e]),
        None => ctx.reply.bulk(b""),
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let offset = parse_i64(args.get(2))?;
    let patch = args.get(3);
    if offset < 0 {
        return Err(CmdError::OffsetOutOfRange);
    }
    let offset = offset as u64;
    let mut view = ctx.view(key);
    let mut created = false;
    let len = match get_string_mut(&mut view, key)? {
        None => {
            created = true;
            // Nothing to write on a missing key: no key is created.
            if patch.is_empty() {
                ctx.reply.int(0);
                return Ok(());
            }
            check_string_len(ctx, offset, patch.len() as u64)?;
            let mut buf = Bytes16::from_elem(0, offset as usize);
            buf.extend_from_slice(patch);
            let len = buf.len();
            view.insert(key, Entry::new(Value::Raw(buf)));
            len
        }
        Some(e) => {
            if patch.is_empty() {
                let n = e.value.string_len().unwrap_or(0);
                ctx.reply.int(n as i64);
                return Ok(());
            }
            check_string_len(ctx, offset, patch.len() as u64)?;
            let buf = e.value.make_raw().ok_or(CmdError::WrongType)?;
            let off = offset as usize;
            let end = off + patch.len();
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[off..end].copy_from_slice(patch);
            buf.len()
        }
    };
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::STRING, "setrange", key);
    ctx.reply.int(len as i64);
    Ok(())
}

/// LCS: the longest common subsequence of two strings, as the string, its
/// length (LEN) or the matching ranges (IDX).
fn lcs(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (k1, k2) = (args.get(1), args.get(2));
    let (a, b) = {
        let mut view = ctx.view_keys([k1, k2]);
        let mut read = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
            match view.get(key) {
                None => {
                    ctx.server.keyspace.hit(false);
                    Ok(Vec::new())
                }
                Some(e) if e.value.is_string() => {
                    ctx.server.keyspace.hit(true);
                    let mut buf = itoa_buf::Buf::new();
                    Ok(value_bytes(&e.value, &mut buf).to_vec())
                }
                Some(_) => Err(CmdError::err(
                    "The specified keys must contain string values",
                )),
            }
        };
        (read(k1)?, read(k2)?)
    };
    let (mut want_idx, mut want_len, mut with_len) = (false, false, false);
    let mut min_len: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if eq_ic(opt, "idx") {
            want_idx = true;
        } else if eq_ic(opt, "len") {
            want_len = true;
        } else if eq_ic(opt, "withmatchlen") {
            with_len = true;
        } else if eq_ic(opt, "minmatchlen") && i + 1 < args.len() {
            min_len = parse_i64(args.get(i + 1))?.max(0);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if want_idx && want_len {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    // The DP table is transient memory Redis bounds by proto-max-bulk-len.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > max_string_len(ctx) {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let table = crate::lcs::Table::build(&a, &b);
    if want_len {
        ctx.reply.int(table.len() as i64);
        return Ok(());
    }
    if !want_idx {
        ctx.reply.bulk(&table.sequence(&a, &b));
        return Ok(());
    }
    let ranges = table.ranges(&a, &b);
    ctx.reply.map(2);
    ctx.reply.bulk(b"matches");
    let kept: Vec<_> = ranges
        .iter()
        .filter(|r| min_len == 0 || r.len as i64 >= min_len)
        .collect();
    ctx.reply.array(kept.len());
    for r in kept {
        ctx.reply.array(if with_len { 3 } else { 2 });
        ctx.reply.array(2);
        ctx.reply.int(r.a.0 as i64);
        ctx.reply.int(r.a.1 as i64);
        ctx.reply.array(2);
        ctx.reply.int(r.b.0 as i64);
        ctx.reply.int(r.b.1 as i64);
        if with_len {
            ctx.reply.int(r.len as i64);
        }
    }
    ctx.reply.bulk(b"len");
    ctx.reply.int(table.len() as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_getrange_rules() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(clamp_range(-1, -5, 5), None);
        assert_eq!(clamp_range(0, -100, 5), Some((0, 0)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 2, 5), None);
        assert_eq!(clamp_range(0, 0, 0), None);
        assert_eq!(clamp_range(10, 20, 5), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
    }
}
