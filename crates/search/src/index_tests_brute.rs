//! A minimal exact (brute-force) [`VectorIndex`] for tests: the query
//! layer is checked against it independently of the real FLAT/HNSW
//! indexes in [`crate::vector`]. It decodes every stored vector to f32 and
//! compares queries against all of them.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use crate::vector::{ElemType, Metric, QueryOpts, VectorError, VectorIndex, VectorParams};
use crate::DocId;

pub struct BruteForce {
    params: VectorParams,
    vecs: RwLock<BTreeMap<DocId, Vec<f32>>>,
}

impl BruteForce {
    pub fn new(params: VectorParams) -> Self {
        BruteForce {
            params,
            vecs: RwLock::new(BTreeMap::new()),
        }
    }

    fn decode(&self, blob: &[u8]) -> Vec<f32> {
        let sz = self.params.elem.size();
        blob.chunks_exact(sz)
            .map(|c| match self.params.elem {
                ElemType::Float32 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                ElemType::Float64 => {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                }
                ElemType::BFloat16 => {
                    f32::from_bits((u32::from(c[1]) << 24) | (u32::from(c[0]) << 16))
                }
                ElemType::Float16 => half_to_f32(u16::from_le_bytes([c[0], c[1]])),
            })
            .collect()
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f64 {
        match self.params.metric {
            Metric::L2 => a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum(),
            Metric::Ip => {
                1.0 - a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| f64::from(*x) * f64::from(*y))
                    .sum::<f64>()
            }
            Metric::Cosine => {
                let dot: f64 = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| f64::from(*x) * f64::from(*y))
                    .sum();
                let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
                let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
                if na == 0.0 || nb == 0.0 {
                    1.0
                } else {
                    1.0 - dot / (na * nb)
                }
            }
        }
    }

    fn scored(
        &self,
        query: &[u8],
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        let want = self.params.blob_len();
        if query.len() != want {
            return Err(VectorError::QueryBlobSize {
                got: query.len(),
                want,
            });
        }
        let q = self.decode(query);
        let vecs = self.vecs.read();
        let mut out: Vec<(DocId, f64)> = match filter {
            Some(ids) => ids
                .iter()
                .filter_map(|id| vecs.get(id).map(|v| (*id, self.distance(&q, v))))
                .collect(),
            None => vecs
                .iter()
                .map(|(id, v)| (*id, self.distance(&q, v)))
                .collect(),
        };
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

fn half_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = (h >> 10) & 0x1f;
    let frac = u32::from(h & 0x3ff);
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: value = frac * 2^-24.
            let v = frac as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        0x1f => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((u32::from(exp) + 112) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

impl VectorIndex for BruteForce {
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
        let v = self.decode(blob);
        self.vecs.write().insert(id, v);
        Ok(())
    }

    fn remove(&self, id: DocId) {
        self.vecs.write().remove(&id);
    }

    fn knn(
        &self,
        query: &[u8],
        k: usize,
        _opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        let mut v = self.scored(query, filter)?;
        v.truncate(k);
        Ok(v)
    }

    fn range(
        &self,
        query: &[u8],
        radius: f64,
        _opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError> {
        let mut v = self.scored(query, filter)?;
        v.retain(|(_, d)| *d <= radius);
        Ok(v)
    }

    fn len(&self) -> usize {
        self.vecs.read().len()
    }

    fn memory_bytes(&self) -> usize {
        self.vecs.read().len() * (self.params.dim * 4 + 48)
    }
}
