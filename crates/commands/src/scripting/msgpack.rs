//! `cmsgpack`: the MessagePack library Redis bundles (lua-cmsgpack 0.4),
//! written anew in Rust with the same Lua mapping, byte for byte:
//!
//! * numbers that are whole and fit an int64 use the smallest integer
//!   encoding (positive fixint, uint8…uint64, negative fixint, int8…int64);
//!   other numbers are float32 when that is exact, else float64 (so `1.5`
//!   and infinities are float32, `0.1` and NaN float64);
//! * strings use fixstr / str8 / str16 / str32 (never bin);
//! * a table whose keys are exactly 1..n is an array, anything else a map
//!   in `next()` order; tables nested deeper than 16 levels (self-references
//!   included) encode as nil; functions and userdata encode as nil.
//!
//! Decoding accepts nil, booleans, ints, floats, str and the array/map
//! families; bin and ext types are "Bad data format" as in that version.
//! Integers become Lua numbers (uint64 is read as int64, as the C code
//! does).

use super::cargs::{arg_error, check_bytes, check_integer, lib_error, opt_integer};
use super::lua_vm::{ScriptError, Vm};
use mlua::{Lua, MultiValue, Table, Value};

/// Tables nested deeper than this encode as nil.
const MAX_NESTING: usize = 16;

pub fn install(vm: &Vm) -> mlua::Result<()> {
    let lua = &vm.lua;
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, a: MultiValue| unpack_common(lua, &a, UnpackKind::All))?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, a: MultiValue| unpack_common(lua, &a, UnpackKind::One))?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, a: MultiValue| unpack_common(lua, &a, UnpackKind::Limit))?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    vm.globals.raw_set("cmsgpack", t)?;
    Ok(())
}

// ---- encoding ----

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    if args.is_empty() {
        return Err(arg_error(lua, 0, "MessagePack pack needs input."));
    }
    let mut out = Vec::new();
    for v in args.iter() {
        encode(v, &mut out, 0)?;
    }
    lua.create_string(&out)
}

fn encode(v: &Value, out: &mut Vec<u8>, level: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(*i as f64, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => encode_str(&s.as_bytes(), out),
        Value::Table(t) => encode_table(t, out, level)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

/// A number: the smallest integer encoding when it is a whole int64,
/// else float32 if that loses nothing, else float64.
pub fn encode_number(n: f64, out: &mut Vec<u8>) {
    const TWO63: f64 = 9.223_372_036_854_776e18;
    if n.is_finite() && n.trunc() == n && (-TWO63..TWO63).contains(&n) {
        encode_int(n as i64, out);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        let u = i as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// Header of an array (`base` 0x90, 0xdc, 0xdd) or map (0x80, 0xde, 0xdf).
fn encode_len(n: usize, fix: u8, b16: u8, out: &mut Vec<u8>) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Table values that mlua shows as `Integer(0)` may be tiny non-zero
/// doubles (its Lua 5.1 conversion rounds below EPSILON): read those again
/// as plain numbers so they encode as the floats they are.
fn exact(t: &Table, key: Value, v: Value) -> Value {
    match v {
        Value::Integer(0) => match t.raw_get::<f64>(key) {
            Ok(n) => Value::Number(n),
            Err(_) => Value::Integer(0),
        },
        other => other,
    }
}

fn encode_table(t: &Table, out: &mut Vec<u8>, level: usize) -> mlua::Result<()> {
    if level >= MAX_NESTING {
        out.push(0xc0);
        return Ok(());
    }
    // An array is a table whose keys are exactly the integers 1..n.
    let mut count = 0usize;
    let mut max = 0f64;
    let mut array = true;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        count += 1;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => {
                array = false;
                continue;
            }
        };
        if n > 0.0 && n.trunc() == n {
            if n > max {
                max = n;
            }
        } else {
            array = false;
        }
    }
    if array && max == count as f64 {
        encode_len(count, 0x90, 0xdc, out);
        for i in 1..=count {
            let v = t.raw_get::<Value>(i)?;
            let v = exact(t, Value::Integer(i as i64), v);
            encode(&v, out, level + 1)?;
        }
    } else {
        encode_len(count, 0x80, 0xde, out);
        for pair in t.pairs::<Value, Value>() {
            let (k, v) = pair?;
            let v = exact(t, k.clone(), v);
            encode(&k, out, level + 1)?;
            encode(&v, out, level + 1)?;
        }
    }
    Ok(())
}

// ---- decoding ----

/// Nesting that lua-cmsgpack's Lua stack runs out at: 3999 tables decode,
/// the 4000th fails with a stack overflow error.
const MAX_DECODE_DEPTH: usize = 3999;
/// Values one unpack call can return before Lua's C stack is full (Redis
/// manages one more; mlua's return path needs that slot).
const MAX_RESULTS: usize = 7998;
const TOO_MANY: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";

enum DecodeError {
    Missing,
    Bad,
    /// A message raised with the caller's position (`luaL_error`).
    Positioned(&'static str),
    Lua(mlua::Error),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lua(e)
    }
}

/// A container being filled: how many items it still expects, and for
/// maps the key waiting for its value.
struct Open {
    t: Table,
    left: usize,
    next_index: usize,
    map: bool,
    key: Option<Value>,
}

/// What one tag starts: a finished value, or a container to fill.
enum Start {
    Value(Value),
    Array(usize),
    Map(usize),
}

struct Decoder<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.s.len() - self.pos < n {
            return Err(DecodeError::Missing);
        }
        let b = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn string(&mut self, lua: &Lua, n: usize) -> Result<Start, DecodeError> {
        let b = self.take(n)?;
        Ok(Start::Value(Value::String(lua.create_string(b)?)))
    }

    /// Reads one tag and whatever fixed-size payload follows it.
    fn start(&mut self, lua: &Lua) -> Result<Start, DecodeError> {
        let tag = self.take(1)?[0];
        let num = |n: f64| Ok(Start::Value(Value::Number(n)));
        match tag {
            0x00..=0x7f => num(tag as f64),
            0x80..=0x8f => Ok(Start::Map((tag & 0x0f) as usize)),
            0x90..=0x9f => Ok(Start::Array((tag & 0x0f) as usize)),
            0xa0..=0xbf => self.string(lua, (tag & 0x1f) as usize),
            0xc0 => Ok(Start::Value(Value::Nil)),
            0xc2 => Ok(Start::Value(Value::Boolean(false))),
            0xc3 => Ok(Start::Value(Value::Boolean(true))),
            0xca => num(f32::from_bits(self.be(4)? as u32) as f64),
            0xcb => num(f64::from_bits(self.be(8)?)),
            0xcc => num(self.be(1)? as f64),
            0xcd => num(self.be(2)? as f64),
            0xce => num(self.be(4)? as f64),
            // uint64 goes through int64, as lua-cmsgpack does.
            0xcf => num(self.be(8)? as i64 as f64),
            0xd0 => num(self.be(1)? as u8 as i8 as f64),
            0xd1 => num(self.be(2)? as u16 as i16 as f64),
            0xd2 => num(self.be(4)? as u32 as i32 as f64),
            0xd3 => num(self.be(8)? as i64 as f64),
            0xd9 => {
                let n = self.be(1)? as usize;
                self.string(lua, n)
            }
            0xda => {
                let n = self.be(2)? as usize;
                self.string(lua, n)
            }
            0xdb => {
                let n = self.be(4)? as usize;
                self.string(lua, n)
            }
            0xdc => Ok(Start::Array(self.be(2)? as usize)),
            0xdd => Ok(Start::Array(self.be(4)? as usize)),
            0xde => Ok(Start::Map(self.be(2)? as usize)),
            0xdf => Ok(Start::Map(self.be(4)? as usize)),
            0xe0..=0xff => num(tag as i8 as f64),
            _ => Err(DecodeError::Bad),
        }
    }

    /// Capacity hint bounded by what the input could still hold, so a
    /// forged length cannot make us allocate gigabytes.
    fn hint(&self, n: usize) -> usize {
        n.min(self.s.len() - self.pos)
    }

    /// Decodes one complete object. Iterative, with an explicit stack of
    /// open containers, so hostile nesting cannot overflow ours.
    fn value(&mut self, lua: &Lua) -> Result<Value, DecodeError> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            let mut v = match self.start(lua)? {
                Start::Value(v) => v,
                Start::Array(_) if open.len() >= MAX_DECODE_DEPTH => {
                    return Err(DecodeError::Positioned(
                        "stack overflow (in function mp_decode_to_lua_array)",
                    ));
                }
                Start::Map(_) if open.len() >= MAX_DECODE_DEPTH => {
                    return Err(DecodeError::Positioned(TOO_MANY));
                }
                Start::Array(n) => {
                    let t = lua.create_table_with_capacity(self.hint(n), 0)?;
                    if n > 0 {
                        open.push(Open {
                            t,
                            left: n,
                            next_index: 1,
                            map: false,
                            key: None,
                        });
                        continue;
                    }
                    Value::Table(t)
                }
                Start::Map(n) => {
                    let t = lua.create_table_with_capacity(0, self.hint(n))?;
                    if n > 0 {
                        open.push(Open {
                            t,
                            left: n,
                            next_index: 0,
                            map: true,
                            key: None,
                        });
                        continue;
                    }
                    Value::Table(t)
                }
            };
            // Deliver `v` to the innermost open container; close those
            // that are complete, handing each to its parent in turn.
            loop {
                let Some(top) = open.last_mut() else {
                    return Ok(v);
                };
                if top.map {
                    match top.key.take() {
                        None => {
                            top.key = Some(v);
                            break;
                        }
                        Some(k) => {
                            match &k {
                                // What lua_settable raises (no position:
                                // a C function is running).
                                Value::Nil => {
                                    return Err(DecodeError::Lua(ScriptError::plain(
                                        "table index is nil".into(),
                                    )))
                                }
                                Value::Number(f) if f.is_nan() => {
                                    return Err(DecodeError::Lua(ScriptError::plain(
                                        "table index is NaN".into(),
                                    )))
                                }
                                _ => {}
                            }
                            top.t.raw_set(k, v)?;
                        }
                    }
                } else {
                    if !v.is_nil() {
                        top.t.raw_set(top.next_index, v)?;
                    }
                    top.next_index += 1;
                }
                top.left -= 1;
                if top.left > 0 {
                    break;
                }
                match open.pop() {
                    Some(done) => v = Value::Table(done.t),
                    None => return Ok(Value::Nil),
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum UnpackKind {
    /// `unpack(s)`: every object, no offset returned.
    All,
    /// `unpack_one(s [, offset])`: one object, next offset first.
    One,
    /// `unpack_limit(s, limit [, offset])`: up to `limit` objects (0: all).
    Limit,
}

fn unpack_common(lua: &Lua, args: &MultiValue, kind: UnpackKind) -> mlua::Result<MultiValue> {
    let s = check_bytes(lua, args, 1)?;
    let (limit, offset) = match kind {
        UnpackKind::All => (0, 0),
        UnpackKind::One => (1, opt_integer(lua, args, 2, 0)?),
        UnpackKind::Limit => {
            let limit = check_integer(lua, args, 2)?;
            (limit, opt_integer(lua, args, 3, 0)?)
        }
    };
    let bytes = s.as_bytes();
    let len = bytes.len() as i64;
    // The C code keeps offset and limit in ints for its messages and its
    // loop, but tests them as longs first: reproduce both.
    if offset < 0 || limit < 0 {
        // The wording reports the input length as "limit", as Redis does.
        return Err(lib_error(
            lua,
            &format!(
                "Invalid request to unpack with offset of {} and limit of {len}.",
                offset as i32
            ),
        ));
    }
    if offset > len {
        return Err(lib_error(
            lua,
            &format!(
                "Start offset {} greater than input length {len}.",
                offset as i32
            ),
        ));
    }
    let loop_limit = limit as i32 as i64;
    let mut d = Decoder {
        s: &bytes,
        pos: offset as usize,
    };
    let mut out = MultiValue::new();
    let mut decoded = 0i64;
    while d.pos < d.s.len() && (loop_limit <= 0 || decoded < loop_limit) {
        if out.len() >= MAX_RESULTS {
            return Err(lib_error(lua, TOO_MANY));
        }
        match d.value(lua) {
            Ok(v) => out.push_back(v),
            Err(DecodeError::Missing) => return Err(lib_error(lua, "Missing bytes in input.")),
            Err(DecodeError::Bad) => return Err(lib_error(lua, "Bad data format in input.")),
            Err(DecodeError::Positioned(m)) => return Err(lib_error(lua, m)),
            Err(DecodeError::Lua(e)) => return Err(e),
        }
        decoded += 1;
    }
    if limit > 0 {
        let next = if d.pos >= d.s.len() {
            -1.0
        } else {
            d.pos as f64
        };
        out.push_front(Value::Number(next));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(n: f64) -> Vec<u8> {
        let mut v = Vec::new();
        encode_number(n, &mut v);
        v
    }

    #[test]
    fn numbers_pick_redis_encodings() {
        assert_eq!(num(0.0), [0x00]);
        assert_eq!(num(-0.0), [0x00]);
        assert_eq!(num(128.0), [0xcc, 0x80]);
        assert_eq!(num(-33.0), [0xd0, 0xdf]);
        assert_eq!(num(-32769.0), [0xd2, 0xff, 0xff, 0x7f, 0xff]);
        assert_eq!(num(4294967296.0), [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(num(1.5), [0xca, 0x3f, 0xc0, 0, 0]);
        assert_eq!(num(2f64.powi(63)), [0xca, 0x5f, 0, 0, 0]);
        assert_eq!(num(f64::INFINITY), [0xca, 0x7f, 0x80, 0, 0]);
        assert_eq!(num(f64::NAN)[0], 0xcb);
        assert_eq!(num(0.1)[0], 0xcb);
    }
}
