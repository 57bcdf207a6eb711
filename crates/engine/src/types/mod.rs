//! The collection types stored under keys. Each starts in a compact
//! encoding (a [`ListPack`](crate::listpack::ListPack), or an intset for
//! small integer sets) and converts to a table-based one when it outgrows
//! the `*-max-listpack-*` limits, as Redis does; OBJECT ENCODING reports the
//! same names Redis would for the same data.

pub mod hash;
pub mod json;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;

/// Size limits for compact encodings (the `*-max-listpack-*` directives),
/// passed in by the command layer, which owns configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub set_entries: usize,
    pub set_value: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    /// `list-max-listpack-size`: positive = entries per node, negative = node byte size class.
    pub list_size: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            set_entries: 128,
            set_value: 64,
            zset_entries: 128,
            zset_value: 64,
            list_size: -2,
        }
    }
}
