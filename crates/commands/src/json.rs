//! JSON.* commands: a RedisJSON 2.x compatible subset over
//! [`Value::Json`] documents.
//!
//! The one rule that shapes every reply: a *legacy* path (`.`, `.a.b`)
//! answers with a single value, a *JSONPath* (`$…`) answers with an array
//! holding one entry per match (`null` where a match has the wrong type).
//! Writes through a legacy path act on every match and report the result
//! of the last one that had the right type; reads report the first.
//! A legacy path that matches nothing is an error
//! (`ERR Path '$.x' does not exist`, spelled in JSONPath as RedisJSON
//! does); a JSONPath that matches nothing is an empty array.
//!
//! Per-match work runs on pointers from [`json::select`], so a command finds
//! its matches with a shared borrow and changes them one by one; the
//! document is never copied to answer a read.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::notify;
use crate::spec::{flag, CommandSpec, Handler, KeySpec, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::types::json::{self, Format, JsonValue as J, Map, Number, Path};
use quiver_engine::{Entry, Value};
use quiver_resp::{Args, ReplyBuf};

/// The RedisJSON version MODULE LIST reports (2.8.8: the 2.x semantics
/// implemented here).
pub const MODULE_VERSION: i64 = 20808;

const W: u32 = flag::WRITE;
const WD: u32 = flag::WRITE | flag::DENYOOM;
const RO: u32 = flag::READONLY;

const fn row(
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
        ..CommandSpec::new(name, arity, flags, KEY1, 0, "module", handler)
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row("json.set", -4, WD, "1.0.0", "Sets or updates the JSON value at a path", json_set),
    row("json.get", -2, RO, "1.0.0", "Gets the value at one or more paths in JSON serialized form", json_get),
    CommandSpec {
        keys: KeySpec { first: 1, last: -2, step: 1 },
        ..row("json.mget", -3, RO, "1.0.0", "Returns the values at a path from one or more keys", json_mget)
    },
    CommandSpec {
        keys: KeySpec { first: 1, last: -1, step: 3 },
        ..row("json.mset", -4, WD, "2.6.0", "Sets or updates the JSON value of one or more keys", json_mset)
    },
    row("json.merge", -4, WD, "2.6.0", "Merges a given JSON value into matching paths", json_merge),
    row("json.del", -2, W, "1.0.0", "Deletes a value", json_del),
    row("json.forget", -2, W, "1.0.0", "Deletes a value", json_del),
    row("json.type", -2, RO, "1.0.0", "Returns the type of the JSON value at path", json_type),
    row("json.strlen", -2, RO, "1.0.0", "Returns the length of the JSON String at path in key", json_strlen),
    row("json.strappend", -3, WD, "1.0.0", "Appends a string to a JSON string value at path", json_strappend),
    row("json.numincrby", 4, W, "1.0.0", "Increments the numeric value at path by a value", json_numincrby),
    row("json.nummultby", 4, W, "1.0.0", "Multiplies the numeric value at path by a value", json_nummultby),
    row("json.toggle", 3, W, "2.0.0", "Toggles a boolean value", json_toggle),
    row("json.arrappend", -3, WD, "1.0.0", "Append one or more JSON values into the array at path after the last element in it", json_arrappend),
    row("json.arrlen", -2, RO, "1.0.0", "Returns the length of the array at path", json_arrlen),
    row("json.arrindex", -4, RO, "1.0.0", "Returns the index of the first occurrence of a JSON scalar value in the array at path", json_arrindex),
    row("json.arrinsert", -5, WD, "1.0.0", "Inserts the JSON scalar(s) value at the specified index in the array at path", json_arrinsert),
    row("json.arrpop", -2, W, "1.0.0", "Removes and returns the element at the specified index in the array at path", json_arrpop),
    row("json.arrtrim", 5, W, "1.0.0", "Trims the array at path to contain only the specified inclusive range of indices from start to stop", json_arrtrim),
    row("json.objkeys", -2, RO, "1.0.0", "Returns the JSON keys of the object at path", json_objkeys),
    row("json.objlen", -2, RO, "1.0.0", "Returns the number of keys of the object at path", json_objlen),
    row("json.clear", -2, W, "2.0.0", "Clears all values from an array or an object and sets numeric values to `0`", json_clear),
    row("json.resp", -2, RO, "1.0.0", "Returns the JSON value at path in Redis Serialization Protocol (RESP)", json_resp),
];

// ---------------------------------------------------------------- helpers

fn err_no_key() -> CmdError {
    CmdError::err("could not perform this operation on a key that doesn't exist")
}

fn err_no_path(path: &Path) -> CmdError {
    CmdError::err(format!("Path '{}' does not exist", path.text))
}

fn err_wrong(expected: &str, found: &str) -> CmdError {
    CmdError::Raw(format!(
        "WRONGTYPE wrong type of path value - expected {expected} but found {found}"
    ))
}

fn parse_path(arg: &[u8]) -> Result<Path, CmdError> {
    let s = std::str::from_utf8(arg).map_err(|_| CmdError::err("path is not valid UTF-8"))?;
    Path::parse(s).map_err(|e| CmdError::err(e.to_string()))
}

fn parse_json(arg: &[u8]) -> Result<J, CmdError> {
    serde_json::from_slice(arg).map_err(|e| CmdError::err(e.to_string()))
}

/// The JSON document at `key`: `Ok(None)` when missing, WRONGTYPE when the
/// key holds something else.
fn doc_of(v: &Value) -> Result<&J, CmdError> {
    match v {
        Value::Json(j) => Ok(j),
        _ => Err(CmdError::WrongType),
    }
}

/// A per-match result: the value, or the type name of a match that cannot
/// take the operation.
type Each<T> = Result<T, &'static str>;

/// Runs `op` on every value `path` selects in the document at `key`.
/// `None` when the key does not exist.
fn read<T>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    path: &Path,
    mut op: impl FnMut(&J) -> Each<T>,
) -> Result<Option<Vec<Each<T>>>, CmdError> {
    let mut view = ctx.view(key);
    let Some(entry) = view.get(key) else {
        ctx.server.keyspace.hit(false);
        return Ok(None);
    };
    ctx.server.keyspace.hit(true);
    let doc = doc_of(&entry.value)?;
    Ok(Some(
        json::select_values(doc, path)
            .into_iter()
            .map(|(_, v)| op(v))
            .collect(),
    ))
}

/// Runs `op` on every value `path` selects in the document at `key`,
/// mutably; `op` returns its result and whether it changed the value. A
/// change counts as one dirty write and emits `event`.
fn update<T>(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    path: &Path,
    event: &str,
    mut op: impl FnMut(&mut J) -> Each<(T, bool)>,
) -> Result<Vec<Each<T>>, CmdError> {
    let mut view = ctx.view(key);
    let Some(entry) = view.get_mut(key) else {
        return Err(err_no_key());
    };
    let Value::Json(doc) = &mut entry.value else {
        return Err(CmdError::WrongType);
    };
    let ptrs = json::select(doc, path);
    let mut changed = false;
    let mut out = Vec::with_capacity(ptrs.len());
    for p in &ptrs {
        // Every pointer came from `select` on this document and earlier
        // matches only change values in place, so each still resolves.
        let Some(v) = json::get_mut(doc, p) else {
            continue;
        };
        out.push(op(v).map(|(r, c)| {
            changed |= c;
            r
        }));
    }
    drop(view);
    if changed {
        ctx.dirty(1);
        notify::emit(ctx, notify::MODULE, event, key);
    }
    Ok(out)
}

/// The single result a legacy path reports: the first (reads) or last
/// (writes) match of the right type.
fn legacy_pick<T>(
    path: &Path,
    results: Vec<Each<T>>,
    expected: &str,
    last: bool,
) -> Result<T, CmdError> {
    let Some(first_err) = results.first().map(|r| r.as_ref().err().copied()) else {
        return Err(err_no_path(path));
    };
    let mut oks = results.into_iter().filter_map(Result::ok);
    let pick = if last { oks.last() } else { oks.next() };
    pick.ok_or_else(|| err_wrong(expected, first_err.unwrap_or("unknown")))
}

/// Replies with one integer per match (`null` for wrong-typed matches).
fn reply_ints(reply: &mut ReplyBuf, results: &[Each<usize>]) {
    reply.array(results.len());
    for r in results {
        match r {
            Ok(n) => reply.int(*n as i64),
            Err(_) => reply.null(),
        }
    }
}

/// Integer replies for both path kinds.
fn reply_int_results(
    ctx: &mut Ctx<'_>,
    path: &Path,
    results: Vec<Each<usize>>,
    expected: &str,
    last: bool,
) -> CmdResult {
    if path.legacy {
        let n = legacy_pick(path, results, expected, last)?;
        ctx.reply.int(n as i64);
    } else {
        reply_ints(ctx.reply, &results);
    }
    Ok(())
}

/// `[path]` at `args[i]`, defaulting to the legacy root.
fn opt_path(args: &Args<'_>, i: usize) -> Result<Path, CmdError> {
    if args.len() > i {
        parse_path(args.get(i))
    } else {
        parse_path(b".")
    }
}

fn array_len(v: &J) -> Each<usize> {
    v.as_array().map(Vec::len).ok_or(json::type_name(v))
}

// ---------------------------------------------------------------- SET/GET

/// JSON.SET key path value [NX|XX]
fn json_set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, path) = (args.get(1), parse_path(args.get(2))?);
    let (mut nx, mut xx) = (false, false);
    for a in args.slice_from(4).iter() {
        if eq_ic(a, "nx") && !xx {
            nx = true;
        } else if eq_ic(a, "xx") && !nx {
            xx = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let value = parse_json(args.get(3))?;
    let done = set_one(ctx, key, &path, value, nx, xx)?;
    if done {
        ctx.reply.ok();
    } else {
        ctx.reply.null();
    }
    Ok(())
}

/// Sets `path` in `key` to `value`; false when NX/XX or the path's shape
/// prevented it (the null reply).
fn set_one(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    path: &Path,
    value: J,
    nx: bool,
    xx: bool,
) -> Result<bool, CmdError> {
    let mut view = ctx.view(key);
    let done = match view.get_mut(key) {
        None => {
            if xx {
                return Ok(false);
            }
            if !path.is_root() {
                return Err(CmdError::err("new objects must be created at the root"));
            }
            view.insert(key, Entry::new(Value::Json(Box::new(value))));
            true
        }
        Some(entry) => {
            let Value::Json(doc) = &mut entry.value else {
                return Err(CmdError::WrongType);
            };
            set_in(doc, path, value, nx, xx)
        }
    };
    drop(view);
    if done {
        ctx.dirty(1);
        notify::emit(ctx, notify::MODULE, "json.set", key);
    }
    Ok(done)
}

/// Replaces every match of `path`, or, when nothing matches and the path
/// ends in a member name, adds that member to every object its parent
/// path matches.
fn set_in(doc: &mut J, path: &Path, value: J, nx: bool, xx: bool) -> bool {
    if path.is_root() {
        if nx {
            return false;
        }
        *doc = value;
        return true;
    }
    let ptrs = json::select(doc, path);
    if !ptrs.is_empty() {
        if nx {
            return false;
        }
        for p in &ptrs {
            if let Some(v) = json::get_mut(doc, p) {
                *v = value.clone();
            }
        }
        return true;
    }
    if xx {
        return false;
    }
    let Some((parent, name)) = path.split_last_name() else {
        return false;
    };
    let mut done = false;
    for p in json::select(doc, &parent) {
        if let Some(J::Object(m)) = json::get_mut(doc, &p) {
            m.insert(name.to_string(), value.clone());
            done = true;
        }
    }
    done
}

/// JSON.GET key [INDENT s] [NEWLINE s] [SPACE s] [NOESCAPE] [path ...]
fn json_get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut fmt_args: [&[u8]; 3] = [b"", b"", b""];
    let mut paths: Vec<(&[u8], Path)> = Vec::new();
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        let slot = if eq_ic(a, "indent") {
            Some(0)
        } else if eq_ic(a, "newline") {
            Some(1)
        } else if eq_ic(a, "space") {
            Some(2)
        } else {
            None
        };
        if let Some(s) = slot {
            fmt_args[s] = args.try_get(i + 1).ok_or(CmdError::Syntax)?;
            i += 2;
            continue;
        }
        // Accepted and ignored, as RedisJSON does (output is never escaped).
        if !eq_ic(a, "noescape") {
            paths.push((a, parse_path(a)?));
        }
        i += 1;
    }
    if paths.is_empty() {
        paths.push((b".", parse_path(b".")?));
    }
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map_err(|_| CmdError::Syntax)
            .map(str::to_owned)
    };
    let (indent, newline, space) = (text(fmt_args[0])?, text(fmt_args[1])?, text(fmt_args[2])?);
    let fmt = Format {
        indent: &indent,
        newline: &newline,
        space: &space,
    };

    let mut view = ctx.view(key);
    let Some(entry) = view.get(key) else {
        ctx.server.keyspace.hit(false);
        drop(view);
        ctx.reply.null();
        return Ok(());
    };
    ctx.server.keyspace.hit(true);
    let doc = doc_of(&entry.value)?;
    let mut out = Vec::new();
    if let [(_, path)] = paths.as_slice() {
        let found = json::select_values(doc, path);
        if path.legacy {
            let (_, v) = found.first().ok_or_else(|| err_no_path(path))?;
            json::write(&mut out, v, &fmt);
        } else {
            let vals: Vec<&J> = found.iter().map(|(_, v)| *v).collect();
            json::write_all(&mut out, &vals, &fmt);
        }
    } else {
        // Several paths: an object keyed by path. Legacy-only requests keep
        // single values; any JSONPath makes every entry an array.
        let all_legacy = paths.iter().all(|(_, p)| p.legacy);
        let mut obj = Map::new();
        for (raw, path) in &paths {
            let found = json::select_values(doc, path);
            let v = if all_legacy {
                found.first().ok_or_else(|| err_no_path(path))?.1.clone()
            } else {
                J::Array(found.into_iter().map(|(_, v)| v.clone()).collect())
            };
            obj.insert(String::from_utf8_lossy(raw).into_owned(), v);
        }
        json::write(&mut out, &J::Object(obj), &fmt);
    }
    drop(view);
    ctx.reply.bulk(&out);
    Ok(())
}

/// JSON.MGET key [key ...] path
fn json_mget(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let n = args.len();
    let path = parse_path(args.get(n - 1))?;
    let keys = (1..n - 1).map(|i| args.get(i));
    let mut view = ctx.view_keys(keys.clone());
    let mut out = Vec::new();
    ctx.reply.array(n - 2);
    for key in keys {
        // Missing keys and keys of another type are nulls, not errors.
        let doc = match view.get(key).map(|e| &e.value) {
            Some(Value::Json(d)) => d,
            _ => {
                ctx.reply.null();
                continue;
            }
        };
        let found = json::select_values(doc, &path);
        out.clear();
        if path.legacy {
            match found.first() {
                Some((_, v)) => json::write(&mut out, v, &Format::default()),
                None => {
                    ctx.reply.null();
                    continue;
                }
            }
        } else {
            let vals: Vec<&J> = found.iter().map(|(_, v)| *v).collect();
            json::write_all(&mut out, &vals, &Format::default());
        }
        ctx.reply.bulk(&out);
    }
    Ok(())
}

/// JSON.MSET key path value [key path value ...]: every triplet is
/// checked (paths, values, new keys set at the root) before any is applied.
fn json_mset(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !(args.len() - 1).is_multiple_of(3) {
        return Err(CmdError::WrongArity("json.mset".into()));
    }
    let mut triplets = Vec::with_capacity((args.len() - 1) / 3);
    for i in (1..args.len()).step_by(3) {
        triplets.push((
            args.get(i),
            parse_path(args.get(i + 1))?,
            parse_json(args.get(i + 2))?,
        ));
    }
    {
        let mut view = ctx.view_keys(triplets.iter().map(|t| t.0));
        for (key, path, _) in &triplets {
            match view.get(key) {
                None if !path.is_root()
                    && !triplets.iter().any(|(k, p, _)| k == key && p.is_root()) =>
                {
                    return Err(CmdError::err("new objects must be created at the root"));
                }
                Some(e) if !matches!(e.value, Value::Json(_)) => return Err(CmdError::WrongType),
                _ => {}
            }
        }
    }
    for (key, path, value) in triplets {
        set_one(ctx, key, &path, value, false, false)?;
    }
    ctx.reply.ok();
    Ok(())
}

/// JSON.MERGE key path value: an RFC 7396 merge patch at every match.
fn json_merge(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (key, path) = (args.get(1), parse_path(args.get(2))?);
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let patch = parse_json(args.get(3))?;
    let mut view = ctx.view(key);
    let done = match view.get_mut(key) {
        None => {
            if !path.is_root() {
                return Err(CmdError::err("new objects must be created at the root"));
            }
            let mut doc = J::Null;
            json::merge(&mut doc, patch);
            view.insert(key, Entry::new(Value::Json(Box::new(doc))));
            true
        }
        Some(entry) => {
            let Value::Json(doc) = &mut entry.value else {
                return Err(CmdError::WrongType);
            };
            let ptrs = json::select(doc, &path);
            if ptrs.is_empty() {
                // Nothing to merge into: a member the path names is created,
                // as JSON.SET would (null members of the patch dropped).
                let mut fresh = J::Null;
                json::merge(&mut fresh, patch);
                set_in(doc, &path, fresh, true, false)
            } else {
                for p in &ptrs {
                    if let Some(v) = json::get_mut(doc, p) {
                        json::merge(v, patch.clone());
                    }
                }
                true
            }
        }
    };
    drop(view);
    if done {
        ctx.dirty(1);
        notify::emit(ctx, notify::MODULE, "json.merge", key);
        ctx.reply.ok();
    } else {
        ctx.reply.null();
    }
    Ok(())
}

/// JSON.DEL / JSON.FORGET key [path]
fn json_del(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = args.get(1);
    let path = opt_path(&args, 2)?;
    let mut view = ctx.view(key);
    let Some(entry) = view.get_mut(key) else {
        drop(view);
        ctx.reply.int(0);
        return Ok(());
    };
    let Value::Json(doc) = &mut entry.value else {
        return Err(CmdError::WrongType);
    };
    let n = if path.is_root() {
        view.remove(key);
        1
    } else {
        let ptrs = json::select(doc, &path);
        json::remove(doc, ptrs)
    };
    drop(view);
    if n > 0 {
        ctx.dirty(1);
        notify::emit(ctx, notify::MODULE, "json.del", key);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------- reads

/// JSON.TYPE key [path]. RESP3 wraps the RESP2 reply in one more array,
/// as RedisJSON 2.6 does.
fn json_type(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let path = opt_path(&args, 2)?;
    let res = read(ctx, args.get(1), &path, |v| Ok(json::type_name(v)))?;
    if ctx.reply.is_resp3() {
        ctx.reply.array(1);
    }
    match res {
        None => ctx.reply.null(),
        Some(types) if path.legacy => match types.first() {
            Some(Ok(t)) => ctx.reply.simple(t),
            _ => ctx.reply.null(),
        },
        Some(types) => {
            ctx.reply.array(types.len());
            for t in types.into_iter().flatten() {
                ctx.reply.bulk_str(t);
            }
        }
    }
    Ok(())
}

/// Shared by the length commands: legacy missing key → null, JSONPath
/// missing key → error.
fn len_command(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
    expected: &str,
    op: fn(&J) -> Each<usize>,
) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let path = opt_path(&args, 2)?;
    match read(ctx, args.get(1), &path, op)? {
        None if path.legacy => {
            ctx.reply.null();
            Ok(())
        }
        None => Err(err_no_key()),
        // RedisJSON's OBJLEN answers a legacy path that matches nothing
        // with null where the other length commands fail.
        Some(results) if path.legacy && results.is_empty() && expected == "object" => {
            ctx.reply.null();
            Ok(())
        }
        Some(results) => reply_int_results(ctx, &path, results, expected, false),
    }
}

fn json_strlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    len_command(ctx, args, "string", |v| {
        v.as_str()
            .map(|s| s.chars().count())
            .ok_or(json::type_name(v))
    })
}

fn json_arrlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    len_command(ctx, args, "array", array_len)
}

fn json_objlen(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    len_command(ctx, args, "object", |v| {
        v.as_object().map(Map::len).ok_or(json::type_name(v))
    })
}

/// JSON.OBJKEYS key [path]
fn json_objkeys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let path = opt_path(&args, 2)?;
    let keys = |v: &J| -> Each<Vec<String>> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .ok_or(json::type_name(v))
    };
    let write_keys = |reply: &mut ReplyBuf, ks: &[String]| {
        reply.array(ks.len());
        for k in ks {
            reply.bulk_str(k);
        }
    };
    match read(ctx, args.get(1), &path, keys)? {
        None if path.legacy => ctx.reply.null(),
        None => return Err(err_no_key()),
        Some(results) if path.legacy => {
            let ks = legacy_pick(&path, results, "object", false)?;
            write_keys(ctx.reply, &ks);
        }
        Some(results) => {
            ctx.reply.array(results.len());
            for r in &results {
                match r {
                    Ok(ks) => write_keys(ctx.reply, ks),
                    Err(_) => ctx.reply.null(),
                }
            }
        }
    }
    Ok(())
}

/// JSON.ARRINDEX key path value [start [stop]]: `start`/`stop` count from
/// the end when negative; `stop` 0 means the end of the array and is
/// exclusive otherwise. Numbers match only numbers of the same kind
/// (3 is not 3.0), as in RedisJSON.
fn json_arrindex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 6 {
        return Err(CmdError::Syntax);
    }
    let path = parse_path(args.get(2))?;
    let needle = parse_json(args.get(3))?;
    let start = args.try_get(4).map(parse_i64).transpose()?.unwrap_or(0);
    let stop = args.try_get(5).map(parse_i64).transpose()?.unwrap_or(0);
    let find = |v: &J| -> Each<i64> {
        let a = v.as_array().ok_or(json::type_name(v))?;
        let len = a.len() as i64;
        let s = if start < 0 {
            len.saturating_add(start).max(0)
        } else {
            start.min(len)
        };
        let e = match stop {
            0 => len,
            e if e < 0 => len.saturating_add(e).max(0),
            e => e.min(len),
        };
        Ok((s..e).find(|&i| a[i as usize] == needle).unwrap_or(-1))
    };
    let Some(results) = read(ctx, args.get(1), &path, find)? else {
        return Err(err_no_key());
    };
    if path.legacy {
        let i = legacy_pick(&path, results, "array", false)?;
        ctx.reply.int(i);
    } else {
        ctx.reply.array(results.len());
        for r in results {
            match r {
                Ok(i) => ctx.reply.int(i),
                Err(_) => ctx.reply.null(),
            }
        }
    }
    Ok(())
}

/// Writes `v` as JSON.RESP does: null → nil, booleans as simple strings,
/// integers as integers, other numbers as bulk strings (doubles in RESP3),
/// arrays as `[` + elements, objects as `{` + key/value pairs.
fn write_resp(reply: &mut ReplyBuf, v: &J) {
    match v {
        J::Null => reply.null(),
        J::Bool(b) => reply.simple(if *b { "true" } else { "false" }),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => reply.int(i),
            (None, Some(f)) if reply.is_resp3() => reply.double(f),
            _ => reply.bulk_str(&n.to_string()),
        },
        J::String(s) => reply.bulk_str(s),
        J::Array(a) => {
            reply.array(a.len() + 1);
            reply.simple("[");
            for e in a {
                write_resp(reply, e);
            }
        }
        J::Object(m) => {
            reply.array(2 * m.len() + 1);
            reply.simple("{");
            for (k, e) in m {
                reply.bulk_str(k);
                write_resp(reply, e);
            }
        }
    }
}

/// JSON.RESP key [path]
fn json_resp(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = args.get(1);
    let path = opt_path(&args, 2)?;
    let mut view = ctx.view(key);
    let Some(entry) = view.get(key) else {
        drop(view);
        ctx.reply.null();
        return Ok(());
    };
    let doc = doc_of(&entry.value)?;
    let found = json::select_values(doc, &path);
    if path.legacy {
        let (_, v) = found.first().ok_or_else(|| err_no_path(&path))?;
        write_resp(ctx.reply, v);
    } else {
        ctx.reply.array(found.len());
        for (_, v) in &found {
            write_resp(ctx.reply, v);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- writes

/// JSON.STRAPPEND key [path] value
fn json_strappend(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (path, raw) = match args.len() {
        3 => (parse_path(b".")?, args.get(2)),
        4 => (parse_path(args.get(2))?, args.get(3)),
        _ => return Err(CmdError::Syntax),
    };
    let J::String(suffix) = parse_json(raw)? else {
        return Err(CmdError::err("wrong type of value - expected string"));
    };
    let results = update(ctx, args.get(1), &path, "json.strappend", |v| match v {
        J::String(s) => {
            s.push_str(&suffix);
            Ok((s.chars().count(), true))
        }
        other => Err(json::type_name(other)),
    })?;
    reply_int_results(ctx, &path, results, "string", true)
}

/// `a + b` or `a * b`, integer when both are integers and the result fits.
fn num_op(a: &Number, b: &Number, mul: bool) -> Option<Number> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        let r = if mul {
            x.checked_mul(y)
        } else {
            x.checked_add(y)
        };
        if let Some(r) = r {
            return Some(r.into());
        }
    }
    let (x, y) = (a.as_f64()?, b.as_f64()?);
    Number::from_f64(if mul { x * y } else { x + y })
}

fn num_command(ctx: &mut Ctx<'_>, args: Args<'_>, mul: bool) -> CmdResult {
    let path = parse_path(args.get(2))?;
    let J::Number(by) = parse_json(args.get(3))? else {
        return Err(CmdError::err("expected value"));
    };
    let mut overflow = false;
    let event = if mul {
        "json.nummultby"
    } else {
        "json.numincrby"
    };
    let results = update(ctx, args.get(1), &path, event, |v| match v {
        J::Number(n) => match num_op(n, &by, mul) {
            Some(r) => {
                *n = r.clone();
                Ok((r, true))
            }
            None => {
                overflow = true;
                Err("number")
            }
        },
        other => Err(json::type_name(other)),
    })?;
    if overflow {
        return Err(CmdError::err("result is not a number or is out of range"));
    }
    if ctx.reply.is_resp3() {
        // RESP3: always an array of native numbers.
        let picked;
        let list: &[Each<Number>] = if path.legacy {
            picked = [Ok(legacy_pick(&path, results, "number", true)?)];
            &picked
        } else {
            &results
        };
        ctx.reply.array(list.len());
        for r in list {
            match r {
                Ok(n) => match n.as_i64() {
                    Some(i) => ctx.reply.int(i),
                    None => ctx.reply.double(n.as_f64().unwrap_or(0.0)),
                },
                Err(_) => ctx.reply.null(),
            }
        }
    } else if path.legacy {
        let n = legacy_pick(&path, results, "number", true)?;
        ctx.reply.bulk_str(&n.to_string());
    } else {
        // RESP2: the results as one JSON array text.
        let arr = J::Array(
            results
                .into_iter()
                .map(|r| r.map(J::Number).unwrap_or(J::Null))
                .collect(),
        );
        ctx.reply.bulk(&json::to_vec(&arr));
    }
    Ok(())
}

fn json_numincrby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    num_command(ctx, args, false)
}

fn json_nummultby(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    num_command(ctx, args, true)
}

/// JSON.TOGGLE key path: legacy replies "true"/"false", JSONPath 1/0 per match.
fn json_toggle(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let path = parse_path(args.get(2))?;
    let results = update(ctx, args.get(1), &path, "json.toggle", |v| match v {
        J::Bool(b) => {
            *b = !*b;
            Ok((*b, true))
        }
        other => Err(json::type_name(other)),
    })?;
    if path.legacy {
        let b = legacy_pick(&path, results, "boolean", true)?;
        ctx.reply.bulk_str(if b { "true" } else { "false" });
    } else {
        ctx.reply.array(results.len());
        for r in results {
            match r {
                Ok(b) => ctx.reply.int(b as i64),
                Err(_) => ctx.reply.null(),
            }
        }
    }
    Ok(())
}

/// JSON.ARRAPPEND key [path] value [value ...]
fn json_arrappend(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let (path, first) = if args.len() == 3 {
        (parse_path(b".")?, 2)
    } else {
        (parse_path(args.get(2))?, 3)
    };
    let values = (first..args.len())
        .map(|i| parse_json(args.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let results = update(ctx, args.get(1), &path, "json.arrappend", |v| match v {
        J::Array(a) => {
            a.extend(values.iter().cloned());
            Ok((a.len(), !values.is_empty()))
        }
        other => Err(json::type_name(other)),
    })?;
    reply_int_results(ctx, &path, results, "array", true)
}

/// JSON.ARRINSERT key path index value [value ...]
fn json_arrinsert(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let path = parse_path(args.get(2))?;
    let index = parse_i64(args.get(3))?;
    let values = (4..args.len())
        .map(|i| parse_json(args.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out_of_range = false;
    let results = update(ctx, args.get(1), &path, "json.arrinsert", |v| match v {
        J::Array(a) => {
            let len = a.len() as i64;
            let at = if index < 0 {
                len.saturating_add(index)
            } else {
                index
            };
            if !(0..=len).contains(&at) {
                out_of_range = true;
                return Err("array");
            }
            let at = at as usize;
            a.splice(at..at, values.iter().cloned());
            Ok((a.len(), true))
        }
        other => Err(json::type_name(other)),
    })?;
    if out_of_range {
        return Err(CmdError::err("index out of bounds"));
    }
    reply_int_results(ctx, &path, results, "array", true)
}

/// JSON.ARRPOP key [path [index]]: the popped element as JSON text, null
/// for an empty array; out-of-range indexes clamp to the ends.
fn json_arrpop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let path = opt_path(&args, 2)?;
    let index = args.try_get(3).map(parse_i64).transpose()?.unwrap_or(-1);
    let results = update(ctx, args.get(1), &path, "json.arrpop", |v| match v {
        J::Array(a) if a.is_empty() => Ok((None, false)),
        J::Array(a) => {
            let len = a.len() as i64;
            let at = if index < 0 {
                len.saturating_add(index).max(0)
            } else {
                index.min(len - 1)
            };
            Ok((Some(json::to_vec(&a.remove(at as usize))), true))
        }
        other => Err(json::type_name(other)),
    })?;
    let write = |reply: &mut ReplyBuf, r: &Option<Vec<u8>>| match r {
        Some(b) => reply.bulk(b),
        None => reply.null(),
    };
    if path.legacy {
        let r = legacy_pick(&path, results, "array", true)?;
        write(ctx.reply, &r);
    } else {
        ctx.reply.array(results.len());
        for r in &results {
            match r {
                Ok(r) => write(ctx.reply, r),
                Err(_) => ctx.reply.null(),
            }
        }
    }
    Ok(())
}

/// JSON.ARRTRIM key path start stop: keeps the inclusive range, with
/// negative indexes from the end and an empty array when the range is.
fn json_arrtrim(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let path = parse_path(args.get(2))?;
    let (start, stop) = (parse_i64(args.get(3))?, parse_i64(args.get(4))?);
    let results = update(ctx, args.get(1), &path, "json.arrtrim", |v| match v {
        J::Array(a) => {
            let len = a.len() as i64;
            let s = if start < 0 {
                len.saturating_add(start).max(0)
            } else {
                start
            };
            let e = if stop < 0 {
                len.saturating_add(stop)
            } else {
                stop.min(len - 1)
            };
            if s >= len || s > e {
                a.clear();
            } else {
                a.truncate(e as usize + 1);
                a.drain(..s as usize);
            }
            Ok((a.len(), true))
        }
        other => Err(json::type_name(other)),
    })?;
    reply_int_results(ctx, &path, results, "array", true)
}

/// JSON.CLEAR key [path]: empties arrays and objects and zeroes numbers;
/// replies with how many values it cleared.
fn json_clear(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let path = if args.len() > 2 {
        parse_path(args.get(2))?
    } else {
        parse_path(b"$")?
    };
    let results = update(ctx, args.get(1), &path, "json.clear", |v| {
        let cleared = match v {
            J::Array(a) => {
                a.clear();
                true
            }
            J::Object(m) => {
                m.clear();
                true
            }
            J::Number(n) => {
                *n = 0.into();
                true
            }
            _ => false,
        };
        Ok((cleared, cleared))
    })?;
    let n = results.iter().filter(|r| matches!(r, Ok(true))).count();
    ctx.reply.int(n as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_ops_keep_integers_when_they_can() {
        let n = |s: &str| serde_json::from_str::<Number>(s).unwrap();
        assert_eq!(num_op(&n("2"), &n("3"), false), Some(n("5")));
        assert_eq!(
            num_op(&n("2"), &n("2.5"), false).map(|x| x.to_string()),
            Some("4.5".into())
        );
        assert_eq!(
            num_op(&n("5.0"), &n("2"), false).map(|x| x.to_string()),
            Some("7.0".into())
        );
        assert_eq!(num_op(&n("2"), &n("3"), true), Some(n("6")));
        // Integer overflow falls back to floating point.
        assert!(num_op(&n("9223372036854775807"), &n("1"), false)
            .unwrap()
            .is_f64());
        assert_eq!(num_op(&n("1e308"), &n("10"), true), None);
    }

    #[test]
    fn set_creates_members_only_under_existing_objects() {
        let mut doc = serde_json::json!({"a": {"b": 1}, "l": [1]});
        let p = |s: &str| Path::parse(s).unwrap();
        assert!(set_in(&mut doc, &p("$.a.c"), J::from(2), false, false));
        assert!(!set_in(&mut doc, &p("$.x.y"), J::from(2), false, false));
        assert!(!set_in(&mut doc, &p("$.l[3]"), J::from(2), false, false));
        assert!(!set_in(&mut doc, &p("$.a.b"), J::from(9), true, false));
        assert!(!set_in(&mut doc, &p("$.a.z"), J::from(9), false, true));
        assert_eq!(json::to_vec(&doc), br#"{"a":{"b":1,"c":2},"l":[1]}"#);
    }
}
