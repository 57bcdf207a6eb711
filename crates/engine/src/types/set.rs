//! The set type. (Being built out by the data-structures work: compact
//! and table encodings, with the operations the set commands need.)

use crate::listpack::ListPack;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Set {
    #[default]
    Empty,
    Pack(ListPack),
}

impl Set {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Set::Empty => 0,
            Set::Pack(lp) => lp.len(),
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
