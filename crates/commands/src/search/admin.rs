//! Index administration: FT._LIST, FT.DROPINDEX, aliases, FT.TAGVALS,
//! FT.EXPLAIN(CLI), FT.CONFIG — and MODULE, which reports the built-in
//! `search` module the way a server with RediSearch loaded does (clients
//! look for it before using FT.*).

use super::sync::SEARCH_DB;
use super::{no_such_index, search_err, text, unknown_index, MODULE_VERSION};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::util::eq_ic;
use quiver_engine::Value;
use quiver_resp::Args;

/// FT._LIST
pub fn ft_list(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let names = ctx.server.search.names();
    ctx.reply.set(names.len());
    for n in names {
        ctx.reply.bulk_str(&n);
    }
    Ok(())
}

/// FT.DROPINDEX index [DD]
pub fn ft_dropindex(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let delete_docs = match args.len() {
        2 => false,
        3 if eq_ic(args.get(2), "DD") => true,
        _ => {
            return Err(search_err(format!(
                "Unknown argument `{}`",
                text(args.get(2))
            )))
        }
    };
    let Some(real) = ctx.server.search.resolve_name(&name) else {
        return Err(unknown_index());
    };
    let Some(idx) = ctx.server.search.remove(&real) else {
        return Err(unknown_index());
    };
    crate::events::update_listening(ctx.server);
    if delete_docs {
        // The documents are the covered hashes; delete them like DEL would.
        let db = ctx.server.keyspace.db(SEARCH_DB);
        let mut cursor = 0;
        let mut keys = Vec::new();
        loop {
            let step = db.scan(cursor, 1024, ctx.now, |k, v| {
                matches!(v, Value::Hash(_) | Value::Json(_)) && idx.covers(k)
            });
            keys.extend(step.keys);
            if step.cursor == 0 {
                break;
            }
            cursor = step.cursor;
        }
        for k in &keys {
            let mut view = ctx.server.keyspace.lock_key(SEARCH_DB, k, ctx.now);
            if view.remove(k).is_some() {
                drop(view);
                crate::events::key_written(ctx.server, SEARCH_DB, k);
            }
        }
        ctx.dirty(keys.len() as u64);
    }
    ctx.reply.ok();
    Ok(())
}

/// FT.ALIASADD alias index
pub fn ft_aliasadd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    alias_set(ctx, &args, false)
}

/// FT.ALIASUPDATE alias index
pub fn ft_aliasupdate(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    alias_set(ctx, &args, true)
}

fn alias_set(ctx: &mut Ctx<'_>, args: &Args<'_>, replace: bool) -> CmdResult {
    let alias = text(args.get(1));
    let target = text(args.get(2));
    let search = &ctx.server.search;
    if !search.indexes.read().contains_key(&target) {
        return Err(search_err(
            "Unknown index name (or name is an alias itself)",
        ));
    }
    let mut aliases = search.aliases.write();
    if !replace && aliases.contains_key(&alias) {
        return Err(search_err("Alias already exists"));
    }
    aliases.insert(alias, target);
    drop(aliases);
    ctx.reply.ok();
    Ok(())
}

/// FT.ALIASDEL alias
pub fn ft_aliasdel(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let alias = text(args.get(1));
    if ctx.server.search.aliases.write().remove(&alias).is_none() {
        return Err(search_err("Alias does not exist"));
    }
    ctx.reply.ok();
    Ok(())
}

/// FT.TAGVALS index field
pub fn ft_tagvals(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let name = text(args.get(1));
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(unknown_index());
    };
    let field = text(args.get(2));
    let field = field.strip_prefix('@').unwrap_or(&field).to_string();
    let values = idx
        .index
        .read()
        .tag_values(&field)
        .map_err(|e| search_err(e.0))?;
    ctx.reply.set(values.len());
    for v in values {
        ctx.reply.bulk_str(&v);
    }
    Ok(())
}

/// The query and its PARAMS/DIALECT for FT.EXPLAIN(CLI).
fn explain_text(ctx: &Ctx<'_>, args: &Args<'_>) -> Result<String, CmdError> {
    let name = text(args.get(1));
    let Some(idx) = ctx.server.search.get(&name) else {
        return Err(no_such_index(&name));
    };
    let query = text(args.get(2));
    let mut params = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let a = args.get(i);
        // Clients send their whole FT.SEARCH option list (redis-py adds
        // LIMIT); only PARAMS changes the plan.
        if eq_ic(a, "PARAMS") {
            i = super::query::parse_params(args, i, &mut params)?;
        } else {
            i += 1;
        }
    }
    let refs: Vec<(&[u8], &[u8])> = params
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let out = idx
        .index
        .read()
        .explain(&query, &refs)
        .map_err(|e| search_err(e.0))?;
    Ok(out)
}

/// FT.EXPLAIN index query [PARAMS …] [DIALECT n]
pub fn ft_explain(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let out = explain_text(ctx, &args)?;
    ctx.reply.bulk_str(&out);
    Ok(())
}

/// FT.EXPLAINCLI: the same plan, one line per array element.
pub fn ft_explaincli(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let out = explain_text(ctx, &args)?;
    let lines: Vec<&str> = out.lines().collect();
    ctx.reply.array(lines.len());
    for l in lines {
        ctx.reply.bulk_str(l);
    }
    Ok(())
}

/// FT.CONFIG options and their defaults (RediSearch 2.10).
const CONFIG_DEFAULTS: &[(&str, &str)] = &[
    ("EXTLOAD", ""),
    ("SAFEMODE", "true"),
    ("CONCURRENT_WRITE_MODE", "false"),
    ("NOGC", "false"),
    ("MINPREFIX", "2"),
    ("FORKGC_SLEEP_BEFORE_EXIT", "0"),
    ("MAXDOCTABLESIZE", "1000000"),
    ("MAXSEARCHRESULTS", "1000000"),
    ("MAXAGGREGATERESULTS", "unlimited"),
    ("MAXEXPANSIONS", "200"),
    ("MAXPREFIXEXPANSIONS", "200"),
    ("TIMEOUT", "500"),
    ("INDEX_THREADS", "8"),
    ("SEARCH_THREADS", "20"),
    ("WORKER_THREADS", "0"),
    ("MIN_OPERATION_WORKERS", "4"),
    ("TIERED_HNSW_BUFFER_LIMIT", "1024"),
    ("FRISOINI", ""),
    ("ON_TIMEOUT", "return"),
    ("GCSCANSIZE", "100"),
    ("MIN_PHONETIC_TERM_LEN", "3"),
    ("GC_POLICY", "fork"),
    ("FORK_GC_RUN_INTERVAL", "30"),
    ("FORK_GC_CLEAN_THRESHOLD", "100"),
    ("FORK_GC_RETRY_INTERVAL", "5"),
    ("FORK_GC_CLEAN_NUMERIC_EMPTY_NODES", "true"),
    ("_FORK_GC_CLEAN_NUMERIC_EMPTY_NODES", "true"),
    ("_MAX_RESULTS_TO_UNSORTED_MODE", "1000"),
    ("UNION_ITERATOR_HEAP", "20"),
    ("CURSOR_MAX_IDLE", "300000"),
    ("NO_MEM_POOLS", "false"),
    ("PARTIAL_INDEXED_DOCS", "false"),
    ("UPGRADE_INDEX", "Upgrade config for upgrading"),
    ("_NUMERIC_COMPRESS", "false"),
    ("_FREE_RESOURCE_ON_THREAD", "true"),
    ("_PRINT_PROFILE_CLOCK", "true"),
    ("RAW_DOCID_ENCODING", "false"),
    ("_NUMERIC_RANGES_PARENTS", "0"),
    ("DEFAULT_DIALECT", "1"),
    ("VSS_MAX_RESIZE", "0"),
    ("MULTI_TEXT_SLOP", "100"),
];

/// FT.CONFIG GET pattern | SET option value | HELP option
pub fn ft_config(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let sub = args.get(1);
    if eq_ic(sub, "GET") && args.len() == 3 {
        let pat = text(args.get(2)).to_uppercase();
        let set = ctx.server.search.config.lock().clone();
        let rows: Vec<(String, String)> = CONFIG_DEFAULTS
            .iter()
            .filter(|(n, _)| pat == "*" || pat == *n)
            .map(|(n, d)| {
                let v = set.get(*n).cloned().unwrap_or_else(|| d.to_string());
                (n.to_string(), v)
            })
            .collect();
        let reply = &mut *ctx.reply;
        if reply.is_resp3() {
            reply.map(rows.len());
            for (n, v) in rows {
                reply.bulk_str(&n);
                reply.bulk_str(&v);
            }
        } else {
            reply.array(rows.len());
            for (n, v) in rows {
                reply.array(2);
                reply.bulk_str(&n);
                reply.bulk_str(&v);
            }
        }
        return Ok(());
    }
    if eq_ic(sub, "SET") && args.len() == 4 {
        let name = text(args.get(2)).to_uppercase();
        let Some((_, default)) = CONFIG_DEFAULTS.iter().find(|(n, _)| *n == name) else {
            return Err(search_err("Invalid option"));
        };
        // Numeric options take numbers only.
        if default.parse::<i64>().is_ok()
            && std::str::from_utf8(args.get(3))
                .ok()
                .and_then(|v| v.parse::<i64>().ok())
                .is_none()
        {
            return Err(search_err(format!(
                "Invalid value for argument `{name}`: Could not convert argument to expected type"
            )));
        }
        ctx.server
            .search
            .config
            .lock()
            .insert(name, text(args.get(3)));
        ctx.reply.ok();
        return Ok(());
    }
    if eq_ic(sub, "HELP") && args.len() == 3 {
        let name = text(args.get(2)).to_uppercase();
        let Some((_, d)) = CONFIG_DEFAULTS.iter().find(|(n, _)| *n == name) else {
            ctx.reply.array(0);
            return Ok(());
        };
        ctx.reply.array(1);
        ctx.reply.array(4);
        ctx.reply.bulk_str(&name);
        ctx.reply.bulk_str("Description");
        ctx.reply.bulk_str("Value");
        ctx.reply.bulk_str(d);
        return Ok(());
    }
    Err(search_err("Unknown subcommand"))
}

/// The module list of MODULE LIST and HELLO: the built-in `search`.
pub fn write_module_list(reply: &mut quiver_resp::ReplyBuf) {
    // JSON.* (crate::json) is built in too; clients such as redis-py and
    // RedisVL look for `ReJSON` here before using it.
    reply.array(2);
    for (name, ver) in [
        ("search", MODULE_VERSION),
        ("ReJSON", crate::json::MODULE_VERSION),
    ] {
        reply.map(4);
        reply.bulk_str("name");
        reply.bulk_str(name);
        reply.bulk_str("ver");
        reply.int(ver);
        reply.bulk_str("path");
        reply.bulk_str("builtin");
        reply.bulk_str("args");
        reply.array(0);
    }
}

/// MODULE LIST | LOAD | LOADEX | UNLOAD | HELP
pub fn module(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let sub = args.get(1);
    if eq_ic(sub, "LIST") && args.len() == 2 {
        write_module_list(ctx.reply);
        return Ok(());
    }
    if (eq_ic(sub, "LOAD") || eq_ic(sub, "LOADEX")) && args.len() >= 3 {
        return Err(CmdError::err(
            "Error loading the extension. Please check the server logs.",
        ));
    }
    if eq_ic(sub, "UNLOAD") && args.len() == 3 {
        return Err(CmdError::err(
            "Error unloading module: no such module with that name",
        ));
    }
    if eq_ic(sub, "HELP") && args.len() == 2 {
        let lines = [
            "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
            "HELP",
            "    Print this help.",
        ];
        ctx.reply.array(lines.len());
        for l in lines {
            ctx.reply.simple(l);
        }
        return Ok(());
    }
    Err(CmdError::UnknownSubcommand {
        cmd: "MODULE".into(),
        sub: text(sub),
    })
}
