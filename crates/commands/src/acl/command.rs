//! The ACL command family: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI,
//! CAT, GENPASS, DRYRUN, LOG, LOAD, SAVE, HELP.

use super::rules::{self, describe_channels, describe_commands, describe_keys};
use super::{hex, LogEntry, User};
use crate::context::{Ctx, Session};
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::registry::registry;
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::state::ServerState;
use crate::util::{eq_ic, parse_i64};
use quiver_resp::Args;
use std::sync::atomic::Ordering;

const ADMIN: u32 = flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE;
const PLAIN: u32 = flag::NOSCRIPT | flag::LOADING | flag::STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for Access List Control commands.",
    since: "6.0.0",
    subcommands: SUBCOMMANDS,
    ..CommandSpec::new(
        "acl",
        -2,
        0,
        NO_KEYS,
        acl::SLOW,
        "server",
        crate::server::container,
    )
}];

macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $summary:literal, $h:ident) => {
        CommandSpec {
            summary: $summary,
            since: "6.0.0",
            ..CommandSpec::new($name, $arity, $flags, NO_KEYS, 0, "server", $h)
        }
    };
}

static SUBCOMMANDS: &[CommandSpec] = &[
    sub!(
        "acl|cat",
        -2,
        PLAIN,
        "Lists the ACL categories, or the commands inside a category.",
        cat
    ),
    sub!(
        "acl|deluser",
        -3,
        ADMIN,
        "Deletes ACL users, and terminates their connections.",
        deluser
    ),
    CommandSpec {
        since: "7.0.0",
        ..sub!(
            "acl|dryrun",
            -4,
            ADMIN,
            "Simulates the execution of a command by a user, without executing the command.",
            dryrun
        )
    },
    sub!(
        "acl|genpass",
        -2,
        PLAIN,
        "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        genpass
    ),
    sub!(
        "acl|getuser",
        3,
        ADMIN,
        "Lists the ACL rules of a user.",
        getuser
    ),
    sub!(
        "acl|help",
        2,
        flag::LOADING | flag::STALE,
        "Returns helpful text about the different subcommands.",
        help
    ),
    sub!(
        "acl|list",
        2,
        ADMIN,
        "Dumps the effective rules in ACL file format.",
        list
    ),
    sub!(
        "acl|load",
        2,
        ADMIN,
        "Reloads the rules from the configured ACL file.",
        load
    ),
    sub!(
        "acl|log",
        -2,
        ADMIN,
        "Lists recent security events generated due to ACL rules.",
        log
    ),
    sub!(
        "acl|save",
        2,
        ADMIN,
        "Saves the effective ACL rules in the configured ACL file.",
        save
    ),
    sub!(
        "acl|setuser",
        -3,
        ADMIN,
        "Creates and modifies an ACL user and its rules.",
        setuser
    ),
    sub!("acl|users", 2, ADMIN, "Lists all ACL users.", users),
    sub!(
        "acl|whoami",
        2,
        PLAIN,
        "Returns the authenticated username of the current connection.",
        whoami
    ),
];

/// Applies `rules` to a copy of `user` (or a new one): all or nothing.
fn build_user(
    base: Option<&User>,
    name: &str,
    rules_in: impl Iterator<Item = Vec<u8>>,
) -> Result<User, CmdError> {
    let mut u = base.cloned().unwrap_or_else(|| User::new(name));
    for r in rules_in {
        rules::apply(&mut u, &r).map_err(|e| {
            CmdError::err(format!(
                "Error in ACL SETUSER modifier '{}': {e}",
                String::from_utf8_lossy(&r)
            ))
        })?;
    }
    u.token_user = false;
    Ok(u)
}

fn setuser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2)).into_owned();
    let acl = &ctx.server.acl;
    acl.sync(&ctx.server.config);
    let base = acl.get(&name);
    // A selector may span arguments: `(+set ~w*)` arrives as `(+set`, `~w*)`.
    let mut rules_in: Vec<Vec<u8>> = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for a in args.iter().skip(3) {
        match open.as_mut() {
            Some(sel) => {
                sel.push(b' ');
                sel.extend_from_slice(a);
            }
            None if a.first() == Some(&b'(') => open = Some(a.to_vec()),
            None => rules_in.push(a.to_vec()),
        }
        if open.as_ref().is_some_and(|s| s.last() == Some(&b')')) {
            rules_in.extend(open.take());
        }
    }
    if let Some(sel) = open {
        return Err(CmdError::err(format!(
            "Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(&sel)
        )));
    }
    let u = build_user(base.as_deref(), &name, rules_in.into_iter())?;
    acl.put(u);
    ctx.reply.ok();
    Ok(())
}

fn getuser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2));
    ctx.server.acl.sync(&ctx.server.config);
    let Some(u) = ctx.server.acl.get(&name) else {
        ctx.reply.null();
        return Ok(());
    };
    let r = &mut *ctx.reply;
    r.map(6);
    r.bulk(b"flags");
    let mut flags = vec![if u.enabled { "on" } else { "off" }];
    if u.nopass {
        flags.push("nopass");
    }
    flags.extend(rules::sanitize_flag(&u));
    r.array(flags.len());
    for f in flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"passwords");
    r.array(u.passwords.len());
    for p in &u.passwords {
        r.bulk(hex(p).as_bytes());
    }
    let sel = |r: &mut quiver_resp::ReplyBuf, s: &rules::Selector| {
        r.bulk(b"commands");
        r.bulk(describe_commands(s).as_bytes());
        r.bulk(b"keys");
        r.bulk(describe_keys(s).as_bytes());
        r.bulk(b"channels");
        r.bulk(describe_channels(s).as_bytes());
    };
    sel(r, &u.root);
    r.bulk(b"selectors");
    r.array(u.selectors.len());
    for s in &u.selectors {
        r.map(3);
        sel(r, s);
    }
    Ok(())
}

fn deluser(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    for a in args.iter().skip(2) {
        if a == b"default" {
            return Err(CmdError::err("The 'default' user cannot be removed"));
        }
    }
    let mut n = 0;
    for a in args.iter().skip(2) {
        let name = String::from_utf8_lossy(a);
        if ctx.server.acl.remove(&name) {
            n += 1;
            // Redis disconnects the clients of a deleted user.
            for c in ctx.server.clients.all() {
                if *c.user.lock() == *name && c.id != ctx.session.id {
                    c.kill();
                }
            }
            if ctx.session.user == *name {
                ctx.session.close_after_reply = true;
            }
        }
    }
    ctx.reply.int(n);
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.acl.sync(&ctx.server.config);
    let all = ctx.server.acl.all();
    ctx.reply.array(all.len());
    for u in all {
        let line = format!("user {} {}", u.name, rules::describe_user(&u));
        ctx.reply.bulk(line.as_bytes());
    }
    Ok(())
}

fn users(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let names = ctx.server.acl.names();
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk(n.as_bytes());
    }
    Ok(())
}

fn whoami(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.bulk(ctx.session.user.as_bytes());
    Ok(())
}

fn cat(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(too_many_args("CAT"));
    }
    if args.len() == 2 {
        ctx.reply.array(acl::NAMES.len());
        for (_, n) in acl::NAMES {
            ctx.reply.bulk(n.as_bytes());
        }
        return Ok(());
    }
    let want = args.get(2);
    let Some((c, _)) = acl::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(want))
    else {
        return Err(CmdError::err(format!(
            "Unknown category '{}'",
            String::from_utf8_lossy(want)
        )));
    };
    let names: Vec<&str> = registry()
        .entries
        .iter()
        .filter(|e| e.spec.acl_categories() & c != 0)
        .map(|e| e.spec.name)
        .collect();
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk(n.as_bytes());
    }
    Ok(())
}

/// ACL subcommands with optional arguments check their own maximum, with
/// Redis's wording for the container.
fn too_many_args(sub: &str) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try ACL HELP."
    ))
}

fn genpass(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(too_many_args("GENPASS"));
    }
    let bits = if args.len() == 3 {
        match parse_i64(args.get(2))? {
            b if (1..=4096).contains(&b) => b as usize,
            _ => {
                return Err(CmdError::err(
                    "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                ))
            }
        }
    } else {
        256
    };
    let chars = bits.div_ceil(4);
    let bytes: Vec<u8> = (0..chars.div_ceil(2))
        .map(|_| rand::random::<u8>())
        .collect();
    let mut s = hex(&bytes);
    s.truncate(chars);
    ctx.reply.bulk(s.as_bytes());
    Ok(())
}

fn dryrun(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2));
    ctx.server.acl.sync(&ctx.server.config);
    let Some(u) = ctx.server.acl.get(&name) else {
        return Err(CmdError::err(format!("User '{name}' not found")));
    };
    let cmd = args.slice_from(3);
    let entry = match crate::dispatch::resolve(&cmd) {
        Ok(e) => e,
        Err(CmdError::WrongArity(n)) => return Err(CmdError::WrongArity(n)),
        Err(_) => {
            return Err(CmdError::err(format!(
                "Command '{}' not found",
                String::from_utf8_lossy(cmd.get(0))
            )))
        }
    };
    match u.check(entry.id, entry.spec, &cmd) {
        Ok(()) => ctx.reply.ok(),
        // DRYRUN names the refused key or channel, unlike NOPERM.
        Err(d) => {
            let msg = match d {
                super::Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    entry.spec.name
                ),
                super::Denied::Key(i) => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(cmd.get(i))
                ),
                super::Denied::Channel(i) => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(cmd.get(i))
                ),
            };
            ctx.reply.bulk(msg.as_bytes());
        }
    }
    Ok(())
}

fn log(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(too_many_args("LOG"));
    }
    let mut count = usize::MAX;
    if args.len() == 3 {
        if eq_ic(args.get(2), "reset") {
            ctx.server.acl.log.reset();
            ctx.reply.ok();
            return Ok(());
        }
        // Redis reads the count as an integer; a negative one lists nothing.
        count = parse_i64(args.get(2))?.max(0) as usize;
    }
    let entries: Vec<LogEntry> = ctx
        .server
        .acl
        .log
        .entries
        .lock()
        .iter()
        .take(count)
        .cloned()
        .collect();
    let r = &mut *ctx.reply;
    r.array(entries.len());
    for e in entries {
        r.map(7);
        r.bulk(b"count");
        r.int(e.count as i64);
        r.bulk(b"reason");
        r.bulk(e.reason.as_bytes());
        r.bulk(b"context");
        r.bulk(e.context.as_bytes());
        r.bulk(b"object");
        r.bulk(e.object.as_bytes());
        r.bulk(b"username");
        r.bulk(e.username.as_bytes());
        r.bulk(b"age-seconds");
        r.double(ctx.now.saturating_sub(e.created_ms) as f64 / 1000.0);
        r.bulk(b"client-info");
        r.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

const NO_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// Parses an ACL file: `user <name> <rules…>` lines, all or nothing.
pub fn parse_file(text: &str) -> Result<Vec<User>, String> {
    let mut out: Vec<User> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts = rules::split_rules(line);
        if parts.len() < 2 || parts[0] != "user" {
            return Err(format!(
                "/{}:{}: line should start with user keyword",
                "aclfile",
                n + 1
            ));
        }
        if out.iter().any(|u| u.name == parts[1]) {
            return Err(format!("{}: Duplicate user '{}' found", n + 1, parts[1]));
        }
        let u = build_user(
            None,
            &parts[1],
            parts[2..].iter().map(|p| p.as_bytes().to_vec()),
        )
        .map_err(|e| format!("{}: {}", n + 1, e.to_string().trim_start_matches("ERR ")))?;
        out.push(u);
    }
    Ok(out)
}

/// Loads `aclfile` into the server (start-up and ACL LOAD).
pub fn load_file(server: &ServerState) -> Result<(), String> {
    let path = server.config.get("aclfile");
    if path.is_empty() {
        return Err(NO_FILE.into());
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}"))?;
    let users = parse_file(&text)?;
    server.acl.replace_all(users);
    Ok(())
}

fn load(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    load_file(ctx.server).map_err(CmdError::err)?;
    ctx.reply.ok();
    Ok(())
}

fn save(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let path = ctx.server.config.get("aclfile");
    if path.is_empty() {
        return Err(CmdError::err(NO_FILE));
    }
    let mut text = String::new();
    for u in ctx.server.acl.all() {
        if u.token_user {
            continue;
        }
        text.push_str(&format!("user {} {}\n", u.name, rules::describe_user(&u)));
    }
    // Write a sibling then rename, so a crash never leaves half a file.
    let tmp = format!("{path}.tmp-{}", std::process::id());
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| CmdError::err(format!("There was an error trying to save the ACLs. Please check the server logs for more information: {e}")))?;
    ctx.reply.ok();
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "ACL",
        &[
            "CAT [<category>]",
            "    List the command categories, or the commands in <category>.",
            "DELUSER <username> [<username> ...]",
            "    Delete users and close their connections.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Tell whether <username> may run the command.",
            "GETUSER <username>",
            "    Show a user's rules.",
            "GENPASS [<bits>]",
            "    Generate a random password (256 bits by default).",
            "LIST",
            "    Show every user in ACL file form.",
            "LOAD",
            "    Replace the users with those in the ACL file.",
            "LOG [<count> | RESET]",
            "    Show recent denials and authentication failures.",
            "SAVE",
            "    Write the users to the ACL file.",
            "SETUSER <username> <rule> [<rule> ...]",
            "    Create or change a user.",
            "USERS",
            "    List the user names.",
            "WHOAMI",
            "    Show the user of this connection.",
        ],
    );
    Ok(())
}

/// Records a denial or auth failure in the ACL LOG. `object` is the
/// command, key or channel name, or a failure reason: never a secret.
pub fn log_event(
    server: &ServerState,
    session: &Session,
    reason: &'static str,
    object: String,
    username: String,
) {
    let h = &session.handle;
    let info = format!(
        "id={} addr={} laddr={} fd={} name={} db={} user={} resp={}",
        h.id,
        h.addr,
        h.laddr,
        h.fd,
        String::from_utf8_lossy(&h.name.lock()),
        session.db,
        session.user,
        h.resp.load(Ordering::Relaxed)
    );
    let now = quiver_engine::now_ms();
    let max = server.config.get_i64("acllog-max-len").max(0) as usize;
    server.acl.log.push(
        LogEntry {
            count: 1,
            reason,
            context: if session.in_exec { "multi" } else { "toplevel" },
            object,
            username,
            created_ms: now,
            updated_ms: now,
            client_info: info,
        },
        max,
    );
}
