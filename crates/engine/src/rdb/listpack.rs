//! Reading Redis's listpack blobs (the compact form Redis 7 dumps small
//! hashes, sorted sets, sets and list nodes in).
//!
//! Layout: total size (u32 LE), element count (u16 LE, 65535 = unknown),
//! the entries, and a 0xFF terminator. Each entry is an encoding byte that
//! says whether an integer or a string follows and how long it is, the
//! data, then a "back length" of 1–5 bytes (the entry's size, for walking
//! backwards), which a forward reader only needs to skip.

use super::RdbError;
use crate::listpack::Item;

const BAD: RdbError = RdbError::Malformed("listpack");

/// The entries of `blob`, after checking its header against its size.
pub(super) fn entries(blob: &[u8]) -> Result<Entries<'_>, RdbError> {
    if blob.len() < 7 || *blob.last().ok_or(BAD)? != 0xFF {
        return Err(BAD);
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(BAD);
    }
    Ok(Entries {
        buf: &blob[6..blob.len() - 1],
        pos: 0,
    })
}

/// The entries of `blob` two at a time (hash fields and values, sorted-set
/// members and scores); an odd count is malformed.
pub(super) fn pairs(
    blob: &[u8],
) -> Result<impl Iterator<Item = Result<(Item<'_>, Item<'_>), RdbError>>, RdbError> {
    let mut it = entries(blob)?;
    Ok(std::iter::from_fn(move || {
        let first = it.next()?;
        Some(match (first, it.next()) {
            (Ok(a), Some(Ok(b))) => Ok((a, b)),
            (Err(e), _) | (_, Some(Err(e))) => Err(e),
            (Ok(_), None) => Err(BAD),
        })
    }))
}

/// Iterator over the entries (integers or byte strings, never floats); a
/// malformed entry ends it with an error.
pub(super) struct Entries<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Entries<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self.pos.checked_add(n).ok_or(BAD)?;
        let s = self.buf.get(self.pos..end).ok_or(BAD)?;
        self.pos = end;
        Ok(s)
    }

    fn entry(&mut self) -> Result<Item<'a>, RdbError> {
        let start = self.pos;
        let b = self.take(1)?[0];
        let e = if b & 0x80 == 0 {
            Item::Int((b & 0x7F) as i64)
        } else if b & 0xC0 == 0x80 {
            Item::Bytes(self.take((b & 0x3F) as usize)?)
        } else if b & 0xE0 == 0xC0 {
            // 13-bit two's complement.
            let u = (((b & 0x1F) as i64) << 8) | self.take(1)?[0] as i64;
            Item::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
        } else if b & 0xF0 == 0xE0 {
            let n = (((b & 0x0F) as usize) << 8) | self.take(1)?[0] as usize;
            Item::Bytes(self.take(n)?)
        } else {
            match b {
                0xF0 => {
                    let l = self.take(4)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    Item::Bytes(self.take(n)?)
                }
                0xF1 => {
                    let d = self.take(2)?;
                    Item::Int(i16::from_le_bytes([d[0], d[1]]) as i64)
                }
                0xF2 => {
                    // 24-bit: sign-extend from the top byte.
                    let d = self.take(3)?;
                    Item::Int((i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64)
                }
                0xF3 => {
                    let d = self.take(4)?;
                    Item::Int(i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64)
                }
                0xF4 => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(self.take(8)?);
                    Item::Int(i64::from_le_bytes(a))
                }
                _ => return Err(BAD),
            }
        };
        let size = self.pos - start;
        let back = match size {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2_097_150 => 3,
            2_097_151..=268_435_454 => 4,
            _ => 5,
        };
        self.take(back)?;
        Ok(e)
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Item<'a>, RdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let e = self.entry();
        if e.is_err() {
            self.pos = self.buf.len();
        }
        Some(e)
    }
}
