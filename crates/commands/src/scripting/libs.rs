//! The C libraries Redis links into its Lua, rewritten in Rust: `bit`
//! (LuaBitOp), `cjson` (lua-cjson) and the rand48-based `math.random`
//! here; `cmsgpack` in [`super::msgpack`], `struct` in
//! [`super::structlib`].
//!
//! Missing for now: cjson's configuration functions
//! (`encode_keep_buffer`, `decode_invalid_numbers`, …) and its
//! sparse-array heuristics beyond the default ratio.

use super::lua_vm::Vm;
use mlua::{Lua, MultiValue, Table, Value};
use quiver_resp::format_g;

pub fn install(vm: &Vm) -> mlua::Result<()> {
    install_bit(vm)?;
    install_cjson(vm)?;
    install_random(vm)?;
    super::msgpack::install(vm)?;
    super::structlib::install(vm)?;
    Ok(())
}

// ---- bit ----

/// LuaBitOp's number to int32: modular, via the 2^52+2^51 trick's result.
fn tobit(v: &Value) -> Option<i32> {
    let n = match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        Value::String(s) => s.to_str().ok()?.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let m = n.trunc().rem_euclid(4294967296.0);
    Some(m as u64 as u32 as i32)
}

fn install_bit(vm: &Vm) -> mlua::Result<()> {
    let lua = &vm.lua;
    let bit = lua.create_table()?;
    fn arg(a: &MultiValue, i: usize) -> Result<i32, String> {
        a.get(i)
            .and_then(tobit)
            .ok_or_else(|| format!("bad argument #{} to '?' (number expected)", i + 1))
    }
    macro_rules! fold {
        ($name:expr, $op:expr) => {
            bit.raw_set(
                $name,
                vm.checked(
                    concat!("bit_", $name),
                    lua.create_function(|_, a: MultiValue| {
                        let mut acc = match arg(&a, 0) {
                            Ok(v) => v,
                            Err(e) => return Ok((None, Some(e))),
                        };
                        for i in 1..a.len() {
                            match arg(&a, i) {
                                Ok(v) => acc = $op(acc, v),
                                Err(e) => return Ok((None, Some(e))),
                            }
                        }
                        Ok((Some(acc), None))
                    })?,
                    true,
                )?,
            )?;
        };
    }
    fold!("band", |a: i32, b: i32| a & b);
    fold!("bor", |a: i32, b: i32| a | b);
    fold!("bxor", |a: i32, b: i32| a ^ b);
    fold!("tobit", |a: i32, _b: i32| a);
    macro_rules! shift {
        ($name:expr, $op:expr) => {
            bit.raw_set(
                $name,
                vm.checked(
                    concat!("bit_", $name),
                    lua.create_function(|_, a: MultiValue| {
                        let (x, n) = match (arg(&a, 0), arg(&a, 1)) {
                            (Ok(x), Ok(n)) => (x, (n & 31) as u32),
                            (Err(e), _) | (_, Err(e)) => return Ok((None, Some(e))),
                        };
                        Ok((Some($op(x, n)), None))
                    })?,
                    true,
                )?,
            )?;
        };
    }
    shift!("lshift", |x: i32, n: u32| ((x as u32) << n) as i32);
    shift!("rshift", |x: i32, n: u32| ((x as u32) >> n) as i32);
    shift!("arshift", |x: i32, n: u32| x >> n);
    shift!("rol", |x: i32, n: u32| (x as u32).rotate_left(n) as i32);
    shift!("ror", |x: i32, n: u32| (x as u32).rotate_right(n) as i32);
    bit.raw_set(
        "bnot",
        vm.checked(
            "bit_bnot",
            lua.create_function(|_, a: MultiValue| {
                Ok(match arg(&a, 0) {
                    Ok(x) => (Some(!x), None),
                    Err(e) => (None, Some(e)),
                })
            })?,
            true,
        )?,
    )?;
    bit.raw_set(
        "bswap",
        vm.checked(
            "bit_bswap",
            lua.create_function(|_, a: MultiValue| {
                Ok(match arg(&a, 0) {
                    Ok(x) => (Some(x.swap_bytes()), None),
                    Err(e) => (None, Some(e)),
                })
            })?,
            true,
        )?,
    )?;
    bit.raw_set(
        "tohex",
        vm.checked(
            "bit_tohex",
            lua.create_function(|_, a: MultiValue| {
                let x = match arg(&a, 0) {
                    Ok(x) => x as u32,
                    Err(e) => return Ok((None, Some(e))),
                };
                let n = if a.len() > 1 {
                    match arg(&a, 1) {
                        Ok(n) => n,
                        Err(e) => return Ok((None, Some(e))),
                    }
                } else {
                    8
                };
                let upper = n < 0;
                let n = n.unsigned_abs().min(8) as usize;
                let s = if upper {
                    format!("{x:08X}")
                } else {
                    format!("{x:08x}")
                };
                Ok((Some(s[8 - n..].to_string()), None))
            })?,
            true,
        )?,
    )?;
    vm.globals.raw_set("bit", bit)?;
    Ok(())
}

// ---- cjson ----

fn install_cjson(vm: &Vm) -> mlua::Result<()> {
    let lua = &vm.lua;
    let cjson = lua.create_table()?;
    cjson.raw_set(
        "null",
        Value::LightUserData(mlua::LightUserData(std::ptr::null_mut())),
    )?;
    cjson.raw_set(
        "encode",
        vm.checked(
            "cjson_encode",
            lua.create_function(|lua, a: MultiValue| {
                if a.len() != 1 {
                    return Ok((
                        None,
                        Some("bad argument #1 to '?' (expected 1 argument)".to_string()),
                    ));
                }
                let mut out = Vec::new();
                match encode(lua, &a[0], &mut out, 0) {
                    Ok(()) => Ok((Some(lua.create_string(&out)?), None)),
                    Err(e) => Ok((None, Some(e))),
                }
            })?,
            true,
        )?,
    )?;
    cjson.raw_set(
        "decode",
        vm.checked(
            "cjson_decode",
            lua.create_function(|lua, a: MultiValue| {
                let Some(Value::String(s)) = a.front() else {
                    return Ok((
                        Value::Nil,
                        Some("bad argument #1 to '?' (string expected)".to_string()),
                    ));
                };
                let bytes = s.as_bytes().to_vec();
                let mut p = Parser {
                    s: &bytes,
                    i: 0,
                    depth: 0,
                };
                let res = p.value(lua).and_then(|v| {
                    p.ws();
                    if p.i < bytes.len() {
                        Err(p.err("the end"))
                    } else {
                        Ok(v)
                    }
                });
                match res {
                    Ok(v) => Ok((v, None)),
                    Err(e) => Ok((Value::Nil, Some(e))),
                }
            })?,
            true,
        )?,
    )?;
    vm.globals.raw_set("cjson", cjson)?;
    Ok(())
}

fn encode(lua: &Lua, v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(format_g(*n, 14).as_bytes());
        }
        Value::String(s) => encode_str(&s.as_bytes(), out),
        Value::Table(t) => {
            if depth >= 1000 {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            encode_table(lua, t, out, depth + 1)?;
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ))
        }
    }
    Ok(())
}

fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn encode_table(lua: &Lua, t: &Table, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    // An array when every key is a positive integer and it is not too sparse
    // (lua-cjson's defaults: ratio 2, safe size 10).
    let mut max = 0f64;
    let mut count = 0usize;
    let mut is_array = true;
    for (k, _) in t.clone().pairs::<Value, Value>().flatten() {
        count += 1;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => {
                is_array = false;
                break;
            }
        };
        if n < 1.0 || n.fract() != 0.0 {
            is_array = false;
            break;
        }
        max = max.max(n);
    }
    if is_array && count > 0 {
        let max = max as usize;
        if max > count * 2 && max > 10 {
            return Err("Cannot serialise table: excessively sparse array".into());
        }
        out.push(b'[');
        for i in 1..=max {
            if i > 1 {
                out.push(b',');
            }
            let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
            encode(lua, &v, out, depth)?;
        }
        out.push(b']');
        return Ok(());
    }
    out.push(b'{');
    let mut first = true;
    for (k, v) in t.clone().pairs::<Value, Value>().flatten() {
        if !first {
            out.push(b',');
        }
        first = false;
        match &k {
            Value::String(s) => encode_str(&s.as_bytes(), out),
            Value::Integer(i) => encode_str(i.to_string().as_bytes(), out),
            Value::Number(n) => encode_str(format_g(*n, 14).as_bytes(), out),
            _ => return Err("Cannot serialise table: table key must be a number or string".into()),
        }
        out.push(b':');
        encode(lua, &v, out, depth)?;
    }
    out.push(b'}');
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn err(&self, expected: &str) -> String {
        let found = if self.i >= self.s.len() {
            "the end"
        } else {
            "invalid token"
        };
        format!(
            "Expected {expected} but found {found} at character {}",
            self.i + 1
        )
    }

    fn value(&mut self, lua: &Lua) -> Result<Value, String> {
        self.ws();
        let Some(&c) = self.s.get(self.i) else {
            return Err(self.err("value"));
        };
        let lerr = |e: mlua::Error| e.to_string();
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > 1000 {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        self.depth,
                        self.i + 1
                    ));
                }
                self.i += 1;
                let t = lua.create_table().map_err(lerr)?;
                let close = if c == b'{' { b'}' } else { b']' };
                self.ws();
                if self.s.get(self.i) == Some(&close) {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Value::Table(t));
                }
                let mut n = 1;
                loop {
                    if c == b'{' {
                        self.ws();
                        if self.s.get(self.i) != Some(&b'"') {
                            return Err(self.err("object key string"));
                        }
                        let k = self.value(lua)?;
                        self.ws();
                        if self.s.get(self.i) != Some(&b':') {
                            return Err(self.err("colon"));
                        }
                        self.i += 1;
                        let v = self.value(lua)?;
                        t.raw_set(k, v).map_err(lerr)?;
                    } else {
                        let v = self.value(lua)?;
                        t.raw_set(n, v).map_err(lerr)?;
                        n += 1;
                    }
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(&x) if x == close => {
                            self.i += 1;
                            break;
                        }
                        _ => {
                            return Err(self.err(if c == b'{' {
                                "comma or object end"
                            } else {
                                "comma or array end"
                            }))
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::Table(t))
            }
            b'"' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    let Some(&b) = self.s.get(self.i) else {
                        return Err(self.err("string end"));
                    };
                    self.i += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            let Some(&e) = self.s.get(self.i) else {
                                return Err(self.err("string end"));
                            };
                            self.i += 1;
                            match e {
                                b'n' => out.push(b'\n'),
                                b't' => out.push(b'\t'),
                                b'r' => out.push(b'\r'),
                                b'b' => out.push(8),
                                b'f' => out.push(12),
                                b'u' => {
                                    let hex = self
                                        .s
                                        .get(self.i..self.i + 4)
                                        .and_then(|h| std::str::from_utf8(h).ok())
                                        .and_then(|h| u32::from_str_radix(h, 16).ok());
                                    let Some(cp) = hex else {
                                        return Err(format!("Expected value but found invalid unicode escape code at character {}", self.i));
                                    };
                                    self.i += 4;
                                    let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                                    let mut buf = [0u8; 4];
                                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                }
                                other => out.push(other),
                            }
                        }
                        _ => out.push(b),
                    }
                }
                Ok(Value::String(lua.create_string(&out).map_err(lerr)?))
            }
            b't' if self.s[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(Value::LightUserData(mlua::LightUserData(
                    std::ptr::null_mut(),
                )))
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let txt = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                match txt.parse::<f64>() {
                    Ok(n) => Ok(Value::Number(n)),
                    Err(_) => {
                        self.i = start;
                        Err(self.err("value"))
                    }
                }
            }
            _ => Err(self.err("value")),
        }
    }
}

// ---- math.random ----

/// POSIX rand48 (what Redis's own `redisLrand48` implements), so
/// `math.random` gives the sequence Redis gives for the same seed.
pub(crate) struct Rand48(pub(crate) u64);

impl Rand48 {
    /// The rand48 state before any seeding (POSIX's default), which is
    /// where Redis 7.0 starts: it no longer reseeds per script.
    pub(crate) const INITIAL: Rand48 = Rand48(0x1234_ABCD_330E);

    fn seed(&mut self, s: i32) {
        self.0 = (((s as u32 as u64) << 16) | 0x330E) & 0xFFFF_FFFF_FFFF;
    }
    fn next(&mut self) -> i64 {
        self.0 = (self.0.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & 0xFFFF_FFFF_FFFF;
        (self.0 >> 17) as i64
    }
}

fn install_random(vm: &Vm) -> mlua::Result<()> {
    let lua = &vm.lua;
    let state = vm.rand.clone();
    let math: Table = vm.globals.raw_get("math")?;
    let st = state.clone();
    math.raw_set(
        "random",
        vm.checked(
            "math_random",
            lua.create_function(move |_, a: MultiValue| {
                const MAX: i64 = i32::MAX as i64;
                let r = (st.lock().next() % MAX) as f64 / MAX as f64;
                let num = |v: &Value| match v {
                    Value::Integer(i) => Some(*i as f64),
                    Value::Number(n) => Some(*n),
                    Value::String(s) => s.to_str().ok()?.trim().parse().ok(),
                    _ => None,
                };
                match a.len() {
                    0 => Ok((Some(r), None::<String>)),
                    1 => {
                        let Some(u) = num(&a[0]) else {
                            return Ok((
                                None,
                                Some(
                                    "bad argument #1 to 'random' (number expected, got no value)"
                                        .into(),
                                ),
                            ));
                        };
                        let u = u.floor();
                        if u < 1.0 {
                            return Ok((
                                None,
                                Some("bad argument #1 to 'random' (interval is empty)".into()),
                            ));
                        }
                        Ok((Some((r * u).floor() + 1.0), None))
                    }
                    2 => {
                        let (Some(l), Some(u)) = (num(&a[0]), num(&a[1])) else {
                            return Ok((
                                None,
                                Some("bad argument #1 to 'random' (number expected)".into()),
                            ));
                        };
                        let (l, u) = (l.floor(), u.floor());
                        if l > u {
                            return Ok((
                                None,
                                Some("bad argument #2 to 'random' (interval is empty)".into()),
                            ));
                        }
                        Ok((Some((r * (u - l + 1.0)).floor() + l), None))
                    }
                    _ => Ok((None, Some("wrong number of arguments".into()))),
                }
            })?,
            true,
        )?,
    )?;
    let st = state;
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, a: MultiValue| {
            let s = match a.front() {
                Some(Value::Integer(i)) => *i as i32,
                Some(Value::Number(n)) => *n as i64 as i32,
                _ => 0,
            };
            st.lock().seed(s);
            Ok(())
        })?,
    )?;
    Ok(())
}
