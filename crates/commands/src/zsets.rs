//! Sorted-set commands: ZADD and friends, ranges by rank, score and lex,
//! pops (including the blocking BZPOPMIN/BZPOPMAX/BZMPOP), ZRANDMEMBER and
//! ZSCAN. The set-algebra commands (ZUNION, ZINTER, ZDIFF, their STORE
//! forms and ZINTERCARD) are in [`crate::zset_ops`].
//!
//! Every range command is reduced to a half-open interval of ascending
//! ranks (see `quiver_engine::types::zset`), so one emitter serves ZRANGE in
//! all its forms, ZRANGESTORE and the pops, writing replies straight from
//! the encoding. Argument checks follow Redis's order exactly (options
//! first, then the key lookup and its type), because which error a client
//! sees for a doubly-wrong command is observable.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KeySpec, KEY1, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::types::{Limits, ZSet};
use quiver_engine::{glob_match, Entry, Value, View};
use quiver_resp::{Args, ReplyBuf};
use rand::Rng;
use smallvec::SmallVec;

const W: u32 = flag::WRITE;
const WD: u32 = flag::WRITE | flag::DENYOOM;
const WDF: u32 = flag::WRITE | flag::DENYOOM | flag::FAST;
const WF: u32 = flag::WRITE | flag::FAST;
const RO: u32 = flag::READONLY;
const ROF: u32 = flag::READONLY | flag::FAST;
/// ZRANGESTORE: destination and source.
const KEY12: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// BZPOPMIN/BZPOPMAX: every argument but the last (the timeout).
const BLOCK_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

/// A row with its documentation fields.
pub(crate) const fn row(
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
        ..CommandSpec::new(
            name,
            arity,
            flags,
            keys,
            acl::SORTEDSET,
            "sorted-set",
            handler,
        )
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row("zadd", -4, WDF, KEY1, "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists", zadd),
    row("zincrby", 4, WDF, KEY1, "1.2.0", "Increment the score of a member in a sorted set", zincrby),
    row("zscore", 3, ROF, KEY1, "1.2.0", "Get the score associated with the given member in a sorted set", zscore),
    row("zmscore", -3, ROF, KEY1, "6.2.0", "Get the score associated with the given members in a sorted set", zmscore),
    row("zcard", 2, ROF, KEY1, "1.2.0", "Get the number of members in a sorted set", zcard),
    row("zcount", 4, ROF, KEY1, "2.0.0", "Count the members in a sorted set with scores within the given values", zcount),
    row("zlexcount", 4, ROF, KEY1, "2.8.9", "Count the number of members in a sorted set between a given lexicographical range", zlexcount),
    row("zrange", -4, RO, KEY1, "1.2.0", "Return a range of members in a sorted set", zrange),
    row("zrangestore", -5, WD, KEY12, "6.2.0", "Store a range of members from sorted set into another key", zrangestore),
    row("zrevrange", -4, RO, KEY1, "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low", zrevrange),
    row("zrangebyscore", -4, RO, KEY1, "1.0.5", "Return a range of members in a sorted set, by score", zrangebyscore),
    row("zrevrangebyscore", -4, RO, KEY1, "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low", zrevrangebyscore),
    row("zrangebylex", -4, RO, KEY1, "2.8.9", "Return a range of members in a sorted set, by lexicographical range", zrangebylex),
    row("zrevrangebylex", -4, RO, KEY1, "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", zrevrangebylex),
    // WITHSCORE is Redis 7.2's, hence arity -3 (7.0 says 3).
    row("zrank", -3, ROF, KEY1, "2.0.0", "Determine the index of a member in a sorted set", zrank),
    row("zrevrank", -3, ROF, KEY1, "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low", zrevrank),
    row("zrem", -3, WF, KEY1, "1.2.0", "Remove one or more members from a sorted set", zrem),
    row("zremrangebyrank", 4, W, KEY1, "2.0.0", "Remove all members in a sorted set within the given indexes", zremrangebyrank),
    row("zremrangebyscore", 4, W, KEY1, "1.2.0", "Remove all members in a sorted set within the given scores", zremrangebyscore),
    row("zremrangebylex", 4, W, KEY1, "2.8.9", "Remove all members in a sorted set between the given lexicographical range", zremrangebylex),
    row("zpopmin", -2, WF, KEY1, "5.0.0", "Remove and return members with the lowest scores in a sorted set", zpopmin),
    row("zpopmax", -2, WF, KEY1, "5.0.0", "Remove and return members with the highest scores in a sorted set", zpopmax),
    row("bzpopmin", -3, WF | flag::NOSCRIPT | flag::BLOCKING, BLOCK_KEYS, "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", bzpopmin),
    row("bzpopmax", -3, WF | flag::NOSCRIPT | flag::BLOCKING, BLOCK_KEYS, "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", bzpopmax),
    row("zmpop", -4, W | flag::MOVABLE_KEYS, NO_KEYS, "7.0.0", "Remove and return members with scores in a sorted set", zmpop),
    row("bzmpop", -5, W | flag::BLOCKING | flag::MOVABLE_KEYS, NO_KEYS, "7.0.0", "Remove and return members with scores in a sorted set or block until one is available", bzmpop),
    row("zrandmember", -2, RO, KEY1, "6.2.0", "Get one or multiple random elements from a sorted set", zrandmember),
    row("zscan", -3, RO, KEY1, "2.8.0", "Incrementally iterate sorted sets elements and associated scores", zscan),
];

// ---------------------------------------------------------------------------
// Key access

/// The sorted set at `key`, `None` if absent, WRONGTYPE for other types.
pub(crate) fn read<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v ZSet>, CmdError> {
    match view.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Like [`read`], for modification.
pub(crate) fn write<'v>(
    view: &'v mut View<'_>,
    key: &[u8],
) -> Result<Option<&'v mut ZSet>, CmdError> {
    match view.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Stores `z` at `key` (replacing any value), or deletes the key when `z`
/// is empty: Redis never keeps an empty collection. Returns whether `key`
/// held a value before (for the `new`/`del` keyspace events).
pub(crate) fn store(view: &mut View<'_>, key: &[u8], z: ZSet) -> bool {
    if z.is_empty() {
        view.remove(key).is_some()
    } else {
        view.insert(key, Entry::new(Value::ZSet(Box::new(z))))
            .is_some()
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// C's `strtod` over the whole argument: decimal, `inf`/`infinity`, and
/// hexadecimal integers (`0x10`), which Redis accepts because it parses
/// scores with `strtod`. `None` if anything is left over.
fn strtod_full(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if let Ok(v) = text.parse::<f64>() {
        return Some(v);
    }
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let hex = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut v = 0f64;
    for b in hex.bytes() {
        v = v * 16.0 + (b as char).to_digit(16)? as f64;
    }
    Some(if neg { -v } else { v })
}

/// A score or increment argument (`ERR value is not a valid float`):
/// no leading space, no NaN.
pub(crate) fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    if arg.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return Err(CmdError::NotFloat);
    }
    match strtod_full(arg) {
        Some(v) if !v.is_nan() => Ok(v),
        _ => Err(CmdError::NotFloat),
    }
}

/// A score range (`ZRANGEBYSCORE min max`, with `(` for exclusive bounds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<Self, CmdError> {
        let err = || CmdError::err("min or max is not a float");
        let (min, minex) = parse_score_bound(min).ok_or_else(err)?;
        let (max, maxex) = parse_score_bound(max).ok_or_else(err)?;
        Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    #[inline]
    fn below_min(&self, s: f64) -> bool {
        if self.minex {
            s <= self.min
        } else {
            s < self.min
        }
    }

    #[inline]
    fn within_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// The ascending rank interval of the elements in range.
    pub(crate) fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let a = z.partition_point_by_score(|s| self.below_min(s));
        let b = z.partition_point_by_score(|s| self.within_max(s));
        (a, b.max(a))
    }
}

/// One bound as `strtod` reads it after an optional `(`: leading spaces
/// are skipped and an empty string reads as 0, as in Redis.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (arg, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    if arg.is_empty() {
        return Some((0.0, ex));
    }
    let start = arg.iter().position(|b| !b.is_ascii_whitespace())?;
    let v = strtod_full(&arg[start..])?;
    (!v.is_nan()).then_some((v, ex))
}

/// One end of a lex range.
#[derive(Debug, Clone, Copy)]
enum Lex<'a> {
    /// `-`: below every member.
    Min,
    /// `+`: above every member.
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

/// A lex range (`ZRANGEBYLEX min max`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LexRange<'a> {
    min: Lex<'a>,
    max: Lex<'a>,
}

impl<'a> LexRange<'a> {
    pub(crate) fn parse(min: &'a [u8], max: &'a [u8]) -> Result<Self, CmdError> {
        let item = |a: &'a [u8]| match a.first() {
            Some(b'+') if a.len() == 1 => Some(Lex::Max),
            Some(b'-') if a.len() == 1 => Some(Lex::Min),
            Some(b'(') => Some(Lex::Excl(&a[1..])),
            Some(b'[') => Some(Lex::Incl(&a[1..])),
            _ => None,
        };
        match (item(min), item(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::err("min or max not valid string range item")),
        }
    }

    #[inline]
    fn below_min(&self, m: &[u8]) -> bool {
        match self.min {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m < x,
            Lex::Excl(x) => m <= x,
        }
    }

    #[inline]
    fn within_max(&self, m: &[u8]) -> bool {
        match self.max {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= x,
            Lex::Excl(x) => m < x,
        }
    }

    /// The ascending rank interval of the elements in range (meaningful
    /// when all scores are equal, as Redis documents).
    pub(crate) fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let a = z.partition_point(|_, m| self.below_min(m));
        let b = z.partition_point(|_, m| self.within_max(m));
        (a, b.max(a))
    }
}

/// Normalises a rank range with negative indexes as Redis does; returns
/// the ascending half-open interval, or `None` when empty.
pub(crate) fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize + 1))
}

/// Applies LIMIT offset count to the in-range interval `[a, b)`, taken from
/// the top when `rev`. A negative offset selects nothing and a negative
/// count means "all", as in Redis.
fn apply_limit(a: usize, b: usize, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    if offset < 0 {
        return (a, a);
    }
    let n = b - a;
    let off = (offset as u64).min(n as u64) as usize;
    let avail = n - off;
    let take = if limit < 0 {
        avail
    } else {
        (limit as u64).min(avail as u64) as usize
    };
    if rev {
        (b - off - take, b - off)
    } else {
        (a + off, a + off + take)
    }
}

// ---------------------------------------------------------------------------
// Replies

/// Writes a score as `ReplyBuf::double` would (`%.17g`), without its
/// formatting cost for the common integral scores: those below 1e17 print
/// as plain integers under `%.17g`, so they go through `itoa`.
#[inline]
pub(crate) fn reply_score(reply: &mut ReplyBuf, score: f64) {
    if score.fract() == 0.0 && score.abs() < 1e17 && (score != 0.0 || score.is_sign_positive()) {
        let mut b = itoa::Buffer::new();
        let digits = b.format(score as i64).as_bytes();
        if reply.is_resp3() {
            reply.raw(b",");
            reply.raw(digits);
            reply.raw(b"\r\n");
        } else {
            reply.bulk(digits);
        }
    } else {
        reply.double(score);
    }
}

/// Writes one element of a WITHSCORES reply: a [member, score] pair in
/// RESP3, two flat items in RESP2.
#[inline]
pub(crate) fn emit_pair(reply: &mut ReplyBuf, member: &[u8], score: f64) {
    if reply.is_resp3() {
        reply.array(2);
    }
    reply.bulk(member);
    reply_score(reply, score);
}

/// The array header for `n` elements, with or without scores.
#[inline]
pub(crate) fn emit_header(reply: &mut ReplyBuf, n: usize, withscores: bool) {
    if withscores && !reply.is_resp3() {
        reply.array(n * 2);
    } else {
        reply.array(n);
    }
}

/// Emits ranks `[a, b)` of `z` (descending when `rev`) as a complete reply.
pub(crate) fn emit_range(
    reply: &mut ReplyBuf,
    z: &ZSet,
    a: usize,
    b: usize,
    rev: bool,
    withscores: bool,
) {
    emit_header(reply, b.saturating_sub(a), withscores);
    if withscores {
        z.for_each_range(a, b, rev, |m, s| emit_pair(reply, m, s));
    } else {
        z.for_each_range(a, b, rev, |m, _| reply.bulk(m));
    }
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

fn zadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if eq_ic(a, "nx") {
            f.nx = true;
        } else if eq_ic(a, "xx") {
            f.xx = true;
        } else if eq_ic(a, "gt") {
            f.gt = true;
        } else if eq_ic(a, "lt") {
            f.lt = true;
        } else if eq_ic(a, "ch") {
            f.ch = true;
        } else if eq_ic(a, "incr") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let elements = args.len() - i;
    if elements == 0 || !elements.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut scores: SmallVec<[f64; 8]> = SmallVec::with_capacity(elements / 2);
    for j in (i..args.len()).step_by(2) {
        scores.push(parse_zadd_score(args.get(j))?);
    }
    let pairs = scores
        .iter()
        .enumerate()
        .map(|(n, &s)| (s, args.get(i + 2 * n + 1)));
    zadd_generic(ctx, args.get(1), f, pairs)
}

/// [`parse_score`] with a fast path for the commonest score spelling, a
/// plain decimal integer (`-?[0-9]{1,15}`): with at most 15 digits it is
/// below 2^53, so the integer converts to f64 exactly and the result is the
/// one the general float parser gives (including `-0`, negated as a float),
/// at a fraction of the cost. Anything else takes the general path.
#[inline]
fn parse_zadd_score(arg: &[u8]) -> Result<f64, CmdError> {
    let (neg, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, arg),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')) as f64;
        return Ok(if neg { -v } else { v });
    }
    parse_score(arg)
}

fn zincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let incr = parse_score(args.get(2))?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    zadd_generic(ctx, args.get(1), f, std::iter::once((incr, args.get(3))))
}

/// The shared body of ZADD and ZINCRBY (arguments already validated).
fn zadd_generic<'a>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    f: AddFlags,
    pairs: impl Iterator<Item = (f64, &'a [u8])>,
) -> CmdResult {
    let limits: Limits = ctx.limits();
    let mut view = ctx.view(key);
    let exists = read(&mut view, key)?.is_some();
    if !exists {
        if f.xx {
            drop(view);
            if f.incr {
                ctx.reply.null();
            } else {
                ctx.reply.int(0);
            }
            return Ok(());
        }
        view.insert(key, Entry::new(Value::ZSet(Box::default())));
    }
    let created = !exists;
    let Ok(Some(z)) = write(&mut view, key) else {
        return Err(CmdError::WrongType);
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last_score = 0.0;
    let mut nan = false;
    let plain = !(f.nx || f.xx || f.gt || f.lt || f.incr);
    for (score, member) in pairs {
        if plain {
            // No condition to test first: one lookup instead of two.
            match z.insert(member, score, &limits) {
                None => added += 1,
                Some(old) if old != score => updated += 1,
                Some(_) => {}
            }
            processed += 1;
            continue;
        }
        match z.score(member) {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr {
                    let v = cur + score;
                    if v.is_nan() {
                        nan = true;
                        break;
                    }
                    v
                } else {
                    score
                };
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                if new != cur {
                    z.insert(member, new, &limits);
                    updated += 1;
                }
                last_score = new;
                processed += 1;
            }
            None => {
                if f.xx {
                    continue;
                }
                z.insert(member, score, &limits);
                added += 1;
                last_score = score;
                processed += 1;
            }
        }
    }
    if z.is_empty() {
        view.remove(key);
    }
    drop(view);
    if nan {
        return Err(CmdError::err("resulting score is not a number (NaN)"));
    }
    if added + updated > 0 {
        ctx.dirty((added + updated) as u64);
        ctx.signal_key(key);
        let event = if f.incr { "zincr" } else { "zadd" };
        crate::notify::emit_new(ctx, created, key);
        crate::notify::emit(ctx, crate::notify::ZSET, event, key);
    }
    if f.incr {
        if processed > 0 {
            reply_score(ctx.reply, last_score);
        } else {
            ctx.reply.null();
        }
    } else {
        ctx.reply.int(if f.ch { added + updated } else { added });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Point reads

fn zscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    match read(&mut view, key)?.and_then(|z| z.score(args.get(2))) {
        Some(s) => reply_score(ctx.reply, s),
        None => ctx.reply.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let z = read(&mut view, key)?;
    let reply = &mut *ctx.reply;
    reply.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(reply, s),
            None => reply.null(),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = read(&mut view, key)?.map_or(0, |z| z.len());
    ctx.reply.int(n as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = read(&mut view, key)?.map_or(0, |z| {
        let (a, b) = range.ranks(z);
        b - a
    });
    ctx.reply.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let range = LexRange::parse(args.get(2), args.get(3))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let n = read(&mut view, key)?.map_or(0, |z| {
        let (a, b) = range.ranks(z);
        b - a
    });
    ctx.reply.int(n as i64);
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// ZRANK/ZREVRANK key member [WITHSCORE] (WITHSCORE as in Redis 7.2).
fn rank_generic(ctx: &mut Ctx<'_>, args: Args<'_>, rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::WrongArity(ctx.spec.name.to_string()));
    }
    let withscore = args.len() == 4;
    if withscore && !eq_ic(args.get(3), "withscore") {
        return Err(CmdError::Syntax);
    }
    let key = args.get(1);
    let mut view = ctx.view(key);
    let found = read(&mut view, key)?.and_then(|z| {
        z.rank(args.get(2))
            .map(|(r, s)| (if rev { z.len() - 1 - r } else { r }, s))
    });
    let reply = &mut *ctx.reply;
    match (found, withscore) {
        (Some((r, _)), false) => reply.int(r as i64),
        (Some((r, s)), true) => {
            reply.array(2);
            reply.int(r as i64);
            reply_score(reply, s);
        }
        (None, false) => reply.null(),
        (None, true) => reply.null_array(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Ranges

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, None, None)
}

fn zrangestore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, true, None, None)
}

fn zrevrange(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, Some(Kind::Rank), Some(true))
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, Some(Kind::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, Some(Kind::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, Some(Kind::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    range_generic(ctx, args, false, Some(Kind::Lex), Some(true))
}

/// Every ZRANGE form. `kind`/`rev` are fixed by the legacy commands and
/// chosen by options (BYSCORE, BYLEX, REV) for ZRANGE and ZRANGESTORE.
fn range_generic(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    is_store: bool,
    fixed_kind: Option<Kind>,
    fixed_rev: Option<bool>,
) -> CmdResult {
    let first = if is_store { 2 } else { 1 };
    let key = args.get(first);
    let (mut min_arg, mut max_arg) = (args.get(first + 1), args.get(first + 2));
    let mut kind = fixed_kind;
    let mut rev = fixed_rev;
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        if !is_store && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            offset = parse_i64(args.get(j + 1))?;
            limit = parse_i64(args.get(j + 2))?;
            j += 2;
        } else if rev.is_none() && eq_ic(a, "rev") {
            rev = Some(true);
        } else if kind.is_none() && eq_ic(a, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && eq_ic(a, "byscore") {
            kind = Some(Kind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    let rev = rev.unwrap_or(false);
    // Redis tests the count against its "unset" value, so `LIMIT x -1`
    // passes unnoticed on a rank range.
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut min_arg, &mut max_arg);
    }
    enum Parsed<'a> {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange<'a>),
    }
    let parsed = match kind {
        Kind::Rank => Parsed::Rank(parse_i64(min_arg)?, parse_i64(max_arg)?),
        Kind::Score => Parsed::Score(ScoreRange::parse(min_arg, max_arg)?),
        Kind::Lex => Parsed::Lex(LexRange::parse(min_arg, max_arg)?),
    };
    let interval = |z: &ZSet| -> (usize, usize) {
        match parsed {
            Parsed::Rank(s, e) => match rank_range(s, e, z.len()) {
                Some((a, b)) if rev => (z.len() - b, z.len() - a),
                Some(ab) => ab,
                None => (0, 0),
            },
            Parsed::Score(r) => {
                let (a, b) = r.ranks(z);
                apply_limit(a, b, rev, offset, limit)
            }
            Parsed::Lex(r) => {
                let (a, b) = r.ranks(z);
                apply_limit(a, b, rev, offset, limit)
            }
        }
    };

    if !is_store {
        let mut view = ctx.view(key);
        match read(&mut view, key)? {
            Some(z) => {
                let (a, b) = interval(z);
                emit_range(ctx.reply, z, a, b, rev, withscores);
            }
            None => ctx.reply.array(0),
        }
        return Ok(());
    }

    let dst = args.get(1);
    let limits = ctx.limits();
    let mut view = ctx.view_keys([dst, key]);
    let mut out = ZSet::new();
    if let Some(z) = read(&mut view, key)? {
        let (a, b) = interval(z);
        z.for_each_range(a, b, rev, |m, s| {
            out.insert(m, s, &limits);
        });
    }
    let n = out.len();
    let existed = store(&mut view, dst, out);
    drop(view);
    ctx.dirty(1);
    if n > 0 {
        ctx.signal_key(dst);
    }
    crate::notify::emit_store(ctx, crate::notify::ZSET, "zrangestore", dst, existed, n > 0);
    ctx.reply.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// Removal

fn zrem(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let mut removed = 0;
    if let Some(z) = write(&mut view, key)? {
        for m in args.iter().skip(2) {
            if z.remove(m).is_some() {
                removed += 1;
                if z.is_empty() {
                    break;
                }
            }
        }
        if z.is_empty() {
            view.remove(key);
        }
    }
    let gone = removed > 0 && !view.contains(key);
    drop(view);
    ctx.dirty(removed);
    if removed > 0 {
        crate::notify::emit(ctx, crate::notify::ZSET, "zrem", key);
        if gone {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (s, e) = (parse_i64(args.get(2))?, parse_i64(args.get(3))?);
    remrange_generic(ctx, args.get(1), "zremrangebyrank", |z| {
        rank_range(s, e, z.len()).unwrap_or((0, 0))
    })
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = ScoreRange::parse(args.get(2), args.get(3))?;
    remrange_generic(ctx, args.get(1), "zremrangebyscore", |z| r.ranks(z))
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = LexRange::parse(args.get(2), args.get(3))?;
    remrange_generic(ctx, args.get(1), "zremrangebylex", |z| r.ranks(z))
}

fn remrange_generic(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    event: &str,
    interval: impl FnOnce(&ZSet) -> (usize, usize),
) -> CmdResult {
    let mut view = ctx.view(key);
    let mut removed = 0;
    let mut gone = false;
    if let Some(z) = write(&mut view, key)? {
        let (a, b) = interval(z);
        removed = z.remove_range(a, b);
        if z.is_empty() {
            view.remove(key);
            gone = true;
        }
    }
    drop(view);
    ctx.dirty(removed as u64);
    if removed > 0 {
        crate::notify::emit(ctx, crate::notify::ZSET, event, key);
        if gone {
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// Pops

/// Removes up to `count` elements from the low (or high, `max`) end of the
/// set at `key`, calling `f` for each in pop order. The key must hold a
/// sorted set; it is deleted once empty. Returns how many were popped and
/// whether the key was deleted.
fn pop_from(
    view: &mut View<'_>,
    key: &[u8],
    max: bool,
    count: usize,
    f: impl FnMut(&[u8], f64),
) -> (usize, bool) {
    let Ok(Some(z)) = write(view, key) else {
        return (0, false);
    };
    let n = count.min(z.len());
    let (a, b) = if max { (z.len() - n, z.len()) } else { (0, n) };
    z.for_each_range(a, b, max, f);
    z.remove_range(a, b);
    let gone = z.is_empty();
    if gone {
        view.remove(key);
    }
    (n, gone)
}

/// Announces a pop of `n` elements from `key` (`zpopmin`/`zpopmax`, and
/// `del` when it emptied the set), for every pop command, blocking or not.
fn notify_pop(ctx: &Ctx<'_>, key: &[u8], max: bool, (n, gone): (usize, bool)) {
    if n == 0 {
        return;
    }
    let event = if max { "zpopmax" } else { "zpopmin" };
    crate::notify::emit(ctx, crate::notify::ZSET, event, key);
    if gone {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
    }
}

fn zpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    zpop_generic(ctx, args, true)
}

/// ZPOPMIN/ZPOPMAX key [count]: a flat [member, score, …] reply, except
/// that RESP3 nests pairs when a count is given.
fn zpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.try_get(2) {
        Some(a) => Some(
            parse_i64(a)
                .ok()
                .filter(|&c| c >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?,
        ),
        None => None,
    };
    let key = args.get(1);
    let mut view = ctx.view(key);
    let len = read(&mut view, key)?.map_or(0, |z| z.len());
    let n = (count.unwrap_or(1) as u64).min(len as u64) as usize;
    let reply = &mut *ctx.reply;
    let nested = reply.is_resp3() && count.is_some();
    if nested {
        reply.array(n);
    } else {
        reply.array(n * 2);
    }
    if n > 0 {
        let popped = pop_from(&mut view, key, max, n, |m, s| {
            if nested {
                reply.array(2);
            }
            reply.bulk(m);
            reply_score(reply, s);
        });
        drop(view);
        ctx.dirty(n as u64);
        notify_pop(ctx, key, max, popped);
    }
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, args, true)
}

/// BZPOPMIN/BZPOPMAX key [key …] timeout: pops from the first non-empty
/// key as [key, member, score], or blocks.
fn bzpop_generic(ctx: &mut Ctx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    let deadline = crate::blocking::parse_timeout(args.get(args.len() - 1), ctx.now)?;
    let keys = args.slice_from(1);
    let keys = || keys.iter().take(args.len() - 2);
    let mut view = ctx.view_keys(keys());
    for key in keys() {
        if read(&mut view, key)?.is_none() {
            continue;
        }
        let reply = &mut *ctx.reply;
        reply.array(3);
        reply.bulk(key);
        let popped = pop_from(&mut view, key, max, 1, |m, s| {
            reply.bulk(m);
            reply_score(reply, s);
        });
        drop(view);
        ctx.dirty(1);
        notify_pop(ctx, key, max, popped);
        return Ok(());
    }
    drop(view);
    block_or_null(ctx, keys().map(|k| k.to_vec()).collect(), deadline);
    Ok(())
}

/// Nothing to serve: inside EXEC reply as on timeout, otherwise park.
fn block_or_null(ctx: &mut Ctx<'_>, keys: Vec<Vec<u8>>, deadline_ms: Option<u64>) {
    if ctx.session.in_exec {
        ctx.reply.null_array();
    } else {
        crate::blocking::block_on(ctx, keys, deadline_ms);
    }
}

fn zmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    mpop_generic(ctx, args, 1, None)
}

fn bzmpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let deadline = crate::blocking::parse_timeout(args.get(1), ctx.now)?;
    mpop_generic(ctx, args, 2, Some(deadline))
}

/// ZMPOP numkeys key [key …] MIN|MAX [COUNT count], and BZMPOP with a
/// timeout before it: [key, [[member, score], …]] from the first
/// non-empty key.
fn mpop_generic(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    numkeys_idx: usize,
    blocking: Option<Option<u64>>,
) -> CmdResult {
    let numkeys = parse_i64(args.get(numkeys_idx))
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    // The keys must be followed at least by MIN|MAX.
    if numkeys as u64 > (args.len() - numkeys_idx - 2) as u64 {
        return Err(CmdError::Syntax);
    }
    let numkeys = numkeys as usize;
    let where_idx = numkeys_idx + numkeys + 1;
    let max = match args.get(where_idx) {
        a if eq_ic(a, "min") => false,
        a if eq_ic(a, "max") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(args.get(j), "count") && j + 1 < args.len() {
            count = Some(
                parse_i64(args.get(j + 1))
                    .ok()
                    .filter(|&c| c >= 1)
                    .ok_or_else(|| CmdError::err("count should be greater than 0"))?,
            );
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let count = count.unwrap_or(1) as u64;
    let keys_view = args.slice_from(numkeys_idx + 1);
    let keys = || keys_view.iter().take(numkeys);
    let mut view = ctx.view_keys(keys());
    for key in keys() {
        let Some(z) = read(&mut view, key)? else {
            continue;
        };
        let n = count.min(z.len() as u64) as usize;
        let reply = &mut *ctx.reply;
        reply.array(2);
        reply.bulk(key);
        reply.array(n);
        let popped = pop_from(&mut view, key, max, n, |m, s| {
            reply.array(2);
            reply.bulk(m);
            reply_score(reply, s);
        });
        drop(view);
        ctx.dirty(n as u64);
        notify_pop(ctx, key, max, popped);
        return Ok(());
    }
    drop(view);
    match blocking {
        Some(deadline) => block_or_null(ctx, keys().map(|k| k.to_vec()).collect(), deadline),
        None => ctx.reply.null_array(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN

fn zrandmember(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    if args.len() == 2 {
        let mut view = ctx.view(key);
        match read(&mut view, key)? {
            Some(z) if !z.is_empty() => {
                let r = rand::thread_rng().gen_range(0..z.len());
                let reply = &mut *ctx.reply;
                z.for_each_range(r, r + 1, false, |m, _| reply.bulk(m));
            }
            _ => ctx.reply.null(),
        }
        return Ok(());
    }
    let count = parse_i64(args.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if args.len() > 4 || (args.len() == 4 && !eq_ic(args.get(3), "withscores")) {
        return Err(CmdError::Syntax);
    }
    let withscores = args.len() == 4;
    // Redis caps the count so that the flat reply length cannot overflow.
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut view = ctx.view(key);
    let Some(z) = read(&mut view, key)? else {
        ctx.reply.array(0);
        return Ok(());
    };
    let reply = &mut *ctx.reply;
    let len = z.len();
    let mut rng = rand::thread_rng();
    let emit = |reply: &mut ReplyBuf, m: &[u8], s: f64| {
        if withscores {
            emit_pair(reply, m, s);
        } else {
            reply.bulk(m);
        }
    };
    if count < 0 {
        // With repetition: each pick independent.
        let n = count.unsigned_abs() as usize;
        emit_header(reply, n, withscores);
        for _ in 0..n {
            let r = rng.gen_range(0..len);
            z.for_each_range(r, r + 1, false, |m, s| emit(reply, m, s));
        }
    } else if count as u64 >= len as u64 {
        // The whole set, highest first (the order Redis replies in here).
        emit_header(reply, len, withscores);
        z.for_each_range(0, len, true, |m, s| emit(reply, m, s));
    } else {
        let n = count as usize;
        emit_header(reply, n, withscores);
        for r in rand::seq::index::sample(&mut rng, len, n) {
            z.for_each_range(r, r + 1, false, |m, s| emit(reply, m, s));
        }
    }
    Ok(())
}

fn zscan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = crate::keys::parse_cursor(args.get(2))?;
    let key = args.get(1);
    let mut view = ctx.view(key);
    let Some(z) = read(&mut view, key)? else {
        drop(view);
        ctx.reply.array(2);
        ctx.reply.bulk(b"0");
        ctx.reply.array(0);
        return Ok(());
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let Some(val) = args.try_get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        let opt = args.get(i);
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
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            found.push((m.to_vec(), s));
        }
    });
    drop(view);
    let reply = &mut *ctx.reply;
    reply.array(2);
    let mut b = itoa::Buffer::new();
    reply.bulk(b.format(next).as_bytes());
    reply.array(found.len() * 2);
    for (m, s) in &found {
        reply.bulk(m);
        // ZSCAN sends scores as plain strings even in RESP3, as Redis does.
        reply.bulk(quiver_resp::reply::format_double(*s).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_parsing() {
        assert_eq!(parse_score(b"1.5"), Ok(1.5));
        assert_eq!(parse_score(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+inf"), Ok(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Ok(16.0));
        assert_eq!(parse_score(b"nan"), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b" 1"), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b"1 "), Err(CmdError::NotFloat));
        assert_eq!(parse_score(b""), Err(CmdError::NotFloat));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(parse_score_bound(b"(-inf"), Some((f64::NEG_INFINITY, true)));
        assert_eq!(parse_score_bound(b"x"), None);
        assert_eq!(parse_score_bound(b" "), None);
    }

    #[test]
    fn rank_ranges_follow_redis() {
        assert_eq!(rank_range(0, -1, 5), Some((0, 5)));
        assert_eq!(rank_range(-100, 1, 5), Some((0, 2)));
        assert_eq!(rank_range(3, 100, 5), Some((3, 5)));
        assert_eq!(rank_range(5, 10, 5), None);
        assert_eq!(rank_range(2, 1, 5), None);
        assert_eq!(rank_range(0, -1, 0), None);
    }

    #[test]
    fn limits() {
        assert_eq!(apply_limit(2, 8, false, 1, 2), (3, 5));
        assert_eq!(apply_limit(2, 8, true, 1, 2), (5, 7));
        assert_eq!(apply_limit(2, 8, false, 0, -1), (2, 8));
        assert_eq!(apply_limit(2, 8, false, -1, 5), (2, 2));
        assert_eq!(apply_limit(2, 8, true, 10, 5), (2, 2));
        assert_eq!(apply_limit(2, 8, false, 3, 0), (5, 5));
    }

    #[test]
    fn integral_scores_print_like_g17() {
        for proto in [quiver_resp::Proto::Resp2, quiver_resp::Proto::Resp3] {
            for v in [
                0.0,
                -0.0,
                1.0,
                -7.0,
                99999999999999999.0,
                1e17,
                123456789012345678.0,
                2.5,
                f64::INFINITY,
            ] {
                let mut a = ReplyBuf::new(proto);
                let mut b = ReplyBuf::new(proto);
                reply_score(&mut a, v);
                b.double(v);
                assert_eq!(a.out, b.out, "{v}");
            }
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(crate::blocking::parse_timeout(b"0", 1000), Ok(None));
        assert_eq!(crate::blocking::parse_timeout(b"1.5", 1000), Ok(Some(2500)));
        assert_eq!(crate::blocking::parse_timeout(b"-0.0001", 1000), Ok(None));
        assert!(crate::blocking::parse_timeout(b"-1", 0).is_err());
        assert!(crate::blocking::parse_timeout(b"inf", 0).is_err());
        assert!(crate::blocking::parse_timeout(b"x", 0).is_err());
    }

    /// The integer fast path agrees bit for bit with the general parser
    /// (sign of zero included) and leaves everything else to it.
    #[test]
    fn zadd_score_fast_path_matches_general_parser() {
        for arg in [
            &b"0"[..],
            b"-0",
            b"007",
            b"-42",
            b"123456789012345",
            b"-999999999999999",
            b"1234567890123456",
            b"99999999999999999999",
            b"+5",
            b"1e3",
            b"1.5",
            b"0x10",
            b"-",
            b"",
            b" 1",
            b"1 ",
            b"--1",
            b"inf",
            b"nan",
        ] {
            let fast = parse_zadd_score(arg).map(f64::to_bits);
            let slow = parse_score(arg).map(f64::to_bits);
            assert_eq!(
                fast.is_ok(),
                slow.is_ok(),
                "{:?}",
                String::from_utf8_lossy(arg)
            );
            if let (Ok(a), Ok(b)) = (fast, slow) {
                assert_eq!(a, b, "{:?}", String::from_utf8_lossy(arg));
            }
        }
        assert_eq!(
            parse_zadd_score(b"-0").map(f64::to_bits),
            Ok((-0.0f64).to_bits())
        );
    }
}
