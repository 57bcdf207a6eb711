//! COMMAND and its subcommands: the command table described to clients.
//!
//! Everything here is generated from the registry rows plus the tips and key
//! specs in [`crate::command_meta`], so what COMMAND reports is exactly what
//! dispatch enforces.

use crate::command_meta::{self, Begin, Find, Ks};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::registry::{registry, Registered};
use crate::spec::{acl, flag, CommandSpec, NO_KEYS};
use crate::util::{eq_ic, parse_i64};
use quiver_resp::{Args, ReplyBuf};

const F: u32 = flag::LOADING | flag::STALE;
const C: u64 = acl::CONNECTION;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "Returns detailed information about all commands.",
    since: "2.8.13",
    subcommands: SUBCOMMANDS,
    ..CommandSpec::new("command", -1, F, NO_KEYS, C, "server", command_all)
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns a count of commands.",
        since: "2.8.13",
        ..CommandSpec::new("command|count", 2, F, NO_KEYS, C, "server", count)
    },
    CommandSpec {
        summary: "Returns documentary information about one, multiple or all commands.",
        since: "7.0.0",
        ..CommandSpec::new("command|docs", -2, F, NO_KEYS, C, "server", docs)
    },
    CommandSpec {
        summary: "Extracts the key names from an arbitrary command.",
        since: "2.8.13",
        ..CommandSpec::new("command|getkeys", -4, F, NO_KEYS, C, "server", getkeys)
    },
    CommandSpec {
        summary: "Extracts the key names and access flags for an arbitrary command.",
        since: "7.0.0",
        ..CommandSpec::new(
            "command|getkeysandflags",
            -4,
            F,
            NO_KEYS,
            C,
            "server",
            getkeysandflags,
        )
    },
    CommandSpec {
        summary: "Returns helpful text about the different subcommands.",
        since: "5.0.0",
        ..CommandSpec::new("command|help", 2, F, NO_KEYS, C, "server", help)
    },
    CommandSpec {
        summary: "Returns information about one, multiple or all commands.",
        since: "2.8.13",
        ..CommandSpec::new("command|info", -2, F, NO_KEYS, C, "server", info)
    },
    CommandSpec {
        summary: "Returns a list of command names.",
        since: "7.0.0",
        ..CommandSpec::new("command|list", -2, F, NO_KEYS, C, "server", list)
    },
];

/// Finds a command by its COMMAND INFO name: `get`, or `config|get` for a
/// subcommand (case-insensitive).
pub fn find_by_full_name(name: &[u8]) -> Option<&'static Registered> {
    let reg = registry();
    match name.iter().position(|&b| b == b'|') {
        None => reg.lookup(name),
        Some(p) => {
            let parent = reg.lookup(&name[..p])?;
            reg.lookup_sub(parent, &name[p + 1..])
        }
    }
}

/// `COMMAND` alone: every command's info row. (Reached once dispatch lets a
/// container whose arity admits it run without a subcommand.)
fn command_all(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() != 1 {
        return Err(CmdError::Syntax);
    }
    write_all_info(ctx.reply);
    Ok(())
}

fn write_all_info(r: &mut ReplyBuf) {
    let reg = registry();
    let top: Vec<&Registered> = reg.top_level().collect();
    r.array(top.len());
    for e in top {
        write_info(r, e.spec);
    }
}

fn count(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.reply.int(registry().top_level().count() as i64);
    Ok(())
}

fn info(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() == 2 {
        write_all_info(ctx.reply);
        return Ok(());
    }
    ctx.reply.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match find_by_full_name(name) {
            Some(e) => write_info(ctx.reply, e.spec),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

/// One COMMAND INFO row in Redis 7.0's layout: name, arity, flags, first key,
/// last key, step, ACL categories, tips, key specs, subcommands.
pub fn write_info(r: &mut ReplyBuf, spec: &CommandSpec) {
    let meta = command_meta::lookup(spec.name);
    r.array(10);
    r.bulk_str(spec.name);
    r.int(spec.arity as i64);
    let flags: Vec<&str> = flag::NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f))
        .map(|(_, n)| *n)
        .collect();
    r.set(flags.len());
    for f in flags {
        r.simple(f);
    }
    r.int(spec.keys.first as i64);
    r.int(spec.keys.last as i64);
    r.int(spec.keys.step as i64);
    let cats = spec.acl_categories();
    let names: Vec<&str> = acl::NAMES
        .iter()
        .filter(|(c, _)| cats & c != 0)
        .map(|(_, n)| *n)
        .collect();
    r.set(names.len());
    for n in names {
        r.out.push(b'+');
        r.out.push(b'@');
        r.out.extend_from_slice(n.as_bytes());
        r.out.extend_from_slice(b"\r\n");
    }
    let tips = meta.map(|m| m.0).unwrap_or(&[]);
    r.set(tips.len());
    for t in tips {
        r.bulk_str(t);
    }
    match meta {
        Some((_, specs)) if !specs.is_empty() => {
            r.array(specs.len());
            for ks in specs {
                write_key_spec(r, ks);
            }
        }
        _ => match derived_key_spec(spec) {
            Some(ks) => {
                r.array(1);
                write_key_spec(r, &ks);
            }
            None => r.array(0),
        },
    }
    r.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_info(r, sub);
    }
}

/// A key spec for a command Redis 7.0 does not describe: one range from its
/// (first, last, step) triple, flagged by whether it writes.
fn derived_key_spec(spec: &CommandSpec) -> Option<Ks> {
    let k = spec.keys;
    if k.first <= 0 {
        return None;
    }
    let lastkey = if k.last < 0 {
        k.last as i64
    } else {
        (k.last - k.first) as i64
    };
    let flags: &'static [&'static str] = if spec.has(flag::WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    Some(Ks {
        notes: "",
        flags,
        begin: Begin::Index(k.first as i64),
        find: Find::Range(lastkey, k.step.max(1) as i64, 0),
    })
}

fn write_key_spec(r: &mut ReplyBuf, ks: &Ks) {
    let n = if ks.notes.is_empty() { 3 } else { 4 };
    r.map(n);
    if !ks.notes.is_empty() {
        r.bulk(b"notes");
        r.bulk_str(ks.notes);
    }
    r.bulk(b"flags");
    r.set(ks.flags.len());
    for f in ks.flags {
        r.simple(f);
    }
    r.bulk(b"begin_search");
    r.map(2);
    r.bulk(b"type");
    match ks.begin {
        Begin::Index(i) => {
            r.bulk(b"index");
            r.bulk(b"spec");
            r.map(1);
            r.bulk(b"index");
            r.int(i);
        }
        Begin::Keyword(kw, from) => {
            r.bulk(b"keyword");
            r.bulk(b"spec");
            r.map(2);
            r.bulk(b"keyword");
            r.bulk_str(kw);
            r.bulk(b"startfrom");
            r.int(from);
        }
        Begin::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
        }
    }
    r.bulk(b"find_keys");
    r.map(2);
    r.bulk(b"type");
    match ks.find {
        Find::Range(last, step, limit) => {
            r.bulk(b"range");
            r.bulk(b"spec");
            r.map(3);
            r.bulk(b"lastkey");
            r.int(last);
            r.bulk(b"keystep");
            r.int(step);
            r.bulk(b"limit");
            r.int(limit);
        }
        Find::Keynum(idx, first, step) => {
            r.bulk(b"keynum");
            r.bulk(b"spec");
            r.map(3);
            r.bulk(b"keynumidx");
            r.int(idx);
            r.bulk(b"firstkey");
            r.int(first);
            r.bulk(b"keystep");
            r.int(step);
        }
        Find::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
        }
    }
}

fn docs(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let r = &mut *ctx.reply;
    if args.len() == 2 {
        let top: Vec<&Registered> = registry().top_level().collect();
        r.map(top.len());
        for e in top {
            r.bulk_str(e.spec.name);
            write_docs(r, e.spec);
        }
        return Ok(());
    }
    let found: Vec<&Registered> = args.iter().skip(2).filter_map(find_by_full_name).collect();
    r.map(found.len());
    for e in found {
        r.bulk_str(e.spec.name);
        write_docs(r, e.spec);
    }
    Ok(())
}

/// A command's documentation map: summary, since, group and, for
/// containers, the subcommands' own maps.
fn write_docs(r: &mut ReplyBuf, spec: &CommandSpec) {
    let subs = !spec.subcommands.is_empty();
    r.map(3 + subs as usize);
    r.bulk(b"summary");
    r.bulk_str(spec.summary);
    r.bulk(b"since");
    r.bulk_str(spec.since);
    r.bulk(b"group");
    r.bulk_str(spec.group);
    if subs {
        r.bulk(b"subcommands");
        r.map(spec.subcommands.len());
        for sub in spec.subcommands {
            r.bulk_str(sub.name);
            write_docs(r, sub);
        }
    }
}

fn list(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    enum Filter<'a> {
        All,
        Module,
        AclCat(Option<u64>),
        Pattern(&'a [u8]),
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if eq_ic(args.get(2), "filterby") => {
            let what = args.get(3);
            let value = args.get(4);
            if eq_ic(what, "module") {
                Filter::Module
            } else if eq_ic(what, "aclcat") {
                Filter::AclCat(
                    acl::NAMES
                        .iter()
                        .find(|(_, n)| eq_ic(value, n))
                        .map(|(c, _)| *c),
                )
            } else if eq_ic(what, "pattern") {
                Filter::Pattern(value)
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let reg = registry();
    let mark = ctx.reply.mark();
    let mut n = 0;
    // Registry order: each container is followed by its subcommands.
    for e in reg.entries.iter() {
        let name = e.spec.name;
        let keep = match filter {
            Filter::All => true,
            Filter::Module | Filter::AclCat(None) => false,
            Filter::AclCat(Some(c)) => e.spec.acl_categories() & c != 0,
            Filter::Pattern(p) => quiver_engine::glob_match(p, name.as_bytes(), true),
        };
        if keep {
            ctx.reply.bulk_str(name);
            n += 1;
        }
    }
    ctx.reply.insert_array_header(mark, n);
    Ok(())
}

/// Resolves the command vector given to GETKEYS and finds its keys, with
/// the flags of the key spec that produced each one.
fn keys_of(args: &Args<'_>) -> Result<Vec<(usize, &'static [&'static str])>, CmdError> {
    let cmd = args.slice_from(2);
    let reg = registry();
    let mut entry = reg
        .lookup(cmd.get(0))
        .ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if entry.subs.is_some() && cmd.len() >= 2 {
        entry = reg
            .lookup_sub(entry, cmd.get(1))
            .ok_or_else(|| CmdError::err("Invalid command specified"))?;
    } else if entry.subs.is_some() {
        return Err(CmdError::err("Invalid command specified"));
    }
    let spec = entry.spec;
    let meta = command_meta::lookup(spec.name).map(|m| m.1).unwrap_or(&[]);
    let derived = derived_key_spec(spec);
    let specs: Vec<Ks> = if meta.is_empty() {
        derived.into_iter().collect()
    } else {
        meta.to_vec()
    };
    if specs.is_empty() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !spec.arity_ok(cmd.len()) {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let mut out = Vec::new();
    for ks in &specs {
        if !keys_from_spec(&cmd, ks, &mut out) {
            return Err(CmdError::err("Invalid arguments specified for command"));
        }
    }
    for (_, flags) in out.iter_mut() {
        if flags.contains(&"variable_flags") {
            *flags = variable_key_flags(spec.name, &cmd);
        }
    }
    Ok(out)
}

/// Positions of the keys in `cmd` (a full argument vector, name first) for
/// the resolved command `spec`, using the same key specs as COMMAND GETKEYS
/// (so movable keys such as ZUNIONSTORE's or SORT's STORE are found). Used
/// by WATCH invalidation; empty when the arguments do not fit the spec.
pub fn key_positions(spec: &CommandSpec, cmd: &Args<'_>) -> Vec<usize> {
    let meta = command_meta::lookup(spec.name).map(|m| m.1).unwrap_or(&[]);
    let derived = derived_key_spec(spec);
    let specs: Vec<Ks> = if meta.is_empty() {
        derived.into_iter().collect()
    } else {
        meta.to_vec()
    };
    let mut out = Vec::new();
    for ks in &specs {
        if !keys_from_spec(cmd, ks, &mut out) {
            return Vec::new();
        }
    }
    out.into_iter().map(|(i, _)| i).collect()
}

/// The actual access of commands whose key spec says `variable_flags`:
/// SET only reads the old value with GET; BITFIELD only writes with SET or
/// INCRBY.
fn variable_key_flags(name: &str, cmd: &Args<'_>) -> &'static [&'static str] {
    // Options follow `SET key value` and `BITFIELD key`.
    let has = |from: usize, kw: &str| cmd.iter().skip(from).any(|a| eq_ic(a, kw));
    match name {
        "set" if has(3, "get") => &["RW", "access", "update"],
        "set" => &["OW", "update"],
        "bitfield" if has(2, "set") || has(2, "incrby") => &["RW", "access", "update"],
        "bitfield" => &["RO", "access"],
        _ => &["RW", "access", "update"],
    }
}

/// Applies one key spec to `cmd`. Returns false when the arguments cannot
/// hold the keys the spec promises (a key count past the end, say).
fn keys_from_spec(
    cmd: &Args<'_>,
    ks: &Ks,
    out: &mut Vec<(usize, &'static [&'static str])>,
) -> bool {
    let argc = cmd.len() as i64;
    let incomplete = ks.flags.contains(&"incomplete");
    let first = match ks.begin {
        Begin::Index(i) => i,
        Begin::Keyword(kw, from) => {
            let found = if from >= 0 {
                (from..argc).find(|&i| eq_ic(cmd.get(i as usize), kw))
            } else {
                (1..=argc + from)
                    .rev()
                    .find(|&i| eq_ic(cmd.get(i as usize), kw))
            };
            match found {
                Some(i) => i + 1,
                None => return true,
            }
        }
        Begin::Unknown => return true,
    };
    let (first, last, step) = match ks.find {
        Find::Range(lastkey, step, limit) => {
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit == 0 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, step)
        }
        Find::Keynum(idx, firstkey, step) => {
            let idx = first + idx;
            if idx >= argc {
                return incomplete;
            }
            let Ok(n) = parse_i64(cmd.get(idx as usize)) else {
                return incomplete;
            };
            if n < 0 {
                return incomplete;
            }
            let fk = first + firstkey;
            (fk, fk + (n - 1) * step, step)
        }
        Find::Unknown => return true,
    };
    let mut i = first;
    while i <= last {
        if i >= argc || i < 1 {
            return incomplete;
        }
        out.push((i as usize, ks.flags));
        i += step.max(1);
    }
    true
}

fn getkeys(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = keys_of(&args)?;
    ctx.reply.array(keys.len());
    for (i, _) in keys {
        ctx.reply.bulk(args.get(i + 2));
    }
    Ok(())
}

fn getkeysandflags(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let keys = keys_of(&args)?;
    let r = &mut *ctx.reply;
    r.array(keys.len());
    for (i, flags) in keys {
        r.array(2);
        r.bulk(args.get(i + 2));
        r.set(flags.len());
        for f in flags {
            r.simple(f);
        }
    }
    Ok(())
}

/// Writes a HELP reply: the usage line, then each line of `lines`.
pub fn help_reply(r: &mut ReplyBuf, cmd: &str, lines: &[&str]) {
    r.array(lines.len() + 1);
    r.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        r.simple(l);
    }
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Describe every command the server knows.",
            "COUNT",
            "    How many commands the server knows.",
            "DOCS [<command-name> ...]",
            "    Documentation (summary, version, group) of the given commands, or of all.",
            "GETKEYS <full-command>",
            "    The key names found in a complete command line.",
            "GETKEYSANDFLAGS <full-command>",
            "    The key names found in a complete command line, with their access flags.",
            "INFO [<command-name> ...]",
            "    Description rows of the given commands, or of all.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Command names, optionally filtered.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quiver_resp::ArgsBuf;

    /// Keys found by the Redis 7.0 key specs of `cmd[0]`, as strings.
    fn keys(cmd: &[&str]) -> Option<Vec<String>> {
        let buf = ArgsBuf::from_slices(cmd.iter().map(|s| s.as_bytes()));
        let args = buf.owned_view();
        let (_, specs) = command_meta::lookup(cmd[0]).expect("described");
        let mut out = Vec::new();
        for ks in specs {
            if !keys_from_spec(&args, ks, &mut out) {
                return None;
            }
        }
        Some(out.iter().map(|(i, _)| cmd[*i].to_string()).collect())
    }

    #[test]
    fn key_specs_find_movable_keys() {
        assert_eq!(
            keys(&["zunionstore", "d", "2", "a", "b"]).unwrap(),
            ["d", "a", "b"]
        );
        assert_eq!(keys(&["zunionstore", "d", "3", "a"]), None);
        assert_eq!(
            keys(&["eval", "s", "2", "k1", "k2", "a1"]).unwrap(),
            ["k1", "k2"]
        );
        assert!(keys(&["eval", "s", "0"]).unwrap().is_empty());
        assert_eq!(
            keys(&["xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]).unwrap(),
            ["s1", "s2"]
        );
        assert_eq!(
            keys(&["georadius", "src", "0", "0", "1", "km", "STORE", "dst"]).unwrap(),
            ["src", "dst"]
        );
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]).unwrap(), ["a", "b"]);
        assert_eq!(keys(&["rename", "a", "b"]).unwrap(), ["a", "b"]);
    }

    #[test]
    fn variable_flags_follow_the_arguments() {
        let buf = ArgsBuf::from_slices([&b"command"[..], b"getkeys", b"set", b"k", b"v", b"GET"]);
        let args = buf.owned_view().slice_from(2);
        assert_eq!(
            variable_key_flags("set", &args),
            &["RW", "access", "update"]
        );
        let buf = ArgsBuf::from_slices([&b"set"[..], b"k", b"get"]);
        assert_eq!(
            variable_key_flags("set", &buf.owned_view()),
            &["OW", "update"]
        );
    }

    #[test]
    fn every_registered_command_has_a_docs_group_and_valid_flags() {
        for e in registry().entries.iter() {
            assert!(!e.spec.group.is_empty(), "{}", e.spec.name);
            let mut r = ReplyBuf::new(quiver_resp::Proto::Resp2);
            write_info(&mut r, e.spec);
            assert!(r.out.starts_with(b"*10\r\n"), "{}", e.spec.name);
        }
    }
}
