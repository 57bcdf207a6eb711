//! Redis 7 functions: libraries loaded with FUNCTION LOAD (`#!lua name=…`,
//! `redis.register_function`), called with FCALL/FCALL_RO.
//!
//! Libraries live in their own interpreter (as in Redis, separate from
//! EVAL's). Each library's code runs in its own environment table whose
//! lookups, while the library loads, only reach a restricted `redis` table
//! (`register_function`, `log`, constants) — exactly what Redis allows at
//! load time — and afterwards the normal sandboxed globals.
//!
//! FUNCTION DUMP's payload is our own format (magic, version, libraries'
//! code, FNV-1a checksum): RESTORE re-loads each library's code, so the
//! payload never carries compiled Lua.

use super::lua_vm::{RunSpec, Vm};
use super::{
    can_defer, defer, key_views, kill, num_keys, run_inline, ArgRef, Ran, RunFlags, TargetRef,
};
use crate::context::{Ctx, Session};
use crate::error::{CmdError, CmdResult};
use crate::spec::{flag, CommandSpec};
use crate::state::ServerState;
use crate::util::{eq_ic, parse_i64};
use mlua::{Function, MultiValue, Table, Value};
use parking_lot::Mutex;
use quiver_resp::{Args, ReplyBuf};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// One registered function.
struct FnInfo {
    name: String,
    description: Option<Vec<u8>>,
    /// Flag names as given (`no-writes`, `allow-oom`, …).
    flags: Vec<String>,
    no_writes: bool,
    func: Function,
    /// How long its last run took (a [`super::speed`] value): decides
    /// whether FCALL runs it inline or on the script thread.
    speed: std::sync::atomic::AtomicU8,
}

struct Library {
    code: Vec<u8>,
    functions: Vec<FnInfo>,
}

/// Builds a library's environment and later switches it to the globals.
const ENV_MAKER: &str = r#"
local G, restricted, setmetatable, error = ...
return function()
  local mt = { __index = restricted, __newindex = function() error("Attempt to modify a readonly table", 2) end, __metatable = false }
  local env = setmetatable({}, mt)
  return env, function() mt.__index = G end
end
"#;

/// The functions interpreter and its libraries.
struct Engine {
    vm: Vm,
    make_env: Function,
    /// Functions registered by the library being loaded.
    pending: Arc<Mutex<Option<Vec<FnInfo>>>>,
}

#[derive(Default)]
pub struct Functions {
    engine: Option<Engine>,
    libs: BTreeMap<String, Library>,
}

impl Functions {
    pub fn counts(&self) -> (usize, usize) {
        (
            self.libs.len(),
            self.libs.values().map(|l| l.functions.len()).sum(),
        )
    }

    /// Bytes of library code held.
    pub fn code_bytes(&self) -> usize {
        self.libs.values().map(|l| l.code.len()).sum()
    }

    /// Memory the functions interpreter uses.
    pub fn vm_memory(&self) -> usize {
        self.engine
            .as_ref()
            .map(|e| e.vm.lua.used_memory())
            .unwrap_or(0)
    }

    fn engine(&mut self, flags: &Arc<RunFlags>) -> Result<&Engine, CmdError> {
        if self.engine.is_none() {
            let e = new_engine(flags.clone())
                .map_err(|e| CmdError::err(format!("Failed to create the Lua interpreter: {e}")))?;
            self.engine = Some(e);
        }
        self.engine
            .as_ref()
            .ok_or_else(|| CmdError::err("Lua interpreter unavailable"))
    }

    fn find(&self, name: &str) -> Option<&FnInfo> {
        self.libs
            .values()
            .flat_map(|l| l.functions.iter())
            .find(|f| f.name == name)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

const NAME_RULE: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn new_engine(flags: Arc<RunFlags>) -> mlua::Result<Engine> {
    let vm = Vm::new(flags)?;
    let lua = &vm.lua;
    let pending: Arc<Mutex<Option<Vec<FnInfo>>>> = Arc::default();
    let p = pending.clone();
    let register = lua.create_function(move |_, a: MultiValue| -> mlua::Result<(Value, Option<String>)> {
        let (name, func, flags, description) = match (a.len(), a.front()) {
            (2, Some(Value::String(n))) => match &a[1] {
                Value::Function(f) => (n.to_string_lossy().to_string(), f.clone(), Vec::new(), None),
                _ => return Ok((Value::Nil, Some("ERR callback must be a function".into()))),
            },
            (1, Some(Value::Table(t))) => {
                let mut name = None;
                let mut func = None;
                let mut flags = Vec::new();
                let mut desc = None;
                for (k, v) in t.clone().pairs::<Value, Value>().flatten() {
                    let key = match &k {
                        Value::String(s) => s.to_string_lossy().to_string(),
                        _ => return Ok((Value::Nil, Some("ERR named argument key given to register_function is not a string".into()))),
                    };
                    match (key.as_str(), v) {
                        ("function_name", Value::String(s)) => name = Some(s.to_string_lossy().to_string()),
                        ("function_name", _) => return Ok((Value::Nil, Some("ERR function_name argument given to register_function must be a string".into()))),
                        ("callback", Value::Function(f)) => func = Some(f),
                        ("callback", _) => return Ok((Value::Nil, Some("ERR callback argument given to register_function must be a function".into()))),
                        ("description", Value::String(s)) => desc = Some(s.as_bytes().to_vec()),
                        ("description", _) => return Ok((Value::Nil, Some("ERR description argument given to register_function must be a string".into()))),
                        ("flags", Value::Table(ft)) => {
                            for f in ft.sequence_values::<Value>().flatten() {
                                match f {
                                    Value::String(s) => {
                                        let f = s.to_string_lossy().to_string();
                                        if !matches!(f.as_str(), "no-writes" | "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys") {
                                            return Ok((Value::Nil, Some("ERR unknown flag given".into())));
                                        }
                                        flags.push(f);
                                    }
                                    _ => return Ok((Value::Nil, Some("ERR unknown flag given".into()))),
                                }
                            }
                        }
                        ("flags", _) => return Ok((Value::Nil, Some("ERR flags argument to redis.register_function must be a table representing function flags".into()))),
                        _ => return Ok((Value::Nil, Some("ERR unknown argument given to register_function".into()))),
                    }
                }
                let Some(name) = name else { return Ok((Value::Nil, Some("ERR redis.register_function must get a function name argument".into()))) };
                let Some(func) = func else { return Ok((Value::Nil, Some("ERR redis.register_function must get a callback argument".into()))) };
                (name, func, flags, desc)
            }
            _ => return Ok((Value::Nil, Some("ERR wrong number of arguments to redis.register_function".into()))),
        };
        if !valid_name(&name) {
            return Ok((Value::Nil, Some(format!("ERR {NAME_RULE}"))));
        }
        let mut guard = p.lock();
        let Some(list) = guard.as_mut() else {
            return Ok((Value::Nil, Some("ERR redis.register_function can only be called on FUNCTION LOAD command".into())));
        };
        if list.iter().any(|f| f.name == name) {
            return Ok((Value::Nil, Some("ERR Function already exists in the library".into())));
        }
        let no_writes = flags.iter().any(|f| f == "no-writes");
        list.push(FnInfo {
            name,
            description,
            flags,
            no_writes,
            func,
            speed: std::sync::atomic::AtomicU8::new(super::speed::UNKNOWN),
        });
        Ok((Value::Nil, None))
    })?;
    let register = vm.checked("register_function", register, false)?;
    // What library code may reach while it loads.
    let restricted = lua.create_table()?;
    let rredis = lua.create_table()?;
    rredis.raw_set("register_function", register.clone())?;
    let redis: Table = vm.globals.raw_get("redis")?;
    for k in [
        "log",
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
        "setresp",
    ] {
        rredis.raw_set(k, redis.get::<Value>(k)?)?;
    }
    let missing = lua.load(r#"local error = ... return { __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end }"#)
        .set_name("=quiver")
        .call::<Table>(vm.globals.raw_get::<Function>("error")?)?;
    rredis.set_metatable(Some(missing.clone()));
    restricted.raw_set("redis", rredis)?;
    restricted.set_metatable(Some(missing));
    let make_env: Function = lua.load(ENV_MAKER).set_name("=quiver").call((
        vm.env.clone(),
        restricted,
        vm.globals.raw_get::<Function>("setmetatable")?,
        vm.globals.raw_get::<Function>("error")?,
    ))?;
    // Inside FCALL, register_function says it cannot be used.
    Ok(Engine {
        vm,
        make_env,
        pending,
    })
}

/// Parses `#!lua name=<lib>` and returns the library name.
fn parse_shebang(code: &[u8]) -> Result<String, CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).to_string();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for p in parts {
        match p.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(CmdError::err(format!("Invalid metadata value given: {p}"))),
        }
    }
    let name = name.ok_or_else(|| CmdError::err("Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::err(NAME_RULE));
    }
    Ok(name)
}

/// Compiles and runs a library's code, returning its name and functions
/// (not yet installed).
fn load_library(
    fns: &mut Functions,
    flags: &Arc<RunFlags>,
    code: &[u8],
) -> Result<(String, Library), CmdError> {
    let name = parse_shebang(code)?;
    let engine = fns.engine(flags)?;
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let src = &code[end..];
    let (env, finish): (Table, Function) = engine
        .make_env
        .call(())
        .map_err(|e| CmdError::err(e.to_string()))?;
    let chunk = engine
        .vm
        .lua
        .load(src)
        .set_name("@user_function")
        .set_environment(env)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                CmdError::err(format!("Error compiling function: {message}"))
            }
            other => CmdError::err(format!("Error compiling function: {other}")),
        })?;
    *engine.pending.lock() = Some(Vec::new());
    let res = engine.vm.call_protected(&chunk);
    let registered = engine.pending.lock().take().unwrap_or_default();
    res.map_err(|e| CmdError::err(format!("Error registering functions: {e}")))?;
    if registered.is_empty() {
        return Err(CmdError::err("No functions registered"));
    }
    finish
        .call::<()>(())
        .map_err(|e| CmdError::err(e.to_string()))?;
    Ok((
        name,
        Library {
            code: code.to_vec(),
            functions: registered,
        },
    ))
}

/// Installs a loaded library, refusing name clashes (unless `replace`,
/// which only replaces a library of the same name).
fn install(
    fns: &mut Functions,
    name: String,
    lib: Library,
    replace: bool,
    restoring: bool,
) -> Result<(), CmdError> {
    if fns.libs.contains_key(&name) && !replace {
        // Redis words this differently for LOAD and RESTORE.
        return Err(CmdError::err(if restoring {
            format!("Library {name} already exists")
        } else {
            format!("Library '{name}' already exists")
        }));
    }
    for f in &lib.functions {
        let clash = fns
            .libs
            .iter()
            .filter(|(n, _)| **n != name)
            .any(|(_, l)| l.functions.iter().any(|g| g.name == f.name));
        if clash {
            return Err(CmdError::err(format!("Function {} already exists", f.name)));
        }
    }
    fns.libs.insert(name, lib);
    Ok(())
}

const F: u32 = flag::NOSCRIPT;
/// FUNCTION and FCALL rows: the scripting module's row builder, all since 7.0.0.
const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: crate::spec::Handler,
    summary: &'static str,
) -> CommandSpec {
    super::row(name, arity, flags, handler, "7.0.0", summary)
}

pub static FUNCTION_SUBS: &[CommandSpec] = &[
    row(
        "function|load",
        -3,
        F | flag::WRITE | flag::DENYOOM,
        function_load,
        "Creates a library.",
    ),
    row(
        "function|list",
        -2,
        F,
        function_list,
        "Returns information about all libraries.",
    ),
    row(
        "function|delete",
        3,
        F | flag::WRITE,
        function_delete,
        "Deletes a library and its functions.",
    ),
    row(
        "function|flush",
        -2,
        F | flag::WRITE,
        function_flush,
        "Deletes all libraries and functions.",
    ),
    row(
        "function|dump",
        2,
        F,
        function_dump,
        "Dumps all libraries into a serialized binary payload.",
    ),
    row(
        "function|restore",
        -3,
        F | flag::WRITE | flag::DENYOOM,
        function_restore,
        "Restores all libraries from a payload.",
    ),
    row(
        "function|kill",
        2,
        F | flag::ALLOW_BUSY,
        function_kill,
        "Terminates a function during execution.",
    ),
    row(
        "function|stats",
        2,
        F | flag::ALLOW_BUSY,
        function_stats,
        "Returns information about a function during execution.",
    ),
];

fn function_load(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if eq_ic(args.get(i), "replace") {
            replace = true;
        } else {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(args.get(i))
            )));
        }
        i += 1;
    }
    let code = args.get(args.len() - 1);
    let flags = ctx.server.scripting.flags.clone();
    let mut fns = ctx.server.scripting.functions.lock();
    let (name, lib) = load_library(&mut fns, &flags, code)?;
    install(&mut fns, name.clone(), lib, replace, false)?;
    drop(fns);
    ctx.dirty(1);
    ctx.reply.bulk(name.as_bytes());
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = args.get(i);
        if eq_ic(a, "withcode") {
            if with_code {
                return Err(CmdError::err("Unknown argument withcode"));
            }
            with_code = true;
        } else if eq_ic(a, "libraryname") {
            if pattern.is_some() {
                return Err(CmdError::err(
                    "library name argument was given multiple times",
                ));
            }
            i += 1;
            pattern = Some(
                args.try_get(i)
                    .ok_or_else(|| CmdError::err("library name argument was not given"))?,
            );
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let fns = ctx.server.scripting.functions.lock();
    let libs: Vec<(&String, &Library)> = fns
        .libs
        .iter()
        .filter(|(n, _)| pattern.is_none_or(|p| quiver_engine::glob_match(p, n.as_bytes(), false)))
        .collect();
    let r = &mut *ctx.reply;
    r.array(libs.len());
    for (name, lib) in libs {
        r.map(if with_code { 4 } else { 3 });
        r.bulk(b"library_name");
        r.bulk(name.as_bytes());
        r.bulk(b"engine");
        r.bulk(b"LUA");
        r.bulk(b"functions");
        r.array(lib.functions.len());
        for f in lib.functions.iter().rev() {
            r.map(3);
            r.bulk(b"name");
            r.bulk(f.name.as_bytes());
            r.bulk(b"description");
            match &f.description {
                Some(d) => r.bulk(d),
                None => r.null(),
            }
            r.bulk(b"flags");
            r.set(f.flags.len());
            for fl in &f.flags {
                r.simple(fl);
            }
        }
        if with_code {
            r.bulk(b"library_code");
            r.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_delete(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2)).to_string();
    if ctx
        .server
        .scripting
        .functions
        .lock()
        .libs
        .remove(&name)
        .is_none()
    {
        return Err(CmdError::err("Library not found"));
    }
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    super::flush_mode(&args, "FUNCTION FLUSH only supports SYNC|ASYNC option")?;
    let mut fns = ctx.server.scripting.functions.lock();
    fns.libs.clear();
    fns.engine = None;
    drop(fns);
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}

const DUMP_MAGIC: &[u8] = b"QVFN";
const DUMP_VERSION: u8 = 1;

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn function_dump(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let fns = ctx.server.scripting.functions.lock();
    let mut out = DUMP_MAGIC.to_vec();
    out.push(DUMP_VERSION);
    for lib in fns.libs.values() {
        out.extend_from_slice(&(lib.code.len() as u32).to_le_bytes());
        out.extend_from_slice(&lib.code);
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    drop(fns);
    ctx.reply.bulk(&out);
    Ok(())
}

/// Splits a DUMP payload into library codes, or None if it is not one.
fn parse_dump(p: &[u8]) -> Option<Vec<&[u8]>> {
    if p.len() < DUMP_MAGIC.len() + 1 + 8
        || !p.starts_with(DUMP_MAGIC)
        || p[DUMP_MAGIC.len()] != DUMP_VERSION
    {
        return None;
    }
    let (body, sum) = p.split_at(p.len() - 8);
    if fnv1a(body).to_le_bytes() != sum {
        return None;
    }
    let mut rest = &body[DUMP_MAGIC.len() + 1..];
    let mut libs = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        libs.push(rest.get(4..4 + len)?);
        rest = &rest[4 + len..];
    }
    Some(libs)
}

fn function_restore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy = match args.len() {
        3 => Policy::Append,
        4 if eq_ic(args.get(3), "append") => Policy::Append,
        4 if eq_ic(args.get(3), "replace") => Policy::Replace,
        4 if eq_ic(args.get(3), "flush") => Policy::Flush,
        4 => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
        _ => return Err(CmdError::Syntax),
    };
    let codes = parse_dump(args.get(2))
        .ok_or_else(|| CmdError::err("DUMP payload version or checksum are wrong"))?;
    let flags = ctx.server.scripting.flags.clone();
    let mut fns = ctx.server.scripting.functions.lock();
    // Build into a scratch registry first: a failure leaves the old one.
    let mut loaded = Vec::new();
    for code in codes {
        loaded.push(load_library(&mut fns, &flags, code)?);
    }
    let mut next: BTreeMap<String, Library> = if policy == Policy::Flush {
        BTreeMap::new()
    } else {
        std::mem::take(&mut fns.libs)
    };
    let mut scratch = Functions {
        engine: None,
        libs: std::mem::take(&mut next),
    };
    let mut result = Ok(());
    for (name, lib) in loaded {
        if let Err(e) = install(&mut scratch, name, lib, policy == Policy::Replace, true) {
            result = Err(e);
            break;
        }
    }
    match result {
        Ok(()) => fns.libs = scratch.libs,
        Err(e) => {
            if policy != Policy::Flush {
                // Put back what was there (minus nothing: install failed before inserting).
                fns.libs = scratch.libs;
            }
            return Err(e);
        }
    }
    drop(fns);
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    kill(ctx, true)
}

fn function_stats(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let flags = &ctx.server.scripting.flags;
    let running = flags.started_ms.load(std::sync::atomic::Ordering::Acquire);
    let is_fn = flags.is_function.load(std::sync::atomic::Ordering::Relaxed);
    // While a function runs its mutex is held: report counts only if free.
    let counts = ctx
        .server
        .scripting
        .functions
        .try_lock()
        .map(|f| f.counts())
        .unwrap_or((0, 0));
    let r = &mut *ctx.reply;
    r.map(2);
    r.bulk(b"running_script");
    if running != 0 && is_fn {
        r.map(3);
        r.bulk(b"name");
        r.bulk(b"?");
        r.bulk(b"command");
        r.array(0);
        r.bulk(b"duration_ms");
        r.int(quiver_engine::now_ms().saturating_sub(running) as i64);
    } else {
        r.null();
    }
    r.bulk(b"engines");
    r.map(1);
    r.bulk(b"LUA");
    r.map(2);
    r.bulk(b"libraries_count");
    r.int(counts.0 as i64);
    r.bulk(b"functions_count");
    r.int(counts.1 as i64);
    Ok(())
}

pub(super) fn fcall(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, false)
}

pub(super) fn fcall_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx<'_>, args: Args<'_>, ro: bool) -> CmdResult {
    let name = std::str::from_utf8(args.get(1)).unwrap_or("");
    let (no_writes, speed) = {
        let fns = ctx.server.scripting.functions.lock();
        let f = fns
            .find(name)
            .ok_or_else(|| CmdError::err("Function not found"))?;
        (f.no_writes, f.speed.load(Ordering::Relaxed))
    };
    if parse_i64(args.get(2)).is_err() {
        return Err(CmdError::err("Bad number of keys provided"));
    }
    let n = num_keys(&args)?;
    if ro && !no_writes {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    let (keys, argv) = key_views(&args, n);
    let target = TargetRef::Function(name);
    if can_defer(ctx) && !super::speed::inline(speed) {
        defer(ctx, target, keys, argv, no_writes, true);
    } else {
        run_inline(ctx, target, keys, argv, no_writes, true);
    }
    Ok(())
}

/// Runs function `name` once and records its speed.
pub(super) fn run(
    server: &ServerState,
    name: &str,
    keys: ArgRef<'_>,
    argv: ArgRef<'_>,
    read_only: bool,
    session: &mut Session,
    reply: &mut ReplyBuf,
) -> Ran {
    let flags = &server.scripting.flags;
    let fns = server.scripting.functions.lock();
    let (Some(engine), Some(f)) = (fns.engine.as_ref(), fns.find(name)) else {
        reply.error("ERR Function not found");
        return Ran::Done;
    };
    let spec = RunSpec {
        name,
        read_only,
        is_function: true,
    };
    let ran = engine
        .vm
        .run(server, session, flags, &f.func, keys, argv, &spec, reply);
    let before = f.speed.load(Ordering::Relaxed);
    f.speed
        .store(super::speed_of(flags, ran, before), Ordering::Relaxed);
    ran
}
