//! Set commands: SADD, SREM, membership (SISMEMBER, SMISMEMBER), SMEMBERS,
//! SCARD, random access (SPOP, SRANDMEMBER), SMOVE, the algebra (SINTER,
//! SINTERCARD, SUNION, SDIFF and their STORE forms) and SSCAN.
//!
//! The representation (intset → listpack → hash table, converting at the
//! `set-*` limits) lives in `quiver_engine::types::set`; this module is the
//! Redis-visible behaviour: argument validation in Redis's order (so the same
//! bad command gets the same error), reply types (RESP3 sets for SMEMBERS,
//! SPOP with a count and the algebra; arrays for SRANDMEMBER), and deleting
//! a key as soon as its set becomes empty.
//!
//! Multi-key commands move the source sets out of the keyspace for the
//! duration of the computation ([`Sources`]) — the view's locks are held
//! throughout, so nobody can observe the gap — because the view lends one
//! entry at a time. That costs two lookups per key and no copying.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::keys::parse_cursor;
use crate::spec::{acl, flag, CommandSpec, KeySpec, ALL_KEYS, KEY1, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::listpack::Item;
use quiver_engine::types::{Limits, Set};
use quiver_engine::value::itoa_buf;
use quiver_engine::{glob_match, Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::cell::RefCell;

const WF: u32 = flag::WRITE | flag::FAST;
const WD: u32 = flag::WRITE | flag::DENYOOM;
const RO: u32 = flag::READONLY;
const ROF: u32 = flag::READONLY | flag::FAST;
/// SMOVE's two keys.
const KEYS_1_2: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

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
        ..CommandSpec::new(name, arity, flags, keys, acl::SET, "set", handler)
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row(
        "sadd",
        -3,
        WD | flag::FAST,
        KEY1,
        "1.0.0",
        "Add one or more members to a set",
        sadd,
    ),
    row(
        "srem",
        -3,
        WF,
        KEY1,
        "1.0.0",
        "Remove one or more members from a set",
        srem,
    ),
    row(
        "sismember",
        3,
        ROF,
        KEY1,
        "1.0.0",
        "Determine if a given value is a member of a set",
        sismember,
    ),
    row(
        "smismember",
        -3,
        ROF,
        KEY1,
        "6.2.0",
        "Returns the membership associated with the given elements for a set",
        smismember,
    ),
    row(
        "smembers",
        2,
        RO,
        KEY1,
        "1.0.0",
        "Get all the members in a set",
        smembers,
    ),
    row(
        "scard",
        2,
        ROF,
        KEY1,
        "1.0.0",
        "Get the number of members in a set",
        scard,
    ),
    row(
        "spop",
        -2,
        WF,
        KEY1,
        "1.0.0",
        "Remove and return one or multiple random members from a set",
        spop,
    ),
    row(
        "srandmember",
        -2,
        RO,
        KEY1,
        "1.0.0",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    row(
        "smove",
        4,
        WF,
        KEYS_1_2,
        "1.0.0",
        "Move a member from one set to another",
        smove,
    ),
    row(
        "sinter",
        -2,
        RO,
        ALL_KEYS,
        "1.0.0",
        "Intersect multiple sets",
        sinter,
    ),
    row(
        "sintercard",
        -3,
        RO | flag::MOVABLE_KEYS,
        NO_KEYS,
        "7.0.0",
        "Intersect multiple sets and return the cardinality of the result",
        sintercard,
    ),
    row(
        "sinterstore",
        -3,
        WD,
        ALL_KEYS,
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key",
        sinterstore,
    ),
    row(
        "sunion",
        -2,
        RO,
        ALL_KEYS,
        "1.0.0",
        "Add multiple sets",
        sunion,
    ),
    row(
        "sunionstore",
        -3,
        WD,
        ALL_KEYS,
        "1.0.0",
        "Add multiple sets and store the resulting set in a key",
        sunionstore,
    ),
    row(
        "sdiff",
        -2,
        RO,
        ALL_KEYS,
        "1.0.0",
        "Subtract multiple sets",
        sdiff,
    ),
    row(
        "sdiffstore",
        -3,
        WD,
        ALL_KEYS,
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key",
        sdiffstore,
    ),
    row(
        "sscan",
        -3,
        RO,
        KEY1,
        "2.8.0",
        "Incrementally iterate Set elements",
        sscan,
    ),
];

thread_local! {
    /// SPOP/SRANDMEMBER's generator: a fast non-cryptographic one per
    /// thread (Redis uses its own PRNG for the same purpose).
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_entropy());
}

fn with_rng<T>(f: impl FnOnce(&mut SmallRng) -> T) -> T {
    RNG.with(|r| f(&mut r.borrow_mut()))
}

/// Writes one member as a bulk string.
#[inline]
pub fn reply_item(r: &mut ReplyBuf, item: Item<'_>) {
    match item {
        Item::Int(v) => r.bulk_int(v),
        Item::Bytes(b) => r.bulk(b),
        Item::Float(f) => r.double(f),
    }
}

/// The set at `key`, WRONGTYPE for any other type.
#[inline]
pub fn get_set<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v Set>, CmdError> {
    match view.get(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Like [`get_set`], for modification.
#[inline]
pub fn get_set_mut<'v>(
    view: &'v mut View<'_>,
    key: &[u8],
) -> Result<Option<&'v mut Set>, CmdError> {
    match view.get_mut(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A read lookup: counts a keyspace hit or miss, as Redis's lookupKeyRead does.
fn read_set<'v>(
    ctx: &Ctx<'_>,
    view: &'v mut View<'_>,
    key: &[u8],
) -> Result<Option<&'v Set>, CmdError> {
    let s = get_set(view, key);
    ctx.server.keyspace.hit(!matches!(s, Ok(None)));
    s
}

fn sadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let limits = ctx.limits();
    let mut view = ctx.view(key);
    let mut created = false;
    let added = match get_set_mut(&mut view, key)? {
        Some(set) => args
            .slice_from(2)
            .iter()
            .filter(|m| set.insert(m, &limits))
            .count(),
        None => {
            let mut set = Set::new();
            let n = args
                .slice_from(2)
                .iter()
                .filter(|m| set.insert(m, &limits))
                .count();
            view.insert(key, Entry::new(Value::Set(Box::new(set))));
            created = true;
            n
        }
    };
    drop(view);
    ctx.dirty(added as u64);
    if added > 0 {
        crate::notify::emit_new(ctx, created, key);
        crate::notify::emit(ctx, crate::notify::SET, "sadd", key);
    }
    ctx.reply.int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let mut removed = 0;
    if let Some(set) = get_set_mut(&mut view, key)? {
        for m in args.slice_from(2).iter() {
            if set.remove(m) {
                removed += 1;
                if set.is_empty() {
                    break;
                }
            }
        }
        if set.is_empty() {
            view.remove(key);
        }
    }
    let gone = removed > 0 && !view.contains(key);
    drop(view);
    ctx.dirty(removed);
    if removed > 0 {
        crate::notify::emit(ctx, crate::notify::SET, "srem", key);
        if gone {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

fn sismember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let found = read_set(ctx, &mut view, key)?.is_some_and(|s| s.contains(args.get(2)));
    ctx.reply.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let set = read_set(ctx, &mut view, key)?;
    let r = &mut *ctx.reply;
    r.array(args.len() - 2);
    for m in args.slice_from(2).iter() {
        r.int(set.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// Writes a whole set as a RESP3 set (an array in RESP2).
fn reply_set(r: &mut ReplyBuf, set: &Set) {
    r.set(set.len());
    for m in set.iter() {
        reply_item(r, m);
    }
}

fn smembers(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    match read_set(ctx, &mut view, key)? {
        Some(set) => reply_set(ctx.reply, set),
        None => ctx.reply.set(0),
    }
    Ok(())
}

fn scard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = read_set(ctx, &mut view, key)?.map_or(0, |s| s.len());
    ctx.reply.int(n as i64);
    Ok(())
}

/// SPOP key [count]
fn spop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = args.get(1);
    if args.len() == 3 {
        return spop_count(ctx, key, args.get(2));
    }
    let mut view = ctx.view(key);
    let Some(set) = get_set_mut(&mut view, key)? else {
        ctx.reply.null();
        return Ok(());
    };
    let r = &mut *ctx.reply;
    with_rng(|rng| set.pop_random(rng, |m| reply_item(r, m)));
    let gone = set.is_empty();
    if gone {
        view.remove(key);
    }
    drop(view);
    ctx.dirty(1);
    crate::notify::emit(ctx, crate::notify::SET, "spop", key);
    if gone {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
    }
    Ok(())
}

/// SPOP with a count: always a set reply, empty for a missing key.
fn spop_count(ctx: &mut Ctx<'_>, key: &[u8], count: &[u8]) -> CmdResult {
    // The count is validated before the key is looked at, as in Redis.
    let count = match parse_i64(count) {
        Ok(c) if c >= 0 => c as u64,
        _ => return Err(CmdError::MustBePositive),
    };
    let mut view = ctx.view(key);
    let Some(set) = get_set_mut(&mut view, key)? else {
        ctx.reply.set(0);
        return Ok(());
    };
    let r = &mut *ctx.reply;
    let n = set.len() as u64;
    if count >= n {
        // Everything goes: reply with the whole set and drop the key.
        reply_set(r, set);
        view.remove(key);
        drop(view);
        ctx.dirty(n);
        crate::notify::emit(ctx, crate::notify::SET, "spop", key);
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        return Ok(());
    }
    r.set(count as usize);
    with_rng(|rng| {
        for _ in 0..count {
            set.pop_random(rng, |m| reply_item(r, m));
        }
    });
    drop(view);
    ctx.dirty(count);
    if count > 0 {
        crate::notify::emit(ctx, crate::notify::SET, "spop", key);
    }
    Ok(())
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = args.get(1);
    let count = match args.try_get(2) {
        None => None,
        Some(c) => {
            let v = parse_i64(c)?;
            if v == i64::MIN {
                return Err(CmdError::OutOfRangeBetween(-i64::MAX, i64::MAX));
            }
            Some(v)
        }
    };
    let mut view = ctx.view(key);
    let set = read_set(ctx, &mut view, key)?;
    let r = &mut *ctx.reply;
    match (set, count) {
        (None, None) => r.null(),
        (None, Some(_)) => r.array(0),
        (Some(set), None) => match with_rng(|rng| set.random(rng)) {
            Some(m) => reply_item(r, m),
            None => r.null(),
        },
        (Some(set), Some(c)) => {
            let repeat = c < 0;
            let want = c.unsigned_abs() as usize;
            let n = if repeat { want } else { want.min(set.len()) };
            r.array(n);
            with_rng(|rng| set.random_members(rng, want, repeat, |m| reply_item(r, m)));
        }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let limits = ctx.limits();
    let mut view = ctx.view_keys([src, dst]);
    // Redis's order: a missing source answers 0 before any type check, then
    // both keys must be sets (or the destination missing).
    if get_set(&mut view, src)?.is_none() {
        ctx.reply.int(0);
        return Ok(());
    }
    get_set(&mut view, dst)?;
    if src == dst {
        let found = get_set(&mut view, src)?.is_some_and(|s| s.contains(member));
        ctx.reply.int(found as i64);
        return Ok(());
    }
    let Some(set) = get_set_mut(&mut view, src)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    if !set.remove(member) {
        ctx.reply.int(0);
        return Ok(());
    }
    let src_gone = set.is_empty();
    if src_gone {
        view.remove(src);
    }
    let created = match get_set_mut(&mut view, dst)? {
        Some(d) => {
            d.insert(member, &limits);
            false
        }
        None => {
            let mut d = Set::new();
            d.insert(member, &limits);
            view.insert(dst, Entry::new(Value::Set(Box::new(d))));
            true
        }
    };
    drop(view);
    ctx.dirty(1);
    crate::notify::emit(ctx, crate::notify::SET, "srem", src);
    if src_gone {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", src);
    }
    crate::notify::emit_new(ctx, created, dst);
    crate::notify::emit(ctx, crate::notify::SET, "sadd", dst);
    ctx.reply.int(1);
    Ok(())
}

/// The source sets of a multi-key command, moved out of their entries
/// while the command computes and put back by [`Sources::restore`].
/// A key named twice is taken once and shared (`slot`).
struct Sources<'k> {
    keys: Vec<&'k [u8]>,
    /// For each argument position, the index in `keys`/`sets` it refers to.
    slot: Vec<usize>,
    /// `None` for a missing key (an empty set).
    sets: Vec<Option<Set>>,
}

impl<'k> Sources<'k> {
    /// Takes the sets at `keys`. Every key is type-checked before anything
    /// is computed (Redis reports WRONGTYPE even after a missing key).
    fn take(view: &mut View<'_>, keys: impl Iterator<Item = &'k [u8]>) -> Result<Self, CmdError> {
        let mut src = Sources {
            keys: Vec::new(),
            slot: Vec::new(),
            sets: Vec::new(),
        };
        for k in keys {
            if let Some(i) = src.keys.iter().position(|&x| x == k) {
                src.slot.push(i);
                continue;
            }
            let taken = match get_set_mut(view, k) {
                Ok(s) => s.map(std::mem::take),
                Err(e) => {
                    src.restore(view);
                    return Err(e);
                }
            };
            src.slot.push(src.keys.len());
            src.keys.push(k);
            src.sets.push(taken);
        }
        Ok(src)
    }

    /// The set at argument position `i`.
    fn get(&self, i: usize) -> Option<&Set> {
        self.sets[self.slot[i]].as_ref()
    }

    fn len(&self) -> usize {
        self.slot.len()
    }

    /// Puts every taken set back into its entry.
    fn restore(self, view: &mut View<'_>) {
        for (k, s) in self.keys.iter().zip(self.sets) {
            if let (Some(s), Ok(Some(slot))) = (s, get_set_mut(view, k)) {
                *slot = s;
            }
        }
    }
}

/// The intersection's members in the order the smallest set yields them.
fn intersect<'s>(src: &'s Sources<'_>, limit: usize) -> Vec<Item<'s>> {
    let mut sets: Vec<&Set> = Vec::with_capacity(src.len());
    for i in 0..src.len() {
        match src.get(i) {
            Some(s) => sets.push(s),
            None => return Vec::new(),
        }
    }
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains_item(m)) {
            out.push(m);
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

fn union(src: &Sources<'_>, limits: &Limits) -> Set {
    let mut out = Set::new();
    for i in 0..src.len() {
        if let Some(s) = src.get(i) {
            for m in s.iter() {
                out.insert_item(m, limits);
            }
        }
    }
    out
}

fn difference(src: &Sources<'_>, limits: &Limits) -> Set {
    let mut out = Set::new();
    let Some(first) = src.get(0) else {
        return out;
    };
    let others: Vec<&Set> = (1..src.len()).filter_map(|i| src.get(i)).collect();
    for m in first.iter() {
        if !others.iter().any(|s| s.contains_item(m)) {
            out.insert_item(m, limits);
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// SINTER / SUNION / SDIFF: reply with the result as a set.
fn algebra(ctx: &mut Ctx<'_>, args: Args<'_>, op: Op) -> CmdResult {
    let limits = ctx.limits();
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    let src = Sources::take(&mut view, keys.iter())?;
    let r = &mut *ctx.reply;
    match op {
        Op::Inter => {
            let items = intersect(&src, usize::MAX);
            r.set(items.len());
            for m in items {
                reply_item(r, m);
            }
        }
        Op::Union => reply_set(r, &union(&src, &limits)),
        Op::Diff => reply_set(r, &difference(&src, &limits)),
    }
    src.restore(&mut view);
    Ok(())
}

/// The STORE forms: the result replaces whatever `dst` held (of any type,
/// dropping its TTL); an empty result deletes `dst`.
fn algebra_store(ctx: &mut Ctx<'_>, args: Args<'_>, op: Op) -> CmdResult {
    let limits = ctx.limits();
    let dst = args.get(1);
    let keys = args.slice_from(2);
    let mut view = ctx.view_keys(args.slice_from(1).iter());
    let src = Sources::take(&mut view, keys.iter())?;
    let out = match op {
        Op::Inter => {
            let mut out = Set::new();
            for m in intersect(&src, usize::MAX) {
                out.insert_item(m, &limits);
            }
            out
        }
        Op::Union => union(&src, &limits),
        Op::Diff => difference(&src, &limits),
    };
    src.restore(&mut view);
    let n = out.len();
    let existed = if n == 0 {
        view.remove(dst).is_some()
    } else {
        view.insert(dst, Entry::new(Value::Set(Box::new(out))))
            .is_some()
    };
    drop(view);
    ctx.dirty(1);
    let event = match op {
        Op::Inter => "sinterstore",
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    crate::notify::emit_store(ctx, crate::notify::SET, event, dst, existed, n > 0);
    ctx.reply.int(n as i64);
    Ok(())
}

fn sinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra(ctx, args, Op::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra(ctx, args, Op::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra(ctx, args, Op::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra_store(ctx, args, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra_store(ctx, args, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    algebra_store(ctx, args, Op::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let numkeys = match parse_i64(args.get(1)) {
        Ok(n) if n > 0 => n as u64,
        _ => return Err(CmdError::NumkeysNotPositive),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(CmdError::NumkeysTooLarge);
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if eq_ic(args.get(i), "limit") && i + 1 < args.len() {
            limit = match parse_i64(args.get(i + 1)) {
                Ok(l) if l >= 0 => l as u64,
                _ => return Err(CmdError::LimitNegative),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = args.slice_from(2);
    let mut view = ctx.view_keys(keys.iter().take(numkeys));
    let src = Sources::take(&mut view, keys.iter().take(numkeys))?;
    let limit = if limit == 0 {
        usize::MAX
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    };
    let n = intersect(&src, limit).len();
    src.restore(&mut view);
    ctx.reply.int(n as i64);
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let cursor = parse_cursor(args.get(2))?;
    let mut view = ctx.view(key);
    let Some(set) = read_set(ctx, &mut view, key)? else {
        // Options are not even parsed for a missing key, as in Redis.
        let r = &mut *ctx.reply;
        r.array(2);
        r.bulk(b"0");
        r.array(0);
        return Ok(());
    };
    let (pattern, count) = parse_scan_options(&args, 3)?;
    let mut found: Vec<Item<'_>> = Vec::new();
    let next = set.scan(cursor, count, |m| found.push(m));
    if let Some(p) = pattern {
        let mut b = itoa_buf::Buf::new();
        found.retain(|m| glob_match(p, m.as_bytes(&mut b), false));
    }
    let r = &mut *ctx.reply;
    r.array(2);
    r.bulk_int(next as i64);
    r.array(found.len());
    for m in found {
        reply_item(r, m);
    }
    Ok(())
}

/// MATCH/COUNT options of the collection scans (SSCAN, HSCAN, ZSCAN) from
/// `args[from..]`: `(pattern, count)`, with `*` meaning no filter.
pub fn parse_scan_options<'a>(
    args: &Args<'a>,
    from: usize,
) -> Result<(Option<&'a [u8]>, usize), CmdError> {
    let mut pattern = None;
    let mut count = 10usize;
    let mut i = from;
    while i < args.len() {
        let opt = args.get(i);
        let Some(val) = args.try_get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if eq_ic(opt, "count") {
            let c = parse_i64(val)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if eq_ic(opt, "match") {
            pattern = (val != b"*").then_some(val);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok((pattern, count))
}
