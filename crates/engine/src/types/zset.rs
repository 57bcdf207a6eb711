//! The zset type. (Being built out by the data-structures work: compact
//! and table encodings, with the operations the zset commands need.)

use crate::listpack::ListPack;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum ZSet {
    #[default]
    Empty,
    Pack(ListPack),
}

impl ZSet {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ZSet::Empty => 0,
            ZSet::Pack(lp) => lp.len(),
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
