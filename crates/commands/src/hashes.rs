//! Hash commands: HSET and friends, counters, HRANDFIELD and HSCAN. The
//! field-expiry commands (HEXPIRE…, HGETEX, HSETEX, HGETDEL) live in
//! [`crate::hash_ttl`].
//!
//! Every command reaches its hash through [`with_hash`], which does the
//! type check, drops fields whose TTL has passed before the command sees
//! the hash (lazy field expiry), and deletes the key if the hash ends up
//! empty — whether because the command removed the last field or because
//! the last fields had expired — since Redis never stores empty collections.
//!
//! Replies are written straight from the encoding ([`Item`]s borrowed from
//! the listpack or table), so HGETALL and friends allocate nothing.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::keys::parse_cursor;
use crate::ldouble::{self, Ld};
use crate::spec::{acl, flag, CommandSpec, Handler, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::listpack::Item;
use quiver_engine::types::hash::Sampler;
use quiver_engine::types::Hash;
use quiver_engine::value::{itoa_buf, parse_canonical_i64};
use quiver_engine::{glob_match, Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};
use rand::Rng;

const WF: u32 = flag::WRITE | flag::FAST;
const WDF: u32 = flag::WRITE | flag::DENYOOM | flag::FAST;
const RO: u32 = flag::READONLY;
const ROF: u32 = flag::READONLY | flag::FAST;

/// A row of the hash family with its documentation fields.
pub(crate) const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        summary,
        ..CommandSpec::new(name, arity, flags, KEY1, acl::HASH, "hash", handler)
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row("hset", -4, WDF, "2.0.0", "Set the string value of a hash field", hset),
    row(
        "hsetnx",
        4,
        WDF,
        "2.0.0",
        "Set the value of a hash field, only if the field does not exist",
        hsetnx,
    ),
    row("hmset", -4, WDF, "2.0.0", "Set multiple hash fields to multiple values", hmset),
    row("hget", 3, ROF, "2.0.0", "Get the value of a hash field", hget),
    row("hmget", -3, ROF, "2.0.0", "Get the values of all the given hash fields", hmget),
    row("hgetall", 2, RO, "2.0.0", "Get all the fields and values in a hash", hgetall),
    row("hdel", -3, WF, "2.0.0", "Delete one or more hash fields", hdel),
    row("hexists", 3, ROF, "2.0.0", "Determine if a hash field exists", hexists),
    row("hlen", 2, ROF, "2.0.0", "Get the number of fields in a hash", hlen),
    row("hkeys", 2, RO, "2.0.0", "Get all the fields in a hash", hkeys),
    row("hvals", 2, RO, "2.0.0", "Get all the values in a hash", hvals),
    row(
        "hstrlen",
        3,
        ROF,
        "3.2.0",
        "Get the length of the value of a hash field",
        hstrlen,
    ),
    row(
        "hincrby",
        4,
        WDF,
        "2.0.0",
        "Increment the integer value of a hash field by the given number",
        hincrby,
    ),
    row(
        "hincrbyfloat",
        4,
        WDF,
        "2.6.0",
        "Increment the float value of a hash field by the given amount",
        hincrbyfloat,
    ),
    row(
        "hrandfield",
        -2,
        RO,
        "6.2.0",
        "Get one or multiple random fields from a hash",
        hrandfield,
    ),
    row(
        "hscan",
        -3,
        RO,
        "2.8.0",
        "Incrementally iterate hash fields and associated values",
        hscan,
    ),
    // Field expiry and the Redis 8 get-and-modify commands.
    row(
        "hexpire",
        -6,
        WF,
        "7.4.0",
        "Set expiry for hash field using relative time to expire (seconds)",
        crate::hash_ttl::hexpire,
    ),
    row(
        "hpexpire",
        -6,
        WF,
        "7.4.0",
        "Set expiry for hash field using relative time to expire (milliseconds)",
        crate::hash_ttl::hpexpire,
    ),
    row(
        "hexpireat",
        -6,
        WF,
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (seconds)",
        crate::hash_ttl::hexpireat,
    ),
    row(
        "hpexpireat",
        -6,
        WF,
        "7.4.0",
        "Set expiry for hash field using an absolute Unix timestamp (milliseconds)",
        crate::hash_ttl::hpexpireat,
    ),
    row(
        "httl",
        -5,
        ROF,
        "7.4.0",
        "Returns the TTL in seconds of a hash field",
        crate::hash_ttl::httl,
    ),
    row(
        "hpttl",
        -5,
        ROF,
        "7.4.0",
        "Returns the TTL in milliseconds of a hash field",
        crate::hash_ttl::hpttl,
    ),
    row(
        "hexpiretime",
        -5,
        ROF,
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in seconds",
        crate::hash_ttl::hexpiretime,
    ),
    row(
        "hpexpiretime",
        -5,
        ROF,
        "7.4.0",
        "Returns the expiration time of a hash field as a Unix timestamp, in msec",
        crate::hash_ttl::hpexpiretime,
    ),
    row(
        "hpersist",
        -5,
        WF,
        "7.4.0",
        "Removes the expiration time for each specified field",
        crate::hash_ttl::hpersist,
    ),
    row(
        "hgetdel",
        -5,
        WF,
        "8.0.0",
        "Returns the value of a field and deletes it from the hash",
        crate::hash_ttl::hgetdel,
    ),
    row(
        "hgetex",
        -5,
        WF,
        "8.0.0",
        "Get the value of one or more fields of a given hash key, and optionally set their expiration",
        crate::hash_ttl::hgetex,
    ),
    row(
        "hsetex",
        -6,
        WDF,
        "8.0.0",
        "Set the value of one or more fields of a given hash key, and optionally set their expiration",
        crate::hash_ttl::hsetex,
    ),
];

/// Runs `f` on the hash at `key`.
///
/// - Another type → WRONGTYPE, before `f` runs (so before any reply).
/// - Missing key → `f` is not called and the result is `None`, unless
///   `create`, in which case `f` gets a fresh hash, stored only if `f`
///   leaves it non-empty.
/// - Expired fields are dropped first; if the hash is empty after `f`
///   (its last fields expired or were removed), the key is deleted.
///
/// `f` sees an emptied-by-expiry hash as an empty one, which every hash
/// command treats exactly like a missing key.
#[inline]
pub(crate) fn with_hash<R>(
    view: &mut View<'_>,
    key: &[u8],
    create: bool,
    f: impl FnOnce(&mut Hash) -> R,
) -> Result<Option<R>, CmdError> {
    let now = view.now;
    let (r, empty) = match view.get_mut(key) {
        Some(e) => {
            let Value::Hash(h) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            h.purge_expired(now);
            let r = f(h);
            (r, h.is_empty())
        }
        None if create => {
            let mut h = Hash::new();
            let r = f(&mut h);
            if !h.is_empty() {
                view.insert(key, Entry::new(Value::Hash(Box::new(h))));
            }
            return Ok(Some(r));
        }
        None => return Ok(None),
    };
    if empty {
        view.remove(key);
    }
    Ok(Some(r))
}

/// Writes one stored item as a bulk string.
#[inline]
pub(crate) fn reply_item(reply: &mut ReplyBuf, item: Item<'_>) {
    match item {
        Item::Bytes(b) => reply.bulk(b),
        Item::Int(i) => reply.bulk_int(i),
        // Hashes never store floats; HINCRBYFLOAT stores text.
        Item::Float(f) => reply.double(f),
    }
}

/// Length of an item's text.
fn item_len(item: Item<'_>) -> usize {
    match item {
        Item::Bytes(b) => b.len(),
        other => {
            let mut buf = itoa_buf::Buf::new();
            other.as_bytes(&mut buf).len()
        }
    }
}

/// HSET key field value [field value …] / HMSET: the argument count is
/// checked before the key is looked up, as in Redis.
fn hset_generic(ctx: &mut Ctx<'_>, args: Args<'_>, name: &str) -> Result<u64, CmdError> {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity(name.to_string()));
    }
    let key = args.get(1);
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    // Existence is only looked up when `new` events are wanted.
    let absent = crate::notify::wants_new(ctx.server) && !view.contains(key);
    let added = with_hash(&mut view, key, true, |h| {
        let mut added = 0;
        let mut i = 2;
        while i + 1 < args.len() {
            added += h.set(args.get(i), args.get(i + 1), &limits, false) as u64;
            i += 2;
        }
        added
    })?
    .unwrap_or(0);
    let created = absent && view.contains(key);
    drop(view);
    ctx.dirty(((args.len() - 2) / 2) as u64);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::HASH, "hset", key);
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let added = hset_generic(ctx, args, "hset")?;
    ctx.reply.int(added as i64);
    Ok(())
}

fn hmset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    hset_generic(ctx, args, "hmset")?;
    ctx.reply.ok();
    Ok(())
}

fn hsetnx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, field, value) = (args.get(1), args.get(2), args.get(3));
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    let absent = crate::notify::wants_new(ctx.server) && !view.contains(key);
    let set = with_hash(&mut view, key, true, |h| {
        // An existing field leaves the hash (and its encoding) untouched.
        if h.contains(field) {
            false
        } else {
            h.set(field, value, &limits, false)
        }
    })?
    .unwrap_or(false);
    let created = absent && view.contains(key);
    drop(view);
    if set {
        ctx.dirty(1);
        crate::notify::emit_new(ctx, created, key);
        crate::notify::emit(ctx, crate::notify::HASH, "hset", key);
    }
    ctx.reply.int(set as i64);
    Ok(())
}

fn hget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let reply = &mut *ctx.reply;
    let found = with_hash(&mut view, key, false, |h| match h.get(args.get(2)) {
        Some(v) => reply_item(reply, v),
        None => reply.null(),
    })?;
    if found.is_none() {
        reply.null();
    }
    ctx.server.keyspace.hit(found.is_some());
    Ok(())
}

fn hmget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let reply = &mut *ctx.reply;
    let n = args.len() - 2;
    let found = with_hash(&mut view, key, false, |h| {
        reply.array(n);
        for f in args.iter().skip(2) {
            match h.get(f) {
                Some(v) => reply_item(reply, v),
                None => reply.null(),
            }
        }
    })?;
    if found.is_none() {
        reply.array(n);
        for _ in 0..n {
            reply.null();
        }
    }
    ctx.server.keyspace.hit(found.is_some());
    Ok(())
}

/// HGETALL / HKEYS / HVALS.
fn getall_generic(ctx: &mut Ctx<'_>, args: Args<'_>, keys: bool, vals: bool) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let reply = &mut *ctx.reply;
    let found = with_hash(&mut view, key, false, |h| {
        if keys && vals {
            reply.map(h.len());
        } else {
            reply.array(h.len());
        }
        for (f, v) in h.iter() {
            if keys {
                reply_item(reply, f);
            }
            if vals {
                reply_item(reply, v);
            }
        }
    })?;
    if found.is_none() {
        if keys && vals {
            reply.map(0);
        } else {
            reply.array(0);
        }
    }
    ctx.server.keyspace.hit(found.is_some());
    Ok(())
}

fn hgetall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, true, true)
}

fn hkeys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, true, false)
}

fn hvals(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    getall_generic(ctx, args, false, true)
}

fn hdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let deleted = with_hash(&mut view, key, false, |h| {
        let mut n = 0;
        for f in args.iter().skip(2) {
            n += h.remove(f) as i64;
            if h.is_empty() {
                break;
            }
        }
        n
    })?
    .unwrap_or(0);
    let gone = deleted > 0 && !view.contains(key);
    drop(view);
    ctx.dirty(deleted as u64);
    if deleted > 0 {
        crate::notify::emit(ctx, crate::notify::HASH, "hdel", key);
        if gone {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    ctx.reply.int(deleted);
    Ok(())
}

fn hexists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let found = with_hash(&mut view, key, false, |h| h.contains(args.get(2)))?;
    ctx.reply.int(found.unwrap_or(false) as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = with_hash(&mut view, key, false, |h| h.len())?;
    ctx.reply.int(n.unwrap_or(0) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = with_hash(&mut view, key, false, |h| {
        h.get(args.get(2)).map_or(0, item_len)
    })?;
    ctx.reply.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// HINCRBY: the field's TTL is kept (the value changes, the field stays).
fn hincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, field) = (args.get(1), args.get(2));
    let incr = parse_i64(args.get(3))?;
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    let absent = crate::notify::wants_new(ctx.server) && !view.contains(key);
    let result = with_hash(&mut view, key, true, |h| {
        let current = match h.get(field) {
            None => 0,
            Some(Item::Int(i)) => i,
            Some(Item::Bytes(b)) => parse_canonical_i64(b).ok_or(CmdError::HashNotInteger)?,
            Some(Item::Float(_)) => return Err(CmdError::HashNotInteger),
        };
        let new = current.checked_add(incr).ok_or(CmdError::Overflow)?;
        let mut buf = itoa_buf::Buf::new();
        h.set(field, buf.format(new), &limits, true);
        Ok(new)
    })?;
    let new = result.unwrap_or(Ok(0))?;
    let created = absent && view.contains(key);
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::HASH, "hincrby", key);
    ctx.reply.int(new);
    Ok(())
}

/// HINCRBYFLOAT in x87 extended precision, like INCRBYFLOAT (see
/// [`crate::ldouble`]); the field's TTL is kept.
fn hincrbyfloat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, field) = (args.get(1), args.get(2));
    let incr = Ld::parse(args.get(3)).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::NanOrInfinityArg);
    }
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    let absent = crate::notify::wants_new(ctx.server) && !view.contains(key);
    let result = with_hash(&mut view, key, true, |h| {
        let current = match h.get(field) {
            None => None,
            Some(Item::Int(i)) => Some(Ld::from_i64(i)),
            Some(Item::Bytes(b)) => Some(Ld::parse(b).ok_or(CmdError::HashNotFloat)?),
            Some(Item::Float(_)) => return Err(CmdError::HashNotFloat),
        };
        let text = ldouble::incr_by_float(current, args.get(3))?;
        h.set(field, text.as_bytes(), &limits, true);
        Ok(text)
    })?;
    let text = result.unwrap_or(Err(CmdError::NotFloat))?;
    let created = absent && view.contains(key);
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::HASH, "hincrbyfloat", key);
    ctx.reply.bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]], with Redis's four cases:
/// negative count → `|count|` independent picks (repeats allowed);
/// count ≥ size → the whole hash; otherwise `count` distinct fields, in
/// storage order for listpacks (as Redis emits them) and random order for
/// tables. RESP3 WITHVALUES nests each pair in a two-element array.
fn hrandfield(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    if args.len() == 2 {
        let mut view = ctx.view(key);
        let reply = &mut *ctx.reply;
        let found = with_hash(&mut view, key, false, |h| {
            let s = Sampler::new(h);
            if s.is_empty() {
                reply.null();
                return;
            }
            let i = rand::thread_rng().gen_range(0..s.len());
            reply_item(reply, s.get(i).0);
        })?;
        if found.is_none() {
            reply.null();
        }
        return Ok(());
    }
    let l = parse_i64(args.get(2))?;
    if l == i64::MIN {
        return Err(CmdError::OutOfRangeBetween(-i64::MAX, i64::MAX));
    }
    let withvalues = match args.len() {
        3 => false,
        4 if eq_ic(args.get(3), "withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::ValueOutOfRange);
    }
    let mut view = ctx.view(key);
    let reply = &mut *ctx.reply;
    let found = with_hash(&mut view, key, false, |h| {
        randfield_count(reply, h, l, withvalues)
    })?;
    if found.is_none() {
        reply.array(0);
    }
    Ok(())
}

fn randfield_count(reply: &mut ReplyBuf, h: &Hash, l: i64, withvalues: bool) {
    let size = h.len();
    let count = l.unsigned_abs() as usize;
    if count == 0 || size == 0 {
        reply.array(0);
        return;
    }
    let resp3 = reply.is_resp3();
    let header = |reply: &mut ReplyBuf, n: usize| {
        if withvalues && !resp3 {
            reply.array(n * 2);
        } else {
            reply.array(n);
        }
    };
    let pair = |reply: &mut ReplyBuf, f: Item<'_>, v: Item<'_>| {
        if withvalues && resp3 {
            reply.array(2);
        }
        reply_item(reply, f);
        if withvalues {
            reply_item(reply, v);
        }
    };
    let mut rng = rand::thread_rng();
    if l < 0 || count == 1 {
        let s = Sampler::new(h);
        header(reply, count);
        for _ in 0..count {
            let (f, v) = s.get(rng.gen_range(0..size));
            pair(reply, f, v);
        }
        return;
    }
    if count >= size {
        header(reply, size);
        for (f, v) in h.iter() {
            pair(reply, f, v);
        }
        return;
    }
    header(reply, count);
    let s = Sampler::new(h);
    let mut picks = rand::seq::index::sample(&mut rng, size, count).into_vec();
    if h.encoding() != "hashtable" {
        picks.sort_unstable();
    }
    for i in picks {
        let (f, v) = s.get(i);
        pair(reply, f, v);
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]. The cursor
/// is parsed first, then the key is looked up (a missing key ends the scan
/// without looking at the options, as in Redis), then the options.
fn hscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let cursor = parse_cursor(args.get(2))?;
    let mut view = ctx.view(key);
    let reply = &mut *ctx.reply;
    let res = with_hash(&mut view, key, false, |h| -> CmdResult {
        let mut count = 10usize;
        let mut pattern: Option<&[u8]> = None;
        let mut novalues = false;
        let mut i = 3;
        while i < args.len() {
            let opt = args.get(i);
            let has_arg = i + 1 < args.len();
            if eq_ic(opt, "count") && has_arg {
                let c = parse_i64(args.get(i + 1))?;
                if c < 1 {
                    return Err(CmdError::Syntax);
                }
                count = usize::try_from(c).unwrap_or(usize::MAX);
                i += 2;
            } else if eq_ic(opt, "match") && has_arg {
                let p = args.get(i + 1);
                pattern = (p != b"*").then_some(p);
                i += 2;
            } else if eq_ic(opt, "novalues") {
                novalues = true;
                i += 1;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        let mut found: Vec<(Item<'_>, Item<'_>)> = Vec::new();
        let mut buf = itoa_buf::Buf::new();
        let next = h.scan(cursor, count, |f, v| {
            if let Some(p) = pattern {
                if !glob_match(p, f.as_bytes(&mut buf), false) {
                    return;
                }
            }
            found.push((f, v));
        });
        reply.array(2);
        let mut cb = itoa_buf::Buf::new();
        reply.bulk(cb.format(next as i64));
        reply.array(if novalues {
            found.len()
        } else {
            found.len() * 2
        });
        for (f, v) in found {
            reply_item(reply, f);
            if !novalues {
                reply_item(reply, v);
            }
        }
        Ok(())
    })?;
    match res {
        Some(r) => r,
        None => {
            reply.array(2);
            reply.bulk(b"0");
            reply.array(0);
            Ok(())
        }
    }
}
