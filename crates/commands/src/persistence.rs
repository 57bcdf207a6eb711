//! Persistence and replication commands, as far as they can be answered
//! honestly before Quiver has either: LASTSAVE, SAVE, BGSAVE,
//! BGREWRITEAOF, ROLE, REPLICAOF and SLAVEOF.
//!
//! Nothing is ever written to disk yet, so the save commands do not pretend
//! to succeed: they check their arguments as Redis does and then fail with
//! [`not_persisted`], which names the missing feature. A client or operator
//! relying on a save therefore learns that it did not happen. Likewise the
//! server is always a master without replicas: ROLE says so, `REPLICAOF NO
//! ONE` (become a master) succeeds, and attaching to a master fails.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_resp::Args;

const LS: u32 = flag::LOADING | flag::STALE;
/// Redis 7.0 also marks these `no_async_loading`, a flag Quiver's command
/// table does not have (there is no loading phase to refuse them in).
const ADMIN_NS: u32 = flag::ADMIN | flag::NOSCRIPT;
/// LASTSAVE and ROLE are in @admin @dangerous without the `admin` flag.
const ADMIN_ACL: u64 = acl::ADMIN | acl::DANGEROUS;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Get the UNIX time stamp of the last successful save to disk",
        since: "1.0.0",
        ..CommandSpec::new(
            "lastsave",
            1,
            LS | flag::FAST,
            NO_KEYS,
            ADMIN_ACL,
            "server",
            lastsave,
        )
    },
    CommandSpec {
        summary: "Synchronously save the dataset to disk",
        since: "1.0.0",
        ..CommandSpec::new(
            "save",
            1,
            ADMIN_NS | flag::NO_MULTI,
            NO_KEYS,
            0,
            "server",
            save,
        )
    },
    CommandSpec {
        summary: "Asynchronously save the dataset to disk",
        since: "1.0.0",
        ..CommandSpec::new("bgsave", -1, ADMIN_NS, NO_KEYS, 0, "server", bgsave)
    },
    CommandSpec {
        summary: "Asynchronously rewrite the append-only file",
        since: "1.0.0",
        ..CommandSpec::new(
            "bgrewriteaof",
            1,
            ADMIN_NS,
            NO_KEYS,
            0,
            "server",
            bgrewriteaof,
        )
    },
    CommandSpec {
        summary: "Return the role of the instance in the context of replication",
        since: "2.8.12",
        ..CommandSpec::new(
            "role",
            1,
            flag::NOSCRIPT | LS | flag::FAST,
            NO_KEYS,
            ADMIN_ACL,
            "server",
            role,
        )
    },
    CommandSpec {
        summary: "Make the server a replica of another instance, or promote it as master.",
        since: "5.0.0",
        ..CommandSpec::new(
            "replicaof",
            3,
            ADMIN_NS | flag::STALE,
            NO_KEYS,
            0,
            "server",
            replicaof,
        )
    },
    CommandSpec {
        summary: "Make the server a replica of another instance, or promote it as master.",
        since: "1.0.0",
        ..CommandSpec::new(
            "slaveof",
            3,
            ADMIN_NS | flag::STALE,
            NO_KEYS,
            0,
            "server",
            replicaof,
        )
    },
];

/// The error every save command ends with until persistence exists.
pub fn not_persisted(what: &str) -> CmdError {
    CmdError::err(format!(
        "{what} is not supported: Quiver has no persistence yet, nothing was written to disk"
    ))
}

/// `LASTSAVE`: the unix time of the last successful save. Nothing has been
/// saved, so it is the start time, which is also what INFO reports as
/// `rdb_last_save_time` (Redis, too, starts the clock at boot).
fn lastsave(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.int((ctx.server.started_unix_ms / 1000) as i64);
    Ok(())
}

fn save(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(not_persisted("SAVE"))
}

/// `BGSAVE [SCHEDULE]`: anything but SCHEDULE is a syntax error, as in
/// Redis, before the missing persistence is reported.
fn bgsave(_ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    match args.len() {
        1 => {}
        2 if eq_ic(args.get(1), "schedule") => {}
        _ => return Err(CmdError::Syntax),
    }
    Err(not_persisted("BGSAVE"))
}

fn bgrewriteaof(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(not_persisted("BGREWRITEAOF"))
}

/// `ROLE`: always a master with replication offset 0 and no replicas.
fn role(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.array(3);
    ctx.reply.bulk(b"master");
    ctx.reply.int(0);
    ctx.reply.array(0);
    Ok(())
}

/// `REPLICAOF NO ONE` turns a replica into a master: Quiver always is one,
/// so it succeeds (Redis replies the same on a master). `REPLICAOF host
/// port` checks the port as Redis does and then fails: replication does
/// not exist yet.
fn replicaof(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if eq_ic(args.get(1), "no") && eq_ic(args.get(2), "one") {
        ctx.reply.ok();
        return Ok(());
    }
    // Redis reads the port as an integer in 0..=65535 with its own message.
    if !parse_i64(args.get(2)).is_ok_and(|p| (0..=65535).contains(&p)) {
        return Err(CmdError::err("Invalid master port"));
    }
    Err(CmdError::err(
        "REPLICAOF is not supported: Quiver has no replication yet",
    ))
}
