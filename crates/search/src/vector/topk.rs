//! Ordering and bounded selection of (distance, id) pairs shared by the
//! indexes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A distance with the id it belongs to (a `DocId`, or a graph slot inside
/// HNSW). Ordered by distance (total order: NaN after +inf), then id, which
/// is the contract's tie-break (smaller DocId first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub dist: f64,
    pub id: u32,
}

impl Scored {
    pub fn new(dist: f64, id: u32) -> Self {
        Scored { dist, id }
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

/// The `k` smallest items pushed so far (a max-heap of size ≤ k).
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    #[inline]
    pub fn push(&mut self, s: Scored) {
        if self.heap.len() < self.k {
            self.heap.push(s);
        } else if let Some(mut top) = self.heap.peek_mut() {
            if s < *top {
                *top = s;
            }
        }
    }

    /// Ascending by (distance, id).
    pub fn into_sorted(self) -> Vec<Scored> {
        self.heap.into_sorted_vec()
    }
}

/// Whether `id` is in the sorted filter (no filter = everything passes).
#[inline]
pub(crate) fn passes(filter: Option<&[u32]>, id: u32) -> bool {
    filter.is_none_or(|f| f.binary_search(&id).is_ok())
}

/// Final shape of a result list: ascending (distance, id) pairs.
pub(crate) fn to_results(mut v: Vec<Scored>) -> Vec<(u32, f64)> {
    v.sort_unstable();
    v.into_iter().map(|s| (s.id, s.dist)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_with_id_tie_break() {
        let mut t = TopK::new(3);
        for (d, id) in [(1.0, 9), (0.5, 4), (1.0, 2), (1.0, 5), (2.0, 1), (0.5, 3)] {
            t.push(Scored::new(d, id));
        }
        let got: Vec<(f64, u32)> = t.into_sorted().iter().map(|s| (s.dist, s.id)).collect();
        assert_eq!(got, vec![(0.5, 3), (0.5, 4), (1.0, 2)]);
        assert!(TopK::new(0).into_sorted().is_empty());
    }
}
