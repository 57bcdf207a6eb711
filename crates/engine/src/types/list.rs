//! The list type: a deque of [`ListPack`] nodes (Redis calls the layout a
//! quicklist, and OBJECT ENCODING reports `quicklist` for every list, as
//! Redis 7.0 does).
//!
//! Two representations:
//! - [`List::Pack`]: one listpack. Almost every list in practice is short
//!   (a few recent events, a small queue); one allocation per list is what
//!   keeps 100k such lists near Redis's memory.
//! - [`List::Quick`]: a `VecDeque` of listpack nodes. Pushes and pops touch
//!   only the end node, so they are O(1) amortised however long the list
//!   grows, and indexing skips whole nodes by their counts.
//!
//! Nodes are bounded by `list-max-listpack-size` (negative: a byte budget,
//! -2 = 8 KB; positive: entries per node) *and* by [`NODE_MAX_ENTRIES`].
//! The second bound exists because listpack items carry no back-links (one
//! byte per item smaller than Redis's): finding the last item of a node is a
//! forward scan, and capping the entries per node keeps RPOP's scan short
//! and constant. A single-pack list turns into nodes when its pack is full,
//! and back into one pack when it shrinks to half a node (the gap avoids
//! converting back and forth on every push/pop at the boundary).

use crate::listpack::{Item, ListPack};
use smallvec::SmallVec;
use std::collections::VecDeque;

/// Most entries one node holds, whatever `list-max-listpack-size` says
/// (bounds the scan to a node's last item; see the module docs).
pub const NODE_MAX_ENTRIES: usize = 64;

/// Byte bound for nodes when `list-max-listpack-size` counts entries, so a
/// node of large elements stays a reasonable size (Redis has the same guard).
const SIZE_SAFETY_LIMIT: usize = 8192;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

#[derive(Debug, Clone)]
pub enum List {
    /// The whole list in one listpack (at most one node's worth).
    Pack(ListPack),
    /// Several nodes, none empty.
    Quick(Box<Quick>),
}

/// The multi-node representation.
#[derive(Debug, Clone, Default)]
pub struct Quick {
    nodes: VecDeque<ListPack>,
    len: usize,
}

impl Default for List {
    fn default() -> Self {
        List::Pack(ListPack::new())
    }
}

/// Lists are equal when they hold the same elements, however they are split
/// into nodes.
impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// The byte budget of a node for a negative `list-max-listpack-size`.
fn byte_limit(fill: i64) -> usize {
    match fill {
        -1 => 4096,
        -2 => 8192,
        -3 => 16384,
        -4 => 32768,
        _ => 65536,
    }
}

/// Whether `node` may take one more item of about `add` encoded bytes.
#[inline]
fn node_fits(node: &ListPack, add: usize, fill: i64) -> bool {
    if node.is_empty() {
        return true;
    }
    if node.len() >= NODE_MAX_ENTRIES {
        return false;
    }
    let bytes = node.bytes() + add;
    if fill >= 0 {
        (node.len() as i64) < fill && bytes <= SIZE_SAFETY_LIMIT
    } else {
        bytes <= byte_limit(fill)
    }
}

/// Whether `node` has outgrown its bounds (after an insertion in the middle)
/// and should be split.
fn node_over(node: &ListPack, fill: i64) -> bool {
    if node.len() <= 1 {
        return false;
    }
    if node.len() > NODE_MAX_ENTRIES {
        return true;
    }
    if fill >= 0 {
        node.len() as i64 > fill.max(1) || node.bytes() > SIZE_SAFETY_LIMIT
    } else {
        node.bytes() > byte_limit(fill)
    }
}

/// Removes the item at `end` of one node, handing it to `f` first.
#[inline]
fn pop_node<R>(lp: &mut ListPack, end: End, f: impl FnOnce(Item<'_>) -> R) -> Option<R> {
    let off = match end {
        End::Head if lp.is_empty() => return None,
        End::Head => 0,
        End::Tail => lp.last_offset()?,
    };
    let r = f(lp.item_at(off).0);
    lp.remove_at_offset(off);
    Some(r)
}

/// Byte offsets of a node's items, for walking it backwards.
fn offsets(lp: &ListPack) -> SmallVec<[u32; NODE_MAX_ENTRIES]> {
    lp.iter_with_offsets().map(|(o, _)| o as u32).collect()
}

/// Removes up to `limit` items equal to `needle` from one node (`limit` 0:
/// all), scanning from the tail when `from_tail`. Returns how many went.
fn remove_in_node(lp: &mut ListPack, needle: &[u8], limit: usize, from_tail: bool) -> usize {
    let mut removed = 0;
    if from_tail {
        // Removing at a higher offset leaves lower offsets valid.
        for off in offsets(lp).into_iter().rev() {
            if limit != 0 && removed == limit {
                break;
            }
            if lp.item_at(off as usize).0.eq_bytes(needle) {
                lp.remove_at_offset(off as usize);
                removed += 1;
            }
        }
    } else {
        let mut pos = 0;
        while pos < lp.bytes() && (limit == 0 || removed < limit) {
            let (item, next) = lp.item_at(pos);
            if item.eq_bytes(needle) {
                pos = lp.remove_at_offset(pos);
                removed += 1;
            } else {
                pos = next;
            }
        }
    }
    removed
}

/// Splits `lp` in two halves by count; returns the second half.
fn split_off(lp: &mut ListPack) -> ListPack {
    let half = lp.len() / 2;
    let mut right = ListPack::new();
    let mut cut = lp.bytes();
    for (i, (off, item)) in lp.iter_with_offsets().enumerate() {
        if i == half {
            cut = off;
        }
        if i >= half {
            right.push_back_grow(item);
        }
    }
    let n = lp.len() - half;
    lp.remove_range_at_offset(cut, n);
    right
}

/// The nodes of a list, in order, whatever its representation.
enum Nodes<'a> {
    One(Option<&'a ListPack>),
    Many(std::collections::vec_deque::Iter<'a, ListPack>),
}

impl<'a> Iterator for Nodes<'a> {
    type Item = &'a ListPack;
    #[inline]
    fn next(&mut self) -> Option<&'a ListPack> {
        match self {
            Nodes::One(n) => n.take(),
            Nodes::Many(it) => it.next(),
        }
    }
}

impl DoubleEndedIterator for Nodes<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Nodes::One(n) => n.take(),
            Nodes::Many(it) => it.next_back(),
        }
    }
}

/// A node's items from last to first.
struct RevNode<'a> {
    lp: &'a ListPack,
    offs: SmallVec<[u32; NODE_MAX_ENTRIES]>,
}

impl<'a> Iterator for RevNode<'a> {
    type Item = Item<'a>;
    #[inline]
    fn next(&mut self) -> Option<Item<'a>> {
        let off = self.offs.pop()?;
        Some(self.lp.item_at(off as usize).0)
    }
}

impl List {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            List::Pack(lp) => lp.len(),
            List::Quick(q) => q.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports (Redis 7.0 reports `quicklist` for
    /// every list, however short).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes held (for memory estimates).
    pub fn heap_size(&self) -> usize {
        match self {
            List::Pack(lp) => lp.capacity(),
            List::Quick(q) => {
                std::mem::size_of::<Quick>()
                    + q.nodes.capacity() * std::mem::size_of::<ListPack>()
                    + q.nodes.iter().map(|n| n.capacity()).sum::<usize>()
            }
        }
    }

    fn nodes(&self) -> Nodes<'_> {
        match self {
            List::Pack(lp) => Nodes::One(Some(lp)),
            List::Quick(q) => Nodes::Many(q.nodes.iter()),
        }
    }

    /// Builds a list from elements in order (tests, SORT STORE, restores).
    pub fn from_elements<'e>(elems: impl IntoIterator<Item = &'e [u8]>, fill: i64) -> List {
        let mut l = List::new();
        for e in elems {
            l.push(End::Tail, e, fill);
        }
        l
    }

    /// Pushes `elem` at `end`. `fill` is `list-max-listpack-size`.
    #[inline]
    pub fn push(&mut self, end: End, elem: &[u8], fill: i64) {
        let item = Item::Bytes(elem);
        if let List::Pack(lp) = self {
            if node_fits(lp, elem.len() + 1, fill) {
                match end {
                    End::Head => lp.insert_at_offset_grow(0, item),
                    End::Tail => lp.push_back_grow(item),
                };
                return;
            }
            let lp = std::mem::take(lp);
            let mut nodes = VecDeque::with_capacity(4);
            let len = lp.len();
            nodes.push_back(lp);
            *self = List::Quick(Box::new(Quick { nodes, len }));
        }
        if let List::Quick(q) = self {
            q.push(end, item, elem.len() + 1, fill);
        }
    }

    /// Removes the element at `end`, handing it to `f` (so a reply can be
    /// written straight from the encoding). `None` if the list is empty.
    #[inline]
    pub fn pop<R>(&mut self, end: End, f: impl FnOnce(Item<'_>) -> R) -> Option<R> {
        match self {
            List::Pack(lp) => pop_node(lp, end, f),
            List::Quick(q) => {
                let node = match end {
                    End::Head => q.nodes.front_mut(),
                    End::Tail => q.nodes.back_mut(),
                }?;
                let r = pop_node(node, end, f)?;
                let emptied = node.is_empty();
                q.len -= 1;
                if emptied {
                    match end {
                        End::Head => q.nodes.pop_front(),
                        End::Tail => q.nodes.pop_back(),
                    };
                }
                self.settle();
                Some(r)
            }
        }
    }

    /// Returns to a single pack once the list fits comfortably in one node
    /// (merging what is left of several nodes, e.g. after LREM or LTRIM
    /// emptied the middle; that copies at most half a node's items).
    fn settle(&mut self) {
        let List::Quick(q) = self else { return };
        if q.len > NODE_MAX_ENTRIES / 2 {
            return;
        }
        let pack = if q.nodes.len() <= 1 {
            q.nodes.pop_front().unwrap_or_default()
        } else {
            if q.nodes.iter().map(|n| n.bytes()).sum::<usize>() > SIZE_SAFETY_LIMIT {
                return;
            }
            let mut merged = ListPack::new();
            for item in q.nodes.iter().flat_map(|n| n.iter()) {
                merged.push_back_grow(item);
            }
            merged
        };
        *self = List::Pack(pack);
    }

    /// Element number `index` (0-based from the head).
    pub fn get(&self, index: usize) -> Option<Item<'_>> {
        match self {
            List::Pack(lp) => lp.get(index),
            List::Quick(q) => {
                let (ni, i) = q.locate(index)?;
                q.nodes[ni].get(i)
            }
        }
    }

    /// Replaces element number `index`; false if out of range.
    pub fn set(&mut self, index: usize, elem: &[u8]) -> bool {
        let lp = match self {
            List::Pack(lp) if index < lp.len() => (lp, index),
            List::Pack(_) => return false,
            List::Quick(q) => match q.locate(index) {
                Some((ni, i)) => (&mut q.nodes[ni], i),
                None => return false,
            },
        };
        let (node, i) = lp;
        match node.offset_of(i) {
            Some(off) => {
                node.replace_at_offset(off, Item::Bytes(elem));
                true
            }
            None => false,
        }
    }

    /// All elements, head to tail.
    pub fn iter(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        self.nodes().flat_map(|n| n.iter())
    }

    /// Elements from index `start` on, head to tail, skipping whole nodes.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = Item<'_>> + '_ {
        let mut skip = start;
        let mut nodes = self.nodes();
        let first = loop {
            match nodes.next() {
                Some(n) if skip >= n.len() => skip -= n.len(),
                other => break other,
            }
        };
        first
            .into_iter()
            .flat_map(move |n| n.iter().skip(skip))
            .chain(nodes.flat_map(|n| n.iter()))
    }

    /// All elements, tail to head.
    pub fn iter_rev(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        self.nodes().rev().flat_map(|lp| RevNode {
            lp,
            offs: offsets(lp),
        })
    }

    /// Removes elements equal to `needle`: the first `count` from the head
    /// (count > 0), the last `-count` from the tail (count < 0), or all
    /// (count 0), as LREM does. Returns how many were removed.
    pub fn remove_matching(&mut self, needle: &[u8], count: i64) -> usize {
        let from_tail = count < 0;
        let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
        let removed = match self {
            List::Pack(lp) => remove_in_node(lp, needle, limit, from_tail),
            List::Quick(q) => {
                let mut removed = 0;
                let n = q.nodes.len();
                for k in 0..n {
                    let ni = if from_tail { n - 1 - k } else { k };
                    let left = if limit == 0 { 0 } else { limit - removed };
                    removed += remove_in_node(&mut q.nodes[ni], needle, left, from_tail);
                    if limit != 0 && removed == limit {
                        break;
                    }
                }
                q.len -= removed;
                q.nodes.retain(|n| !n.is_empty());
                removed
            }
        };
        self.settle();
        removed
    }

    /// Removes `n` elements from `end` (LTRIM's two halves).
    pub fn remove_n(&mut self, end: End, n: usize) {
        let mut n = n.min(self.len());
        match self {
            List::Pack(lp) => match end {
                End::Head => lp.remove_range_at_offset(0, n),
                End::Tail => {
                    if let Some(off) = lp.offset_of(lp.len() - n) {
                        lp.remove_range_at_offset(off, n)
                    }
                }
            },
            List::Quick(q) => {
                while n > 0 {
                    let node = match end {
                        End::Head => q.nodes.front_mut(),
                        End::Tail => q.nodes.back_mut(),
                    };
                    let Some(node) = node else { break };
                    let k = node.len();
                    if k <= n {
                        n -= k;
                        q.len -= k;
                        match end {
                            End::Head => q.nodes.pop_front(),
                            End::Tail => q.nodes.pop_back(),
                        };
                        continue;
                    }
                    match end {
                        End::Head => node.remove_range_at_offset(0, n),
                        End::Tail => {
                            if let Some(off) = node.offset_of(k - n) {
                                node.remove_range_at_offset(off, n)
                            }
                        }
                    }
                    q.len -= n;
                    n = 0;
                }
            }
        }
        self.settle();
    }

    /// Inserts `elem` before (or after) the first element equal to `pivot`.
    /// Returns false if there is no such element.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], elem: &[u8], after: bool, fill: i64) -> bool {
        let found = self
            .nodes()
            .enumerate()
            .find_map(|(ni, n)| n.find(pivot, 1).map(|(_, off)| (ni, off)));
        let Some((ni, off)) = found else {
            return false;
        };
        if let List::Pack(lp) = self {
            let pos = if after { lp.item_at(off).1 } else { off };
            lp.insert_at_offset_grow(pos, Item::Bytes(elem));
            if node_over(lp, fill) {
                let mut left = std::mem::take(lp);
                let right = split_off(&mut left);
                let len = left.len() + right.len();
                let nodes = VecDeque::from([left, right]);
                *self = List::Quick(Box::new(Quick { nodes, len }));
            }
            return true;
        }
        if let List::Quick(q) = self {
            let node = &mut q.nodes[ni];
            let pos = if after { node.item_at(off).1 } else { off };
            node.insert_at_offset_grow(pos, Item::Bytes(elem));
            q.len += 1;
            if node_over(node, fill) {
                let right = split_off(node);
                q.nodes.insert(ni + 1, right);
            }
        }
        true
    }
}

impl Quick {
    #[inline]
    fn push(&mut self, end: End, item: Item<'_>, add: usize, fill: i64) {
        // Nodes of a long list keep filling up: grow them geometrically
        // rather than by the exact amount (which would reallocate on each
        // push while the node is small).
        let grow = |n: &mut ListPack| {
            if n.capacity() - n.bytes() < add + 10 {
                n.reserve(add + 10);
            }
        };
        match end {
            End::Head => match self.nodes.front_mut() {
                Some(n) if node_fits(n, add, fill) => {
                    grow(n);
                    n.insert_at_offset_grow(0, item);
                }
                _ => {
                    let mut n = ListPack::new();
                    n.push_back_grow(item);
                    self.nodes.push_front(n);
                }
            },
            End::Tail => match self.nodes.back_mut() {
                Some(n) if node_fits(n, add, fill) => {
                    grow(n);
                    n.push_back_grow(item);
                }
                _ => {
                    let mut n = ListPack::new();
                    n.push_back_grow(item);
                    self.nodes.push_back(n);
                }
            },
        }
        self.len += 1;
    }

    /// The node holding element `index` and the index within it, walking
    /// from whichever end is nearer and skipping whole nodes.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut rem = index;
            for (ni, n) in self.nodes.iter().enumerate() {
                if rem < n.len() {
                    return Some((ni, rem));
                }
                rem -= n.len();
            }
        } else {
            let mut rem = self.len - 1 - index;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if rem < n.len() {
                    return Some((ni, n.len() - 1 - rem));
                }
                rem -= n.len();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|i| i.to_vec()).collect()
    }

    fn check(l: &List, model: &VecDeque<Vec<u8>>) {
        let want: Vec<Vec<u8>> = model.iter().cloned().collect();
        assert_eq!(l.len(), model.len());
        assert_eq!(items(l), want);
        let mut rev: Vec<Vec<u8>> = l.iter_rev().map(|i| i.to_vec()).collect();
        rev.reverse();
        assert_eq!(rev, want);
        if let List::Quick(q) = l {
            assert!(q.nodes.iter().all(|n| !n.is_empty()));
            assert!(q.nodes.iter().all(|n| n.len() <= NODE_MAX_ENTRIES));
            assert_eq!(q.nodes.iter().map(|n| n.len()).sum::<usize>(), q.len);
        }
    }

    #[test]
    fn grows_into_nodes_and_back() {
        let mut l = List::new();
        for i in 0..1000 {
            l.push(End::Tail, format!("{i}").as_bytes(), -2);
        }
        assert!(matches!(l, List::Quick(_)));
        assert_eq!(l.get(999).map(|i| i.to_vec()), Some(b"999".to_vec()));
        assert_eq!(l.get(500).map(|i| i.to_vec()), Some(b"500".to_vec()));
        assert_eq!(l.get(1000), None);
        let tail: Vec<Vec<u8>> = l.iter_from(997).map(|i| i.to_vec()).collect();
        assert_eq!(
            tail,
            vec![b"997".to_vec(), b"998".to_vec(), b"999".to_vec()]
        );
        for i in (0..1000).rev() {
            let got = l.pop(End::Tail, |it| it.to_vec());
            assert_eq!(got, Some(format!("{i}").into_bytes()));
        }
        assert!(matches!(l, List::Pack(_)));
        assert_eq!(l.pop(End::Head, |_| ()), None);
    }

    #[test]
    fn sparse_nodes_merge_back_into_one_pack() {
        let mut l = List::new();
        for i in 0..500 {
            let e = if i % 50 == 0 {
                "keep".to_string()
            } else {
                format!("x{i}")
            };
            l.push(End::Tail, e.as_bytes(), -2);
        }
        assert!(matches!(l, List::Quick(_)));
        for i in 0..500 {
            if i % 50 != 0 {
                l.remove_matching(format!("x{i}").as_bytes(), 0);
            }
        }
        assert_eq!(l.len(), 10);
        assert!(matches!(l, List::Pack(_)));
        assert!(l.iter().all(|i| i.eq_bytes(b"keep")));
    }

    #[test]
    fn byte_budget_bounds_nodes() {
        let big = vec![b'x'; 3000];
        let mut l = List::new();
        for _ in 0..5 {
            l.push(End::Head, &big, -2);
        }
        let List::Quick(q) = &l else {
            panic!("expected nodes")
        };
        // 8 KB per node: two 3000-byte items per node.
        assert_eq!(q.nodes.len(), 3);
        assert!(q.nodes.iter().all(|n| n.bytes() <= 8192));
    }

    #[test]
    fn insert_splits_full_nodes() {
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut l = List::new();
        for i in 0..NODE_MAX_ENTRIES {
            l.push(End::Tail, format!("e{i}").as_bytes(), -2);
            model.push_back(format!("e{i}").into_bytes());
        }
        assert!(matches!(l, List::Pack(_)));
        assert!(l.insert_at_pivot(b"e10", b"new", true, -2));
        model.insert(11, b"new".to_vec());
        assert!(matches!(l, List::Quick(_)));
        check(&l, &model);
        assert!(!l.insert_at_pivot(b"nope", b"x", false, -2));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        Set(usize, Vec<u8>),
        Rem(i8, u8),
        Trim(usize, usize),
        Insert(u8, Vec<u8>, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        let elem = prop_oneof![
            (0u8..6).prop_map(|b| vec![b'a' + b]),
            (0i64..40).prop_map(|i| i.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..40),
        ];
        prop_oneof![
            4 => (any::<bool>(), elem.clone()).prop_map(|(h, e)| Op::Push(h, e)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (any::<usize>(), elem.clone()).prop_map(|(i, e)| Op::Set(i, e)),
            1 => (any::<i8>(), 0u8..6).prop_map(|(c, b)| Op::Rem(c % 4, b)),
            1 => (0usize..5, 0usize..5).prop_map(|(a, b)| Op::Trim(a, b)),
            1 => (0u8..6, elem, any::<bool>()).prop_map(|(p, e, a)| Op::Insert(p, e, a)),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_deque_model(
            fill in prop_oneof![Just(-2i64), Just(-1), Just(1), Just(3), Just(7)],
            ops in proptest::collection::vec(op(), 0..300),
        ) {
            let mut l = List::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(head, e) => {
                        if head {
                            l.push(End::Head, &e, fill);
                            model.push_front(e);
                        } else {
                            l.push(End::Tail, &e, fill);
                            model.push_back(e);
                        }
                    }
                    Op::Pop(head) => {
                        let (end, want) = if head {
                            (End::Head, model.pop_front())
                        } else {
                            (End::Tail, model.pop_back())
                        };
                        prop_assert_eq!(l.pop(end, |i| i.to_vec()), want);
                    }
                    Op::Set(i, e) => {
                        let ok = !model.is_empty();
                        let i = if ok { i % model.len() } else { i };
                        prop_assert_eq!(l.set(i, &e), ok);
                        if ok {
                            model[i] = e;
                        }
                        prop_assert_eq!(l.get(i).map(|x| x.to_vec()), model.get(i).cloned());
                    }
                    Op::Rem(count, b) => {
                        let needle = vec![b'a' + b];
                        let removed = l.remove_matching(&needle, count as i64);
                        let mut want = 0;
                        let limit = count.unsigned_abs() as usize;
                        if count >= 0 {
                            let mut i = 0;
                            while i < model.len() {
                                if model[i] == needle && (limit == 0 || want < limit) {
                                    model.remove(i);
                                    want += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = model.len();
                            while i > 0 {
                                i -= 1;
                                if model[i] == needle && want < limit {
                                    model.remove(i);
                                    want += 1;
                                }
                            }
                        }
                        prop_assert_eq!(removed, want);
                    }
                    Op::Trim(a, b) => {
                        let a = a.min(model.len());
                        let b = b.min(model.len() - a);
                        l.remove_n(End::Head, a);
                        l.remove_n(End::Tail, b);
                        model.drain(..a);
                        let keep = model.len() - b;
                        model.truncate(keep);
                    }
                    Op::Insert(p, e, after) => {
                        let pivot = vec![b'a' + p];
                        let pos = model.iter().position(|x| *x == pivot);
                        prop_assert_eq!(l.insert_at_pivot(&pivot, &e, after, fill), pos.is_some());
                        if let Some(i) = pos {
                            model.insert(if after { i + 1 } else { i }, e);
                        }
                    }
                }
                check(&l, &model);
                let start = model.len() / 3;
                let tail: Vec<Vec<u8>> = l.iter_from(start).map(|i| i.to_vec()).collect();
                let want: Vec<Vec<u8>> = model.iter().skip(start).cloned().collect();
                prop_assert_eq!(tail, want);
            }
            let copy = l.clone();
            prop_assert!(copy == l);
        }
    }
}
