//! Keyspace notifications (`notify-keyspace-events`).
//!
//! Handlers announce what they did with [`emit`]: a class (which family the
//! event belongs to, matching the directive's letters) and an event name
//! (the exact names Redis 7 publishes: `set`, `lpush`, `expire`, …). When
//! the class is enabled the event is published as a pub/sub message on
//! `__keyspace@<db>__:<key>` (message: the event) and/or
//! `__keyevent@<db>__:<event>` (message: the key).
//!
//! With notifications off, an emit costs one relaxed atomic load: the
//! directive is mirrored into `config.hot.notify_flags`.

use crate::context::Ctx;
use crate::state::ServerState;
use std::sync::atomic::Ordering;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, …).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: keys expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: keys evicted.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: key misses (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 13;

/// What `A` stands for.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses the directive's letters into class bits. The result is 0 unless K
/// or E is present: without a destination nothing is ever published.
pub fn parse_flags(s: &str) -> u32 {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            _ => 0,
        };
    }
    if f & (KEYSPACE | KEYEVENT) == 0 {
        0
    } else {
        f
    }
}

/// The enabled classes (0 when notifications are off).
#[inline]
pub fn flags(server: &ServerState) -> u32 {
    server.config.hot.notify_flags.load(Ordering::Relaxed)
}

/// Announces that the running command did `event` to `key` (in the
/// client's selected database).
#[inline]
pub fn emit(ctx: &Ctx<'_>, class: u32, event: &str, key: &[u8]) {
    let f = flags(ctx.server);
    if f & class != 0 {
        emit_in(ctx.server, ctx.session.db, f, event, key);
    }
}

/// The `n` class: the running command created `key` (Redis publishes
/// `new` before the command's own event for that key).
///
/// Redis raises this from its single "add a key" routine. Quiver's one
/// equivalent, `View::insert`, runs with shard locks held inside the
/// engine, which knows nothing of pub/sub and must not publish (publishing
/// may drain the expiry log, whose listeners lock the keyspace). The
/// handlers that create keys already know whether the key existed, so they
/// call this just before their own event, which also gives Redis's order
/// per key (MSET: `new a`, `set a`, `new b`, `set b`).
#[inline]
pub fn emit_new(ctx: &Ctx<'_>, created: bool, key: &[u8]) {
    if created {
        emit(ctx, NEW, "new", key);
    }
}

/// Whether `new` events are wanted: handlers that cannot otherwise tell
/// whether they created a key check existence only when this is true.
#[inline]
pub fn wants_new(server: &ServerState) -> bool {
    flags(server) & NEW != 0
}

/// The end of a `…STORE` command (SINTERSTORE, ZUNIONSTORE, SORT … STORE,
/// BITOP, …): a non-empty result announces `new` (when `dst` did not exist)
/// then `event`; an empty result deletes `dst`, announced as `del` only if
/// there was something to delete.
pub fn emit_store(ctx: &Ctx<'_>, class: u32, event: &str, dst: &[u8], existed: bool, stored: bool) {
    if stored {
        emit_new(ctx, !existed, dst);
        emit(ctx, class, event, dst);
    } else if existed {
        emit(ctx, GENERIC, "del", dst);
    }
}

/// Like [`emit`] for a database other than the selected one (MOVE, COPY
/// with DB) or outside a command (expiry).
#[inline]
pub fn emit_db(server: &ServerState, db: usize, class: u32, event: &str, key: &[u8]) {
    let f = flags(server);
    if f & class != 0 {
        emit_in(server, db, f, event, key);
    }
}

#[cold]
fn emit_in(server: &ServerState, db: usize, f: u32, event: &str, key: &[u8]) {
    // Keys the command's own lookups expired are announced first, as Redis
    // deletes them (and notifies) before the command acts.
    crate::events::drain_expired_keys(server);
    let mut db_buf = itoa::Buffer::new();
    let db_s = db_buf.format(db).as_bytes();
    if f & KEYSPACE != 0 {
        let mut ch = Vec::with_capacity(16 + db_s.len() + key.len());
        ch.extend_from_slice(b"__keyspace@");
        ch.extend_from_slice(db_s);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(key);
        crate::pubsub::publish(server, &ch, event.as_bytes());
    }
    if f & KEYEVENT != 0 {
        let mut ch = Vec::with_capacity(16 + db_s.len() + event.len());
        ch.extend_from_slice(b"__keyevent@");
        ch.extend_from_slice(db_s);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(event.as_bytes());
        crate::pubsub::publish(server, &ch, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_need_a_destination() {
        assert_eq!(parse_flags("A"), 0);
        assert_eq!(parse_flags("Ex"), KEYEVENT | EXPIRED);
        assert_eq!(parse_flags("AK") & NEW, 0);
        assert_eq!(parse_flags("AK") & ZSET, ZSET);
        assert_eq!(parse_flags("Kmn") & (KEY_MISS | NEW), KEY_MISS | NEW);
    }
}
