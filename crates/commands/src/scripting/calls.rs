//! `redis.call`, `redis.pcall` and `redis.setresp`, written against the Lua
//! C API and created once per interpreter.
//!
//! Why not mlua callbacks: a script such as a rate limiter spends most of
//! its time crossing into Redis and back. mlua's callbacks convert every
//! argument and result into registry-anchored values (each a protected
//! call plus a stack move), and borrowing the run's state required creating
//! the three callbacks per run in an `mlua` scope — userdata with
//! finalizers, i.e. garbage every run. Together that was over half the
//! instructions of a small EVALSHA. These functions read their arguments
//! straight off the Lua stack, push the reply straight onto it, and find the
//! run in progress through a [`CallSlot`] (a lightuserdata upvalue) that
//! [`super::lua_vm::Vm::run`] fills for the duration of a run.
//!
//! Errors are raised the way Redis 7.0 raises them, as `{err=…,
//! ignore_error_stats_update=true}` tables. Every Rust value is dropped
//! before `lua_error` jumps out (the same discipline as `protect.rs`), and
//! panics are caught before they could unwind into Lua's C frames.

use super::lua_vm::{execute_call, CallFailure, RunCtx};
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Table};
use std::cell::RefCell;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Deepest reply nesting pushed (replies come from our own commands; this
/// only bounds the Lua stack use).
const MAX_DEPTH: usize = 64;

/// Where the C functions find the run in progress: a pointer to the run's
/// `RefCell<RunCtx>`, null between runs (library loading, or a script that
/// stashed `redis.call` and is somehow called later).
#[derive(Default)]
pub struct CallSlot {
    ctx: AtomicPtr<()>,
}

impl CallSlot {
    /// Points the slot at `ctx` until the returned guard drops.
    pub(crate) fn enter<'s>(&'s self, ctx: &'s RefCell<RunCtx<'_>>) -> SlotGuard<'s> {
        self.ctx.store(
            ctx as *const RefCell<RunCtx<'_>> as *mut (),
            Ordering::Release,
        );
        SlotGuard(self)
    }
}

/// Clears the slot when the run ends, also on early return.
pub(crate) struct SlotGuard<'s>(&'s CallSlot);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.0.ctx.store(std::ptr::null_mut(), Ordering::Release);
    }
}

/// Sets `call`, `pcall` and `setresp` on the (not yet protected) `redis`
/// table. `slot` must outlive the interpreter's use of these functions.
pub fn install(lua: &Lua, redis: &Table, slot: *const CallSlot) -> mlua::Result<()> {
    for (name, f) in [
        ("call", call_impl as ffi::lua_CFunction),
        ("pcall", pcall_impl as ffi::lua_CFunction),
        ("setresp", setresp_impl as ffi::lua_CFunction),
    ] {
        // SAFETY: exec_raw runs this in protected mode with an empty frame;
        // we push the upvalue and pop it into the closure, leaving exactly
        // the one function value that is read back.
        let func: mlua::Function = unsafe {
            lua.exec_raw((), |l| {
                ffi::lua_pushlightuserdata(l, slot as *mut std::ffi::c_void);
                ffi::lua_pushcclosure(l, f, 1);
            })?
        };
        redis.raw_set(name, func)?;
    }
    Ok(())
}

/// The run in progress, if any.
///
/// # Safety
/// Must be called from one of this module's C functions (upvalue 1 is the
/// slot). The pointer stays valid while the slot is set: `Vm::run` clears
/// it before the `RefCell` goes out of scope.
unsafe fn current<'a>(l: *mut lua_State) -> Option<&'a RefCell<RunCtx<'a>>> {
    let slot = ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *const CallSlot;
    if slot.is_null() {
        return None;
    }
    let p = (*slot).ctx.load(Ordering::Acquire) as *const RefCell<RunCtx<'a>>;
    p.as_ref()
}

unsafe extern "C-unwind" fn call_impl(l: *mut lua_State) -> c_int {
    call_entry(l, true)
}

unsafe extern "C-unwind" fn pcall_impl(l: *mut lua_State) -> c_int {
    call_entry(l, false)
}

/// Shared body: on success the reply is on the stack; on failure `call`
/// raises the error table and `pcall` returns it.
unsafe fn call_entry(l: *mut lua_State, raise: bool) -> c_int {
    let failed: String =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_call(l))) {
            Ok(Ok(())) => return 1,
            Ok(Err(f)) => f.0,
            Err(_) => "ERR internal error in redis.call".to_string(),
        };
    push_error_table(l, failed.as_bytes());
    drop(failed);
    if raise {
        ffi::lua_error(l)
    } else {
        1
    }
}

/// Reads the arguments, runs the command and pushes its reply.
unsafe fn run_call(l: *mut lua_State) -> Result<(), CallFailure> {
    let Some(cell) = current(l) else {
        return Err(CallFailure(
            "ERR redis.call is only available while a script runs".into(),
        ));
    };
    let n = ffi::lua_gettop(l);
    if n == 0 {
        return Err(CallFailure(
            "ERR Please specify at least one argument for this redis lib call".into(),
        ));
    }
    // Numbers become strings the way Redis 7.0 converts them (`%.17g`,
    // not Lua's lossy `%.14g`); kept here until the command has run.
    let mut numbers: smallvec::SmallVec<[(usize, String); 2]> = smallvec::SmallVec::new();
    let mut parts: smallvec::SmallVec<[&[u8]; 8]> = smallvec::SmallVec::new();
    for i in 1..=n {
        match ffi::lua_type(l, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, i, &mut len);
                // SAFETY: the string stays anchored in its stack slot
                // until this function returns.
                parts.push(std::slice::from_raw_parts(p as *const u8, len));
            }
            ffi::LUA_TNUMBER => {
                let v = ffi::lua_tonumber(l, i);
                numbers.push((parts.len(), quiver_resp::format_g(v, 17)));
                parts.push(&[]);
            }
            _ => {
                return Err(CallFailure(
                    "ERR Lua redis lib command arguments must be strings or integers".into(),
                ))
            }
        }
    }
    for (i, s) in &numbers {
        parts[*i] = s.as_bytes();
    }
    let Ok(mut ctx) = cell.try_borrow_mut() else {
        return Err(CallFailure("ERR redis.call called re-entrantly".into()));
    };
    execute_call(&mut ctx, &parts)?;
    if ffi::lua_checkstack(l, 8) == 0 {
        return Err(CallFailure("ERR reply too deep for the Lua stack".into()));
    }
    let mut pos = 0;
    push_reply(l, &ctx.scratch.reply.out, &mut pos, 0);
    Ok(())
}

/// `redis.setresp(2|3)`: which protocol later `redis.call` replies use.
unsafe extern "C-unwind" fn setresp_impl(l: *mut lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    let err: Option<&'static str> = if n != 1 {
        Some("ERR redis.setresp() requires one argument.")
    } else if ffi::lua_type(l, 1) != ffi::LUA_TNUMBER {
        Some("ERR RESP version must be 2 or 3.")
    } else {
        let v = ffi::lua_tonumber(l, 1);
        if v == 2.0 || v == 3.0 {
            match current(l) {
                Some(cell) => match cell.try_borrow_mut() {
                    Ok(mut ctx) => {
                        ctx.resp3 = v == 3.0;
                        None
                    }
                    Err(_) => Some("ERR redis.setresp() called re-entrantly"),
                },
                None => Some("ERR redis.setresp is only available while a script runs"),
            }
        } else {
            Some("ERR RESP version must be 2 or 3.")
        }
    };
    match err {
        None => 0,
        Some(msg) => {
            push_error_table(l, msg.as_bytes());
            ffi::lua_error(l)
        }
    }
}

/// Pushes `{err = msg, ignore_error_stats_update = true}`: what Redis
/// raises from `redis.call` (and returns from `redis.pcall`).
unsafe fn push_error_table(l: *mut lua_State, msg: &[u8]) {
    ffi::lua_checkstack(l, 4);
    ffi::lua_createtable(l, 0, 2);
    ffi::lua_pushlstring(l, msg.as_ptr() as *const _, msg.len());
    ffi::lua_setfield(l, -2, c"err".as_ptr());
    ffi::lua_pushboolean(l, 1);
    ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
}

/// Pushes a one-field table `{name = <value on top>}`, replacing the value.
unsafe fn wrap_single(l: *mut lua_State, name: &std::ffi::CStr) {
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_insert(l, -2);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
}

/// Pushes one reply parsed from `buf[*pos..]` (always well formed: our own
/// command wrote it), with Redis's reply → Lua conversion rules: status →
/// `{ok=…}`, error → `{err=…}`, integer → number, nil → `false`, arrays →
/// tables, and RESP3 maps/sets/doubles/big numbers/verbatim strings as the
/// one-field tables Redis uses for them.
unsafe fn push_reply(l: *mut lua_State, buf: &[u8], pos: &mut usize, depth: usize) {
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 6) == 0 {
        ffi::lua_pushnil(l);
        return;
    }
    let kind = buf.get(*pos).copied().unwrap_or(b'_');
    let line = read_line(buf, pos);
    let body = &line[1.min(line.len())..];
    let num = || -> i64 {
        std::str::from_utf8(body)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    match kind {
        b'+' => {
            push_bytes(l, body);
            wrap_single(l, c"ok");
        }
        b'-' => {
            push_bytes(l, body);
            wrap_single(l, c"err");
        }
        b':' => ffi::lua_pushnumber(l, num() as f64),
        b'$' | b'=' => {
            let n = num();
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return;
            }
            let data = take(buf, pos, n as usize);
            if kind == b'=' {
                let (fmt, text) = if data.len() >= 4 {
                    data.split_at(4)
                } else {
                    (&data[..0], data)
                };
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, &fmt[..fmt.len().saturating_sub(1)]);
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                push_bytes(l, text);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                wrap_single(l, c"verbatim_string");
            } else {
                push_bytes(l, data);
            }
        }
        b'*' | b'>' => {
            let n = num();
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return;
            }
            ffi::lua_createtable(l, n.min(1 << 20) as c_int, 0);
            for i in 1..=n {
                push_reply(l, buf, pos, depth + 1);
                ffi::lua_rawseti(l, -2, i as ffi::lua_Integer);
            }
        }
        b'%' => {
            ffi::lua_createtable(l, 0, 0);
            for _ in 0..num() {
                push_reply(l, buf, pos, depth + 1);
                push_reply(l, buf, pos, depth + 1);
                set_or_drop(l);
            }
            wrap_single(l, c"map");
        }
        b'~' => {
            ffi::lua_createtable(l, 0, 0);
            for _ in 0..num() {
                push_reply(l, buf, pos, depth + 1);
                ffi::lua_pushboolean(l, 1);
                set_or_drop(l);
            }
            wrap_single(l, c"set");
        }
        b'|' => {
            // Attributes carry metadata only: skip them, keep the reply.
            for _ in 0..num() * 2 {
                push_reply(l, buf, pos, depth + 1);
                ffi::lua_settop(l, -2);
            }
            push_reply(l, buf, pos, depth + 1);
        }
        b',' => {
            let d = std::str::from_utf8(body)
                .ok()
                .and_then(|s| match s {
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    "nan" => Some(f64::NAN),
                    s => s.parse().ok(),
                })
                .unwrap_or(0.0);
            ffi::lua_pushnumber(l, d);
            wrap_single(l, c"double");
        }
        b'#' => ffi::lua_pushboolean(l, c_int::from(body == b"t")),
        b'(' => {
            push_bytes(l, body);
            wrap_single(l, c"big_number");
        }
        _ => ffi::lua_pushnil(l),
    }
}

/// `t[k] = v` for the table under a key/value pair on top; a nil or NaN
/// key (which `lua_rawset` would reject by raising) is dropped instead.
unsafe fn set_or_drop(l: *mut lua_State) {
    let bad_key = match ffi::lua_type(l, -2) {
        ffi::LUA_TNIL => true,
        ffi::LUA_TNUMBER => ffi::lua_tonumber(l, -2).is_nan(),
        _ => false,
    };
    if bad_key {
        ffi::lua_settop(l, -3);
    } else {
        ffi::lua_rawset(l, -3);
    }
}

/// The line at `*pos` without its CRLF; advances past it.
fn read_line<'b>(buf: &'b [u8], pos: &mut usize) -> &'b [u8] {
    let start = (*pos).min(buf.len());
    let end = memchr::memmem::find(&buf[start..], b"\r\n")
        .map(|i| start + i)
        .unwrap_or(buf.len());
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

fn take<'b>(buf: &'b [u8], pos: &mut usize, n: usize) -> &'b [u8] {
    let start = (*pos).min(buf.len());
    let end = start.saturating_add(n).min(buf.len());
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::Value;

    /// Parses `bytes` into a Lua value through the C-API path.
    fn parse(lua: &Lua, bytes: &'static [u8]) -> Value {
        // SAFETY: push_reply leaves exactly one value on the stack.
        unsafe {
            lua.exec_raw::<Value>((), |l| {
                let mut pos = 0;
                push_reply(l, bytes, &mut pos, 0);
            })
        }
        .expect("parse")
    }

    #[test]
    fn arrays_nil_and_status() {
        let lua = Lua::new();
        let v = parse(&lua, b"*3\r\n:1\r\n$-1\r\n*1\r\n+OK\r\n");
        let Value::Table(t) = v else {
            panic!("not a table")
        };
        assert_eq!(t.raw_get::<i64>(1).expect("1"), 1);
        assert!(!t.raw_get::<bool>(2).expect("2"));
        let inner: Table = t.raw_get(3).expect("3");
        let ok: Table = inner.raw_get(1).expect("status");
        assert_eq!(ok.raw_get::<String>("ok").expect("ok"), "OK");
    }

    #[test]
    fn resp3_shapes() {
        let lua = Lua::new();
        let Value::Table(m) = parse(&lua, b"%1\r\n$1\r\na\r\n,1.5\r\n") else {
            panic!("map")
        };
        let map: Table = m.raw_get("map").expect("map field");
        let d: Table = map.raw_get("a").expect("a");
        assert_eq!(d.raw_get::<f64>("double").expect("double"), 1.5);
        let Value::Table(s) = parse(&lua, b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n") else {
            panic!("set")
        };
        let set: Table = s.raw_get("set").expect("set field");
        assert!(set.raw_get::<bool>("x").expect("x"));
        assert!(set.raw_get::<bool>("y").expect("y"));
        let Value::Table(v) = parse(&lua, b"=8\r\ntxt:abcd\r\n") else {
            panic!("verbatim")
        };
        let vt: Table = v.raw_get("verbatim_string").expect("field");
        assert_eq!(vt.raw_get::<String>("format").expect("format"), "txt");
        assert_eq!(vt.raw_get::<String>("string").expect("string"), "abcd");
        assert_eq!(parse(&lua, b"#t\r\n"), Value::Boolean(true));
    }
}
