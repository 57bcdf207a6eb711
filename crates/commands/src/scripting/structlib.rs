//! `struct`: Roberto Ierusalimschy's binary packing library as Redis
//! bundles it, rewritten in Rust with its format language and messages.
//!
//! Format letters: `>` / `<` big / little endian (little is native here),
//! `!n` maximum alignment (`!` alone: 8; must be a power of 2), `x` one
//! zero byte, `b/B` `h/H` `l/L` `T` signed/unsigned 1, 2, 8, 8-byte
//! integers, `i/In` n-byte integers (default 4, at most 32), `f` / `d`
//! float / double, `s` zero-terminated string, `cn` n-byte string (`c0`:
//! the whole string when packing; when unpacking, the length is the
//! previously unpacked number, which is consumed), spaces ignored.
//!
//! The C library's integer arithmetic is reproduced as x86-64 runs it:
//! values convert to 64 bits with C casts, bytes past the eighth pack as
//! zero, unpacking keeps the last eight bytes read and sign-extends with a
//! shift count taken modulo 64; an alignment that is not a power of two
//! (from `i3` under `!4`) yields the odd padding that formula gives.

use super::cargs::{
    arg_error, check_bytes, check_number_or, f64_to_i64, f64_to_u64, lib_error, opt_integer,
    to_number,
};
use super::lua_vm::Vm;
use mlua::{Lua, MultiValue, Value};

/// Largest `i`/`I` size accepted.
const MAX_INT_SIZE: usize = 32;
/// The native maximum alignment `!` alone selects.
const NATIVE_ALIGN: usize = 8;

pub fn install(vm: &Vm) -> mlua::Result<()> {
    let lua = &vm.lua;
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    vm.globals.raw_set("struct", t)?;
    Ok(())
}

/// The format being read, with its current endianness and alignment.
struct Format<'a> {
    f: &'a [u8],
    i: usize,
    little: bool,
    align: usize,
}

/// One format item: its letter and byte size (0 for `s` and `c0`).
struct Item {
    opt: u8,
    size: usize,
}

impl<'a> Format<'a> {
    fn new(f: &'a [u8]) -> Self {
        Format {
            f,
            i: 0,
            little: true,
            align: 1,
        }
    }

    /// Digits after an option, or `default` when there are none.
    fn number(&mut self, lua: &Lua, default: usize) -> mlua::Result<usize> {
        if !self.f.get(self.i).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut a: usize = 0;
        while let Some(d) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (d - b'0') as usize;
            if a > (i32::MAX as usize - d) / 10 {
                return Err(lib_error(lua, "integral size overflow"));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a)
    }

    /// The next sized item, handling the modifiers (`<`, `>`, `!`, space)
    /// on the way; `None` at the end of the format.
    fn next(&mut self, lua: &Lua) -> mlua::Result<Option<Item>> {
        while let Some(&opt) = self.f.get(self.i) {
            self.i += 1;
            let size = match opt {
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'<' => {
                    self.little = true;
                    continue;
                }
                b' ' => continue,
                b'!' => {
                    let a = self.number(lua, NATIVE_ALIGN)?;
                    if a == 0 || !a.is_power_of_two() {
                        return Err(lib_error(
                            lua,
                            &format!("alignment {a} is not a power of 2"),
                        ));
                    }
                    self.align = a;
                    continue;
                }
                b'x' | b'b' | b'B' => 1,
                b'h' | b'H' => 2,
                b'l' | b'L' | b'T' | b'd' => 8,
                b'f' => 4,
                b'i' | b'I' => {
                    let n = self.number(lua, 4)?;
                    if n > MAX_INT_SIZE {
                        return Err(lib_error(
                            lua,
                            &format!("integral size {n} is larger than limit of {MAX_INT_SIZE}"),
                        ));
                    }
                    n
                }
                b'c' => self.number(lua, 1)?,
                // `s` has no fixed size; unknown letters are sized 0 here
                // and rejected by pack/unpack (size() skips them).
                _ => 0,
            };
            return Ok(Some(Item { opt, size }));
        }
        Ok(None)
    }

    /// Padding before an item at offset `len`. Only sized items other
    /// than strings align, to the smaller of their size and `!`'s value.
    fn padding(&self, len: u64, item: &Item) -> u64 {
        if item.size <= 1 || item.opt == b'c' {
            return 0;
        }
        let a = item.size.min(self.align) as u64;
        (a.wrapping_sub(len & (a - 1))) & (a - 1)
    }
}

fn invalid_option(lua: &Lua, opt: u8) -> mlua::Error {
    arg_error(lua, 1, &format!("invalid format option '{}'", opt as char))
}

/// Writes the low `size` bytes of `v` (zeros past the eighth).
fn put_int(out: &mut Vec<u8>, v: u64, size: usize, little: bool) {
    let start = out.len();
    for k in 0..size {
        out.push(if k < 8 { (v >> (8 * k)) as u8 } else { 0 });
    }
    if !little {
        out[start..].reverse();
    }
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    let fmt = check_bytes(lua, &args, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 2usize;
    while let Some(item) = f.next(lua)? {
        let pad = f.padding(out.len() as u64, &item);
        out.resize(out.len() + pad as usize, 0);
        match item.opt {
            b'x' => out.push(0),
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number_or(lua, &args, arg, "nil")?;
                arg += 1;
                let v = if n < 0.0 {
                    f64_to_i64(n) as u64
                } else {
                    f64_to_u64(n)
                };
                put_int(&mut out, v, item.size, f.little);
            }
            b'f' => {
                let n = check_number_or(lua, &args, arg, "nil")?;
                arg += 1;
                let b = (n as f32).to_bits() as u64;
                put_int(&mut out, b, 4, f.little);
            }
            b'd' => {
                let n = check_number_or(lua, &args, arg, "nil")?;
                arg += 1;
                put_int(&mut out, n.to_bits(), 8, f.little);
            }
            b'c' | b's' => {
                let s = match args.get(arg - 1) {
                    None => return Err(arg_error(lua, arg, "string expected, got nil")),
                    Some(_) => check_bytes(lua, &args, arg)?,
                };
                arg += 1;
                let s = s.as_bytes();
                if item.opt == b's' {
                    out.extend_from_slice(&s);
                    out.push(0);
                } else {
                    let n = if item.size == 0 { s.len() } else { item.size };
                    if s.len() < n {
                        // The C code reports the argument after this one.
                        return Err(arg_error(lua, arg, "string too short"));
                    }
                    out.extend_from_slice(&s[..n]);
                }
            }
            other => return Err(invalid_option(lua, other)),
        }
    }
    lua.create_string(&out)
}

/// Reads `size` bytes as the C library does: the last eight bytes read
/// form the value; signed values are extended from bit `size*8-1`, taken
/// modulo 64.
fn get_int(b: &[u8], little: bool, signed: bool) -> f64 {
    let size = b.len();
    let mut l: u64 = 0;
    for k in 0..size {
        let byte = if little { b[size - 1 - k] } else { b[k] };
        l = (l << 8) | byte as u64;
    }
    if !signed {
        return l as f64;
    }
    let shift = ((size as i64) * 8 - 1) & 63;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let fmt = check_bytes(lua, &args, 1)?;
    let data = check_bytes(lua, &args, 2)?;
    let start = opt_integer(lua, &args, 3, 1)?;
    if start == 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    let fmt = fmt.as_bytes();
    let data = data.as_bytes();
    let ld = data.len() as u64;
    // A size_t in the C code: negative offsets wrap around and then fail
    // the length check of the first item that reads.
    let mut pos = (start as u64).wrapping_sub(1);
    let mut f = Format::new(&fmt);
    let mut out = MultiValue::new();
    while let Some(item) = f.next(lua)? {
        pos = pos.wrapping_add(f.padding(pos, &item));
        let size = item.size as u64;
        let fits = |pos: u64, size: u64| size <= ld && pos <= ld - size;
        if !fits(pos, size) {
            return Err(arg_error(lua, 2, "data string too short"));
        }
        let at = pos as usize;
        match item.opt {
            b'x' => {}
            b'b' | b'h' | b'l' | b'i' => {
                out.push_back(Value::Number(get_int(
                    &data[at..at + item.size],
                    f.little,
                    true,
                )));
            }
            b'B' | b'H' | b'L' | b'T' | b'I' => {
                out.push_back(Value::Number(get_int(
                    &data[at..at + item.size],
                    f.little,
                    false,
                )));
            }
            b'f' => {
                let bits = get_int(&data[at..at + 4], f.little, false) as u32;
                out.push_back(Value::Number(f32::from_bits(bits) as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                let n = if f.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                out.push_back(Value::Number(n));
            }
            b'c' => {
                let mut n = item.size as u64;
                if n == 0 {
                    // c0: the length is the previous result, consumed.
                    let prev = out.back().and_then(|v| to_number(lua, v));
                    let Some(prev) = prev else {
                        return Err(lib_error(lua, "format 'c0' needs a previous size"));
                    };
                    out.pop_back();
                    n = f64_to_i64(prev) as u64;
                    if !fits(pos, n) {
                        return Err(arg_error(lua, 2, "data string too short"));
                    }
                }
                let s = &data[at..at + n as usize];
                out.push_back(Value::String(lua.create_string(s)?));
                pos = pos.wrapping_add(n);
                continue;
            }
            b's' => {
                let rest = &data[at..];
                let Some(z) = rest.iter().position(|&c| c == 0) else {
                    return Err(lib_error(lua, "unfinished string in data"));
                };
                out.push_back(Value::String(lua.create_string(&rest[..z])?));
                pos = pos.wrapping_add(z as u64 + 1);
                continue;
            }
            other => return Err(invalid_option(lua, other)),
        }
        pos = pos.wrapping_add(size);
    }
    out.push_back(Value::Number(pos.wrapping_add(1) as i64 as f64));
    Ok(out)
}

fn size(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    let fmt = check_bytes(lua, &args, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format::new(&fmt);
    let mut pos: u64 = 0;
    while let Some(item) = f.next(lua)? {
        if item.opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        }
        if item.opt == b'c' && item.size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        pos += f.padding(pos, &item) + item.size as u64;
    }
    Ok(pos as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_like_the_c_library() {
        assert_eq!(get_int(&[0xff, 0xff, 0xfe], false, true), -2.0);
        assert_eq!(get_int(&[0xff, 0xff, 0xfe], false, false), 16777214.0);
        assert_eq!(get_int(&[1; 12], true, true), -2130640639.0);
        assert_eq!(get_int(&[1; 16], true, true), 72340172838076673.0);
        assert_eq!(get_int(&[], true, true), 0.0);
    }

    #[test]
    fn packing_zero_extends_past_eight_bytes() {
        let mut v = Vec::new();
        put_int(&mut v, u64::MAX, 9, false);
        assert_eq!(v, [0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }
}
