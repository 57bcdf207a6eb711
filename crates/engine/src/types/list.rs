//! The list type. (Being built out by the data-structures work: compact
//! and table encodings, with the operations the list commands need.)

use crate::listpack::ListPack;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum List {
    #[default]
    Empty,
    Pack(ListPack),
}

impl List {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            List::Empty => 0,
            List::Pack(lp) => lp.len(),
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
