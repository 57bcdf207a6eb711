//! Expiry commands: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (with NX/XX/GT/LT),
//! TTL/PTTL, EXPIRETIME/PEXPIRETIME and PERSIST. Their table rows are in
//! [`crate::keys`].
//!
//! Expiry times are stored as absolute unix milliseconds, so every relative
//! form is converted once, here, against the command's single clock reading.
//! These are hot paths: nothing below allocates unless it replies an error.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::util::{eq_ic, parse_i64};
use quiver_resp::Args;

/// NX/XX/GT/LT of the EXPIRE family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses the options after the time argument. Redis validates them before
/// it looks at the time itself, so `EXPIRE k abc FOO` reports the option.
fn parse_conditions(args: &Args<'_>) -> Result<Conditions, CmdError> {
    let mut c = Conditions::default();
    for opt in args.iter().skip(3) {
        if eq_ic(opt, "nx") {
            c.nx = true;
        } else if eq_ic(opt, "xx") {
            c.xx = true;
        } else if eq_ic(opt, "gt") {
            c.gt = true;
        } else if eq_ic(opt, "lt") {
            c.lt = true;
        } else {
            return Err(CmdError::err(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if c.gt && c.lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(c)
}

/// Converts the time argument to absolute unix ms. Negative and past times
/// are allowed (they delete the key); only arithmetic overflow is an error.
fn absolute_ms(ctx: &Ctx<'_>, arg: &[u8], seconds: bool, relative: bool) -> Result<i64, CmdError> {
    let invalid = || CmdError::InvalidExpire(ctx.spec.name);
    let mut when = parse_i64(arg)?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        // Only the upward overflow is checked, as in Redis: the clock is
        // positive, so adding it to a negative time cannot overflow.
        when = when.checked_add(ctx.now as i64).ok_or_else(invalid)?;
    }
    Ok(when)
}

fn expire_generic(ctx: &mut Ctx<'_>, args: Args<'_>, seconds: bool, relative: bool) -> CmdResult {
    let key = args.get(1);
    let cond = parse_conditions(&args)?;
    let when = absolute_ms(ctx, args.get(2), seconds, relative)?;
    let mut view = ctx.view(key);
    let Some(entry) = view.get(key) else {
        drop(view);
        ctx.reply.int(0);
        return Ok(());
    };
    // -1 stands for "no expiry", i.e. an infinite TTL, in the comparisons.
    let current = entry.expire().map_or(-1, |e| e as i64);
    let refused = (cond.nx && current != -1)
        || (cond.xx && current == -1)
        || (cond.gt && (current == -1 || when <= current))
        || (cond.lt && current != -1 && when >= current);
    if refused {
        drop(view);
        ctx.reply.int(0);
        return Ok(());
    }
    // A time that is not in the future deletes the key at once (and still
    // counts as a successful EXPIRE).
    let deleted = when <= ctx.now as i64;
    if deleted {
        view.remove(key);
    } else {
        view.set_expire(key, when as u64);
    }
    drop(view);
    ctx.dirty(1);
    let event = if deleted { "del" } else { "expire" };
    crate::notify::emit(ctx, crate::notify::GENERIC, event, key);
    ctx.reply.int(1);
    Ok(())
}

pub fn expire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, true, true)
}

pub fn pexpire(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, false, true)
}

pub fn expireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, true, false)
}

pub fn pexpireat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, false, false)
}

/// The four TTL readers: -2 for a missing key, -1 for one without expiry,
/// otherwise the remaining (or absolute) time. Seconds are rounded to the
/// nearest, as Redis does, so a fresh `EXPIRE k 10` reads back as 10.
fn ttl_generic(ctx: &mut Ctx<'_>, args: Args<'_>, ms: bool, absolute: bool) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let found = view.get_no_touch(key).map(|e| e.expire());
    drop(view);
    ctx.server.keyspace.hit(found.is_some());
    let v = match found {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            let at = at as i64;
            let t = if absolute {
                at
            } else {
                (at - ctx.now as i64).max(0)
            };
            if ms {
                t
            } else {
                (t + 500) / 1000
            }
        }
    };
    ctx.reply.int(v);
    Ok(())
}

pub fn ttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

pub fn pttl(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

pub fn expiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

pub fn persist(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let mut view = ctx.view(key);
    let had_ttl = view.get(key).is_some_and(|e| e.expire().is_some());
    if had_ttl {
        view.set_expire(key, 0);
    }
    drop(view);
    if had_ttl {
        ctx.dirty(1);
        crate::notify::emit(ctx, crate::notify::GENERIC, "persist", key);
    }
    ctx.reply.int(had_ttl as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_resp::ArgsBuf;

    fn conds(argv: &[&str]) -> Result<Conditions, CmdError> {
        let buf = ArgsBuf::from_slices(argv.iter().map(|s| s.as_bytes()));
        parse_conditions(&buf.owned_view())
    }

    #[test]
    fn condition_combinations() {
        assert_eq!(
            conds(&["expire", "k", "1", "gt", "XX"]),
            Ok(Conditions {
                xx: true,
                gt: true,
                ..Default::default()
            })
        );
        assert!(conds(&["expire", "k", "1", "nx", "nx"]).is_ok());
        assert_eq!(
            conds(&["expire", "k", "1", "nx", "lt"])
                .unwrap_err()
                .to_string(),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
        assert_eq!(
            conds(&["expire", "k", "1", "lt", "gt"])
                .unwrap_err()
                .to_string(),
            "ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            conds(&["expire", "k", "1", "xx", "bogus"])
                .unwrap_err()
                .to_string(),
            "ERR Unsupported option bogus"
        );
    }
}
