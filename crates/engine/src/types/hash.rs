//! The hash type. (Being built out by the data-structures work: compact
//! and table encodings, with the operations the hash commands need.)

use crate::listpack::ListPack;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Hash {
    #[default]
    Empty,
    Pack(ListPack),
}

impl Hash {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Hash::Empty => 0,
            Hash::Pack(lp) => lp.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
