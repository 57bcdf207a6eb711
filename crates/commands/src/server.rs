//! Server commands: CLIENT (container), and the rest of the server family.

use crate::spec::{acl, CommandSpec, NO_KEYS};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for client connection commands.",
    since: "2.4.0",
    subcommands: crate::client::SUBCOMMANDS,
    ..CommandSpec::new("client", -2, 0, NO_KEYS, acl::SLOW, "connection", container)
}];

/// Containers are never called directly: dispatch resolves a subcommand.
fn container(_ctx: &mut crate::Ctx<'_>, _args: quiver_resp::Args<'_>) -> crate::CmdResult {
    Err(crate::CmdError::Syntax)
}
