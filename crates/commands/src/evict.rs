//! Eviction under `maxmemory`: before a command runs, dispatch asks
//! [`check`] whether memory is over the limit; if so keys are evicted by
//! `maxmemory-policy` until it is not, and a `denyoom` command is refused
//! with `-OOM …` when that cannot be done.
//!
//! ## Measuring memory cheaply
//! `used_memory` is jemalloc's own count of allocated bytes, but jemalloc
//! only refreshes its statistics when asked to advance its "epoch", which
//! merges every arena's counters: microseconds, far too slow for every
//! command. So [`Evictor`] keeps the last reading and refreshes it at most
//! once per [`REFRESH_MS`] (one clock read and two relaxed loads per
//! command otherwise). The price is that the server may run over the limit
//! by what clients can write in that millisecond — tens of kilobytes at
//! full pipelined speed — before eviction notices. During eviction itself
//! memory is measured fresh (every [`MEASURE_EVERY`] evicted keys, or as
//! soon as the evicted keys' estimated size covers the excess), so the
//! server does not evict far more than needed.
//!
//! ## Choosing victims
//! As in Redis: the random policies delete a random key (of any database,
//! round robin); the LRU, LFU and TTL policies sample `maxmemory-samples`
//! keys per database and keep the best candidates seen so far in a pool of
//! [`POOL_SIZE`] entries shared by all rounds, then evict the best one. A
//! candidate's score is its idle time (LRU), `255 -` its decayed LFU
//! counter (LFU), or how early it expires (TTL); higher goes first. Before
//! evicting a pooled key its score is recomputed, since it may have been
//! used since it was sampled.
//!
//! ## Time limit
//! One eviction round is bounded by `maxmemory-eviction-tenacity` like
//! Redis's (50 µs per unit up to 10, then growing 15% per unit, unlimited
//! at 100). A round that runs out of time without getting under the limit
//! is not a failure: the command runs and the next one continues evicting
//! (Redis continues in a timer; here every command and the cron's next
//! write do it).

use crate::config::POLICIES;
use crate::error::CmdError;
use crate::events::{self, Removal};
use crate::registry::Registered;
use crate::spec::flag;
use crate::state::{used_memory, ServerState};
use parking_lot::Mutex;
use quiver_engine::evict::{lfu_decayed, Candidate};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How stale the cached `used_memory` reading may be.
pub const REFRESH_MS: u64 = 1;
/// Evicted keys between two fresh memory readings at most.
const MEASURE_EVERY: usize = 16;
/// Best candidates remembered between rounds (Redis's `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;

/// What one call of [`perform`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is within the limit (or there is none).
    Ok,
    /// Still over, but eviction ran out of time for this round and will
    /// continue; commands are not refused meanwhile.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    /// From the index into [`POLICIES`] that the config mirrors.
    fn from_index(i: u8) -> Policy {
        match POLICIES.get(i as usize).copied() {
            Some("volatile-lru") => Policy::VolatileLru,
            Some("volatile-lfu") => Policy::VolatileLfu,
            Some("volatile-random") => Policy::VolatileRandom,
            Some("volatile-ttl") => Policy::VolatileTtl,
            Some("allkeys-lru") => Policy::AllkeysLru,
            Some("allkeys-lfu") => Policy::AllkeysLfu,
            Some("allkeys-random") => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllkeysRandom)
    }
}

/// One remembered candidate.
struct Pooled {
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// Scratch state of eviction, behind one lock: rounds never run
/// concurrently (two writers over the limit would otherwise both evict for
/// the same excess).
#[derive(Default)]
struct Rounds {
    /// Sorted by ascending score: the best candidate is last.
    pool: Vec<Pooled>,
    /// Where the random policies take their next key from.
    next_db: usize,
    /// Per database: until when (unix ms) it counts as having no
    /// candidates. Sampling an empty database still locks its 16 shards,
    /// so with one busy database out of 16 a round would mostly lock empty
    /// ones; empty databases are re-examined every [`BARREN_MS`] instead,
    /// and always before eviction gives up.
    barren_until: Vec<u64>,
}

/// How long a database found without candidates is skipped.
const BARREN_MS: u64 = 100;

/// Eviction state kept in [`ServerState`].
#[derive(Default)]
pub struct Evictor {
    rounds: Mutex<Rounds>,
    /// Last `used_memory` reading and when it was taken (unix ms).
    cached_used: AtomicU64,
    cached_at: AtomicU64,
    /// Since when (µs on the server's monotonic clock, +1 so that 0 means
    /// "not over") memory has been over the limit.
    exceeded_since: AtomicU64,
    /// Completed over-the-limit periods, µs (INFO `total_eviction_exceeded_time`).
    exceeded_total: AtomicU64,
}

impl Evictor {
    /// `used_memory`, fresh enough for the per-command check.
    fn used_cached(&self, now_ms: u64) -> u64 {
        let at = self.cached_at.load(Ordering::Relaxed);
        if now_ms.wrapping_sub(at) < REFRESH_MS {
            return self.cached_used.load(Ordering::Relaxed);
        }
        self.used_fresh(now_ms)
    }

    /// Measures `used_memory` now and caches it.
    fn used_fresh(&self, now_ms: u64) -> u64 {
        let used = used_memory() as u64;
        self.cached_used.store(used, Ordering::Relaxed);
        self.cached_at.store(now_ms, Ordering::Relaxed);
        used
    }

    /// (total, current) time spent over the limit, in ms, for INFO.
    pub fn exceeded_ms(&self, server: &ServerState) -> (u64, u64) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        let current = if since == 0 {
            0
        } else {
            monotonic_us(server).saturating_sub(since - 1)
        };
        let total = self.exceeded_total.load(Ordering::Relaxed) + current;
        (total / 1000, current / 1000)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&self) {
        self.exceeded_total.store(0, Ordering::Relaxed);
        self.exceeded_since.store(0, Ordering::Relaxed);
    }

    fn note(&self, server: &ServerState, outcome: Outcome) {
        let since = self.exceeded_since.load(Ordering::Relaxed);
        match outcome {
            Outcome::Ok if since != 0 => {
                let spent = monotonic_us(server).saturating_sub(since - 1);
                self.exceeded_total.fetch_add(spent, Ordering::Relaxed);
                self.exceeded_since.store(0, Ordering::Relaxed);
            }
            Outcome::Running | Outcome::Fail if since == 0 => {
                self.exceeded_since
                    .store(monotonic_us(server) + 1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

fn monotonic_us(server: &ServerState) -> u64 {
    server.started.elapsed().as_micros() as u64
}

/// Redis's `evictionTimeLimitUs`: how long one round may evict.
fn time_limit(tenacity: u64) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * tenacity)),
        11..=99 => Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        )),
        _ => None,
    }
}

/// The pre-command check dispatch runs while `maxmemory` is set: evicts as
/// needed and refuses the command with `-OOM` when memory stays over the
/// limit and the command may grow it. Commands refused are: `denyoom`
/// ones, anything but EXEC/DISCARD/QUIT/RESET inside MULTI (queuing uses
/// memory too), and an EXEC whose queue holds a `denyoom` command.
pub fn check(
    server: &ServerState,
    in_multi: bool,
    queued: &[quiver_resp::ArgsBuf],
    entry: &Registered,
) -> Result<(), CmdError> {
    if perform(server) != Outcome::Fail {
        return Ok(());
    }
    let top = entry
        .parent
        .map(|p| crate::registry::registry().entries[p].spec.name)
        .unwrap_or(entry.spec.name);
    let deny = entry.spec.has(flag::DENYOOM)
        || (in_multi && !matches!(top, "exec" | "discard" | "quit" | "reset"))
        || (top == "exec"
            && queued.iter().any(|q| {
                crate::dispatch::resolve(&q.owned_view()).is_ok_and(|e| e.spec.has(flag::DENYOOM))
            }));
    if deny {
        Err(CmdError::Oom)
    } else {
        Ok(())
    }
}

/// Gets memory under `maxmemory` if it is over, by the configured policy.
pub fn perform(server: &ServerState) -> Outcome {
    let hot = &server.config.hot;
    let max = hot.maxmemory.load(Ordering::Relaxed);
    if max == 0 {
        return Outcome::Ok;
    }
    let ev = &server.evict;
    let now_ms = quiver_engine::now_ms();
    if ev.used_cached(now_ms) <= max {
        ev.note(server, Outcome::Ok);
        return Outcome::Ok;
    }
    let policy = Policy::from_index(hot.maxmemory_policy.load(Ordering::Relaxed));
    if policy == Policy::NoEviction {
        ev.note(server, Outcome::Fail);
        return Outcome::Fail;
    }
    let mut removed: Vec<(usize, Box<[u8]>)> = Vec::new();
    let outcome = {
        let mut rounds = ev.rounds.lock();
        evict_round(server, policy, max, &mut rounds, &mut removed)
    };
    // Listeners run with no lock held: they may publish, or lock the
    // keyspace themselves (search indexes).
    for (db, key) in removed {
        events::key_removed(server, db, &key, Removal::Evicted);
    }
    ev.note(server, outcome);
    outcome
}

/// Bytes a key is estimated to free: its node, table slot and value.
fn estimate(key: &[u8], entry: &quiver_engine::Entry) -> u64 {
    (64 + key.len() + entry.value.heap_size()) as u64
}

fn evict_round(
    server: &ServerState,
    policy: Policy,
    max: u64,
    rounds: &mut Rounds,
    removed: &mut Vec<(usize, Box<[u8]>)>,
) -> Outcome {
    let ev = &server.evict;
    let hot = &server.config.hot;
    let ks = &server.keyspace;
    // Another writer may have evicted while this one waited for the lock
    // (a reading from this very millisecond is fresh enough).
    let mut used = ev.used_cached(quiver_engine::now_ms());
    if used <= max {
        return Outcome::Ok;
    }
    let samples = hot.maxmemory_samples.load(Ordering::Relaxed) as usize;
    let limit = time_limit(hot.maxmemory_eviction_tenacity.load(Ordering::Relaxed));
    let start = Instant::now();
    let mut to_free = used - max;
    let mut freed_est = 0u64;
    let mut since_measure = 0usize;
    rounds.barren_until.resize(ks.db_count(), 0);
    loop {
        let mut victim = pick(server, policy, samples, rounds, false);
        if victim.is_none() {
            // Before giving up, look at the databases skipped as empty.
            rounds.barren_until.iter_mut().for_each(|b| *b = 0);
            victim = pick(server, policy, samples, rounds, true);
        }
        let Some((db, key)) = victim else {
            return Outcome::Fail;
        };
        if let Some(entry) = ks.db(db).evict(&key, &ks.stats) {
            freed_est += estimate(&key, &entry);
            drop(entry);
            removed.push((db, key));
            since_measure += 1;
        }
        if freed_est >= to_free || since_measure >= MEASURE_EVERY {
            used = ev.used_fresh(quiver_engine::now_ms());
            if used <= max {
                return Outcome::Ok;
            }
            to_free = used - max;
            freed_est = 0;
            since_measure = 0;
            if limit.is_some_and(|l| start.elapsed() > l) {
                return Outcome::Running;
            }
        }
    }
}

/// The next key to evict under `policy`, or `None` when no database has
/// a candidate (`thorough`: after re-examining every database).
fn pick(
    server: &ServerState,
    policy: Policy,
    samples: usize,
    rounds: &mut Rounds,
    thorough: bool,
) -> Option<(usize, Box<[u8]>)> {
    let now_ms = quiver_engine::now_ms();
    let mut skip: Vec<bool> = rounds
        .barren_until
        .iter()
        .map(|&until| !thorough && until > now_ms)
        .collect();
    let found = if policy.random() {
        pick_random(server, policy, rounds, &mut skip)
    } else {
        pick_pooled(server, policy, samples, rounds, &mut skip)
    };
    // Databases newly found empty are skipped for a while.
    for (db, &empty) in skip.iter().enumerate() {
        if empty && rounds.barren_until[db] <= now_ms {
            rounds.barren_until[db] = now_ms + BARREN_MS;
        }
    }
    found
}

/// allkeys-random / volatile-random: a random key, databases in turn.
fn pick_random(
    server: &ServerState,
    policy: Policy,
    rounds: &mut Rounds,
    barren: &mut [bool],
) -> Option<(usize, Box<[u8]>)> {
    let ks = &server.keyspace;
    let n = ks.db_count();
    for _ in 0..n {
        let db = rounds.next_db % n;
        rounds.next_db = rounds.next_db.wrapping_add(1);
        if barren[db] {
            continue;
        }
        let mut found = None;
        ks.db(db).sample(1, policy.volatile_only(), |c| {
            found = Some(Box::<[u8]>::from(c.key));
        });
        match found {
            Some(k) => return Some((db, k)),
            None => barren[db] = true,
        }
    }
    None
}

/// A candidate's score under `policy`: higher is evicted first.
fn score(policy: Policy, access: u32, lfu: u8, expire: u64, now_s: u64, decay: u32) -> u64 {
    match policy {
        Policy::VolatileLfu | Policy::AllkeysLfu => {
            255 - u64::from(lfu_decayed(lfu, access, now_s, decay))
        }
        Policy::VolatileTtl => u64::MAX - expire,
        _ => now_s.saturating_sub(u64::from(access)),
    }
}

/// Adds a candidate to the pool if it beats the worst one kept.
fn pool_insert(pool: &mut Vec<Pooled>, score: u64, db: usize, key: &[u8]) {
    if pool.len() >= POOL_SIZE && pool.first().is_some_and(|w| score <= w.score) {
        return;
    }
    if pool.iter().any(|p| p.db == db && *p.key == *key) {
        return;
    }
    let at = pool.partition_point(|p| p.score <= score);
    pool.insert(
        at,
        Pooled {
            score,
            db,
            key: key.into(),
        },
    );
    if pool.len() > POOL_SIZE {
        pool.remove(0);
    }
}

/// LRU / LFU / TTL: refill the pool from every database, then take its
/// best candidate that still exists and still scores as sampled.
fn pick_pooled(
    server: &ServerState,
    policy: Policy,
    samples: usize,
    rounds: &mut Rounds,
    barren: &mut [bool],
) -> Option<(usize, Box<[u8]>)> {
    let ks = &server.keyspace;
    let decay = ks.stats.lfu.decay_time.load(Ordering::Relaxed);
    let volatile = policy.volatile_only();
    // Each pass samples every database once; passes repeat only while the
    // pool's candidates all turn out stale.
    for _pass in 0..8 {
        let now_s = quiver_engine::now_ms() / 1000;
        let mut any = false;
        for (db, barren) in barren.iter_mut().enumerate() {
            if *barren {
                continue;
            }
            let pool = &mut rounds.pool;
            let n = ks.db(db).sample(samples, volatile, |c: Candidate<'_>| {
                let s = score(policy, c.access, c.lfu, c.expire, now_s, decay);
                pool_insert(pool, s, db, c.key);
            });
            if n == 0 {
                *barren = true;
            } else {
                any = true;
            }
        }
        if !any && rounds.pool.is_empty() {
            return None;
        }
        while let Some(best) = rounds.pool.pop() {
            match ks.db(best.db).access_info(&best.key) {
                None => continue,
                Some((_, _, 0)) if volatile => continue,
                Some((access, lfu, expire)) => {
                    let now_s = quiver_engine::now_ms() / 1000;
                    let fresh = score(policy, access, lfu, expire, now_s, decay);
                    let next = rounds.pool.last().map_or(0, |p| p.score);
                    if fresh < best.score && fresh < next {
                        // Used since it was sampled: it no longer leads.
                        pool_insert(&mut rounds.pool, fresh, best.db, &best.key);
                        continue;
                    }
                    return Some((best.db, best.key));
                }
            }
        }
        if !any {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best_candidates_sorted() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            pool_insert(&mut pool, (i * 7) % 40, 0, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|p| p.score).collect();
        assert_eq!(scores, (24..40).collect::<Vec<_>>());
        // A duplicate key is not pooled twice; a worse one is not pooled.
        let dup = pool[15].key.clone();
        pool_insert(&mut pool, 39, 0, &dup);
        pool_insert(&mut pool, 1, 0, b"bad");
        assert_eq!(pool.len(), POOL_SIZE);
        assert!(pool.iter().all(|p| &*p.key != b"bad"));
    }

    #[test]
    fn scores_order_victims_like_redis() {
        // LRU: idler first.
        assert!(
            score(Policy::AllkeysLru, 100, 0, 0, 1000, 1)
                > score(Policy::AllkeysLru, 900, 0, 0, 1000, 1)
        );
        // LFU: lower (decayed) counter first.
        assert!(
            score(Policy::AllkeysLfu, 1000, 3, 0, 1000, 1)
                > score(Policy::AllkeysLfu, 1000, 30, 0, 1000, 1)
        );
        // TTL: sooner expiry first.
        assert!(
            score(Policy::VolatileTtl, 0, 0, 5_000, 1, 1)
                > score(Policy::VolatileTtl, 0, 0, 9_000, 1, 1)
        );
    }

    #[test]
    fn tenacity_time_limits() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert!(time_limit(20).is_some_and(|d| d > Duration::from_micros(2000)));
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn policies_map_from_config_indexes() {
        for (i, name) in POLICIES.iter().enumerate() {
            let p = Policy::from_index(i as u8);
            assert_eq!(p.volatile_only(), name.starts_with("volatile"));
            assert_eq!(p == Policy::NoEviction, *name == "noeviction");
        }
    }
}
