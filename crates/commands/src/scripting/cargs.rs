//! Argument checking for the libraries Redis links into its Lua as C code
//! (`cmsgpack`, `struct`), with the wording of Lua 5.1's auxiliary library:
//! `bad argument #2 to 'unpack' (number expected, got no value)`, prefixed
//! with the calling script's position. Scripts (and redis-py's tests) match
//! on these strings, so they are reproduced exactly.
//!
//! Every function here must be called from the Rust callback that Lua
//! invoked directly: level 0 of the Lua stack is then that callback (its
//! name, as the calling instruction knows it, is what `bad argument … to
//! 'name'` shows) and level 1 is its caller (whose position prefixes the
//! message; empty when the caller is a C function such as `pcall`).

use super::lua_vm::{caller_position, ScriptError};
use mlua::{Lua, MultiValue, Value};

/// Lua's name for a value's type, as `luaL_typename` spells it; `None`
/// stands for an argument beyond the last one ("no value").
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        _ => "userdata",
    }
}

/// `luaL_error`: the message with the caller's position in front.
pub fn lib_error(lua: &Lua, msg: &str) -> mlua::Error {
    ScriptError::plain(format!("{}{msg}", caller_position(lua)))
}

/// `luaL_argerror(narg, msg)`: names the running function as its caller
/// called it (`'?'` when it has no name, e.g. under `pcall`).
pub fn arg_error(lua: &Lua, narg: usize, msg: &str) -> mlua::Error {
    let (name, method) = match lua.inspect_stack(0) {
        Some(d) => {
            let n = d.names();
            (n.name.map(|s| s.to_string()), n.name_what == Some("method"))
        }
        None => (None, false),
    };
    let name = name.unwrap_or_else(|| "?".to_string());
    if method {
        // `obj:f(x)`: the receiver is argument 0.
        if narg <= 1 {
            return lib_error(lua, &format!("calling '{name}' on bad self ({msg})"));
        }
        return lib_error(
            lua,
            &format!("bad argument #{} to '{name}' ({msg})", narg - 1),
        );
    }
    lib_error(lua, &format!("bad argument #{narg} to '{name}' ({msg})"))
}

/// `luaL_typerror`: `<expected> expected, got <type>`.
pub fn type_error(lua: &Lua, narg: usize, expected: &str, got: Option<&Value>) -> mlua::Error {
    arg_error(
        lua,
        narg,
        &format!("{expected} expected, got {}", type_name(got)),
    )
}

/// `luaL_checklstring`: a string, or a number converted to one (argument
/// numbers are 1-based).
pub fn check_bytes(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<mlua::String> {
    let v = args.get(narg - 1);
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(n @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(n.clone())? {
            Some(s) => Ok(s),
            None => Err(type_error(lua, narg, "string", v)),
        },
        _ => Err(type_error(lua, narg, "string", v)),
    }
}

/// `lua_tonumber` semantics: numbers, and strings that read as numbers.
pub fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

/// `luaL_checknumber`. `missing` is the type shown for an absent argument
/// ("no value" normally; `struct.pack` reports "nil").
pub fn check_number_or(
    lua: &Lua,
    args: &MultiValue,
    narg: usize,
    missing: &'static str,
) -> mlua::Result<f64> {
    match args.get(narg - 1) {
        Some(v) => to_number(lua, v).ok_or_else(|| type_error(lua, narg, "number", Some(v))),
        None => Err(arg_error(
            lua,
            narg,
            &format!("number expected, got {missing}"),
        )),
    }
}

/// `luaL_checknumber`.
pub fn check_number(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<f64> {
    check_number_or(lua, args, narg, "no value")
}

/// `luaL_checkinteger`: the number truncated as C's cast does on x86-64
/// (out of range and NaN become `i64::MIN`).
pub fn check_integer(lua: &Lua, args: &MultiValue, narg: usize) -> mlua::Result<i64> {
    check_number(lua, args, narg).map(f64_to_i64)
}

/// `luaL_optinteger`: `default` when the argument is absent or nil.
pub fn opt_integer(lua: &Lua, args: &MultiValue, narg: usize, default: i64) -> mlua::Result<i64> {
    match args.get(narg - 1) {
        None | Some(Value::Nil) => Ok(default),
        Some(_) => check_integer(lua, args, narg),
    }
}

/// `(int64_t)n` as x86-64 computes it: truncation, with NaN and values out
/// of range giving `i64::MIN` (the "integer indefinite" value).
pub fn f64_to_i64(n: f64) -> i64 {
    if n.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// `(uint64_t)n` as GCC compiles it on x86-64 for non-negative `n`: values
/// from 2^63 up go through a subtraction that overflows to 0 past 2^64.
pub fn f64_to_u64(n: f64) -> u64 {
    const TWO63: f64 = 9.223_372_036_854_776e18;
    if n.is_nan() || n < TWO63 {
        f64_to_i64(n) as u64
    } else {
        (f64_to_i64(n - TWO63) as u64) ^ (1u64 << 63)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_casts_follow_x86() {
        assert_eq!(f64_to_i64(1.9), 1);
        assert_eq!(f64_to_i64(-1.9), -1);
        assert_eq!(f64_to_i64(1e100), i64::MIN);
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(f64_to_u64(9.223_372_036_854_776e18), 1u64 << 63);
        assert_eq!(f64_to_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(f64_to_u64(1.8446744073709552e19), 0);
        assert_eq!(f64_to_u64(f64::NAN), 1u64 << 63);
    }
}
