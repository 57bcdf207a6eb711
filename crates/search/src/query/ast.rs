//! The parsed form of a dialect-2 query. Field references are resolved to
//! schema positions at parse time, so evaluation never looks names up.

/// Which TEXT fields a term searches: a bitmask over the index's text-field
/// ordinals (`u64::MAX` = all of them).
pub type FieldMask = u64;

/// How a text term matches indexed terms.
#[derive(Debug, Clone, PartialEq)]
pub enum TermKind {
    /// The term itself (and its stem unless VERBATIM/NOSTEM).
    Exact,
    /// `abc*`
    Prefix,
    /// `*abc` or `*abc*`: a glob over the term dictionary.
    Pattern,
    /// `%abc%` (distance 1), `%%abc%%` (2), `%%%abc%%%` (3).
    Fuzzy(usize),
}

/// One value inside `@tag:{…}`.
#[derive(Debug, Clone, PartialEq)]
pub enum TagMatch {
    Exact(String),
    Prefix(String),
    /// Suffix/infix (`*abc`, `*abc*`): a glob over the field's values.
    Pattern(String),
}

/// A query tree node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `*`: every document.
    All,
    /// Matches nothing (a stop word on its own, KNN on a non-vector field);
    /// inside AND/OR it is neutral when it stems from a stop word.
    Null,
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// `~x`: does not filter, only adds score.
    Optional(Box<Node>),
    Term {
        text: String,
        kind: TermKind,
        fields: FieldMask,
        weight: f64,
    },
    /// `"a b c"`: documents with all terms (the inverted index's
    /// intersection) whose stored text has them adjacent and in order.
    Phrase {
        terms: Vec<String>,
        fields: FieldMask,
        weight: f64,
    },
    Tag {
        field: usize,
        values: Vec<TagMatch>,
    },
    Numeric {
        field: usize,
        min: f64,
        min_excl: bool,
        max: f64,
        max_excl: bool,
    },
    Geo {
        field: usize,
        lon: f64,
        lat: f64,
        radius_m: f64,
    },
    VectorRange {
        field: usize,
        radius: f64,
        blob: Vec<u8>,
        /// `$YIELD_DISTANCE_AS`
        yield_as: Option<String>,
        epsilon: Option<f64>,
    },
    /// `ismissing(@f)`
    Missing {
        field: usize,
    },
}

/// `=>[KNN …]`
#[derive(Debug, Clone, PartialEq)]
pub struct Knn {
    pub k: usize,
    /// Schema position of the vector field; `None` when the named field is
    /// not a vector field (the query then has no results, as RediSearch).
    pub field: Option<usize>,
    pub field_name: String,
    pub blob_param: String,
    pub blob: Vec<u8>,
    pub ef_runtime: Option<usize>,
    pub epsilon: Option<f64>,
    pub hybrid_policy: Option<String>,
    pub batch_size: Option<usize>,
    /// Distance field name: `AS x`, else `__<field>_score`.
    pub score_name: String,
}

/// A whole query: the filter tree and an optional KNN clause over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub root: Node,
    pub knn: Option<Knn>,
}
