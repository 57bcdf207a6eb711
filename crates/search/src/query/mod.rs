//! The query language (dialect 2): parsing into a tree and evaluating it
//! against an index.
//!
//! - [`ast`]: the parsed tree.
//! - [`parser`]: text → tree, with RediSearch's error messages.
//! - [`eval`]: tree → matching documents, scores, order.
//! - [`explain`]: FT.EXPLAIN's rendering of a tree.

pub mod ast;
pub mod eval;
pub mod explain;
pub mod parser;

use crate::index::Index;
use crate::QueryError;

/// Parses `q` against `ix`'s schema with `params` substituted.
pub fn parse(
    ix: &Index,
    q: &str,
    params: &[(&[u8], &[u8])],
    no_stopwords: bool,
) -> Result<ast::Query, QueryError> {
    let env = parser::ParseEnv {
        def: &ix.def,
        text_ord: &ix.text_ord,
        stopwords: &ix.stopwords,
        no_stopwords,
        params,
    };
    parser::parse(q, &env)
}
