//! Change events: the one place where "this key changed / vanished" is
//! announced to everything that must react — WATCH, client-side-caching
//! invalidation (CLIENT TRACKING), search indexes, keyspace notifications.
//!
//! Writes are announced by dispatch after every successful write command,
//! for the keys its key specs name (the same specs COMMAND GETKEYS uses), so
//! a new command gets WATCH, tracking and indexing right by declaring its
//! keys, without calling anything. Whole-database changes (FLUSHDB,
//! FLUSHALL, SWAPDB) call [`db_flushed`]/[`dbs_swapped`] themselves.
//!
//! Keys the engine expires on its own are recorded
//! in the engine's [`ExpiredLog`](quiver_engine::ExpiredLog) while shard
//! locks are held, and drained here with no lock held: after each command
//! and after each active-expiry step. Listeners may therefore lock the
//! keyspace or publish to clients. Evicted keys are announced by
//! `evict::perform` directly, once its locks are released.
//!
//! Event *names* for keyspace notifications (`set`, `lpush`, `expired`, …)
//! depend on what a command did, so handlers announce those themselves.

use crate::state::ServerState;

/// Why a key left the keyspace without a command naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Expired,
    Evicted,
}

/// Whether anything listens for written keys: dispatch skips finding a
/// command's keys when nothing does.
#[inline]
pub fn write_listeners(server: &ServerState) -> bool {
    server.watches.active() || server.tracking.active() || server.search.active()
}

/// A write command succeeded on `key` in `db` (it may or may not have changed
/// it). Called with no keyspace lock held.
#[inline]
pub fn key_written(server: &ServerState, db: usize, key: &[u8]) {
    key_written_by(server, db, key, 0);
}

/// [`key_written`] naming the client that wrote (for CLIENT TRACKING's
/// NOLOOP; 0 when unknown).
#[inline]
pub fn key_written_by(server: &ServerState, db: usize, key: &[u8], client: u64) {
    server.watches.touch(db, key);
    if server.tracking.active() {
        crate::tracking::invalidate_key(server, key, client);
    }
    crate::search::sync::key_written(server, db, key);
}

/// `key` in `db` left the keyspace by expiry or eviction.
/// (WATCH learns about expiry at EXEC time by itself, see `txn`; an
/// eviction it could not see, so it is told here, as Redis's
/// `signalModifiedKey` after an eviction does.)
pub fn key_removed(server: &ServerState, db: usize, key: &[u8], why: Removal) {
    if why == Removal::Evicted {
        server.watches.touch(db, key);
    }
    if server.tracking.active() {
        crate::tracking::invalidate_key(server, key, 0);
    }
    crate::search::sync::key_removed(server, db, key);
    match why {
        Removal::Expired => {
            crate::notify::emit_db(server, db, crate::notify::EXPIRED, "expired", key)
        }
        Removal::Evicted => {
            crate::notify::emit_db(server, db, crate::notify::EVICTED, "evicted", key)
        }
    }
}

/// Announces the keys the engine expired since the last call, then sends
/// the CLIENT TRACKING BCAST invalidations gathered meanwhile (dispatch
/// calls this once a command is done, and the cron after each active-expiry
/// step).
#[inline]
pub fn drain_expired(server: &ServerState) {
    drain_expired_keys(server);
    crate::tracking::flush_bcast(server);
}

/// [`drain_expired`] without sending BCAST invalidations: for use in the
/// middle of a command (keyspace notifications announce lazily expired keys
/// before the command's own events), so a command's broadcast keys still
/// go out as one message.
#[inline]
pub fn drain_expired_keys(server: &ServerState) {
    let log = &server.keyspace.stats.expired;
    if !log.has_pending() {
        return;
    }
    for (db, key) in log.take() {
        key_removed(server, db, &key, Removal::Expired);
    }
}

/// FLUSHDB (`Some(db)`) or FLUSHALL (`None`) emptied databases.
pub fn db_flushed(server: &ServerState, db: Option<usize>) {
    server.watches.touch_db(db);
    if server.tracking.active() {
        crate::tracking::invalidate_all(server);
    }
    crate::search::sync::flushed(server, db);
    update_listening(server);
}

/// SWAPDB exchanged the contents of `a` and `b`.
pub fn dbs_swapped(server: &ServerState, a: usize, b: usize) {
    server.watches.touch_db(Some(a));
    server.watches.touch_db(Some(b));
    crate::search::sync::swapped(server, a, b);
}

/// Turns the engine's expiry log on while anything listens for removals,
/// and off otherwise (so an idle server records nothing). Listeners call
/// this when they start or stop listening.
pub fn update_listening(server: &ServerState) {
    // Tracking clients need expiry invalidations, `x` notifications need
    // the `expired` event. Listening for tracking is cheap to leave on
    // once a client has tracked, so only notifications turn it off.
    let on = crate::notify::flags(server) & crate::notify::EXPIRED != 0
        || server.tracking.active()
        || server.search.active();
    server.keyspace.stats.expired.set_enabled(on);
}
