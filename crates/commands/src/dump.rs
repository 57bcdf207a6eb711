//! DUMP and RESTORE: a key's value as Redis's serialised payload and back
//! (the format lives in `quiver_engine::rdb`). Payloads move between
//! Quiver and Redis in both directions, which is what migration tools
//! built on DUMP/RESTORE rely on.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, KEY1};
use crate::util::{eq_ic, parse_i64};
use quiver_engine::rdb::{self, RdbError};
use quiver_engine::{Entry, Value};
use quiver_resp::Args;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Return a serialized version of the value stored at the specified key.",
        since: "2.6.0",
        ..CommandSpec::new(
            "dump",
            2,
            flag::READONLY,
            KEY1,
            acl::KEYSPACE,
            "generic",
            dump,
        )
    },
    CommandSpec {
        summary:
            "Create a key using the provided serialized value, previously obtained using DUMP.",
        since: "2.6.0",
        ..CommandSpec::new(
            "restore",
            -4,
            flag::WRITE | flag::DENYOOM,
            KEY1,
            acl::KEYSPACE | acl::DANGEROUS,
            "generic",
            restore,
        )
    },
];

fn dump(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let now = view.now;
    let payload = match view.get_mut(key) {
        Some(e) => {
            // Fields past their TTL are not part of the value any more.
            if let Value::Hash(h) = &mut e.value {
                h.purge_expired(now);
            }
            match &e.value {
                Value::Hash(h) if h.is_empty() => None,
                v => Some(rdb::dump(v)),
            }
        }
        None => None,
    };
    drop(view);
    ctx.server.keyspace.hit(payload.is_some());
    match payload {
        None => ctx.reply.null(),
        Some(Ok(p)) => ctx.reply.bulk(&p),
        Some(Err(RdbError::Json)) => {
            return Err(CmdError::err(
                "DUMP of JSON values is not supported by this server",
            ))
        }
        Some(Err(e)) => return Err(CmdError::err(e.to_string())),
    }
    Ok(())
}

/// What RESTORE's options ask for beyond the value itself.
#[derive(Default)]
struct Options {
    replace: bool,
    absttl: bool,
    idle_secs: Option<i64>,
    freq: Option<u8>,
}

/// Options are checked first, then whether the key exists, then the TTL,
/// then the payload — Redis's order, which decides which error a command
/// with several problems gets.
fn parse_options(args: &Args<'_>) -> Result<Options, CmdError> {
    let mut o = Options::default();
    let mut i = 4;
    while i < args.len() {
        let opt = args.get(i);
        let has_value = i + 1 < args.len();
        if eq_ic(opt, "replace") {
            o.replace = true;
        } else if eq_ic(opt, "absttl") {
            o.absttl = true;
        } else if eq_ic(opt, "idletime") && has_value && o.freq.is_none() {
            let idle = parse_i64(args.get(i + 1))?;
            if idle < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            o.idle_secs = Some(idle);
            i += 1;
        } else if eq_ic(opt, "freq") && has_value && o.idle_secs.is_none() {
            let freq = parse_i64(args.get(i + 1))?;
            o.freq = Some(
                u8::try_from(freq)
                    .map_err(|_| CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"))?,
            );
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn restore(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let opts = parse_options(&args)?;
    let key = args.get(1);
    let limits = ctx.limits();
    let lfu = ctx.server.config.hot.lfu.enabled();
    let mut view = ctx.view(key);
    let now = view.now;
    if !opts.replace && view.contains(key) {
        return Err(CmdError::Raw(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let ttl = parse_i64(args.get(2))?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let value = match rdb::restore(args.get(3), &limits, now) {
        Ok(v) => v,
        Err(RdbError::Footer) => {
            return Err(CmdError::err("DUMP payload version or checksum are wrong"))
        }
        Err(_) => return Err(CmdError::err("Bad data format")),
    };
    let deleted = opts.replace && view.remove(key).is_some();
    let expire = match ttl {
        0 => 0,
        t if opts.absttl => t as u64,
        t => now.saturating_add(t as u64),
    };
    // Already expired (or, for a hash, every field expired in transit):
    // nothing is created, and a replaced key is simply gone.
    let Some(value) = value.filter(|_| expire == 0 || expire > now) else {
        drop(view);
        if deleted {
            ctx.dirty(1);
            crate::notify::emit(ctx, crate::notify::GENERIC, "del", key);
        }
        ctx.reply.ok();
        return Ok(());
    };
    view.insert(key, Entry::with_expire(value, expire));
    if lfu {
        if let Some(f) = opts.freq {
            view.set_lfu_counter(key, f);
        }
    } else if let Some(idle) = opts.idle_secs {
        let secs = (now / 1000).saturating_sub(idle as u64);
        view.set_last_access(key, secs.min(u32::MAX as u64) as u32);
    }
    drop(view);
    ctx.dirty(1);
    ctx.server.blocking.signal(ctx.session.db, key);
    crate::notify::emit(ctx, crate::notify::NEW, "new", key);
    crate::notify::emit(ctx, crate::notify::GENERIC, "restore", key);
    ctx.reply.ok();
    Ok(())
}
