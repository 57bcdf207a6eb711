//! The sorted-set type: members ordered by (score, member bytes), with
//! rank queries.
//!
//! Two encodings, as in Redis (and reported under Redis's names):
//!
//! - **`listpack`** ([`ZSet::Pack`]): member and score items alternating in
//!   one [`ListPack`], kept sorted. Small sorted sets are by far the most
//!   common, and one contiguous buffer keeps their memory per key close to
//!   Redis's; every operation is a linear scan, fast at the sizes allowed
//!   (`zset-max-listpack-entries`, `zset-max-listpack-value`). Integral
//!   scores are stored as integer items (one or two bytes for small ones).
//! - **`skiplist`** ([`ZSet::Tree`]): a [`Tree`] once a set outgrows those
//!   limits. Redis never converts back except when a command builds a new
//!   set (the STORE forms), and neither do we.
//!
//! Every query the commands need reduces to ranks: a score or lex range is
//! turned into a half-open rank interval with [`ZSet::partition_point`],
//! then read with [`ZSet::for_each_range`] or deleted with
//! [`ZSet::remove_range`]. Replies are written straight from the encoding
//! through the callback, without collecting elements.

use crate::listpack::{Item, ListPack};
use crate::types::Limits;
use crate::value::{itoa_buf, Bytes23};
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::hash::BuildHasher;

/// Compares two (score, member) elements in sorted-set order. Scores are
/// never NaN, so the float comparison is total here (and -0 equals 0, as
/// with C's `<` in Redis).
#[inline]
pub fn cmp_elem(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A sorted set.
#[derive(Debug, Clone)]
pub enum ZSet {
    Pack(ListPack),
    Tree(Box<Tree>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(ListPack::new())
    }
}

impl PartialEq for ZSet {
    /// Same elements in the same order (whatever the encodings).
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut a = Vec::with_capacity(self.len());
        self.for_each(|m, s| a.push((m.to_vec(), s)));
        let mut i = 0;
        let mut same = true;
        other.for_each(|m, s| {
            same &= a[i].0 == m && a[i].1 == s;
            i += 1;
        });
        same
    }
}

/// Largest magnitude for which an integral f64 is stored as an integer item
/// (beyond 2^53 not every integer is representable, so keep the float).
const EXACT_INT: f64 = 9007199254740992.0;

#[inline]
fn score_item(score: f64) -> Item<'static> {
    if score.fract() == 0.0
        && score.abs() < EXACT_INT
        && !(score == 0.0 && score.is_sign_negative())
    {
        Item::Int(score as i64)
    } else {
        Item::Float(score)
    }
}

#[inline]
fn item_score(item: Item<'_>) -> f64 {
    match item {
        Item::Int(i) => i as f64,
        Item::Float(f) => f,
        Item::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0),
    }
}

/// Reads the (member, score) pair at byte offset `off`; returns it with the
/// offset of the next pair.
#[inline]
fn pair_at(lp: &ListPack, off: usize) -> (Item<'_>, f64, usize) {
    let (m, next) = lp.item_at(off);
    let (s, next) = lp.item_at(next);
    (m, item_score(s), next)
}

/// Iterates the pairs of a packed set with their offsets.
fn pairs(lp: &ListPack) -> impl Iterator<Item = (usize, Item<'_>, f64)> + '_ {
    let mut off = 0;
    let end = lp.bytes();
    std::iter::from_fn(move || {
        if off >= end {
            return None;
        }
        let start = off;
        let (m, s, next) = pair_at(lp, off);
        off = next;
        Some((start, m, s))
    })
}

impl ZSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.len() / 2,
            ZSet::Tree(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Tree(_) => "skiplist",
        }
    }

    /// Approximate heap bytes (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.capacity(),
            ZSet::Tree(t) => t.heap_size(),
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => pairs(lp)
                .find(|(_, m, _)| m.eq_bytes(member))
                .map(|(_, _, s)| s),
            ZSet::Tree(t) => t.score(member),
        }
    }

    /// Sets the score of `member` (adding it if absent); returns the
    /// previous score. Converts to the tree encoding when the set outgrows
    /// the compact limits. A score of -0 is stored as 0, as Redis's compact
    /// encoding does.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> Option<f64> {
        let score = score + 0.0;
        match self {
            ZSet::Pack(lp) => {
                let old = pack_remove(lp, member);
                if old == Some(score) {
                    // Unchanged: put it back where it was (cheap at this size).
                    pack_insert(lp, member, score);
                    return old;
                }
                pack_insert(lp, member, score);
                if lp.len() / 2 > limits.zset_entries || member.len() > limits.zset_value {
                    self.convert_to_tree();
                }
                old
            }
            ZSet::Tree(t) => t.insert(member, score),
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => pack_remove(lp, member),
            ZSet::Tree(t) => t.remove(member),
        }
    }

    /// The 0-based rank of `member` in ascending order, with its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match self {
            ZSet::Pack(lp) => pairs(lp)
                .enumerate()
                .find(|(_, (_, m, _))| m.eq_bytes(member))
                .map(|(i, (_, _, s))| (i, s)),
            ZSet::Tree(t) => t.rank(member),
        }
    }

    /// Number of leading elements (in ascending order) for which `pred`
    /// holds; `pred` must be true for a prefix and false after it (as the
    /// "below the minimum" test of a score or lex range is).
    pub fn partition_point(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Pack(lp) => {
                let mut scratch = itoa_buf::Buf::new();
                let mut n = 0;
                for (_, m, s) in pairs(lp) {
                    if !pred(s, m.as_bytes(&mut scratch)) {
                        break;
                    }
                    n += 1;
                }
                n
            }
            ZSet::Tree(t) => t.partition_point(pred),
        }
    }

    /// [`ZSet::partition_point`] for a predicate on the score alone (a
    /// score range): a large set then never reads a member on the way down.
    pub fn partition_point_by_score(&self, mut pred: impl FnMut(f64) -> bool) -> usize {
        match self {
            ZSet::Pack(_) => self.partition_point(|s, _| pred(s)),
            ZSet::Tree(t) => t.partition_point_by_score(pred),
        }
    }

    /// Calls `f(member, score)` for ranks `start..end` (ascending ranks;
    /// clamped to the set), in descending order when `rev`.
    pub fn for_each_range(
        &self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&[u8], f64),
    ) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match self {
            ZSet::Pack(lp) => {
                let mut scratch = itoa_buf::Buf::new();
                if !rev {
                    for (_, m, s) in pairs(lp).skip(start).take(end - start) {
                        f(m.as_bytes(&mut scratch), s);
                    }
                } else {
                    // Items can only be decoded forwards: collect the
                    // offsets (at most 128 pairs in this encoding).
                    let offs: SmallVec<[u32; 128]> = pairs(lp)
                        .skip(start)
                        .take(end - start)
                        .map(|(o, _, _)| o as u32)
                        .collect();
                    for &o in offs.iter().rev() {
                        let (m, s, _) = pair_at(lp, o as usize);
                        f(m.as_bytes(&mut scratch), s);
                    }
                }
            }
            ZSet::Tree(t) => t.for_each_range(start, end, rev, f),
        }
    }

    /// Calls `f(member, score)` for every element in ascending order.
    pub fn for_each(&self, f: impl FnMut(&[u8], f64)) {
        self.for_each_range(0, usize::MAX, false, f)
    }

    /// The element at `rank` (ascending), as owned bytes.
    pub fn get_by_rank(&self, rank: usize) -> Option<(Vec<u8>, f64)> {
        let mut out = None;
        self.for_each_range(rank, rank.saturating_add(1), false, |m, s| {
            out = Some((m.to_vec(), s))
        });
        out
    }

    /// Removes ranks `start..end` (clamped); returns how many were removed.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSet::Pack(lp) => {
                if let Some(off) = lp.offset_of(start * 2) {
                    lp.remove_range_at_offset(off, (end - start) * 2);
                }
            }
            ZSet::Tree(t) => t.remove_range(start, end),
        }
        end - start
    }

    /// One step of ZSCAN: calls `f` for some elements from `cursor` on and
    /// returns the next cursor (0 when done). A compact set is returned
    /// whole, as Redis does; a tree walks its node slots, which never move
    /// while a member stays in the set, so every member present for the
    /// whole scan is returned.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Pack(_) => {
                self.for_each(f);
                0
            }
            ZSet::Tree(t) => t.scan(cursor, count, &mut f),
        }
    }

    fn convert_to_tree(&mut self) {
        if let ZSet::Pack(lp) = self {
            let mut t = Tree::with_capacity(lp.len() / 2);
            let mut scratch = itoa_buf::Buf::new();
            for (_, m, s) in pairs(lp) {
                t.push_max(m.as_bytes(&mut scratch), s);
            }
            *self = ZSet::Tree(Box::new(t));
        }
    }
}

/// Removes `member` from a packed set; returns its score.
fn pack_remove(lp: &mut ListPack, member: &[u8]) -> Option<f64> {
    let (off, _, s) = pairs(lp).find(|(_, m, _)| m.eq_bytes(member))?;
    lp.remove_range_at_offset(off, 2);
    Some(s)
}

/// Inserts a (member, score) pair that is not present at its sorted place.
fn pack_insert(lp: &mut ListPack, member: &[u8], score: f64) {
    let mut scratch = itoa_buf::Buf::new();
    let pos = pairs(lp)
        .find(|(_, m, s)| {
            cmp_elem(*s, m.as_bytes(&mut scratch), score, member) == Ordering::Greater
        })
        .map(|(o, _, _)| o);
    match pos {
        Some(o) => {
            lp.insert_at_offset(o, score_item(score));
            lp.insert_at_offset(o, Item::Bytes(member));
        }
        None => {
            lp.push_back(Item::Bytes(member));
            lp.push_back(score_item(score));
        }
    }
}

const NIL: u32 = u32::MAX;

/// A tree node: what a descent reads, and nothing else (24 bytes). The
/// member lives at the same index in [`Tree::members`]: a descent compares
/// members only between equal scores, so keeping them out of the nodes
/// halves the memory every level touches (a million nodes fit in the L3
/// cache of the machines we measure on; with members inline they did not).
#[derive(Debug, Clone)]
struct Node {
    score: f64,
    left: u32,
    right: u32,
    /// Nodes in this subtree; 0 marks a free slot.
    size: u32,
    prio: u32,
}

/// The large-set encoding: a treap (a binary search tree kept balanced in
/// expectation by random heap priorities) ordered by (score, member), with
/// subtree sizes for rank queries, plus a hash index from member to node.
///
/// Why this rather than Redis's skiplist or a B-tree:
/// - Nodes live in one arena `Vec` and link by `u32` index: no per-node
///   allocation besides the member bytes, half-size links, and no unsafe
///   pointer code (a skiplist with backward links needs raw pointers in Rust).
/// - A node never moves while its member is in the set (a score change
///   detaches and re-attaches the same slot), so the member → score index
///   can be a table of bare `u32` node numbers that hash the member bytes
///   stored in the node: members are stored once, not in two structures.
///   In a B-tree, elements move between nodes on every split and merge, so
///   the index would have to hold its own copy of each member.
/// - Stable slots also give ZSCAN a cursor with SCAN's guarantee for free.
///
/// Insert and delete, the operations ZADD/ZREM/ZINCRBY run on every call,
/// are single top-down passes with no recursion: an insert goes down
/// comparing (score, member) and bumping subtree sizes until it meets a
/// node of lower priority, where it splits that subtree around the new node
/// (its two facing spines, expected length under 2); a delete goes down to
/// the node decrementing sizes and replaces it by the merge of its
/// children (same spines). This is the textbook rotate-up/rotate-down treap
/// done from the top, so no parent links or path stack are needed. An
/// earlier version built both from rank-based split and merge (a rank
/// search, a split and two recursive merges: three root-to-leaf passes);
/// they now serve only range deletion. Rank, select and range walks use
/// the subtree sizes; everything is O(log n) expected.
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    /// `members[i]` is node `i`'s member (empty for a free slot). Inline up
    /// to 23 bytes: the member index compares it on every lookup.
    members: Vec<Bytes23>,
    root: u32,
    /// Head of the free-slot list (linked through `left`).
    free: u32,
    len: usize,
    index: HashTable<u32>,
    hasher: RandomState,
    rng: u32,
}

impl Default for Tree {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl Tree {
    pub fn with_capacity(n: usize) -> Self {
        Tree {
            nodes: Vec::with_capacity(n),
            members: Vec::with_capacity(n),
            root: NIL,
            free: NIL,
            len: 0,
            index: HashTable::with_capacity(n),
            hasher: RandomState::default(),
            rng: 0x9E37_79B9,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.capacity() * 5
            + self.members.capacity() * std::mem::size_of::<Bytes23>()
            + self
                .members
                .iter()
                .filter(|m| m.spilled())
                .map(|m| m.capacity())
                .sum::<usize>()
    }

    #[inline]
    fn size(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size
        }
    }

    #[inline]
    fn update(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[t as usize].size = s;
    }

    fn next_prio(&mut self) -> u32 {
        // xorshift32: priorities only need to be well spread, not secret.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    #[inline]
    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.find_hashed(self.hash(member), member)
    }

    #[inline]
    fn find_hashed(&self, h: u64, member: &[u8]) -> Option<u32> {
        self.index
            .find(h, |&i| self.members[i as usize].as_slice() == member)
            .copied()
    }

    /// Whether node `a` sorts before node `b` (distinct nodes: members are
    /// unique, so the order between two of them is strict).
    #[inline]
    fn before(&self, a: u32, b: u32) -> bool {
        // `b` is the node being placed (in cache); `a` is the node met on
        // the way down, whose member is a cache miss away.
        let nb = self.nodes[b as usize].score;
        self.cmp_at(nb, &self.members[b as usize], a) == Ordering::Greater
    }

    /// Orders (score, member) against node `t` as [`cmp_elem`] does, reading
    /// `t`'s member only on a score tie.
    #[inline]
    fn cmp_at(&self, score: f64, member: &[u8], t: u32) -> Ordering {
        match score.partial_cmp(&self.nodes[t as usize].score) {
            Some(Ordering::Equal) | None => member.cmp(self.members[t as usize].as_slice()),
            Some(o) => o,
        }
    }

    /// Hangs subtree `child` where `parent`'s left (or right) child goes, or
    /// at the root when `parent` is `NIL`.
    #[inline]
    fn set_link(&mut self, parent: u32, right: bool, child: u32) {
        if parent == NIL {
            self.root = child;
        } else if right {
            self.nodes[parent as usize].right = child;
        } else {
            self.nodes[parent as usize].left = child;
        }
    }

    /// Splits `t` into its first `k` elements and the rest (range
    /// deletion only, so recursion depth is the tree depth: O(log n)).
    fn split_rank(&mut self, t: u32, k: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        let ls = self.size(self.nodes[t as usize].left);
        if k <= ls {
            let (l, r) = self.split_rank(self.nodes[t as usize].left, k);
            self.nodes[t as usize].left = r;
            self.update(t);
            (l, t)
        } else {
            let (l, r) = self.split_rank(self.nodes[t as usize].right, k - ls - 1);
            self.nodes[t as usize].right = l;
            self.update(t);
            (t, r)
        }
    }

    /// Splits subtree `t` around node `key` (not linked in `t`) into the
    /// elements before it and those after it.
    ///
    /// Top-down: each visited node joins the left or the right result at
    /// its open edge, so one pass does it; the visited nodes' sizes are
    /// then fixed bottom-up from the recorded path. Called only below
    /// a fresh node's insertion point, where the path is the two spines
    /// that face the new element: expected length under 2.
    fn split_key(&mut self, mut t: u32, key: u32) -> (u32, u32) {
        let mut path: SmallVec<[u32; 32]> = SmallVec::new();
        // The last node given to each side: its inner child is the open edge.
        let (mut l_root, mut l_hook) = (NIL, NIL);
        let (mut r_root, mut r_hook) = (NIL, NIL);
        while t != NIL {
            path.push(t);
            if self.before(t, key) {
                // `t` and its whole left subtree sort before `key`.
                if l_hook == NIL {
                    l_root = t;
                } else {
                    self.nodes[l_hook as usize].right = t;
                }
                l_hook = t;
                t = self.nodes[t as usize].right;
            } else {
                if r_hook == NIL {
                    r_root = t;
                } else {
                    self.nodes[r_hook as usize].left = t;
                }
                r_hook = t;
                t = self.nodes[t as usize].left;
            }
        }
        if l_hook != NIL {
            self.nodes[l_hook as usize].right = NIL;
        }
        if r_hook != NIL {
            self.nodes[r_hook as usize].left = NIL;
        }
        // Deeper path nodes first: each one's children are then either
        // untouched subtrees or already fixed.
        for &p in path.iter().rev() {
            self.update(p);
        }
        (l_root, r_root)
    }

    /// Joins two trees where every element of `a` sorts before `b`'s,
    /// iteratively and top-down: whichever root has the higher priority
    /// stays on top and absorbs the whole other tree into its inner side,
    /// so its new size (old size + the other tree's) is known before going
    /// down. The path is the two spines that face each other.
    fn merge(&mut self, mut a: u32, mut b: u32) -> u32 {
        let mut root = NIL;
        // The open edge where the next merged piece hangs.
        let (mut parent, mut right) = (NIL, false);
        loop {
            let top = if a == NIL || b == NIL {
                if a == NIL {
                    b
                } else {
                    a
                }
            } else if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
                self.nodes[a as usize].size += self.nodes[b as usize].size;
                a
            } else {
                self.nodes[b as usize].size += self.nodes[a as usize].size;
                b
            };
            if parent == NIL {
                root = top;
            } else if right {
                self.nodes[parent as usize].right = top;
            } else {
                self.nodes[parent as usize].left = top;
            }
            if a == NIL || b == NIL {
                return root;
            }
            parent = top;
            right = top == a;
            if right {
                a = self.nodes[a as usize].right;
            } else {
                b = self.nodes[b as usize].left;
            }
        }
    }

    /// Links node `idx` (unlinked, with its score set) into the tree in
    /// one pass: go down from the root while the nodes met have higher
    /// priority (each gains one element below it), then `idx` takes the
    /// place of the subtree found there, split around it into its two
    /// children. This is the top-down form of the textbook insert (leaf
    /// insertion, then rotations up by priority) and builds the same tree.
    fn attach(&mut self, idx: u32) {
        let prio = self.nodes[idx as usize].prio;
        let (mut parent, mut right) = (NIL, false);
        let mut t = self.root;
        while t != NIL && self.nodes[t as usize].prio >= prio {
            right = self.before(t, idx);
            let n = &mut self.nodes[t as usize];
            n.size += 1;
            parent = t;
            t = if right { n.right } else { n.left };
        }
        let (l, r) = self.split_key(t, idx);
        let size = 1 + self.size(l) + self.size(r);
        let n = &mut self.nodes[idx as usize];
        n.left = l;
        n.right = r;
        n.size = size;
        self.set_link(parent, right, idx);
    }

    /// Unlinks node `idx` from the tree (it stays in the arena and index)
    /// in one pass: go down to it from the root (each node passed loses one
    /// element below it), then replace it by the merge of its children.
    fn detach(&mut self, idx: u32) {
        let (mut parent, mut right) = (NIL, false);
        let mut t = self.root;
        while t != idx {
            debug_assert!(t != NIL, "detach: node not linked");
            right = self.before(t, idx);
            let n = &mut self.nodes[t as usize];
            n.size -= 1;
            parent = t;
            t = if right { n.right } else { n.left };
        }
        let (l, r) = (
            self.nodes[idx as usize].left,
            self.nodes[idx as usize].right,
        );
        let m = self.merge(l, r);
        self.set_link(parent, right, m);
    }

    fn alloc(&mut self, member: &[u8], score: f64) -> u32 {
        let prio = self.next_prio();
        let node = Node {
            score,
            left: NIL,
            right: NIL,
            size: 1,
            prio,
        };
        if self.free != NIL {
            let idx = self.free;
            self.free = self.nodes[idx as usize].left;
            self.nodes[idx as usize] = node;
            self.members[idx as usize] = Bytes23::new(member);
            idx
        } else {
            self.nodes.push(node);
            self.members.push(Bytes23::new(member));
            (self.nodes.len() - 1) as u32
        }
    }

    fn index_insert(&mut self, idx: u32) {
        let h = self.hash(&self.members[idx as usize]);
        self.index_insert_hashed(h, idx);
    }

    /// Adds node `idx` to the member index under its member's hash `h`.
    fn index_insert_hashed(&mut self, h: u64, idx: u32) {
        let members = &self.members;
        let hasher = &self.hasher;
        self.index
            .insert_unique(h, idx, |&i| hasher.hash_one(members[i as usize].as_slice()));
    }

    fn release(&mut self, idx: u32) {
        let member = std::mem::take(&mut self.members[idx as usize]);
        let h = self.hash(&member);
        if let Ok(e) = self.index.find_entry(h, |&i| i == idx) {
            e.remove();
        }
        let n = &mut self.nodes[idx as usize];
        n.size = 0;
        n.left = self.free;
        n.right = NIL;
        self.free = idx;
        self.len -= 1;
    }

    /// Appends an element known to sort after every present one (used when
    /// converting from the compact encoding).
    fn push_max(&mut self, member: &[u8], score: f64) {
        let idx = self.alloc(member, score);
        self.index_insert(idx);
        self.len += 1;
        self.root = self.merge(self.root, idx);
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|i| self.nodes[i as usize].score)
    }

    /// Sets a member's score; returns the previous one.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        // One hash serves both the lookup and, for a new member, the index
        // insertion.
        let h = self.hash(member);
        if let Some(idx) = self.find_hashed(h, member) {
            let old = self.nodes[idx as usize].score;
            if old != score {
                self.detach(idx);
                self.nodes[idx as usize].score = score;
                self.attach(idx);
            }
            return Some(old);
        }
        let idx = self.alloc(member, score);
        self.index_insert_hashed(h, idx);
        self.len += 1;
        self.attach(idx);
        None
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let idx = self.find(member)?;
        let score = self.nodes[idx as usize].score;
        self.detach(idx);
        self.release(idx);
        Some(score)
    }

    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let idx = self.find(member)?;
        let score = self.nodes[idx as usize].score;
        let mut t = self.root;
        let mut rank = 0usize;
        while t != NIL {
            let n = &self.nodes[t as usize];
            match self.cmp_at(score, member, t) {
                Ordering::Less => t = n.left,
                Ordering::Greater => {
                    rank += self.size(n.left) as usize + 1;
                    t = n.right;
                }
                Ordering::Equal => return Some((rank + self.size(n.left) as usize, score)),
            }
        }
        None
    }

    pub fn partition_point(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut n_true = 0usize;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if pred(n.score, &self.members[t as usize]) {
                n_true += self.size(n.left) as usize + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        n_true
    }

    pub fn partition_point_by_score(&self, mut pred: impl FnMut(f64) -> bool) -> usize {
        let mut t = self.root;
        let mut n_true = 0usize;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if pred(n.score) {
                n_true += self.size(n.left) as usize + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        n_true
    }

    /// In-order walk of ranks `start..end` (valid, non-empty), backwards
    /// when `rev`, with an explicit stack of the nodes still to visit.
    fn for_each_range(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let mut stack: SmallVec<[u32; 64]> = SmallVec::new();
        let mut k = if rev { end - 1 } else { start } as u32;
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => {
                    if !rev {
                        stack.push(t);
                    }
                    t = n.left;
                }
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Greater => {
                    if rev {
                        stack.push(t);
                    }
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        let mut remaining = end - start;
        while remaining > 0 {
            let Some(t) = stack.pop() else { break };
            let n = &self.nodes[t as usize];
            f(&self.members[t as usize], n.score);
            remaining -= 1;
            let mut c = if rev { n.left } else { n.right };
            while c != NIL {
                stack.push(c);
                let cn = &self.nodes[c as usize];
                c = if rev { cn.right } else { cn.left };
            }
        }
    }

    fn remove_range(&mut self, start: usize, end: usize) {
        let (l, r) = self.split_rank(self.root, start as u32);
        let (m, r) = self.split_rank(r, (end - start) as u32);
        self.root = self.merge(l, r);
        let mut stack: SmallVec<[u32; 64]> = SmallVec::new();
        if m != NIL {
            stack.push(m);
        }
        while let Some(t) = stack.pop() {
            let (a, b) = (self.nodes[t as usize].left, self.nodes[t as usize].right);
            if a != NIL {
                stack.push(a);
            }
            if b != NIL {
                stack.push(b);
            }
            self.release(t);
        }
    }

    /// Checks every structural invariant (tests only): in-order sorted by
    /// (score, member), heap order of priorities, subtree sizes, `len`, and
    /// that the index maps each member to its own linked node.
    #[cfg(test)]
    fn check(&self) {
        fn walk(t: &Tree, n: u32, out: &mut Vec<u32>) -> u32 {
            if n == NIL {
                return 0;
            }
            let node = &t.nodes[n as usize];
            for c in [node.left, node.right] {
                if c != NIL {
                    assert!(t.nodes[c as usize].prio <= node.prio, "heap order");
                }
            }
            let l = walk(t, node.left, out);
            out.push(n);
            let r = walk(t, node.right, out);
            assert_eq!(node.size, l + r + 1, "subtree size");
            l + r + 1
        }
        let mut order = Vec::new();
        let total = walk(self, self.root, &mut order);
        assert_eq!(total as usize, self.len);
        assert_eq!(self.index.len(), self.len);
        for w in order.windows(2) {
            assert!(self.before(w[0], w[1]), "in-order sorted");
        }
        for &i in &order {
            assert_eq!(self.find(&self.members[i as usize]), Some(i));
        }
    }

    fn scan(&self, cursor: u64, count: usize, f: &mut impl FnMut(&[u8], f64)) -> u64 {
        let mut i = cursor as usize;
        let mut visited = 0;
        while i < self.nodes.len() && visited < count.max(1) {
            let n = &self.nodes[i];
            if n.size != 0 {
                f(&self.members[i], n.score);
                visited += 1;
            }
            i += 1;
        }
        if i >= self.nodes.len() {
            0
        } else {
            i as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn limits(entries: usize) -> Limits {
        Limits {
            zset_entries: entries,
            ..Limits::default()
        }
    }

    fn contents(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::new();
        z.for_each(|m, s| v.push((m.to_vec(), s)));
        v
    }

    #[test]
    fn packed_basics_and_conversion() {
        let l = limits(4);
        let mut z = ZSet::new();
        assert_eq!(z.insert(b"b", 2.0, &l), None);
        assert_eq!(z.insert(b"a", 2.0, &l), None);
        assert_eq!(z.insert(b"10", 1.5, &l), None);
        assert_eq!(z.insert(b"c", -0.0, &l), None);
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(
            contents(&z),
            vec![
                (b"c".to_vec(), 0.0),
                (b"10".to_vec(), 1.5),
                (b"a".to_vec(), 2.0),
                (b"b".to_vec(), 2.0)
            ]
        );
        assert_eq!(z.rank(b"a"), Some((2, 2.0)));
        assert_eq!(z.insert(b"a", 3.0, &l), Some(2.0));
        assert_eq!(z.rank(b"a"), Some((3, 3.0)));
        z.insert(b"d", 9.0, &l);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 5);
        assert_eq!(z.rank(b"d"), Some((4, 9.0)));
        assert_eq!(z.score(b"10"), Some(1.5));
        let mut rev = Vec::new();
        z.for_each_range(1, 4, true, |m, _| rev.push(m.to_vec()));
        assert_eq!(rev, vec![b"a".to_vec(), b"b".to_vec(), b"10".to_vec()]);
    }

    #[test]
    fn long_member_converts() {
        let mut z = ZSet::new();
        z.insert(&[b'x'; 64], 1.0, &Limits::default());
        assert_eq!(z.encoding(), "listpack");
        z.insert(&[b'y'; 65], 1.0, &Limits::default());
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn tree_scan_sees_everything() {
        let mut z = ZSet::new();
        let l = limits(0);
        for i in 0..100 {
            z.insert(format!("m{i}").as_bytes(), i as f64, &l);
        }
        for i in 0..50 {
            z.remove(format!("m{}", i * 2).as_bytes());
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, 7, |m, _| seen.push(m.to_vec()));
            if cursor == 0 {
                break;
            }
        }
        seen.sort();
        let mut want: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("m{}", i * 2 + 1).into_bytes())
            .collect();
        want.sort();
        assert_eq!(seen, want);
    }

    fn check(z: &ZSet) {
        if let ZSet::Tree(t) = z {
            t.check();
        }
    }

    /// Thousands of members (deep trees), with score updates that move
    /// members across the whole order, re-inserts of the same score, and
    /// deletions, checking the structure as it changes.
    #[test]
    fn large_tree_stays_consistent() {
        let l = limits(0);
        let mut z = ZSet::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut x: u32 = 12345;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for step in 0..20000u32 {
            let m = format!("element:{}", next() % 3000).into_bytes();
            match next() % 8 {
                0 | 1 => assert_eq!(z.remove(&m), model.remove(&m)),
                2 => {
                    // Same score again: must be a no-op that keeps the order.
                    if let Some(&s) = model.get(&m) {
                        assert_eq!(z.insert(&m, s, &l), Some(s));
                    }
                }
                _ => {
                    // Few distinct scores: many ties broken by member.
                    let s = (next() % 64) as f64 - 32.0;
                    assert_eq!(z.insert(&m, s, &l), model.insert(m, s));
                }
            }
            if step % 1000 == 0 {
                check(&z);
            }
        }
        check(&z);
        let mut want: Vec<(Vec<u8>, f64)> = model.into_iter().collect();
        want.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
        assert_eq!(contents(&z), want);
        for (i, (m, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(m), Some((i, *s)));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i8),
        /// Re-scores the present member at this position of the model (a
        /// tree detach and re-attach of an existing node).
        Update(u8, i8),
        Remove(u8),
        RemoveRange(u8, u8),
        Check(u8, u8, bool),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Insert(m, s)),
            2 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Update(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<u8>(), 0u8..6).prop_map(|(a, b)| Op::RemoveRange(a, b)),
            2 => (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(a, b, r)| Op::Check(a, b, r)),
        ]
    }

    proptest::proptest! {
        /// Random operation sequences against a BTreeMap model, with limits
        /// small enough that both encodings (and the conversion) are used.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(op(), 0..300), entries in 0usize..40) {
            let l = limits(entries);
            let mut z = ZSet::new();
            let mut by_member: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
            let sorted = |m: &BTreeMap<Vec<u8>, f64>| {
                let mut v: Vec<(Vec<u8>, f64)> = m.iter().map(|(k, s)| (k.clone(), *s)).collect();
                v.sort_by(|a, b| cmp_elem(a.1, &a.0, b.1, &b.0));
                v
            };
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        // Members like "12" exercise the integer items.
                        let key = if m % 3 == 0 { format!("{}", m / 3) } else { format!("m{m}") }.into_bytes();
                        let score = s as f64 / 4.0;
                        let old = z.insert(&key, score, &l);
                        proptest::prop_assert_eq!(old, by_member.insert(key, score));
                    }
                    Op::Update(i, s) => {
                        if by_member.is_empty() {
                            continue;
                        }
                        let key = by_member.keys().nth(i as usize % by_member.len()).cloned().unwrap();
                        let score = s as f64 / 4.0;
                        let old = z.insert(&key, score, &l);
                        proptest::prop_assert_eq!(old, by_member.insert(key, score));
                    }
                    Op::Remove(m) => {
                        let key = format!("m{m}").into_bytes();
                        proptest::prop_assert_eq!(z.remove(&key), by_member.remove(&key));
                    }
                    Op::RemoveRange(a, n) => {
                        let model = sorted(&by_member);
                        let start = a as usize % (model.len() + 1);
                        let end = (start + n as usize).min(model.len());
                        let removed = z.remove_range(start, end);
                        proptest::prop_assert_eq!(removed, end - start);
                        for (k, _) in &model[start..end] {
                            by_member.remove(k);
                        }
                    }
                    Op::Check(a, b, rev) => {
                        let model = sorted(&by_member);
                        let start = a as usize % (model.len() + 1);
                        let end = start + b as usize % (model.len() + 1 - start);
                        let mut got = Vec::new();
                        z.for_each_range(start, end, rev, |m, s| got.push((m.to_vec(), s)));
                        let mut want = model[start..end].to_vec();
                        if rev { want.reverse(); }
                        proptest::prop_assert_eq!(got, want);
                        let bound = (a as i8) as f64 / 4.0;
                        let pp = z.partition_point(|s, _| s < bound);
                        proptest::prop_assert_eq!(pp, model.iter().filter(|(_, s)| *s < bound).count());
                        proptest::prop_assert_eq!(z.partition_point_by_score(|s| s < bound), pp);
                        for (i, (k, s)) in model.iter().enumerate() {
                            proptest::prop_assert_eq!(z.rank(k), Some((i, *s)));
                        }
                    }
                }
                proptest::prop_assert_eq!(z.len(), by_member.len());
                proptest::prop_assert_eq!(z.is_empty(), by_member.is_empty());
                check(&z);
            }
            proptest::prop_assert_eq!(contents(&z), sorted(&by_member));
            let copy = z.clone();
            proptest::prop_assert_eq!(copy, z);
        }
    }
}
