//! A keyspace node: one heap allocation holding an [`Entry`] followed by
//! the key's bytes.
//!
//! Tables store a thin pointer to a node per bucket. Putting the key right
//! after the entry (instead of in a separate `Box<[u8]>` or an inline
//! small-vector) makes the whole node exactly `size_of::<Entry>() + key
//! length` bytes — 64 bytes for a 16-byte key, one allocator size class —
//! and means a lookup touches one allocation for both the key comparison
//! and the value. The node header (not the `Entry`, which commands may
//! overwrite wholesale through `&mut Entry`) holds the key length and the
//! last-access time, so no safe code can make the key length lie.

use crate::db::Entry;
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// What precedes the key bytes in a node's allocation.
#[repr(C)]
struct Header {
    entry: Entry,
    /// Last access, in seconds since the unix epoch (OBJECT IDLETIME, LRU).
    access: u32,
    key_len: u32,
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
    let size = std::mem::size_of::<Header>() + key_len;
    // Header's alignment is a power of two and the size cannot overflow
    // isize for keys the protocol limits to 512 MB, so this never fails.
    Layout::from_size_align(size, std::mem::align_of::<Header>())
        .unwrap_or_else(|_| Layout::new::<Header>())
}

impl Node {
    /// Allocates a node for `key` holding `entry`.
    pub fn new(key: &[u8], entry: Entry, access: u32) -> Node {
        let key_len = u32::try_from(key.len()).expect("keys are limited by proto-max-bulk-len");
        let layout = layout(key.len());
        // SAFETY: the layout has non-zero size (it includes a Header). We
        // write the header and then the key bytes into the fresh allocation,
        // within its size, before anything reads them.
        unsafe {
            let raw = alloc(layout) as *mut Header;
            let Some(ptr) = NonNull::new(raw) else {
                handle_alloc_error(layout)
            };
            ptr.as_ptr().write(Header {
                entry,
                access,
                key_len,
            });
            let key_dst = (ptr.as_ptr() as *mut u8).add(std::mem::size_of::<Header>());
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

    #[inline]
    pub fn key(&self) -> &[u8] {
        let len = self.header().key_len as usize;
        // SAFETY: Node::new copied exactly `len` key bytes right after the
        // entry, inside the same allocation, and they are never modified.
        unsafe {
            let start = (self.ptr.as_ptr() as *const u8).add(std::mem::size_of::<Header>());
            std::slice::from_raw_parts(start, len)
        }
    }

    /// Frees the node and returns its entry.
    pub fn into_entry(self) -> Entry {
        let len = self.header().key_len as usize;
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
        let len = self.header().key_len as usize;
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
