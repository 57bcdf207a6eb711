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

use hashbrown::HashMap;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// What a timed-out blocking command replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` in RESP2 (BLPOP, BRPOP, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP).
    NullArray,
    /// `$-1` in RESP2 (BLMOVE, BRPOPLPUSH).
    NullBulk,
}

/// Left in the session by a handler that found nothing to serve.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Vec<u8>>,
    /// Absolute unix ms; `None` blocks forever (timeout 0).
    pub deadline_ms: Option<u64>,
    pub on_timeout: TimeoutReply,
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
