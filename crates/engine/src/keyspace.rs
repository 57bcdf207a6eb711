//! All databases of a server, plus the counters the engine itself keeps.

use crate::db::{Db, View};
use crate::value::Bytes16;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters maintained by the engine (reported by INFO stats).
#[derive(Debug, Default)]
pub struct Stats {
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Keys removed to get under `maxmemory` (INFO `evicted_keys`).
    pub evicted_keys: AtomicU64,
    /// The LFU settings every key access applies. Shared (`Arc`) with the
    /// configuration, which updates it in place on CONFIG SET.
    pub lfu: std::sync::Arc<crate::evict::LfuConfig>,
    /// Keys the engine deleted because they expired, for the layers that
    /// must react (keyspace notifications, tracking, search indexes).
    pub expired: ExpiredLog,
}

/// The engine's record of keys it expired on its own (lazily inside a
/// lookup, or in the active cycle).
///
/// Expiry happens deep inside a [`View`] with shard locks held, where
/// listeners must not run: they may publish to clients or lock the keyspace
/// themselves. So the engine only appends `(db, key)` here, and the command
/// layer drains the log once the locks are gone (after each command and
/// after each active-expiry step). Recording is off until some listener
/// turns it on, so a server nobody listens to pays one atomic load per
/// expired key.
#[derive(Debug, Default)]
pub struct ExpiredLog {
    enabled: std::sync::atomic::AtomicBool,
    pending: std::sync::atomic::AtomicBool,
    list: parking_lot::Mutex<Vec<(usize, Box<[u8]>)>>,
}

impl ExpiredLog {
    /// Starts or stops recording expired keys.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Release);
        if !on {
            self.list.lock().clear();
            self.pending.store(false, Ordering::Release);
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Notes that `key` in database `db` expired.
    #[inline]
    pub fn record(&self, db: usize, key: &[u8]) {
        if self.enabled.load(Ordering::Relaxed) {
            self.list.lock().push((db, key.into()));
            self.pending.store(true, Ordering::Release);
        }
    }

    /// Whether anything waits to be drained (one atomic load).
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Takes every recorded key, oldest first.
    pub fn take(&self) -> Vec<(usize, Box<[u8]>)> {
        let mut l = self.list.lock();
        self.pending.store(false, Ordering::Release);
        std::mem::take(&mut *l)
    }
}

/// The server's databases (`databases` directive, 16 by default).
pub struct Keyspace {
    dbs: Box<[Db]>,
    pub stats: Stats,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases.max(1)).map(Db::with_index).collect(),
            stats: Stats::default(),
        }
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    /// Database `i`; callers validate the index (SELECT does).
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    pub fn lock_key(&self, db: usize, key: &[u8], now: u64) -> View<'_> {
        self.dbs[db].lock_key(key, &self.stats, now)
    }

    pub fn lock_keys<'a, 'k>(
        &'a self,
        db: usize,
        keys: impl IntoIterator<Item = &'k [u8]>,
        now: u64,
    ) -> View<'a> {
        self.dbs[db].lock_keys(keys, &self.stats, now)
    }

    pub fn lock_all(&self, db: usize, now: u64) -> View<'_> {
        self.dbs[db].lock_all(&self.stats, now)
    }

    /// Locks `key` in two databases (MOVE, COPY … DB), lower index first.
    pub fn lock_key_in_two(
        &self,
        a: usize,
        b: usize,
        key: &[u8],
        now: u64,
    ) -> (View<'_>, View<'_>) {
        if a <= b {
            let va = self.lock_key(a, key, now);
            let vb = self.lock_key(b, key, now);
            (va, vb)
        } else {
            let vb = self.lock_key(b, key, now);
            let va = self.lock_key(a, key, now);
            (va, vb)
        }
    }

    /// Locks `key_a` in database `a` and `key_b` in database `b` (COPY … DB).
    /// Locks are always taken in (database, shard) order — the order every
    /// other multi-lock path follows — so two cross-database commands cannot
    /// deadlock. With `a == b` both views would alias one database, so the
    /// caller must use [`lock_keys`](Self::lock_keys) instead; this panics in
    /// debug builds if asked to.
    pub fn lock_keys_in_two(
        &self,
        a: usize,
        key_a: &[u8],
        b: usize,
        key_b: &[u8],
        now: u64,
    ) -> (View<'_>, View<'_>) {
        debug_assert_ne!(a, b, "same database: use lock_keys");
        if a < b {
            let va = self.lock_key(a, key_a, now);
            let vb = self.lock_key(b, key_b, now);
            (va, vb)
        } else {
            let vb = self.lock_key(b, key_b, now);
            let va = self.lock_key(a, key_a, now);
            (va, vb)
        }
    }

    /// SWAPDB.
    pub fn swap(&self, a: usize, b: usize) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        self.dbs[lo].swap_with(&self.dbs[hi]);
    }

    /// Empties one database. With `lazy`, the memory is released on a
    /// background thread so the caller does not wait for it.
    pub fn flush_db(&self, db: usize, lazy: bool) {
        let old = self.dbs[db].take_all();
        if lazy {
            std::thread::spawn(move || drop(old));
        }
    }

    pub fn flush_all(&self, lazy: bool) {
        for i in 0..self.dbs.len() {
            self.flush_db(i, lazy);
        }
    }

    /// Total keys across databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }

    /// Runs the active expiry cycle over all databases with a budget of
    /// examined entries. Returns the number of keys deleted.
    pub fn active_expire(&self, now: u64, budget: usize) -> usize {
        let mut deleted = 0;
        for db in self.dbs.iter() {
            deleted += db.expire_step(&self.stats, now, budget).1;
        }
        deleted
    }

    pub fn random_key(&self, db: usize, now: u64) -> Option<Bytes16> {
        self.dbs[db].random_key(now)
    }

    pub fn hit(&self, hit: bool) {
        if hit {
            self.stats.keyspace_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.keyspace_misses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Entry;
    use crate::value::Value;

    #[test]
    fn lock_keys_in_two_gives_views_of_both_databases() {
        let ks = Keyspace::new(4);
        {
            let (mut hi, mut lo) = ks.lock_keys_in_two(3, b"src", 1, b"dst", 1);
            hi.insert(b"src", Entry::new(Value::Int(1)));
            lo.insert(b"dst", Entry::new(Value::Int(2)));
        }
        assert_eq!(ks.db(3).len(), 1);
        assert_eq!(ks.db(1).len(), 1);
        // Both orders lock and release cleanly (no self-deadlock, no leak).
        let (mut a, mut b) = ks.lock_keys_in_two(1, b"dst", 3, b"src", 1);
        assert!(a.get(b"dst").is_some());
        assert!(b.get(b"src").is_some());
    }
}
