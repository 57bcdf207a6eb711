//! WATCH: optimistic locking for MULTI/EXEC.
//!
//! A client's WATCH registers its keys here with a shared "dirty" flag.
//! Dispatch calls [`Watches::touch`] for the keys of every successful write
//! command (found through the same key specs as COMMAND GETKEYS), and
//! FLUSHDB/FLUSHALL/SWAPDB touch whole databases; EXEC then refuses to run
//! if the flag is set. With nobody watching, a write pays one atomic load.
//!
//! The touch is conservative: a write command that happened not to change
//! its key (SET … NX on an existing key) still aborts watchers. Redis only
//! aborts on real changes; a spurious abort is safe (the client retries), a
//! missed one would not be.

use hashbrown::HashMap;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

type Watchers = Vec<(u64, Arc<AtomicBool>)>;

#[derive(Default)]
pub struct Watches {
    map: Mutex<HashMap<(usize, Vec<u8>), Watchers>>,
    count: AtomicUsize,
}

impl Watches {
    /// Whether any client watches anything.
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Acquire) != 0
    }

    /// Client `id` watches `key` in `db`; `dirty` is set when it is touched.
    pub fn watch(&self, db: usize, key: &[u8], id: u64, dirty: &Arc<AtomicBool>) {
        let mut m = self.map.lock();
        let list = m.entry((db, key.to_vec())).or_default();
        if !list.iter().any(|(i, _)| *i == id) {
            list.push((id, dirty.clone()));
            self.count.fetch_add(1, Ordering::Release);
        }
    }

    /// Forgets every watch of client `id` on `keys`.
    pub fn unwatch(&self, id: u64, keys: &[(usize, Vec<u8>)]) {
        if keys.is_empty() {
            return;
        }
        let mut m = self.map.lock();
        for (db, key) in keys {
            let k = (*db, key.clone());
            if let Some(list) = m.get_mut(&k) {
                let before = list.len();
                list.retain(|(i, _)| *i != id);
                self.count.fetch_sub(before - list.len(), Ordering::Release);
                if list.is_empty() {
                    m.remove(&k);
                }
            }
        }
    }

    /// Marks the watchers of `key` in `db` dirty.
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8]) {
        if !self.active() {
            return;
        }
        let m = self.map.lock();
        if let Some(list) = m.get(&(db, key.to_vec())) {
            for (_, dirty) in list {
                dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Marks every watcher of `db` (or of all databases, with `None`) dirty.
    pub fn touch_db(&self, db: Option<usize>) {
        if !self.active() {
            return;
        }
        let m = self.map.lock();
        for ((d, _), list) in m.iter() {
            if db.is_none_or(|x| x == *d) {
                for (_, dirty) in list {
                    dirty.store(true, Ordering::Release);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_marks_only_watchers_of_that_key() {
        let w = Watches::default();
        let a = Arc::new(AtomicBool::new(false));
        let b = Arc::new(AtomicBool::new(false));
        w.watch(0, b"k", 1, &a);
        w.watch(1, b"k", 2, &b);
        w.touch(0, b"k");
        assert!(a.load(Ordering::Acquire));
        assert!(!b.load(Ordering::Acquire));
        w.unwatch(1, &[(0, b"k".to_vec())]);
        w.unwatch(2, &[(1, b"k".to_vec())]);
        assert!(!w.active());
        w.touch_db(None);
        assert!(!b.load(Ordering::Acquire));
    }
}
