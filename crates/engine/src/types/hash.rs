//! The hash type: field → value maps, with optional per-field expiry.
//!
//! Three encodings, chosen as Redis chooses them so OBJECT ENCODING agrees:
//!
//! - `Pack` (`listpack`): field and value items alternate in one
//!   exact-size allocation ([`Thin`], listpack item format). Used while the hash has at most `hash-max-listpack-entries`
//!   fields and no field or value is longer than `hash-max-listpack-value`.
//!   Nearly every hash in practice is this small, and one allocation per hash
//!   is what keeps memory per key close to Redis's.
//! - `PackEx` (`listpackex`, Redis 7.4's name): the same pack plus a side
//!   map of field expiry times, created the first time a field of a small
//!   hash gets a TTL. Hashes that never use field TTLs pay nothing for them.
//!   (Redis keeps the `listpackex` encoding once it has it; so do we.)
//! - `Table` (`hashtable`): an insertion-ordered entry vector indexed by a
//!   hash table of positions. Redis never converts back to the compact
//!   encoding once a hash has grown, and neither do we.
//!
//! The table keeps its entries densely in a `Vec` (removal swaps the last
//! entry into the hole) because that gives two things a plain hash map does
//! not: O(1) uniform random access for HRANDFIELD, and a stable HSCAN cursor.
//! HSCAN walks positions from the end towards the start; since removal only
//! ever moves the *last* entry to a *lower* position, an entry that is
//! present for a whole scan can only move from the unvisited region to the
//! unvisited region, or from visited to unvisited (a harmless duplicate) —
//! never out of the scan's way, which is the guarantee SCAN promises.
//!
//! Field expiry times are absolute unix milliseconds. A field is expired once
//! the clock is strictly past its time (like keys). Commands call
//! [`Hash::purge_expired`] before touching a hash, so expired fields are
//! never seen; the active cycle calls it too, for hashes nobody reads.

use crate::listpack::{decode_item, encode_item, Item};
use crate::types::Limits;
use crate::value::{itoa_buf, parse_canonical_i64, Bytes16, Bytes23};
use foldhash::fast::RandomState;
use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::{HashMap, HashTable};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Hashes (process-wide) that currently hold at least one field TTL. The
/// active field-expiry cycle skips its scan entirely while this is zero, so
/// servers that never use field TTLs pay nothing for the feature.
static TTL_HASHES: AtomicUsize = AtomicUsize::new(0);

/// Number of hashes, in the whole process, with at least one field TTL.
pub fn hashes_with_field_ttls() -> usize {
    TTL_HASHES.load(Ordering::Relaxed)
}

/// Field expiry times of one hash, plus the earliest of them so that the
/// common "nothing has expired yet" check is one comparison.
#[derive(Debug)]
pub struct FieldTtls {
    map: HashMap<Bytes16, u64, RandomState>,
    /// Earliest expiry in `map`; `u64::MAX` when empty.
    min: u64,
}

impl Default for FieldTtls {
    fn default() -> Self {
        FieldTtls {
            map: HashMap::default(),
            min: u64::MAX,
        }
    }
}

impl Clone for FieldTtls {
    fn clone(&self) -> Self {
        if !self.map.is_empty() {
            TTL_HASHES.fetch_add(1, Ordering::Relaxed);
        }
        FieldTtls {
            map: self.map.clone(),
            min: self.min,
        }
    }
}

impl Drop for FieldTtls {
    fn drop(&mut self) {
        if !self.map.is_empty() {
            TTL_HASHES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl FieldTtls {
    fn get(&self, field: &[u8]) -> Option<u64> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(field).copied()
    }

    fn insert(&mut self, field: &[u8], when: u64) {
        if self.map.is_empty() {
            TTL_HASHES.fetch_add(1, Ordering::Relaxed);
        }
        match self.map.get_mut(field) {
            Some(w) => {
                let old = std::mem::replace(w, when);
                if old == self.min && when > old {
                    self.recompute_min();
                } else {
                    self.min = self.min.min(when);
                }
            }
            None => {
                self.map.insert(Bytes16::from_slice(field), when);
                self.min = self.min.min(when);
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> Option<u64> {
        if self.map.is_empty() {
            return None;
        }
        let old = self.map.remove(field)?;
        if self.map.is_empty() {
            TTL_HASHES.fetch_sub(1, Ordering::Relaxed);
            self.map.shrink_to_fit();
        }
        if old == self.min {
            self.recompute_min();
        }
        Some(old)
    }

    fn recompute_min(&mut self) {
        self.min = self.map.values().copied().min().unwrap_or(u64::MAX);
    }

    /// Removes and returns the fields expired at `now`.
    fn take_expired(&mut self, now: u64) -> Vec<Bytes16> {
        if self.min >= now {
            return Vec::new();
        }
        let mut out = Vec::new();
        self.map.retain(|f, w| {
            if *w < now {
                out.push(f.clone());
                false
            } else {
                true
            }
        });
        if self.map.is_empty() && !out.is_empty() {
            TTL_HASHES.fetch_sub(1, Ordering::Relaxed);
        }
        self.recompute_min();
        out
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// The compact encoding's storage: one exact-size heap allocation holding
/// a 4-byte little-endian item count followed by the items, in the
/// [`listpack`](crate::listpack) item format, fields and values alternating.
///
/// A `Box<[u8]>` rather than a [`ListPack`](crate::listpack::ListPack)
/// because it is half the size (16 bytes, no spare capacity): with it the
/// whole [`Hash`] header is 16 bytes, the smallest allocation `Value::Hash`'s
/// box can have, which is most of the difference between Quiver's and
/// Redis's memory for small hashes. Growing reallocates in place within the
/// allocator's size class, as Redis's listpacks do.
#[derive(Debug, Clone, Default)]
pub struct Thin(Box<[u8]>);

const HDR: usize = 4;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with an empty, reusable encoding buffer.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        s.clear();
        f(&mut s)
    })
}

impl Thin {
    /// Items (fields and values) stored.
    #[inline]
    fn count(&self) -> usize {
        match self.0.get(..HDR) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    /// Offset of the first item.
    #[inline]
    fn start(&self) -> usize {
        HDR.min(self.0.len())
    }

    #[inline]
    fn end(&self) -> usize {
        self.0.len()
    }

    #[inline]
    fn item_at(&self, pos: usize) -> (Item<'_>, usize) {
        decode_item(&self.0, pos)
    }

    /// Replaces bytes `range` with `with` and adjusts the item count, in one
    /// reallocation.
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8], delta: isize) {
        let count = (self.count() as isize + delta).max(0) as u32;
        let mut v = Vec::from(std::mem::take(&mut self.0));
        if v.len() < HDR {
            v.resize(HDR, 0);
        }
        let (a, b) = (range.start.max(HDR), range.end.max(HDR));
        let new_len = v.len() - (b - a) + with.len();
        if new_len > v.len() {
            v.reserve_exact(new_len - v.len());
        }
        v.splice(a..b, with.iter().copied());
        if count == 0 {
            self.0 = Box::default();
            return;
        }
        v[..HDR].copy_from_slice(&count.to_le_bytes());
        self.0 = v.into_boxed_slice();
    }

    /// Finds `field`: (field offset, value offset).
    #[inline]
    fn find(&self, field: &[u8]) -> Option<(usize, usize)> {
        let needle_int = parse_canonical_i64(field);
        let end = self.end();
        let mut pos = self.start();
        while pos < end {
            let (item, vpos) = self.item_at(pos);
            if item_is(&item, field, needle_int) {
                return Some((pos, vpos));
            }
            pos = self.item_at(vpos).1;
        }
        None
    }

    /// Sets `field`; returns true if it was added. The new items are
    /// encoded into a per-thread scratch buffer, so an HSET costs one
    /// reallocation of the pack and nothing else.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        with_scratch(|enc| match self.find(field) {
            Some((_, voff)) => {
                let vend = self.item_at(voff).1;
                encode_item(enc, Item::Bytes(value));
                self.splice(voff..vend, enc, 0);
                false
            }
            None => {
                encode_item(enc, Item::Bytes(field));
                encode_item(enc, Item::Bytes(value));
                let end = self.end();
                self.splice(end..end, enc, 2);
                true
            }
        })
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some((foff, voff)) => {
                let vend = self.item_at(voff).1;
                self.splice(foff..vend, &[], -2);
                true
            }
            None => false,
        }
    }

    fn iter(&self) -> Iter<'_> {
        Iter::Pack {
            lp: self,
            pos: self.start(),
        }
    }

    /// Builds the table encoding from the pairs.
    fn to_table(&self) -> Table {
        let mut t = Table::with_capacity(self.count() / 2 + 1);
        let mut fb = itoa_buf::Buf::new();
        let mut vb = itoa_buf::Buf::new();
        for (f, v) in self.iter() {
            t.insert(f.as_bytes(&mut fb), v.as_bytes(&mut vb));
        }
        t
    }
}

/// The table encoding (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<(Bytes23, Bytes23)>,
    /// Positions into `entries`, hashed by field.
    index: HashTable<u32>,
    hasher: RandomState,
}

impl Table {
    fn with_capacity(n: usize) -> Table {
        Table {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: RandomState::default(),
        }
    }

    #[inline]
    fn find(&self, field: &[u8]) -> Option<usize> {
        let h = self.hasher.hash_one(field);
        let entries = &self.entries;
        self.index
            .find(h, |&i| entries[i as usize].0.as_slice() == field)
            .map(|&i| i as usize)
    }

    /// Sets `field`; returns true if it was added.
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let h = self.hasher.hash_one(field);
        let entries = &mut self.entries;
        let hasher = &self.hasher;
        match self.index.entry(
            h,
            |&i| entries[i as usize].0.as_slice() == field,
            |&i| hasher.hash_one(entries[i as usize].0.as_slice()),
        ) {
            TableEntry::Occupied(occ) => {
                let slot = &mut entries[*occ.get() as usize].1;
                slot.clear();
                slot.extend_from_slice(value);
                false
            }
            TableEntry::Vacant(vac) => {
                vac.insert(entries.len() as u32);
                entries.push((Bytes23::new(field), Bytes23::new(value)));
                true
            }
        }
    }

    /// Removes `field`; returns true if it was present.
    fn remove(&mut self, field: &[u8]) -> bool {
        let h = self.hasher.hash_one(field);
        let entries = &self.entries;
        let Ok(occ) = self
            .index
            .find_entry(h, |&i| entries[i as usize].0.as_slice() == field)
        else {
            return false;
        };
        let (pos, _) = occ.remove();
        let pos = pos as usize;
        let last = self.entries.len() - 1;
        if pos != last {
            // The last entry moves into the hole: repoint its index slot.
            let hl = self.hasher.hash_one(self.entries[last].0.as_slice());
            if let Some(slot) = self.index.find_mut(hl, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        self.entries.swap_remove(pos);
        self.maybe_shrink();
        true
    }

    /// Gives memory back after a hash shrank a lot, as Redis resizes dicts.
    fn maybe_shrink(&mut self) {
        let n = self.entries.len();
        if self.entries.capacity() > 64 && n * 4 < self.entries.capacity() {
            self.entries.shrink_to(n * 2);
            let entries = &self.entries;
            let hasher = &self.hasher;
            self.index.shrink_to(n * 2, |&i| {
                hasher.hash_one(entries[i as usize].0.as_slice())
            });
        }
    }
}

/// The encodings that need more than the 16-byte header.
#[derive(Debug, Clone)]
pub enum Big {
    /// `listpackex`: a small hash with field TTLs.
    PackEx(Thin, FieldTtls),
    /// `hashtable` (TTLs, if any, in the side map).
    Table(Table, FieldTtls),
}

/// A hash value. Two variants so that the whole header is 16 bytes (see
/// [`Thin`]): the common small hash inline, everything else boxed.
#[derive(Debug, Clone)]
pub enum Hash {
    Pack(Thin),
    Big(Box<Big>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack(Thin::default())
    }
}

/// Maps compare by content (encoding and field order do not matter).
impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut a = itoa_buf::Buf::new();
        let mut b = itoa_buf::Buf::new();
        self.iter().all(|(f, v)| {
            let f = f.as_bytes(&mut a).to_vec();
            match other.get(&f) {
                Some(ov) => v.as_bytes(&mut a) == ov.as_bytes(&mut b),
                None => false,
            }
        })
    }
}

/// What a field's TTL looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTtl {
    /// No such field.
    Missing,
    /// The field exists without a TTL.
    Persistent,
    /// The field expires at this unix ms.
    At(u64),
}

/// Whether `item` equals the field `needle`, whose canonical-integer form
/// (if any) the caller parsed once.
#[inline]
fn item_is(item: &Item<'_>, needle: &[u8], needle_int: Option<i64>) -> bool {
    match *item {
        Item::Bytes(b) => b == needle,
        Item::Int(i) => needle_int == Some(i),
        Item::Float(_) => false,
    }
}

/// Borrowed storage of either kind.
enum Store<'a> {
    Pack(&'a Thin),
    Table(&'a Table),
}

enum StoreMut<'a> {
    Pack(&'a mut Thin),
    Table(&'a mut Table),
}

impl StoreMut<'_> {
    fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            StoreMut::Pack(p) => p.remove(field),
            StoreMut::Table(t) => t.remove(field),
        }
    }
}

/// Iterates (field, value) pairs.
pub enum Iter<'a> {
    Pack { lp: &'a Thin, pos: usize },
    Table(std::slice::Iter<'a, (Bytes23, Bytes23)>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (Item<'a>, Item<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack { lp, pos } => {
                if *pos >= lp.end() {
                    return None;
                }
                let (f, vpos) = lp.item_at(*pos);
                let (v, next) = lp.item_at(vpos);
                *pos = next;
                Some((f, v))
            }
            Iter::Table(it) => it.next().map(|(f, v)| (Item::Bytes(f), Item::Bytes(v))),
        }
    }
}

impl Hash {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn store(&self) -> (Store<'_>, Option<&FieldTtls>) {
        match self {
            Hash::Pack(p) => (Store::Pack(p), None),
            Hash::Big(b) => match &**b {
                Big::PackEx(p, t) => (Store::Pack(p), Some(t)),
                Big::Table(tb, t) => (Store::Table(tb), Some(t)),
            },
        }
    }

    #[inline]
    fn store_mut(&mut self) -> (StoreMut<'_>, Option<&mut FieldTtls>) {
        match self {
            Hash::Pack(p) => (StoreMut::Pack(p), None),
            Hash::Big(b) => match &mut **b {
                Big::PackEx(p, t) => (StoreMut::Pack(p), Some(t)),
                Big::Table(tb, t) => (StoreMut::Table(tb), Some(t)),
            },
        }
    }

    fn ttls(&self) -> Option<&FieldTtls> {
        self.store().1
    }

    /// Number of fields.
    #[inline]
    pub fn len(&self) -> usize {
        match self.store().0 {
            Store::Pack(p) => p.count() / 2,
            Store::Table(t) => t.entries.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack(_) => "listpack",
            Hash::Big(b) => match **b {
                Big::PackEx(..) => "listpackex",
                Big::Table(..) => "hashtable",
            },
        }
    }

    fn is_table(&self) -> bool {
        matches!(self.store().0, Store::Table(_))
    }

    /// The value of `field`.
    #[inline]
    pub fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        match self.store().0 {
            Store::Pack(p) => p.find(field).map(|(_, v)| p.item_at(v).0),
            Store::Table(t) => t.find(field).map(|i| Item::Bytes(&t.entries[i].1)),
        }
    }

    #[inline]
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Iterates (field, value) pairs, items borrowed from the encoding.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        match self.store().0 {
            Store::Pack(p) => p.iter(),
            Store::Table(t) => Iter::Table(t.entries.iter()),
        }
    }

    /// Converts to the table encoding (keeping TTLs).
    fn convert_to_table(&mut self) {
        let big = match self {
            Hash::Pack(p) => Big::Table(p.to_table(), FieldTtls::default()),
            Hash::Big(b) => match &mut **b {
                Big::PackEx(p, ttl) => Big::Table(p.to_table(), std::mem::take(ttl)),
                Big::Table(..) => return,
            },
        };
        *self = Hash::Big(Box::new(big));
    }

    /// Converts to the table encoding if a field or value of these lengths
    /// would not fit the compact encoding (Redis checks before inserting).
    #[inline]
    pub fn reserve_for(&mut self, field_len: usize, value_len: usize, limits: &Limits) {
        if (field_len > limits.hash_value || value_len > limits.hash_value) && !self.is_table() {
            self.convert_to_table();
        }
    }

    /// Converts when the field count passed `hash-max-listpack-entries`.
    #[inline]
    fn check_entries(&mut self, limits: &Limits) {
        if self.len() > limits.hash_entries && !self.is_table() {
            self.convert_to_table();
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Unless
    /// `keep_ttl`, any TTL on the field is cleared (HSET semantics; HINCRBY
    /// and HSETEX KEEPTTL keep it).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits, keep_ttl: bool) -> bool {
        self.reserve_for(field.len(), value.len(), limits);
        let (store, ttl) = self.store_mut();
        let added = match store {
            StoreMut::Pack(p) => p.set(field, value),
            StoreMut::Table(t) => t.insert(field, value),
        };
        if !added && !keep_ttl {
            if let Some(ttl) = ttl {
                ttl.remove(field);
            }
        }
        if added {
            self.check_entries(limits);
        }
        added
    }

    /// Removes `field` (and its TTL); returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let (mut store, ttl) = self.store_mut();
        let removed = store.remove(field);
        if removed {
            if let Some(ttl) = ttl {
                ttl.remove(field);
            }
        }
        removed
    }

    /// Field TTL state.
    pub fn field_ttl(&self, field: &[u8]) -> FieldTtl {
        if let Some(when) = self.ttls().and_then(|t| t.get(field)) {
            return FieldTtl::At(when);
        }
        if self.contains(field) {
            FieldTtl::Persistent
        } else {
            FieldTtl::Missing
        }
    }

    /// Gives an existing `field` an absolute expiry (unix ms). Returns false
    /// if there is no such field.
    pub fn set_field_expire(&mut self, field: &[u8], when: u64) -> bool {
        if !self.contains(field) {
            return false;
        }
        if let Hash::Pack(p) = self {
            let p = std::mem::take(p);
            *self = Hash::Big(Box::new(Big::PackEx(p, FieldTtls::default())));
        }
        if let (_, Some(ttl)) = self.store_mut() {
            ttl.insert(field, when);
        }
        true
    }

    /// Removes the TTL of `field`; returns true if it had one.
    pub fn persist_field(&mut self, field: &[u8]) -> bool {
        self.store_mut().1.and_then(|t| t.remove(field)).is_some()
    }

    /// Fields with a TTL.
    pub fn volatile_fields(&self) -> usize {
        self.ttls().map_or(0, |t| t.len())
    }

    /// The earliest field expiry, if any field has a TTL.
    #[inline]
    pub fn next_field_expiry(&self) -> Option<u64> {
        match self {
            Hash::Pack(_) => None,
            Hash::Big(_) => match self.ttls() {
                Some(t) if t.min != u64::MAX => Some(t.min),
                _ => None,
            },
        }
    }

    /// Deletes the fields expired at `now` (strictly past their time);
    /// returns how many. The caller deletes the key if the hash is then
    /// empty. Costs one comparison when nothing has expired.
    #[inline]
    pub fn purge_expired(&mut self, now: u64) -> usize {
        match self.next_field_expiry() {
            Some(min) if min < now => self.purge_slow(now),
            _ => 0,
        }
    }

    #[cold]
    fn purge_slow(&mut self, now: u64) -> usize {
        let (mut store, Some(ttl)) = self.store_mut() else {
            return 0;
        };
        let expired = ttl.take_expired(now);
        for f in &expired {
            store.remove(f);
        }
        expired.len()
    }

    /// One HSCAN step. Compact encodings return everything at once with
    /// cursor 0 (as Redis does for listpacks); tables walk positions
    /// downwards from `cursor` (0 = start), visiting about `count` entries.
    /// Returns the next cursor (0 = done).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(Item<'a>, Item<'a>),
    ) -> u64 {
        match self.store().0 {
            Store::Table(t) => {
                let n = t.entries.len();
                let start = if cursor == 0 || cursor > n as u64 {
                    n
                } else {
                    cursor as usize
                };
                let stop = start.saturating_sub(count.max(1));
                for (fld, val) in t.entries[stop..start].iter().rev() {
                    f(Item::Bytes(fld), Item::Bytes(val));
                }
                stop as u64
            }
            Store::Pack(_) => {
                for (fld, val) in self.iter() {
                    f(fld, val);
                }
                0
            }
        }
    }

    /// Approximate heap bytes (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        let ttl_size = self.ttls().map_or(0, |t| {
            t.map.capacity() * (std::mem::size_of::<(Bytes16, u64)>() + 1)
        });
        let big = match self {
            Hash::Pack(_) => 0,
            Hash::Big(_) => std::mem::size_of::<Big>(),
        };
        let store = match self.store().0 {
            Store::Pack(p) => p.end(),
            Store::Table(t) => {
                let spilled: usize = t
                    .entries
                    .iter()
                    .map(|(f, v)| {
                        (if f.spilled() { f.capacity() } else { 0 })
                            + (if v.spilled() { v.capacity() } else { 0 })
                    })
                    .sum();
                t.entries.capacity() * std::mem::size_of::<(Bytes23, Bytes23)>()
                    + t.index.capacity() * 5
                    + spilled
            }
        };
        big + store + ttl_size
    }
}

/// Random access to a hash's pairs (HRANDFIELD). Tables index their entry
/// vector directly; listpacks are walked once to record field offsets.
pub struct Sampler<'a> {
    hash: &'a Hash,
    offsets: Vec<u32>,
}

impl<'a> Sampler<'a> {
    pub fn new(hash: &'a Hash) -> Self {
        let offsets = match hash.store().0 {
            Store::Table(_) => Vec::new(),
            Store::Pack(p) => {
                let mut out = Vec::with_capacity(p.count() / 2);
                let mut pos = p.start();
                while pos < p.end() {
                    out.push(pos as u32);
                    let (_, v) = p.item_at(pos);
                    pos = p.item_at(v).1;
                }
                out
            }
        };
        Sampler { hash, offsets }
    }

    pub fn len(&self) -> usize {
        self.hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pair number `i` (`i < len()`).
    pub fn get(&self, i: usize) -> (Item<'a>, Item<'a>) {
        match self.hash.store().0 {
            Store::Table(t) => {
                let (f, v) = &t.entries[i];
                (Item::Bytes(f), Item::Bytes(v))
            }
            Store::Pack(p) => {
                let (f, v) = p.item_at(self.offsets[i] as usize);
                (f, p.item_at(v).0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn lim() -> Limits {
        Limits::default()
    }

    fn bytes(i: Item<'_>) -> Vec<u8> {
        i.to_vec()
    }

    fn as_map(h: &Hash) -> BTreeMap<Vec<u8>, Vec<u8>> {
        h.iter().map(|(f, v)| (bytes(f), bytes(v))).collect()
    }

    #[test]
    fn small_hash_stays_compact_and_converts_at_the_limits() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", &lim(), false));
        assert!(!h.set(b"a", b"2", &lim(), false));
        assert!(h.set(b"12", b"x", &lim(), false));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(b"a").map(bytes), Some(b"2".to_vec()));
        assert_eq!(h.get(b"12").map(bytes), Some(b"x".to_vec()));
        assert_eq!(h.get(b"012"), None);
        // A long value converts.
        h.set(b"long", &[b'v'; 65], &lim(), false);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 3);
        assert_eq!(h.get(b"12").map(bytes), Some(b"x".to_vec()));
        // Too many entries converts.
        let l = Limits {
            hash_entries: 4,
            ..Limits::default()
        };
        let mut h = Hash::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", &l, false);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f9", b"v", &l, false);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn table_remove_keeps_index_consistent() {
        let l = Limits {
            hash_entries: 0,
            ..Limits::default()
        };
        let mut h = Hash::new();
        for i in 0..100 {
            h.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                &l,
                false,
            );
        }
        for i in (0..100).step_by(3) {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        for i in 0..100 {
            let want = (i % 3 != 0).then(|| format!("{i}").into_bytes());
            assert_eq!(h.get(format!("f{i}").as_bytes()).map(bytes), want);
        }
    }

    #[test]
    fn field_ttls_and_purge() {
        let mut h = Hash::new();
        h.set(b"a", b"1", &lim(), false);
        h.set(b"b", b"2", &lim(), false);
        assert!(!h.set_field_expire(b"zz", 10));
        assert!(h.set_field_expire(b"a", 100));
        assert_eq!(h.encoding(), "listpackex");
        assert_eq!(h.field_ttl(b"a"), FieldTtl::At(100));
        assert_eq!(h.field_ttl(b"b"), FieldTtl::Persistent);
        assert_eq!(h.field_ttl(b"c"), FieldTtl::Missing);
        assert_eq!(h.purge_expired(100), 0, "alive at exactly its time");
        assert_eq!(h.purge_expired(101), 1);
        assert_eq!(h.len(), 1);
        assert!(h.get(b"a").is_none());
        assert_eq!(h.volatile_fields(), 0);
        // HSET clears the TTL unless asked to keep it.
        h.set_field_expire(b"b", 500);
        h.set(b"b", b"3", &lim(), true);
        assert_eq!(h.field_ttl(b"b"), FieldTtl::At(500));
        h.set(b"b", b"4", &lim(), false);
        assert_eq!(h.field_ttl(b"b"), FieldTtl::Persistent);
        // TTLs survive conversion.
        h.set_field_expire(b"b", 700);
        h.set(b"big", &[b'x'; 100], &lim(), false);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.field_ttl(b"b"), FieldTtl::At(700));
        assert!(h.persist_field(b"b"));
        assert!(!h.persist_field(b"b"));
        assert_eq!(h.next_field_expiry(), None);
    }

    #[test]
    fn table_scan_survives_deletions() {
        let l = Limits {
            hash_entries: 0,
            ..Limits::default()
        };
        let mut h = Hash::new();
        for i in 0..1000 {
            h.set(format!("f{i}").as_bytes(), b"v", &l, false);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = h.scan(cursor, 10, |f, _| {
                seen.insert(bytes(f));
            });
            // Delete fields with odd numbers as the scan proceeds.
            let victim = format!("f{}", round * 2 + 1);
            h.remove(victim.as_bytes());
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("f{i}").as_bytes()), "missed f{i}");
        }
    }

    #[test]
    fn sampler_reaches_every_pair() {
        for entries in [512, 0] {
            let l = Limits {
                hash_entries: entries,
                ..Limits::default()
            };
            let mut h = Hash::new();
            for i in 0..20 {
                h.set(
                    format!("f{i}").as_bytes(),
                    format!("{i}").as_bytes(),
                    &l,
                    false,
                );
            }
            let s = Sampler::new(&h);
            let got: BTreeMap<_, _> = (0..s.len())
                .map(|i| {
                    let (f, v) = s.get(i);
                    (bytes(f), bytes(v))
                })
                .collect();
            assert_eq!(got, as_map(&h));
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_a_btreemap_model(
            entries in 0usize..6,
            ops in proptest::collection::vec((0u8..5, 0u8..12, proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8)), 0..120)
        ) {
            let l = Limits { hash_entries: entries, hash_value: 6, ..Limits::default() };
            let mut h = Hash::new();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut ttls: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
            let mut now = 1000u64;
            for (op, f, v) in ops {
                // Field names: small integers (stored as ints) and text.
                let field = if f % 2 == 0 { format!("{f}").into_bytes() } else { format!("f{f}").into_bytes() };
                match op {
                    0 | 1 => {
                        let added = h.set(&field, &v, &l, false);
                        proptest::prop_assert_eq!(added, !model.contains_key(&field));
                        model.insert(field.clone(), v.clone());
                        ttls.remove(&field);
                    }
                    2 => {
                        let removed = h.remove(&field);
                        proptest::prop_assert_eq!(removed, model.remove(&field).is_some());
                        ttls.remove(&field);
                    }
                    3 => {
                        let when = now + (v.len() as u64);
                        let ok = h.set_field_expire(&field, when);
                        proptest::prop_assert_eq!(ok, model.contains_key(&field));
                        if ok { ttls.insert(field.clone(), when); }
                    }
                    _ => {
                        now += 3;
                        let expired: Vec<Vec<u8>> = ttls.iter().filter(|(_, &w)| w < now).map(|(k, _)| k.clone()).collect();
                        for k in &expired { ttls.remove(k); model.remove(k); }
                        proptest::prop_assert_eq!(h.purge_expired(now), expired.len());
                    }
                }
                proptest::prop_assert_eq!(h.len(), model.len());
                proptest::prop_assert_eq!(&as_map(&h), &model);
                for (k, w) in &ttls {
                    proptest::prop_assert_eq!(h.field_ttl(k), FieldTtl::At(*w));
                }
                if model.len() > entries {
                    proptest::prop_assert_eq!(h.encoding(), "hashtable");
                }
            }
        }
    }

    /// `Value::Hash` boxes a `Hash`: at 16 bytes the box is the smallest
    /// allocation class that fits, which the memory target depends on.
    #[test]
    fn hash_header_is_16_bytes() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }
}
