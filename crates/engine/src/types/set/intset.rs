//! A sorted set of integers packed at the narrowest width that holds them
//! all (1, 2, 4 or 8 bytes, little-endian): the encoding of sets whose
//! members are all integers (OBJECT ENCODING `intset`).
//!
//! Small sets of small integers are the common case (tag ids, user ids,
//! shard numbers), so the bytes live *inline* in the struct while they fit
//! ([`INLINE`] bytes: 29 one-byte, 14 two-byte, 7 four-byte or 3 eight-byte
//! members) and a set of ten small integers costs no allocation beyond the
//! box the key already holds. Larger sets use one exact-size heap slice, as
//! Redis's intset does: sets live below `set-max-intset-entries` (512) in
//! this encoding, where copying on insert is cheaper than any tree.
//!
//! Membership is a binary search; insertion and removal shift the tail.

/// Bytes of members stored without a heap allocation. Chosen so that the
/// whole `IntSet` (and therefore `Set`) is 32 bytes, one jemalloc size class.
pub const INLINE: usize = 29;

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Inline {
        width: u8,
        len: u8,
        buf: [u8; INLINE],
    },
    Heap {
        width: u8,
        data: Box<[u8]>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntSet {
    repr: Repr,
}

impl Default for IntSet {
    fn default() -> Self {
        Self::new()
    }
}

/// The narrowest width (in bytes) that holds `v`.
#[inline]
fn width_for(v: i64) -> u8 {
    if i8::try_from(v).is_ok() {
        1
    } else if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

#[inline]
fn read(bytes: &[u8], width: u8, i: usize) -> i64 {
    let w = width as usize;
    let s = &bytes[i * w..i * w + w];
    match width {
        1 => s[0] as i8 as i64,
        2 => i16::from_le_bytes([s[0], s[1]]) as i64,
        4 => i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64,
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            i64::from_le_bytes(b)
        }
    }
}

#[inline]
fn write(out: &mut [u8], width: u8, v: i64) {
    let w = width as usize;
    out[..w].copy_from_slice(&v.to_le_bytes()[..w]);
}

impl IntSet {
    pub fn new() -> Self {
        IntSet {
            repr: Repr::Inline {
                width: 1,
                len: 0,
                buf: [0; INLINE],
            },
        }
    }

    #[inline]
    fn width(&self) -> u8 {
        match &self.repr {
            Repr::Inline { width, .. } | Repr::Heap { width, .. } => *width,
        }
    }

    /// The packed member bytes.
    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.repr {
            Repr::Inline { width, len, buf } => &buf[..*len as usize * *width as usize],
            Repr::Heap { data, .. } => data,
        }
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Inline { len, .. } => *len as usize,
            Repr::Heap { width, data } => data.len() / *width as usize,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Member number `i` in ascending order.
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        read(self.bytes(), self.width(), i)
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        let (bytes, width) = (self.bytes(), self.width());
        (0..self.len()).map(move |i| read(bytes, width, i))
    }

    /// `Ok(index)` of `v`, or `Err(insertion point)`.
    fn search(&self, v: i64) -> Result<usize, usize> {
        // A value wider than the set's width cannot be in it, and belongs at
        // one end.
        if width_for(v) > self.width() {
            return Err(if v < 0 { 0 } else { self.len() });
        }
        let (bytes, width) = (self.bytes(), self.width());
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let m = read(bytes, width, mid);
            if m == v {
                return Ok(mid);
            }
            if m < v {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    /// Adds `v`; false if it was already present.
    pub fn insert(&mut self, v: i64) -> bool {
        let pos = match self.search(v) {
            Ok(_) => return false,
            Err(p) => p,
        };
        let old_w = self.width();
        let new_w = old_w.max(width_for(v));
        let n = self.len();
        let need = (n + 1) * new_w as usize;
        if new_w == old_w {
            if let Repr::Inline { len, buf, width } = &mut self.repr {
                if need <= INLINE {
                    let w = *width as usize;
                    buf.copy_within(pos * w..n * w, (pos + 1) * w);
                    write(&mut buf[pos * w..], *width, v);
                    *len += 1;
                    return true;
                }
            }
        }
        // Rebuild at the (possibly wider) width into exactly-sized storage.
        let mut out = vec![0u8; need];
        let nw = new_w as usize;
        let mut at = 0;
        for (i, m) in self.iter().enumerate() {
            if i == pos {
                write(&mut out[at..], new_w, v);
                at += nw;
            }
            write(&mut out[at..], new_w, m);
            at += nw;
        }
        if pos == n {
            write(&mut out[at..], new_w, v);
        }
        self.repr = Self::store(new_w, out);
        true
    }

    /// Storage for `bytes` packed at `width`: inline when it fits.
    fn store(width: u8, bytes: Vec<u8>) -> Repr {
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(&bytes);
            Repr::Inline {
                width,
                len: (bytes.len() / width as usize) as u8,
                buf,
            }
        } else {
            Repr::Heap {
                width,
                data: bytes.into_boxed_slice(),
            }
        }
    }

    /// Removes `v`; false if it was absent.
    pub fn remove(&mut self, v: i64) -> bool {
        match self.search(v) {
            Ok(i) => {
                self.remove_at(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes member number `i` (ascending order) and returns it.
    pub fn remove_at(&mut self, i: usize) -> i64 {
        let v = self.get(i);
        let n = self.len();
        match &mut self.repr {
            Repr::Inline { width, len, buf } => {
                let w = *width as usize;
                buf.copy_within((i + 1) * w..n * w, i * w);
                *len -= 1;
            }
            Repr::Heap { width, data } => {
                let w = *width as usize;
                let mut out = Vec::with_capacity(data.len() - w);
                out.extend_from_slice(&data[..i * w]);
                out.extend_from_slice(&data[(i + 1) * w..]);
                // Width never shrinks (as in Redis): removal only moves the
                // set back inline when the bytes fit.
                self.repr = Self::store(*width, out);
            }
        }
        v
    }

    /// Heap bytes owned beyond the struct itself.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Inline { .. } => 0,
            Repr::Heap { data, .. } => data.len(),
        }
    }

    /// Text length of the longest member (for the listpack value limit
    /// when the set converts).
    pub fn max_text_len(&self) -> usize {
        match (self.iter().next(), self.iter().next_back()) {
            (Some(lo), Some(hi)) => {
                let mut b = crate::value::itoa_buf::Buf::new();
                let a = b.format(lo).len();
                a.max(b.format(hi).len())
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn size_is_one_size_class() {
        assert_eq!(std::mem::size_of::<IntSet>(), 32);
    }

    #[test]
    fn widths_grow_and_order_holds() {
        let mut s = IntSet::new();
        assert!(s.insert(5));
        assert!(!s.insert(5));
        assert!(s.insert(-3));
        assert_eq!(s.width(), 1);
        assert!(s.insert(300));
        assert_eq!(s.width(), 2);
        assert!(s.insert(i64::MIN));
        assert!(s.insert(i64::MAX));
        assert_eq!(s.width(), 8);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![i64::MIN, -3, 5, 300, i64::MAX]
        );
        assert!(s.contains(300) && !s.contains(301));
        assert!(s.remove(i64::MIN));
        assert!(!s.remove(i64::MIN));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-3, 5, 300, i64::MAX]);
        assert_eq!(s.max_text_len(), 19);
    }

    #[test]
    fn inline_spills_to_heap_and_back() {
        let mut s = IntSet::new();
        for i in 0..20 {
            s.insert(i * 1000);
        }
        assert!(s.heap_size() > 0);
        for i in 0..15 {
            s.remove(i * 1000);
        }
        assert_eq!(s.heap_size(), 0);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            (15..20).map(|i| i * 1000).collect::<Vec<_>>()
        );
    }

    proptest::proptest! {
        #[test]
        fn matches_a_btreeset(ops in proptest::collection::vec((proptest::prelude::any::<bool>(), proptest::prelude::any::<i64>(), 0u8..4), 0..200)) {
            let mut s = IntSet::new();
            let mut model = BTreeSet::new();
            for (add, raw, scale) in ops {
                // Mix small and wide values so every width is exercised.
                let v = match scale { 0 => raw % 100, 1 => raw % 40000, 2 => raw % 3_000_000_000, _ => raw };
                if add {
                    proptest::prop_assert_eq!(s.insert(v), model.insert(v));
                } else {
                    proptest::prop_assert_eq!(s.remove(v), model.remove(&v));
                }
                proptest::prop_assert_eq!(s.len(), model.len());
                proptest::prop_assert!(s.iter().eq(model.iter().copied()));
            }
        }
    }
}
