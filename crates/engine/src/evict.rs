//! The engine's half of eviction under `maxmemory`: the LFU counter's
//! arithmetic, random sampling of eviction candidates, and deleting a
//! chosen key. *Which* key to evict and *when* is the command layer's
//! business (`quiver_commands::evict`); the engine only offers candidates
//! cheaply and removes them without calling them "expired".
//!
//! ## LFU
//! Each key has an 8-bit logarithmic access counter (in its node header,
//! see [`crate::node`]), handled as Redis documents it:
//! - a new key starts at [`LFU_INIT`] (5);
//! - on access the counter first *decays* by one for every `lfu-decay-time`
//!   minutes since the key was last accessed, then is incremented with
//!   probability `1 / ((counter - 5) * lfu-log-factor + 1)` (always when at
//!   or below 5), saturating at 255.
//!
//! Redis stores a 16-bit "last decrement time" in minutes next to the
//! counter, but it sets that time to "now" on every access, so it is the
//! last access time at minute resolution. Quiver derives it from the access
//! time in seconds the node already keeps, which is the same thing without
//! the 45-day wrap-around.

use crate::node::Node;
pub use crate::node::LFU_INIT;
use rand::Rng;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The LFU settings the engine applies on every key access. The command
/// layer mirrors `maxmemory-policy`, `lfu-log-factor` and `lfu-decay-time`
/// here; with an LRU or no policy, `enabled` is false and an access only
/// stores its time (one relaxed load more than before).
#[derive(Debug)]
pub struct LfuConfig {
    pub enabled: AtomicBool,
    pub log_factor: AtomicU32,
    pub decay_time: AtomicU32,
}

impl Default for LfuConfig {
    fn default() -> Self {
        LfuConfig {
            enabled: AtomicBool::new(false),
            log_factor: AtomicU32::new(10),
            decay_time: AtomicU32::new(1),
        }
    }
}

impl LfuConfig {
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

/// The counter of a key last accessed at `access` (unix seconds), decayed
/// to `now_s`: one step per `decay_time` whole minutes elapsed. Minutes are
/// counted on the clock (`now/60 - access/60`), as Redis's minute clock does.
#[inline]
pub fn lfu_decayed(counter: u8, access: u32, now_s: u64, decay_time: u32) -> u8 {
    if decay_time == 0 {
        return counter;
    }
    let elapsed = (now_s / 60).saturating_sub(u64::from(access) / 60);
    let periods = elapsed / u64::from(decay_time);
    counter.saturating_sub(periods.min(255) as u8)
}

/// Logarithmic increment: the higher the counter, the less likely a hit
/// raises it, so 255 stands for about a million hits at factor 10.
#[inline]
pub fn lfu_incr(counter: u8, log_factor: u32, rng: &mut impl Rng) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if rng.gen::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

/// Records an access to `node` at `now_s` under the LFU policy: decay since
/// the previous access, then a logarithmic increment.
#[inline]
pub(crate) fn lfu_touch(node: &mut Node, now_s: u64, cfg: &LfuConfig) {
    let decay = cfg.decay_time.load(Ordering::Relaxed);
    let factor = cfg.log_factor.load(Ordering::Relaxed);
    let c = lfu_decayed(node.lfu(), node.access(), now_s, decay);
    let c = lfu_incr(c, factor, &mut rand::thread_rng());
    node.set_lfu(c);
}

/// What eviction needs to know about one sampled key.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub key: &'a [u8],
    /// Last access, unix seconds.
    pub access: u32,
    /// The stored LFU counter (not yet decayed).
    pub lfu: u8,
    /// Absolute expiry in unix ms, 0 for none.
    pub expire: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn decay_counts_whole_minutes_per_period() {
        // Accessed at 10:00:59, now 10:01:00: one minute boundary crossed.
        assert_eq!(lfu_decayed(10, 59, 60, 1), 9);
        assert_eq!(lfu_decayed(10, 0, 59, 1), 10);
        assert_eq!(lfu_decayed(10, 0, 600, 1), 0);
        assert_eq!(lfu_decayed(10, 0, 600, 2), 5);
        assert_eq!(lfu_decayed(10, 0, 10_000, 0), 10, "0 disables decay");
        assert_eq!(lfu_decayed(3, 0, 1 << 40, 1), 0);
        // A clock that went backwards decays nothing.
        assert_eq!(lfu_decayed(7, 1000, 10, 1), 7);
    }

    #[test]
    fn increment_is_certain_up_to_the_initial_value_and_then_logarithmic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut c = 0u8;
        for _ in 0..5 {
            c = lfu_incr(c, 10, &mut rng);
        }
        assert_eq!(c, 5);
        assert_eq!(lfu_incr(255, 10, &mut rng), 255);
        // 1000 hits at factor 10 land around 17-18 (Redis's documented table
        // gives 18 for 1K hits at factor 10); 100 hits around 10.
        let mut c = LFU_INIT;
        for _ in 0..1000 {
            c = lfu_incr(c, 10, &mut rng);
        }
        assert!((14..=22).contains(&c), "{c}");
        // Factor 0 counts every hit.
        let mut c = LFU_INIT;
        for _ in 0..100 {
            c = lfu_incr(c, 0, &mut rng);
        }
        assert_eq!(c, 105);
    }
}
