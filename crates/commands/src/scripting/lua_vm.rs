//! One sandboxed Lua 5.1 interpreter and how a script runs in it.
//!
//! **Sandbox.** Scripts run with an environment table that is always empty:
//! reads fall through to the real globals (and fail loudly for names that do
//! not exist), writes fail with Redis's "Attempt to modify a readonly
//! table". Library tables (`string`, `redis`, `cjson`, …) are exposed the
//! same way, and `rawset`/`setmetatable` refuse those proxies, so nothing a
//! script does survives into the next one. `os`, `io`, `debug`, `require`,
//! `loadfile`, `dofile`, `print`, `setfenv`/`getfenv` are absent, as in
//! Redis 7.0.
//!
//! **Calls into Redis.** `redis.call`/`redis.pcall`/`redis.setresp` are C
//! functions created once per interpreter (see `calls`); a run points their
//! shared [`CallSlot`] at its state (server, session, protocol) for as long
//! as it lasts. Failures become Redis-style error tables (`{err=…}`).
//!
//! **Errors.** Every run goes through `xpcall` with a handler that turns the
//! error value into `{err=…}` and records where in the script (source and
//! line) it happened, which becomes the `script: <sha>, on @user_script:1.`
//! suffix Redis 7.0 appends.
//!
//! **Interruption.** An instruction-count hook checks the shared kill flag
//! (SCRIPT KILL / FUNCTION KILL) every 10k instructions, and stops a movable
//! inline run that outgrew its budget (see the `scripting` module docs).

use super::calls::CallSlot;
use super::convert::lua_to_reply;
use super::{ArgRef, Ran, RunFlags, INLINE_BUDGET_US};
use crate::context::Session;
use crate::dispatch;
use crate::registry::registry;
use crate::spec::flag;
use crate::state::ServerState;
use mlua::ffi;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use quiver_resp::{ArgsBuf, Proto, ReplyBuf};
use std::cell::RefCell;
use std::os::raw::c_int;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What `SCRIPT KILL` makes the running script fail with.
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
/// The same for `FUNCTION KILL`.
pub const KILLED_FN: &str = "ERR Script killed by user with FUNCTION KILL...";

/// Internal helpers, compiled once per interpreter: the read-only proxies
/// and the guarded `rawset`/`setmetatable`. They receive the real globals
/// and the builtins they wrap.
const PRELUDE: &str = r#"
local G, error, rawset_, setmetatable_ = ...
local protected = {}
local function ro_newindex() error("Attempt to modify a readonly table", 2) end
local function readonly(t)
  local p = {}
  protected[p] = true
  setmetatable_(p, { __index = t, __newindex = ro_newindex, __metatable = false })
  return p
end
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
setmetatable_(G, { __index = missing })
local env = {}
protected[env] = true
setmetatable_(env, { __index = G, __newindex = ro_newindex, __metatable = false })
local function rawset(t, k, v)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return rawset_(t, k, v)
end
local function setmetatable(t, m)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable_(t, m)
end
local function bind(f, keys, args)
  return function() return f(keys, args) end
end
return env, readonly, rawset, setmetatable, bind
"#;

/// Globals Redis 7.0 does not offer scripts.
const REMOVED: &[&str] = &[
    "print", "dofile", "loadfile", "require", "module", "package", "setfenv", "getfenv",
    "newproxy", "os", "io", "debug",
];

/// A sandboxed interpreter with its helpers.
pub struct Vm {
    pub lua: Lua,
    /// The empty, read-only table scripts see as their globals.
    pub env: Table,
    /// The real globals (KEYS/ARGV are set here before each run).
    pub globals: Table,
    /// Wraps a library table into a read-only proxy.
    readonly: Function,
    /// Where `redis.call` & co. find the run in progress. Boxed: its
    /// address is baked into those C functions as an upvalue.
    slot: Box<CallSlot>,
    /// Argument and reply buffers `redis.call` reuses from call to call.
    scratch: RefCell<CallScratch>,
    /// `bind(f, keys, args)`: a Lua closure calling a function with its
    /// arguments, so it runs inside the same protected call as EVAL bodies.
    bind: Function,
    handler: Function,
    xpcall: Function,
    /// `math.random`'s rand48 state: saved before a movable inline run and
    /// put back if that run is restarted, so the restart draws the same
    /// numbers.
    pub(crate) rand: Arc<parking_lot::Mutex<super::libs::Rand48>>,
}

/// How one run is labelled and constrained.
pub struct RunSpec<'a> {
    /// Shown after `script:` in errors: the sha for EVAL, the function name
    /// for FCALL.
    pub name: &'a str,
    /// Write commands are refused (EVAL_RO, FCALL_RO, `no-writes`).
    pub read_only: bool,
    pub is_function: bool,
}

/// Buffers one `redis.call` builds its command and receives its reply in.
pub(crate) struct CallScratch {
    args: ArgsBuf,
    pub(crate) reply: ReplyBuf,
}

impl Default for CallScratch {
    fn default() -> Self {
        CallScratch {
            args: ArgsBuf::default(),
            reply: ReplyBuf {
                out: Vec::new(),
                proto: Proto::Resp2,
            },
        }
    }
}

/// State borrowed by `redis.call` for the duration of one run.
pub(crate) struct RunCtx<'a> {
    server: &'a ServerState,
    session: &'a mut Session,
    /// `redis.setresp(3)` was called: replies are parsed as RESP3.
    pub(crate) resp3: bool,
    /// Buffers for the command being called and its reply.
    pub(crate) scratch: &'a mut CallScratch,
    read_only: bool,
    flags: &'a RunFlags,
}

impl Vm {
    /// Builds an interpreter with Redis's libraries and sandbox.
    pub fn new(flags: Arc<RunFlags>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        let globals = lua.globals();
        for name in REMOVED {
            globals.raw_set(*name, Value::Nil)?;
        }
        let prelude: Function = lua.load(PRELUDE).set_name("=quiver").into_function()?;
        let (env, readonly, rawset, setmetatable, bind): (
            Table,
            Function,
            Function,
            Function,
            Function,
        ) = prelude.call((
            globals.clone(),
            globals.raw_get::<Function>("error")?,
            globals.raw_get::<Function>("rawset")?,
            globals.raw_get::<Function>("setmetatable")?,
        ))?;
        globals.raw_set("rawset", rawset)?;
        globals.raw_set("setmetatable", setmetatable)?;
        // Scripts get Redis's pcall/xpcall; runs go through our own
        // protected call (see `protect` for why not mlua's).
        let (settle, as_table, check_kill) = protected_call_helpers(&lua, &flags)?;
        globals.raw_set("pcall", super::protect::script_pcall(&lua, settle)?)?;
        globals.raw_set(
            "xpcall",
            super::protect::script_xpcall(&lua, as_table, check_kill)?,
        )?;
        let xpcall = super::protect::runner(&lua)?;
        globals.raw_set("_G", env.clone())?;

        let redis = lua.create_table()?;
        globals.raw_set("redis", redis.clone())?;

        let handler = lua.create_function(error_handler)?;
        let slot = Box::<CallSlot>::default();
        super::calls::install(&lua, &redis, &*slot)?;
        let vm = Vm {
            lua,
            env,
            globals,
            readonly,
            slot,
            scratch: RefCell::new(CallScratch::default()),
            bind,
            handler,
            xpcall,
            rand: Arc::new(parking_lot::Mutex::new(super::libs::Rand48::INITIAL)),
        };
        super::redis_lib::install(&vm, &redis)?;
        super::libs::install(&vm)?;
        for lib in [
            "string",
            "math",
            "table",
            "coroutine",
            "redis",
            "cjson",
            "bit",
            "struct",
            "cmsgpack",
        ] {
            vm.protect(lib)?;
        }
        // Every 10k instructions (tens of µs): often enough to hold an
        // inline run to its budget, rare enough to cost nothing measurable.
        let hook_flags = flags.clone();
        vm.lua.set_hook(
            HookTriggers::new().every_nth_instruction(10_000),
            move |_, _| {
                let f = &*hook_flags;
                if f.movable.load(Ordering::Relaxed)
                    && !f.touched.load(Ordering::Relaxed)
                    && super::mono_us().saturating_sub(f.run_start_us.load(Ordering::Relaxed))
                        >= INLINE_BUDGET_US
                {
                    // Too slow to hold the connection's thread, and nothing
                    // observable done yet: stop, to restart off-thread.
                    f.moved.store(true, Ordering::Release);
                }
                raise_if_killed(f)?;
                Ok(VmState::Continue)
            },
        );
        Ok(vm)
    }

    /// Replaces the global library `name` with a read-only view of it.
    pub fn protect(&self, name: &str) -> mlua::Result<()> {
        if let Value::Table(t) = self.globals.raw_get::<Value>(name)? {
            let p: Table = self.readonly.call(t)?;
            self.globals.raw_set(name, p)?;
        }
        Ok(())
    }

    /// Wraps helper `f`, which returns `(value, error)`, into a function
    /// that raises the error: verbatim (Redis library style, `ERR …`), or
    /// with `positioned` prefixed by the caller's position as C libraries'
    /// `luaL_error` does. Raising from Rust (a C function for Lua) keeps
    /// the script's frame on the stack even for `return f()` tail calls, so
    /// the error handler can still find the script line.
    pub fn checked(&self, _name: &str, f: Function, positioned: bool) -> mlua::Result<Function> {
        self.lua.create_function(move |lua, args: MultiValue| {
            let mut out: MultiValue = f.call(args)?;
            let r = out.pop_front().unwrap_or(Value::Nil);
            match out.pop_front() {
                Some(Value::String(e)) => {
                    let e = e.to_string_lossy().to_string();
                    Err(if positioned {
                        ScriptError::plain(format!("{}{e}", caller_position(lua)))
                    } else {
                        ScriptError::coded(e)
                    })
                }
                _ => Ok(r),
            }
        })
    }

    /// Compiles a script body with `chunk` as its source name
    /// (`@user_script` for EVAL, `@user_function` for libraries).
    pub fn compile(&self, body: &[u8], chunk: &str) -> Result<Function, String> {
        self.lua
            .load(body)
            .set_name(chunk)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Calls `f` with no arguments under the error handler (library
    /// loading); the error is the handler's `err` text, without location.
    pub fn call_protected(&self, f: &Function) -> Result<(), String> {
        let out: MultiValue = self
            .xpcall
            .call((f.clone(), self.handler.clone()))
            .map_err(|e| e.to_string())?;
        let mut it = out.into_iter();
        if matches!(it.next(), Some(Value::Boolean(true))) {
            return Ok(());
        }
        match it.next() {
            Some(Value::Table(t)) => match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => Err(s.to_string_lossy().to_string()),
                _ => Err("ERR unknown error".into()),
            },
            _ => Err("ERR unknown error".into()),
        }
    }

    /// Runs `f` with `keys`/`argv` (as KEYS/ARGV globals, or as the two
    /// arguments of a function) and writes its result or error to `reply`
    /// — unless the hook stopped a movable run ([`Ran::Moved`]): then
    /// nothing is written and the caller restarts it elsewhere.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        server: &ServerState,
        session: &mut Session,
        flags: &RunFlags,
        f: &Function,
        keys: ArgRef<'_>,
        argv: ArgRef<'_>,
        spec: &RunSpec<'_>,
        reply: &mut ReplyBuf,
    ) -> Ran {
        let lua = &self.lua;
        let movable = flags.movable.load(Ordering::Relaxed);
        let rand_before = if movable { self.rand.lock().0 } else { 0 };
        let mut spare = CallScratch::default();
        let mut held = self.scratch.try_borrow_mut();
        let scratch = match held.as_deref_mut() {
            Ok(s) => s,
            Err(_) => &mut spare,
        };
        let ctx = RefCell::new(RunCtx {
            server,
            session,
            scratch,
            resp3: false,
            read_only: spec.read_only,
            flags,
        });
        let res = {
            let _entered = self.slot.enter(&ctx);
            let is_function = spec.is_function;
            // One protected entry for the whole run: build KEYS/ARGV, call
            // the script under the error handler, clear KEYS/ARGV again
            // (nothing of this run may be reachable from the next one).
            // Each mlua table write or string would be a protected call of
            // its own, and they dominated short scripts.
            //
            // SAFETY: the closure runs in protected mode on a frame holding
            // [f, handler, bind]; it balances the stack to leave exactly
            // [ok, result]. It holds no Rust values needing drop across the
            // Lua calls that may raise.
            unsafe {
                lua.exec_raw::<(Value, Value)>(
                    (f.clone(), self.handler.clone(), self.bind.clone()),
                    |l| {
                        // [f, h, bind]
                        push_array(l, &keys);
                        push_array(l, &argv);
                        if is_function {
                            // bind(f, keys, argv) -> closure replacing f
                            ffi::lua_pushvalue(l, -3); // [f, h, bind, K, A, bind]
                            ffi::lua_pushvalue(l, 1);
                            ffi::lua_pushvalue(l, -4);
                            ffi::lua_pushvalue(l, -4); // [.., bind, f, K, A]
                            ffi::lua_call(l, 3, 1);
                            ffi::lua_replace(l, 1);
                            ffi::lua_settop(l, 2);
                        } else {
                            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"ARGV".as_ptr());
                            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"KEYS".as_ptr());
                            ffi::lua_settop(l, 2);
                        }
                        // [f, h] -> [ok, result]
                        super::protect::run_with_handler(l);
                        if !is_function {
                            ffi::lua_pushnil(l);
                            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"KEYS".as_ptr());
                            ffi::lua_pushnil(l);
                            ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"ARGV".as_ptr());
                        }
                    },
                )
            }
        };
        let moved = flags.moved.load(Ordering::Acquire);
        if moved {
            self.rand.lock().0 = rand_before;
        } else {
            match res {
                Ok((Value::Boolean(true), val)) => {
                    lua_to_reply(&val, reply, ctx.borrow().resp3);
                }
                Ok((_, val)) => reply.error(&format_error(&val, spec.name)),
                Err(e) => reply.error(&format!("ERR Error running script: {e}")),
            }
        }
        // No collection here at all: Lua's incremental collector already
        // does work in proportion to what runs allocate, which bounds the
        // heap (pause 200%). Extra explicit steps (Redis does 50 KB every 50
        // runs) made it run whole cycles back to back: a tenth of a small
        // script's cost, for nothing.
        if moved {
            Ran::Moved
        } else {
            Ran::Done
        }
    }
}

/// The Rust side of the `pcall`/`xpcall` wrappers:
///
/// * `settle(e)`: the error value `pcall` returns. Errors raised from Rust
///   (`redis.call`, the C-style libraries) become their message; a table
///   with a string or number `err` field (looked up as `lua_getfield`
///   would) becomes that field, as Redis 7.0's `pcall` does.
/// * `as_table(e)`: what an `xpcall` handler receives: Redis errors as
///   `{err=…}` tables, library errors as their message string.
/// * `check_kill()`: raises the kill error once SCRIPT KILL / FUNCTION KILL
///   asked for it.
///
/// `settle` and `check_kill` re-raise the kill error rather than let a
/// protected call swallow it: the hook raises it inside the protected call,
/// and without this a script looping over `pcall` could never be stopped.
fn protected_call_helpers(
    lua: &Lua,
    flags: &Arc<RunFlags>,
) -> mlua::Result<(Function, Function, Function)> {
    let f = flags.clone();
    let settle = lua.create_function(move |lua, e: Value| {
        raise_if_killed(&f)?;
        let mut out = MultiValue::new();
        match e {
            Value::Error(err) => {
                out.push_back(Value::String(lua.create_string(error_text(&err))?));
            }
            Value::Table(t) => match t.get::<Value>("err")? {
                v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => out.push_back(v),
                // Redis's pcall leaves the looked-up field on the stack
                // too: `false, t, t.err`.
                other => {
                    out.push_back(Value::Table(t));
                    out.push_back(other);
                }
            },
            other => out.push_back(other),
        }
        Ok(out)
    })?;
    let as_table = lua.create_function(|lua, e: Value| {
        Ok(match e {
            Value::Error(err) => match find_script_error(&err) {
                Some(se) if se.coded => {
                    let t = lua.create_table()?;
                    t.raw_set("err", lua.create_string(&se.msg)?)?;
                    t.raw_set("ignore_error_stats_update", true)?;
                    Value::Table(t)
                }
                _ => Value::String(lua.create_string(error_text(&err))?),
            },
            other => other,
        })
    })?;
    let f = flags.clone();
    let check_kill = lua.create_function(move |_, ()| raise_if_killed(&f))?;
    Ok((settle, as_table, check_kill))
}

/// Fails with the kill error when the running script was asked to stop.
fn raise_if_killed(flags: &RunFlags) -> mlua::Result<()> {
    if flags.moved.load(Ordering::Acquire) {
        // Never seen by the script: the run's result is discarded.
        return Err(mlua::Error::RuntimeError("script moved".into()));
    }
    if flags.kill.load(Ordering::Acquire) {
        let msg = if flags.is_function.load(Ordering::Relaxed) {
            KILLED_FN
        } else {
            KILLED
        };
        return Err(mlua::Error::RuntimeError(msg.to_string()));
    }
    Ok(())
}

/// The message of an error raised from Rust, as Lua code should see it.
fn error_text(e: &mlua::Error) -> String {
    match find_script_error(e) {
        Some(se) => se.msg.clone(),
        None => root_message(e),
    }
}

/// `err … script: name, on @source:line.` from the handler's table.
fn format_error(val: &Value, name: &str) -> String {
    let Value::Table(t) = val else {
        return format!("ERR unknown error script: {name}");
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.to_string_lossy().to_string(),
        _ => "ERR unknown error".to_string(),
    };
    match (t.raw_get::<Value>("source"), t.raw_get::<Value>("line")) {
        (Ok(Value::String(src)), Ok(line)) => {
            let line = match line {
                Value::Integer(i) => i,
                Value::Number(n) => n as i64,
                _ => 0,
            };
            format!("{msg} script: {name}, on {}:{line}.", src.to_string_lossy())
        }
        _ => format!("{msg} script: {name}"),
    }
}

/// The xpcall handler: normalises the error value to `{err=…}` and notes
/// the innermost script frame (skipping C functions and our helpers).
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let msg: Vec<u8> = match &err {
        Value::Table(src) => match src.raw_get::<Value>("err")? {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => b"ERR unknown error".to_vec(),
        },
        Value::Error(e) => match find_script_error(e) {
            Some(se) if se.coded => se.msg.clone().into_bytes(),
            Some(se) => format!("ERR {}", se.msg).into_bytes(),
            None => {
                let text = root_message(e);
                if text.starts_with("ERR ") {
                    text.into_bytes()
                } else {
                    format!("ERR {text}").into_bytes()
                }
            }
        },
        Value::Nil => b"ERR nil".to_vec(),
        other => {
            let s = lua.coerce_string(other.clone()).ok().flatten();
            let mut m = b"ERR ".to_vec();
            match s {
                Some(s) => m.extend_from_slice(&s.as_bytes()),
                None => m.extend_from_slice(other.type_name().as_bytes()),
            }
            m
        }
    };
    t.raw_set("err", lua.create_string(&msg)?)?;
    for level in 1..256 {
        let Some(d) = lua.inspect_stack(level) else {
            break;
        };
        let src = d.source();
        if let Some(s) = src.source.as_deref() {
            if s.starts_with('@') {
                t.raw_set("source", s)?;
                t.raw_set("line", d.curr_line())?;
                break;
            }
        }
    }
    Ok(t)
}

/// The message of an error raised from Rust (the kill hook), without the
/// traceback decoration mlua adds around callback errors.
fn root_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(s) => s.clone(),
        mlua::Error::CallbackError { cause, .. } => root_message(cause),
        other => other.to_string(),
    }
}

/// Why `redis.call` failed (the command's error reply, or why it was
/// refused): `redis.call` raises it, `redis.pcall` returns it.
pub(crate) struct CallFailure(pub String);

/// `redis.call` / `redis.pcall`: runs one command through dispatch and
/// leaves its reply (in the run's protocol) in `ctx.scratch.reply`.
pub(crate) fn execute_call(ctx: &mut RunCtx<'_>, parts: &[&[u8]]) -> Result<(), CallFailure> {
    let fail = |msg: &str| -> Result<(), CallFailure> { Err(CallFailure(msg.to_string())) };
    if ctx.flags.kill.load(Ordering::Acquire) {
        let msg = if ctx.flags.is_function.load(Ordering::Relaxed) {
            KILLED_FN
        } else {
            KILLED
        };
        return fail(msg);
    }
    let RunCtx {
        server,
        session,
        scratch,
        ..
    } = ctx;
    scratch.args.refill(parts.iter().copied());
    let view = scratch.args.owned_view();
    let entry = match dispatch::resolve(&view) {
        Ok(e) => e,
        Err(_) => {
            return if registry().lookup(view.get(0)).is_some() && !is_sub_error(&view) {
                fail("ERR Wrong number of args calling Redis command from script")
            } else {
                fail("ERR Unknown Redis command called from script")
            };
        }
    };
    let spec = entry.spec;
    // From here on the run has effects a restart would repeat (stats,
    // key access, writes): it may no longer be moved.
    ctx.flags.touched.store(true, Ordering::Relaxed);
    if spec.has(flag::NOSCRIPT) {
        return fail("ERR This Redis command is not allowed from script");
    }
    if spec.has(flag::WRITE) {
        if ctx.read_only {
            return fail("ERR Write commands are not allowed from read-only scripts.");
        }
        ctx.flags.wrote.store(true, Ordering::Release);
    }
    let proto = if ctx.resp3 {
        Proto::Resp3
    } else {
        Proto::Resp2
    };
    let out = &mut scratch.reply;
    out.out.clear();
    out.proto = proto;
    dispatch::call(server, session, out, entry, view);
    if out.out.first() == Some(&b'-') {
        let end = out.out.len().saturating_sub(2).max(1);
        return Err(CallFailure(
            String::from_utf8_lossy(&out.out[1..end]).to_string(),
        ));
    }
    // A huge reply once should not pin its buffer for the VM's lifetime.
    if out.out.capacity() > 1 << 20 {
        out.out.shrink_to(64 << 10);
    }
    Ok(())
}

/// Pushes a fresh array table of `src`'s strings.
///
/// # Safety
/// A raw Lua frame with room for two more values.
unsafe fn push_array(l: *mut ffi::lua_State, src: &ArgRef<'_>) {
    let n = src.len();
    ffi::lua_createtable(l, n.min(1 << 20) as c_int, 0);
    for i in 0..n {
        let b = src.get(i);
        ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
        ffi::lua_rawseti(l, -2, (i + 1) as ffi::lua_Integer);
    }
}

/// An error a Redis library function raises. `coded` messages carry their
/// own error code (`ERR …`); others get `ERR ` prepended by the handler.
#[derive(Debug)]
pub struct ScriptError {
    pub msg: String,
    pub coded: bool,
}

impl ScriptError {
    pub fn coded(msg: String) -> mlua::Error {
        mlua::Error::external(ScriptError { msg, coded: true })
    }
    pub fn plain(msg: String) -> mlua::Error {
        mlua::Error::external(ScriptError { msg, coded: false })
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ScriptError {}

fn find_script_error(e: &mlua::Error) -> Option<&ScriptError> {
    match e {
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<ScriptError>(),
        mlua::Error::CallbackError { cause, .. } => find_script_error(cause),
        _ => None,
    }
}

/// `source:line: ` of the Lua function calling the current Rust one, as
/// `luaL_where(L, 1)` gives it.
pub fn caller_position(lua: &Lua) -> String {
    match lua.inspect_stack(1) {
        Some(d) if d.curr_line() > 0 => {
            let src = d.source();
            let short = src.short_src.as_deref().unwrap_or("?").to_string();
            format!("{short}:{}: ", d.curr_line())
        }
        _ => String::new(),
    }
}

/// True when argv names a known container but an unknown subcommand (which
/// Redis reports as an unknown command, not a wrong arity).
fn is_sub_error(args: &quiver_resp::Args<'_>) -> bool {
    let reg = registry();
    match reg.lookup(args.get(0)) {
        Some(e) if e.subs.is_some() && args.len() >= 2 => reg.lookup_sub(e, args.get(1)).is_none(),
        _ => false,
    }
}
