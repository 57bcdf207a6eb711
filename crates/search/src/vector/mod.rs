//! Vector indexes: FLAT (exact) and HNSW (approximate) behind one trait.
//!
//! CONTRACT (filled in by the vector work; the rest of the search crate
//! relies only on what is declared here):
//! - Documents are identified by [`DocId`]; a document has at most one
//!   vector per vector field. Inserting an id again replaces its vector.
//! - Vectors arrive as the raw little-endian blob from the hash field;
//!   [`VectorIndex::insert`] validates its size (`dim * elem size`).
//! - Distances are reported as f64 in RediSearch's conventions: L2 =
//!   squared Euclidean, IP = 1 - dot, COSINE = 1 - cosine similarity.
//! - Results are sorted by distance ascending, ties by smaller DocId.
//! - A `filter` (sorted ascending, deduplicated) restricts results to those
//!   ids; KNN must then still return min(k, matching docs with a vector)
//!   results.
//! - `insert` never waits for graph construction: a vector is visible to
//!   the very next `knn`/`range` call from any thread.

use crate::DocId;

pub mod convert;
pub mod distance;
pub mod flat;
pub mod hnsw;
pub mod params;
#[cfg(test)]
mod tests;
mod topk;

pub use params::InfoValue;

/// Algorithm named in FT.CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Flat,
    Hnsw,
}

/// Element type of stored vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElemType {
    Float32,
    Float64,
    Float16,
    BFloat16,
}

impl ElemType {
    pub fn size(self) -> usize {
        match self {
            ElemType::Float32 => 4,
            ElemType::Float64 => 8,
            ElemType::Float16 | ElemType::BFloat16 => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ElemType::Float32 => "FLOAT32",
            ElemType::Float64 => "FLOAT64",
            ElemType::Float16 => "FLOAT16",
            ElemType::BFloat16 => "BFLOAT16",
        }
    }
}

/// Distance metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    L2,
    Ip,
    Cosine,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::L2 => "L2",
            Metric::Ip => "IP",
            Metric::Cosine => "COSINE",
        }
    }
}

/// A vector field's parameters as declared in FT.CREATE.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorParams {
    pub algorithm: Algorithm,
    pub elem: ElemType,
    pub dim: usize,
    pub metric: Metric,
    pub initial_cap: Option<usize>,
    pub block_size: Option<usize>,
    /// HNSW only.
    pub m: usize,
    pub ef_construction: usize,
    pub ef_runtime: usize,
    pub epsilon: f64,
}

impl VectorParams {
    /// Expected blob length in bytes.
    pub fn blob_len(&self) -> usize {
        self.dim * self.elem.size()
    }
}

/// Per-query knobs for KNN and range queries.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOpts {
    /// `EF_RUNTIME` (HNSW); `None` = the index's default.
    pub ef_runtime: Option<usize>,
    /// `EPSILON` for range queries (HNSW); `None` = the index's default.
    pub epsilon: Option<f64>,
}

/// Errors a vector operation reports to the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    /// Indexing: `Could not add vector with blob size {got} (expected size {want})`.
    #[error("Could not add vector with blob size {got} (expected size {want})")]
    BlobSize { got: usize, want: usize },
    /// Query: the whole RediSearch message.
    #[error("Error parsing vector similarity query: query vector blob size ({got}) does not match index's expected size ({want}).")]
    QueryBlobSize { got: usize, want: usize },
    #[error("Error parsing vector similarity query: negative radius ({0}) given in a range query")]
    NegativeRadius(String),
}

/// One vector index (one VECTOR field of one search index).
pub trait VectorIndex: Send + Sync {
    fn params(&self) -> &VectorParams;
    /// Adds or replaces the vector of `id`.
    fn insert(&self, id: DocId, blob: &[u8]) -> Result<(), VectorError>;
    /// Removes `id`'s vector (no-op if absent); its memory is reclaimed or
    /// reused, never left as an unbounded tombstone.
    fn remove(&self, id: DocId);
    /// The `k` nearest neighbours of `query`.
    fn knn(
        &self,
        query: &[u8],
        k: usize,
        opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError>;
    /// Every vector within `radius` of `query`.
    fn range(
        &self,
        query: &[u8],
        radius: f64,
        opts: QueryOpts,
        filter: Option<&[DocId]>,
    ) -> Result<Vec<(DocId, f64)>, VectorError>;
    /// Number of vectors stored.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes used (FT.INFO `vector_index_sz_mb`).
    fn memory_bytes(&self) -> usize;
    /// Writes accepted but not yet folded into a background-built
    /// structure (HNSW's graph). They are already visible to queries; this
    /// is only informational (FT.INFO, tests).
    fn backlog(&self) -> usize {
        0
    }
    /// Blocks until `backlog()` is 0 (tests, benchmarks, shutdown paths).
    fn wait_idle(&self) {}
}

/// Builds the index a VECTOR field declares: FLOAT64 vectors are stored and
/// compared as `f64`, every other element type as `f32`.
pub fn new_index(params: &VectorParams) -> Box<dyn VectorIndex> {
    let p = params.clone();
    match (params.algorithm, params.elem) {
        (Algorithm::Flat, ElemType::Float64) => Box::new(flat::FlatIndex::<f64>::new(p)),
        (Algorithm::Flat, _) => Box::new(flat::FlatIndex::<f32>::new(p)),
        (Algorithm::Hnsw, ElemType::Float64) => Box::new(hnsw::HnswIndex::<f64>::new(p)),
        (Algorithm::Hnsw, _) => Box::new(hnsw::HnswIndex::<f32>::new(p)),
    }
}

/// A radius as RediSearch prints it in the negative-radius error (`%g`-like:
/// `-1`, `-0.5`).
pub(crate) fn fmt_radius(r: f64) -> String {
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}
