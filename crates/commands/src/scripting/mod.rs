//! Lua scripting: EVAL/EVALSHA(_RO), SCRIPT, and (in [`functions`])
//! FUNCTION/FCALL, on a real Lua 5.1 interpreter (`mlua`, vendored).
//!
//! ## Execution model
//! A script must be atomic, yet other clients must get `-BUSY` (and SCRIPT
//! KILL must get through) while a slow one runs. Connections run on
//! current-thread runtimes, so a *slow* script running on its caller's I/O
//! thread would freeze every client of that thread — but handing every run
//! to another thread costs two context switches per call, which made a
//! short EVALSHA ~6x dearer than in Redis. So runs are split by speed:
//!
//! * Every cached script and every function remembers how long its last
//!   run took ([`speed`]): `FAST` if under [`INLINE_BUDGET_US`] (1 ms); a
//!   fast script stays inline through one overrun (wall time: the thread
//!   may simply have been preempted) and is deferred after two in a row.
//! * A `FAST` script runs **inline**, on the connection's thread, inside
//!   the EVAL handler (`run_inline`). The busy marker is still set
//!   (plain atomic stores, no lock or allocation) so that connections on
//!   other I/O threads wait for it.
//! * Anything else — first runs, scripts slow last time — is **deferred**:
//!   the handler marks the server busy ([`RunFlags::started_ms`]) and hands
//!   a [`Job`] to the connection (`Session::script_job`), which runs it on
//!   a blocking-pool thread ([`run_deferred`]) and awaits the reply before
//!   reading on. Meanwhile every connection checks the busy marker before
//!   executing a command ([`gate`]: one atomic load when idle): it waits
//!   until the script ends (atomicity: it then runs after the script) or,
//!   once the script is older than `busy-reply-threshold` (a `config.hot`
//!   atomic), gets `-BUSY` — unless the command is flagged `allow_busy`
//!   (SCRIPT KILL, FUNCTION KILL, SHUTDOWN, …), which runs.
//! * A `FAST` script can turn slow (data-dependent loops). The instruction
//!   hook (every 10k instructions) stops an inline run that has used up its
//!   budget **if it has done nothing observable yet** — no `redis.call`
//!   ([`RunFlags::touched`]); `math.random`'s state is saved and restored —
//!   and the run restarts from scratch on the script thread ([`Ran::Moved`]),
//!   where -BUSY and SCRIPT KILL reach it. Nobody can tell the difference:
//!   the restart is the same pure computation, just later.
//! * The hook also checks the kill flag, as before.
//!
//! **Limitation.** An inline run that already called `redis.call` cannot be
//! restarted, so if it then runs long it finishes inline: clients on the
//! same I/O thread (with the default `io-threads 1`, every client) wait
//! for it without a -BUSY reply and cannot SCRIPT KILL it; clients of other
//! I/O threads get -BUSY past the threshold as usual and can kill it (if it
//! has not written). Its next run is then deferred (it counts as slow).
//! Redis instead serves other clients from inside the hook; a tokio
//! current-thread runtime cannot be re-entered that way. `redis.log` lines
//! written before a restart are written again by the restarted run.
//!
//! Inside MULTI/EXEC, with CLIENT REPLY OFF/SKIP, and for in-process callers
//! such as unit tests, every script runs inline (not movable): EXEC is
//! already one synchronous step there.
//!
//! Known gap: with several I/O threads, a command that passed the gate on
//! another thread just before the marker was set may still be executing
//! when the script starts (one command's worth of overlap).
//!
//! Per run, the interpreter does no GC work of its own (a full collection
//! was ~8% of a short run, explicit steps ~10%): Lua's incremental collector
//! runs as the run allocates. KEYS/ARGV are built straight from the
//! request's argument views (no owned copies) on inline runs.
//!
//! `redis.call` goes through [`crate::dispatch::call`] with a script
//! session (the caller's db and user, blocking commands non-blocking), so
//! stats, key-change events and (later) ACL checks happen in one place.

pub mod calls;
pub mod cargs;
pub mod convert;
pub mod functions;
pub mod libs;
pub mod lua_vm;
pub mod msgpack;
pub mod protect;
pub mod redis_lib;
pub mod sha1;
pub mod structlib;

use crate::context::{Ctx, Session};
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::state::ServerState;
use crate::util::{eq_ic, parse_i64};
use hashbrown::HashMap;
use lua_vm::{RunSpec, Vm};
use mlua::Function;
use parking_lot::Mutex;
use quiver_resp::{Args, Proto, ReplyBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long (µs) a script may run inline on a connection's thread before
/// it counts as slow: slow scripts run on the script thread, where SCRIPT
/// KILL and `-BUSY` can reach them (see the module docs).
pub const INLINE_BUDGET_US: u64 = 1000;

/// Microseconds on a monotonic clock private to this process.
#[inline]
pub fn mono_us() -> u64 {
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(std::time::Instant::now)
        .elapsed()
        .as_micros() as u64
}

/// What the server remembers about how long a script's last run took, per
/// cached EVAL script and per function (an `AtomicU8` so that it can be
/// updated while the interpreter borrows the entry).
pub mod speed {
    /// Never ran (or only inside EXEC): run it on the script thread.
    pub const UNKNOWN: u8 = 0;
    /// The last run finished within [`super::INLINE_BUDGET_US`]: run inline.
    pub const FAST: u8 = 1;
    /// The last run took longer: run it on the script thread.
    pub const SLOW: u8 = 2;
    /// Fast until its last run, which overran the budget once: still run
    /// inline. A single overrun of a script that is normally fast is
    /// usually the I/O thread being preempted mid-run (the clock is wall
    /// time); deferring on it cost every following call a thread hand-off
    /// until the next fast run re-earned `FAST`. A second overrun in a row
    /// makes it `SLOW`.
    pub const FAST_OVERRAN: u8 = 3;

    /// Whether a script with this speed runs inline.
    pub fn inline(speed: u8) -> bool {
        speed == FAST || speed == FAST_OVERRAN
    }
}

/// The state of the script currently running, shared with the VM hook and
/// with every connection's gate.
#[derive(Default)]
pub struct RunFlags {
    /// Unix ms the running script started at; 0 when none runs.
    pub started_ms: AtomicU64,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    pub kill: AtomicBool,
    /// The running script has called a write command (then it cannot be
    /// killed without losing atomicity).
    pub wrote: AtomicBool,
    /// The running script is a function (FCALL), not an EVAL script.
    pub is_function: AtomicBool,
    /// The run executes inline on a connection's thread and may still be
    /// restarted on the script thread (nothing observable happened yet).
    pub movable: AtomicBool,
    /// [`mono_us`] when the current run started (the hook's budget clock).
    pub run_start_us: AtomicU64,
    /// The run did something a restart would repeat visibly (`redis.call`).
    pub touched: AtomicBool,
    /// The hook stopped a movable inline run that outgrew its budget: the
    /// caller discards its result and runs it again on the script thread.
    pub moved: AtomicBool,
    /// Woken when a script ends.
    pub done: tokio::sync::Notify,
}

impl RunFlags {
    /// Marks a script as running. Plain atomic stores (no lock, no
    /// allocation): inline runs pay this on every call.
    fn begin(&self, is_function: bool, movable: bool) {
        self.kill.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.touched.store(false, Ordering::Relaxed);
        self.moved.store(false, Ordering::Relaxed);
        self.movable.store(movable, Ordering::Relaxed);
        self.is_function.store(is_function, Ordering::Relaxed);
        self.run_start_us.store(mono_us(), Ordering::Relaxed);
        self.started_ms
            .store(quiver_engine::now_ms().max(1), Ordering::Release);
    }

    fn end(&self) {
        self.movable.store(false, Ordering::Relaxed);
        self.started_ms.store(0, Ordering::Release);
        self.kill.store(false, Ordering::Release);
        self.done.notify_waiters();
    }
}

/// Whether a run finished or was stopped to be restarted off-thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ran {
    Done,
    Moved,
}

/// KEYS or ARGV of a run without copying: owned (a deferred [`Job`]) or a
/// range of the request's own arguments (inline runs).
#[derive(Clone, Copy)]
pub enum ArgRef<'a> {
    Owned(&'a [Vec<u8>]),
    View(Args<'a>, usize, usize),
}

impl<'a> ArgRef<'a> {
    pub fn len(&self) -> usize {
        match self {
            ArgRef::Owned(v) => v.len(),
            ArgRef::View(_, from, to) => to - from,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: usize) -> &[u8] {
        match self {
            ArgRef::Owned(v) => &v[i],
            ArgRef::View(a, from, _) => a.get(from + i),
        }
    }
    fn to_owned_list(self) -> ArgList {
        (0..self.len()).map(|i| self.get(i).to_vec()).collect()
    }
}

/// A cached EVAL script.
struct Cached {
    func: Function,
    /// The shebang declared `no-writes` (parsed once, at load).
    no_writes: bool,
    /// A [`speed`] value.
    speed: AtomicU8,
}

/// The EVAL interpreter and its script cache.
pub struct EvalEngine {
    vm: Vm,
    cache: HashMap<[u8; 40], Cached>,
}

/// Server-wide scripting state (lives in `ServerState`).
#[derive(Default)]
pub struct Scripting {
    pub flags: Arc<RunFlags>,
    /// Created on first use: most servers never run a script.
    eval: Mutex<Option<EvalEngine>>,
    pub functions: Mutex<functions::Functions>,
    /// Bytes of cached script bodies (INFO `used_memory_scripts_eval`).
    pub cached_bytes: AtomicU64,
    pub cached_count: AtomicU64,
}

impl Scripting {
    /// True while a script runs (a single atomic load: the connection's
    /// fast path).
    #[inline]
    pub fn busy(&self) -> bool {
        self.flags.started_ms.load(Ordering::Acquire) != 0
    }

    fn with_eval<R>(&self, f: impl FnOnce(&mut EvalEngine) -> R) -> Result<R, CmdError> {
        let mut guard = self.eval.lock();
        if guard.is_none() {
            let vm = Vm::new(self.flags.clone())
                .map_err(|e| CmdError::err(format!("Failed to create the Lua interpreter: {e}")))?;
            *guard = Some(EvalEngine {
                vm,
                cache: HashMap::new(),
            });
        }
        match guard.as_mut() {
            Some(engine) => Ok(f(engine)),
            None => Err(CmdError::err("Lua interpreter unavailable")),
        }
    }

    /// Memory the EVAL interpreter uses (INFO `used_memory_lua`).
    pub fn lua_memory(&self) -> usize {
        match self.eval.try_lock() {
            Some(g) => g.as_ref().map(|e| e.vm.lua.used_memory()).unwrap_or(0),
            None => 0,
        }
    }

    /// The numbers INFO memory reports about scripting.
    pub fn memory_stats(&self) -> ScriptMemory {
        // A running function holds this lock: report zeros rather than wait.
        let (functions, libraries, function_bytes, vm_functions) = match self.functions.try_lock() {
            Some(f) => {
                let (libs, fns) = f.counts();
                (fns, libs, f.code_bytes(), f.vm_memory())
            }
            None => (0, 0, 0, 0),
        };
        ScriptMemory {
            vm_eval: self.lua_memory() as u64,
            vm_functions: vm_functions as u64,
            scripts_eval: self.cached_bytes.load(Ordering::Relaxed),
            cached_scripts: self.cached_count.load(Ordering::Relaxed),
            functions: functions as u64,
            libraries: libraries as u64,
            functions_bytes: function_bytes as u64,
        }
    }

    /// Empties the script cache (SCRIPT FLUSH) and starts a fresh VM.
    pub fn flush_scripts(&self) {
        *self.eval.lock() = None;
        self.cached_bytes.store(0, Ordering::Relaxed);
        self.cached_count.store(0, Ordering::Relaxed);
    }
}

/// INFO's scripting memory fields.
pub struct ScriptMemory {
    pub vm_eval: u64,
    pub vm_functions: u64,
    pub scripts_eval: u64,
    pub cached_scripts: u64,
    pub functions: u64,
    pub libraries: u64,
    pub functions_bytes: u64,
}

/// What runs: an EVAL script by sha, or a function by name.
pub enum Target {
    Script([u8; 40]),
    Function(String),
}

/// One script run, ready to execute on any thread.
pub struct Job {
    target: Target,
    keys: Vec<Vec<u8>>,
    argv: Vec<Vec<u8>>,
    read_only: bool,
    session: Session,
    proto: Proto,
}

const SCRIPT_FLAGS: u32 =
    flag::NOSCRIPT | flag::SKIP_MONITOR | flag::NO_MANDATORY_KEYS | flag::MOVABLE_KEYS;

/// A scripting command row (EVAL family here, FUNCTION/FCALL in `functions`).
pub(super) const fn row(
    name: &'static str,
    arity: i32,
    flags: u32,
    handler: crate::spec::Handler,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec {
        since,
        summary,
        ..CommandSpec::new(
            name,
            arity,
            flags,
            NO_KEYS,
            acl::SCRIPTING | acl::SLOW,
            "scripting",
            handler,
        )
    }
}

pub static COMMANDS: &[CommandSpec] = &[
    row(
        "eval",
        -3,
        SCRIPT_FLAGS | flag::STALE,
        eval,
        "2.6.0",
        "Executes a server-side Lua script.",
    ),
    row(
        "evalsha",
        -3,
        SCRIPT_FLAGS | flag::STALE,
        evalsha,
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
    ),
    row(
        "eval_ro",
        -3,
        SCRIPT_FLAGS | flag::STALE | flag::READONLY,
        eval_ro,
        "7.0.0",
        "Executes a read-only server-side Lua script.",
    ),
    row(
        "evalsha_ro",
        -3,
        SCRIPT_FLAGS | flag::STALE | flag::READONLY,
        evalsha_ro,
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
    ),
    CommandSpec {
        subcommands: SCRIPT_SUBS,
        ..row(
            "script",
            -2,
            0,
            crate::server::container,
            "2.6.0",
            "A container for Lua scripts management commands.",
        )
    },
    row(
        "fcall",
        -3,
        SCRIPT_FLAGS | flag::STALE,
        functions::fcall,
        "7.0.0",
        "Invokes a function.",
    ),
    row(
        "fcall_ro",
        -3,
        SCRIPT_FLAGS | flag::STALE | flag::READONLY,
        functions::fcall_ro,
        "7.0.0",
        "Invokes a read-only function.",
    ),
    CommandSpec {
        subcommands: functions::FUNCTION_SUBS,
        ..row(
            "function",
            -2,
            0,
            crate::server::container,
            "7.0.0",
            "A container for function commands.",
        )
    },
];

static SCRIPT_SUBS: &[CommandSpec] = &[
    row(
        "script|exists",
        -3,
        flag::NOSCRIPT,
        script_exists,
        "2.6.0",
        "Determines whether server-side Lua scripts exist in the script cache.",
    ),
    row(
        "script|flush",
        -2,
        flag::NOSCRIPT,
        script_flush,
        "2.6.0",
        "Removes all server-side Lua scripts from the script cache.",
    ),
    row(
        "script|kill",
        2,
        flag::NOSCRIPT | flag::ALLOW_BUSY,
        script_kill,
        "2.6.0",
        "Terminates a server-side Lua script during execution.",
    ),
    row(
        "script|load",
        3,
        flag::NOSCRIPT | flag::STALE,
        script_load,
        "2.6.0",
        "Loads a server-side Lua script to the script cache.",
    ),
    row(
        "script|help",
        2,
        flag::LOADING | flag::STALE,
        script_help,
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// Owned arguments (KEYS or ARGV of a run).
pub type ArgList = Vec<Vec<u8>>;

/// Parses `numkeys` (argument 2) and checks it against the argument count:
/// KEYS are arguments `3..3+n`, ARGV the rest.
pub fn num_keys(args: &Args<'_>) -> Result<usize, CmdError> {
    let n = parse_i64(args.get(2)).map_err(|_| CmdError::NotInteger)?;
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    if n as u64 > (args.len() - 3) as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    Ok(n as usize)
}

/// KEYS and ARGV of a request as views into it (no copy).
pub fn key_views<'a>(args: &Args<'a>, n: usize) -> (ArgRef<'a>, ArgRef<'a>) {
    (
        ArgRef::View(*args, 3, 3 + n),
        ArgRef::View(*args, 3 + n, args.len()),
    )
}

/// Parses `numkeys` and splits the rest into owned KEYS and ARGV.
pub fn split_keys(args: &Args<'_>) -> Result<(ArgList, ArgList), CmdError> {
    let n = num_keys(args)?;
    let (k, a) = key_views(args, n);
    Ok((k.to_owned_list(), a.to_owned_list()))
}

/// The session `redis.call` runs commands in: the caller's db and user,
/// its own SELECT (which must not leak back to the caller), and blocking
/// commands served as if their timeout had expired.
fn script_session(ctx: &Ctx<'_>) -> Session {
    let mut s = Session::new(ctx.session.handle.clone(), true);
    s.db = ctx.session.db;
    s.user = ctx.session.user.clone();
    s.in_exec = true;
    s.from_script = true;
    s.acl_user = ctx.session.acl_user.clone();
    s.acl_epoch = ctx.session.acl_epoch;
    s.acl_unrestricted = ctx.session.acl_unrestricted;
    s
}

/// Validates the shebang line of an EVAL body. Redis 7.0 accepts
/// `#!lua` with `flags=…`; anything else starting with `#!` is invalid.
/// Returns whether the script declared `no-writes`.
fn eval_shebang(body: &[u8]) -> Result<bool, CmdError> {
    if !body.starts_with(b"#!") {
        return Ok(false);
    }
    let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..line_end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    if parts.next() != Some("#!lua") {
        let engine = line.split(' ').next().unwrap_or("");
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut no_writes = false;
    for p in parts {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {p}")));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => {
                    return Err(CmdError::err(format!(
                        "Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    Ok(no_writes)
}

/// Compiles `body` into the cache (if new) and returns its sha.
fn load_script(server: &ServerState, body: &[u8]) -> Result<[u8; 40], CmdError> {
    let sha = sha1::sha1_hex(body);
    server.scripting.with_eval(|e| {
        if e.cache.contains_key(&sha) {
            return Ok(sha);
        }
        // A shebang line is not Lua: blank it out but keep the line count.
        let src: Vec<u8> = if body.starts_with(b"#!") {
            let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            body[end..].to_vec()
        } else {
            body.to_vec()
        };
        let func = e
            .vm
            .compile(&src, "@user_script")
            .map_err(|m| CmdError::err(format!("Error compiling script (new function): {m}")))?;
        server
            .scripting
            .cached_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        server
            .scripting
            .cached_count
            .fetch_add(1, Ordering::Relaxed);
        e.cache.insert(
            sha,
            Cached {
                func,
                no_writes: eval_shebang(body).unwrap_or(false),
                speed: AtomicU8::new(speed::UNKNOWN),
            },
        );
        Ok(sha)
    })?
}

fn eval(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, false)
}
fn evalsha(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, false)
}
fn eval_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, false, true)
}
fn evalsha_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

fn eval_generic(ctx: &mut Ctx<'_>, args: Args<'_>, by_sha: bool, read_only: bool) -> CmdResult {
    let n = num_keys(&args)?;
    let noscript = || CmdError::Raw("NOSCRIPT No matching script. Please use EVAL.".into());
    let sha = if by_sha {
        let given = args.get(1);
        if given.len() != 40 {
            return Err(noscript());
        }
        let mut sha = [0u8; 40];
        for (d, s) in sha.iter_mut().zip(given) {
            *d = s.to_ascii_lowercase();
        }
        sha
    } else {
        eval_shebang(args.get(1))?;
        load_script(ctx.server, args.get(1))?
    };
    // One lock for the lookup: is it cached, its no-writes flag, its speed.
    let found = ctx.server.scripting.with_eval(|e| {
        e.cache
            .get(&sha)
            .map(|c| (c.no_writes, c.speed.load(Ordering::Relaxed)))
    })?;
    let Some((no_writes, speed)) = found else {
        return Err(noscript());
    };
    let read_only = read_only || no_writes;
    let (keys, argv) = key_views(&args, n);
    let target = TargetRef::Script(&sha);
    if can_defer(ctx) && !speed::inline(speed) {
        defer(ctx, target, keys, argv, read_only, false);
        return Ok(());
    }
    run_inline(ctx, target, keys, argv, read_only, false);
    Ok(())
}

/// What runs, borrowed.
#[derive(Clone, Copy)]
pub enum TargetRef<'a> {
    Script(&'a [u8; 40]),
    Function(&'a str),
}

impl TargetRef<'_> {
    fn to_owned(self) -> Target {
        match self {
            TargetRef::Script(sha) => Target::Script(*sha),
            TargetRef::Function(name) => Target::Function(name.to_string()),
        }
    }
}

/// True when the caller is a connection that can run a script off its
/// thread: not inside EXEC (already one synchronous step) and not with
/// CLIENT REPLY OFF/SKIP (the deferred reply path assumes replies on).
fn can_defer(ctx: &Ctx<'_>) -> bool {
    ctx.session.defer_scripts
        && !ctx.session.in_exec
        && ctx.session.reply_mode == crate::context::ReplyMode::On
}

/// Marks the server busy and hands the run to the connection, which runs
/// it on the script thread ([`run_deferred`]) before reading on.
fn defer(
    ctx: &mut Ctx<'_>,
    target: TargetRef<'_>,
    keys: ArgRef<'_>,
    argv: ArgRef<'_>,
    read_only: bool,
    is_function: bool,
) {
    ctx.server.scripting.flags.begin(is_function, false);
    ctx.session.script_job = Some(Box::new(Job {
        target: target.to_owned(),
        keys: keys.to_owned_list(),
        argv: argv.to_owned_list(),
        read_only,
        session: script_session(ctx),
        proto: ctx.reply.proto,
    }));
}

/// Runs a script on the caller's thread. From a connection the run is
/// movable: if it outgrows [`INLINE_BUDGET_US`] before doing anything
/// observable, the hook stops it and it is deferred (restarted on the
/// script thread) instead.
pub(crate) fn run_inline(
    ctx: &mut Ctx<'_>,
    target: TargetRef<'_>,
    keys: ArgRef<'_>,
    argv: ArgRef<'_>,
    read_only: bool,
    is_function: bool,
) {
    let movable = can_defer(ctx);
    let mut session = script_session(ctx);
    let server = ctx.server;
    let flags = &server.scripting.flags;
    flags.begin(is_function, movable);
    let ran = run_target(
        server,
        target,
        keys,
        argv,
        read_only,
        &mut session,
        ctx.reply,
    );
    match ran {
        Ran::Done => flags.end(),
        Ran::Moved => {
            // Nothing observable happened: start over on the script thread
            // (the busy marker is set again there).
            flags.end();
            defer(ctx, target, keys, argv, read_only, is_function);
        }
    }
}

/// Runs `target` once and records how long it took in its [`speed`].
fn run_target(
    server: &ServerState,
    target: TargetRef<'_>,
    keys: ArgRef<'_>,
    argv: ArgRef<'_>,
    read_only: bool,
    session: &mut Session,
    reply: &mut ReplyBuf,
) -> Ran {
    let flags = &server.scripting.flags;
    match target {
        TargetRef::Script(sha) => {
            let res = server.scripting.with_eval(|e| {
                let c = e.cache.get(sha)?;
                let mut name = [0u8; 40];
                name.copy_from_slice(sha);
                let name = std::str::from_utf8(&name).unwrap_or("?");
                let spec = RunSpec {
                    name,
                    read_only,
                    is_function: false,
                };
                let ran =
                    e.vm.run(server, session, flags, &c.func, keys, argv, &spec, reply);
                let before = c.speed.load(Ordering::Relaxed);
                c.speed
                    .store(speed_of(flags, ran, before), Ordering::Relaxed);
                Some(ran)
            });
            match res {
                Ok(Some(ran)) => ran,
                // SCRIPT FLUSH raced with a deferred run.
                Ok(None) => {
                    reply.error("NOSCRIPT No matching script. Please use EVAL.");
                    Ran::Done
                }
                Err(e) => {
                    reply.error(&e.to_string());
                    Ran::Done
                }
            }
        }
        TargetRef::Function(name) => {
            functions::run(server, name, keys, argv, read_only, session, reply)
        }
    }
}

/// The [`speed`] a run that just ended earns its script, given the speed
/// it had before.
fn speed_of(flags: &RunFlags, ran: Ran, before: u8) -> u8 {
    let took = mono_us().saturating_sub(flags.run_start_us.load(Ordering::Relaxed));
    speed_after(took, ran, before)
}

/// [`speed_of`] for a run that took `took` µs.
fn speed_after(took: u64, ran: Ran, before: u8) -> u8 {
    match ran {
        // The hook stopped it: provably long in Lua itself.
        Ran::Moved => speed::SLOW,
        Ran::Done if took < INLINE_BUDGET_US => speed::FAST,
        Ran::Done if before == speed::FAST => speed::FAST_OVERRAN,
        Ran::Done => speed::SLOW,
    }
}

/// Executes a deferred job and clears the busy marker, whatever happens.
pub fn run_job(server: &ServerState, mut job: Job, reply: &mut ReplyBuf) {
    struct EndGuard<'a>(&'a RunFlags);
    impl Drop for EndGuard<'_> {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    let flags = &server.scripting.flags;
    let _end = EndGuard(flags);
    // Restart the clock: the busy threshold and the speed measure this run.
    flags.begin(matches!(job.target, Target::Function(_)), false);
    let target = match &job.target {
        Target::Script(sha) => TargetRef::Script(sha),
        Target::Function(name) => TargetRef::Function(name),
    };
    run_target(
        server,
        target,
        ArgRef::Owned(&job.keys),
        ArgRef::Owned(&job.argv),
        job.read_only,
        &mut job.session,
        reply,
    );
}

/// Runs a deferred job on the blocking pool; the caller's connection awaits
/// this before reading its next command.
pub async fn run_deferred(state: Arc<ServerState>, reply: &mut ReplyBuf, job: Job) {
    let proto = job.proto;
    let st = state.clone();
    let res = tokio::task::spawn_blocking(move || {
        let mut out = ReplyBuf::new(proto);
        run_job(&st, job, &mut out);
        out.out
    })
    .await;
    match res {
        Ok(bytes) => reply.raw(&bytes),
        Err(_) => {
            state.scripting.flags.end();
            reply.error("ERR script execution failed");
        }
    }
}

/// The BUSY gate: holds a command while a script runs. Returns the error to
/// reply with when the script has run past `busy-reply-threshold` and the
/// command may not run meanwhile.
pub async fn gate(state: &ServerState, args: &Args<'_>) -> Result<(), CmdError> {
    let flags = &state.scripting.flags;
    loop {
        let notified = flags.done.notified();
        let started = flags.started_ms.load(Ordering::Acquire);
        if started == 0 {
            return Ok(());
        }
        let threshold = state
            .config
            .hot
            .busy_reply_threshold
            .load(Ordering::Relaxed);
        let now = quiver_engine::now_ms();
        if now >= started + threshold {
            let allowed = crate::dispatch::resolve(args)
                .map(|e| e.spec.has(flag::ALLOW_BUSY))
                .unwrap_or(false);
            if allowed {
                // SHUTDOWN (NOSAVE) must not wait for the script: stop it.
                if eq_ic(args.get(0), "shutdown") {
                    flags.kill.store(true, Ordering::Release);
                }
                return Ok(());
            }
            let what = if flags.is_function.load(Ordering::Relaxed) {
                "FUNCTION"
            } else {
                "SCRIPT"
            };
            return Err(CmdError::Raw(format!(
                "BUSY Redis is busy running a script. You can only call {what} KILL or SHUTDOWN NOSAVE."
            )));
        }
        let wait = Duration::from_millis((started + threshold - now).clamp(1, 100));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = notified => {}
        }
    }
}

/// SCRIPT KILL and FUNCTION KILL.
pub(crate) fn kill(ctx: &mut Ctx<'_>, function: bool) -> CmdResult {
    let flags = &ctx.server.scripting.flags;
    if flags.started_ms.load(Ordering::Acquire) == 0 {
        return Err(CmdError::Raw(
            "NOTBUSY No scripts in execution right now.".into(),
        ));
    }
    if flags.is_function.load(Ordering::Relaxed) != function {
        // The other kind of script runs: Redis names the command to use.
        let what = if function { "SCRIPT" } else { "FUNCTION" };
        return Err(CmdError::Raw(format!(
            "BUSY Redis is busy running a script. You can only call {what} KILL or SHUTDOWN NOSAVE."
        )));
    }
    if flags.wrote.load(Ordering::Acquire) {
        return Err(CmdError::Raw("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into()));
    }
    flags.kill.store(true, Ordering::Release);
    ctx.reply.ok();
    Ok(())
}

fn script_kill(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    kill(ctx, false)
}

fn script_load(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let body = args.get(2);
    eval_shebang(body)?;
    let sha = load_script(ctx.server, body)?;
    ctx.reply.bulk(&sha);
    Ok(())
}

fn script_exists(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let shas: Vec<Option<[u8; 40]>> = args
        .iter()
        .skip(2)
        .map(|a| {
            (a.len() == 40).then(|| {
                let mut s = [0u8; 40];
                for (d, c) in s.iter_mut().zip(a) {
                    *d = c.to_ascii_lowercase();
                }
                s
            })
        })
        .collect();
    let found: Vec<bool> = ctx.server.scripting.with_eval(|e| {
        shas.iter()
            .map(|s| s.is_some_and(|s| e.cache.contains_key(&s)))
            .collect()
    })?;
    ctx.reply.array(found.len());
    for f in found {
        ctx.reply.int(f as i64);
    }
    Ok(())
}

/// Parses the optional ASYNC|SYNC of SCRIPT FLUSH / FUNCTION FLUSH.
pub(crate) fn flush_mode(args: &Args<'_>, err: &str) -> CmdResult {
    match args.len() {
        2 => Ok(()),
        3 if eq_ic(args.get(2), "async") || eq_ic(args.get(2), "sync") => Ok(()),
        _ => Err(CmdError::err(err.to_string())),
    }
}

fn script_flush(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    flush_mode(&args, "SCRIPT FLUSH only support SYNC|ASYNC option")?;
    ctx.server.scripting.flush_scripts();
    ctx.reply.ok();
    Ok(())
}

fn script_help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply.array(LINES.len());
    for l in LINES {
        ctx.reply.simple(l);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_overrun_keeps_a_fast_script_inline_two_defer_it() {
        let quick = INLINE_BUDGET_US / 10;
        let over = INLINE_BUDGET_US * 5;
        assert_eq!(speed_after(quick, Ran::Done, speed::UNKNOWN), speed::FAST);
        let once = speed_after(over, Ran::Done, speed::FAST);
        assert_eq!(once, speed::FAST_OVERRAN);
        assert!(speed::inline(once));
        let twice = speed_after(over, Ran::Done, once);
        assert_eq!(twice, speed::SLOW);
        assert!(!speed::inline(twice));
        // A fast run clears the strike; a first run that overran, or one the
        // hook moved, is slow straight away.
        assert_eq!(speed_after(quick, Ran::Done, once), speed::FAST);
        assert_eq!(speed_after(over, Ran::Done, speed::UNKNOWN), speed::SLOW);
        assert_eq!(speed_after(quick, Ran::Moved, speed::FAST), speed::SLOW);
    }
}
