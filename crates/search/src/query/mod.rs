//! The query language (dialect 2): parsing into a tree and evaluating it
//! against an index.
