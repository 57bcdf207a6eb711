//! One logical database (`SELECT n`): 16 lock shards, each holding the hash
//! tables of 1024 cluster slots.
//!
//! Every access goes through a [`View`], which holds the locks of the shards
//! a command needs (acquired in ascending order, so multi-key commands never
//! deadlock) and applies lazy expiry: an expired key is deleted the moment
//! anything looks at it, so callers never see one.

use crate::keyspace::Stats;
use crate::node::Node;
use crate::slot::key_slot;
use crate::value::{Bytes16, Value};
use crate::{SHARDS, SLOTS, SLOTS_PER_SHARD};
use foldhash::fast::RandomState;
use hashbrown::hash_table::{Entry as TableEntry, HashTable};
use parking_lot::{Mutex, MutexGuard};
use rand::Rng;
use std::hash::BuildHasher;
use std::sync::atomic::Ordering;

/// What a key maps to: the value and its absolute expiry. (When it was last
/// touched lives in the node that holds the entry: see [`Node`].)
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in unix milliseconds; 0 means no expiry. Private so
    /// that every change goes through [`View`], which keeps the volatile-key
    /// counters the active expiry cycle relies on.
    expire: u64,
}

impl Entry {
    pub fn new(value: Value) -> Self {
        Entry { value, expire: 0 }
    }

    pub fn with_expire(value: Value, expire: u64) -> Self {
        Entry { value, expire }
    }

    /// Absolute expiry in unix ms, if any.
    #[inline]
    pub fn expire(&self) -> Option<u64> {
        (self.expire != 0).then_some(self.expire)
    }

    /// Redis treats a key as expired once the clock is strictly past its time.
    #[inline]
    fn is_expired(&self, now: u64) -> bool {
        self.expire != 0 && now > self.expire
    }
}

/// Tables hold a thin pointer per bucket to a [`Node`] (entry + key in one
/// allocation): an open-addressing table is 44–87% full, and empty buckets
/// then cost 8 bytes instead of a whole slot (see docs/ARCHITECTURE.md).
type Table = HashTable<Node>;

/// A group of slots behind one lock.
#[derive(Default)]
pub struct Shard {
    hasher: RandomState,
    /// One table per slot; empty until the shard first receives a key.
    tables: Vec<Table>,
    /// Keys with an expiry, per table, so the active cycle skips the rest.
    volatile: Vec<u32>,
    len: usize,
    volatile_total: usize,
    /// Where the active expiry cycle resumes.
    expire_cursor: usize,
}

impl Shard {
    fn table_mut(&mut self, idx: usize) -> &mut Table {
        if self.tables.is_empty() {
            self.tables = (0..SLOTS_PER_SHARD).map(|_| HashTable::new()).collect();
            self.volatile = vec![0; SLOTS_PER_SHARD];
        }
        &mut self.tables[idx]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }
}

#[inline]
fn locate(key: &[u8]) -> (usize, usize) {
    let slot = key_slot(key);
    (slot & (SHARDS - 1), slot / SHARDS)
}

/// One database.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
    /// This database's number, so expiry can say where a key lived.
    index: usize,
}

impl Default for Db {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of one SCAN step.
pub struct ScanOutcome {
    /// 0 when the iteration is complete.
    pub cursor: u64,
    pub keys: Vec<Bytes16>,
}

impl Db {
    pub fn new() -> Self {
        Self::with_index(0)
    }

    /// Database number `index` of a keyspace.
    pub fn with_index(index: usize) -> Self {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            index,
        }
    }

    /// This database's number.
    pub fn index(&self) -> usize {
        self.index
    }

    fn view<'a>(&'a self, stats: &'a Stats, now: u64) -> View<'a> {
        View {
            guards: Default::default(),
            now,
            db: self.index,
            stats,
            memo: Memo::default(),
        }
    }

    /// Locks the shard holding `key`.
    pub fn lock_key<'a>(&'a self, key: &[u8], stats: &'a Stats, now: u64) -> View<'a> {
        let mut v = self.view(stats, now);
        let (shard, _) = v.memo.locate(key);
        v.guards[shard] = Some(self.shards[shard].lock());
        v
    }

    /// Locks the shards holding all of `keys`, in ascending shard order.
    pub fn lock_keys<'a, 'k>(
        &'a self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        stats: &'a Stats,
        now: u64,
    ) -> View<'a> {
        let mut mask = 0u32;
        for k in keys {
            mask |= 1 << locate(k).0;
        }
        let mut v = self.view(stats, now);
        for (i, shard) in self.shards.iter().enumerate() {
            if mask & (1 << i) != 0 {
                v.guards[i] = Some(shard.lock());
            }
        }
        v
    }

    /// Locks every shard (whole-database commands, transactions).
    pub fn lock_all<'a>(&'a self, stats: &'a Stats, now: u64) -> View<'a> {
        let mut v = self.view(stats, now);
        for (i, shard) in self.shards.iter().enumerate() {
            v.guards[i] = Some(shard.lock());
        }
        v
    }

    /// Number of keys, including expired ones not yet reclaimed (as DBSIZE).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with an expiry.
    pub fn volatile_len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().volatile_total).sum()
    }

    /// Removes every key; returns the old contents so the caller may drop
    /// them elsewhere (FLUSHALL ASYNC).
    pub fn take_all(&self) -> Vec<Shard> {
        self.shards
            .iter()
            .map(|s| std::mem::take(&mut *s.lock()))
            .collect()
    }

    /// Exchanges contents with another database (SWAPDB). Locks are taken in
    /// a fixed global order: all of `self` first; callers pass the lower
    /// numbered database as `self`.
    pub fn swap_with(&self, other: &Db) {
        if std::ptr::eq(self, other) {
            return;
        }
        let mut mine: Vec<_> = self.shards.iter().map(|s| s.lock()).collect();
        let mut theirs: Vec<_> = other.shards.iter().map(|s| s.lock()).collect();
        for (a, b) in mine.iter_mut().zip(theirs.iter_mut()) {
            std::mem::swap(&mut **a, &mut **b);
        }
    }

    /// One step of the active expiry cycle: examines up to `budget` volatile
    /// entries, deleting expired ones. Returns (examined, deleted).
    pub fn expire_step(&self, stats: &Stats, now: u64, budget: usize) -> (usize, usize) {
        let mut examined = 0;
        let mut deleted = 0;
        for shard in self.shards.iter() {
            let mut s = shard.lock();
            if s.volatile_total == 0 {
                continue;
            }
            let mut visited_tables = 0;
            while visited_tables < SLOTS_PER_SHARD && examined < budget && s.volatile_total > 0 {
                let t = s.expire_cursor;
                s.expire_cursor = (t + 1) % SLOTS_PER_SHARD;
                visited_tables += 1;
                if s.volatile[t] == 0 {
                    continue;
                }
                let mut removed = 0;
                let mut removed_volatile = 0;
                examined += s.tables[t].len();
                let db = self.index;
                s.tables[t].retain(|slot| {
                    if slot.entry().is_expired(now) {
                        stats.expired.record(db, slot.key());
                        removed += 1;
                        removed_volatile += 1;
                        false
                    } else {
                        true
                    }
                });
                s.volatile[t] -= removed_volatile;
                s.volatile_total -= removed_volatile as usize;
                s.len -= removed;
                deleted += removed;
            }
            if examined >= budget {
                break;
            }
        }
        stats
            .expired_keys
            .fetch_add(deleted as u64, Ordering::Relaxed);
        (examined, deleted)
    }

    /// One SCAN step starting at `cursor` (a slot number). Whole slots are
    /// returned at a time, so a key that exists for the entire iteration is
    /// always reported, whatever happens to the tables in between.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut keep: impl FnMut(&[u8], &Value) -> bool,
    ) -> ScanOutcome {
        let mut keys = Vec::new();
        let mut slot = cursor as usize;
        // Like Redis, bound the empty slots visited per call.
        let mut empty_budget = count.saturating_mul(10).max(100);
        while slot < SLOTS {
            let (shard, idx) = (slot & (SHARDS - 1), slot / SHARDS);
            {
                let s = self.shards[shard].lock();
                if let Some(t) = s.tables.get(idx) {
                    if t.is_empty() {
                        empty_budget = empty_budget.saturating_sub(1);
                    }
                    for slot in t.iter() {
                        if !slot.entry().is_expired(now) && keep(slot.key(), &slot.entry().value) {
                            keys.push(Bytes16::from_slice(slot.key()));
                        }
                    }
                } else {
                    empty_budget = empty_budget.saturating_sub(1);
                }
            }
            slot += 1;
            if keys.len() >= count || empty_budget == 0 {
                break;
            }
        }
        let cursor = if slot >= SLOTS { 0 } else { slot as u64 };
        ScanOutcome { cursor, keys }
    }

    /// Calls `f` for every live key (KEYS). Locks one shard at a time.
    pub fn for_each_key(&self, now: u64, mut f: impl FnMut(&[u8], &Entry)) {
        for shard in self.shards.iter() {
            let s = shard.lock();
            for t in s.tables.iter() {
                for slot in t.iter() {
                    if !slot.entry().is_expired(now) {
                        f(slot.key(), slot.entry());
                    }
                }
            }
        }
    }

    /// Offers eviction candidates to `f`: about `count` keys (only keys
    /// with an expiry when `volatile_only`) from a random place in the
    /// database. Returns how many were offered; 0 means the database has no
    /// such key at all (the walk gives up only after visiting every table).
    ///
    /// Like Redis's `dictGetSomeKeys`, this takes keys that sit together
    /// (consecutive slot tables of one random shard, starting at a random
    /// table and a random offset inside it) rather than `count` independent
    /// random keys: one lock and a short walk instead of `count` probes,
    /// and random enough for approximated LRU/LFU/TTL, which keeps a pool
    /// of the best candidates across calls anyway.
    pub fn sample(
        &self,
        count: usize,
        volatile_only: bool,
        mut f: impl FnMut(crate::evict::Candidate<'_>),
    ) -> usize {
        let mut rng = rand::thread_rng();
        let count = count.max(1);
        let first_shard = rng.gen_range(0..SHARDS);
        let mut offered = 0;
        for step in 0..SHARDS {
            let s = self.shards[(first_shard + step) % SHARDS].lock();
            let keys = if volatile_only {
                s.volatile_total
            } else {
                s.len
            };
            if keys == 0 || s.tables.is_empty() {
                continue;
            }
            let start = rng.gen_range(0..SLOTS_PER_SHARD);
            for i in 0..SLOTS_PER_SHARD {
                let t = (start + i) % SLOTS_PER_SHARD;
                let table = &s.tables[t];
                let n = if volatile_only {
                    s.volatile[t] as usize
                } else {
                    table.len()
                };
                if n == 0 {
                    continue;
                }
                // Inside a big table, begin at a random entry so that the
                // same few keys are not always the ones offered.
                let skip = if table.len() > count {
                    rng.gen_range(0..table.len())
                } else {
                    0
                };
                let it = table.iter().skip(skip).chain(table.iter().take(skip));
                for node in it {
                    let e = node.entry();
                    if volatile_only && e.expire == 0 {
                        continue;
                    }
                    f(crate::evict::Candidate {
                        key: node.key(),
                        access: node.access(),
                        lfu: node.lfu(),
                        expire: e.expire,
                    });
                    offered += 1;
                    if offered >= count {
                        return offered;
                    }
                }
            }
            // This shard ran out of keys before `count`: what it gave is
            // enough unless it gave nothing.
            if offered > 0 {
                return offered;
            }
        }
        offered
    }

    /// Deletes `key` to free memory, whether or not it has expired (an
    /// evicted key is reported as evicted, never as expired). Returns the
    /// entry so the caller decides where its memory is released, or `None`
    /// if another client deleted the key since it was sampled.
    pub fn evict(&self, key: &[u8], stats: &Stats) -> Option<Entry> {
        let (si, ti) = locate(key);
        let mut s = self.shards[si].lock();
        if s.tables.is_empty() {
            return None;
        }
        let hash = s.hash(key);
        let (node, _) = s.tables[ti]
            .find_entry(hash, |n| n.key() == key)
            .ok()?
            .remove();
        let entry = node.into_entry();
        s.len -= 1;
        if entry.expire != 0 {
            s.volatile[ti] -= 1;
            s.volatile_total -= 1;
        }
        drop(s);
        stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
        Some(entry)
    }

    /// The access time and stored LFU counter of `key` (eviction re-reads
    /// them for pooled candidates), without touching or reclaiming it.
    pub fn access_info(&self, key: &[u8]) -> Option<(u32, u8, u64)> {
        let (si, ti) = locate(key);
        let s = self.shards[si].lock();
        let t = s.tables.get(ti)?;
        let node = t.find(s.hash(key), |n| n.key() == key)?;
        Some((node.access(), node.lfu(), node.entry().expire))
    }

    /// A random live key, or `None` if the database is empty.
    pub fn random_key(&self, now: u64) -> Option<Bytes16> {
        let mut rng = rand::thread_rng();
        // Random probes first; fall back to a full walk when the database is sparse.
        for _ in 0..64 {
            let slot = rng.gen_range(0..SLOTS);
            let (shard, idx) = (slot & (SHARDS - 1), slot / SHARDS);
            let s = self.shards[shard].lock();
            if let Some(t) = s.tables.get(idx) {
                let n = t.len();
                if n == 0 {
                    continue;
                }
                let pick = rng.gen_range(0..n);
                if let Some(slot) = t.iter().nth(pick) {
                    if !slot.entry().is_expired(now) {
                        return Some(Bytes16::from_slice(slot.key()));
                    }
                }
            }
        }
        // Sparse database: pick uniformly among the live keys.
        let mut total = 0usize;
        self.for_each_key(now, |_, _| total += 1);
        if total == 0 {
            return None;
        }
        let mut target = rng.gen_range(0..total);
        let mut found = None;
        self.for_each_key(now, |k, _| {
            if target == 0 && found.is_none() {
                found = Some(Bytes16::from_slice(k));
            }
            target = target.saturating_sub(1);
        });
        found
    }
}

/// Records an access to `node` at `now` (unix ms): its LFU counter when an
/// LFU policy is on (decay uses the previous access time, so it goes
/// first), then the access time itself.
#[inline]
fn touch_node(node: &mut Node, now: u64, stats: &Stats) {
    let now_s = now / 1000;
    if stats.lfu.enabled() {
        crate::evict::lfu_touch(node, now_s, &stats.lfu);
    }
    node.set_access(now_s as u32);
}

/// Locked access to part of a database for the duration of one command.
pub struct View<'a> {
    guards: [Option<MutexGuard<'a, Shard>>; SHARDS],
    /// The command's clock: one reading per command, as Redis does, so a key
    /// cannot expire halfway through a command.
    pub now: u64,
    /// The database this view locks (for expiry events).
    db: usize,
    stats: &'a Stats,
    memo: Memo,
}

/// Longest key whose location a view remembers.
const MEMO_KEY: usize = 32;

/// The last key a view located, with its slot and hash: a command usually
/// looks the same key up several times (lock, read, write), and this spares
/// recomputing CRC16 and the table hash each time.
#[derive(Default)]
struct Memo {
    /// Key length + 1; 0 when empty.
    len: u8,
    key: [u8; MEMO_KEY],
    loc: (usize, usize),
    hash: Option<u64>,
}

impl Memo {
    #[inline]
    fn hit(&self, key: &[u8]) -> bool {
        self.len as usize == key.len() + 1 && &self.key[..key.len()] == key
    }

    #[inline]
    fn locate(&mut self, key: &[u8]) -> (usize, usize) {
        if self.hit(key) {
            return self.loc;
        }
        let loc = locate(key);
        if key.len() <= MEMO_KEY {
            self.key[..key.len()].copy_from_slice(key);
            self.len = key.len() as u8 + 1;
            self.loc = loc;
            self.hash = None;
        }
        loc
    }
}

impl<'a> View<'a> {
    /// The database this view locks.
    #[inline]
    pub fn db(&self) -> usize {
        self.db
    }

    /// Shard index, table index and table hash of `key`, memoised.
    #[inline]
    fn position(&mut self, key: &[u8]) -> (usize, usize, u64) {
        let (si, ti) = self.memo.locate(key);
        if self.memo.hit(key) {
            if let Some(h) = self.memo.hash {
                return (si, ti, h);
            }
            let h = self.shard(si).hash(key);
            self.memo.hash = Some(h);
            return (si, ti, h);
        }
        let h = self.shard(si).hash(key);
        (si, ti, h)
    }

    #[inline]
    fn shard(&mut self, shard: usize) -> &mut Shard {
        // Commands declare their keys up front; touching an unlocked shard is
        // a bug in the command, not something a client can cause.
        self.guards[shard]
            .as_deref_mut()
            .expect("command touched a key it did not lock")
    }

    /// Finds the live node of `key`, deleting the key first if it has
    /// expired (lazy expiry); `touch` records the access for IDLETIME/LRU.
    #[inline]
    fn find_live(&mut self, key: &[u8], touch: bool) -> Option<&mut Node> {
        let now = self.now;
        let stats = self.stats;
        let db = self.db;
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return None;
        }
        let table = &mut shard.tables[ti];
        match table.find_entry(hash, |s| s.key() == key) {
            Ok(occ) => {
                if occ.get().entry().is_expired(now) {
                    stats.expired.record(db, key);
                    occ.remove();
                    shard.len -= 1;
                    shard.volatile[ti] -= 1;
                    shard.volatile_total -= 1;
                    stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                    None
                } else {
                    let node = occ.into_mut();
                    if touch {
                        touch_node(node, now, stats);
                    }
                    Some(node)
                }
            }
            Err(_) => None,
        }
    }

    /// Looks a key up, deleting it first if it has expired.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.find_live(key, true).map(|n| n.entry_mut())
    }

    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<&Entry> {
        self.get_mut(key).map(|e| &*e)
    }

    /// Looks a key up like [`get`](Self::get) — an expired key is deleted,
    /// not just hidden — but leaves its access time alone. Redis's read-only
    /// introspection (EXISTS, TYPE, TTL, OBJECT) looks keys up this way: it
    /// must reclaim expired keys as any access does, yet asking about a key
    /// must not make it look recently used to OBJECT IDLETIME or eviction.
    pub fn get_no_touch(&mut self, key: &[u8]) -> Option<&Entry> {
        self.find_live(key, false).map(|n| n.entry())
    }

    /// Looks a key up without updating its access time (OBJECT IDLETIME, TYPE
    /// with NO-TOUCH).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let now = self.now;
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return None;
        }
        match shard.tables[ti].find(hash, |s| s.key() == key) {
            Some(slot) if !slot.entry().is_expired(now) => Some(slot.entry()),
            _ => None,
        }
    }

    /// When `key` was last touched (unix seconds), without touching it or
    /// reclaiming it: for OBJECT IDLETIME / FREQ and DEBUG OBJECT.
    pub fn last_access(&mut self, key: &[u8]) -> Option<u32> {
        let now = self.now;
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return None;
        }
        match shard.tables[ti].find(hash, |s| s.key() == key) {
            Some(node) if !node.entry().is_expired(now) => Some(node.access()),
            _ => None,
        }
    }

    /// The LFU counter of `key` decayed to the view's clock (OBJECT FREQ),
    /// without touching or reclaiming the key.
    pub fn lfu_counter(&mut self, key: &[u8]) -> Option<u8> {
        let now = self.now;
        let decay = self
            .stats
            .lfu
            .decay_time
            .load(std::sync::atomic::Ordering::Relaxed);
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return None;
        }
        match shard.tables[ti].find(hash, |s| s.key() == key) {
            Some(node) if !node.entry().is_expired(now) => Some(crate::evict::lfu_decayed(
                node.lfu(),
                node.access(),
                now / 1000,
                decay,
            )),
            _ => None,
        }
    }

    /// Overwrites when `key` was last touched (tests and DEBUG use it to
    /// make a key look idle). Returns false if the key does not exist.
    pub fn set_last_access(&mut self, key: &[u8], secs: u32) -> bool {
        self.with_node(key, |node| node.set_access(secs))
    }

    /// Overwrites a key's LFU counter (RESTORE … FREQ). Returns false if
    /// the key does not exist.
    pub fn set_lfu_counter(&mut self, key: &[u8], counter: u8) -> bool {
        self.with_node(key, |node| node.set_lfu(counter))
    }

    /// Runs `f` on the keyspace node of `key` (its access time and LFU
    /// counter live there, beside the entry); false if there is none.
    fn with_node(&mut self, key: &[u8], f: impl FnOnce(&mut crate::node::Node)) -> bool {
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return false;
        }
        match shard.tables[ti].find_mut(hash, |s| s.key() == key) {
            Some(node) => {
                f(node);
                true
            }
            None => false,
        }
    }

    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get_mut(key).is_some()
    }

    /// Stores `entry` under `key`, returning the live entry it replaced.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let now = self.now;
        let access = (now / 1000) as u32;
        let stats = self.stats;
        let new_volatile = entry.expire != 0;
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        let hasher = shard.hasher;
        shard.table_mut(ti);
        let table = &mut shard.tables[ti];
        let old = match table.entry(hash, |s| s.key() == key, |s| hasher.hash_one(s.key())) {
            TableEntry::Occupied(mut occ) => {
                let node = occ.get_mut();
                // Overwriting counts as an access: the key keeps (and adds
                // to) its LFU history, as Redis's overwrite does.
                touch_node(node, now, stats);
                Some(std::mem::replace(node.entry_mut(), entry))
            }
            TableEntry::Vacant(vac) => {
                vac.insert(Node::new(key, entry, access));
                None
            }
        };
        let old_volatile = old.as_ref().is_some_and(|o| o.expire != 0);
        if old.is_none() {
            shard.len += 1;
        }
        match (old_volatile, new_volatile) {
            (false, true) => {
                shard.volatile[ti] += 1;
                shard.volatile_total += 1;
            }
            (true, false) => {
                shard.volatile[ti] -= 1;
                shard.volatile_total -= 1;
            }
            _ => {}
        }
        match old {
            Some(o) if o.is_expired(now) => {
                self.stats.expired.record(self.db, key);
                self.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
                None
            }
            other => other,
        }
    }

    /// Deletes `key`, returning its entry if it was live.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let now = self.now;
        let (si, ti, hash) = self.position(key);
        let shard = self.shard(si);
        if shard.tables.is_empty() {
            return None;
        }
        let table = &mut shard.tables[ti];
        let (slot, _) = table.find_entry(hash, |s| s.key() == key).ok()?.remove();
        let entry = slot.into_entry();
        shard.len -= 1;
        if entry.expire != 0 {
            shard.volatile[ti] -= 1;
            shard.volatile_total -= 1;
        }
        if entry.is_expired(now) {
            self.stats.expired.record(self.db, key);
            self.stats.expired_keys.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(entry)
    }

    /// Sets (or with 0, clears) the absolute expiry of a live key. Returns
    /// false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], when: u64) -> bool {
        let (si, ti) = self.memo.locate(key);
        let Some(e) = self.get_mut(key) else {
            return false;
        };
        let was = e.expire != 0;
        e.expire = when;
        let is = when != 0;
        let shard = self.shard(si);
        match (was, is) {
            (false, true) => {
                shard.volatile[ti] += 1;
                shard.volatile_total += 1;
            }
            (true, false) => {
                shard.volatile[ti] -= 1;
                shard.volatile_total -= 1;
            }
            _ => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn v(s: &str) -> Entry {
        Entry::new(Value::from_bytes(s.as_bytes()))
    }

    #[test]
    fn insert_get_remove() {
        let db = Db::new();
        let stats = Stats::default();
        let mut view = db.lock_all(&stats, 1000);
        assert!(view.insert(b"a", v("1")).is_none());
        assert!(view.insert(b"a", v("2")).is_some());
        assert_eq!(view.get(b"a").map(|e| e.value.clone()), Some(Value::Int(2)));
        assert!(view.remove(b"a").is_some());
        assert!(view.get(b"a").is_none());
        drop(view);
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn lazy_expiry() {
        let db = Db::new();
        let stats = Stats::default();
        {
            let mut view = db.lock_key(b"k", &stats, 1000);
            view.insert(b"k", Entry::with_expire(Value::Int(1), 1500));
        }
        assert_eq!(db.volatile_len(), 1);
        {
            let mut view = db.lock_key(b"k", &stats, 1500);
            assert!(view.get(b"k").is_some(), "alive at exactly its expiry time");
        }
        {
            let mut view = db.lock_key(b"k", &stats, 1501);
            assert!(view.get(b"k").is_none());
        }
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(stats.expired_keys.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn active_expiry_reclaims() {
        let db = Db::new();
        let stats = Stats::default();
        {
            let mut view = db.lock_all(&stats, 1000);
            for i in 0..1000 {
                let key = format!("key:{i}");
                let exp = if i % 2 == 0 { 1100 } else { 0 };
                view.insert(key.as_bytes(), Entry::with_expire(Value::Int(i), exp));
            }
        }
        let mut deleted = 0;
        for _ in 0..100 {
            deleted += db.expire_step(&stats, 2000, 1000).1;
        }
        assert_eq!(deleted, 500);
        assert_eq!(db.len(), 500);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn scan_covers_everything() {
        let db = Db::new();
        let stats = Stats::default();
        {
            let mut view = db.lock_all(&stats, 1);
            for i in 0..5000 {
                view.insert(format!("k{i}").as_bytes(), v("x"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            let out = db.scan(cursor, 10, 1, |_, _| true);
            seen.extend(out.keys.into_iter().map(|k| k.to_vec()));
            // Grow the tables between calls: keys present all along must still come back.
            let mut view = db.lock_all(&stats, 1);
            view.insert(format!("extra{cursor}").as_bytes(), v("y"));
            drop(view);
            cursor = out.cursor;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..5000 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missing k{i}");
        }
    }

    #[test]
    fn get_no_touch_reclaims_but_keeps_access_time() {
        let db = Db::new();
        let stats = Stats::default();
        {
            let mut view = db.lock_all(&stats, 1_000);
            view.insert(b"live", v("x"));
            view.insert(b"dying", Entry::with_expire(Value::Int(1), 1_500));
        }
        let mut view = db.lock_all(&stats, 90_000);
        assert!(view.get_no_touch(b"live").is_some());
        assert_eq!(view.last_access(b"live"), Some(1));
        assert!(view.get_no_touch(b"dying").is_none());
        assert!(view.get_no_touch(b"missing").is_none());
        drop(view);
        // The expired key was deleted, not merely hidden.
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(stats.expired_keys.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn sample_offers_keys_and_respects_volatile_only() {
        let db = Db::new();
        let stats = Stats::default();
        let mut seen = 0;
        assert_eq!(db.sample(5, false, |_| seen += 1), 0);
        {
            let mut view = db.lock_all(&stats, 1_000);
            for i in 0..200 {
                let exp = if i < 3 { 5_000 + i } else { 0 };
                view.insert(
                    format!("k{i}").as_bytes(),
                    Entry::with_expire(Value::Int(i as i64), exp),
                );
            }
        }
        let mut keys = std::collections::HashSet::new();
        for _ in 0..200 {
            let n = db.sample(5, false, |c| {
                keys.insert(c.key.to_vec());
            });
            assert!((1..=5).contains(&n));
        }
        assert!(
            keys.len() > 100,
            "sampling reaches most keys: {}",
            keys.len()
        );
        let mut vol = std::collections::HashSet::new();
        for _ in 0..100 {
            db.sample(5, true, |c| {
                assert!(c.expire != 0);
                vol.insert(c.key.to_vec());
            });
        }
        assert_eq!(vol.len(), 3, "all three volatile keys are found, no others");
    }

    #[test]
    fn evict_removes_without_counting_expiry() {
        let db = Db::new();
        let stats = Stats::default();
        stats.expired.set_enabled(true);
        {
            let mut view = db.lock_all(&stats, 1_000);
            view.insert(b"a", Entry::with_expire(Value::Int(1), 1_500));
            view.insert(b"b", v("x"));
        }
        // "a" has expired by now, yet eviction reports it as evicted.
        assert!(db.evict(b"a", &stats).is_some());
        assert!(db.evict(b"a", &stats).is_none());
        assert!(db.evict(b"b", &stats).is_some());
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(stats.evicted_keys.load(Ordering::Relaxed), 2);
        assert_eq!(stats.expired_keys.load(Ordering::Relaxed), 0);
        assert!(!stats.expired.has_pending());
    }

    #[test]
    fn lfu_counter_grows_with_access_only_under_lfu() {
        let db = Db::new();
        let stats = Stats::default();
        let mut view = db.lock_all(&stats, 60_000);
        view.insert(b"k", v("x"));
        assert_eq!(view.lfu_counter(b"k"), Some(crate::evict::LFU_INIT));
        for _ in 0..50 {
            view.get(b"k");
        }
        assert_eq!(
            view.lfu_counter(b"k"),
            Some(crate::evict::LFU_INIT),
            "LRU mode"
        );
        stats.lfu.enabled.store(true, Ordering::Relaxed);
        stats.lfu.log_factor.store(0, Ordering::Relaxed);
        for _ in 0..50 {
            view.get(b"k");
        }
        assert_eq!(view.lfu_counter(b"k"), Some(55));
        // Peeking does not count.
        view.get_no_touch(b"k");
        assert_eq!(view.lfu_counter(b"k"), Some(55));
        drop(view);
        // Ten idle minutes later the counter reads ten lower.
        let mut view = db.lock_all(&stats, 60_000 + 600_000);
        assert_eq!(view.lfu_counter(b"k"), Some(45));
        // An access decays first, then increments.
        view.get(b"k");
        assert_eq!(view.lfu_counter(b"k"), Some(46));
        // Overwriting keeps the history.
        view.insert(b"k", v("y"));
        assert_eq!(view.lfu_counter(b"k"), Some(47));
        drop(view);
        assert_eq!(db.access_info(b"k").map(|i| i.1), Some(47));
    }

    #[test]
    fn random_key_finds_sparse_keys() {
        let db = Db::new();
        let stats = Stats::default();
        assert!(db.random_key(1).is_none());
        db.lock_key(b"only", &stats, 1).insert(b"only", v("x"));
        assert_eq!(db.random_key(1).as_deref(), Some(&b"only"[..]));
    }
}
