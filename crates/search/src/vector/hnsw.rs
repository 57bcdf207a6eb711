//! HNSW: approximate nearest neighbours over a layered proximity graph,
//! built off the writer's thread.
//!
//! # Layout
//! - **Fresh buffer** (`Fresh`): the latest pending operation per document
//!   (a new vector, or a removal) plus a FIFO of them. `insert`/`remove`
//!   only touch this, so a write never waits for graph construction, and
//!   every query scans it exactly, so a vector is visible to the very next
//!   query. Pending vectors sit in one contiguous array, since during a
//!   bulk load that scan is most of a query's cost. It also records which
//!   ids are logically present (`len`).
//! - **Graph** (`Graph`): vectors in one contiguous `Vec<T>` by slot, layer-0
//!   links in one flat array (`m0 + 1` words per slot: count, then
//!   neighbours), upper-layer links per slot. One `RwLock`: queries share it.
//! - **Worker**: one thread per index drains the fresh buffer into the graph.
//!   An insert is *planned* under the graph's read lock (the beam searches
//!   and neighbour selection: nearly all of its cost) and *applied* under a
//!   write lock held only for copying the vector and writing link lists, so
//!   queries keep running during a bulk load instead of queueing behind each
//!   insert. The plan stays valid because the worker is the graph's only
//!   mutator. It exits when the index is dropped.
//!
//! # Consistency
//! The worker moves an operation in three steps: copy it out of the fresh
//! buffer, apply it to the graph, then drop it from the buffer if no newer
//! operation for that id arrived meanwhile. Queries read the buffer first
//! (exact distances for pending vectors), then take the graph's read lock
//! before releasing the buffer's, and ignore graph entries for two kinds of
//! ids: those whose pending operation shadows an older graph vector
//! (replacements and removals), and the worker's in-flight batch, which may
//! already be in the graph while still pending. The worker only retires a
//! batch under the buffer's write lock, so no other pending id can be in
//! the graph yet. Whatever the interleaving, a query sees each id at most
//! once, with its newest vector or not at all when a removal is pending,
//! and a bulk load of new ids costs queries no per-id exclusion list.
//! Locks are only ever taken in the order fresh → graph and the worker
//! never holds both.
//!
//! # Deletes
//! A removed (or replaced) vector's slot becomes a tombstone: still
//! traversable, never returned. When tombstones reach a tenth of the live
//! count (at least 64), the worker sweeps the graph in chunks, relinking
//! every node that pointed at one (candidates: its live neighbours plus the
//! dead neighbours' live neighbours, re-selected with the same heuristic),
//! then frees the slots for reuse and moves the entry point if needed. So
//! slot count stays within ~10% of the live count however often ids churn.
//!
//! # Queries
//! KNN descends greedily through the upper layers, then runs the layer-0
//! beam search with `ef = max(EF_RUNTIME, k)`. A filter (sorted doc ids) is
//! applied by admission: non-members are traversed but never enter the
//! result set, and the search keeps expanding until `ef` members are found
//! or the reachable graph is exhausted. A small filter (≤ 4096 ids or ≤ 10%
//! of the graph) is answered exactly instead, and if the graph ever yields
//! fewer results than it holds usable vectors (e.g. a node cut off by
//! deletes), the query falls back to an exact scan: KNN always returns
//! `min(k, matching vectors)`. Range queries are exact up to 4096 graph
//! vectors; beyond that they seed from a beam search and flood-fill layer 0
//! through every node within `radius · (1 + EPSILON)`, RediSearch's rule.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hashbrown::{HashMap, HashSet};
use parking_lot::{Condvar, Mutex, RwLock, RwLockReadGuard};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::distance::{decode_prepared, Distance, Scalar};
use super::topk::{passes, to_results, Scored, TopK};
use super::{fmt_radius, QueryOpts, VectorError, VectorIndex, VectorParams};
use crate::DocId;

/// When a query is answered by an exact scan instead of the graph.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Graphs this small (live vectors) are searched exactly: it costs
    /// about what a beam search does and gives exact answers.
    pub exact_knn_max: usize,
    /// Range queries scan exactly up to this many graph vectors.
    pub exact_range_max: usize,
    /// Filters up to this many ids are answered exactly…
    pub filter_exact_max: usize,
    /// …and so are filters of at most 1/`filter_exact_ratio` of the graph.
    pub filter_exact_ratio: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            exact_knn_max: 1024,
            exact_range_max: 4096,
            filter_exact_max: 4096,
            filter_exact_ratio: 10,
        }
    }
}
/// Operations the worker copies out of the fresh buffer at once.
const WORKER_BATCH: usize = 64;
/// Slots repaired per write-lock acquisition during a sweep.
const SWEEP_CHUNK: usize = 2048;
/// Highest layer a node can get (levels are ~log_M(n), so this is plenty).
const MAX_LEVEL: usize = 15;
/// Tombstones tolerated before a sweep: max(this, live / 10).
const SWEEP_MIN: usize = 64;
/// Stands for the node being inserted inside a [`Plan`] (its slot is only
/// known when the plan is applied). Never a real slot: slots are < 2^32 - 1
/// because a graph that large would not fit in memory with its vectors.
const NEW_SLOT: u32 = u32::MAX;

/// Larger copies of the graph's two big arrays, see
/// [`Graph::prepare_growth`].
struct Grown<T> {
    data: Vec<T>,
    links0: Vec<u32>,
}

/// An insert's effect on the graph, computed under the read lock.
#[derive(Default)]
struct Plan {
    /// By layer, 0 up to min(level, max_level).
    layers: Vec<LayerPlan>,
}

struct LayerPlan {
    /// The new node's neighbours.
    own: Vec<u32>,
    /// For each of them: `None` = append the new node (room left), or the
    /// whole re-selected list (may contain [`NEW_SLOT`]).
    updates: Vec<(u32, Option<Vec<u32>>)>,
}

/// Hints the CPU to start loading the first `bytes` (at most 4 cache
/// lines; the hardware prefetcher follows the rest) at `p` into L1.
#[inline(always)]
fn prefetch<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = p as *const i8;
        let mut off = 0;
        while off < bytes.min(256) {
            // SAFETY: a prefetch is only a hint: it never faults and has no
            // architectural effect, whatever the address.
            unsafe { _mm_prefetch(p.wrapping_add(off), _MM_HINT_T0) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

pub struct HnswIndex<T: Scalar> {
    shared: Arc<Shared<T>>,
    worker: Option<JoinHandle<()>>,
}

struct Shared<T: Scalar> {
    params: VectorParams,
    tuning: Tuning,
    dist: Distance<T>,
    fresh: RwLock<Fresh<T>>,
    graph: RwLock<Graph<T>>,
    /// Serialises whoever applies operations to the graph (the worker, or
    /// writers themselves if the worker thread could not be started), and
    /// holds the level generator they draw from. Being the only mutator
    /// is what lets an insert be planned under the graph's *read* lock and
    /// applied under a short write lock: nothing else can change the graph
    /// in between.
    apply: Mutex<SmallRng>,
    signal: Mutex<Signal>,
    wake: Condvar,
    idle: Condvar,
    /// Reusable query scratch (visited marks, heaps), so a query does not
    /// allocate them.
    visited: Mutex<Vec<Scratch>>,
}

#[derive(Default)]
struct Signal {
    pending: bool,
    busy: bool,
    stop: bool,
}

struct Pending {
    seq: u64,
    /// Where the vector sits in [`Fresh::vecs`]; `None` = remove.
    slot: Option<u32>,
    /// The graph may hold an older vector for this id (a replacement, a
    /// removal, or an id whose earlier operation was pending when this one
    /// arrived), so queries must ignore the graph's copy. A first insert of
    /// a new id shadows nothing, which is what keeps the per-query list of
    /// ignored ids short during a bulk load.
    shadows: bool,
}

/// An operation copied out of the fresh buffer: (id, seq, vector or
/// removal).
type Op<T> = (DocId, u64, Option<Vec<T>>);

struct Fresh<T> {
    dim: usize,
    ops: HashMap<DocId, Pending>,
    queue: VecDeque<(DocId, u64)>,
    seq: u64,
    /// Ids that logically have a vector (graph or pending), for `len`.
    present: HashSet<DocId>,
    /// Pending vectors, contiguous by slot: every query scores all of them,
    /// and a linear pass over one array is several times cheaper than
    /// chasing one allocation per vector through the map.
    vecs: Vec<T>,
    /// Owner of each slot of `vecs` (`None` = free).
    slot_ids: Vec<Option<DocId>>,
    free: Vec<u32>,
    /// Pending operations with `shadows` set.
    shadowing: usize,
    /// Ids of the batch the worker is applying: the graph may already hold
    /// them while they are still pending here.
    in_flight: Vec<DocId>,
}

impl<T: Scalar> Fresh<T> {
    fn new(dim: usize) -> Self {
        Fresh {
            dim,
            ops: HashMap::new(),
            queue: VecDeque::new(),
            seq: 0,
            present: HashSet::new(),
            vecs: Vec::new(),
            slot_ids: Vec::new(),
            free: Vec::new(),
            shadowing: 0,
            in_flight: Vec::new(),
        }
    }

    fn vector(&self, slot: u32) -> &[T] {
        let at = slot as usize * self.dim;
        &self.vecs[at..at + self.dim]
    }

    /// Stores `v` for `id`, reusing `slot` (the id's previous pending
    /// vector) or a free one.
    fn put_vector(&mut self, id: DocId, v: &[T], slot: Option<u32>) -> u32 {
        let s = match slot.or_else(|| self.free.pop()) {
            Some(s) => s,
            None => {
                self.vecs.extend_from_slice(v);
                self.slot_ids.push(Some(id));
                return (self.slot_ids.len() - 1) as u32;
            }
        };
        let at = s as usize * self.dim;
        self.vecs[at..at + self.dim].copy_from_slice(v);
        self.slot_ids[s as usize] = Some(id);
        s
    }

    /// Records `op` as `id`'s newest operation, releasing what the one it
    /// replaces held.
    fn set_op(&mut self, id: DocId, op: Pending) {
        if op.shadows {
            self.shadowing += 1;
        }
        let seq = op.seq;
        let slot = op.slot;
        if let Some(old) = self.ops.insert(id, op) {
            self.release(&old, slot);
        }
        self.queue.push_back((id, seq));
    }

    /// Forgets `old`'s bookkeeping; its vector slot is freed unless the
    /// new operation reuses it (`kept`).
    fn release(&mut self, old: &Pending, kept: Option<u32>) {
        if old.shadows {
            self.shadowing -= 1;
        }
        if let Some(s) = old.slot.filter(|&s| Some(s) != kept) {
            self.slot_ids[s as usize] = None;
            self.free.push(s);
        }
    }

    /// Drops `id`'s operation if it is still the one numbered `seq`.
    fn complete(&mut self, id: DocId, seq: u64) {
        if self.ops.get(&id).is_some_and(|op| op.seq == seq) {
            if let Some(op) = self.ops.remove(&id) {
                self.release(&op, None);
            }
        }
    }

    /// Once nothing is pending: empties the slot array (so queries stop
    /// walking free slots) and returns the memory of a large backlog.
    fn reset_if_empty(&mut self) {
        if !self.ops.is_empty() {
            return;
        }
        self.vecs.clear();
        self.slot_ids.clear();
        self.free.clear();
        if self.ops.capacity() > 1024 {
            self.ops.shrink_to(0);
            self.queue.shrink_to(0);
            self.vecs.shrink_to(0);
            self.slot_ids.shrink_to(0);
            self.free.shrink_to(0);
        }
    }

    fn memory_bytes(&self) -> usize {
        self.vecs.capacity() * std::mem::size_of::<T>()
            + self.slot_ids.capacity() * std::mem::size_of::<Option<DocId>>()
            + (self.free.capacity() + self.in_flight.capacity()) * 4
            + self.ops.capacity() * (4 + std::mem::size_of::<Pending>() + 1)
            + self.queue.capacity() * 16
            + self.present.capacity() * 5
    }
}

/// Everything a beam search needs besides the graph, kept between
/// searches (per worker, and pooled for queries) so the hot loop never
/// allocates.
#[derive(Default)]
struct Scratch {
    vis: Visited,
    /// Candidates to expand, nearest first.
    cand: BinaryHeap<Reverse<Scored>>,
    /// The best `ef` so far, farthest on top.
    res: BinaryHeap<Scored>,
    /// Unvisited neighbours of the node being expanded: collected first so
    /// their vectors can be prefetched before any distance is computed.
    nbuf: Vec<u32>,
}

/// Epoch-stamped visited marks: reset is O(1) instead of clearing, except
/// once every 255 resets when the one-byte epoch wraps. One byte per slot
/// (not four) because the array is touched at random once per distance: at
/// 100k vectors it is 100 KB instead of 400 KB, so more of it stays cached
/// between queries.
#[derive(Default)]
struct Visited {
    marks: Vec<u8>,
    epoch: u8,
}

impl Visited {
    fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `i`; true if it was not marked yet.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        if *m == self.epoch {
            false
        } else {
            *m = self.epoch;
            true
        }
    }
}

#[cfg(test)]
mod visited_tests {
    use super::Visited;

    #[test]
    fn marks_survive_within_an_epoch_and_clear_across_wraps() {
        let mut v = Visited::default();
        for round in 0..600u32 {
            v.reset(10);
            let i = round % 10;
            assert!(
                v.insert(i),
                "round {round}: fresh epoch must not see old marks"
            );
            assert!(!v.insert(i), "round {round}: second insert is a repeat");
            assert!(v.insert((i + 1) % 10));
        }
    }

    #[test]
    fn grows_to_the_slot_count() {
        let mut v = Visited::default();
        v.reset(3);
        v.reset(1000);
        assert!(v.insert(999));
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotState {
    Free,
    Live,
    Deleted,
}

struct Graph<T: Scalar> {
    dist: Distance<T>,
    dim: usize,
    m: usize,
    m0: usize,
    ef_construction: usize,
    ml: f64,
    data: Vec<T>,
    ids: Vec<DocId>,
    state: Vec<SlotState>,
    level: Vec<u8>,
    links0: Vec<u32>,
    /// Layers 1..=level, `m + 1` words each (count, then neighbours).
    upper: Vec<Box<[u32]>>,
    slot_of: HashMap<DocId, u32>,
    free: Vec<u32>,
    deleted: Vec<u32>,
    entry: Option<u32>,
    max_level: usize,
    live: usize,
}

impl<T: Scalar> Graph<T> {
    fn new(p: &VectorParams, dist: Distance<T>) -> Self {
        let m = p.m.max(2);
        Graph {
            dist,
            dim: p.dim,
            m,
            m0: 2 * m,
            ef_construction: p.ef_construction.max(m),
            ml: 1.0 / (m as f64).ln(),
            data: Vec::new(),
            ids: Vec::new(),
            state: Vec::new(),
            level: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            slot_of: HashMap::new(),
            free: Vec::new(),
            deleted: Vec::new(),
            entry: None,
            max_level: 0,
            live: 0,
        }
    }

    fn slots(&self) -> usize {
        self.ids.len()
    }

    #[inline]
    fn vector(&self, s: u32) -> &[T] {
        let at = s as usize * self.dim;
        &self.data[at..at + self.dim]
    }

    #[inline]
    fn is_live(&self, s: u32) -> bool {
        self.state[s as usize] == SlotState::Live
    }

    fn max_links(&self, l: usize) -> usize {
        if l == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// (words, offset of the count word) of `s`'s list at layer `l`.
    #[inline]
    fn links(&self, s: u32, l: usize) -> &[u32] {
        let (words, base): (&[u32], usize) = if l == 0 {
            (&self.links0, s as usize * (self.m0 + 1))
        } else {
            (&self.upper[s as usize], (l - 1) * (self.m + 1))
        };
        let n = words[base] as usize;
        &words[base + 1..base + 1 + n]
    }

    fn list_mut(&mut self, s: u32, l: usize) -> &mut [u32] {
        if l == 0 {
            let base = s as usize * (self.m0 + 1);
            &mut self.links0[base..base + self.m0 + 1]
        } else {
            let base = (l - 1) * (self.m + 1);
            let m = self.m;
            &mut self.upper[s as usize][base..base + m + 1]
        }
    }

    fn set_links(&mut self, s: u32, l: usize, nb: &[u32]) {
        let list = self.list_mut(s, l);
        let n = nb.len().min(list.len() - 1);
        list[0] = n as u32;
        list[1..1 + n].copy_from_slice(&nb[..n]);
    }

    fn random_level(&self, rng: &mut SmallRng) -> usize {
        // 1 - [0, 1) is in (0, 1], so ln is finite.
        let u: f64 = 1.0 - rng.gen::<f64>();
        ((-u.ln() * self.ml).floor() as usize).min(MAX_LEVEL)
    }

    /// Start of slot `s`'s vector, for prefetching (never dereferenced).
    #[inline]
    fn vector_ptr(&self, s: u32) -> *const T {
        self.data.as_ptr().wrapping_add(s as usize * self.dim)
    }

    /// Slots added per growth step: an eighth (at least 1024). Left to
    /// `Vec`'s doubling, the vector and link arrays can hold up to twice the
    /// memory the live vectors need right after a growth step; an eighth
    /// bounds that slack at 12.5% for a few more copies on growth.
    fn growth_step(&self) -> usize {
        (self.ids.len() / 8).max(1024)
    }

    /// The next insert needs a new slot and the arrays are full.
    fn must_grow(&self) -> bool {
        self.free.is_empty() && self.ids.len() == self.ids.capacity()
    }

    /// Copies the two big arrays (vectors, layer-0 links: tens of MB on a
    /// large index) into larger allocations under the *read* lock, so the
    /// write lock in [`Self::install_growth`] only swaps pointers. Growing
    /// in place under the write lock stalled every query for the whole
    /// copy. The copy stays valid because only the applier changes the
    /// graph.
    fn prepare_growth(&self) -> Option<Grown<T>> {
        if !self.must_grow() {
            return None;
        }
        let slots = self.ids.len() + self.growth_step();
        let mut data = Vec::with_capacity(slots * self.dim);
        data.extend_from_slice(&self.data);
        let mut links0 = Vec::with_capacity(slots * (self.m0 + 1));
        links0.extend_from_slice(&self.links0);
        Some(Grown { data, links0 })
    }

    /// Swaps in arrays from [`Self::prepare_growth`] (and grows the small
    /// per-slot ones); returns the old arrays, to be freed after the lock is
    /// released.
    fn install_growth(&mut self, mut g: Grown<T>) -> Grown<T> {
        if g.data.len() != self.data.len() || g.links0.len() != self.links0.len() {
            // Not from this graph state (cannot happen with a single
            // applier): leave growth to `alloc`.
            return g;
        }
        std::mem::swap(&mut self.data, &mut g.data);
        std::mem::swap(&mut self.links0, &mut g.links0);
        let extra = self.data.capacity() / self.dim.max(1) - self.ids.len();
        self.ids.reserve_exact(extra);
        self.state.reserve_exact(extra);
        self.level.reserve_exact(extra);
        self.upper.reserve_exact(extra);
        g
    }

    /// Grows the per-slot arrays by [`Self::growth_step`] when full (the
    /// fallback: the worker normally grows them ahead, see
    /// [`Self::prepare_growth`]).
    fn grow_if_full(&mut self) {
        if self.ids.len() < self.ids.capacity() {
            return;
        }
        let extra = self.growth_step();
        self.ids.reserve_exact(extra);
        self.state.reserve_exact(extra);
        self.level.reserve_exact(extra);
        self.upper.reserve_exact(extra);
        self.data.reserve_exact(extra * self.dim);
        self.links0.reserve_exact(extra * (self.m0 + 1));
    }

    fn alloc(&mut self, id: DocId, v: &[T], level: usize) -> u32 {
        let upper = vec![0u32; level * (self.m + 1)].into_boxed_slice();
        let slot = if let Some(s) = self.free.pop() {
            let at = s as usize * self.dim;
            self.data[at..at + self.dim].copy_from_slice(v);
            self.ids[s as usize] = id;
            self.state[s as usize] = SlotState::Live;
            self.level[s as usize] = level as u8;
            self.links0[s as usize * (self.m0 + 1)] = 0;
            self.upper[s as usize] = upper;
            s
        } else {
            let s = self.ids.len() as u32;
            self.grow_if_full();
            self.data.extend_from_slice(v);
            self.ids.push(id);
            self.state.push(SlotState::Live);
            self.level.push(level as u8);
            self.links0.resize(self.links0.len() + self.m0 + 1, 0);
            self.upper.push(upper);
            s
        };
        self.slot_of.insert(id, slot);
        self.live += 1;
        slot
    }

    /// Forgets everything (the last live vector went away): cheaper than
    /// sweeping, and returns the memory.
    fn reset(&mut self) {
        *self = Graph::new_like(self);
    }

    fn new_like(g: &Graph<T>) -> Graph<T> {
        Graph {
            dist: g.dist,
            dim: g.dim,
            m: g.m,
            m0: g.m0,
            ef_construction: g.ef_construction,
            ml: g.ml,
            data: Vec::new(),
            ids: Vec::new(),
            state: Vec::new(),
            level: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            slot_of: HashMap::new(),
            free: Vec::new(),
            deleted: Vec::new(),
            entry: None,
            max_level: 0,
            live: 0,
        }
    }

    fn remove(&mut self, id: DocId) {
        let Some(s) = self.slot_of.remove(&id) else {
            return;
        };
        self.state[s as usize] = SlotState::Deleted;
        self.live -= 1;
        self.deleted.push(s);
        if self.live == 0 {
            self.reset();
        }
    }

    fn needs_sweep(&self) -> bool {
        self.deleted.len() >= SWEEP_MIN.max(self.live / 10)
    }

    /// Greedy walk at layer `l` towards `q`.
    fn greedy(&self, q: &[T], mut cur: Scored, l: usize) -> Scored {
        loop {
            let mut moved = false;
            for &n in self.links(cur.id, l) {
                let d = self.dist.eval(q, self.vector(n));
                if d < cur.dist {
                    cur = Scored::new(d, n);
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Entry point for a search at `layer`: greedy descent from the top.
    fn descend(&self, q: &[T], layer: usize) -> Option<Scored> {
        let ep = self.entry?;
        let mut cur = Scored::new(self.dist.eval(q, self.vector(ep)), ep);
        for l in (layer + 1..=self.max_level).rev() {
            cur = self.greedy(q, cur, l);
        }
        Some(cur)
    }

    /// Beam search at layer `l` from `eps`, keeping the `ef` closest slots
    /// that `admit` accepts (others are traversed, never returned).
    /// Ascending by distance.
    fn search_layer(
        &self,
        q: &[T],
        eps: &[Scored],
        ef: usize,
        l: usize,
        admit: impl Fn(u32) -> bool,
        sc: &mut Scratch,
    ) -> Vec<Scored> {
        let Scratch {
            vis,
            cand,
            res,
            nbuf,
        } = sc;
        vis.reset(self.slots());
        cand.clear();
        res.clear();
        let vec_bytes = self.dim * std::mem::size_of::<T>();
        for &e in eps {
            if vis.insert(e.id) {
                cand.push(Reverse(e));
                if admit(e.id) {
                    res.push(e);
                    if res.len() > ef {
                        res.pop();
                    }
                }
            }
        }
        while let Some(Reverse(c)) = cand.pop() {
            if res.len() >= ef && res.peek().is_some_and(|w| c.dist > w.dist) {
                break;
            }
            // Gather the unvisited neighbours and start fetching their
            // vectors (scattered over the data array: this is where a
            // search waits on memory) before computing the first distance.
            nbuf.clear();
            for &n in self.links(c.id, l) {
                if vis.insert(n) {
                    nbuf.push(n);
                    prefetch(self.vector_ptr(n), vec_bytes);
                }
            }
            for &n in nbuf.iter() {
                let d = self.dist.eval(q, self.vector(n));
                let full = res.len() >= ef;
                if !full || res.peek().is_some_and(|w| d < w.dist) {
                    let s = Scored::new(d, n);
                    cand.push(Reverse(s));
                    if admit(n) {
                        res.push(s);
                        if res.len() > ef {
                            res.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<Scored> = res.drain().collect();
        out.sort_unstable();
        out
    }

    /// The neighbour-selection heuristic: walk candidates nearest first and
    /// keep one only if it is closer to the base than to every neighbour
    /// already kept, which spreads links over directions instead of
    /// clustering them. `cands` is ascending by distance to the base.
    fn select(&self, cands: &[Scored], m: usize) -> Vec<u32> {
        self.select_with(cands, m, |s| self.vector(s))
    }

    /// [`Self::select`] with a vector lookup that can also resolve
    /// [`NEW_SLOT`] (a node being planned, not yet in the graph).
    fn select_with<'a>(
        &'a self,
        cands: &[Scored],
        m: usize,
        vec_of: impl Fn(u32) -> &'a [T],
    ) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(m);
        for c in cands {
            if out.len() >= m {
                break;
            }
            let vc = vec_of(c.id);
            if out.iter().all(|&r| self.dist.eval(vc, vec_of(r)) >= c.dist) {
                out.push(c.id);
            }
        }
        out
    }

    /// Adds the link `n → new` at layer `l`, re-selecting `n`'s list when
    /// full (dead neighbours are dropped first).
    fn add_link(&mut self, n: u32, new: u32, l: usize) {
        let max = self.max_links(l);
        let cur_len = self.links(n, l).len();
        if cur_len < max {
            let list = self.list_mut(n, l);
            list[1 + cur_len] = new;
            list[0] += 1;
            return;
        }
        let vn = self.vector(n);
        let mut cands: Vec<Scored> = self
            .links(n, l)
            .iter()
            .copied()
            .filter(|&x| self.is_live(x))
            .chain(std::iter::once(new))
            .map(|x| Scored::new(self.dist.eval(vn, self.vector(x)), x))
            .collect();
        cands.sort_unstable();
        let sel = self.select(&cands, max);
        self.set_links(n, l, &sel);
    }

    /// Everything inserting `v` (as `id`, at `level`) will change, computed
    /// under the read lock: the beam searches and neighbour selection, which
    /// are nearly all of an insert's cost, run while queries keep reading
    /// the graph. Valid until the graph changes; only the applier (who holds
    /// `Shared::apply`) changes it, and it applies the plan right away.
    fn plan_insert(&self, id: DocId, v: &[T], level: usize, sc: &mut Scratch) -> Plan {
        let Some(entry) = self.entry else {
            return Plan::default();
        };
        // A replaced vector's old slot is about to become a tombstone: it
        // is neither linked to nor kept in neighbour lists.
        let old = self.slot_of.get(&id).copied();
        let live = |s: u32| Some(s) != old && self.is_live(s);
        let mut cur = Scored::new(self.dist.eval(v, self.vector(entry)), entry);
        for l in (level + 1..=self.max_level).rev() {
            cur = self.greedy(v, cur, l);
        }
        let vec_of = |s: u32| if s == NEW_SLOT { v } else { self.vector(s) };
        let top = level.min(self.max_level);
        let mut layers: Vec<LayerPlan> = Vec::with_capacity(top + 1);
        let mut eps = vec![cur];
        for l in (0..=top).rev() {
            let w = self.search_layer(v, &eps, self.ef_construction, l, live, sc);
            let own = self.select(&w, self.m);
            let max = self.max_links(l);
            let updates = own
                .iter()
                .map(|&n| {
                    let cur = self.links(n, l);
                    if cur.len() < max {
                        return (n, None);
                    }
                    let vn = self.vector(n);
                    let mut cands: Vec<Scored> = cur
                        .iter()
                        .copied()
                        .filter(|&x| live(x))
                        .map(|x| Scored::new(self.dist.eval(vn, self.vector(x)), x))
                        .collect();
                    cands.push(Scored::new(self.dist.eval(vn, v), NEW_SLOT));
                    cands.sort_unstable();
                    (n, Some(self.select_with(&cands, max, vec_of)))
                })
                .collect();
            layers.push(LayerPlan { own, updates });
            if !w.is_empty() {
                eps = w;
            }
        }
        // Built top-down; index by layer.
        layers.reverse();
        Plan { layers }
    }

    /// Applies a plan from [`Self::plan_insert`] (write lock: only copies
    /// and link writes happen here).
    fn apply_insert(&mut self, id: DocId, v: &[T], level: usize, plan: Plan) {
        self.remove(id);
        let slot = self.alloc(id, v, level);
        let Some(entry) = self.entry else {
            // Empty graph (or it was emptied by replacing its only vector).
            self.entry = Some(slot);
            self.max_level = level;
            return;
        };
        for (l, lp) in plan.layers.iter().enumerate() {
            self.set_links(slot, l, &lp.own);
            for (n, update) in &lp.updates {
                match update {
                    None => self.add_link(*n, slot, l),
                    Some(list) => {
                        let max = self.max_links(l);
                        let row = self.list_mut(*n, l);
                        let len = list.len().min(max);
                        row[0] = len as u32;
                        for (dst, &x) in row[1..=len].iter_mut().zip(list) {
                            *dst = if x == NEW_SLOT { slot } else { x };
                        }
                    }
                }
            }
        }
        let entry_dead = !self.is_live(entry);
        if level > self.max_level || (entry_dead && level >= self.max_level) {
            self.entry = Some(slot);
            self.max_level = level;
        }
    }

    /// Relinks live slot `s` wherever it points at a tombstone.
    fn repair(&mut self, s: u32) {
        if !self.is_live(s) {
            return;
        }
        for l in 0..=self.level[s as usize] as usize {
            if self.links(s, l).iter().all(|&n| self.is_live(n)) {
                continue;
            }
            let mut ids: Vec<u32> = Vec::with_capacity(2 * self.max_links(l));
            for &n in self.links(s, l) {
                if self.is_live(n) {
                    ids.push(n);
                } else {
                    ids.extend(
                        self.links(n, l)
                            .iter()
                            .copied()
                            .filter(|&x| x != s && self.is_live(x)),
                    );
                }
            }
            ids.sort_unstable();
            ids.dedup();
            let vs = self.vector(s);
            let mut cands: Vec<Scored> = ids
                .iter()
                .map(|&x| Scored::new(self.dist.eval(vs, self.vector(x)), x))
                .collect();
            cands.sort_unstable();
            let sel = self.select(&cands, self.max_links(l));
            self.set_links(s, l, &sel);
        }
    }

    /// Frees swept tombstones for reuse and keeps the entry point live.
    fn release(&mut self, batch: &[u32]) {
        for &s in batch {
            if self.state[s as usize] != SlotState::Deleted {
                continue;
            }
            self.state[s as usize] = SlotState::Free;
            self.links0[s as usize * (self.m0 + 1)] = 0;
            self.upper[s as usize] = Box::new([]);
            self.free.push(s);
        }
        if self.entry.is_some_and(|e| !self.is_live(e)) {
            let best = (0..self.slots() as u32)
                .filter(|&s| self.is_live(s))
                .max_by_key(|&s| self.level[s as usize]);
            self.entry = best;
            self.max_level = best.map_or(0, |s| self.level[s as usize] as usize);
        }
    }

    /// Exact distances for every usable slot (filter members, or all).
    fn exact(
        &self,
        q: &[T],
        filter: Option<&[DocId]>,
        usable: impl Fn(u32) -> bool,
        mut f: impl FnMut(Scored),
    ) {
        match filter {
            Some(ids) if ids.len() < self.live => {
                for id in ids {
                    if let Some(&s) = self.slot_of.get(id) {
                        if usable(s) {
                            f(Scored::new(self.dist.eval(q, self.vector(s)), *id));
                        }
                    }
                }
            }
            _ => {
                for s in 0..self.slots() as u32 {
                    if usable(s) {
                        f(Scored::new(
                            self.dist.eval(q, self.vector(s)),
                            self.ids[s as usize],
                        ));
                    }
                }
            }
        }
    }

    /// How many slots `usable` accepts (only computed when a search came
    /// back short, to decide on the exact fallback).
    fn count_usable(&self, filter: Option<&[DocId]>, usable: impl Fn(u32) -> bool) -> usize {
        match filter {
            Some(ids) if ids.len() < self.live => ids
                .iter()
                .filter(|id| self.slot_of.get(*id).is_some_and(|&s| usable(s)))
                .count(),
            _ => (0..self.slots() as u32).filter(|&s| usable(s)).count(),
        }
    }

    fn memory_bytes(&self) -> usize {
        self.data.capacity() * std::mem::size_of::<T>()
            + self.ids.capacity() * 4
            + self.state.capacity()
            + self.level.capacity()
            + self.links0.capacity() * 4
            + self.upper.capacity() * std::mem::size_of::<Box<[u32]>>()
            + self.upper.iter().map(|u| u.len() * 4).sum::<usize>()
            + self.slot_of.capacity() * 9
            + (self.free.capacity() + self.deleted.capacity()) * 4
    }
}

/// Graph builders (all indexes) currently working through a backlog.
static BUILDERS_BUSY: AtomicUsize = AtomicUsize::new(0);

/// Whether any HNSW graph builder in the process is working through a
/// backlog. I/O threads skip their pre-sleep polling while one is (see
/// `quiver_server::idle_poll`): on a small machine a polling I/O thread
/// takes the CPU the builder needs, and the backlog it leaves is scanned
/// exactly by every query.
pub fn builders_busy() -> bool {
    BUILDERS_BUSY.load(Ordering::Relaxed) != 0
}

/// Niceness of the worker thread where `SCHED_IDLE` is refused (see
/// [`lower_thread_priority`]).
#[cfg(target_os = "linux")]
const WORKER_NICE: libc::c_int = 10;

/// Makes the calling (worker) thread background work for the scheduler.
///
/// Building the graph must not delay queries: on a machine with few cores,
/// a worker at the same priority as the threads serving requests takes
/// whole scheduler slices from them whenever both are runnable, which on a
/// 2-core box made query tail latency during inserts several times the
/// idle one. First choice is `SCHED_IDLE`, which the kernel preempts the
/// moment any normal thread wakes; measured on that box (blocking client,
/// 500 inserts/s, no backlog) query p99 during inserts went from 3.8–4.1 ms
/// at nice +10 to 1.9–2.5 ms. The worker then only gets CPU time nobody
/// else wants: on a saturated machine its backlog grows (and queries scan
/// it exactly) until the load drops. If `SCHED_IDLE` is refused, nice +10.
/// Best effort: on failure the thread keeps the process's priority.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `sched_setscheduler(0, …)` and `setpriority` on our own
    // thread id only change this thread's scheduling; the param struct is
    // a valid local.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WORKER_NICE);
        }
    }
}

/// Whether the graph must not answer for `id` (sorted list from
/// [`Shared::scan_fresh`]).
#[inline]
fn overridden(over: &[DocId], id: DocId) -> bool {
    !over.is_empty() && over.binary_search(&id).is_ok()
}

impl<T: Scalar> Shared<T> {
    fn notify(&self) {
        self.signal.lock().pending = true;
        self.wake.notify_one();
    }

    fn query_vector(&self, query: &[u8]) -> Result<Vec<T>, VectorError> {
        let want = self.params.blob_len();
        if query.len() != want {
            return Err(VectorError::QueryBlobSize {
                got: query.len(),
                want,
            });
        }
        Ok(decode_prepared(&self.dist, self.params.elem, query))
    }

    /// Scores pending vectors, then read-locks the graph; returns the lock
    /// and the (sorted) ids the graph must not answer for: those whose
    /// pending operation shadows an older graph vector, plus the worker's
    /// in-flight batch (possibly in the graph already, and still scored
    /// here). The fresh lock is held until the graph lock is taken, so the
    /// worker cannot finish a batch in between: every id the graph holds
    /// from an operation this scan saw pending is in that batch.
    fn scan_fresh(
        &self,
        q: &[T],
        filter: Option<&[DocId]>,
        mut f: impl FnMut(Scored),
    ) -> (Vec<DocId>, RwLockReadGuard<'_, Graph<T>>) {
        let fresh = self.fresh.read();
        if fresh.ops.is_empty() {
            return (Vec::new(), self.graph.read());
        }
        let dim = fresh.dim;
        for (vec, id) in fresh.vecs.chunks_exact(dim).zip(&fresh.slot_ids) {
            if let Some(id) = *id {
                if passes(filter, id) {
                    f(Scored::new(self.dist.eval(q, vec), id));
                }
            }
        }
        let mut over = fresh.in_flight.clone();
        if fresh.shadowing > 0 {
            over.extend(
                fresh
                    .ops
                    .iter()
                    .filter(|(_, op)| op.shadows)
                    .map(|(&id, _)| id),
            );
        }
        over.sort_unstable();
        over.dedup();
        let g = self.graph.read();
        drop(fresh);
        (over, g)
    }

    fn take_visited(&self) -> Scratch {
        self.visited.lock().pop().unwrap_or_default()
    }

    fn put_visited(&self, v: Scratch) {
        let mut pool = self.visited.lock();
        if pool.len() < 16 {
            pool.push(v);
        }
    }

    /// Applies pending operations to the graph until the buffer is empty
    /// (or the index is being dropped).
    fn drain(&self, sc: &mut Scratch) {
        let mut rng = self.apply.lock();
        loop {
            if self.signal.lock().stop {
                return;
            }
            let batch: Vec<Op<T>> = {
                let mut fresh = self.fresh.write();
                let mut batch = Vec::new();
                while batch.len() < WORKER_BATCH {
                    let Some((id, seq)) = fresh.queue.pop_front() else {
                        break;
                    };
                    // A stale entry: a newer operation for `id` is queued
                    // behind it and will be applied instead.
                    if let Some(op) = fresh.ops.get(&id).filter(|op| op.seq == seq) {
                        let v = op.slot.map(|s| fresh.vector(s).to_vec());
                        batch.push((id, seq, v));
                    }
                }
                fresh.in_flight.clear();
                fresh.in_flight.extend(batch.iter().map(|(id, _, _)| *id));
                batch
            };
            if batch.is_empty() {
                self.fresh.write().reset_if_empty();
                return;
            }
            for (id, _, v) in &batch {
                match v {
                    Some(v) => {
                        let grown = self.graph.read().prepare_growth();
                        if let Some(grown) = grown {
                            let old = self.graph.write().install_growth(grown);
                            drop(old);
                        }
                        let (level, plan) = {
                            let g = self.graph.read();
                            let level = g.random_level(&mut rng);
                            (level, g.plan_insert(*id, v, level, sc))
                        };
                        self.graph.write().apply_insert(*id, v, level, plan);
                    }
                    None => self.graph.write().remove(*id),
                }
            }
            {
                let mut fresh = self.fresh.write();
                for (id, seq, _) in &batch {
                    fresh.complete(*id, *seq);
                }
                fresh.in_flight.clear();
                fresh.reset_if_empty();
            }
            if self.graph.read().needs_sweep() {
                self.sweep();
            }
        }
    }

    /// Relinks around the current tombstones in chunks (queries run between
    /// chunks), then frees them. Runs under `apply`, so no other graph
    /// change interleaves.
    fn sweep(&self) {
        let batch = std::mem::take(&mut self.graph.write().deleted);
        if batch.is_empty() {
            return;
        }
        let mut start = 0;
        loop {
            let mut g = self.graph.write();
            let end = (start + SWEEP_CHUNK).min(g.slots());
            for s in start..end {
                g.repair(s as u32);
            }
            if end >= g.slots() {
                g.release(&batch);
                return;
            }
            start = end;
        }
    }

    fn worker_main(self: Arc<Self>) {
        lower_thread_priority();
        let mut sc = Scratch::default();
        loop {
            {
                let mut sig = self.signal.lock();
                while !sig.pending && !sig.stop {
                    self.wake.wait(&mut sig);
                }
                if sig.stop {
                    return;
                }
                sig.pending = false;
                sig.busy = true;
            }
            BUILDERS_BUSY.fetch_add(1, Ordering::Relaxed);
            self.drain(&mut sc);
            BUILDERS_BUSY.fetch_sub(1, Ordering::Relaxed);
            self.signal.lock().busy = false;
            self.idle.notify_all();
        }
    }
}

impl<T: Scalar> HnswIndex<T> {
    pub fn new(params: VectorParams) -> Self {
        Self::with_tuning(params, Tuning::default())
    }

    pub(crate) fn with_tuning(params: VectorParams, tuning: Tuning) -> Self {
        let dist = Distance::new(params.metric);
        let dim = params.dim;
        let shared = Arc::new(Shared {
            graph: RwLock::new(Graph::new(&params, dist)),
            params,
            tuning,
            dist,
            fresh: RwLock::new(Fresh::new(dim)),
            apply: Mutex::new(SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15)),
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            idle: Condvar::new(),
            visited: Mutex::new(Vec::new()),
        });
        let for_worker = Arc::clone(&shared);
        // If no thread can be started, writers apply operations themselves
        // (see `after_write`): slower, still correct.
        let worker = std::thread::Builder::new()
            .name("quiver-hnsw".into())
            .spawn(move || for_worker.worker_main())
            .ok();
        HnswIndex { shared, worker }
    }

    fn after_write(&self) {
        if self.worker.is_some() {
            self.shared.notify();
        } else {
            self.shared.drain(&mut Scratch::default());
        }
    }

    /// Graph slots allocated (live + tombstones + free): what deletes must
    /// keep bounded.
    pub fn slot_count(&self) -> usize {
        self.shared.graph.read().slots()
    }
}

impl<T: Scalar> Drop for HnswIndex<T> {
    fn drop(&mut self) {
        self.shared.signal.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl<T: Scalar> VectorIndex for HnswIndex<T> {
    fn params(&self) -> &VectorParams {
        &self.shared.params
    }

    fn insert(&self, id: DocId, blob: &[u8]) -> Result<(), VectorError> {
        let want = self.shared.params.blob_len();
        if blob.len() != want {
            return Err(VectorError::BlobSize {
                got: blob.len(),
                want,
            });
        }
        let v = decode_prepared(&self.shared.dist, self.shared.params.elem, blob);
        {
            let mut fresh = self.shared.fresh.write();
            fresh.seq += 1;
            let seq = fresh.seq;
            let prev = fresh.ops.get(&id).map(|op| op.slot);
            let shadows = prev.is_some() || fresh.present.contains(&id);
            let slot = fresh.put_vector(id, &v, prev.flatten());
            fresh.set_op(
                id,
                Pending {
                    seq,
                    slot: Some(slot),
                    shadows,
                },
            );
            fresh.present.insert(id);
        }
        self.after_write();
        Ok(())
    }

    fn remove(&self, id: DocId) {
        {
            let mut fresh = self.shared.fresh.write();
            if !fresh.present.remove(&id) {
                return;
            }
            fresh.seq += 1;
            let seq = fresh.seq;
            fresh.set_op(
                id,
                Pending {
                    seq,
                    slot: None,
                    shadows: true,
                },
            );
        }
        self.after_write();
    }

    fn knn(
        &self,
        query: &[u8],
        k: usize,
        opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        let sh = &*self.shared;
        let q = sh.query_vector(query)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut top = TopK::new(k);
        let (over, g) = sh.scan_fresh(&q, filter, |s| top.push(s));
        let usable = |s: u32| {
            let id = g.ids[s as usize];
            g.is_live(s) && !overridden(&over, id) && passes(filter, id)
        };
        let t = sh.tuning;
        let exact = g.live <= t.exact_knn_max.max(k)
            || filter.is_some_and(|f| {
                f.len() <= t.filter_exact_max || f.len() * t.filter_exact_ratio <= g.live
            });
        if exact {
            g.exact(&q, filter, usable, |s| top.push(s));
        } else if let Some(ep) = g.descend(&q, 0) {
            let ef = opts.ef_runtime.unwrap_or(sh.params.ef_runtime).max(k);
            let mut sc = sh.take_visited();
            let found = g.search_layer(&q, &[ep], ef, 0, usable, &mut sc);
            sh.put_visited(sc);
            if found.len() < k && found.len() < g.count_usable(filter, usable) {
                // The reachable graph held fewer usable vectors than exist.
                g.exact(&q, filter, usable, |s| top.push(s));
            } else {
                for s in found {
                    top.push(Scored::new(s.dist, g.ids[s.id as usize]));
                }
            }
        }
        Ok(to_results(top.into_sorted()))
    }

    fn range(
        &self,
        query: &[u8],
        radius: f64,
        opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        if radius < 0.0 {
            return Err(VectorError::NegativeRadius(fmt_radius(radius)));
        }
        let sh = &*self.shared;
        let q = sh.query_vector(query)?;
        let mut out = Vec::new();
        let (over, g) = sh.scan_fresh(&q, filter, |s| {
            if s.dist <= radius {
                out.push(s);
            }
        });
        let usable = |s: u32| {
            let id = g.ids[s as usize];
            g.is_live(s) && !overridden(&over, id) && passes(filter, id)
        };
        let t = sh.tuning;
        let small_filter = filter.is_some_and(|f| {
            f.len() <= t.filter_exact_max || f.len() * t.filter_exact_ratio <= g.live
        });
        if g.live <= t.exact_range_max || small_filter {
            g.exact(&q, filter, usable, |s| {
                if s.dist <= radius {
                    out.push(s);
                }
            });
        } else if let Some(ep) = g.descend(&q, 0) {
            let eps = opts.epsilon.unwrap_or(sh.params.epsilon).max(0.0);
            let boundary = radius * (1.0 + eps);
            let ef = opts.ef_runtime.unwrap_or(sh.params.ef_runtime).max(10);
            let mut sc = sh.take_visited();
            let seeds = g.search_layer(&q, &[ep], ef, 0, |s| g.is_live(s), &mut sc);
            // Flood layer 0 through everything within the boundary.
            let vis = &mut sc.vis;
            vis.reset(g.slots());
            let mut stack: Vec<Scored> = Vec::new();
            for s in seeds {
                if s.dist <= boundary && vis.insert(s.id) {
                    stack.push(s);
                }
            }
            while let Some(c) = stack.pop() {
                if c.dist <= radius && usable(c.id) {
                    out.push(Scored::new(c.dist, g.ids[c.id as usize]));
                }
                for &n in g.links(c.id, 0) {
                    if vis.insert(n) {
                        let d = sh.dist.eval(&q, g.vector(n));
                        if d <= boundary {
                            stack.push(Scored::new(d, n));
                        }
                    }
                }
            }
            sh.put_visited(sc);
        }
        Ok(to_results(out))
    }

    fn len(&self) -> usize {
        self.shared.fresh.read().present.len()
    }

    /// Blocks until every pending operation is in the graph (tests,
    /// benchmarks; queries never need it).
    fn wait_idle(&self) {
        loop {
            let mut sig = self.shared.signal.lock();
            let queued = !self.shared.fresh.read().queue.is_empty();
            if !sig.pending && !sig.busy && !queued {
                return;
            }
            if self.worker.is_none() {
                drop(sig);
                self.shared.drain(&mut Scratch::default());
                continue;
            }
            self.shared
                .idle
                .wait_for(&mut sig, Duration::from_millis(20));
        }
    }

    /// Operations not yet in the graph.
    fn backlog(&self) -> usize {
        self.shared.fresh.read().ops.len()
    }

    fn memory_bytes(&self) -> usize {
        let fresh_bytes = self.shared.fresh.read().memory_bytes();
        fresh_bytes + self.shared.graph.read().memory_bytes() + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::convert::encode;
    use crate::vector::flat::FlatIndex;
    use crate::vector::{Algorithm, ElemType, Metric};

    fn params(dim: usize, metric: Metric) -> VectorParams {
        VectorParams {
            algorithm: Algorithm::Hnsw,
            elem: ElemType::Float32,
            dim,
            metric,
            initial_cap: None,
            block_size: None,
            m: 16,
            ef_construction: 200,
            ef_runtime: 10,
            epsilon: 0.01,
        }
    }

    /// Every query goes through the graph, never the exact shortcuts.
    fn graph_only() -> Tuning {
        Tuning {
            exact_knn_max: 0,
            exact_range_max: 0,
            filter_exact_max: 0,
            filter_exact_ratio: usize::MAX / (1 << 20),
        }
    }

    fn random_blobs(n: usize, dim: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let v: Vec<f64> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
                encode(ElemType::Float32, &v)
            })
            .collect()
    }

    fn build(
        p: &VectorParams,
        tuning: Tuning,
        blobs: &[Vec<u8>],
    ) -> (HnswIndex<f32>, FlatIndex<f32>) {
        let h = HnswIndex::<f32>::with_tuning(p.clone(), tuning);
        let f = FlatIndex::<f32>::new(VectorParams {
            algorithm: Algorithm::Flat,
            ..p.clone()
        });
        for (i, b) in blobs.iter().enumerate() {
            h.insert(i as DocId, b).unwrap();
            f.insert(i as DocId, b).unwrap();
        }
        h.wait_idle();
        assert_eq!(h.backlog(), 0);
        (h, f)
    }

    /// Mean fraction of the exact top-k ids the index returned.
    fn recall(
        h: &dyn VectorIndex,
        f: &dyn VectorIndex,
        queries: &[Vec<u8>],
        k: usize,
        opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> f64 {
        let mut hit = 0usize;
        let mut total = 0usize;
        for q in queries {
            let want = f.knn(q, k, opts, filter).unwrap();
            let got = h.knn(q, k, opts, filter).unwrap();
            assert_eq!(got.len(), want.len(), "KNN must return min(k, matches)");
            assert!(
                got.windows(2).all(|w| w[0].1 <= w[1].1),
                "sorted by distance"
            );
            if let Some(fl) = filter {
                assert!(got.iter().all(|(id, _)| fl.binary_search(id).is_ok()));
            }
            let want_ids: HashSet<DocId> = want.iter().map(|r| r.0).collect();
            hit += got.iter().filter(|r| want_ids.contains(&r.0)).count();
            total += want.len();
        }
        hit as f64 / total.max(1) as f64
    }

    #[test]
    fn recall_at_10_vs_flat_cosine_and_l2() {
        let blobs = random_blobs(5000, 32, 1);
        let queries = random_blobs(100, 32, 2);
        for metric in [Metric::Cosine, Metric::L2] {
            let p = params(32, metric);
            let (h, f) = build(&p, graph_only(), &blobs);
            assert_eq!(h.len(), 5000);
            // Uniform random 32-d data is about the hardest case for a
            // graph index: with the default EF_RUNTIME (10, as in
            // RediSearch) recall@10 measures ~0.66, at 50 ~0.97, at 100
            // ~0.99+. Assert at 100, and that more ef never hurts much.
            let at = |ef| {
                let opts = QueryOpts {
                    ef_runtime: Some(ef),
                    epsilon: None,
                };
                recall(&h, &f, &queries, 10, opts, None)
            };
            let (r10, r100) = (at(10), at(100));
            assert!(r100 >= 0.95, "{metric:?} recall@10 at ef 100 = {r100}");
            assert!(
                r10 >= 0.5 && r100 >= r10,
                "{metric:?}: ef 10 {r10}, ef 100 {r100}"
            );
            // Distances reported for graph hits are the exact ones.
            let q = &queries[0];
            let got = h.knn(q, 1, QueryOpts::default(), None).unwrap();
            let want = f.knn(q, 1, QueryOpts::default(), None).unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn filtered_knn_returns_k_when_members_exist() {
        let blobs = random_blobs(3000, 16, 3);
        let queries = random_blobs(30, 16, 4);
        let p = params(16, Metric::L2);
        let (h, f) = build(&p, graph_only(), &blobs);
        // Non-selective: half the documents.
        let half: Vec<DocId> = (0..3000).filter(|i| i % 2 == 0).collect();
        let r = recall(&h, &f, &queries, 10, QueryOpts::default(), Some(&half));
        assert!(r >= 0.9, "recall with a 50% filter = {r}");
        // Very selective, still through the graph: exactly 12 members, so
        // the search has to walk far past non-members.
        let few: Vec<DocId> = (0..12).map(|i| i * 250 + 7).collect();
        let r = recall(&h, &f, &queries, 10, QueryOpts::default(), Some(&few));
        assert!(r >= 0.99, "recall with a 12-id filter = {r}");
        // Fewer members than k: all of them. Ids without vectors are ignored.
        let tiny: Vec<DocId> = vec![5, 17, 99_999];
        for q in &queries {
            let got = h.knn(q, 10, QueryOpts::default(), Some(&tiny)).unwrap();
            let mut ids: Vec<DocId> = got.iter().map(|r| r.0).collect();
            ids.sort_unstable();
            assert_eq!(ids, vec![5, 17]);
        }
        // The default tuning answers a selective filter exactly.
        let h2 = HnswIndex::<f32>::new(p.clone());
        for (i, b) in blobs.iter().enumerate() {
            h2.insert(i as DocId, b).unwrap();
        }
        h2.wait_idle();
        for q in &queries {
            assert_eq!(
                h2.knn(q, 10, QueryOpts::default(), Some(&few)).unwrap(),
                f.knn(q, 10, QueryOpts::default(), Some(&few)).unwrap()
            );
        }
    }

    #[test]
    fn churn_keeps_slots_bounded() {
        let p = params(8, Metric::L2);
        let h = HnswIndex::<f32>::with_tuning(p.clone(), graph_only());
        for round in 0..10u64 {
            // Replace every vector, then delete and re-add a third of them.
            for (i, b) in random_blobs(1000, 8, 100 + round).iter().enumerate() {
                h.insert(i as DocId, b).unwrap();
            }
            for i in (0..1000).filter(|i| i % 3 == 0) {
                h.remove(i);
            }
            assert_eq!(h.len(), 1000 - 334);
            for (i, b) in random_blobs(1000, 8, 200 + round).iter().enumerate() {
                if i % 3 == 0 {
                    h.insert(i as DocId, b).unwrap();
                }
            }
            assert_eq!(h.len(), 1000);
            h.wait_idle();
            let slots = h.slot_count();
            assert!(
                slots <= 1000 + 100 + SWEEP_MIN + WORKER_BATCH,
                "round {round}: {slots} slots"
            );
        }
        // The churned graph still answers well.
        let last: Vec<Vec<u8>> = {
            let a = random_blobs(1000, 8, 109);
            let b = random_blobs(1000, 8, 209);
            (0..1000)
                .map(|i| {
                    if i % 3 == 0 {
                        b[i].clone()
                    } else {
                        a[i].clone()
                    }
                })
                .collect()
        };
        let f = FlatIndex::<f32>::new(VectorParams {
            algorithm: Algorithm::Flat,
            ..p.clone()
        });
        for (i, b) in last.iter().enumerate() {
            f.insert(i as DocId, b).unwrap();
        }
        let queries = random_blobs(50, 8, 7);
        let r = recall(
            &h,
            &f,
            &queries,
            10,
            QueryOpts {
                ef_runtime: Some(50),
                epsilon: None,
            },
            None,
        );
        assert!(r >= 0.95, "recall after churn = {r}");
        // Deleting everything returns the memory.
        for i in 0..1000 {
            h.remove(i);
        }
        assert_eq!(h.len(), 0);
        assert!(h
            .knn(&queries[0], 3, QueryOpts::default(), None)
            .unwrap()
            .is_empty());
        h.wait_idle();
        assert_eq!(h.slot_count(), 0);
    }

    #[test]
    fn writes_are_visible_to_the_next_query() {
        let p = params(4, Metric::L2);
        let h = HnswIndex::<f32>::with_tuning(p, graph_only());
        let blobs = random_blobs(2000, 4, 9);
        for (i, b) in blobs.iter().enumerate() {
            h.insert(i as DocId, b).unwrap();
            // No waiting: the vector itself must be the nearest hit.
            let got = h.knn(b, 1, QueryOpts::default(), None).unwrap();
            assert_eq!(got[0].1, 0.0, "insert {i} not visible");
            if i % 97 == 0 {
                h.remove(i as DocId);
                let got = h.knn(b, 1, QueryOpts::default(), None).unwrap();
                assert!(
                    got.iter().all(|r| r.0 != i as DocId),
                    "removed {i} still visible"
                );
                h.insert(i as DocId, b).unwrap();
            }
        }
        // Replacing a vector: the old position no longer matches.
        let far = encode(ElemType::Float32, &[50.0, 50.0, 50.0, 50.0]);
        h.insert(3, &far).unwrap();
        let got = h.knn(&far, 1, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(3, 0.0)]);
        let got = h.knn(&blobs[3], 1, QueryOpts::default(), None).unwrap();
        assert_ne!(got[0].0, 3);
        assert_eq!(h.len(), 2000);
    }

    #[test]
    fn pending_replacements_and_removals_shadow_the_graph() {
        let p = params(8, Metric::L2);
        let h = HnswIndex::<f32>::with_tuning(p, graph_only());
        let old = random_blobs(1500, 8, 21);
        let new = random_blobs(300, 8, 22);
        for (i, b) in old.iter().enumerate() {
            h.insert(i as DocId, b).unwrap();
        }
        h.wait_idle();
        // Replace 0..300 and remove 300..400 while the worker is applying
        // them: every query must see only the newest state, once per id.
        for i in 0..300 {
            h.insert(i as DocId, &new[i]).unwrap();
            if i < 100 {
                h.remove(300 + i as DocId);
            }
            for (blob, want) in [(&new[i], Some(i as DocId)), (&old[i], None)] {
                let got = h.knn(blob, 5, QueryOpts::default(), None).unwrap();
                let mut ids: Vec<DocId> = got.iter().map(|r| r.0).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), got.len(), "duplicate ids for {i}");
                assert!(got
                    .iter()
                    .all(|r| !(300..300 + i.min(99) as DocId + 1).contains(&r.0)));
                match want {
                    Some(id) => assert_eq!(got[0], (id, 0.0), "replacement {i} not seen"),
                    None => assert!(
                        got.iter().all(|r| r.0 != i as DocId || r.1 > 0.0),
                        "old vector of {i} still answered"
                    ),
                }
            }
        }
        h.wait_idle();
        assert_eq!(h.len(), 1400);
        for i in (0..300).step_by(7) {
            let got = h.knn(&new[i], 1, QueryOpts::default(), None).unwrap();
            assert_eq!(got, vec![(i as DocId, 0.0)]);
        }
    }

    #[test]
    fn concurrent_queries_and_writes() {
        let p = params(8, Metric::Cosine);
        let h = Arc::new(HnswIndex::<f32>::with_tuning(p, graph_only()));
        let blobs = Arc::new(random_blobs(3000, 8, 11));
        let writer = {
            let (h, blobs) = (Arc::clone(&h), Arc::clone(&blobs));
            std::thread::spawn(move || {
                for (i, b) in blobs.iter().enumerate() {
                    h.insert(i as DocId, b).unwrap();
                }
            })
        };
        for i in 0..300 {
            let got = h.knn(&blobs[i], 5, QueryOpts::default(), None).unwrap();
            let mut ids: Vec<DocId> = got.iter().map(|r| r.0).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), got.len(), "duplicate ids in a result");
        }
        writer.join().unwrap();
        for (i, b) in blobs.iter().enumerate().step_by(37) {
            let got = h.knn(b, 1, QueryOpts::default(), None).unwrap();
            assert!(got[0].1.abs() < 1e-6, "vector {i} lost");
        }
        h.wait_idle();
        assert_eq!(h.len(), 3000);
    }

    #[test]
    fn ties_break_by_smaller_id_and_range() {
        let p = params(2, Metric::L2);
        let h = HnswIndex::<f32>::new(p.clone());
        let same = encode(ElemType::Float32, &[1.0, 1.0]);
        for id in [9, 3, 5, 7] {
            h.insert(id, &same).unwrap();
        }
        let q = encode(ElemType::Float32, &[0.0, 0.0]);
        let got = h.knn(&q, 3, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(3, 2.0), (5, 2.0), (7, 2.0)]);
        h.wait_idle();
        let got = h.knn(&q, 3, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(3, 2.0), (5, 2.0), (7, 2.0)]);
        assert_eq!(
            h.range(&q, 2.0, QueryOpts::default(), Some(&[5, 9]))
                .unwrap(),
            vec![(5, 2.0), (9, 2.0)]
        );
        assert!(h
            .range(&q, 1.99, QueryOpts::default(), None)
            .unwrap()
            .is_empty());
        assert_eq!(
            h.range(&q, -0.5, QueryOpts::default(), None),
            Err(VectorError::NegativeRadius("-0.5".into()))
        );
        assert_eq!(
            h.knn(&q[..3], 1, QueryOpts::default(), None),
            Err(VectorError::QueryBlobSize { got: 3, want: 8 })
        );
        assert_eq!(
            h.insert(1, &q[..4]),
            Err(VectorError::BlobSize { got: 4, want: 8 })
        );
    }

    #[test]
    fn range_through_the_graph_matches_exact() {
        let blobs = random_blobs(3000, 8, 21);
        let queries = random_blobs(30, 8, 22);
        let p = params(8, Metric::L2);
        let (h, f) = build(&p, graph_only(), &blobs);
        let (mut want_total, mut got_total) = (0, 0);
        for q in &queries {
            let want = f.range(q, 0.8, QueryOpts::default(), None).unwrap();
            let got = h.range(q, 0.8, QueryOpts::default(), None).unwrap();
            let want_ids: HashSet<DocId> = want.iter().map(|r| r.0).collect();
            assert!(got.iter().all(|r| want_ids.contains(&r.0) && r.1 <= 0.8));
            assert!(got.windows(2).all(|w| (w[0].1, w[0].0) <= (w[1].1, w[1].0)));
            want_total += want.len();
            got_total += got.len();
        }
        assert!(want_total > 100, "the radius should catch vectors");
        let r = got_total as f64 / want_total as f64;
        assert!(r >= 0.95, "range recall = {r}");
    }
}
