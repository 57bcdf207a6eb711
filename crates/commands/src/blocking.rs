//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, …): how a client waits for a
//! key and how writers wake it.
//!
//! A blocking handler first tries to serve the request like its
//! non-blocking form. If there is nothing to serve it writes no reply and
//! leaves a [`BlockRequest`] in the session; the connection then parks on
//! the keys' waiter queues and re-runs the same command when woken. Writers
//! that can satisfy a waiter (pushes, ZADD, RENAME onto a key, …) call
//! [`Blocking::signal`]; with no waiters that is a single atomic load.
//!
//! Waiters queue per key in arrival order and only the first is woken per
//! signal; a client that is served wakes the next one if data remains, so
//! clients blocked on the same key are served first-come first-served.

use crate::context::Ctx;
use crate::error::CmdError;
use crate::ldouble::Ld;
use hashbrown::HashMap;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Left in the session by a handler that found nothing to serve.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Vec<u8>>,
    /// Absolute unix ms; `None` blocks forever (timeout 0).
    pub deadline_ms: Option<u64>,
}

/// Timeouts longer than this (a century) block forever.
const FOREVER_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// Parses a blocking command's timeout (seconds, fractional allowed) the
/// way Redis 7.0 does, into an absolute deadline in unix ms (`None` = block
/// forever).
///
/// Redis reads the argument as a `long double` (so hex floats, `+1` and
/// `inf` parse), multiplies by 1000, rounds up to whole milliseconds and
/// converts to a 64-bit integer. Values that do not fit convert to the
/// most negative integer on x86, which is why `inf` or `1e100` are reported
/// as "timeout is negative"; and a tiny negative value rounds up to 0, which
/// means "forever". The arithmetic here reproduces that exactly (the
/// product is rounded to the 64-bit mantissa of an x87 long double).
pub fn parse_timeout(arg: &[u8], now_ms: u64) -> Result<Option<u64>, CmdError> {
    let not_float = || CmdError::err("timeout is not a float or out of range");
    let negative = || CmdError::err("timeout is negative");
    let ld = Ld::parse(arg).ok_or_else(not_float)?;
    let ms: i64 = match ld {
        Ld::Inf { .. } => return Err(negative()),
        Ld::Finite { neg, mant, exp } => {
            // value = ±mant × 2^exp; multiply by 1000, round to 64 bits.
            let mut p = mant as u128 * 1000;
            let mut e = exp;
            let bits = 128 - p.leading_zeros() as i64;
            if bits > 64 {
                let shift = (bits - 64) as u32;
                let rem = p & ((1u128 << shift) - 1);
                let half = 1u128 << (shift - 1);
                p >>= shift;
                if rem > half || (rem == half && p & 1 == 1) {
                    p += 1;
                }
                e += shift as i64;
            }
            // ceil(±p × 2^e) as an i64, or "doesn't fit".
            let magnitude: Option<u128> = if p == 0 {
                Some(0)
            } else if e >= 0 {
                if e >= 64 {
                    None
                } else {
                    p.checked_shl(e as u32).filter(|v| v >> e == p)
                }
            } else {
                let sh = (-e) as u32;
                let (int, frac) = if sh >= 128 {
                    (0, p != 0)
                } else {
                    (p >> sh, p & ((1u128 << sh) - 1) != 0)
                };
                // Rounding up: away from zero when positive, toward zero when negative.
                Some(if !neg && frac { int + 1 } else { int })
            };
            match magnitude {
                Some(m) if m <= i64::MAX as u128 => {
                    if neg {
                        -(m as i64)
                    } else {
                        m as i64
                    }
                }
                _ => return Err(negative()),
            }
        }
    };
    if ms < 0 {
        return Err(negative());
    }
    // Beyond a century the deadline can never be reached; treating it as
    // "forever" also keeps timer arithmetic far from overflow.
    if ms == 0 || ms > FOREVER_MS {
        return Ok(None);
    }
    Ok(Some(now_ms.saturating_add(ms as u64)))
}

/// Leaves the request to park this client on `keys` (the connection does
/// the waiting). A timed-out blocking command replies with a null array:
/// Redis 7.0 does so for every blocking pop and move, BLMOVE included.
pub fn block_on(ctx: &mut Ctx<'_>, keys: Vec<Vec<u8>>, deadline_ms: Option<u64>) {
    ctx.session.block = Some(BlockRequest { keys, deadline_ms });
}

type WaitKey = (usize, Vec<u8>);
/// Clients waiting on one key, oldest first, with the handle that wakes each.
type WaitQueue = VecDeque<(u64, Arc<Notify>)>;

/// Waiter queues for every key some client is blocked on.
#[derive(Default)]
pub struct Blocking {
    queues: Mutex<HashMap<WaitKey, WaitQueue>>,
    /// Number of blocked clients (INFO `blocked_clients`).
    pub blocked_clients: AtomicUsize,
    waiters: AtomicUsize,
}

impl Blocking {
    /// Queues client `id` on `keys` of database `db`.
    pub fn register(&self, db: usize, keys: &[Vec<u8>], id: u64, notify: &Arc<Notify>) {
        let mut q = self.queues.lock();
        for k in keys {
            let queue = q.entry((db, k.clone())).or_default();
            if !queue.iter().any(|(i, _)| *i == id) {
                queue.push_back((id, notify.clone()));
                self.waiters.fetch_add(1, Ordering::Release);
            }
        }
        self.blocked_clients.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes client `id` from the queues of `keys`.
    pub fn unregister(&self, db: usize, keys: &[Vec<u8>], id: u64) {
        let mut q = self.queues.lock();
        for k in keys {
            let wk = (db, k.clone());
            if let Some(queue) = q.get_mut(&wk) {
                let before = queue.len();
                queue.retain(|(i, _)| *i != id);
                let removed = before - queue.len();
                self.waiters.fetch_sub(removed, Ordering::Release);
                if queue.is_empty() {
                    q.remove(&wk);
                }
            }
        }
        self.blocked_clients.fetch_sub(1, Ordering::Relaxed);
    }

    /// Wakes the first client waiting on `key` in `db`, if any.
    #[inline]
    pub fn signal(&self, db: usize, key: &[u8]) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        let q = self.queues.lock();
        if let Some(queue) = q.get(&(db, key.to_vec())) {
            if let Some((_, n)) = queue.front() {
                n.notify_one();
            }
        }
    }

    /// Wakes every client waiting on any key of `db` (SWAPDB, FLUSHDB).
    pub fn signal_db(&self, db: usize) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        let q = self.queues.lock();
        for ((d, _), queue) in q.iter() {
            if *d == db {
                for (_, n) in queue {
                    n.notify_one();
                }
            }
        }
    }

    /// Whether anyone waits on anything (cheap pre-check for writers).
    #[inline]
    pub fn has_waiters(&self) -> bool {
        self.waiters.load(Ordering::Acquire) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn first_waiter_is_woken_first() {
        let b = Blocking::default();
        let n1 = Arc::new(Notify::new());
        let n2 = Arc::new(Notify::new());
        b.register(0, &[b"q".to_vec()], 1, &n1);
        b.register(0, &[b"q".to_vec()], 2, &n2);
        assert!(b.has_waiters());
        b.signal(0, b"q");
        // n1 holds a permit, n2 does not.
        tokio::time::timeout(std::time::Duration::from_millis(50), n1.notified())
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), n2.notified())
                .await
                .is_err()
        );
        b.unregister(0, &[b"q".to_vec()], 1);
        b.signal(0, b"q");
        tokio::time::timeout(std::time::Duration::from_millis(50), n2.notified())
            .await
            .unwrap();
        b.unregister(0, &[b"q".to_vec()], 2);
        assert!(!b.has_waiters());
        assert_eq!(b.blocked_clients.load(Ordering::Relaxed), 0);
    }
}
