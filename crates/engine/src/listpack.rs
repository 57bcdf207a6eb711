//! A compact sequence of small items in one contiguous buffer: the storage
//! for small hashes, sets, sorted sets and lists (what Redis calls a
//! listpack; this encoding is Quiver's own).
//!
//! Small collections are by far the most common, and storing them as one
//! allocation instead of a table of separately allocated nodes is what keeps
//! their memory per key close to Redis's. Operations are linear scans, which
//! is fast at the sizes where it is used (up to the `*-max-listpack-*`
//! limits, 128 entries of 64 bytes by default).
//!
//! Each item starts with a LEB128 varint header `h`:
//! - `h & 3 == 0`: a byte string of length `h >> 2` follows;
//! - `h & 3 == 1`: an integer, zigzag-encoded in `h >> 2` (no payload);
//! - `h & 3 == 2`: an f64 follows as 8 little-endian bytes.
//!
//! Byte strings that are canonical integers are stored as integers (usually
//! one or two bytes), as Redis does.

use crate::value::parse_canonical_i64;

/// One item, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item<'a> {
    Bytes(&'a [u8]),
    Int(i64),
    Float(f64),
}

impl<'a> Item<'a> {
    /// Compares with a byte string as Redis would: integers compare equal to
    /// their canonical decimal text.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match *self {
            Item::Bytes(b) => b == other,
            Item::Int(i) => parse_canonical_i64(other) == Some(i),
            Item::Float(_) => false,
        }
    }

    /// The item as bytes; integers are formatted into `scratch`.
    pub fn as_bytes<'s>(&'s self, scratch: &'s mut crate::value::itoa_buf::Buf) -> &'s [u8]
    where
        'a: 's,
    {
        match self {
            Item::Bytes(b) => b,
            Item::Int(i) => scratch.format(*i),
            Item::Float(_) => b"",
        }
    }

    /// The item as an owned byte vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = crate::value::itoa_buf::Buf::new();
        self.as_bytes(&mut scratch).to_vec()
    }

    /// Numeric value (integers and floats; byte strings parse as floats).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Item::Int(i) => Some(i as f64),
            Item::Float(f) => Some(f),
            Item::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }
}

/// Integers whose zigzag form, shifted left by two, still fits in a u64.
const INT_LIMIT: i64 = 1 << 61;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPack {
    buf: Vec<u8>,
    count: u32,
}

#[inline]
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `pos`; returns (value, bytes used).
#[inline]
fn get_varint(buf: &[u8], pos: usize) -> (u64, usize) {
    let mut v = 0u64;
    let mut shift = 0;
    let mut i = pos;
    while i < buf.len() {
        let b = buf[i];
        v |= ((b & 0x7f) as u64) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift >= 64 {
            break;
        }
    }
    (v, i - pos)
}

/// Encodes one item into `out`.
fn encode(out: &mut Vec<u8>, item: Item<'_>) {
    match item {
        Item::Bytes(b) => match parse_canonical_i64(b) {
            Some(i) if (-INT_LIMIT..INT_LIMIT).contains(&i) => {
                put_varint(out, (zigzag(i) << 2) | 1)
            }
            _ => {
                put_varint(out, (b.len() as u64) << 2);
                out.extend_from_slice(b);
            }
        },
        Item::Int(i) if (-INT_LIMIT..INT_LIMIT).contains(&i) => {
            put_varint(out, (zigzag(i) << 2) | 1)
        }
        Item::Int(i) => {
            let mut s = crate::value::itoa_buf::Buf::new();
            let b = s.format(i);
            put_varint(out, (b.len() as u64) << 2);
            out.extend_from_slice(b);
        }
        Item::Float(f) => {
            put_varint(out, 2);
            out.extend_from_slice(&f.to_le_bytes());
        }
    }
}

/// Appends one item, in this module's item format, to `out`. With
/// [`decode_item`], lets a type keep items in storage of its own (the hash
/// type packs them into one exact-size allocation).
pub fn encode_item(out: &mut Vec<u8>, item: Item<'_>) {
    encode(out, item)
}

/// Decodes the item at byte offset `pos` of `buf` (a sequence written by
/// [`encode_item`]); returns it and the offset of the next one.
#[inline]
pub fn decode_item(buf: &[u8], pos: usize) -> (Item<'_>, usize) {
    let (h, n) = get_varint(buf, pos);
    let body = pos + n;
    match h & 3 {
        1 => (Item::Int(unzigzag(h >> 2)), body),
        2 => {
            let mut b = [0u8; 8];
            if let Some(src) = buf.get(body..body + 8) {
                b.copy_from_slice(src);
            }
            (Item::Float(f64::from_le_bytes(b)), body + 8)
        }
        _ => {
            let len = (h >> 2) as usize;
            let end = (body + len).min(buf.len());
            (Item::Bytes(&buf[body.min(end)..end]), end)
        }
    }
}

fn encoded(item: Item<'_>) -> smallvec::SmallVec<[u8; 72]> {
    let mut v = Vec::new();
    encode(&mut v, item);
    smallvec::SmallVec::from_vec(v)
}

impl ListPack {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held (for memory reporting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Decodes the item at byte offset `pos`; returns it and the offset of the next one.
    #[inline]
    pub fn item_at(&self, pos: usize) -> (Item<'_>, usize) {
        decode_item(&self.buf, pos)
    }

    /// Iterates items with their byte offsets.
    pub fn iter_with_offsets(&self) -> impl Iterator<Item = (usize, Item<'_>)> + '_ {
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= self.buf.len() {
                return None;
            }
            let start = pos;
            let (item, next) = self.item_at(pos);
            pos = next;
            Some((start, item))
        })
    }

    /// Iterates items.
    pub fn iter(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        self.iter_with_offsets().map(|(_, i)| i)
    }

    /// Byte offset of item `index` (or the end offset when `index == len`).
    pub fn offset_of(&self, index: usize) -> Option<usize> {
        if index > self.len() {
            return None;
        }
        if index == self.len() {
            return Some(self.buf.len());
        }
        self.iter_with_offsets().nth(index).map(|(o, _)| o)
    }

    /// Item number `index`.
    pub fn get(&self, index: usize) -> Option<Item<'_>> {
        self.iter().nth(index)
    }

    /// Appends an item.
    pub fn push_back(&mut self, item: Item<'_>) {
        let enc = encoded(item);
        self.buf.reserve_exact(enc.len());
        self.buf.extend_from_slice(&enc);
        self.count += 1;
    }

    /// Prepends an item.
    pub fn push_front(&mut self, item: Item<'_>) {
        self.insert_at_offset(0, item);
    }

    /// Inserts an item at byte offset `pos` (an item boundary).
    pub fn insert_at_offset(&mut self, pos: usize, item: Item<'_>) {
        let enc = encoded(item);
        self.buf.reserve_exact(enc.len());
        let pos = pos.min(self.buf.len());
        self.buf.splice(pos..pos, enc.iter().copied());
        self.count += 1;
    }

    /// Removes the item at byte offset `pos`; returns the offset that now
    /// holds the following item.
    pub fn remove_at_offset(&mut self, pos: usize) -> usize {
        let (_, next) = self.item_at(pos);
        self.buf.drain(pos..next);
        self.count -= 1;
        self.shrink();
        pos
    }

    /// Removes `n` consecutive items starting at byte offset `pos`.
    pub fn remove_range_at_offset(&mut self, pos: usize, n: usize) {
        let mut end = pos;
        let mut removed = 0;
        while removed < n && end < self.buf.len() {
            end = self.item_at(end).1;
            removed += 1;
        }
        self.buf.drain(pos..end);
        self.count -= removed as u32;
        self.shrink();
    }

    /// Replaces the item at byte offset `pos`.
    pub fn replace_at_offset(&mut self, pos: usize, item: Item<'_>) {
        let (_, next) = self.item_at(pos);
        let enc = encoded(item);
        self.buf.splice(pos..next, enc.iter().copied());
    }

    /// Finds the first item equal to `needle` at an index that is a multiple
    /// of `stride` (stride 2 searches the keys of a field/value layout).
    /// Returns (index, byte offset).
    pub fn find(&self, needle: &[u8], stride: usize) -> Option<(usize, usize)> {
        let stride = stride.max(1);
        self.iter_with_offsets()
            .enumerate()
            .filter(|(i, _)| i % stride == 0)
            .find(|(_, (_, item))| item.eq_bytes(needle))
            .map(|(i, (o, _))| (i, o))
    }

    /// Appends an item for a push path (list RPUSH): encodes straight into
    /// the buffer (no temporary) and grows it geometrically once it is past
    /// small sizes, so long runs of pushes cost amortised O(1) instead of a
    /// reallocation each. Returns the item's encoded size.
    pub fn push_back_grow(&mut self, item: Item<'_>) -> usize {
        self.reserve_for(item);
        let before = self.buf.len();
        encode(&mut self.buf, item);
        self.count += 1;
        self.buf.len() - before
    }

    /// Inserts an item at byte offset `pos` (an item boundary; `0` prepends)
    /// like [`push_back_grow`](Self::push_back_grow): encoded at the end and
    /// rotated into place, so no temporary buffer is allocated. Returns the
    /// item's encoded size.
    pub fn insert_at_offset_grow(&mut self, pos: usize, item: Item<'_>) -> usize {
        self.reserve_for(item);
        let before = self.buf.len();
        encode(&mut self.buf, item);
        let n = self.buf.len() - before;
        let pos = pos.min(before);
        self.buf[pos..].rotate_right(n);
        self.count += 1;
        n
    }

    /// Reserves room for at least `additional` more bytes, growing
    /// geometrically (for callers that know the pack will keep growing,
    /// such as the nodes of a long list).
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Byte offset of the last item (`None` when empty). A forward scan:
    /// items carry no back-links, which keeps them one byte smaller.
    pub fn last_offset(&self) -> Option<usize> {
        self.iter_with_offsets().last().map(|(o, _)| o)
    }

    /// Makes room for `item`: exact growth while the buffer is small (the
    /// allocator's size classes absorb it and small collections stay tight),
    /// doubling beyond that.
    fn reserve_for(&mut self, item: Item<'_>) {
        let need = match item {
            Item::Bytes(b) => b.len() + 10,
            _ => 18,
        };
        if self.buf.capacity() - self.buf.len() >= need {
            return;
        }
        if self.buf.len() < 256 {
            self.buf.reserve_exact(need);
        } else {
            self.buf.reserve(need);
        }
    }

    /// Releases spare capacity after removals so small values stay small.
    fn shrink(&mut self) {
        if self.buf.capacity() > self.buf.len() * 2 + 16 {
            self.buf.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_iterate_remove() {
        let mut lp = ListPack::new();
        lp.push_back(Item::Bytes(b"field"));
        lp.push_back(Item::Bytes(b"123"));
        lp.push_back(Item::Bytes(b"0123"));
        lp.push_front(Item::Int(-5));
        lp.push_back(Item::Float(1.5));
        let items: Vec<Item> = lp.iter().collect();
        assert_eq!(
            items,
            vec![
                Item::Int(-5),
                Item::Bytes(b"field"),
                Item::Int(123),
                Item::Bytes(b"0123"),
                Item::Float(1.5)
            ]
        );
        assert_eq!(lp.len(), 5);
        let (idx, off) = lp.find(b"123", 1).unwrap();
        assert_eq!(idx, 2);
        lp.replace_at_offset(off, Item::Bytes(b"a much longer replacement value"));
        assert_eq!(
            lp.get(2),
            Some(Item::Bytes(b"a much longer replacement value"))
        );
        let off = lp.offset_of(1).unwrap();
        lp.remove_at_offset(off);
        assert_eq!(lp.len(), 4);
        assert_eq!(
            lp.get(1),
            Some(Item::Bytes(b"a much longer replacement value"))
        );
        lp.remove_range_at_offset(0, 2);
        assert_eq!(
            lp.iter().collect::<Vec<_>>(),
            vec![Item::Bytes(b"0123"), Item::Float(1.5)]
        );
    }

    #[test]
    fn integers_round_trip_at_the_edges() {
        let mut lp = ListPack::new();
        for v in [
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            INT_LIMIT - 1,
            -INT_LIMIT,
            INT_LIMIT,
        ] {
            lp.push_back(Item::Int(v));
        }
        let mut scratch = crate::value::itoa_buf::Buf::new();
        let texts: Vec<Vec<u8>> = lp
            .iter()
            .map(|i| i.as_bytes(&mut scratch).to_vec())
            .collect();
        let want: Vec<Vec<u8>> = [
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            INT_LIMIT - 1,
            -INT_LIMIT,
            INT_LIMIT,
        ]
        .iter()
        .map(|v| v.to_string().into_bytes())
        .collect();
        assert_eq!(texts, want);
    }

    #[test]
    fn free_encode_decode_round_trip() {
        let mut buf = Vec::new();
        encode_item(&mut buf, Item::Bytes(b"abc"));
        encode_item(&mut buf, Item::Bytes(b"-42"));
        encode_item(&mut buf, Item::Float(2.5));
        let (a, p) = decode_item(&buf, 0);
        let (b, p) = decode_item(&buf, p);
        let (c, p) = decode_item(&buf, p);
        assert_eq!(
            (a, b, c),
            (Item::Bytes(b"abc"), Item::Int(-42), Item::Float(2.5))
        );
        assert_eq!(p, buf.len());
    }

    #[test]
    fn small_ints_are_compact() {
        let mut lp = ListPack::new();
        for i in 0..10 {
            lp.push_back(Item::Bytes(format!("{i}").as_bytes()));
        }
        assert_eq!(lp.bytes(), 10);
    }

    #[test]
    fn grow_pushes_match_plain_pushes() {
        let mut a = ListPack::new();
        let mut b = ListPack::new();
        for i in 0..300i64 {
            let s = format!("item-{i}");
            let item = if i % 3 == 0 {
                Item::Int(i * 1000 - 7)
            } else {
                Item::Bytes(s.as_bytes())
            };
            if i % 2 == 0 {
                let before = a.bytes();
                assert_eq!(a.push_back_grow(item), a.bytes() - before);
                b.push_back(item);
            } else {
                let before = a.bytes();
                assert_eq!(a.insert_at_offset_grow(0, item), a.bytes() - before);
                b.push_front(item);
            }
        }
        assert_eq!(a.len(), b.len());
        assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        let mid = a.offset_of(150).unwrap();
        a.insert_at_offset_grow(mid, Item::Bytes(b"middle"));
        assert_eq!(a.get(150), Some(Item::Bytes(b"middle")));
        assert_eq!(a.get(151), b.get(150));
        let last = a.last_offset().unwrap();
        assert_eq!(a.item_at(last).0, b.iter().last().unwrap());
        assert_eq!(ListPack::new().last_offset(), None);
        let mut c = ListPack::new();
        c.reserve(100);
        assert!(c.capacity() >= 100);
        assert!(c.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn matches_a_vec_model(ops in proptest::collection::vec((0u8..4, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)), 0..60)) {
            let mut lp = ListPack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, data) in ops {
                match op {
                    0 => { lp.push_back(Item::Bytes(&data)); model.push(data); }
                    1 => { lp.push_front(Item::Bytes(&data)); model.insert(0, data); }
                    2 if !model.is_empty() => {
                        let i = data.len() % model.len();
                        let off = lp.offset_of(i).unwrap();
                        lp.remove_at_offset(off);
                        model.remove(i);
                    }
                    _ if !model.is_empty() => {
                        let i = data.len() % model.len();
                        let off = lp.offset_of(i).unwrap();
                        lp.replace_at_offset(off, Item::Bytes(&data));
                        model[i] = data;
                    }
                    _ => {}
                }
                let got: Vec<Vec<u8>> = lp.iter().map(|i| i.to_vec()).collect();
                proptest::prop_assert_eq!(&got, &model);
            }
        }
    }
}
