//! Protected calls written against the Lua C API: the `pcall` and
//! `xpcall` scripts see, and the one every script run goes through.
//!
//! Why not mlua's: its `pcall`/`xpcall` push their status boolean *after*
//! the call returned, without checking the stack, so a function returning
//! thousands of values (`return unpack(t)` with 8k elements) overruns the
//! frame — Lua's API check aborts the whole process in debug builds. These
//! put the status slot in place *before* calling, as Redis's `pcall` does.
//!
//! Redis 7.0 semantics kept here (the Rust halves live in `lua_vm`):
//! * `pcall(f, …)` returns `false, e` where `e` is the `err` field of an
//!   error table (so `pcall(redis.call, …)` yields the error string), and
//!   re-raises once the script was killed (`settle` raises);
//! * `pcall()` gives `false, "attempt to call a boolean value"`;
//! * `xpcall(f, h)`: `h` receives Redis errors as `{err=…}` tables; a
//!   killed script stays killed (`check_kill` runs after a failure).
//!
//! The C functions hold nothing that needs dropping, so Lua's `longjmp` on
//! an error raised inside them (kill, or an error in `settle`) is sound in
//! practice — the same pattern mlua's own trampolines use.

use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua};
use std::os::raw::c_int;

/// `pcall(f, ...)` for scripts; upvalue 1 is `settle(err) -> err'`.
unsafe extern "C-unwind" fn pcall_impl(l: *mut lua_State) -> c_int {
    let top = ffi::lua_gettop(l);
    if top == 0 {
        ffi::lua_pushboolean(l, 0);
        let msg = b"attempt to call a boolean value";
        ffi::lua_pushlstring(l, msg.as_ptr() as *const _, msg.len());
        return 2;
    }
    // A C function starts with LUA_MINSTACK free slots: room for this.
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, top - 1, ffi::LUA_MULTRET, 0) == 0 {
        return ffi::lua_gettop(l);
    }
    // [true, err] -> [false, settle(err)...]
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, -2);
    ffi::lua_call(l, 1, ffi::LUA_MULTRET);
    ffi::lua_pushboolean(l, 0);
    ffi::lua_replace(l, 1);
    ffi::lua_gettop(l)
}

/// The message handler `xpcall` installs: upvalue 1 converts the error
/// (`as_table`), upvalue 2 is the script's handler.
unsafe extern "C-unwind" fn xpcall_handler(l: *mut lua_State) -> c_int {
    ffi::lua_settop(l, 1);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, 1, 1);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, 1, 1);
    1
}

/// `xpcall(f, h)` for scripts; upvalues: `as_table`, `check_kill`.
unsafe extern "C-unwind" fn xpcall_impl(l: *mut lua_State) -> c_int {
    ffi::luaL_checkany(l, 2);
    ffi::lua_settop(l, 2); // [f, h]
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_pushvalue(l, 2);
    ffi::lua_pushcclosure(l, xpcall_handler, 2); // [f, h, H]
    ffi::lua_replace(l, 2); // [f, H]
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1); // [true, f, H]
    ffi::lua_insert(l, 2); // [true, H, f]
    if ffi::lua_pcall(l, 0, ffi::LUA_MULTRET, 2) == 0 {
        ffi::lua_remove(l, 2);
        return ffi::lua_gettop(l);
    }
    // [true, H, err]
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
    ffi::lua_call(l, 0, 0);
    ffi::lua_pushboolean(l, 0);
    ffi::lua_replace(l, 1);
    ffi::lua_remove(l, 2);
    2
}

/// `runner(f, handler)`: how a script or library body runs. Returns
/// `true, first_result` or `false, handler(err)`; only the first result
/// is kept, since only it becomes the reply.
unsafe extern "C-unwind" fn runner_impl(l: *mut lua_State) -> c_int {
    ffi::lua_settop(l, 2); // [f, h]
    run_with_handler(l)
}

/// The body of `runner`, also used directly by `Vm::run`'s raw entry:
/// with exactly `[f, h]` on the frame, calls `f()` under handler `h` and
/// leaves `[ok, first_result_or_handled_error]`; returns 2.
///
/// # Safety
/// A raw Lua frame holding exactly the two values.
pub(crate) unsafe fn run_with_handler(l: *mut lua_State) -> c_int {
    ffi::lua_insert(l, 1); // [h, f]
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1); // [true, h, f]
    let ok = ffi::lua_pcall(l, 0, 1, 2) == 0;
    ffi::lua_remove(l, 2); // [true, result]
    if !ok {
        ffi::lua_pushboolean(l, 0);
        ffi::lua_replace(l, 1);
    }
    2
}

/// Builds a C closure over the given upvalues.
fn closure(lua: &Lua, f: ffi::lua_CFunction, upvalues: Vec<Function>) -> mlua::Result<Function> {
    let n = upvalues.len() as c_int;
    // SAFETY: exec_raw pushes the upvalues and runs this in protected
    // mode; lua_pushcclosure pops exactly them and pushes the closure,
    // which is then read back as the single result.
    unsafe {
        lua.exec_raw::<Function>(
            mlua::MultiValue::from_iter(upvalues.into_iter().map(mlua::Value::Function)),
            |state| {
                ffi::lua_pushcclosure(state, f, n);
            },
        )
    }
}

/// Redis's `pcall`, with `settle` deciding the error value returned.
pub fn script_pcall(lua: &Lua, settle: Function) -> mlua::Result<Function> {
    closure(lua, pcall_impl, vec![settle])
}

/// Redis's `xpcall`.
pub fn script_xpcall(
    lua: &Lua,
    as_table: Function,
    check_kill: Function,
) -> mlua::Result<Function> {
    closure(lua, xpcall_impl, vec![as_table, check_kill])
}

/// The protected call script runs go through (see [`runner_impl`]).
pub fn runner(lua: &Lua) -> mlua::Result<Function> {
    closure(lua, runner_impl, Vec::new())
}
