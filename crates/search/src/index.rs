//! One search index: the documents it holds, their field indexes (text,
//! tag, numeric, geo) and vector indexes, and query execution over them.
//!
//! CONTRACT used by the command layer (crates/commands/src/search):
//! - The command layer owns locking (`RwLock<Index>` per index): writers
//!   call `upsert`/`remove` with the write lock, queries call `search`
//!   with the read lock. Vector insertion must not make `upsert` slow
//!   (vector indexes buffer and build graphs off the caller's thread).
//! - `upsert` receives the *whole* current hash (every field/value pair)
//!   after any change, and the key's absolute expiry (0 = none).
//! - A document whose key has expired is never returned: the command layer
//!   calls `purge_expired(now)` (write lock) whenever `next_expiry()` is
//!   due before searching.

use crate::schema::{Field, IndexDef};
use crate::{DocId, QueryError};

/// FT.INFO counters.
#[derive(Debug, Clone, Default)]
pub struct IndexStats {
    pub num_docs: usize,
    pub max_doc_id: DocId,
    pub num_terms: usize,
    pub num_records: usize,
    pub hash_indexing_failures: u64,
    /// The last indexing error and the key that caused it.
    pub last_error: Option<(String, Vec<u8>)>,
    pub inverted_bytes: usize,
    pub vector_bytes: usize,
    pub doc_table_bytes: usize,
}

/// One FT.SEARCH (or FT.AGGREGATE's query part).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest<'a> {
    pub query: &'a str,
    /// `PARAMS` name/value pairs (unused ones are fine).
    pub params: &'a [(&'a [u8], &'a [u8])],
    pub dialect: u32,
    pub verbatim: bool,
    pub no_stopwords: bool,
    /// `INKEYS`: only these keys.
    pub in_keys: Option<&'a [&'a [u8]]>,
    /// `INFIELDS`: text terms only in these fields.
    pub in_fields: Option<&'a [&'a str]>,
    /// `SCORER` name (`TFIDF`, `BM25`, `BM25STD`, …); None = default.
    pub scorer: Option<&'a str>,
    /// `SORTBY` field (schema field or a yielded distance name), ascending?
    pub sort_by: Option<(&'a str, bool)>,
}

/// One matching document.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: DocId,
    pub key: Vec<u8>,
    pub score: f64,
    /// Values of [`SearchOutput::yielded`], in the same order (distances).
    pub yielded: Vec<f64>,
}

/// The outcome of a query.
#[derive(Debug, Clone, Default)]
pub struct SearchOutput {
    /// FT.SEARCH's total: all matches (KNN: the number of KNN hits).
    pub total: usize,
    /// Every match, in result order (SORTBY if given; else by distance for
    /// KNN/range queries; else by score, then id).
    pub hits: Vec<Hit>,
    /// Names of computed fields (KNN `AS x` or `__<field>_score`,
    /// `$YIELD_DISTANCE_AS`).
    pub yielded: Vec<String>,
}

/// A search index.
pub struct Index {
    def: IndexDef,
}

impl Index {
    pub fn new(def: IndexDef) -> Self {
        Index { def }
    }

    pub fn def(&self) -> &IndexDef {
        &self.def
    }

    /// FT.ALTER … SCHEMA ADD: the caller re-upserts existing documents.
    pub fn add_field(&mut self, field: Field) {
        self.def.fields.push(field);
    }

    /// (Re)indexes `key` from its current hash. A field that fails to index
    /// (bad vector blob, non-numeric NUMERIC, bad GEO) makes the document
    /// unindexed (its old version removed) and counts an indexing failure.
    pub fn upsert(&mut self, key: &[u8], fields: &[(&[u8], &[u8])], expire_at_ms: u64) {
        let _ = (key, fields, expire_at_ms);
        unimplemented!("index::upsert")
    }

    /// Drops `key`; true if it was indexed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let _ = key;
        unimplemented!("index::remove")
    }

    /// Earliest expiry among indexed documents.
    pub fn next_expiry(&self) -> Option<u64> {
        unimplemented!("index::next_expiry")
    }

    /// Drops documents whose expiry is at or before `now_ms`... strictly
    /// before, as Redis: a key is expired once the clock is past its time.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        let _ = now_ms;
        unimplemented!("index::purge_expired")
    }

    /// Drops every document (FLUSHDB keeps nothing; FT.DROPINDEX).
    pub fn clear(&mut self) {
        unimplemented!("index::clear")
    }

    pub fn stats(&self) -> IndexStats {
        unimplemented!("index::stats")
    }

    pub fn search(&self, req: &SearchRequest<'_>) -> Result<SearchOutput, QueryError> {
        let _ = req;
        unimplemented!("index::search")
    }

    /// FT.EXPLAIN's text for `query`.
    pub fn explain(&self, query: &str, params: &[(&[u8], &[u8])]) -> Result<String, QueryError> {
        let _ = (query, params);
        unimplemented!("index::explain")
    }

    /// FT.TAGVALS: distinct values of a TAG field, sorted.
    pub fn tag_values(&self, field: &str) -> Result<Vec<String>, QueryError> {
        let _ = field;
        unimplemented!("index::tag_values")
    }

    /// The stored value of schema field `name` for document `id` (SORTBY,
    /// FT.AGGREGATE).
    pub fn doc_value(&self, id: DocId, name: &str) -> Option<&[u8]> {
        let _ = (id, name);
        unimplemented!("index::doc_value")
    }
}
