//! Quiver's RediSearch-compatible engine, with no I/O and no knowledge of
//! the keyspace: the command layer feeds it documents (a hash's fields) as
//! they change and asks it queries; it answers with document ids, keys,
//! scores and distances.
//!
//! - [`schema`]: what FT.CREATE declares.
//! - [`index`]: one search index — documents, field indexes, vector fields.
//! - [`query`]: the query language (dialect 2) and its evaluation.
//! - [`vector`]: FLAT and HNSW vector indexes and distance kernels.

pub mod fields;
pub mod index;
pub mod query;
pub mod schema;
pub mod text;
pub mod vector;

/// Internal document number. A document gets a new id each time it is
/// (re)indexed, so ids also order documents by indexing time (KNN ties).
pub type DocId = u32;

pub use index::{Hit, Index, IndexStats, SearchOutput, SearchRequest};
pub use schema::{Field, FieldKind, IndexDef, KeyType, TagOpts, TextOpts};

/// A query the engine cannot run, with the message the client gets
/// (without the leading `ERR`/`-`; the command layer adds it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl QueryError {
    pub fn new(msg: impl Into<String>) -> Self {
        QueryError(msg.into())
    }
}
