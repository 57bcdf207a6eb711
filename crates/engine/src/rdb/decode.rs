//! Reading a DUMP payload back into a value (see the module docs for the
//! types accepted). Every length is checked against the bytes left before
//! anything is allocated for it.

use super::listpack;
use super::{kind, lzf, unseal, RdbError};
use crate::listpack::Item;
use crate::types::list::End;
use crate::types::{Hash, Limits, List, Set, ZSet};
use crate::value::Value;

/// Parses a DUMP payload into a value, with encodings chosen by `limits`
/// as if it had been built by commands. Fields whose TTL is at or before
/// `now_ms` are left out; `Ok(None)` means nothing was left.
pub fn restore(payload: &[u8], limits: &Limits, now_ms: u64) -> Result<Option<Value>, RdbError> {
    let body = unseal(payload)?;
    let mut r = Reader { buf: body, pos: 0 };
    let ty = r.byte()?;
    let value = match ty {
        kind::STRING => Value::from_bytes(&r.string()?),
        kind::LIST => {
            // Built element by element: a payload of many tiny elements
            // must not first become a vector of many small allocations.
            let n = r.count(1)?;
            let mut list = List::new();
            for _ in 0..n {
                list.push(End::Tail, &r.string()?, limits.list_size);
            }
            Value::List(Box::new(list))
        }
        kind::LIST_QUICKLIST_2 => list_quicklist(&mut r, limits)?,
        kind::SET => {
            let n = r.count(1)?;
            let mut set = Set::new();
            for _ in 0..n {
                set_add(&mut set, Item::Bytes(&r.string()?), limits)?;
            }
            Value::Set(Box::new(set))
        }
        kind::SET_INTSET => {
            let blob = r.string()?;
            let mut set = Set::new();
            let mut added = Ok(());
            intset(&blob, |i| {
                if added.is_ok() {
                    added = set_add(&mut set, Item::Int(i), limits);
                }
            })?;
            added?;
            Value::Set(Box::new(set))
        }
        kind::SET_LISTPACK => {
            let blob = r.string()?;
            let mut set = Set::new();
            for e in listpack::entries(&blob)? {
                set_add(&mut set, e?, limits)?;
            }
            Value::Set(Box::new(set))
        }
        kind::ZSET | kind::ZSET_2 => {
            let n = r.count(2)?;
            let mut z = ZSet::new();
            for _ in 0..n {
                let member = r.string()?;
                let score = if ty == kind::ZSET_2 {
                    f64::from_le_bytes(r.array::<8>()?)
                } else {
                    r.text_double()?
                };
                zset_add(&mut z, &member, score, limits)?;
            }
            Value::ZSet(Box::new(z))
        }
        kind::ZSET_LISTPACK => {
            let blob = r.string()?;
            let mut z = ZSet::new();
            for pair in listpack::pairs(&blob)? {
                let (member, score) = pair?;
                let score = score.as_f64().ok_or(RdbError::Malformed("score"))?;
                zset_add(&mut z, &member.to_vec(), score, limits)?;
            }
            Value::ZSet(Box::new(z))
        }
        kind::HASH => {
            let n = r.count(2)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let field = r.string()?;
                let val = r.string()?;
                hash_add(&mut h, &field, &val, limits)?;
            }
            Value::Hash(Box::new(h))
        }
        kind::HASH_LISTPACK => {
            let blob = r.string()?;
            let mut h = Hash::new();
            for pair in listpack::pairs(&blob)? {
                let (field, val) = pair?;
                hash_add(&mut h, &field.to_vec(), &val.to_vec(), limits)?;
            }
            Value::Hash(Box::new(h))
        }
        kind::HASH_METADATA => {
            let min = u64::from_le_bytes(r.array::<8>()?);
            let n = r.count(3)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let rel = r.length()?;
                let field = r.string()?;
                let val = r.string()?;
                if rel == 0 {
                    hash_add(&mut h, &field, &val, limits)?;
                    continue;
                }
                let when = min
                    .checked_add(rel - 1)
                    .ok_or(RdbError::Malformed("field TTL"))?;
                if when <= now_ms {
                    continue; // expired in transit, as Redis drops it on load
                }
                hash_add(&mut h, &field, &val, limits)?;
                h.set_field_expire(&field, when);
            }
            if h.is_empty() {
                return Ok(None);
            }
            Value::Hash(Box::new(h))
        }
        other => return Err(RdbError::UnsupportedType(other)),
    };
    let empty = match &value {
        Value::List(l) => l.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        Value::Hash(h) => h.is_empty(),
        _ => false,
    };
    if empty {
        return Err(RdbError::Empty);
    }
    Ok(Some(value))
}

fn list_quicklist(r: &mut Reader<'_>, limits: &Limits) -> Result<Value, RdbError> {
    const PLAIN: u64 = 1;
    const PACKED: u64 = 2;
    let nodes = r.count(2)?;
    let mut list = List::new();
    for _ in 0..nodes {
        let container = r.length()?;
        let blob = r.string()?;
        match container {
            PLAIN => list.push(End::Tail, &blob, limits.list_size),
            PACKED => {
                for e in listpack::entries(&blob)? {
                    list.push(End::Tail, &e?.to_vec(), limits.list_size);
                }
            }
            _ => return Err(RdbError::Malformed("quicklist node")),
        }
    }
    Ok(Value::List(Box::new(list)))
}

fn set_add(set: &mut Set, member: Item<'_>, limits: &Limits) -> Result<(), RdbError> {
    if set.insert_item(member, limits) {
        Ok(())
    } else {
        Err(RdbError::Duplicate)
    }
}

fn zset_add(z: &mut ZSet, member: &[u8], score: f64, limits: &Limits) -> Result<(), RdbError> {
    if score.is_nan() {
        return Err(RdbError::Malformed("NaN score"));
    }
    match z.insert(member, score, limits) {
        None => Ok(()),
        Some(_) => Err(RdbError::Duplicate),
    }
}

fn hash_add(h: &mut Hash, field: &[u8], val: &[u8], limits: &Limits) -> Result<(), RdbError> {
    if h.contains(field) {
        return Err(RdbError::Duplicate);
    }
    h.reserve_for(field.len(), val.len(), limits);
    h.set(field, val, limits, false);
    Ok(())
}

fn parse_score(b: &[u8]) -> Result<f64, RdbError> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or(RdbError::Malformed("score"))
}

/// Calls `f` with each member of an intset blob: encoding width (2, 4 or
/// 8) and count as little-endian u32s, then the members, little-endian.
fn intset(blob: &[u8], mut f: impl FnMut(i64)) -> Result<(), RdbError> {
    let bad = RdbError::Malformed("intset");
    if blob.len() < 8 {
        return Err(bad);
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || Some(blob.len() - 8) != count.checked_mul(width) {
        return Err(bad);
    }
    for c in blob[8..].chunks_exact(width) {
        f(match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        });
    }
    Ok(())
}

/// A cursor over the serialised value.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self.pos.checked_add(n).ok_or(RdbError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(RdbError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// A length, or an error for the special string forms (which only
    /// [`Reader::string`] accepts).
    fn length(&mut self) -> Result<u64, RdbError> {
        match self.length_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(RdbError::Malformed("length")),
        }
    }

    /// An element count, refused when the bytes left could not hold that
    /// many elements of at least `min_bytes` each (so a forged count never
    /// sizes an allocation).
    fn count(&mut self, min_bytes: usize) -> Result<usize, RdbError> {
        let n = self.length()?;
        if n > (self.left() / min_bytes) as u64 {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    fn length_or_special(&mut self) -> Result<Len, RdbError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3F) as u64),
            1 => Len::Plain((((b & 0x3F) as u64) << 8) | self.byte()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array::<4>()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array::<8>()?)),
                _ => return Err(RdbError::Malformed("length")),
            },
            _ => Len::Special(b & 0x3F),
        })
    }

    /// A string: raw bytes, an integer form, or LZF-compressed bytes.
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let n = match self.length_or_special()? {
            Len::Plain(n) => n,
            Len::Special(form) => {
                let i = match form {
                    0 => self.byte()? as i8 as i64,
                    1 => i16::from_le_bytes(self.array::<2>()?) as i64,
                    2 => i32::from_le_bytes(self.array::<4>()?) as i64,
                    3 => {
                        let clen = self.length()?;
                        let ulen = self.length()?;
                        let clen = usize::try_from(clen).map_err(|_| RdbError::Truncated)?;
                        let packed = self.take(clen)?;
                        return lzf::decompress(packed, ulen);
                    }
                    _ => return Err(RdbError::Malformed("string encoding")),
                };
                return Ok(i.to_string().into_bytes());
            }
        };
        let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
        Ok(self.take(n)?.to_vec())
    }

    /// A score in the old text form: a length byte (253 NaN, 254 +inf,
    /// 255 -inf) and that many ASCII bytes.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => parse_score(self.take(n as usize)?),
        }
    }
}

enum Len {
    Plain(u64),
    Special(u8),
}
