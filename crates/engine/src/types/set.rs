//! The set type, in three encodings chosen the way Redis 7.2 chooses them:
//!
//! - [`IntSet`] (`intset`) while every member is an integer and there are at
//!   most `set-max-intset-entries` (512) of them;
//! - a [`ListPack`] (`listpack`) for small sets with non-integer members: at
//!   most `set-max-listpack-entries` (128) members of at most
//!   `set-max-listpack-value` (64) bytes. Redis 7.0 — the differential
//!   oracle — has no listpack sets and reports `hashtable` here; Quiver
//!   follows 7.2 because the compact form is what keeps small string sets
//!   cheap (see docs/COMPATIBILITY.md);
//! - a [`Table`] (`hashtable`) beyond those limits.
//!
//! Sets only ever convert towards the table, never back, as in Redis: a set
//! that once grew large is likely to grow again.
//!
//! Members are handed out as [`Item`]s (`Int` for intset members, `Bytes`
//! otherwise; listpack members that look like integers come back as `Int`),
//! borrowed from the encoding so that replies are written without copying.
//!
//! The enum is 32 bytes (one allocator size class): the listpack and table
//! encodings are boxed so that the intset, which is inline for small sets,
//! decides the size. A set of ten small integers thus costs one 32-byte
//! allocation in total.

pub mod intset;

use crate::listpack::{Item, ListPack};
use crate::types::Limits;
use crate::value::{itoa_buf, parse_canonical_i64, Bytes23};
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use rand::Rng;
use std::hash::BuildHasher;

pub use intset::IntSet;

#[derive(Debug, Clone)]
pub enum Set {
    Ints(IntSet),
    Pack(Box<ListPack>),
    Table(Box<Table>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(IntSet::new())
    }
}

/// Two sets are equal when they hold the same members, whatever their
/// encodings (a COPY of a set compares equal to its source).
impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_item(m))
    }
}

/// The hash-table encoding: members in a dense vector, with a hash index
/// of positions into it.
///
/// The vector makes the random access SPOP and SRANDMEMBER need O(1) and
/// uniform (a bare hash table can only probe random buckets), and keeps
/// members of up to 23 bytes inline without a per-member allocation.
/// Removal swaps the last member into the hole. SSCAN walks positions from
/// the top down, which keeps SCAN's guarantee under that swap: the member
/// moved is always one already visited, or moves within the unvisited part.
#[derive(Clone, Default)]
pub struct Table {
    items: Vec<Bytes23>,
    index: HashTable<u32>,
    hasher: RandomState,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.items.iter()).finish()
    }
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        Table {
            items: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: RandomState::default(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[inline]
    fn position(&self, member: &[u8]) -> Option<usize> {
        let h = self.hasher.hash_one(member);
        self.index
            .find(h, |&i| self.items[i as usize].as_slice() == member)
            .map(|&i| i as usize)
    }

    #[inline]
    pub fn contains(&self, member: &[u8]) -> bool {
        self.position(member).is_some()
    }

    /// Adds `member`; false if present.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        let h = self.hasher.hash_one(member);
        let (items, hasher) = (&mut self.items, &self.hasher);
        match self.index.entry(
            h,
            |&i| items[i as usize].as_slice() == member,
            |&i| hasher.hash_one(items[i as usize].as_slice()),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(items.len() as u32);
                items.push(Bytes23::new(member));
                true
            }
        }
    }

    /// Removes `member`; false if absent.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let h = self.hasher.hash_one(member);
        let items = &self.items;
        match self
            .index
            .find_entry(h, |&i| items[i as usize].as_slice() == member)
        {
            Ok(occ) => {
                let (pos, _) = occ.remove();
                self.fill_hole(pos as usize);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes the member at position `pos` (its index entry included).
    pub fn remove_at(&mut self, pos: usize) {
        let h = self.hasher.hash_one(self.items[pos].as_slice());
        if let Ok(occ) = self.index.find_entry(h, |&i| i as usize == pos) {
            occ.remove();
        }
        self.fill_hole(pos);
    }

    /// After the index entry for position `pos` is gone: moves the last
    /// member into `pos` and repoints its index entry.
    fn fill_hole(&mut self, pos: usize) {
        let last = self.items.len() - 1;
        if pos != last {
            let h = self.hasher.hash_one(self.items[last].as_slice());
            if let Some(slot) = self.index.find_mut(h, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        self.items.swap_remove(pos);
        // Give memory back after mass removal (Redis shrinks its dicts too).
        if self.items.capacity() > 64 && self.items.len() < self.items.capacity() / 4 {
            self.items.shrink_to(self.items.len() * 2);
            let hasher = &self.hasher;
            let items = &self.items;
            self.index.shrink_to(items.len() * 2, |&i| {
                hasher.hash_one(items[i as usize].as_slice())
            });
        }
    }

    /// Member at position `pos`.
    #[inline]
    pub fn get(&self, pos: usize) -> &[u8] {
        &self.items[pos]
    }

    fn heap_size(&self) -> usize {
        let spilled: usize = self
            .items
            .iter()
            .filter(|b| b.spilled())
            .map(|b| b.capacity())
            .sum();
        self.items.capacity() * std::mem::size_of::<Bytes23>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + spilled
            + std::mem::size_of::<Table>()
    }
}

/// Iterator over a set's members, borrowed from its encoding.
pub enum Iter<'a> {
    Ints(&'a IntSet, usize),
    Pack(&'a ListPack, usize),
    Table(std::slice::Iter<'a, Bytes23>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Item<'a>;

    #[inline]
    fn next(&mut self) -> Option<Item<'a>> {
        match self {
            Iter::Ints(s, i) => {
                if *i >= s.len() {
                    return None;
                }
                let v = s.get(*i);
                *i += 1;
                Some(Item::Int(v))
            }
            Iter::Pack(lp, pos) => {
                if *pos >= lp.bytes() {
                    return None;
                }
                let (item, next) = lp.item_at(*pos);
                *pos = next;
                Some(item)
            }
            Iter::Table(it) => it.next().map(|b| Item::Bytes(b.as_slice())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Ints(s, i) => (s.len() - *i, Some(s.len() - *i)),
            Iter::Pack(..) => (0, None),
            Iter::Table(it) => it.size_hint(),
        }
    }
}

impl Set {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(s) => s.len(),
            Set::Pack(lp) => lp.len(),
            Set::Table(t) => t.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Pack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    /// Members, in encoding order (ascending for intsets, insertion order
    /// for listpacks, arbitrary for tables).
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        match self {
            Set::Ints(s) => Iter::Ints(s, 0),
            Set::Pack(lp) => Iter::Pack(lp, 0),
            Set::Table(t) => Iter::Table(t.items.iter()),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(s) => parse_canonical_i64(member).is_some_and(|v| s.contains(v)),
            Set::Pack(lp) => lp.find(member, 1).is_some(),
            Set::Table(t) => t.contains(member),
        }
    }

    /// Membership of an item taken from another set (integers are not
    /// formatted when this set is an intset).
    pub fn contains_item(&self, item: Item<'_>) -> bool {
        match (self, item) {
            (Set::Ints(s), Item::Int(v)) => s.contains(v),
            (_, Item::Int(v)) => {
                let mut b = itoa_buf::Buf::new();
                self.contains(b.format(v))
            }
            (_, Item::Bytes(b)) => self.contains(b),
            (_, Item::Float(_)) => false,
        }
    }

    /// Adds `member`, converting the encoding when a limit is crossed.
    /// Returns false if it was already a member.
    pub fn insert(&mut self, member: &[u8], limits: &Limits) -> bool {
        match self {
            Set::Ints(s) => {
                if let Some(v) = parse_canonical_i64(member) {
                    if s.contains(v) {
                        return false;
                    }
                    if s.len() < limits.set_intset_entries {
                        return s.insert(v);
                    }
                    self.convert_to_table(1);
                } else if s.len() < limits.set_entries
                    && member.len() <= limits.set_value
                    && s.max_text_len() <= limits.set_value
                {
                    self.convert_to_pack();
                } else {
                    self.convert_to_table(1);
                }
                self.insert(member, limits)
            }
            Set::Pack(lp) => {
                if lp.find(member, 1).is_some() {
                    return false;
                }
                if lp.len() < limits.set_entries && member.len() <= limits.set_value {
                    lp.push_back(Item::Bytes(member));
                    return true;
                }
                self.convert_to_table(1);
                self.insert(member, limits)
            }
            Set::Table(t) => t.insert(member),
        }
    }

    /// Adds an item taken from another set.
    pub fn insert_item(&mut self, item: Item<'_>, limits: &Limits) -> bool {
        match item {
            Item::Int(v) => {
                if let Set::Ints(s) = self {
                    if s.len() < limits.set_intset_entries || s.contains(v) {
                        return s.insert(v);
                    }
                }
                let mut b = itoa_buf::Buf::new();
                self.insert(b.format(v), limits)
            }
            Item::Bytes(b) => self.insert(b, limits),
            Item::Float(_) => false,
        }
    }

    /// Removes `member`; false if absent. The caller deletes the key when
    /// the set becomes empty.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(s) => parse_canonical_i64(member).is_some_and(|v| s.remove(v)),
            Set::Pack(lp) => match lp.find(member, 1) {
                Some((_, off)) => {
                    lp.remove_at_offset(off);
                    true
                }
                None => false,
            },
            Set::Table(t) => t.remove(member),
        }
    }

    /// Member number `i` in encoding order (O(1) except for listpacks).
    pub fn get_index(&self, i: usize) -> Option<Item<'_>> {
        match self {
            Set::Ints(s) => (i < s.len()).then(|| Item::Int(s.get(i))),
            Set::Pack(lp) => lp.get(i),
            Set::Table(t) => t.items.get(i).map(|b| Item::Bytes(b.as_slice())),
        }
    }

    /// A uniformly random member, or `None` if empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Item<'_>> {
        if self.is_empty() {
            return None;
        }
        self.get_index(rng.gen_range(0..self.len()))
    }

    /// Removes a uniformly random member, showing it to `f` first (so the
    /// caller can reply from the encoding without copying it).
    pub fn pop_random<R: Rng + ?Sized>(&mut self, rng: &mut R, f: impl FnOnce(Item<'_>)) -> bool {
        let n = self.len();
        if n == 0 {
            return false;
        }
        let i = rng.gen_range(0..n);
        match self {
            Set::Ints(s) => f(Item::Int(s.remove_at(i))),
            Set::Pack(lp) => {
                let Some(off) = lp.offset_of(i) else {
                    return false;
                };
                f(lp.item_at(off).0);
                lp.remove_at_offset(off);
            }
            Set::Table(t) => {
                f(Item::Bytes(t.get(i)));
                t.remove_at(i);
            }
        }
        true
    }

    /// Calls `f` with `count` members chosen at random: distinct members
    /// (all of them when `count >= len`) or, with `repeat`, independent
    /// picks that may repeat (SRANDMEMBER's negative count).
    pub fn random_members<'a, R: Rng + ?Sized>(
        &'a self,
        rng: &mut R,
        count: usize,
        repeat: bool,
        mut f: impl FnMut(Item<'a>),
    ) {
        let n = self.len();
        if n == 0 || count == 0 {
            return;
        }
        // A listpack has no O(1) indexing: decode its (at most a few
        // hundred) members once.
        let pack: Vec<Item<'a>> = match self {
            Set::Pack(lp) => lp.iter().collect(),
            _ => Vec::new(),
        };
        let at = |i: usize| -> Item<'a> {
            match self {
                Set::Ints(s) => Item::Int(s.get(i)),
                Set::Pack(_) => pack[i],
                Set::Table(t) => Item::Bytes(t.get(i)),
            }
        };
        if repeat {
            for _ in 0..count {
                f(at(rng.gen_range(0..n)));
            }
        } else if count >= n {
            for i in 0..n {
                f(at(i));
            }
        } else {
            for i in rand::seq::index::sample(rng, n, count).into_iter() {
                f(at(i));
            }
        }
    }

    /// One SSCAN step. Compact encodings are returned whole with cursor 0,
    /// as Redis does; tables walk positions from the top down (see
    /// [`Table`]), `count` members per call. Returns the next cursor.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Item<'a>)) -> u64 {
        match self {
            Set::Table(t) => {
                let len = t.len();
                let mut pos = if cursor == 0 {
                    len
                } else {
                    (cursor.min(len as u64)) as usize
                };
                let mut seen = 0;
                while pos > 0 && seen < count.max(1) {
                    pos -= 1;
                    f(Item::Bytes(t.get(pos)));
                    seen += 1;
                }
                pos as u64
            }
            _ => {
                self.iter().for_each(f);
                0
            }
        }
    }

    fn convert_to_pack(&mut self) {
        let mut lp = ListPack::new();
        for m in self.iter() {
            lp.push_back(m);
        }
        *self = Set::Pack(Box::new(lp));
    }

    /// Converts to the table encoding, with room for `extra` more members.
    fn convert_to_table(&mut self, extra: usize) {
        if let Set::Table(_) = self {
            return;
        }
        let mut t = Table::with_capacity(self.len() + extra);
        let mut b = itoa_buf::Buf::new();
        for m in self.iter() {
            t.insert(m.as_bytes(&mut b));
        }
        *self = Set::Table(Box::new(t));
    }

    /// Approximate heap bytes held (MEMORY USAGE, eviction estimates).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<Set>()
            + match self {
                Set::Ints(s) => s.heap_size(),
                Set::Pack(lp) => lp.capacity() + std::mem::size_of::<ListPack>(),
                Set::Table(t) => t.heap_size(),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn text(item: Item<'_>) -> Vec<u8> {
        item.to_vec()
    }

    fn members(s: &Set) -> HashSet<Vec<u8>> {
        s.iter().map(text).collect()
    }

    #[test]
    fn table_members_up_to_23_bytes_live_inline() {
        let mut t = Table::with_capacity(0);
        for i in 0..1000 {
            // redis-benchmark's members: "element:" and 12 digits.
            assert!(t.insert(format!("element:{i:012}").as_bytes()));
        }
        let fixed = |t: &Table| {
            t.items.capacity() * std::mem::size_of::<Bytes23>()
                + t.index.capacity() * (std::mem::size_of::<u32>() + 1)
                + std::mem::size_of::<Table>()
        };
        assert_eq!(t.heap_size(), fixed(&t), "20-byte members must not spill");
        assert!(t.insert(&[b'x'; 24]), "24 bytes is one too many to inline");
        assert!(t.heap_size() >= fixed(&t) + 24);
        assert!(t.contains(b"element:000000000999"));
        assert!(t.contains(&[b'x'; 24]));
    }

    #[test]
    fn set_is_one_size_class() {
        assert_eq!(std::mem::size_of::<Set>(), 32);
    }

    #[test]
    fn encodings_convert_at_the_limits() {
        let lim = Limits::default();
        let mut s = Set::new();
        for i in 0..512 {
            assert!(s.insert(i.to_string().as_bytes(), &lim));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(!s.insert(b"7", &lim));
        assert!(s.insert(b"512", &lim));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 513);
        assert!(s.contains(b"0") && s.contains(b"512") && !s.contains(b"513"));

        let mut s = Set::new();
        s.insert(b"1", &lim);
        s.insert(b"a", &lim);
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"1") && s.contains(b"a"));
        assert!(!s.insert(b"1", &lim));
        for i in 2..128 {
            s.insert(format!("m{i}").as_bytes(), &lim);
        }
        assert_eq!((s.encoding(), s.len()), ("listpack", 128));
        s.insert(b"one more", &lim);
        assert_eq!((s.encoding(), s.len()), ("hashtable", 129));

        let mut s = Set::new();
        s.insert(b"1", &lim);
        s.insert(&[b'x'; 65], &lim);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::new();
        s.insert(b"short", &lim);
        s.insert(&[b'x'; 65], &lim);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn non_canonical_integers_are_strings() {
        let lim = Limits::default();
        let mut s = Set::new();
        s.insert(b"1", &lim);
        assert!(s.insert(b"01", &lim));
        assert!(s.insert(b"+1", &lim));
        assert!(s.insert(b"-0", &lim));
        assert_eq!(s.len(), 4);
        assert!(s.remove(b"01") && !s.remove(b"01"));
        assert!(s.contains(b"1"));
    }

    #[test]
    fn scan_keeps_its_guarantee_under_removal() {
        let lim = Limits::default();
        let mut s = Set::new();
        for i in 0..1000 {
            s.insert(format!("m{i}").as_bytes(), &lim);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(text(m));
            });
            // Remove members on both sides of the cursor between calls.
            s.remove(format!("m{}", round * 7 % 1000).as_bytes());
            s.insert(format!("new{round}").as_bytes(), &lim);
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for m in members(&s) {
            if m.starts_with(b"m") {
                assert!(seen.contains(&m), "{:?}", String::from_utf8_lossy(&m));
            }
        }
    }

    #[test]
    fn random_members_are_distinct_and_uniform_enough() {
        let lim = Limits::default();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for n in [5usize, 100, 1000] {
            let mut s = Set::new();
            for i in 0..n {
                s.insert(format!("x{i}").as_bytes(), &lim);
            }
            let mut got = Vec::new();
            s.random_members(&mut rng, n / 2, false, |m| got.push(text(m)));
            let uniq: HashSet<_> = got.iter().cloned().collect();
            assert_eq!(uniq.len(), n / 2);
            let mut got = 0;
            s.random_members(&mut rng, 3 * n, true, |_| got += 1);
            assert_eq!(got, 3 * n);
        }
        // Every member of a small table is reachable by pop.
        let mut s = Set::new();
        for i in 0..200 {
            s.insert(format!("y{i}").as_bytes(), &lim);
        }
        let mut popped = HashSet::new();
        while s.pop_random(&mut rng, |m| {
            popped.insert(text(m));
        }) {}
        assert_eq!(popped.len(), 200);
        assert!(s.is_empty());
    }

    #[test]
    fn equality_ignores_encoding() {
        let lim = Limits::default();
        let mut a = Set::new();
        let mut b = Set::new();
        for i in 0..10 {
            a.insert(i.to_string().as_bytes(), &lim);
        }
        b.convert_to_table(0);
        for i in (0..10).rev() {
            b.insert(i.to_string().as_bytes(), &lim);
        }
        assert_eq!(a, b);
        b.remove(b"3");
        assert_ne!(a, b);
    }

    proptest::proptest! {
        /// Random SADD/SREM/SPOP sequences against a HashSet model, with small
        /// limits so that every conversion happens.
        #[test]
        fn matches_a_hashset_model(ops in proptest::collection::vec((0u8..4, 0u16..60), 0..300)) {
            let lim = Limits { set_intset_entries: 20, set_entries: 10, set_value: 4, ..Limits::default() };
            let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
            let mut s = Set::new();
            let mut model: HashSet<Vec<u8>> = HashSet::new();
            // Encodings only convert towards the table: an intset is
            // expected while every member ever added was an integer.
            let mut only_ints = true;
            for (op, v) in ops {
                let m: Vec<u8> = match v % 3 {
                    0 => v.to_string().into_bytes(),
                    1 => format!("s{v}").into_bytes(),
                    _ => format!("long{v}").into_bytes(),
                };
                match op {
                    0 | 1 => {
                        only_ints &= parse_canonical_i64(&m).is_some();
                        proptest::prop_assert_eq!(s.insert(&m, &lim), model.insert(m.clone()));
                    }
                    2 => proptest::prop_assert_eq!(s.remove(&m), model.remove(&m)),
                    _ => {
                        let mut got = None;
                        s.pop_random(&mut rng, |x| got = Some(text(x)));
                        if let Some(g) = got {
                            proptest::prop_assert!(model.remove(&g));
                        } else {
                            proptest::prop_assert!(model.is_empty());
                        }
                    }
                }
                proptest::prop_assert_eq!(s.len(), model.len());
                proptest::prop_assert_eq!(members(&s), model.clone());
                for x in &model {
                    proptest::prop_assert!(s.contains(x));
                }
                let enc = s.encoding();
                if only_ints && enc != "hashtable" {
                    proptest::prop_assert_eq!(enc, "intset");
                }
                if enc == "intset" {
                    proptest::prop_assert!(model.len() <= lim.set_intset_entries);
                }
                if enc == "listpack" {
                    proptest::prop_assert!(model.len() <= lim.set_entries);
                }
            }
        }
    }
}
