//! CLUSTER, as a server without cluster mode answers it: every subcommand
//! exists (so COMMAND INFO, ACL rules such as `+cluster` and clients that
//! probe it see Redis's table) and replies that cluster support is
//! disabled. Quiver's keyspace is already organised by cluster slot, so
//! cluster mode can later fill these in.

use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use quiver_resp::Args;

const fn sub(name: &'static str, arity: i32, flags: u32, acl: u64) -> CommandSpec {
    CommandSpec {
        summary: "A cluster command (cluster support is disabled)",
        since: "3.0.0",
        ..CommandSpec::new(name, arity, flags, NO_KEYS, acl, "cluster", disabled)
    }
}

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for Redis Cluster commands.",
    since: "3.0.0",
    subcommands: SUBCOMMANDS,
    ..CommandSpec::new(
        "cluster",
        -2,
        0,
        NO_KEYS,
        acl::SLOW,
        "cluster",
        crate::server::container,
    )
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    sub(
        "cluster|addslots",
        -3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|addslotsrange",
        -4,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|bumpepoch",
        2,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|count-failure-reports",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub("cluster|countkeysinslot", 3, flag::STALE, acl::SLOW),
    sub(
        "cluster|delslots",
        -3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|delslotsrange",
        -4,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|failover",
        -2,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|flushslots",
        2,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|forget",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub("cluster|getkeysinslot", 4, flag::STALE, acl::SLOW),
    sub("cluster|help", 2, flag::LOADING | flag::STALE, acl::SLOW),
    sub("cluster|info", 2, flag::STALE, acl::SLOW),
    sub("cluster|keyslot", 3, flag::STALE, acl::SLOW),
    sub("cluster|links", 2, flag::STALE, acl::SLOW),
    sub(
        "cluster|meet",
        -4,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub("cluster|myid", 2, flag::STALE, acl::SLOW),
    sub("cluster|nodes", 2, flag::STALE, acl::SLOW),
    sub(
        "cluster|replicas",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|replicate",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|reset",
        -2,
        flag::ADMIN | flag::NOSCRIPT | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|saveconfig",
        2,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|set-config-epoch",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub(
        "cluster|setslot",
        -4,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub("cluster|shards", 2, flag::STALE, acl::SLOW),
    sub(
        "cluster|slaves",
        3,
        flag::ADMIN | flag::STALE,
        acl::ADMIN | acl::SLOW | acl::DANGEROUS,
    ),
    sub("cluster|slots", 2, flag::STALE, acl::SLOW),
];

fn disabled(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}
