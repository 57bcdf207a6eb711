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

use std::collections::{BTreeMap, BTreeSet};

use hashbrown::HashMap;

use crate::fields::{
    parse_geo, parse_numeric, split_tags, GeoIndex, NumericIndex, TagIndex, TextIndex, STEM_MARK,
};
use crate::schema::{Field, FieldKind, IndexDef};
use crate::text::{fold_case, stem, tokenize, StopWords};
use crate::vector::{VectorIndex, VectorParams};
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
    /// Vector writes accepted but not yet folded into a background-built
    /// graph (HNSW), summed over the vector fields: already searchable,
    /// reported so benchmarks and operators can tell when building is done.
    pub vector_backlog: usize,
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
    /// Values of [`SearchOutput::yielded`], in the same order (distances);
    /// NaN when this document has none (it matched another branch of an
    /// OR than the VECTOR_RANGE that yields it): omit such fields.
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

/// Builds the vector index of a VECTOR field.
pub type VectorFactory = fn(&VectorParams) -> Box<dyn VectorIndex>;

/// The searchable structure behind one schema field.
pub(crate) enum FieldIndex {
    /// TEXT fields share [`Index::text`]; this is the field's ordinal.
    Text,
    Tag(TagIndex),
    Numeric(NumericIndex),
    Geo(GeoIndex),
    Vector(Box<dyn VectorIndex>),
    /// NOINDEX: stored for sorting/loading only.
    None,
}

/// One indexed document. Everything added to the field indexes on its
/// behalf is recorded here so removal takes exactly that back out.
pub(crate) struct Doc {
    pub key: Vec<u8>,
    pub score: f64,
    /// Absolute expiry in ms, 0 = none.
    pub expire: u64,
    /// Hash of the indexed fields' values: a write that leaves them as they
    /// were (EXPIRE, or HSET of a field no schema names) only moves the
    /// expiry instead of re-indexing, which matters for vectors.
    pub fingerprint: u64,
    /// Per schema field: the raw value if the hash has the field (vector
    /// fields keep an empty marker, not the blob).
    pub values: Vec<Option<Box<[u8]>>>,
    /// (schema field, tags) added to TAG indexes.
    pub tags: Vec<(u16, Vec<String>)>,
    /// (schema field, value) added to NUMERIC indexes.
    pub numerics: Vec<(u16, f64)>,
    /// Schema fields with a point in a GEO index / a vector in a vector index.
    pub geos: Vec<u16>,
    pub vectors: Vec<u16>,
    /// Distinct inverted-index keys (terms and stem entries).
    pub terms: Vec<String>,
    /// Tokens indexed across TEXT fields (BM25 document length).
    pub text_len: u32,
    /// Highest frequency of any term (TFIDF normalisation).
    pub max_freq: u32,
}

impl Doc {
    fn approx_bytes(&self) -> usize {
        // The document, and the box pointer to it in the doc table.
        std::mem::size_of::<Doc>()
            + std::mem::size_of::<usize>()
            + self.key.len()
            + self
                .values
                .iter()
                .map(|v| v.as_ref().map_or(0, |b| b.len()) + 16)
                .sum::<usize>()
            + self.terms.iter().map(|t| t.len() + 24).sum::<usize>()
            + self
                .tags
                .iter()
                .map(|(_, t)| t.iter().map(|x| x.len() + 24).sum::<usize>())
                .sum::<usize>()
            + self.numerics.len() * 16
    }
}

/// A search index.
pub struct Index {
    pub(crate) def: IndexDef,
    /// Boxed so the tree's nodes stay small (a `Doc` is ~200 bytes; eleven
    /// of them inline made every node span kilobytes, and a lookup missed
    /// the cache at each of its levels): with boxes the inner levels stay
    /// cached and a lookup costs about one miss for the leaf and one for
    /// the document. Ordered, because wildcard queries list ids in order.
    pub(crate) docs: BTreeMap<DocId, Box<Doc>>,
    pub(crate) by_key: HashMap<Vec<u8>, DocId>,
    pub(crate) expiries: BTreeSet<(u64, DocId)>,
    /// Keys for document fingerprints, random per index so clients cannot
    /// aim for collisions.
    fp_state: std::collections::hash_map::RandomState,
    pub(crate) max_doc_id: DocId,
    /// Parallel to `def.fields`.
    pub(crate) fields: Vec<FieldIndex>,
    /// Per schema field: its ordinal among TEXT fields (query field masks).
    pub(crate) text_ord: Vec<Option<u16>>,
    /// Per text ordinal: (schema field, weight, stems?).
    pub(crate) text_fields: Vec<(usize, f64, bool)>,
    pub(crate) text: TextIndex,
    pub(crate) stopwords: StopWords,
    pub(crate) total_text_len: u64,
    pub(crate) doc_bytes: usize,
    failures: u64,
    last_error: Option<(String, Vec<u8>)>,
    vector_factory: VectorFactory,
}

impl Index {
    pub fn new(def: IndexDef) -> Self {
        Self::with_vector_factory(def, crate::vector::new_index)
    }

    /// An index whose VECTOR fields are built by `factory` instead of
    /// [`crate::vector::new_index`] (tests use an exact brute-force one).
    pub fn with_vector_factory(def: IndexDef, factory: VectorFactory) -> Self {
        let stopwords = StopWords::new(def.stopwords.as_deref());
        let mut ix = Index {
            def: IndexDef {
                fields: Vec::new(),
                ..def.clone()
            },
            docs: BTreeMap::new(),
            by_key: HashMap::new(),
            expiries: BTreeSet::new(),
            fp_state: Default::default(),
            max_doc_id: 0,
            fields: Vec::new(),
            text_ord: Vec::new(),
            text_fields: Vec::new(),
            text: TextIndex::default(),
            stopwords,
            total_text_len: 0,
            doc_bytes: 0,
            failures: 0,
            last_error: None,
            vector_factory: factory,
        };
        for f in def.fields {
            ix.add_field(f);
        }
        ix
    }

    pub fn def(&self) -> &IndexDef {
        &self.def
    }

    /// FT.ALTER … SCHEMA ADD: the caller re-upserts existing documents.
    pub fn add_field(&mut self, field: Field) {
        let fi = if field.no_index {
            FieldIndex::None
        } else {
            match &field.kind {
                FieldKind::Text(_) => FieldIndex::Text,
                FieldKind::Tag(_) => FieldIndex::Tag(TagIndex::default()),
                FieldKind::Numeric => FieldIndex::Numeric(NumericIndex::default()),
                FieldKind::Geo => FieldIndex::Geo(GeoIndex::default()),
                FieldKind::Vector(p) => FieldIndex::Vector((self.vector_factory)(p)),
            }
        };
        let ord = match (&field.kind, field.no_index) {
            (FieldKind::Text(opts), false) => {
                let o = self.text_fields.len() as u16;
                self.text_fields
                    .push((self.def.fields.len(), opts.weight, !opts.no_stem));
                Some(o)
            }
            _ => None,
        };
        self.text_ord.push(ord);
        self.fields.push(fi);
        self.def.fields.push(field);
    }

    fn fail(&mut self, key: &[u8], msg: String) {
        self.failures += 1;
        self.last_error = Some((msg, key.to_vec()));
    }

    /// (Re)indexes `key` from its current hash. A field that fails to index
    /// (bad vector blob, non-numeric NUMERIC, bad GEO) makes the document
    /// unindexed (its old version removed) and counts an indexing failure.
    pub fn upsert(&mut self, key: &[u8], fields: &[(&[u8], &[u8])], expire_at_ms: u64) {
        // Later pairs win, as HSET with a repeated field keeps the last.
        let value_of = |path: &str| {
            fields
                .iter()
                .rev()
                .find(|(k, _)| *k == path.as_bytes())
                .map(|(_, v)| *v)
        };
        let nf = self.def.fields.len();
        let mut values: Vec<Option<&[u8]>> = Vec::with_capacity(nf);
        for f in &self.def.fields {
            values.push(value_of(&f.path));
        }
        let score_value = self.def.score_field.as_deref().and_then(value_of);
        let fingerprint = fingerprint(&self.fp_state, &values, score_value);
        if let Some(&id) = self.by_key.get(key) {
            if let Some(doc) = self.docs.get_mut(&id) {
                if doc.fingerprint == fingerprint {
                    if doc.expire != expire_at_ms {
                        if doc.expire != 0 {
                            self.expiries.remove(&(doc.expire, id));
                        }
                        doc.expire = expire_at_ms;
                        if expire_at_ms != 0 {
                            self.expiries.insert((expire_at_ms, id));
                        }
                    }
                    return;
                }
            }
        }
        self.remove(key);
        // Validate everything that can fail before touching any index,
        // except vectors (validated by the vector index on insert).
        let mut numerics = Vec::new();
        let mut geos = Vec::new();
        for (i, f) in self.def.fields.iter().enumerate() {
            let Some(v) = values[i] else { continue };
            if matches!(self.fields[i], FieldIndex::None) {
                continue;
            }
            match &f.kind {
                FieldKind::Numeric => {
                    if v.is_empty() && f.index_empty {
                        continue;
                    }
                    match parse_numeric(v) {
                        Some(x) => numerics.push((i as u16, x)),
                        None => {
                            let msg =
                                format!("Invalid numeric value: '{}'", String::from_utf8_lossy(v));
                            return self.fail(key, msg);
                        }
                    }
                }
                FieldKind::Geo => {
                    if v.is_empty() && f.index_empty {
                        continue;
                    }
                    match parse_geo(v) {
                        Some(p) => geos.push((i as u16, p)),
                        None => {
                            let msg =
                                format!("Invalid geo string '{}'", String::from_utf8_lossy(v));
                            return self.fail(key, msg);
                        }
                    }
                }
                _ => {}
            }
        }
        self.max_doc_id += 1;
        let id = self.max_doc_id;
        let mut vectors = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let (Some(v), FieldIndex::Vector(vi)) = (*v, &self.fields[i]) else {
                continue;
            };
            if let Err(e) = vi.insert(id, v) {
                for &j in &vectors {
                    if let FieldIndex::Vector(vj) = &self.fields[j as usize] {
                        vj.remove(id);
                    }
                }
                return self.fail(key, e.to_string());
            }
            vectors.push(i as u16);
        }
        let score = self
            .def
            .score_field
            .as_deref()
            .and_then(value_of)
            .and_then(parse_numeric)
            .unwrap_or(self.def.score);

        let mut doc = Doc {
            key: key.to_vec(),
            score,
            expire: expire_at_ms,
            fingerprint,
            values: values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.map(|v| match self.def.fields[i].kind {
                        FieldKind::Vector(_) => Box::default(),
                        _ => Box::from(v),
                    })
                })
                .collect(),
            tags: Vec::new(),
            numerics,
            geos: Vec::new(),
            vectors,
            terms: Vec::new(),
            text_len: 0,
            max_freq: 0,
        };
        for &(i, x) in &doc.numerics {
            if let FieldIndex::Numeric(n) = &mut self.fields[i as usize] {
                n.add(id, x);
            }
        }
        for (i, p) in geos {
            if let FieldIndex::Geo(g) = &mut self.fields[i as usize] {
                g.points.insert(id, p);
                doc.geos.push(i);
            }
        }
        // Tags.
        for (i, v) in values.iter().enumerate() {
            let (Some(v), FieldKind::Tag(opts)) = (*v, &self.def.fields[i].kind) else {
                continue;
            };
            let tags = split_tags(
                v,
                opts.separator,
                opts.case_sensitive,
                self.def.fields[i].index_empty,
            );
            if let FieldIndex::Tag(t) = &mut self.fields[i] {
                if !tags.is_empty() {
                    t.add(id, &tags);
                    doc.tags.push((i as u16, tags));
                }
            }
        }
        // Text: count terms per field, then post them.
        let mut counts: HashMap<String, smallvec::SmallVec<[(u16, u32); 2]>> = HashMap::new();
        for (ord, &(fi, _, stems)) in self.text_fields.iter().enumerate() {
            let Some(v) = values[fi] else { continue };
            let ord = ord as u16;
            let stopwords = &self.stopwords;
            let mut len = 0u32;
            tokenize(v, |tok| {
                if stopwords.contains(&tok) {
                    return;
                }
                len += 1;
                let mut bump = |t: String| {
                    let e = counts.entry(t).or_default();
                    match e.iter_mut().find(|(f, _)| *f == ord) {
                        Some((_, c)) => *c += 1,
                        None => e.push((ord, 1)),
                    }
                };
                if stems {
                    if let Some(st) = stem(&tok) {
                        let mut k = String::with_capacity(st.len() + 1);
                        k.push(STEM_MARK);
                        k.push_str(&st);
                        bump(k);
                    }
                }
                bump(tok);
            });
            doc.text_len += len;
        }
        for (term, freqs) in counts {
            for (ord, c) in freqs {
                if !term.starts_with(STEM_MARK) {
                    doc.max_freq = doc.max_freq.max(c);
                }
                self.text.add(id, &term, ord, c);
            }
            doc.terms.push(term);
        }
        self.total_text_len += u64::from(doc.text_len);
        if expire_at_ms != 0 {
            self.expiries.insert((expire_at_ms, id));
        }
        self.doc_bytes += doc.approx_bytes();
        self.by_key.insert(key.to_vec(), id);
        self.docs.insert(id, Box::new(doc));
    }

    /// Drops `key`; true if it was indexed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(id) = self.by_key.remove(key) else {
            return false;
        };
        self.remove_id(id);
        true
    }

    fn remove_id(&mut self, id: DocId) {
        let Some(doc) = self.docs.remove(&id) else {
            return;
        };
        self.by_key.remove(doc.key.as_slice());
        if doc.expire != 0 {
            self.expiries.remove(&(doc.expire, id));
        }
        for (i, tags) in &doc.tags {
            if let FieldIndex::Tag(t) = &mut self.fields[*i as usize] {
                t.remove(id, tags);
            }
        }
        for &(i, x) in &doc.numerics {
            if let FieldIndex::Numeric(n) = &mut self.fields[i as usize] {
                n.remove(id, x);
            }
        }
        for &i in &doc.geos {
            if let FieldIndex::Geo(g) = &mut self.fields[i as usize] {
                g.points.remove(&id);
            }
        }
        for &i in &doc.vectors {
            if let FieldIndex::Vector(v) = &self.fields[i as usize] {
                v.remove(id);
            }
        }
        for t in &doc.terms {
            self.text.remove_doc_term(id, t);
        }
        self.total_text_len -= u64::from(doc.text_len);
        self.doc_bytes = self.doc_bytes.saturating_sub(doc.approx_bytes());
    }

    /// Earliest expiry among indexed documents.
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiries.first().map(|(t, _)| *t)
    }

    /// Drops documents whose expiry is strictly before `now_ms`, as Redis:
    /// a key is expired once the clock is past its time.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        while let Some(&(t, id)) = self.expiries.first() {
            if t >= now_ms {
                break;
            }
            self.remove_id(id);
            n += 1;
        }
        n
    }

    /// Drops every document (FLUSHDB keeps nothing; FT.DROPINDEX).
    pub fn clear(&mut self) {
        let ids: Vec<DocId> = self.docs.keys().copied().collect();
        for id in ids {
            self.remove_id(id);
        }
        self.by_key = HashMap::new();
        self.text = TextIndex::default();
        self.doc_bytes = 0;
    }

    pub fn stats(&self) -> IndexStats {
        let inverted_bytes = self
            .text
            .terms
            .iter()
            .map(|(t, p)| t.len() + 48 + p.len() * 24)
            .sum::<usize>()
            + self
                .fields
                .iter()
                .map(|f| match f {
                    FieldIndex::Tag(t) => t
                        .values
                        .iter()
                        .map(|(k, s)| k.len() + 48 + s.len() * 8)
                        .sum(),
                    FieldIndex::Numeric(n) => n.entries.len() * 16,
                    FieldIndex::Geo(g) => g.points.len() * 24,
                    _ => 0,
                })
                .sum::<usize>();
        IndexStats {
            num_docs: self.docs.len(),
            max_doc_id: self.max_doc_id,
            num_terms: self.text.num_terms(),
            num_records: self.text.records,
            hash_indexing_failures: self.failures,
            last_error: self.last_error.clone(),
            inverted_bytes,
            vector_bytes: self
                .fields
                .iter()
                .map(|f| match f {
                    FieldIndex::Vector(v) => v.memory_bytes(),
                    _ => 0,
                })
                .sum(),
            vector_backlog: self
                .fields
                .iter()
                .map(|f| match f {
                    FieldIndex::Vector(v) => v.backlog(),
                    _ => 0,
                })
                .sum(),
            doc_table_bytes: self.doc_bytes,
        }
    }

    pub fn search(&self, req: &SearchRequest<'_>) -> Result<SearchOutput, QueryError> {
        crate::query::eval::search(self, req)
    }

    /// FT.EXPLAIN's text for `query`.
    pub fn explain(&self, query: &str, params: &[(&[u8], &[u8])]) -> Result<String, QueryError> {
        let q = crate::query::parse(self, query, params, false)?;
        Ok(crate::query::explain::explain(self, &q))
    }

    /// FT.TAGVALS: distinct values of a TAG field, sorted.
    pub fn tag_values(&self, field: &str) -> Result<Vec<String>, QueryError> {
        let Some(i) = self.def.fields.iter().position(|f| f.name == field) else {
            return Err(QueryError(format!("No such field `{field}`")));
        };
        match &self.fields[i] {
            FieldIndex::Tag(t) => Ok(t.values.keys().cloned().collect()),
            _ => Err(QueryError(format!("Not a tag field `{field}`"))),
        }
    }

    /// The stored value of schema field `name` for document `id` (SORTBY,
    /// FT.AGGREGATE).
    pub fn doc_value(&self, id: DocId, name: &str) -> Option<&[u8]> {
        let i = self.def.fields.iter().position(|f| f.name == name)?;
        if matches!(self.def.fields[i].kind, FieldKind::Vector(_)) {
            return None;
        }
        self.docs.get(&id)?.values.get(i)?.as_deref()
    }

    /// The document id of `key`, if indexed.
    pub fn doc_id(&self, key: &[u8]) -> Option<DocId> {
        self.by_key.get(key).copied()
    }

    /// The key of document `id`.
    pub fn doc_key(&self, id: DocId) -> Option<&[u8]> {
        self.docs.get(&id).map(|d| d.key.as_slice())
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Case-folds `s` as a sortable value of field `i` is compared.
    pub(crate) fn sort_key_text(&self, i: usize, s: &[u8]) -> String {
        let s = String::from_utf8_lossy(s);
        if self.def.fields[i].unf {
            s.into_owned()
        } else {
            fold_case(&s)
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;

/// A 64-bit hash of a document's indexed values (see `Doc::fingerprint`).
fn fingerprint(
    state: &std::collections::hash_map::RandomState,
    values: &[Option<&[u8]>],
    score: Option<&[u8]>,
) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = state.build_hasher();
    values.hash(&mut h);
    score.hash(&mut h);
    h.finish()
}
