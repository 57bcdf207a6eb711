//! Writing a value in RDB form (see the module docs for the forms chosen).

use super::{kind, seal, RdbError, VERSION_7_0, VERSION_7_4};
use crate::types::hash::FieldTtl;
use crate::value::{itoa_buf, parse_canonical_i64, Value};

/// The DUMP payload of `value`: type, value, version, checksum.
pub fn dump(value: &Value) -> Result<Vec<u8>, RdbError> {
    let mut out = Vec::new();
    let mut version = VERSION_7_0;
    let mut scratch = itoa_buf::Buf::new();
    match value {
        Value::Int(i) => {
            out.push(kind::STRING);
            int_string(&mut out, *i);
        }
        Value::Str(b) | Value::Raw(b) => {
            out.push(kind::STRING);
            string(&mut out, b);
        }
        Value::List(l) => {
            out.push(kind::LIST);
            length(&mut out, l.len() as u64);
            for item in l.iter() {
                string(&mut out, item.as_bytes(&mut scratch));
            }
        }
        Value::Set(s) => {
            out.push(kind::SET);
            length(&mut out, s.len() as u64);
            for item in s.iter() {
                string(&mut out, item.as_bytes(&mut scratch));
            }
        }
        Value::ZSet(z) => {
            out.push(kind::ZSET_2);
            length(&mut out, z.len() as u64);
            z.for_each(|member, score| {
                string(&mut out, member);
                out.extend_from_slice(&score.to_le_bytes());
            });
        }
        Value::Hash(h) => {
            let min_ttl = h
                .iter()
                .filter_map(|(f, _)| match h.field_ttl(f.as_bytes(&mut scratch)) {
                    FieldTtl::At(when) => Some(when),
                    FieldTtl::Persistent | FieldTtl::Missing => None,
                })
                .min();
            match min_ttl {
                None => out.push(kind::HASH),
                Some(min) => {
                    // Each field's TTL is stored relative to the smallest,
                    // plus one (0 means "no TTL").
                    out.push(kind::HASH_METADATA);
                    out.extend_from_slice(&min.to_le_bytes());
                    version = VERSION_7_4;
                }
            }
            length(&mut out, h.len() as u64);
            let mut vscratch = itoa_buf::Buf::new();
            for (field, val) in h.iter() {
                let field = field.as_bytes(&mut scratch);
                if let Some(min) = min_ttl {
                    let rel = match h.field_ttl(field) {
                        FieldTtl::At(when) => when.saturating_sub(min) + 1,
                        FieldTtl::Persistent | FieldTtl::Missing => 0,
                    };
                    length(&mut out, rel);
                }
                string(&mut out, field);
                string(&mut out, val.as_bytes(&mut vscratch));
            }
        }
        Value::Json(_) => return Err(RdbError::Json),
    }
    Ok(seal(out, version))
}

/// RDB length encoding: 6 bits, 14 bits, or a marker byte and a 32/64-bit
/// big-endian number.
pub(super) fn length(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A string; one that is the canonical text of an integer fitting 32 bits
/// takes Redis's 1-, 2- or 4-byte integer form.
pub(super) fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(i) = parse_canonical_i64(s) {
            if int_form(out, i) {
                return;
            }
        }
    }
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn int_string(out: &mut Vec<u8>, i: i64) {
    if !int_form(out, i) {
        let mut b = itoa_buf::Buf::new();
        let s = b.format(i);
        length(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// Writes `i` in the smallest integer form; false if it needs more than 32
/// bits (then it is written as text).
fn int_form(out: &mut Vec<u8>, i: i64) -> bool {
    if let Ok(v) = i8::try_from(i) {
        out.push(0xC0);
        out.push(v as u8);
    } else if let Ok(v) = i16::try_from(i) {
        out.push(0xC1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(i) {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}
