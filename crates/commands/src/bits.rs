//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO.
//!
//! Bitmaps are ordinary strings; bit 0 is the most significant bit of the
//! first byte. A missing key reads as an empty string (all zero bits), and a
//! write grows the string with zero bytes, turning it into the `raw`
//! encoding as Redis does. Offsets are bounded by proto-max-bulk-len (in
//! bytes), checked before anything is allocated. The bit arithmetic lives
//! in [`crate::bitfield`].

use crate::bitfield::{self, Overflow};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, Handler, KeySpec, KEY1};
use crate::strings::{get_string, get_string_mut, max_string_len, value_bytes};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::value::{itoa_buf, parse_canonical_i64, Bytes16};
use quiver_engine::{Entry, Value, View};
use quiver_resp::Args;

const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        since,
        summary,
        ..CommandSpec::new(name, arity, flags, keys, acl::BITMAP, "bitmap", handler)
    }
}

const WD: u32 = flag::WRITE | flag::DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    row(
        "setbit",
        4,
        WD,
        KEY1,
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
        setbit,
    ),
    row(
        "getbit",
        3,
        flag::READONLY | flag::FAST,
        KEY1,
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
        getbit,
    ),
    row(
        "bitcount",
        -2,
        flag::READONLY,
        KEY1,
        "2.6.0",
        "Count set bits in a string",
        bitcount,
    ),
    row(
        "bitpos",
        -3,
        flag::READONLY,
        KEY1,
        "2.8.7",
        "Find first bit set or clear in a string",
        bitpos,
    ),
    row(
        "bitop",
        -4,
        WD,
        KeySpec {
            first: 2,
            last: -1,
            step: 1,
        },
        "2.6.0",
        "Perform bitwise operations between strings",
        bitop,
    ),
    row(
        "bitfield",
        -2,
        WD,
        KEY1,
        "3.2.0",
        "Perform arbitrary bitfield integer operations on strings",
        bitfield_cmd,
    ),
    row(
        "bitfield_ro",
        -2,
        flag::READONLY | flag::FAST,
        KEY1,
        "6.0.0",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        bitfield_ro,
    ),
];

/// Parses a bit offset. With `hash_bits`, BITFIELD's `#n` form means
/// `n × bits` (multiplied with wrap-around, as in Redis, so absurd values
/// come out negative and are rejected). The limit is proto-max-bulk-len
/// bytes, i.e. 2^32 − 1 bits by default.
fn parse_bit_offset(ctx: &Ctx<'_>, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, CmdError> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let off = parse_canonical_i64(digits)
        .ok_or(CmdError::BitOffset)?
        .wrapping_mul(mul);
    if off < 0 || (off as u64 >> 3) >= max_string_len(ctx) {
        return Err(CmdError::BitOffset);
    }
    Ok(off as u64)
}

/// The string at `key` for a bit write reaching bit `max_bit`: created or
/// grown with zero bytes as needed, and in the `raw` encoding. Also says
/// whether the key was created and whether it was grown (SETBIT counts
/// either as a change even when the bit keeps its value).
fn bits_for_write<'v>(
    view: &'v mut View<'_>,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'v mut Bytes16, bool, bool), CmdError> {
    let need = (max_bit >> 3) as usize + 1;
    let created = get_string_mut(view, key)?.is_none();
    if created {
        view.insert(key, Entry::new(Value::Raw(Bytes16::from_elem(0, need))));
    }
    let entry = get_string_mut(view, key)?.ok_or(CmdError::WrongType)?;
    let buf = entry.value.make_raw().ok_or(CmdError::WrongType)?;
    let grown = buf.len() < need;
    if grown {
        buf.resize(need, 0);
    }
    Ok((buf, created, grown))
}

fn setbit(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let offset = parse_bit_offset(ctx, args.get(2), None)?;
    let on = match parse_canonical_i64(args.get(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::BitValue),
    };
    let mut view = ctx.view(key);
    let (buf, created, grown) = bits_for_write(&mut view, key, offset)?;
    let byte = &mut buf[(offset >> 3) as usize];
    let mask = 0x80u8 >> (offset & 7);
    let old = *byte & mask != 0;
    if on {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    drop(view);
    ctx.dirty(1);
    // Redis announces SETBIT only when something changed: a new key, a
    // longer string, or a flipped bit.
    if created || grown || old != on {
        crate::notify::emit_new(ctx, created, key);
        crate::notify::emit(ctx, crate::notify::STRING, "setbit", key);
    }
    ctx.reply.int(old as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let offset = parse_bit_offset(ctx, args.get(2), None)?;
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    let mut nb = itoa_buf::Buf::new();
    let bytes = v.map_or(&[][..], |v| value_bytes(v, &mut nb));
    let bit = bytes
        .get((offset >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0);
    ctx.reply.int(bit as i64);
    Ok(())
}

/// Parses an optional trailing `BYTE`/`BIT` unit; true for BIT.
fn parse_unit(arg: Option<&[u8]>) -> Result<bool, CmdError> {
    match arg {
        None => Ok(false),
        Some(a) if eq_ic(a, "bit") => Ok(true),
        Some(a) if eq_ic(a, "byte") => Ok(false),
        Some(_) => Err(CmdError::Syntax),
    }
}

/// Resolves BITCOUNT/BITPOS's inclusive `start..=end` (negative = from the
/// end, in bytes or bits) against a string of `len` bytes, as an inclusive
/// bit range; `None` if empty.
pub fn bit_range(start: i64, end: i64, is_bit: bool, len: usize) -> Option<(u64, u64)> {
    let total = if is_bit { len as i64 * 8 } else { len as i64 };
    let s = if start < 0 {
        (total + start).max(0)
    } else {
        start
    };
    let e = if end < 0 { (total + end).max(0) } else { end };
    let e = e.min(total - 1);
    if s > e {
        return None;
    }
    let (s, e) = (s as u64, e as u64);
    Some(if is_bit { (s, e) } else { (s * 8, e * 8 + 7) })
}

fn bitcount(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    // Redis looks the key up first: a missing key counts 0 whatever follows.
    let Some(v) = v else {
        ctx.reply.int(0);
        return Ok(());
    };
    let mut nb = itoa_buf::Buf::new();
    let bytes = value_bytes(v, &mut nb);
    let count = match args.len() {
        2 => bitfield::popcount(bytes),
        4 | 5 => {
            let start = parse_i64(args.get(2))?;
            let end = parse_i64(args.get(3))?;
            let is_bit = parse_unit(args.try_get(4))?;
            // Both negative and reversed is empty before any clamping.
            if start < 0 && end < 0 && start > end {
                0
            } else {
                match bit_range(start, end, is_bit, bytes.len()) {
                    Some((first, last)) => bitfield::popcount_bits(bytes, first, last),
                    None => 0,
                }
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    ctx.reply.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let bit = parse_i64(args.get(2))?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    let mut view = ctx.view(key);
    let v = get_string(&mut view, key)?;
    ctx.server.keyspace.hit(v.is_some());
    // A missing key is an infinite run of zeros (checked before the range
    // is even parsed, as Redis does).
    let Some(v) = v else {
        ctx.reply.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut nb = itoa_buf::Buf::new();
    let bytes = value_bytes(v, &mut nb);
    let (range, end_given) = match args.len() {
        3 => (bit_range(0, -1, false, bytes.len()), false),
        4..=6 => {
            let start = parse_i64(args.get(3))?;
            let is_bit = parse_unit(args.try_get(5))?;
            let end = match args.try_get(4) {
                Some(a) => parse_i64(a)?,
                None => -1,
            };
            (bit_range(start, end, is_bit, bytes.len()), args.len() >= 5)
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = match range {
        None => -1,
        Some((first, last)) => match bitfield::find_bit(bytes, first, last, bit) {
            Some(p) => p as i64,
            // Looking for a 1: there is none. Looking for a 0 without an
            // explicit end: the string continues with zeros after its end.
            None if bit || end_given => -1,
            None => last as i64 + 1,
        },
    };
    ctx.reply.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = args.get(1);
    let op = if eq_ic(name, "and") {
        BitOp::And
    } else if eq_ic(name, "or") {
        BitOp::Or
    } else if eq_ic(name, "xor") {
        BitOp::Xor
    } else if eq_ic(name, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = args.get(2);
    let mut view = ctx.view_keys(args.slice_from(2).iter());
    // Fold the sources into `res`; a missing source is an empty string, and
    // bytes past a source's end count as zero.
    let mut res: Vec<u8> = Vec::new();
    for (n, key) in args.slice_from(3).iter().enumerate() {
        let v = get_string(&mut view, key)?;
        ctx.server.keyspace.hit(v.is_some());
        let mut nb = itoa_buf::Buf::new();
        let src = v.map_or(&[][..], |v| value_bytes(v, &mut nb));
        if n == 0 {
            res.extend_from_slice(src);
            if op == BitOp::Not {
                res.iter_mut().for_each(|b| *b = !*b);
            }
            continue;
        }
        if res.len() < src.len() {
            res.resize(src.len(), 0);
        }
        match op {
            BitOp::And => {
                for (i, r) in res.iter_mut().enumerate() {
                    *r &= src.get(i).copied().unwrap_or(0);
                }
            }
            BitOp::Or => res.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            BitOp::Xor => res.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
            BitOp::Not => {}
        }
    }
    let len = res.len();
    let existed = if len == 0 {
        view.remove(dest).is_some()
    } else {
        view.insert(dest, Entry::new(Value::Raw(Bytes16::from_vec(res))))
            .is_some()
    };
    drop(view);
    ctx.dirty(1);
    crate::notify::emit_store(ctx, crate::notify::STRING, "set", dest, existed, len > 0);
    ctx.reply.int(len as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incr,
}

/// One parsed BITFIELD operation.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

/// `i1`..`i64` or `u1`..`u63`. Redis reads the type as a C string, so a
/// NUL ends it.
fn parse_field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let bad = || {
        CmdError::err(
            "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    let bits = parse_canonical_i64(&arg[1..]).ok_or_else(bad)?;
    if bits < 1 || bits > if signed { 64 } else { 63 } {
        return Err(bad());
    }
    Ok((signed, bits as u32))
}

fn bitfield_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx<'_>, args: Args<'_>, read_only: bool) -> CmdResult {
    let key = args.get(1);
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut max_bit: Option<u64> = None;
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        let sub = args.get(i);
        let op = if eq_ic(sub, "get") && remaining >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && remaining >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && remaining >= 3 {
            FieldOp::Incr
        } else if eq_ic(sub, "overflow") && remaining >= 1 {
            let mode = args.get(i + 1);
            overflow = if eq_ic(mode, "wrap") {
                Overflow::Wrap
            } else if eq_ic(mode, "sat") {
                Overflow::Sat
            } else if eq_ic(mode, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = parse_field_type(args.get(i + 1))?;
        let offset = parse_bit_offset(ctx, args.get(i + 2), Some(bits))?;
        let mut value = 0;
        if op != FieldOp::Get {
            let last = offset + bits as u64 - 1;
            max_bit = Some(max_bit.map_or(last, |m| m.max(last)));
            value = parse_i64(args.get(i + 3))?;
        }
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        i += if op == FieldOp::Get { 3 } else { 4 };
    }

    let mut view = ctx.view(key);
    let Some(max_bit) = max_bit else {
        // Only GETs: a plain read.
        let v = get_string(&mut view, key)?;
        ctx.server.keyspace.hit(v.is_some());
        let mut nb = itoa_buf::Buf::new();
        let bytes = v.map_or(&[][..], |v| value_bytes(v, &mut nb));
        ctx.reply.array(fields.len());
        for f in &fields {
            ctx.reply.int(read_field(bytes, f));
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    // The string grows to the furthest bit any write reaches, even if
    // every write then fails its overflow check.
    let (buf, created, _) = bits_for_write(&mut view, key, max_bit)?;
    ctx.reply.array(fields.len());
    let mut changes = 0;
    // Writes that took effect (an overflow FAIL writes nothing).
    let mut written = 0;
    for f in &fields {
        if f.op == FieldOp::Get {
            ctx.reply.int(read_field(buf, f));
            continue;
        }
        changes += 1;
        let (store, reply) = if f.signed {
            let old = bitfield::get_signed(buf, f.offset, f.bits);
            let (base, incr) = if f.op == FieldOp::Incr {
                (old, f.value)
            } else {
                (f.value, 0)
            };
            match bitfield::signed_add(base, incr, f.bits, f.overflow) {
                Ok(v) | Err(Some(v)) => {
                    (Some(v as u64), if f.op == FieldOp::Incr { v } else { old })
                }
                Err(None) => (None, 0),
            }
        } else {
            let old = bitfield::get_unsigned(buf, f.offset, f.bits);
            let (base, incr) = if f.op == FieldOp::Incr {
                (old, f.value)
            } else {
                (f.value as u64, 0)
            };
            match bitfield::unsigned_add(base, incr, f.bits, f.overflow) {
                Ok(v) | Err(Some(v)) => (
                    Some(v),
                    if f.op == FieldOp::Incr {
                        v as i64
                    } else {
                        old as i64
                    },
                ),
                Err(None) => (None, 0),
            }
        };
        match store {
            Some(v) => {
                bitfield::set_unsigned(buf, f.offset, f.bits, v);
                written += 1;
                ctx.reply.int(reply);
            }
            None => ctx.reply.null(),
        }
    }
    drop(view);
    ctx.dirty(changes);
    crate::notify::emit_new(ctx, created, key);
    if written > 0 {
        crate::notify::emit(ctx, crate::notify::STRING, "setbit", key);
    }
    Ok(())
}

fn read_field(bytes: &[u8], f: &Field) -> i64 {
    if f.signed {
        bitfield::get_signed(bytes, f.offset, f.bits)
    } else {
        bitfield::get_unsigned(bytes, f.offset, f.bits) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_and_bit_ranges() {
        assert_eq!(bit_range(0, -1, false, 3), Some((0, 23)));
        assert_eq!(bit_range(1, 1, false, 3), Some((8, 15)));
        assert_eq!(bit_range(-2, -1, true, 3), Some((22, 23)));
        assert_eq!(bit_range(5, 100, true, 1), Some((5, 7)));
        assert_eq!(bit_range(0, -1, false, 0), None);
        assert_eq!(bit_range(2, 1, false, 3), None);
        assert_eq!(bit_range(-100, -200, false, 3), Some((0, 7)));
    }

    #[test]
    fn field_types() {
        assert_eq!(parse_field_type(b"i64"), Ok((true, 64)));
        assert_eq!(parse_field_type(b"u63"), Ok((false, 63)));
        assert_eq!(parse_field_type(b"u8\0junk"), Ok((false, 8)));
        for bad in [&b"u64"[..], b"i65", b"i0", b"I8", b"i", b"", b"i08", b"x8"] {
            assert!(parse_field_type(bad).is_err(), "{bad:?}");
        }
    }
}
