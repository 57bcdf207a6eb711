//! Per-field indexes: TAG (exact values), NUMERIC (ordered values), GEO
//! (points) and the TEXT inverted index. Each maps values to sorted
//! document-id sets; the index module keeps, per document, what it added
//! so a removal undoes exactly that.

use std::collections::{BTreeMap, BTreeSet};

use crate::DocId;

/// An `f64` with a total order, for ordered numeric keys (NaN is never
/// stored: non-numbers fail indexing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrdF64(pub f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

// ---------------------------------------------------------------------------
// TAG
// ---------------------------------------------------------------------------

/// Splits a TAG value on `sep`, trimming surrounding whitespace of each
/// piece (RediSearch ignores spaces around separators) and case-folding
/// unless the field is CASESENSITIVE. Empty pieces are dropped unless
/// `keep_empty` (INDEXEMPTY and the whole value is empty).
pub fn split_tags(value: &[u8], sep: u8, case_sensitive: bool, keep_empty: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in value.split(|&c| c == sep) {
        let s = String::from_utf8_lossy(piece);
        let t = s.trim();
        if t.is_empty() {
            continue;
        }
        let t = if case_sensitive {
            t.to_string()
        } else {
            crate::text::fold_case(t)
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.is_empty() && keep_empty && value.iter().all(|c| c.is_ascii_whitespace()) {
        out.push(String::new());
    }
    out
}

/// Exact-value sets of one TAG field. A BTreeMap so prefix queries are a
/// range scan and FT.TAGVALS comes out sorted.
#[derive(Debug, Default)]
pub struct TagIndex {
    pub values: BTreeMap<String, BTreeSet<DocId>>,
}

impl TagIndex {
    pub fn add(&mut self, id: DocId, tags: &[String]) {
        for t in tags {
            self.values.entry(t.clone()).or_default().insert(id);
        }
    }

    pub fn remove(&mut self, id: DocId, tags: &[String]) {
        for t in tags {
            if let Some(set) = self.values.get_mut(t) {
                set.remove(&id);
                if set.is_empty() {
                    self.values.remove(t);
                }
            }
        }
    }

    /// Documents carrying exactly `tag` (already case-folded as needed).
    pub fn exact(&self, tag: &str, out: &mut Vec<DocId>) {
        if let Some(set) = self.values.get(tag) {
            out.extend(set.iter().copied());
        }
    }

    /// Documents carrying a tag starting with `prefix`.
    pub fn prefix(&self, prefix: &str, out: &mut Vec<DocId>) {
        for (k, set) in self.values.range(prefix.to_string()..) {
            if !k.starts_with(prefix) {
                break;
            }
            out.extend(set.iter().copied());
        }
    }

    /// Documents with a tag matching a `*`/`?` pattern (suffix `*abc`,
    /// infix `*abc*`): a scan, as without a suffix trie.
    pub fn pattern(&self, pat: &str, out: &mut Vec<DocId>) {
        for (k, set) in &self.values {
            if glob(pat.as_bytes(), k.as_bytes()) {
                out.extend(set.iter().copied());
            }
        }
    }
}

/// Minimal glob (`*` any run, `?` one byte) for tag/term wildcards.
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

// ---------------------------------------------------------------------------
// NUMERIC
// ---------------------------------------------------------------------------

/// Parses a NUMERIC value as RediSearch accepts it: a float, with
/// surrounding spaces tolerated; `inf`/`-inf` allowed; NaN rejected.
pub fn parse_numeric(v: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(v).ok()?.trim();
    let x: f64 = s.parse().ok()?;
    (!x.is_nan()).then_some(x)
}

/// Values of one NUMERIC field, ordered by (value, doc) so a range query
/// is one ordered range scan.
#[derive(Debug, Default)]
pub struct NumericIndex {
    pub entries: BTreeSet<(OrdF64, DocId)>,
}

impl NumericIndex {
    pub fn add(&mut self, id: DocId, v: f64) {
        self.entries.insert((OrdF64(v), id));
    }

    pub fn remove(&mut self, id: DocId, v: f64) {
        self.entries.remove(&(OrdF64(v), id));
    }

    /// Documents with `min <(=) value <(=) max` (unsorted; caller sorts).
    pub fn range(&self, min: f64, min_excl: bool, max: f64, max_excl: bool, out: &mut Vec<DocId>) {
        if min > max || min.is_nan() || max.is_nan() {
            return;
        }
        let lo = (OrdF64(min), 0);
        for &(OrdF64(v), id) in self.entries.range(lo..) {
            if v > max || (max_excl && v == max) {
                break;
            }
            if min_excl && v == min {
                continue;
            }
            out.push(id);
        }
    }
}

// ---------------------------------------------------------------------------
// GEO
// ---------------------------------------------------------------------------

/// Parses `"lon,lat"` (also `"lon lat"`), within the ranges Redis GEOADD
/// accepts.
pub fn parse_geo(v: &[u8]) -> Option<(f64, f64)> {
    let s = std::str::from_utf8(v).ok()?;
    let (a, b) = s.split_once(',').or_else(|| s.trim().split_once(' '))?;
    let lon: f64 = a.trim().parse().ok()?;
    let lat: f64 = b.trim().parse().ok()?;
    ((-180.0..=180.0).contains(&lon) && (-85.051_128_78..=85.051_128_78).contains(&lat))
        .then_some((lon, lat))
}

/// Great-circle distance in metres, with the Earth radius Redis's GEO
/// commands use.
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    const R: f64 = 6_372_797.560_856;
    let (la1, la2) = (lat1.to_radians(), lat2.to_radians());
    let u = ((la2 - la1) / 2.0).sin();
    let v = ((lon2 - lon1).to_radians() / 2.0).sin();
    2.0 * R * (u * u + la1.cos() * la2.cos() * v * v).sqrt().asin()
}

/// Metres per unit (`m`, `km`, `mi`, `ft`; case-insensitive).
pub fn geo_unit(u: &str) -> Option<f64> {
    match u.to_ascii_lowercase().as_str() {
        "m" => Some(1.0),
        "km" => Some(1000.0),
        "mi" => Some(1609.34),
        "ft" => Some(0.3048),
        _ => None,
    }
}

/// Points of one GEO field.
#[derive(Debug, Default)]
pub struct GeoIndex {
    pub points: BTreeMap<DocId, (f64, f64)>,
}

impl GeoIndex {
    /// Documents within `radius_m` metres of (lon, lat), in id order.
    pub fn radius(&self, lon: f64, lat: f64, radius_m: f64, out: &mut Vec<DocId>) {
        for (&id, &(x, y)) in &self.points {
            if haversine_m(lon, lat, x, y) <= radius_m {
                out.push(id);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// TEXT
// ---------------------------------------------------------------------------

/// Occurrences of one term in one document: (text field ordinal, count).
pub type FieldFreqs = smallvec::SmallVec<[(u16, u32); 2]>;

/// The inverted index shared by all TEXT fields of an index: term →
/// postings sorted by doc id, each with per-field frequencies. Stems are
/// stored as separate terms prefixed by [`STEM_MARK`] so a query for
/// `runs` (stem `run`) finds documents that said `running`.
#[derive(Debug, Default)]
pub struct TextIndex {
    pub terms: BTreeMap<String, BTreeMap<DocId, FieldFreqs>>,
    /// Number of postings (FT.INFO `num_records`).
    pub records: usize,
}

/// Prefix of stem entries; not a character the tokeniser can produce
/// unescaped, and sorted apart from real terms.
pub const STEM_MARK: char = '\u{1}';

impl TextIndex {
    pub fn add(&mut self, id: DocId, term: &str, field: u16, count: u32) {
        let postings = self.terms.entry(term.to_string()).or_default();
        let freqs = postings.entry(id).or_insert_with(|| {
            self.records += 1;
            FieldFreqs::new()
        });
        match freqs.iter_mut().find(|(f, _)| *f == field) {
            Some((_, c)) => *c += count,
            None => freqs.push((field, count)),
        }
    }

    pub fn remove_doc_term(&mut self, id: DocId, term: &str) {
        if let Some(p) = self.terms.get_mut(term) {
            if p.remove(&id).is_some() {
                self.records -= 1;
            }
            if p.is_empty() {
                self.terms.remove(term);
            }
        }
    }

    /// Number of distinct real (non-stem) terms (FT.INFO `num_terms`).
    pub fn num_terms(&self) -> usize {
        self.terms
            .keys()
            .filter(|t| !t.starts_with(STEM_MARK))
            .count()
    }

    pub fn postings(&self, term: &str) -> Option<&BTreeMap<DocId, FieldFreqs>> {
        self.terms.get(term)
    }

    /// Real terms starting with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.terms
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(move |k| k.starts_with(prefix))
    }

    /// Real terms within edit distance `d` of `term`.
    pub fn fuzzy(&self, term: &str, d: usize) -> Vec<&String> {
        self.terms
            .keys()
            .filter(|k| !k.starts_with(STEM_MARK))
            .filter(|k| crate::text::edit_distance_within(term, k, d) <= d)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_split_trims_folds_and_dedups() {
        assert_eq!(
            split_tags(b" Red , blue,,RED ", b',', false, false),
            ["red", "blue"]
        );
        assert_eq!(split_tags(b"A;b", b';', true, false), ["A", "b"]);
        assert!(split_tags(b"", b',', false, false).is_empty());
        assert_eq!(split_tags(b"", b',', false, true), [""]);
    }

    #[test]
    fn tag_index_exact_prefix_pattern() {
        let mut t = TagIndex::default();
        t.add(1, &["apple".into(), "pie".into()]);
        t.add(2, &["apricot".into()]);
        t.add(3, &["banana".into()]);
        let mut v = Vec::new();
        t.exact("pie", &mut v);
        assert_eq!(v, [1]);
        v.clear();
        t.prefix("ap", &mut v);
        assert_eq!(v, [1, 2]);
        v.clear();
        t.pattern("*an*", &mut v);
        assert_eq!(v, [3]);
        t.remove(1, &["apple".into(), "pie".into()]);
        assert!(!t.values.contains_key("pie"));
    }

    #[test]
    fn numeric_ranges() {
        let mut n = NumericIndex::default();
        for (id, v) in [(1, 1.0), (2, 2.0), (3, 3.0), (4, f64::INFINITY), (5, -1.5)] {
            n.add(id, v);
        }
        fn q(n: &NumericIndex, a: f64, ae: bool, b: f64, be: bool) -> Vec<DocId> {
            let mut v = Vec::new();
            n.range(a, ae, b, be, &mut v);
            v.sort();
            v
        }
        assert_eq!(q(&n, 1.0, false, 3.0, false), [1, 2, 3]);
        assert_eq!(q(&n, 1.0, true, 3.0, true), [2]);
        assert_eq!(
            q(&n, f64::NEG_INFINITY, false, f64::INFINITY, false),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(q(&n, 3.0, false, 1.0, false), Vec::<DocId>::new());
        n.remove(2, 2.0);
        assert_eq!(q(&n, 1.0, false, 3.0, false), [1, 3]);
        assert_eq!(parse_numeric(b" 12.5 "), Some(12.5));
        assert_eq!(parse_numeric(b"abc"), None);
        assert_eq!(parse_numeric(b"nan"), None);
    }

    #[test]
    fn geo_parse_and_distance() {
        assert_eq!(parse_geo(b"-122.4194,37.7749"), Some((-122.4194, 37.7749)));
        assert_eq!(parse_geo(b"200,1"), None);
        assert_eq!(parse_geo(b"x,y"), None);
        // San Francisco → Oakland ≈ 13 km.
        let d = haversine_m(-122.4194, 37.7749, -122.2711, 37.8044);
        assert!((12_000.0..15_000.0).contains(&d), "{d}");
        let mut g = GeoIndex::default();
        g.points.insert(1, (-122.4194, 37.7749));
        g.points.insert(2, (-122.2711, 37.8044));
        let mut v = Vec::new();
        g.radius(-122.4194, 37.7749, 10.0 * geo_unit("km").unwrap(), &mut v);
        assert_eq!(v, [1]);
        v.clear();
        g.radius(-122.4194, 37.7749, 20.0 * geo_unit("MI").unwrap(), &mut v);
        assert_eq!(v, [1, 2]);
    }

    #[test]
    fn text_postings() {
        let mut t = TextIndex::default();
        t.add(1, "hello", 0, 2);
        t.add(1, "hello", 1, 1);
        t.add(2, "help", 0, 1);
        assert_eq!(t.records, 2);
        assert_eq!(
            t.postings("hello").unwrap()[&1].as_slice(),
            &[(0, 2), (1, 1)]
        );
        assert_eq!(t.with_prefix("hel").count(), 2);
        assert_eq!(t.fuzzy("hallo", 1), ["hello"]);
        t.remove_doc_term(1, "hello");
        assert!(t.postings("hello").is_none());
        assert_eq!(t.records, 1);
    }

    #[test]
    fn glob_matches() {
        assert!(glob(b"*an*", b"banana"));
        assert!(glob(b"b?n*", b"banana"));
        assert!(!glob(b"*x", b"banana"));
    }
}
