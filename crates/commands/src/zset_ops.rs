//! Sorted-set algebra: ZUNION, ZINTER, ZDIFF, their STORE forms, and
//! ZINTERCARD. Plain sets are accepted as inputs (every member scoring 1),
//! as in Redis.
//!
//! Inputs are read one key at a time (a [`View`] hands out one entry at a
//! time) into owned (member, score) lists; these are slow commands whose
//! cost is the algebra itself, so the copy is not what limits them. The
//! result is sorted like a sorted set and either replied or stored (as a
//! listpack when it fits the limits, like Redis's conversion after a
//! STORE).

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{flag, CommandSpec, KeySpec, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use crate::zsets::{emit_header, emit_pair, row, store};
use hashbrown::HashMap;
use quiver_engine::types::zset::cmp_elem;
use quiver_engine::types::ZSet;
use quiver_engine::{Value, View};
use quiver_resp::Args;

const RO: u32 = flag::READONLY | flag::MOVABLE_KEYS;
const WD: u32 = flag::WRITE | flag::DENYOOM | flag::MOVABLE_KEYS;
/// The STORE forms: the destination at argv[1] (the sources are movable).
const DST: KeySpec = KeySpec {
    first: 1,
    last: 1,
    step: 1,
};

pub static COMMANDS: &[CommandSpec] = &[
    row(
        "zunion",
        -3,
        RO,
        NO_KEYS,
        "6.2.0",
        "Add multiple sorted sets",
        zunion,
    ),
    row(
        "zinter",
        -3,
        RO,
        NO_KEYS,
        "6.2.0",
        "Intersect multiple sorted sets",
        zinter,
    ),
    row(
        "zdiff",
        -3,
        RO,
        NO_KEYS,
        "6.2.0",
        "Subtract multiple sorted sets",
        zdiff,
    ),
    row(
        "zunionstore",
        -4,
        WD,
        DST,
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        zunionstore,
    ),
    row(
        "zinterstore",
        -4,
        WD,
        DST,
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        zinterstore,
    ),
    row(
        "zdiffstore",
        -4,
        WD,
        DST,
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        zdiffstore,
    ),
    row(
        "zintercard",
        -3,
        RO,
        NO_KEYS,
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
        zintercard,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `val` into `acc`. A sum of opposite infinities is 0 rather
    /// than NaN, as in Redis.
    #[inline]
    fn apply(self, acc: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *acc += val;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => *acc = acc.min(val),
            Aggregate::Max => *acc = acc.max(val),
        }
    }
}

/// One input: its elements with their (weighted) scores, plus an index
/// by member for membership tests.
struct Source {
    elems: Vec<(Vec<u8>, f64)>,
    weight: f64,
}

/// A weighted score; `inf * 0` counts as 0, as in Redis.
#[inline]
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn zunion(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Union, false, false)
}
fn zinter(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Inter, false, false)
}
fn zdiff(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Diff, false, false)
}
fn zunionstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Union, true, false)
}
fn zinterstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Inter, true, false)
}
fn zdiffstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Diff, true, false)
}
fn zintercard(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    generic(ctx, args, Op::Inter, false, true)
}

/// Reads the sorted set or set at `key` into an owned list (empty if the
/// key is missing); WRONGTYPE for any other type.
fn load(view: &mut View<'_>, key: &[u8]) -> Result<Vec<(Vec<u8>, f64)>, CmdError> {
    let mut out = Vec::new();
    match view.get(key).map(|e| &e.value) {
        None => {}
        Some(Value::ZSet(z)) => {
            out.reserve(z.len());
            z.for_each(|m, s| out.push((m.to_vec(), s)));
        }
        Some(Value::Set(s)) => {
            out.reserve(s.len());
            out.extend(s.iter().map(|m| (m.to_vec(), 1.0)));
        }
        Some(_) => return Err(CmdError::WrongType),
    }
    Ok(out)
}

fn generic(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    op: Op,
    is_store: bool,
    card_only: bool,
) -> CmdResult {
    let numkeys_idx = if is_store { 2 } else { 1 };
    let numkeys = parse_i64(args.get(numkeys_idx))?;
    if numkeys < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.spec.name
        )));
    }
    if numkeys as u64 > (args.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let numkeys = numkeys as usize;
    let keys = args.slice_from(numkeys_idx + 1);
    let keys = || keys.iter().take(numkeys);
    let dst = is_store.then(|| args.get(1));
    let mut view = ctx.view_keys(dst.into_iter().chain(keys()));

    // Inputs are read (and type-checked) before the options are parsed,
    // which decides the error a doubly-wrong command gets, as in Redis.
    let mut srcs = Vec::with_capacity(numkeys);
    for key in keys() {
        srcs.push(Source {
            elems: load(&mut view, key)?,
            weight: 1.0,
        });
    }

    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_idx + 1 + numkeys;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = args.get(j);
        if card_only {
            if eq_ic(a, "limit") && remaining >= 2 {
                let l = parse_i64(args.get(j + 1))
                    .ok()
                    .filter(|&l| l >= 0)
                    .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?;
                limit = usize::try_from(l).unwrap_or(usize::MAX);
                j += 2;
                continue;
            }
            return Err(CmdError::Syntax);
        }
        if op != Op::Diff && remaining > numkeys && eq_ic(a, "weights") {
            for (i, src) in srcs.iter_mut().enumerate() {
                src.weight = crate::zsets::parse_score(args.get(j + 1 + i))
                    .map_err(|_| CmdError::err("weight value is not a float"))?;
            }
            j += 1 + numkeys;
        } else if op != Op::Diff && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = args.get(j + 1);
            aggregate = if eq_ic(v, "sum") {
                Aggregate::Sum
            } else if eq_ic(v, "min") {
                Aggregate::Min
            } else if eq_ic(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !is_store && eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }

    let mut result = match op {
        Op::Union => union(&mut srcs, aggregate),
        Op::Inter => inter(&mut srcs, aggregate, if card_only { limit } else { 0 }),
        Op::Diff => diff(&srcs),
    };

    if card_only {
        drop(view);
        ctx.reply.int(result.len() as i64);
        return Ok(());
    }
    result.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));

    if let Some(dst) = dst {
        let limits = ctx.limits();
        let mut z = ZSet::new();
        for (m, s) in &result {
            z.insert(m, *s, &limits);
        }
        let n = z.len();
        let existed = store(&mut view, dst, z);
        drop(view);
        ctx.dirty(1);
        if n > 0 {
            ctx.signal_key(dst);
        }
        let event = match op {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        };
        crate::notify::emit_store(ctx, crate::notify::ZSET, event, dst, existed, n > 0);
        ctx.reply.int(n as i64);
        return Ok(());
    }
    drop(view);
    let reply = &mut *ctx.reply;
    emit_header(reply, result.len(), withscores);
    for (m, s) in &result {
        if withscores {
            emit_pair(reply, m, *s);
        } else {
            reply.bulk(m);
        }
    }
    Ok(())
}

/// Sorts inputs by size, smallest first (the order Redis folds them in,
/// which matters for floating-point sums).
fn by_size(srcs: &mut [Source]) {
    srcs.sort_by_key(|s| s.elems.len());
}

fn union(srcs: &mut [Source], agg: Aggregate) -> Vec<(Vec<u8>, f64)> {
    by_size(srcs);
    let total: usize = srcs.iter().map(|s| s.elems.len()).sum();
    let mut acc: HashMap<Vec<u8>, f64> = HashMap::with_capacity(total);
    for src in srcs.iter_mut() {
        for (m, s) in src.elems.drain(..) {
            let v = weighted(s, src.weight);
            match acc.get_mut(&m) {
                Some(cur) => agg.apply(cur, v),
                None => {
                    acc.insert(m, v);
                }
            }
        }
    }
    acc.into_iter().collect()
}

fn inter(srcs: &mut [Source], agg: Aggregate, limit: usize) -> Vec<(Vec<u8>, f64)> {
    by_size(srcs);
    let Some((first, rest)) = srcs.split_first() else {
        return Vec::new();
    };
    if first.elems.is_empty() {
        return Vec::new();
    }
    let maps: Vec<HashMap<&[u8], f64>> = rest
        .iter()
        .map(|s| s.elems.iter().map(|(m, v)| (m.as_slice(), *v)).collect())
        .collect();
    let mut out = Vec::new();
    'elems: for (m, s) in &first.elems {
        let mut score = weighted(*s, first.weight);
        for (map, src) in maps.iter().zip(rest) {
            match map.get(m.as_slice()) {
                Some(&v) => agg.apply(&mut score, weighted(v, src.weight)),
                None => continue 'elems,
            }
        }
        out.push((m.clone(), score));
        if limit != 0 && out.len() >= limit {
            break;
        }
    }
    out
}

fn diff(srcs: &[Source]) -> Vec<(Vec<u8>, f64)> {
    let Some((first, rest)) = srcs.split_first() else {
        return Vec::new();
    };
    let others: hashbrown::HashSet<&[u8]> = rest
        .iter()
        .flat_map(|s| s.elems.iter().map(|(m, _)| m.as_slice()))
        .collect();
    first
        .elems
        .iter()
        .filter(|(m, _)| !others.contains(m.as_slice()))
        .cloned()
        .collect()
}
