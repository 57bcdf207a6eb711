//! List commands: pushes and pops at both ends (LPUSH…, LPOP/RPOP with
//! COUNT, LMPOP), indexed access (LINDEX, LSET, LRANGE, LTRIM, LINSERT,
//! LREM, LPOS), moves between lists (LMOVE, RPOPLPUSH) and the blocking
//! forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).
//!
//! Replies are written straight from the listpack encoding (integers are
//! formatted on the way out), so the push/pop path allocates nothing per
//! element. Every write that can add elements calls `ctx.signal_key` so
//! clients blocked on the key wake up; see `blocking` for the protocol a
//! blocking handler follows.
//!
//! Argument checks happen in the order Redis makes them, since that decides
//! which error a client sees when several things are wrong at once.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KeySpec, KEY1, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::listpack::Item;
use quiver_engine::types::list::End;
use quiver_engine::types::List;
use quiver_engine::{Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};
use smallvec::SmallVec;
use std::sync::atomic::Ordering;

const W: u32 = flag::WRITE;
const WD: u32 = flag::WRITE | flag::DENYOOM;
const WDF: u32 = flag::WRITE | flag::DENYOOM | flag::FAST;
const WF: u32 = flag::WRITE | flag::FAST;
const RO: u32 = flag::READONLY;
const ROF: u32 = flag::READONLY | flag::FAST;
const BLOCK: u32 = flag::WRITE | flag::NOSCRIPT | flag::BLOCKING;
/// LMOVE/RPOPLPUSH: source and destination.
const KEY12: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// BLPOP/BRPOP: every argument but the timeout.
const KEYS_BUT_LAST: KeySpec = KeySpec {
    first: 1,
    last: -2,
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
        ..CommandSpec::new(name, arity, flags, keys, acl::LIST, "list", handler)
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row("lpush", -3, WDF, KEY1, "1.0.0", "Prepend one or multiple elements to a list", lpush),
    row("rpush", -3, WDF, KEY1, "1.0.0", "Append one or multiple elements to a list", rpush),
    row("lpushx", -3, WDF, KEY1, "2.2.0", "Prepend an element to a list, only if the list exists", lpushx),
    row("rpushx", -3, WDF, KEY1, "2.2.0", "Append an element to a list, only if the list exists", rpushx),
    row("lpop", -2, WF, KEY1, "1.0.0", "Remove and get the first elements in a list", lpop),
    row("rpop", -2, WF, KEY1, "1.0.0", "Remove and get the last elements in a list", rpop),
    row("lrange", 4, RO, KEY1, "1.0.0", "Get a range of elements from a list", lrange),
    row("lindex", 3, RO, KEY1, "1.0.0", "Get an element from a list by its index", lindex),
    row("lset", 4, WD, KEY1, "1.0.0", "Set the value of an element in a list by its index", lset),
    row("llen", 2, ROF, KEY1, "1.0.0", "Get the length of a list", llen),
    row("lrem", 4, W, KEY1, "1.0.0", "Remove elements from a list", lrem),
    row("ltrim", 4, W, KEY1, "1.0.0", "Trim a list to the specified range", ltrim),
    row("linsert", 5, WD, KEY1, "2.2.0", "Insert an element before or after another element in a list", linsert),
    row("lpos", -3, RO, KEY1, "6.0.6", "Return the index of matching elements on a list", lpos),
    row("lmove", 5, WD, KEY12, "6.2.0", "Pop an element from a list, push it to another list and return it", lmove),
    row("rpoplpush", 3, WD, KEY12, "1.2.0", "Remove the last element in a list, prepend it to another list and return it", rpoplpush),
    row("lmpop", -4, W | flag::MOVABLE_KEYS, NO_KEYS, "7.0.0", "Pop elements from a list", lmpop),
    row("blpop", -3, BLOCK, KEYS_BUT_LAST, "2.0.0", "Remove and get the first element in a list, or block until one is available", blpop),
    row("brpop", -3, BLOCK, KEYS_BUT_LAST, "2.0.0", "Remove and get the last element in a list, or block until one is available", brpop),
    row("blmove", 6, BLOCK | flag::DENYOOM, KEY12, "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", blmove),
    row("brpoplpush", 4, BLOCK | flag::DENYOOM, KEY12, "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available", brpoplpush),
    row("blmpop", -5, flag::WRITE | flag::BLOCKING | flag::MOVABLE_KEYS, NO_KEYS, "7.0.0", "Pop elements from a list, or block until one is available", blmpop),
];

// ---------------------------------------------------------------------------
// Helpers

/// `list-max-listpack-size`, read directly (one atomic load on the push path).
#[inline]
fn fill(ctx: &Ctx<'_>) -> i64 {
    ctx.server
        .config
        .hot
        .list_max_listpack_size
        .load(Ordering::Relaxed)
}

/// The list at `key` for modification: `None` if absent, WRONGTYPE if the
/// key holds something else.
#[inline]
fn list_mut<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v mut List>, CmdError> {
    match view.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Like [`list_mut`], but for a client re-running its blocking command
/// after a wake-up (`woken`): a key holding another type is then simply not
/// ready, as Redis only serves a woken client from keys that hold lists.
#[inline]
fn ready_list_mut<'v>(
    view: &'v mut View<'_>,
    key: &[u8],
    woken: bool,
) -> Result<Option<&'v mut List>, CmdError> {
    match list_mut(view, key) {
        Err(CmdError::WrongType) if woken => Ok(None),
        other => other,
    }
}

/// The list at `key` for reading.
#[inline]
fn list_ref<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v List>, CmdError> {
    match view.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Writes one element as a bulk string (integers are stored as integers).
#[inline]
fn reply_item(r: &mut ReplyBuf, item: Item<'_>) {
    match item {
        Item::Bytes(b) => r.bulk(b),
        Item::Int(i) => r.bulk_int(i),
        // Lists only ever store strings and integers.
        Item::Float(f) => r.bulk(f.to_string().as_bytes()),
    }
}

/// Element bytes taken out of a list (LMOVE), inline up to 64 bytes.
type Elem = SmallVec<[u8; 64]>;

fn item_bytes(item: Item<'_>) -> Elem {
    match item {
        Item::Bytes(b) => Elem::from_slice(b),
        Item::Int(i) => {
            let mut buf = quiver_engine::value::itoa_buf::Buf::new();
            Elem::from_slice(buf.format(i))
        }
        Item::Float(f) => Elem::from_slice(f.to_string().as_bytes()),
    }
}

/// LEFT / RIGHT.
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if eq_ic(arg, "left") {
        Ok(End::Head)
    } else if eq_ic(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The keyspace event of a push or pop at `end`.
fn pop_push_event(end: End, push: bool) -> &'static str {
    match (end, push) {
        (End::Head, true) => "lpush",
        (End::Tail, true) => "rpush",
        (End::Head, false) => "lpop",
        (End::Tail, false) => "rpop",
    }
}

/// Announces a pop from `key` (and its deletion when it emptied).
fn notify_pop(ctx: &Ctx<'_>, end: End, key: &[u8], empty: bool) {
    crate::notify::emit(ctx, crate::notify::LIST, pop_push_event(end, false), key);
    if empty {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
    }
}

/// Removes `key` if its list has become empty (Redis never stores one).
#[inline]
fn drop_if_empty(view: &mut View<'_>, key: &[u8], empty: bool) {
    if empty {
        view.remove(key);
    }
}

// ---------------------------------------------------------------------------
// Pushes

fn push_generic(ctx: &mut Ctx<'_>, args: Args<'_>, end: End, only_existing: bool) -> CmdResult {
    let key = args.get(1);
    let fill = fill(ctx);
    let n = args.len() - 2;
    let mut view = ctx.view(key);
    let mut created = false;
    let len = match list_mut(&mut view, key)? {
        Some(l) => {
            for i in 2..args.len() {
                l.push(end, args.get(i), fill);
            }
            l.len()
        }
        None if only_existing => {
            ctx.reply.int(0);
            return Ok(());
        }
        None => {
            let mut l = List::new();
            for i in 2..args.len() {
                l.push(end, args.get(i), fill);
            }
            let len = l.len();
            view.insert(key, Entry::new(Value::List(Box::new(l))));
            created = true;
            len
        }
    };
    drop(view);
    ctx.reply.int(len as i64);
    ctx.dirty(n as u64);
    ctx.signal_key(key);
    crate::notify::emit_new(ctx, created, key);
    crate::notify::emit(ctx, crate::notify::LIST, pop_push_event(end, true), key);
    Ok(())
}

fn lpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, End::Tail, true)
}

// ---------------------------------------------------------------------------
// Pops

fn pop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity(ctx.spec.name.to_string()));
    }
    let count = match args.try_get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
    };
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_mut(&mut view, key)? else {
        match count {
            Some(_) => ctx.reply.null_array(),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let r = &mut *ctx.reply;
    let popped = match count {
        None => {
            l.pop(end, |it| reply_item(r, it));
            1
        }
        Some(n) => {
            let k = n.min(l.len());
            r.array(k);
            for _ in 0..k {
                l.pop(end, |it| reply_item(r, it));
            }
            k
        }
    };
    let empty = l.is_empty();
    drop_if_empty(&mut view, key, empty);
    drop(view);
    if popped > 0 {
        ctx.dirty(popped as u64);
        notify_pop(ctx, end, key, empty);
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, End::Tail)
}

/// LMPOP/BLMPOP arguments after the command name (and timeout).
struct MpopArgs {
    /// Index of the first key.
    first_key: usize,
    numkeys: usize,
    end: End,
    count: usize,
}

fn parse_mpop(args: &Args<'_>, numkeys_idx: usize) -> Result<MpopArgs, CmdError> {
    let bad_numkeys = || CmdError::err("numkeys should be greater than 0");
    let numkeys = parse_i64(args.get(numkeys_idx)).map_err(|_| bad_numkeys())?;
    if numkeys < 1 {
        return Err(bad_numkeys());
    }
    let numkeys = numkeys as u64;
    let where_idx = numkeys_idx as u64 + numkeys + 1;
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let end = parse_end(args.get(where_idx))?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(args.get(j), "count") && j + 1 < args.len() {
            match parse_i64(args.get(j + 1)) {
                Ok(n) if n >= 1 => count = Some(n as usize),
                _ => return Err(CmdError::err("count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        first_key: numkeys_idx + 1,
        numkeys: numkeys as usize,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list among the keys and replies
/// `[key, [elements]]`. Returns false (nothing written) if all are empty.
fn mpop_serve(ctx: &mut Ctx<'_>, args: &Args<'_>, m: &MpopArgs) -> Result<bool, CmdError> {
    let keys = (m.first_key..m.first_key + m.numkeys).map(|i| args.get(i));
    let mut view = ctx.view_keys(keys);
    let woken = ctx.session.woken;
    for i in m.first_key..m.first_key + m.numkeys {
        let key = args.get(i);
        let Some(l) = ready_list_mut(&mut view, key, woken)? else {
            continue;
        };
        let k = m.count.min(l.len());
        let r = &mut *ctx.reply;
        r.array(2);
        r.bulk(key);
        r.array(k);
        for _ in 0..k {
            l.pop(m.end, |it| reply_item(r, it));
        }
        let empty = l.is_empty();
        drop_if_empty(&mut view, key, empty);
        drop(view);
        ctx.dirty(k as u64);
        notify_pop(ctx, m.end, key, empty);
        return Ok(true);
    }
    Ok(false)
}

fn lmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let m = parse_mpop(&args, 1)?;
    if !mpop_serve(ctx, &args, &m)? {
        ctx.reply.null_array();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Indexed access

fn llen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = list_ref(&mut view, key)?.map_or(0, |l| l.len());
    ctx.reply.int(n as i64);
    Ok(())
}

fn lindex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_ref(&mut view, key)? else {
        ctx.reply.null();
        return Ok(());
    };
    let index = parse_i64(args.get(2))?;
    let len = l.len() as i64;
    let index = if index < 0 { index + len } else { index };
    match usize::try_from(index).ok().and_then(|i| l.get(i)) {
        Some(item) => reply_item(ctx.reply, item),
        None => ctx.reply.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let l = list_mut(&mut view, key)?.ok_or(CmdError::NoSuchKey)?;
    let index = parse_i64(args.get(2))?;
    let len = l.len() as i64;
    let index = if index < 0 { index + len } else { index };
    let ok = usize::try_from(index).is_ok_and(|i| l.set(i, args.get(3)));
    if !ok {
        return Err(CmdError::IndexOutOfRange);
    }
    drop(view);
    ctx.reply.ok();
    ctx.dirty(1);
    crate::notify::emit(ctx, crate::notify::LIST, "lset", key);
    Ok(())
}

/// Clamps LRANGE/LTRIM indexes to the list; `None` for an empty range.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

fn lrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let start = parse_i64(args.get(2))?;
    let stop = parse_i64(args.get(3))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_ref(&mut view, key)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    let Some((start, stop)) = clamp_range(start, stop, l.len()) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let n = stop - start + 1;
    let r = &mut *ctx.reply;
    r.array(n);
    for item in l.iter_from(start).take(n) {
        reply_item(r, item);
    }
    Ok(())
}

fn ltrim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let start = parse_i64(args.get(2))?;
    let stop = parse_i64(args.get(3))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_mut(&mut view, key)? else {
        ctx.reply.ok();
        return Ok(());
    };
    let len = l.len();
    let (head, tail) = match clamp_range(start, stop, len) {
        Some((s, e)) => (s, len - 1 - e),
        None => (len, 0),
    };
    l.remove_n(End::Head, head);
    l.remove_n(End::Tail, tail);
    let empty = l.is_empty();
    drop_if_empty(&mut view, key, empty);
    drop(view);
    ctx.reply.ok();
    ctx.dirty((head + tail) as u64);
    crate::notify::emit(ctx, crate::notify::LIST, "ltrim", key);
    if empty {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
    }
    Ok(())
}

fn lrem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let count = parse_i64(args.get(2))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_mut(&mut view, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let removed = l.remove_matching(args.get(3), count);
    let empty = l.is_empty();
    drop_if_empty(&mut view, key, empty);
    drop(view);
    ctx.reply.int(removed as i64);
    ctx.dirty(removed as u64);
    if removed > 0 {
        crate::notify::emit(ctx, crate::notify::LIST, "lrem", key);
        if empty {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    Ok(())
}

fn linsert(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let after = if eq_ic(args.get(2), "after") {
        true
    } else if eq_ic(args.get(2), "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = args.get(1);
    let fill = fill(ctx);
    let mut view = ctx.view(key);
    let Some(l) = list_mut(&mut view, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    if !l.insert_at_pivot(args.get(3), args.get(4), after, fill) {
        ctx.reply.int(-1);
        return Ok(());
    }
    let len = l.len();
    drop(view);
    ctx.reply.int(len as i64);
    ctx.dirty(1);
    ctx.signal_key(key);
    crate::notify::emit(ctx, crate::notify::LIST, "linsert", key);
    Ok(())
}

fn lpos(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        if j + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let v = args.get(j + 1);
        if eq_ic(opt, "rank") {
            rank = parse_i64(v)?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(opt, "count") {
            // Redis reports a non-integer with the same message.
            match parse_i64(v) {
                Ok(c) if c >= 0 => count = Some(c),
                _ => return Err(CmdError::err("COUNT can't be negative")),
            }
        } else if eq_ic(opt, "maxlen") {
            match parse_i64(v) {
                Ok(m) if m >= 0 => maxlen = m,
                _ => return Err(CmdError::err("MAXLEN can't be negative")),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(l) = list_ref(&mut view, key)? else {
        match count {
            Some(_) => ctx.reply.array(0),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let needle = args.get(2);
    let len = l.len();
    let from_tail = rank < 0;
    // Matches to pass over before replying. Redis negates RANK in a C
    // long, so i64::MIN stays negative and then accepts every match from
    // the tail, ignoring COUNT; reproduce that.
    let (skip, unlimited) = if rank == i64::MIN {
        (0, true)
    } else {
        ((rank.unsigned_abs() - 1) as usize, false)
    };
    let maxlen = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    let want = match count {
        None => 1,
        Some(0) => usize::MAX,
        Some(_) if unlimited => usize::MAX,
        Some(c) => c as usize,
    };
    let r = &mut *ctx.reply;
    let mark = r.mark();
    let mut found = 0usize;
    let mut matches = 0usize;
    let mut visit = |i: usize, item: Item<'_>| -> bool {
        if item.eq_bytes(needle) {
            matches += 1;
            if matches > skip {
                r.int(if from_tail {
                    (len - 1 - i) as i64
                } else {
                    i as i64
                });
                found += 1;
                if found >= want {
                    return false;
                }
            }
        }
        true
    };
    if from_tail {
        for (i, item) in l.iter_rev().enumerate().take(maxlen) {
            if !visit(i, item) {
                break;
            }
        }
    } else {
        for (i, item) in l.iter().enumerate().take(maxlen) {
            if !visit(i, item) {
                break;
            }
        }
    }
    if count.is_some() {
        r.insert_array_header(mark, found);
    } else if found == 0 {
        r.null();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Moves

/// Pops from `src` at `from` and pushes onto `dst` at `to`, replying with
/// the element. Returns false (nothing written) if `src` does not exist.
fn move_serve(
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<bool, CmdError> {
    let fill = fill(ctx);
    let mut view = ctx.view_keys([src, dst]);
    // The source must exist (else nil) and be a list; then the
    // destination's type is checked, all before anything moves.
    if list_mut(&mut view, src)?.is_none() {
        return Ok(false);
    }
    if src != dst {
        list_mut(&mut view, dst)?;
    }
    let (elem, src_empty) = {
        let Some(l) = list_mut(&mut view, src)? else {
            return Ok(false);
        };
        let Some(elem) = l.pop(from, item_bytes) else {
            return Ok(false);
        };
        (elem, l.is_empty())
    };
    let mut created = false;
    if src == dst {
        // Rotation: the list may be momentarily empty; it is refilled at once.
        if let Some(l) = list_mut(&mut view, dst)? {
            l.push(to, &elem, fill);
        }
    } else {
        drop_if_empty(&mut view, src, src_empty);
        match list_mut(&mut view, dst)? {
            Some(l) => l.push(to, &elem, fill),
            None => {
                let mut l = List::new();
                l.push(to, &elem, fill);
                view.insert(dst, Entry::new(Value::List(Box::new(l))));
                created = true;
            }
        }
    }
    drop(view);
    ctx.reply.bulk(&elem);
    ctx.dirty(2);
    ctx.signal_key(dst);
    // Redis announces the push onto the destination first.
    crate::notify::emit_new(ctx, created, dst);
    crate::notify::emit(ctx, crate::notify::LIST, pop_push_event(to, true), dst);
    notify_pop(ctx, from, src, src_empty && src != dst);
    Ok(true)
}

fn lmove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    if !move_serve(ctx, args.get(1), args.get(2), from, to)? {
        ctx.reply.null();
    }
    Ok(())
}

fn rpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !move_serve(ctx, args.get(1), args.get(2), End::Tail, End::Head)? {
        ctx.reply.null();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Blocking forms

/// BLPOP/BRPOP: the first non-empty list among the keys, in argument order.
fn bpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, end: End) -> CmdResult {
    let last = args.len() - 1;
    let deadline = crate::blocking::parse_timeout(args.get(last), ctx.now)?;
    {
        let mut view = ctx.view_keys((1..last).map(|i| args.get(i)));
        let woken = ctx.session.woken;
        for i in 1..last {
            let key = args.get(i);
            let Some(l) = ready_list_mut(&mut view, key, woken)? else {
                continue;
            };
            let r = &mut *ctx.reply;
            r.array(2);
            r.bulk(key);
            l.pop(end, |it| reply_item(r, it));
            let empty = l.is_empty();
            drop_if_empty(&mut view, key, empty);
            drop(view);
            ctx.dirty(1);
            notify_pop(ctx, end, key, empty);
            return Ok(());
        }
    }
    if ctx.session.in_exec {
        ctx.reply.null_array();
        return Ok(());
    }
    let keys = (1..last).map(|i| args.get(i).to_vec()).collect();
    crate::blocking::block_on(ctx, keys, deadline);
    Ok(())
}

fn blpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bpop_generic(ctx, args, End::Tail)
}

fn bmove_generic(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    from: End,
    to: End,
    timeout: &[u8],
) -> CmdResult {
    let deadline = crate::blocking::parse_timeout(timeout, ctx.now)?;
    let (src, dst) = (args.get(1), args.get(2));
    if move_serve(ctx, src, dst, from, to)? {
        return Ok(());
    }
    if ctx.session.in_exec {
        // Inside MULTI: the non-blocking reply (a null bulk, unlike a timeout).
        ctx.reply.null();
        return Ok(());
    }
    crate::blocking::block_on(ctx, vec![src.to_vec()], deadline);
    Ok(())
}

fn blmove(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    bmove_generic(ctx, &args, from, to, args.get(5))
}

fn brpoplpush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bmove_generic(ctx, &args, End::Tail, End::Head, args.get(3))
}

fn blmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let m = parse_mpop(&args, 2)?;
    let deadline = crate::blocking::parse_timeout(args.get(1), ctx.now)?;
    if mpop_serve(ctx, &args, &m)? {
        return Ok(());
    }
    if ctx.session.in_exec {
        ctx.reply.null_array();
        return Ok(());
    }
    let keys = (m.first_key..m.first_key + m.numkeys)
        .map(|i| args.get(i).to_vec())
        .collect();
    crate::blocking::block_on(ctx, keys, deadline);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        let now = 1_000_000;
        let p = |s: &str| crate::blocking::parse_timeout(s.as_bytes(), now);
        assert_eq!(p("0"), Ok(None));
        assert_eq!(p("-0"), Ok(None));
        // -0.1 ms rounds up to 0: block forever.
        assert_eq!(p("-0.0001"), Ok(None));
        assert_eq!(p("1"), Ok(Some(now + 1000)));
        assert_eq!(p("+1"), Ok(Some(now + 1000)));
        assert_eq!(p("0.0001"), Ok(Some(now + 1)));
        assert_eq!(p("1e-10"), Ok(Some(now + 1)));
        assert_eq!(p("0x10"), Ok(Some(now + 16000)));
        assert_eq!(p("1.5"), Ok(Some(now + 1500)));
        let neg = Err(CmdError::err("timeout is negative"));
        let nf = Err(CmdError::err("timeout is not a float or out of range"));
        assert_eq!(p("-1"), neg);
        assert_eq!(p("inf"), neg);
        assert_eq!(p("1e100"), neg);
        assert_eq!(p("9223372036854776"), neg);
        assert_eq!(p("9.3e15"), neg);
        // Exactly i64::MAX ms fits in a long double's mantissa.
        assert_eq!(p("9223372036854775.807"), Ok(None));
        assert_eq!(p("86400"), Ok(Some(now + 86_400_000)));
        assert_eq!(p("abc"), nf);
        assert_eq!(p(" 1"), nf);
        assert_eq!(p(""), nf);
        assert_eq!(p("nan"), nf);
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(3, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
    }
}
