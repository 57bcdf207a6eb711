//! The generic key commands (Redis's "generic" group): existence, deletion,
//! type, enumeration (KEYS, SCAN, RANDOMKEY), renaming and copying within and
//! across databases. Expiry commands live in [`crate::expire`] and OBJECT in
//! [`crate::object`]; their rows are in this family's table so the family
//! registers as one unit.
//!
//! Lookups follow Redis's three flavours, because they are observable:
//! - *read* lookups (TOUCH, COPY's source) update the access time and count a
//!   keyspace hit or miss;
//! - *no-touch read* lookups (EXISTS, TYPE, TTL, OBJECT) count hits/misses but
//!   leave the access time alone ([`View::get_no_touch`]);
//! - *write* lookups (DEL, RENAME, MOVE, EXPIRE) touch the key and count
//!   nothing.
//!
//! All of them delete a key that turns out to be expired.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KeySpec, ALL_KEYS, KEY1, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::{glob_match, View, SLOTS};
use quiver_resp::Args;

const KS: u64 = acl::KEYSPACE;
const W: u32 = flag::WRITE;
const RO: u32 = flag::READONLY;
const FAST: u32 = flag::FAST;
/// Two keys, at argv[1] and argv[2] (RENAME, COPY).
const KEYS_1_2: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Delete a key",
        ..CommandSpec::new("del", -2, W, ALL_KEYS, KS, "generic", del)
    },
    CommandSpec {
        summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        since: "4.0.0",
        ..CommandSpec::new("unlink", -2, W | FAST, ALL_KEYS, KS, "generic", del)
    },
    CommandSpec {
        summary: "Determine if a key exists",
        ..CommandSpec::new("exists", -2, RO | FAST, ALL_KEYS, KS, "generic", exists)
    },
    CommandSpec {
        summary: "Determine the type stored at key",
        ..CommandSpec::new("type", 2, RO | FAST, KEY1, KS, "generic", type_cmd)
    },
    CommandSpec {
        summary: "Set a key's time to live in seconds",
        ..CommandSpec::new("expire", -3, W | FAST, KEY1, KS, "generic", crate::expire::expire)
    },
    CommandSpec {
        summary: "Set a key's time to live in milliseconds",
        since: "2.6.0",
        ..CommandSpec::new("pexpire", -3, W | FAST, KEY1, KS, "generic", crate::expire::pexpire)
    },
    CommandSpec {
        summary: "Set the expiration for a key as a UNIX timestamp",
        since: "1.2.0",
        ..CommandSpec::new("expireat", -3, W | FAST, KEY1, KS, "generic", crate::expire::expireat)
    },
    CommandSpec {
        summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        since: "2.6.0",
        ..CommandSpec::new("pexpireat", -3, W | FAST, KEY1, KS, "generic", crate::expire::pexpireat)
    },
    CommandSpec {
        summary: "Get the time to live for a key in seconds",
        ..CommandSpec::new("ttl", 2, RO | FAST, KEY1, KS, "generic", crate::expire::ttl)
    },
    CommandSpec {
        summary: "Get the time to live for a key in milliseconds",
        since: "2.6.0",
        ..CommandSpec::new("pttl", 2, RO | FAST, KEY1, KS, "generic", crate::expire::pttl)
    },
    CommandSpec {
        summary: "Get the expiration Unix timestamp for a key",
        since: "7.0.0",
        ..CommandSpec::new("expiretime", 2, RO | FAST, KEY1, KS, "generic", crate::expire::expiretime)
    },
    CommandSpec {
        summary: "Get the expiration Unix timestamp for a key in milliseconds",
        since: "7.0.0",
        ..CommandSpec::new("pexpiretime", 2, RO | FAST, KEY1, KS, "generic", crate::expire::pexpiretime)
    },
    CommandSpec {
        summary: "Remove the expiration from a key",
        since: "2.2.0",
        ..CommandSpec::new("persist", 2, W | FAST, KEY1, KS, "generic", crate::expire::persist)
    },
    CommandSpec {
        summary: "Find all keys matching the given pattern",
        // KEYS is not an admin command, yet Redis files it under @dangerous.
        ..CommandSpec::new("keys", 2, RO, NO_KEYS, KS | acl::DANGEROUS, "generic", keys)
    },
    CommandSpec {
        summary: "Incrementally iterate the keys space",
        since: "2.8.0",
        ..CommandSpec::new("scan", -2, RO, NO_KEYS, KS, "generic", scan)
    },
    CommandSpec {
        summary: "Return a random key from the keyspace",
        ..CommandSpec::new("randomkey", 1, RO, NO_KEYS, KS, "generic", randomkey)
    },
    CommandSpec {
        summary: "Rename a key",
        ..CommandSpec::new("rename", 3, W, KEYS_1_2, KS, "generic", rename)
    },
    CommandSpec {
        summary: "Rename a key, only if the new key does not exist",
        ..CommandSpec::new("renamenx", 3, W | FAST, KEYS_1_2, KS, "generic", renamenx)
    },
    CommandSpec {
        summary: "Copy a key",
        since: "6.2.0",
        ..CommandSpec::new("copy", -3, W | flag::DENYOOM, KEYS_1_2, KS, "generic", copy)
    },
    CommandSpec {
        summary: "Move a key to another database",
        ..CommandSpec::new("move", 3, W | FAST, KEY1, KS, "generic", move_cmd)
    },
    CommandSpec {
        summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        since: "3.2.1",
        ..CommandSpec::new("touch", -2, RO | FAST, ALL_KEYS, KS, "generic", touch)
    },
    CommandSpec {
        summary: "A container for object introspection commands",
        since: "2.2.3",
        subcommands: crate::object::SUBCOMMANDS,
        ..CommandSpec::new("object", -2, 0, NO_KEYS, acl::SLOW, "generic", container)
    },
];

/// Containers are never called directly: dispatch resolves a subcommand.
fn container(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::Syntax)
}

/// DEL and UNLINK. Every value type Quiver stores today is freed in O(1)
/// allocations, which is below Redis's lazy-free threshold, so UNLINK frees
/// inline exactly as Redis would for such values.
fn del(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    let mut deleted = 0i64;
    // Which keys went, for keyspace notifications (only kept when enabled).
    let notify = crate::notify::flags(ctx.server) & crate::notify::GENERIC != 0;
    let mut gone = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if view.remove(key).is_some() {
            deleted += 1;
            if notify {
                gone.push(i + 1);
            }
        }
    }
    drop(view);
    ctx.dirty(deleted as u64);
    for i in gone {
        crate::notify::emit(ctx, crate::notify::GENERIC, "del", args.get(i));
    }
    ctx.reply.int(deleted);
    Ok(())
}

/// EXISTS counts a key once per mention, duplicates included.
fn exists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    let mut found = 0i64;
    for key in keys.iter() {
        let hit = view.get_no_touch(key).is_some();
        ctx.server.keyspace.hit(hit);
        found += hit as i64;
    }
    drop(view);
    ctx.reply.int(found);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let name = view.get_no_touch(key).map(|e| e.value.type_name());
    drop(view);
    ctx.server.keyspace.hit(name.is_some());
    ctx.reply.simple(name.unwrap_or("none"));
    Ok(())
}

fn touch(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = args.slice_from(1);
    let mut view = ctx.view_keys(keys.iter());
    let mut found = 0i64;
    for key in keys.iter() {
        let hit = view.get(key).is_some();
        ctx.server.keyspace.hit(hit);
        found += hit as i64;
    }
    drop(view);
    ctx.reply.int(found);
    Ok(())
}

/// KEYS writes matches straight into the reply and prefixes the count
/// afterwards, so no list of keys is built. Shards are visited one at a time
/// (as the engine's `for_each_key` does), never the whole database at once.
fn keys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let pattern = args.get(1);
    let all = pattern == b"*";
    let db = ctx.server.keyspace.db(ctx.session.db);
    let reply = &mut *ctx.reply;
    let mark = reply.mark();
    let mut n = 0usize;
    db.for_each_key(ctx.now, |k, _| {
        if all || glob_match(pattern, k, false) {
            reply.bulk(k);
            n += 1;
        }
    });
    reply.insert_array_header(mark, n);
    Ok(())
}

/// Parses a SCAN cursor the way Redis does (C's `strtoull` plus a check that
/// nothing but digits follows): an optional sign is accepted and a negative
/// number wraps, an empty string is cursor 0, leading whitespace, trailing
/// garbage and values beyond u64 are rejected.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    // A C string ends at its first NUL, whatever follows it.
    let arg = match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    };
    if arg.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return Err(CmdError::InvalidCursor);
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(CmdError::InvalidCursor);
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(CmdError::InvalidCursor)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
///
/// The cursor is a cluster slot number: the engine returns whole slots per
/// step, so every key present for the whole iteration is reported however
/// the tables change in between. COUNT bounds the keys *examined* (the engine
/// is asked for unfiltered keys and MATCH/TYPE filter afterwards), as in
/// Redis, so a selective MATCH cannot turn one SCAN call into a full walk.
fn scan(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = parse_cursor(args.get(1))?;
    let mut count: usize = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
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
        } else if eq_ic(opt, "type") {
            type_name = Some(val);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }

    // A cursor Quiver never handed out (beyond the last slot) ends the
    // iteration rather than erroring, as an exhausted Redis cursor would.
    let (next, mut keys) = if cursor >= SLOTS as u64 {
        (0, Vec::new())
    } else {
        let db = ctx.server.keyspace.db(ctx.session.db);
        // Whether each returned key has the wanted TYPE, recorded while the
        // engine holds the value (the filter keeps every key, so the flags
        // line up with the returned keys one for one).
        let mut type_ok: Vec<bool> = Vec::new();
        let mut found = Vec::new();
        // A database holding no more keys than COUNT is swept in one call,
        // as Redis's small hash tables are: `SCAN 0` on a small database then
        // returns everything with cursor 0, which clients and tests rely on.
        // Otherwise one engine step, whose work COUNT bounds.
        let sweep = db.len() <= count;
        let mut next = cursor;
        loop {
            let out = db.scan(next, count, ctx.now, |_, v| {
                if let Some(t) = type_name {
                    type_ok.push(t.eq_ignore_ascii_case(v.type_name().as_bytes()));
                }
                true
            });
            found.extend(out.keys);
            next = out.cursor;
            if !sweep || next == 0 {
                break;
            }
        }
        let flags = type_ok.into_iter().chain(std::iter::repeat(true));
        let keys: Vec<_> = found.into_iter().zip(flags).collect();
        (next, keys)
    };
    if pattern.is_some() || type_name.is_some() {
        let mut typed_lookups = 0u64;
        keys.retain(|(k, type_ok)| {
            if pattern.is_some_and(|p| !glob_match(p, k, false)) {
                return false;
            }
            if type_name.is_some() {
                // Redis 7.0 checks TYPE with a counted read lookup.
                typed_lookups += 1;
                return *type_ok;
            }
            true
        });
        if typed_lookups > 0 {
            ctx.server
                .keyspace
                .stats
                .keyspace_hits
                .fetch_add(typed_lookups, std::sync::atomic::Ordering::Relaxed);
        }
    }
    ctx.reply.array(2);
    ctx.reply.bulk_int(next as i64);
    ctx.reply.array(keys.len());
    for (k, _) in &keys {
        ctx.reply.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    match ctx.server.keyspace.random_key(ctx.session.db, ctx.now) {
        Some(k) => ctx.reply.bulk(&k),
        None => ctx.reply.null(),
    }
    Ok(())
}

fn rename(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, true)
}

/// RENAME / RENAMENX. The TTL travels with the value; renaming a key onto
/// itself checks that it exists and changes nothing. The source lookup is a
/// write lookup, which touches the key, so (as in Redis) the renamed key
/// reads as just used.
fn rename_generic(ctx: &mut Ctx<'_>, args: Args<'_>, nx: bool) -> CmdResult {
    let src = args.get(1);
    let dst = args.get(2);
    let mut view = ctx.view_keys([src, dst]);
    if !view.contains(src) {
        return Err(CmdError::NoSuchKey);
    }
    // Onto itself, or onto an existing key under NX: nothing to do.
    let done = if src == dst || (nx && view.contains(dst)) {
        false
    } else {
        // `contains` just proved the key live, so `remove` returns it.
        if let Some(entry) = view.remove(src) {
            view.insert(dst, entry);
        }
        true
    };
    drop(view);
    if done {
        ctx.dirty(1);
        ctx.signal_key(dst);
        // Redis deletes the destination and adds it anew: always `new`.
        crate::notify::emit_new(ctx, true, dst);
        crate::notify::emit(ctx, crate::notify::GENERIC, "rename_from", src);
        crate::notify::emit(ctx, crate::notify::GENERIC, "rename_to", dst);
    }
    if nx {
        ctx.reply.int(done as i64);
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

/// Parses a database index argument: an `int` as Redis reads one, then the
/// range check SELECT applies.
fn parse_db_index(ctx: &Ctx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let v = parse_i64(arg)?;
    let v = i32::try_from(v).map_err(|_| CmdError::IntOutOfRange)?;
    match usize::try_from(v) {
        Ok(i) if i < ctx.server.keyspace.db_count() => Ok(i),
        _ => Err(CmdError::DbIndexOutOfRange),
    }
}

/// MOVE key db: only moves into a database where the key does not exist.
fn move_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let dst_db = parse_db_index(ctx, args.get(2))?;
    let src_db = ctx.session.db;
    if dst_db == src_db {
        return Err(CmdError::SameObject);
    }
    let (mut src, mut dst) = ctx
        .server
        .keyspace
        .lock_key_in_two(src_db, dst_db, key, ctx.now);
    let moved = if !src.contains(key) || dst.contains(key) {
        false
    } else if let Some(entry) = src.remove(key) {
        dst.insert(key, entry);
        true
    } else {
        false
    };
    drop((src, dst));
    if moved {
        ctx.dirty(1);
        ctx.server.blocking.signal(dst_db, key);
        crate::notify::emit_db(ctx.server, dst_db, crate::notify::NEW, "new", key);
        crate::notify::emit(ctx, crate::notify::GENERIC, "move_from", key);
        crate::notify::emit_db(ctx.server, dst_db, crate::notify::GENERIC, "move_to", key);
    }
    ctx.reply.int(moved as i64);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]. The copy is a new
/// object (fresh access time) that keeps the source's TTL.
fn copy(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let src_key = args.get(1);
    let dst_key = args.get(2);
    let src_db = ctx.session.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if eq_ic(opt, "replace") {
            replace = true;
        } else if eq_ic(opt, "db") && i + 1 < args.len() {
            dst_db = parse_db_index(ctx, args.get(i + 1))?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if src_db == dst_db && src_key == dst_key {
        return Err(CmdError::SameObject);
    }

    let ks = &ctx.server.keyspace;
    let copied = if src_db == dst_db {
        let mut view = ctx.view_keys([src_key, dst_key]);
        copy_between(ctx, None, &mut view, src_key, dst_key, replace)
    } else {
        let (mut src, mut dst) = ks.lock_keys_in_two(src_db, src_key, dst_db, dst_key, ctx.now);
        copy_between(ctx, Some(&mut dst), &mut src, src_key, dst_key, replace)
    };
    if copied {
        ctx.dirty(1);
        ctx.server.blocking.signal(dst_db, dst_key);
        // REPLACE deletes the old destination first: always `new`.
        crate::notify::emit_db(ctx.server, dst_db, crate::notify::NEW, "new", dst_key);
        crate::notify::emit_db(
            ctx.server,
            dst_db,
            crate::notify::GENERIC,
            "copy_to",
            dst_key,
        );
    }
    ctx.reply.int(copied as i64);
    Ok(())
}

/// The body of COPY once the locks are held: `dst` is `None` when source and
/// destination share one database (and so one view).
fn copy_between<'v>(
    ctx: &Ctx<'_>,
    dst: Option<&mut View<'v>>,
    src: &mut View<'v>,
    src_key: &[u8],
    dst_key: &[u8],
    replace: bool,
) -> bool {
    let entry = src.get(src_key).cloned();
    ctx.server.keyspace.hit(entry.is_some());
    let Some(entry) = entry else {
        return false;
    };
    let dst = match dst {
        Some(d) => d,
        None => src,
    };
    if !replace && dst.contains(dst_key) {
        return false;
    }
    dst.insert(dst_key, entry);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoull() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"007"), Ok(7));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+5"), Ok(5));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"12\0junk"), Ok(12));
        for bad in [
            &b"18446744073709551616"[..],
            b" 5",
            b"5x",
            b"+",
            b"-",
            b"0x10",
            b"1.0",
        ] {
            assert_eq!(parse_cursor(bad), Err(CmdError::InvalidCursor), "{bad:?}");
        }
    }
}
