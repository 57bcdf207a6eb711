//! FLAT: exact brute-force search over contiguous storage.
//!
//! Vectors live back to back in one `Vec<T>` (slot `s` at `s*dim`), which
//! keeps a scan a linear walk through memory. A delete moves the last slot
//! into the hole (swap-remove), so storage is always exactly `len` vectors
//! and needs no free list or tombstones.

use parking_lot::RwLock;

use super::distance::{decode_prepared, Distance, Scalar};
use super::topk::{passes, to_results, Scored, TopK};
use super::{QueryOpts, VectorError, VectorIndex, VectorParams};
use crate::DocId;

pub struct FlatIndex<T: Scalar> {
    params: VectorParams,
    dist: Distance<T>,
    inner: RwLock<Inner<T>>,
}

struct Inner<T> {
    data: Vec<T>,
    /// Slot → document.
    ids: Vec<DocId>,
    /// Document → slot.
    slot_of: hashbrown::HashMap<DocId, u32>,
}

impl<T: Scalar> Inner<T> {
    fn vector(&self, slot: usize, dim: usize) -> &[T] {
        &self.data[slot * dim..(slot + 1) * dim]
    }
}

impl<T: Scalar> FlatIndex<T> {
    pub fn new(params: VectorParams) -> Self {
        let cap = params.initial_cap.unwrap_or(0).min(1 << 16);
        FlatIndex {
            dist: Distance::new(params.metric),
            inner: RwLock::new(Inner {
                data: Vec::with_capacity(cap * params.dim),
                ids: Vec::with_capacity(cap),
                slot_of: hashbrown::HashMap::with_capacity(cap),
            }),
            params,
        }
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

    /// Calls `f(id, distance)` for every stored vector that passes the
    /// filter. A filter smaller than the index is walked id by id; a larger
    /// one is probed by binary search while scanning the slots.
    fn scan(&self, q: &[T], filter: Option<&[DocId]>, mut f: impl FnMut(DocId, f64)) {
        let inner = self.inner.read();
        let dim = self.params.dim;
        match filter {
            Some(ids) if ids.len() < inner.ids.len() => {
                for &id in ids {
                    if let Some(&slot) = inner.slot_of.get(&id) {
                        f(id, self.dist.eval(q, inner.vector(slot as usize, dim)));
                    }
                }
            }
            _ => {
                for (slot, &id) in inner.ids.iter().enumerate() {
                    if passes(filter, id) {
                        f(id, self.dist.eval(q, inner.vector(slot, dim)));
                    }
                }
            }
        }
    }
}

impl<T: Scalar> VectorIndex for FlatIndex<T> {
    fn params(&self) -> &VectorParams {
        &self.params
    }

    fn insert(&self, id: DocId, blob: &[u8]) -> Result<(), VectorError> {
        let want = self.params.blob_len();
        if blob.len() != want {
            return Err(VectorError::BlobSize {
                got: blob.len(),
                want,
            });
        }
        // Decode outside the lock: writers hold it only to copy.
        let v = decode_prepared(&self.dist, self.params.elem, blob);
        let dim = self.params.dim;
        let mut inner = self.inner.write();
        if let Some(&slot) = inner.slot_of.get(&id) {
            let at = slot as usize * dim;
            inner.data[at..at + dim].copy_from_slice(&v);
        } else {
            let slot = inner.ids.len() as u32;
            inner.data.extend_from_slice(&v);
            inner.ids.push(id);
            inner.slot_of.insert(id, slot);
        }
        Ok(())
    }

    fn remove(&self, id: DocId) {
        let dim = self.params.dim;
        let mut inner = self.inner.write();
        let Some(slot) = inner.slot_of.remove(&id) else {
            return;
        };
        let slot = slot as usize;
        let last = inner.ids.len() - 1;
        if slot != last {
            inner
                .data
                .copy_within(last * dim..(last + 1) * dim, slot * dim);
            let moved = inner.ids[last];
            inner.ids[slot] = moved;
            inner.slot_of.insert(moved, slot as u32);
        }
        inner.ids.pop();
        inner.data.truncate(last * dim);
        // Give memory back after a large shrink.
        if inner.ids.capacity() > 64 && inner.ids.len() < inner.ids.capacity() / 4 {
            let want = inner.ids.len() * 2;
            inner.ids.shrink_to(want);
            let keep = want * dim;
            inner.data.shrink_to(keep);
        }
    }

    fn knn(
        &self,
        query: &[u8],
        k: usize,
        _opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        let q = self.query_vector(query)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut top = TopK::new(k);
        self.scan(&q, filter, |id, d| top.push(Scored::new(d, id)));
        Ok(to_results(top.into_sorted()))
    }

    fn range(
        &self,
        query: &[u8],
        radius: f64,
        _opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        if radius < 0.0 {
            return Err(VectorError::NegativeRadius(super::fmt_radius(radius)));
        }
        let q = self.query_vector(query)?;
        let mut out = Vec::new();
        self.scan(&q, filter, |id, d| {
            if d <= radius {
                out.push(Scored::new(d, id));
            }
        });
        Ok(to_results(out))
    }

    fn len(&self) -> usize {
        self.inner.read().ids.len()
    }

    fn memory_bytes(&self) -> usize {
        let inner = self.inner.read();
        inner.data.capacity() * std::mem::size_of::<T>()
            + inner.ids.capacity() * std::mem::size_of::<DocId>()
            + inner.slot_of.capacity() * (std::mem::size_of::<(DocId, u32)>() + 1)
            + std::mem::size_of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::convert::encode;
    use crate::vector::{Algorithm, ElemType, Metric};

    fn params(dim: usize, metric: Metric, elem: ElemType) -> VectorParams {
        VectorParams {
            algorithm: Algorithm::Flat,
            elem,
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

    #[test]
    fn exact_knn_range_and_ties() {
        let idx = FlatIndex::<f32>::new(params(2, Metric::L2, ElemType::Float32));
        let e = |v: &[f64]| encode(ElemType::Float32, v);
        idx.insert(7, &e(&[1.0, 0.0])).unwrap();
        idx.insert(3, &e(&[0.0, 1.0])).unwrap();
        idx.insert(5, &e(&[3.0, 3.0])).unwrap();
        idx.insert(1, &e(&[-1.0, 0.0])).unwrap();
        let q = e(&[0.0, 0.0]);
        // Three vectors at distance 1: ties go to the smaller id.
        let got = idx.knn(&q, 2, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(1, 1.0), (3, 1.0)]);
        let got = idx.knn(&q, 10, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(1, 1.0), (3, 1.0), (7, 1.0), (5, 18.0)]);
        let got = idx
            .knn(&q, 2, QueryOpts::default(), Some(&[5, 7, 100]))
            .unwrap();
        assert_eq!(got, vec![(7, 1.0), (5, 18.0)]);
        let got = idx.range(&q, 1.0, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(1, 1.0), (3, 1.0), (7, 1.0)]);
        assert!(idx
            .range(&q, 0.5, QueryOpts::default(), None)
            .unwrap()
            .is_empty());
        assert_eq!(
            idx.range(&q, -1.0, QueryOpts::default(), None),
            Err(VectorError::NegativeRadius("-1".into()))
        );
        assert_eq!(
            idx.knn(&q[..7], 1, QueryOpts::default(), None),
            Err(VectorError::QueryBlobSize { got: 7, want: 8 })
        );
        assert_eq!(
            idx.insert(9, &q[..4]),
            Err(VectorError::BlobSize { got: 4, want: 8 })
        );

        // Replace, then remove from the middle (swap-remove keeps the rest).
        idx.insert(5, &e(&[0.5, 0.0])).unwrap();
        assert_eq!(idx.len(), 4);
        idx.remove(3);
        idx.remove(3);
        assert_eq!(idx.len(), 3);
        let got = idx.knn(&q, 10, QueryOpts::default(), None).unwrap();
        assert_eq!(got, vec![(5, 0.25), (1, 1.0), (7, 1.0)]);
    }

    #[test]
    fn ip_cosine_and_float64() {
        let idx = FlatIndex::<f32>::new(params(2, Metric::Cosine, ElemType::Float16));
        let e = |v: &[f64]| encode(ElemType::Float16, v);
        idx.insert(1, &e(&[2.0, 0.0])).unwrap();
        idx.insert(2, &e(&[0.0, 0.0])).unwrap();
        idx.insert(3, &e(&[-1.0, 0.0])).unwrap();
        let got = idx
            .knn(&e(&[5.0, 0.0]), 3, QueryOpts::default(), None)
            .unwrap();
        assert_eq!(got, vec![(1, 0.0), (2, 1.0), (3, 2.0)]);

        let idx = FlatIndex::<f64>::new(params(2, Metric::Ip, ElemType::Float64));
        let e = |v: &[f64]| encode(ElemType::Float64, v);
        idx.insert(1, &e(&[0.1, 0.2])).unwrap();
        let got = idx
            .knn(&e(&[0.3, 0.4]), 1, QueryOpts::default(), None)
            .unwrap();
        assert_eq!(got, vec![(1, 1.0 - (0.1 * 0.3 + 0.2 * 0.4))]);
    }
}
