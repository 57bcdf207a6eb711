//! CLIENT subcommands.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::util::eq_ic;
use quiver_resp::Args;

const CONN: u64 = acl::CONNECTION;
const F: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE;

pub static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the unique client ID of the connection.",
        since: "5.0.0",
        ..CommandSpec::new("client|id", 2, F, NO_KEYS, CONN, "connection", id)
    },
    CommandSpec {
        summary: "Sets the connection name.",
        since: "2.6.9",
        ..CommandSpec::new("client|setname", 3, F, NO_KEYS, CONN, "connection", setname)
    },
    CommandSpec {
        summary: "Returns the name of the connection.",
        since: "2.6.9",
        ..CommandSpec::new("client|getname", 2, F, NO_KEYS, CONN, "connection", getname)
    },
    CommandSpec {
        summary: "Sets information specific to the client or connection.",
        since: "7.2.0",
        ..CommandSpec::new("client|setinfo", 4, F, NO_KEYS, CONN, "connection", setinfo)
    },
];

/// Redis refuses names (and library names) with spaces or control characters.
pub fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn id(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.int(ctx.session.id as i64);
    Ok(())
}

fn setname(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = args.get(2);
    validate_name(name)?;
    *ctx.session.handle.name.lock() = name.to_vec();
    ctx.reply.ok();
    Ok(())
}

fn getname(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let name = ctx.session.handle.name.lock().clone();
    if name.is_empty() {
        ctx.reply.null();
    } else {
        ctx.reply.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let attr = args.get(2);
    let value = args.get(3);
    let slot = if eq_ic(attr, "lib-name") {
        &ctx.session.handle.lib_name
    } else if eq_ic(attr, "lib-ver") {
        &ctx.session.handle.lib_ver
    } else {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    };
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr).to_ascii_lowercase()
        )));
    }
    *slot.lock() = value.to_vec();
    ctx.reply.ok();
    Ok(())
}
