//! Query evaluation: a parsed tree → sorted document-id lists, combined
//! with set operations, then scored, optionally narrowed by KNN, and
//! ordered as FT.SEARCH returns them.

use std::cmp::Ordering;

use hashbrown::HashMap;

use super::ast::{FieldMask, Node, Query, TagMatch, TermKind};
use crate::fields::STEM_MARK;
use crate::index::{Doc, FieldIndex, Hit, Index, SearchOutput, SearchRequest};
use crate::schema::FieldKind;
use crate::vector::QueryOpts;
use crate::{DocId, QueryError};

/// Intersection of two sorted id lists.
pub fn intersect(a: &[DocId], b: &[DocId]) -> Vec<DocId> {
    let (small, big) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let mut j = 0;
    for &x in small {
        while j < big.len() && big[j] < x {
            j += 1;
        }
        if j < big.len() && big[j] == x {
            out.push(x);
        }
    }
    out
}

/// `a` minus `b` (both sorted).
pub fn difference(a: &[DocId], b: &[DocId]) -> Vec<DocId> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

fn sort_dedup(mut v: Vec<DocId>) -> Vec<DocId> {
    v.sort_unstable();
    v.dedup();
    v
}

/// A text term that contributes to scores: the index keys it expanded to,
/// the fields it searched, its `$weight`.
struct ScoreTerm {
    keys: Vec<String>,
    mask: FieldMask,
    weight: f64,
}

/// Distances yielded by one VECTOR_RANGE node.
struct RangeDistances {
    name: Option<String>,
    by_doc: HashMap<DocId, f64>,
}

struct Eval<'a> {
    ix: &'a Index,
    default_mask: FieldMask,
    verbatim: bool,
    score_terms: Vec<ScoreTerm>,
    ranges: Vec<RangeDistances>,
}

impl Eval<'_> {
    fn all(&self) -> Vec<DocId> {
        self.ix.docs.keys().copied().collect()
    }

    fn eval(&mut self, n: &Node, negated: bool) -> Result<Vec<DocId>, QueryError> {
        Ok(match n {
            Node::All => self.all(),
            Node::Null => Vec::new(),
            Node::And(kids) => {
                let mut acc: Option<Vec<DocId>> = None;
                let mut exclude: Vec<Vec<DocId>> = Vec::new();
                let mut any = false;
                for k in kids {
                    match k {
                        // Stop words are simply not part of the query.
                        Node::Null => continue,
                        Node::Optional(x) => {
                            any = true;
                            let _ = self.eval(x, negated)?;
                        }
                        Node::Not(x) => {
                            any = true;
                            exclude.push(self.eval(x, !negated)?);
                        }
                        _ => {
                            any = true;
                            let ids = self.eval(k, negated)?;
                            acc = Some(match acc {
                                None => ids,
                                Some(a) => intersect(&a, &ids),
                            });
                        }
                    }
                }
                if !any {
                    return Ok(Vec::new());
                }
                let mut ids = acc.unwrap_or_else(|| self.all());
                for e in exclude {
                    ids = difference(&ids, &e);
                }
                ids
            }
            Node::Or(kids) => {
                let mut all = Vec::new();
                for k in kids {
                    all.extend(self.eval(k, negated)?);
                }
                sort_dedup(all)
            }
            Node::Not(x) => {
                let ex = self.eval(x, !negated)?;
                difference(&self.all(), &ex)
            }
            Node::Optional(x) => {
                let _ = self.eval(x, negated)?;
                self.all()
            }
            Node::Term {
                text,
                kind,
                fields,
                weight,
            } => self.term(text, kind, *fields, *weight, negated),
            Node::Phrase {
                terms,
                fields,
                weight,
            } => {
                let mut acc: Option<Vec<DocId>> = None;
                for t in terms {
                    let ids = self.term(t, &TermKind::Exact, *fields, *weight, negated);
                    acc = Some(match acc {
                        None => ids,
                        Some(a) => intersect(&a, &ids),
                    });
                }
                let mask = if *fields == u64::MAX {
                    self.default_mask
                } else {
                    *fields
                };
                let mut ids = acc.unwrap_or_default();
                ids.retain(|&id| self.phrase_in_doc(id, terms, mask));
                ids
            }
            Node::Tag { field, values } => {
                let FieldIndex::Tag(t) = &self.ix.fields[*field] else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                for v in values {
                    match v {
                        TagMatch::Exact(s) => t.exact(s, &mut out),
                        TagMatch::Prefix(s) => t.prefix(s, &mut out),
                        TagMatch::Pattern(s) => t.pattern(s, &mut out),
                    }
                }
                sort_dedup(out)
            }
            Node::Numeric {
                field,
                min,
                min_excl,
                max,
                max_excl,
            } => {
                let FieldIndex::Numeric(ni) = &self.ix.fields[*field] else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                ni.range(*min, *min_excl, *max, *max_excl, &mut out);
                sort_dedup(out)
            }
            Node::Geo {
                field,
                lon,
                lat,
                radius_m,
            } => {
                let FieldIndex::Geo(g) = &self.ix.fields[*field] else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                g.radius(*lon, *lat, *radius_m, &mut out);
                out
            }
            Node::VectorRange {
                field,
                radius,
                blob,
                yield_as,
                epsilon,
            } => {
                let FieldIndex::Vector(v) = &self.ix.fields[*field] else {
                    return Ok(Vec::new());
                };
                let opts = QueryOpts {
                    ef_runtime: None,
                    epsilon: *epsilon,
                };
                let hits = v
                    .range(blob, *radius, opts, None)
                    .map_err(|e| QueryError(e.to_string()))?;
                let ids = sort_dedup(hits.iter().map(|h| h.0).collect());
                if !negated {
                    self.ranges.push(RangeDistances {
                        name: yield_as.clone(),
                        by_doc: hits.into_iter().collect(),
                    });
                }
                ids
            }
            Node::Missing { field } => self
                .ix
                .docs
                .iter()
                // Documents indexed before FT.ALTER added the field have no
                // slot for it yet: missing too.
                .filter(|(_, d)| d.values.get(*field).is_none_or(|v| v.is_none()))
                .map(|(id, _)| *id)
                .collect(),
        })
    }

    /// Whether document `id` has `terms` as consecutive words of one of
    /// the TEXT fields in `mask`. The inverted index keeps no positions, so
    /// the candidate's stored text is re-tokenised instead (only documents
    /// that already contain every term get here). Stop words are skipped
    /// as at indexing; a word matches a query term exactly or by stem,
    /// unless VERBATIM.
    fn phrase_in_doc(&self, id: DocId, terms: &[String], mask: FieldMask) -> bool {
        let Some(doc) = self.ix.docs.get(&id) else {
            return false;
        };
        let stems: Vec<Option<String>> = terms.iter().map(|t| crate::text::stem(t)).collect();
        let matches = |word: &str, i: usize| {
            word == terms[i]
                || (!self.verbatim && {
                    let ws = crate::text::stem(word);
                    let qs = stems[i].as_deref().unwrap_or(&terms[i]);
                    ws.as_deref().unwrap_or(word) == qs
                })
        };
        for (ord, &(fi, _, stems_on)) in self.ix.text_fields.iter().enumerate() {
            if !in_mask(mask, ord as u16) {
                continue;
            }
            let Some(Some(text)) = doc.values.get(fi) else {
                continue;
            };
            let mut words = Vec::new();
            crate::text::tokenize(text, |t| {
                if !self.ix.stopwords.contains(&t) {
                    words.push(t)
                }
            });
            let found = words.windows(terms.len()).any(|w| {
                w.iter().enumerate().all(|(i, word)| {
                    if stems_on {
                        matches(word, i)
                    } else {
                        *word == terms[i]
                    }
                })
            });
            if found {
                return true;
            }
        }
        false
    }

    /// Documents containing a text term (or its expansions) in `fields`.
    fn term(
        &mut self,
        text: &str,
        kind: &TermKind,
        fields: FieldMask,
        weight: f64,
        negated: bool,
    ) -> Vec<DocId> {
        let mask = if fields == u64::MAX {
            self.default_mask
        } else {
            fields
        };
        let text_ix = &self.ix.text;
        let mut keys: Vec<String> = Vec::new();
        match kind {
            TermKind::Exact => {
                keys.push(text.to_string());
                if !self.verbatim {
                    // Documents index each word's stem under STEM_MARK; the
                    // query term matches them through its own stem, or as a
                    // stem itself (`run` finds `running`).
                    let mut k = String::with_capacity(text.len() + 1);
                    k.push(STEM_MARK);
                    k.push_str(text);
                    keys.push(k);
                    if let Some(st) = crate::text::stem(text) {
                        let mut k = String::with_capacity(st.len() + 1);
                        k.push(STEM_MARK);
                        k.push_str(&st);
                        keys.push(k);
                    }
                }
            }
            TermKind::Prefix => keys.extend(text_ix.with_prefix(text).cloned()),
            TermKind::Pattern => keys.extend(
                text_ix
                    .terms
                    .keys()
                    .filter(|k| !k.starts_with(STEM_MARK))
                    .filter(|k| crate::fields::glob(text.as_bytes(), k.as_bytes()))
                    .cloned(),
            ),
            TermKind::Fuzzy(d) => keys.extend(text_ix.fuzzy(text, *d).into_iter().cloned()),
        }
        let mut out = Vec::new();
        for k in &keys {
            if let Some(p) = text_ix.postings(k) {
                for (id, freqs) in p {
                    if freqs.iter().any(|(o, _)| in_mask(mask, *o)) {
                        out.push(*id);
                    }
                }
            }
        }
        if !negated {
            self.score_terms.push(ScoreTerm { keys, mask, weight });
        }
        sort_dedup(out)
    }
}

#[inline]
fn in_mask(mask: FieldMask, ord: u16) -> bool {
    ord < 64 && mask & (1u64 << ord) != 0
}

/// The scoring functions FT.SEARCH's SCORER accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scorer {
    TfIdf,
    TfIdfDocNorm,
    Bm25,
    DisMax,
    DocScore,
}

fn scorer(name: Option<&str>) -> Result<Scorer, QueryError> {
    let Some(n) = name else {
        return Ok(Scorer::TfIdf);
    };
    Ok(match n.to_ascii_uppercase().as_str() {
        "TFIDF" => Scorer::TfIdf,
        "TFIDF.DOCNORM" => Scorer::TfIdfDocNorm,
        "BM25" | "BM25STD" => Scorer::Bm25,
        "DISMAX" => Scorer::DisMax,
        "DOCSCORE" => Scorer::DocScore,
        _ => return Err(QueryError(format!("Could not find scorer {n}"))),
    })
}

impl Eval<'_> {
    /// Relevance of document `id` (`doc`) for the collected text terms.
    fn score_doc(&self, id: DocId, doc: &Doc, scorer: Scorer) -> f64 {
        if scorer == Scorer::DocScore || self.score_terms.is_empty() {
            return doc.score;
        }
        let n_docs = self.ix.docs.len().max(1) as f64;
        let avg_len = (self.ix.total_text_len as f64 / n_docs).max(1.0);
        let mut total = 0.0;
        for st in &self.score_terms {
            for k in &st.keys {
                let Some(p) = self.ix.text.postings(k) else {
                    continue;
                };
                let Some(freqs) = p.get(&id) else { continue };
                let tf: f64 = freqs
                    .iter()
                    .filter(|(o, _)| in_mask(st.mask, *o))
                    .map(|(o, c)| f64::from(*c) * self.ix.text_fields[*o as usize].1)
                    .sum();
                if tf == 0.0 {
                    continue;
                }
                let df = p.len() as f64;
                total += st.weight
                    * match scorer {
                        Scorer::TfIdf | Scorer::TfIdfDocNorm => {
                            // RediSearch's idf: the binary exponent of
                            // 1 + N/df (integer ratio).
                            let ratio = (n_docs / df).floor();
                            tf * (1.0 + ratio).log2().floor()
                        }
                        Scorer::Bm25 => {
                            const K1: f64 = 1.2;
                            const B: f64 = 0.75;
                            let idf = (1.0 + (n_docs - df + 0.5) / (df + 0.5)).ln();
                            let len = f64::from(doc.text_len);
                            idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len))
                        }
                        Scorer::DisMax => tf,
                        Scorer::DocScore => 0.0,
                    };
            }
        }
        match scorer {
            Scorer::TfIdf if doc.max_freq > 0 => total / f64::from(doc.max_freq) * doc.score,
            Scorer::TfIdfDocNorm if doc.text_len > 0 => total / f64::from(doc.text_len) * doc.score,
            Scorer::DisMax => total,
            _ => total * doc.score,
        }
    }
}

/// Runs one FT.SEARCH query (see [`Index::search`]).
pub fn search(ix: &Index, req: &SearchRequest<'_>) -> Result<SearchOutput, QueryError> {
    let q: Query = super::parse(ix, req.query, req.params, req.no_stopwords)?;
    let scorer = scorer(req.scorer)?;
    let mut default_mask = u64::MAX;
    if let Some(inf) = req.in_fields {
        default_mask = 0;
        for name in inf {
            if let Some(i) = ix.def.fields.iter().position(|f| f.name == *name) {
                if let Some(o) = ix.text_ord[i] {
                    if o < 64 {
                        default_mask |= 1 << o;
                    }
                }
            }
        }
    }
    let mut ev = Eval {
        ix,
        default_mask,
        verbatim: req.verbatim,
        score_terms: Vec::new(),
        ranges: Vec::new(),
    };
    let restricted = req.in_keys.is_some();
    // `*=>[KNN …]` with no INKEYS: the KNN hits replace the id list below
    // and no filter is passed, so listing every document (a walk over the
    // whole doc table per query) would be wasted work on the hot path.
    let mut ids = if q.knn.is_some() && q.root == Node::All && !restricted {
        Vec::new()
    } else {
        ev.eval(&q.root, false)?
    };
    if let Some(keys) = req.in_keys {
        let wanted = sort_dedup(
            keys.iter()
                .filter_map(|k| ix.by_key.get(*k).copied())
                .collect(),
        );
        ids = intersect(&ids, &wanted);
    }

    let mut yielded: Vec<String> = Vec::new();
    let mut knn_dist: Option<HashMap<DocId, f64>> = None;
    if let Some(knn) = &q.knn {
        yielded.push(knn.score_name.clone());
        let hits = match knn.field.map(|f| &ix.fields[f]) {
            Some(FieldIndex::Vector(v)) if knn.k > 0 => {
                let filter = (q.root != Node::All || restricted).then_some(ids.as_slice());
                let opts = QueryOpts {
                    ef_runtime: knn.ef_runtime,
                    epsilon: knn.epsilon,
                };
                v.knn(&knn.blob, knn.k, opts, filter)
                    .map_err(|e| QueryError(e.to_string()))?
            }
            Some(FieldIndex::Vector(v)) => {
                // K = 0 still validates the query vector.
                let want = v.params().blob_len();
                if knn.blob.len() != want {
                    return Err(QueryError(
                        crate::vector::VectorError::QueryBlobSize {
                            got: knn.blob.len(),
                            want,
                        }
                        .to_string(),
                    ));
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        ids = sort_dedup(hits.iter().map(|h| h.0).collect());
        knn_dist = Some(hits.into_iter().collect());
    }
    for r in &ev.ranges {
        if let Some(n) = &r.name {
            if !yielded.contains(n) {
                yielded.push(n.clone());
            }
        }
    }

    let mut hits: Vec<Hit> = Vec::with_capacity(ids.len());
    for &id in &ids {
        let Some(doc) = ix.docs.get(&id) else {
            continue;
        };
        let mut y = Vec::with_capacity(yielded.len());
        for name in &yielded {
            let v = match &knn_dist {
                Some(d) if q.knn.as_ref().is_some_and(|k| &k.score_name == name) => {
                    d.get(&id).copied()
                }
                _ => ev
                    .ranges
                    .iter()
                    .find(|r| r.name.as_deref() == Some(name.as_str()))
                    .and_then(|r| r.by_doc.get(&id).copied()),
            };
            y.push(v.unwrap_or(f64::NAN));
        }
        hits.push(Hit {
            id,
            key: doc.key.clone(),
            score: ev.score_doc(id, doc, scorer),
            yielded: y,
        });
    }
    let total = hits.len();

    // Order.
    if let Some((name, asc)) = req.sort_by {
        if let Some(pos) = yielded.iter().position(|y| y == name) {
            sort_missing_last(&mut hits, asc, |h| {
                let v = h.yielded[pos];
                (!v.is_nan()).then_some(SortVal::Num(v))
            });
        } else if let Some(fi) = ix.def.fields.iter().position(|f| f.name == name) {
            let numeric = matches!(ix.def.fields[fi].kind, FieldKind::Numeric);
            sort_missing_last(&mut hits, asc, |h| {
                let raw = ix.docs.get(&h.id)?.values.get(fi)?.as_deref()?;
                if numeric {
                    crate::fields::parse_numeric(raw).map(SortVal::Num)
                } else {
                    Some(SortVal::Str(ix.sort_key_text(fi, raw)))
                }
            });
        } else {
            return Err(QueryError(format!(
                "Property `{name}` not loaded nor in schema"
            )));
        }
    } else if let Some(d) = &knn_dist {
        hits.sort_by(|a, b| {
            let da = d.get(&a.id).copied().unwrap_or(f64::INFINITY);
            let db = d.get(&b.id).copied().unwrap_or(f64::INFINITY);
            da.total_cmp(&db).then(a.id.cmp(&b.id))
        });
    } else if let Some(r) = ev.ranges.first() {
        hits.sort_by(|a, b| {
            let da = r.by_doc.get(&a.id).copied().unwrap_or(f64::INFINITY);
            let db = r.by_doc.get(&b.id).copied().unwrap_or(f64::INFINITY);
            da.total_cmp(&db).then(a.id.cmp(&b.id))
        });
    } else {
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    }
    Ok(SearchOutput {
        total,
        hits,
        yielded,
    })
}

/// A sort key: numbers for NUMERIC fields and distances, text otherwise.
#[derive(Debug, Clone, PartialEq)]
enum SortVal {
    Num(f64),
    Str(String),
}

fn cmp_val(a: &SortVal, b: &SortVal) -> Ordering {
    match (a, b) {
        (SortVal::Num(x), SortVal::Num(y)) => x.total_cmp(y),
        (SortVal::Str(x), SortVal::Str(y)) => x.cmp(y),
        (SortVal::Num(_), SortVal::Str(_)) => Ordering::Less,
        (SortVal::Str(_), SortVal::Num(_)) => Ordering::Greater,
    }
}

/// Sorts by `key` (ascending or descending), documents without a value
/// last in either direction, ties by doc id.
fn sort_missing_last(hits: &mut [Hit], asc: bool, key: impl Fn(&Hit) -> Option<SortVal>) {
    let mut keyed: Vec<(Option<SortVal>, usize)> =
        hits.iter().enumerate().map(|(i, h)| (key(h), i)).collect();
    keyed.sort_by(|(ka, ia), (kb, ib)| {
        let ord = match (ka, kb) {
            (Some(a), Some(b)) => {
                let o = cmp_val(a, b);
                if asc {
                    o
                } else {
                    o.reverse()
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        ord.then(hits[*ia].id.cmp(&hits[*ib].id))
    });
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let sorted: Vec<Hit> = order.iter().map(|&i| hits[i].clone()).collect();
    hits.clone_from_slice(&sorted);
}
