//! A keyspace node: one heap allocation holding an [`Entry`] followed by
//! the key's bytes.
//!
//! Tables store a thin pointer to a node per bucket. Putting the key right
//! after the entry (instead of in a separate `Box<[u8]>` or an inline
//! small-vector) makes the whole node exactly `size_of::<Entry>() + key
//! length` bytes — 64 bytes for a 16-byte key, one allocator size class —
//! and means a lookup touches one allocation for both the key comparison
//! and the value. The node header (not the `Entry`, which commands may
//! overwrite wholesale through `&mut Entry`) holds the key length, the
//! last-access time and the LFU counter, so no safe code can make the key
//! length lie and rewriting a value keeps the key's access history.
//!
//! The LFU counter costs no space: it takes the low 8 bits of the 32-bit
//! word that held the key length, leaving 24 bits of length. Keys of 16 MB
//! or more (legal: `proto-max-bulk-len` allows 512 MB and more) store the
//! sentinel [`LONG_KEY`] there instead and keep their real length in a
//! `u64` just before the key bytes. Such keys are rare enough that the one
//! well-predicted branch in [`Node::key`] costs nothing measurable, while
//! every node stays 48 bytes + key. (Redis's LFU also needs a "last
//! decrement time"; it always equals the last access, which the header
//! already keeps in seconds — see `evict::lfu_decayed`.)

use crate::db::Entry;
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// What precedes the key bytes in a node's allocation.
#[repr(C)]
struct Header {
    entry: Entry,
    /// Last access, in seconds since the unix epoch (OBJECT IDLETIME, LRU,
    /// and the LFU counter's decay).
    access: u32,
    /// `key length << 8 | LFU counter`; a length of [`LONG_KEY`] means the
    /// real length is the `u64` stored right after the header.
    meta: u32,
}

/// Key lengths from this value up are stored out of line.
pub const LONG_KEY: usize = (1 << 24) - 1;
/// Bytes between the header and the key for a long key.
const LONG_PREFIX: usize = std::mem::size_of::<u64>();

/// The LFU counter a new key starts with (Redis's `LFU_INIT_VAL`), so that
/// a fresh key is not evicted before it had a chance to be read.
pub const LFU_INIT: u8 = 5;

#[inline]
fn key_offset(key_len: usize) -> usize {
    std::mem::size_of::<Header>() + if key_len >= LONG_KEY { LONG_PREFIX } else { 0 }
}

/// Owning thin pointer to an entry and its key.
pub struct Node {
    ptr: NonNull<Header>,
}

// SAFETY: a Node owns its allocation exclusively, like a Box<Entry>; Entry
// is Send and Sync, so moving or sharing the node across threads is as safe
// as moving or sharing a Box of it.
unsafe impl Send for Node {}
unsafe impl Sync for Node {}

fn layout(key_len: usize) -> Layout {
    let size = key_offset(key_len) + key_len;
    // Header's alignment is a power of two and the size cannot overflow
    // isize for keys the protocol limits to 512 MB, so this never fails.
    Layout::from_size_align(size, std::mem::align_of::<Header>())
        .unwrap_or_else(|_| Layout::new::<Header>())
}

impl Node {
    /// Allocates a node for `key` holding `entry`.
    pub fn new(key: &[u8], entry: Entry, access: u32) -> Node {
        let long = key.len() >= LONG_KEY;
        let short_len = if long { LONG_KEY } else { key.len() } as u32;
        let layout = layout(key.len());
        // SAFETY: the layout has non-zero size (it includes a Header). We
        // write the header, the long-key length if any, and then the key
        // bytes into the fresh allocation, within its size, before anything
        // reads them. The u64 prefix sits at offset size_of::<Header>(),
        // a multiple of Header's alignment (8), so the write is aligned.
        unsafe {
            let raw = alloc(layout) as *mut Header;
            let Some(ptr) = NonNull::new(raw) else {
                handle_alloc_error(layout)
            };
            ptr.as_ptr().write(Header {
                entry,
                access,
                meta: short_len << 8 | LFU_INIT as u32,
            });
            let base = ptr.as_ptr() as *mut u8;
            if long {
                (base.add(std::mem::size_of::<Header>()) as *mut u64).write(key.len() as u64);
            }
            let key_dst = base.add(key_offset(key.len()));
            std::ptr::copy_nonoverlapping(key.as_ptr(), key_dst, key.len());
            Node { ptr }
        }
    }

    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: ptr points to an initialised Header we own.
        unsafe { self.ptr.as_ref() }
    }

    #[inline]
    fn header_mut(&mut self) -> &mut Header {
        // SAFETY: as above, and &mut self guarantees exclusive access.
        unsafe { self.ptr.as_mut() }
    }

    #[inline]
    pub fn entry(&self) -> &Entry {
        &self.header().entry
    }

    #[inline]
    pub fn entry_mut(&mut self) -> &mut Entry {
        &mut self.header_mut().entry
    }

    /// Last access in unix seconds.
    #[inline]
    pub fn access(&self) -> u32 {
        self.header().access
    }

    #[inline]
    pub fn set_access(&mut self, secs: u32) {
        self.header_mut().access = secs;
    }

    /// The LFU counter as last stored (before decay: see
    /// `evict::lfu_decayed`).
    #[inline]
    pub fn lfu(&self) -> u8 {
        self.header().meta as u8
    }

    #[inline]
    pub fn set_lfu(&mut self, counter: u8) {
        let h = self.header_mut();
        h.meta = (h.meta & !0xFF) | counter as u32;
    }

    /// The key's length, from the header or, for long keys, the prefix.
    #[inline]
    fn key_len(&self) -> usize {
        let short = (self.header().meta >> 8) as usize;
        if short != LONG_KEY {
            return short;
        }
        // SAFETY: Node::new wrote the real length as an aligned u64 right
        // after the header whenever it stored the LONG_KEY sentinel.
        unsafe {
            ((self.ptr.as_ptr() as *const u8).add(std::mem::size_of::<Header>()) as *const u64)
                .read() as usize
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let len = self.key_len();
        // SAFETY: Node::new copied exactly `len` key bytes at key_offset(len),
        // inside the same allocation, and they are never modified.
        unsafe {
            let start = (self.ptr.as_ptr() as *const u8).add(key_offset(len));
            std::slice::from_raw_parts(start, len)
        }
    }

    /// Frees the node and returns its entry.
    pub fn into_entry(self) -> Entry {
        let len = self.key_len();
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: we move the entry out exactly once, then free the memory
        // without running Entry's destructor again (ManuallyDrop stops
        // Node::drop from running).
        unsafe {
            let entry = std::ptr::addr_of!((*this.ptr.as_ptr()).entry).read();
            dealloc(this.ptr.as_ptr() as *mut u8, layout(len));
            entry
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let len = self.key_len();
        // SAFETY: the entry is initialised and dropped exactly once here; the
        // allocation was made with the same layout in Node::new.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            dealloc(self.ptr.as_ptr() as *mut u8, layout(len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn key_and_entry_round_trip() {
        for len in [0usize, 1, 15, 16, 17, 100, 5000] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut n = Node::new(&key, Entry::new(Value::from_bytes(b"v")), 5);
            assert_eq!(n.access(), 5);
            assert_eq!(n.key(), &key[..]);
            n.entry_mut().value = Value::Int(7);
            assert_eq!(n.entry().value, Value::Int(7));
            let e = n.into_entry();
            assert_eq!(e.value, Value::Int(7));
        }
    }

    #[test]
    fn long_keys_keep_their_length_out_of_line() {
        for len in [LONG_KEY - 1, LONG_KEY, LONG_KEY + 3] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut n = Node::new(&key, Entry::new(Value::Int(1)), 9);
            assert_eq!(n.key().len(), len);
            assert!(n.key() == &key[..]);
            assert_eq!(n.lfu(), LFU_INIT);
            n.set_lfu(200);
            assert_eq!(n.lfu(), 200);
            assert_eq!(n.key().len(), len, "the counter must not touch the length");
            assert_eq!(n.access(), 9);
        }
    }

    #[test]
    fn lfu_counter_is_independent_of_the_key() {
        let mut n = Node::new(b"abc", Entry::new(Value::Int(1)), 0);
        assert_eq!(n.lfu(), LFU_INIT);
        n.set_lfu(255);
        assert_eq!(n.key(), b"abc");
        n.set_lfu(0);
        assert_eq!(n.lfu(), 0);
        assert_eq!(n.key(), b"abc");
    }

    #[test]
    fn node_for_a_16_byte_key_is_one_64_byte_allocation() {
        assert_eq!(std::mem::size_of::<Entry>(), 40);
        assert_eq!(std::mem::size_of::<Header>(), 48);
        assert_eq!(layout(16).size(), 64);
    }

    #[test]
    fn drop_frees_owned_values() {
        // Run under Miri or a leak checker to see it; here we at least
        // exercise the path with a heap-owning value.
        let big = vec![b'x'; 1000];
        let n = Node::new(b"k", Entry::new(Value::from_bytes(&big)), 0);
        drop(n);
    }
}
