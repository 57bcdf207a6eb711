//! SORT and SORT_RO over lists, sets and sorted sets.
//!
//! `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC]
//! [ALPHA] [STORE destination]`, with Redis 7.0's exact behaviour:
//!
//! - Options are parsed before the key is looked at, so a syntax error wins
//!   over WRONGTYPE. SORT_RO does not know STORE at all (`ERR syntax error`).
//! - A BY pattern without `*` (conventionally `nosort`) skips sorting: lists
//!   and sorted sets keep their order (reversed by DESC), sets keep theirs —
//!   except that a set sorted into a STORE destination is always sorted
//!   (ALPHA), so the stored result does not depend on hash order.
//! - Patterns: the first `*` is replaced by the element; `->field` after it
//!   reads a hash field instead of a string key; `#` is the element itself.
//!   A missing key, a wrong type or a pattern without `*` gives nil (GET) or
//!   sorts as 0 / before everything (BY).
//! - Numeric sorting parses values as C's `strtod` does (leading spaces,
//!   hex, `inf`; an empty string is 0) and fails with
//!   `ERR One or more scores can't be converted into double` otherwise.
//!   Equal scores fall back to comparing the elements bytewise, so the order
//!   is deterministic. ALPHA compares like `strcmp` (the C.UTF-8 locale's
//!   `strcoll`), or bytewise when storing, as Redis does.
//!
//! BY and GET may name any key, so SORT locks the whole database (like a
//! transaction). Elements are copied out of the sorted value first: the
//! lookups need the view while the elements are in use.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::listpack::Item;
use quiver_engine::types::List;
use quiver_engine::value::{itoa_buf, Bytes16};
use quiver_engine::{Entry, Value, View};
use quiver_resp::Args;
use std::borrow::Cow;
use std::cmp::Ordering;

const CATS: u64 = acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Sort the elements in a list, set or sorted set",
        ..CommandSpec::new(
            "sort",
            -2,
            flag::WRITE | flag::DENYOOM | flag::MOVABLE_KEYS,
            KEY1,
            CATS,
            "generic",
            sort,
        )
    },
    CommandSpec {
        summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        since: "7.0.0",
        ..CommandSpec::new(
            "sort_ro",
            -2,
            flag::READONLY | flag::MOVABLE_KEYS,
            KEY1,
            CATS,
            "generic",
            sort_ro,
        )
    },
];

fn sort(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// The parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// BY named a pattern without `*`: keep the natural order.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse_options<'a>(args: &Args<'a>, readonly: bool) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        if eq_ic(a, "asc") {
            o.desc = false;
        } else if eq_ic(a, "desc") {
            o.desc = true;
        } else if eq_ic(a, "alpha") {
            o.alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            o.limit = Some((parse_i64(args.get(j + 1))?, parse_i64(args.get(j + 2))?));
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let p = args.get(j + 1);
            o.by = Some(p);
            // Redis looks for the `*` with strchr (a NUL ends the pattern),
            // and once one BY has turned sorting off a later BY does not
            // turn it back on.
            if !c_str(p).contains(&b'*') {
                o.dontsort = true;
            }
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// The part of `s` a C string function sees (up to the first NUL).
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// One element being sorted, with the key it sorts by.
struct SortItem {
    elem: Bytes16,
    score: f64,
    /// ALPHA with BY: the BY value (`None` when its key is missing).
    cmp: Option<Bytes16>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

fn owned(item: Item<'_>) -> Bytes16 {
    let mut b = itoa_buf::Buf::new();
    Bytes16::from_slice(item.as_bytes(&mut b))
}

fn sort_generic(ctx: &mut Ctx<'_>, args: Args<'_>, readonly: bool) -> CmdResult {
    let mut o = parse_options(&args, readonly)?;
    let key = args.get(1);
    let mut view = ctx.view_all();

    // Copy the elements out (see the module docs), in natural order.
    let found = view.get(key);
    ctx.server.keyspace.hit(found.is_some());
    let (kind, elems): (Kind, Vec<Bytes16>) = match found.map(|e| &e.value) {
        None => (Kind::List, Vec::new()),
        Some(Value::List(l)) => (Kind::List, l.iter().map(owned).collect()),
        Some(Value::Set(s)) => (Kind::Set, s.iter().map(owned).collect()),
        Some(Value::ZSet(z)) => {
            let mut v = Vec::with_capacity(z.len());
            z.for_each(|m, _| v.push(Bytes16::from_slice(m)));
            (Kind::ZSet, v)
        }
        Some(_) => return Err(CmdError::WrongType),
    };

    // A set's natural order is its hash order: never store that.
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }

    let len = elems.len() as i64;
    let (start, end) = match o.limit {
        None => (0, len),
        Some((off, count)) => {
            let start = off.clamp(0, len);
            let count = count.clamp(-1, len);
            let end = if count < 0 {
                len
            } else {
                (start + count).min(len)
            };
            (start, end)
        }
    };
    let (start, end) = (start as usize, end as usize);

    let mut items: Vec<SortItem> = elems
        .into_iter()
        .map(|elem| SortItem {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();

    if o.dontsort {
        // Lists and sorted sets are walked from the other end for DESC.
        if o.desc && kind != Kind::Set {
            items.reverse();
        }
    } else {
        let mut bad_score = false;
        for it in items.iter_mut() {
            let by_val = match o.by {
                Some(p) => match pattern_value(ctx, &mut view, p, &it.elem) {
                    Some(v) => Some(v.into_owned()),
                    None => continue,
                },
                None => None,
            };
            if o.alpha {
                it.cmp = by_val.map(Bytes16::from_vec);
            } else {
                let text = by_val.as_deref().unwrap_or(&it.elem);
                match strtod(text) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        if bad_score {
            return Err(CmdError::SortScoreNotDouble);
        }
        let (alpha, by, store, desc) = (o.alpha, o.by.is_some(), o.store.is_some(), o.desc);
        items.sort_by(|a, b| {
            let c = compare(a, b, alpha, by, store);
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    let range = &items[start.min(items.len())..end.min(items.len())];
    let outputlen = if o.gets.is_empty() {
        range.len()
    } else {
        o.gets.len() * range.len()
    };

    let Some(dst) = o.store else {
        ctx.reply.array(outputlen);
        for it in range {
            if o.gets.is_empty() {
                ctx.reply.bulk(&it.elem);
            }
            for g in &o.gets {
                match pattern_value(ctx, &mut view, g, &it.elem) {
                    Some(v) => ctx.reply.bulk(&v),
                    None => ctx.reply.null(),
                }
            }
        }
        return Ok(());
    };

    // STORE: the result becomes a list at `dst` (missing GET values are
    // stored as empty strings); an empty result deletes `dst`.
    let mut out: Vec<Cow<'_, [u8]>> = Vec::with_capacity(outputlen);
    for it in range {
        if o.gets.is_empty() {
            out.push(Cow::Borrowed(&it.elem));
        }
        for g in &o.gets {
            let v = pattern_value(ctx, &mut view, g, &it.elem)
                .map(|v| Cow::Owned(v.into_owned()))
                .unwrap_or(Cow::Borrowed(&b""[..]));
            out.push(v);
        }
    }
    if outputlen > 0 {
        let list = List::from_elements(out.iter().map(|v| v.as_ref()), ctx.limits().list_size);
        let existed = view
            .insert(dst, Entry::new(Value::List(Box::new(list))))
            .is_some();
        drop(view);
        ctx.signal_key(dst);
        ctx.dirty(outputlen as u64);
        crate::notify::emit_store(ctx, crate::notify::LIST, "sortstore", dst, existed, true);
    } else if view.remove(dst).is_some() {
        drop(view);
        ctx.dirty(1);
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", dst);
    }
    ctx.reply.int(outputlen as i64);
    Ok(())
}

/// Redis's sortCompare (before DESC is applied).
fn compare(a: &SortItem, b: &SortItem, alpha: bool, by: bool, store: bool) -> Ordering {
    if !alpha {
        return match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.elem.as_slice().cmp(b.elem.as_slice()),
            Some(o) => o,
        };
    }
    let (x, y) = if by {
        match (&a.cmp, &b.cmp) {
            (Some(x), Some(y)) => (x.as_slice(), y.as_slice()),
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
        }
    } else {
        (a.elem.as_slice(), b.elem.as_slice())
    };
    if store {
        // Binary comparison, so stored results do not depend on the locale.
        x.cmp(y)
    } else {
        // strcoll in the C/C.UTF-8 locale: byte order up to the first NUL.
        c_str(x).cmp(c_str(y))
    }
}

/// Resolves a BY/GET pattern for `elem` (Redis's lookupKeyByPattern):
/// `#` is the element; otherwise the first `*` is replaced by the element
/// and the key read as a string, or, with `->field` after the `*`, as a
/// hash field. `None` for anything missing or of another type.
fn pattern_value<'e>(
    ctx: &Ctx<'_>,
    view: &mut View<'_>,
    pattern: &[u8],
    elem: &'e [u8],
) -> Option<Cow<'e, [u8]>> {
    if c_str(pattern) == b"#" {
        return Some(Cow::Borrowed(elem));
    }
    let cpat = c_str(pattern);
    let star = cpat.iter().position(|&b| b == b'*')?;
    // `->` after the `*` with something after it (before any NUL).
    let arrow = cpat[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < cpat.len());
    let (postfix, field) = match arrow {
        Some(f) => (&pattern[star + 1..f], Some(&pattern[f + 2..])),
        None => (&pattern[star + 1..], None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);

    let found = view.get(&key).map(|e| &e.value);
    ctx.server.keyspace.hit(found.is_some());
    let mut b = itoa_buf::Buf::new();
    match (found?, field) {
        (Value::Hash(_), Some(field)) => {
            // Through the hash family's accessor, which drops expired fields.
            crate::hashes::with_hash(view, &key, false, |h| {
                h.get(field)
                    .map(|v| Cow::Owned(v.as_bytes(&mut b).to_vec()))
            })
            .ok()
            .flatten()
            .flatten()
        }
        (v, None) if v.is_string() => v.string_bytes(&mut b).map(|s| Cow::Owned(s.to_vec())),
        _ => None,
    }
}

/// Parses a score as C's `strtod` followed by Redis's checks: the whole
/// string (up to a NUL) must be consumed, the value must be in range
/// (`ERANGE`: overflow, or underflow to zero/subnormal) and not NaN.
/// Leading whitespace, a sign, hex (`0x1p3`), `inf`/`infinity` are accepted;
/// the empty string converts to 0 (no digits, nothing left over).
pub fn strtod(s: &[u8]) -> Option<f64> {
    let s = c_str(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let t = match s.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b)) {
        Some(i) => &s[i..],
        None => return None,
    };
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex_float(&body[2..])?
    } else {
        let text = std::str::from_utf8(body).ok()?;
        let lower = text.to_ascii_lowercase();
        if lower == "inf" || lower == "infinity" {
            f64::INFINITY
        } else {
            // Rust accepts exactly the decimal forms strtod does, apart
            // from the words (handled above) and a second sign.
            if !body
                .first()
                .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
            {
                return None;
            }
            let v: f64 = text.parse().ok()?;
            let mantissa_nonzero = body
                .iter()
                .take_while(|b| !matches!(b, b'e' | b'E'))
                .any(|b| (b'1'..=b'9').contains(b));
            if v.is_infinite() || (mantissa_nonzero && (v == 0.0 || v.is_subnormal())) {
                return None; // ERANGE
            }
            v
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// The part of a hex float after `0x`: hex digits, optional `.` and
/// fraction digits, optional binary exponent `p[+-]digits`.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let mut mant = 0f64;
    let mut digits = 0;
    let mut scale = 0i64;
    let mut i = 0;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            mant = mant * 16.0 + d as f64;
            digits += 1;
            if seen_dot {
                scale -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() {
        if s[i] | 0x20 != b'p' {
            return None;
        }
        let e = std::str::from_utf8(&s[i + 1..]).ok()?;
        let e: i64 = e.parse().ok()?;
        scale = scale.checked_add(e)?;
    }
    let v = mant * 2f64.powi(scale.clamp(-2000, 2000) as i32);
    if v.is_infinite() || (mant != 0.0 && (v == 0.0 || v.is_subnormal())) {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_follows_c() {
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b" 5"), Some(5.0));
        assert_eq!(strtod(b"   "), None);
        assert_eq!(strtod(b"5 "), None);
        assert_eq!(strtod(b"1e400"), None);
        assert_eq!(strtod(b"1e-320"), None);
        assert_eq!(strtod(b"0e5"), Some(0.0));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(strtod(b"nan"), None);
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"0x1p3"), Some(8.0));
        assert_eq!(strtod(b"-0x1.8"), Some(-1.5));
        assert_eq!(strtod(b"12\0junk"), Some(12.0));
        assert_eq!(strtod(b".5"), Some(0.5));
        assert_eq!(strtod(b"5."), Some(5.0));
        assert_eq!(strtod(b"+-5"), None);
        assert_eq!(strtod(b"abc"), None);
        assert_eq!(strtod(b"1e"), None);
    }

    #[test]
    fn alpha_compare_stops_at_nul_unless_storing() {
        let item = |e: &[u8]| SortItem {
            elem: Bytes16::from_slice(e),
            score: 0.0,
            cmp: None,
        };
        let (a, b) = (item(b"a\0x"), item(b"a\0y"));
        assert_eq!(compare(&a, &b, true, false, false), Ordering::Equal);
        assert_eq!(compare(&a, &b, true, false, true), Ordering::Less);
        // Numeric ties fall back to the elements.
        assert_eq!(compare(&b, &a, false, false, false), Ordering::Greater);
    }
}

/// SORT over sorted sets, run in-process (the ZSET commands are built
/// separately; these expectations were taken from redis-server 7.0).
#[cfg(test)]
mod zset_tests {
    use crate::clients::ClientHandle;
    use crate::{ServerState, Session};
    use quiver_engine::types::{Limits, ZSet};
    use quiver_engine::{Entry, Value};
    use quiver_resp::{ArgsBuf, Proto, ReplyBuf};
    use std::sync::Arc;

    fn run(state: &ServerState, session: &mut Session, cmd: &str) -> String {
        let mut reply = ReplyBuf::new(Proto::Resp2);
        let buf = ArgsBuf::from_slices(cmd.split(' ').map(str::as_bytes));
        crate::execute(state, session, &mut reply, buf.owned_view());
        // Flatten RESP2 into the words redis-cli prints.
        String::from_utf8_lossy(&reply.out)
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
            .map(|l| l.trim_start_matches(['+', ':', '-']))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn sort_over_zsets() {
        let state = ServerState::new(crate::config::Config::new());
        let handle = Arc::new(ClientHandle::new(1, String::new(), String::new(), -1, 0));
        let mut session = Session::new(handle, true);
        let lim = Limits::default();
        {
            let mut z = ZSet::new();
            for (m, s) in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("d", 10.0)] {
                z.insert(m.as_bytes(), s, &lim);
            }
            let mut zn = ZSet::new();
            for (m, s) in [("30", 3.0), ("10", 1.0), ("20", 2.0)] {
                zn.insert(m.as_bytes(), s, &lim);
            }
            let mut view = state.keyspace.lock_all(0, quiver_engine::now_ms());
            view.insert(b"z", Entry::new(Value::ZSet(Box::new(z))));
            view.insert(b"zn", Entry::new(Value::ZSet(Box::new(zn))));
        }
        let s = &mut session;
        run(&state, s, "MSET w_a 4 w_b 3 w_c 2 w_d 1");
        let cases = [
            (
                "SORT z",
                "ERR One or more scores can't be converted into double",
            ),
            ("SORT z ALPHA", "a b c d"),
            ("SORT z BY nosort", "a b c d"),
            ("SORT z BY nosort DESC", "d c b a"),
            ("SORT z BY nosort LIMIT 1 2", "b c"),
            ("SORT z BY nosort DESC LIMIT 1 2", "c b"),
            ("SORT z BY w_*", "d c b a"),
            ("SORT z ALPHA DESC LIMIT 0 2 GET # GET w_*", "d 1 c 2"),
            ("SORT zn", "10 20 30"),
            ("SORT_RO zn DESC", "30 20 10"),
            ("SORT z BY nosort STORE dst", "4"),
            ("LRANGE dst 0 -1", "a b c d"),
        ];
        for (cmd, want) in cases {
            assert_eq!(run(&state, s, cmd), want, "{cmd}");
        }
    }
}
