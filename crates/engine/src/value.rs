//! Values stored under keys.
//!
//! Strings come in three encodings, mirroring what `OBJECT ENCODING` reports
//! in Redis: `Int` for canonical 64-bit integers (so INCR never re-parses),
//! `Str` for strings stored as written ("embstr" up to 44 bytes, "raw"
//! beyond), and `Raw` for strings modified in place (APPEND, SETRANGE, …),
//! which Redis always reports as "raw". Short strings live inline in the
//! entry, without a heap allocation.

use crate::types::{Hash, List, Set, ZSet};
use smallvec::SmallVec;

/// Bytes with 16 bytes of inline storage: fits typical keys and small values
/// without touching the allocator.
pub type Bytes16 = SmallVec<[u8; 16]>;

/// Bytes in 24 bytes of space, inline up to 23: the element type of large
/// sets and hashes. Same size as [`Bytes16`], but members like
/// `element:000000123456` (20 bytes, what redis-benchmark sends) or a
/// UUID's 16 bytes plus a prefix stay inline, so a lookup compares them
/// without a second cache miss into the heap and an insert does not
/// allocate.
pub type Bytes23 = compact_bytes::CompactBytes;

/// Longest string Redis stores as "embstr".
const EMBSTR_MAX: usize = 44;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes16),
    Raw(Bytes16),
    Int(i64),
    // Collections are boxed so that a table slot stays 32 bytes for every key.
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    /// A RedisJSON document (boxed: documents are trees of any size).
    Json(Box<crate::types::json::JsonValue>),
}

impl Value {
    /// Builds a string value, choosing the integer encoding when the bytes are
    /// a canonical integer (as Redis does on SET).
    pub fn from_bytes(data: &[u8]) -> Value {
        if let Some(i) = parse_canonical_i64(data) {
            return Value::Int(i);
        }
        Value::Str(Bytes16::from_slice(data))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::Raw(_) | Value::Int(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            // The module type name RedisJSON registers.
            Value::Json(_) => "ReJSON-RL",
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(b) if b.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(st) => st.encoding(),
            Value::ZSet(z) => z.encoding(),
            // Redis reports every module value as "raw".
            Value::Json(_) => "raw",
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Raw(_) | Value::Int(_))
    }

    /// Bytes of a string value, formatting integers into `scratch`.
    pub fn string_bytes<'a>(&'a self, scratch: &'a mut itoa_buf::Buf) -> Option<&'a [u8]> {
        match self {
            Value::Str(b) | Value::Raw(b) => Some(b),
            Value::Int(i) => Some(scratch.format(*i)),
            _ => None,
        }
    }

    /// A mutable byte buffer for in-place edits, converting to `Raw`.
    pub fn make_raw(&mut self) -> Option<&mut Bytes16> {
        match self {
            Value::Int(i) => {
                let mut b = itoa_buf::Buf::new();
                *self = Value::Raw(Bytes16::from_slice(b.format(*i)));
            }
            Value::Str(b) => {
                let taken = std::mem::take(b);
                *self = Value::Raw(taken);
            }
            Value::Raw(_) => {}
            _ => return None,
        }
        match self {
            Value::Raw(b) => Some(b),
            _ => None,
        }
    }

    /// Length in bytes of a string value.
    pub fn string_len(&self) -> Option<usize> {
        match self {
            Value::Str(b) | Value::Raw(b) => Some(b.len()),
            Value::Int(i) => {
                let mut buf = itoa_buf::Buf::new();
                Some(buf.format(*i).len())
            }
            _ => None,
        }
    }

    /// Approximate heap bytes owned by this value (for MEMORY USAGE and
    /// eviction estimates; allocator-level accounting is in the server).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(b) | Value::Raw(b) if b.spilled() => b.capacity(),
            Value::Str(_) | Value::Raw(_) | Value::Int(_) => 0,
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_size(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Set(st) => std::mem::size_of::<Set>() + st.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
            Value::Json(j) => {
                std::mem::size_of::<crate::types::json::JsonValue>()
                    + crate::types::json::heap_size(j)
            }
        }
    }
}

/// Parses `data` as Redis's `string2ll` would accept it *and* print it back
/// identically: no `+`, no leading zeros, no spaces, within i64.
pub fn parse_canonical_i64(data: &[u8]) -> Option<i64> {
    if data.is_empty() || data.len() > 20 {
        return None;
    }
    let (neg, digits) = match data[0] {
        b'-' => (true, &data[1..]),
        _ => (false, data),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = (b - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// A stack buffer for formatting integers (avoids a dependency in this crate).
pub mod itoa_buf {
    pub struct Buf {
        bytes: [u8; 20],
    }

    impl Default for Buf {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Buf {
        pub fn new() -> Self {
            Buf { bytes: [0; 20] }
        }

        pub fn format(&mut self, v: i64) -> &[u8] {
            let mut n = v.unsigned_abs();
            let mut i = self.bytes.len();
            loop {
                i -= 1;
                self.bytes[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            if v < 0 {
                i -= 1;
                self.bytes[i] = b'-';
            }
            &self.bytes[i..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"123"), Some(123));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
        assert_eq!(parse_canonical_i64(b"0123"), None);
        assert_eq!(parse_canonical_i64(b"-0"), None);
        assert_eq!(parse_canonical_i64(b"+1"), None);
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b" 1"), None);
    }

    #[test]
    fn itoa_formats_extremes() {
        let mut b = itoa_buf::Buf::new();
        assert_eq!(b.format(i64::MIN), b"-9223372036854775808");
        assert_eq!(b.format(0), b"0");
        assert_eq!(b.format(-5), b"-5");
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::from_bytes(b"12").encoding(), "int");
        assert_eq!(Value::from_bytes(b"abc").encoding(), "embstr");
        assert_eq!(Value::from_bytes(&[b'x'; 45]).encoding(), "raw");
        let mut v = Value::from_bytes(b"12");
        v.make_raw().unwrap().extend_from_slice(b"3");
        assert_eq!(v, Value::Raw(Bytes16::from_slice(b"123")));
        assert_eq!(v.encoding(), "raw");
    }
}
