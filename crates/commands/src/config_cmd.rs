//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the directive registry
//! in [`crate::config`].

use crate::config::{self, Kind, DIRECTIVES};
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::spec::{flag, CommandSpec, NO_KEYS};
use quiver_resp::Args;
use std::path::Path;

const ADMIN: u32 = flag::ADMIN | flag::NOSCRIPT | flag::LOADING | flag::STALE;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    summary: "A container for server configuration commands.",
    since: "2.0.0",
    subcommands: SUBCOMMANDS,
    ..CommandSpec::new(
        "config",
        -2,
        0,
        NO_KEYS,
        0,
        "server",
        crate::server::container,
    )
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the effective values of configuration parameters.",
        since: "2.0.0",
        ..CommandSpec::new("config|get", -3, ADMIN, NO_KEYS, 0, "server", get)
    },
    CommandSpec {
        summary: "Sets configuration parameters in-flight.",
        since: "2.0.0",
        ..CommandSpec::new("config|set", -4, ADMIN, NO_KEYS, 0, "server", set)
    },
    CommandSpec {
        summary: "Resets the server's statistics.",
        since: "2.0.0",
        ..CommandSpec::new(
            "config|resetstat",
            2,
            ADMIN,
            NO_KEYS,
            0,
            "server",
            resetstat,
        )
    },
    CommandSpec {
        summary: "Persists the effective configuration to file.",
        since: "2.8.0",
        ..CommandSpec::new("config|rewrite", 2, ADMIN, NO_KEYS, 0, "server", rewrite)
    },
    CommandSpec {
        summary: "Returns helpful text about the different subcommands.",
        since: "5.0.0",
        ..CommandSpec::new(
            "config|help",
            2,
            flag::LOADING | flag::STALE,
            NO_KEYS,
            0,
            "server",
            help,
        )
    },
];

/// Whether a CONFIG GET pattern contains glob syntax; plain names are looked
/// up directly and echoed back as typed, as Redis 7.0 does.
fn is_glob(p: &[u8]) -> bool {
    p.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

fn get(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let cfg = &ctx.server.config;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |name: String, value: String| {
        if !pairs.iter().any(|(n, _)| *n == name) {
            pairs.push((name, value));
        }
    };
    for p in args.iter().skip(2) {
        if is_glob(p) {
            for (name, value) in cfg.matching(&[p]) {
                push(name.to_string(), value);
            }
        } else {
            let name = String::from_utf8_lossy(p).into_owned();
            if let Some((_, d)) = config::find(&name) {
                push(name, cfg.get(d.name));
            }
        }
    }
    ctx.reply.map(pairs.len());
    for (n, v) in pairs {
        ctx.reply.bulk_str(&n);
        ctx.reply.bulk_str(&v);
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    if !(args.len() - 2).is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(String, String)> = args
        .slice_from(2)
        .iter()
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|c| {
            (
                String::from_utf8_lossy(c[0]).into_owned(),
                String::from_utf8_lossy(c[1]).into_owned(),
            )
        })
        .collect();
    let cfg = &ctx.server.config;
    // The values to restore if the new TLS settings do not load, and the
    // directive Redis names in that error: the first `tls-*` one given.
    let tls_arg = pairs
        .iter()
        .filter_map(|(n, _)| config::find(n))
        .map(|(_, d)| d.name)
        .find(|n| n.starts_with("tls-"));
    let old: Vec<(String, String)> = match tls_arg {
        Some(_) => pairs.iter().map(|(n, _)| (n.clone(), cfg.get(n))).collect(),
        None => Vec::new(),
    };
    cfg.set_runtime(&pairs)?;
    if let (Some(arg), Some(check)) = (tls_arg, crate::state::TLS_CHECK.get()) {
        if check(ctx.server).is_err() {
            cfg.set_runtime(&old)?;
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{arg}') - \
                 Unable to update TLS configuration. Check server logs."
            )));
        }
    }
    // notify-keyspace-events may have turned expiry events on or off.
    crate::events::update_listening(ctx.server);
    ctx.reply.ok();
    Ok(())
}

/// Redis resets the INFO counters and commandstats; SLOWLOG and LATENCY
/// keep their entries (they have their own RESET).
fn resetstat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    ctx.server.reset_stats();
    ctx.server
        .stat_reset_ms
        .store(ctx.now, std::sync::atomic::Ordering::Relaxed);
    ctx.reply.ok();
    Ok(())
}

fn rewrite(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let path = ctx.server.config.file.read().clone();
    let Some(path) = path else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    rewrite_file(&ctx.server.config, &path)
        .map_err(|e| CmdError::err(format!("Rewriting config file: {e}")))?;
    ctx.reply.ok();
    Ok(())
}

/// The marker Redis writes before the directives it appends.
const MARKER: &str = "# Generated by CONFIG REWRITE";

/// Rewrites `path` in place: comments and lines Quiver does not understand
/// stay as they are, the first line of each known directive gets its
/// current value (later duplicates are dropped), and directives that differ
/// from their defaults but were not in the file are appended after the
/// marker. The new file replaces the old one atomically.
pub fn rewrite_file(cfg: &config::Config, path: &Path) -> std::io::Result<()> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut seen = vec![false; DIRECTIVES.len()];
    let mut out = String::with_capacity(old.len() + 256);
    let mut has_marker = false;
    for line in old.lines() {
        let trimmed = line.trim();
        if trimmed == MARKER {
            has_marker = true;
        }
        let name = trimmed.split_whitespace().next().unwrap_or("");
        let known = if trimmed.starts_with('#') || name.is_empty() {
            None
        } else {
            config::find(name)
        };
        match known {
            Some((i, d)) => {
                if !seen[i] {
                    seen[i] = true;
                    out.push_str(&directive_line(d.name, d.kind, &cfg.get(d.name)));
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let mut appended = Vec::new();
    for (name, value) in cfg.non_default() {
        let Some((i, d)) = config::find(name) else {
            continue;
        };
        if !seen[i] {
            appended.push(directive_line(d.name, d.kind, &value));
        }
    }
    if !appended.is_empty() {
        if !has_marker {
            out.push_str(MARKER);
            out.push('\n');
        }
        for l in appended {
            out.push_str(&l);
            out.push('\n');
        }
    }
    let tmp = path.with_extension(format!("rewrite-{}.tmp", std::process::id()));
    std::fs::write(&tmp, out.as_bytes())?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `name value` as a config line the start-up parser reads back to the same
/// value: list-like values stay unquoted, free text is quoted when it needs
/// to be.
fn directive_line(name: &str, kind: Kind, value: &str) -> String {
    let needs_quotes = value.is_empty()
        || value
            .bytes()
            .any(|b| matches!(b, b'"' | b'\'' | b'\\') || !(b' '..=b'~').contains(&b))
        || (matches!(kind, Kind::Str) && value.contains(' ') && name != "bind");
    if !needs_quotes {
        return format!("{name} {value}");
    }
    let mut s = format!("{name} \"");
    for b in value.bytes() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b' '..=b'~' => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "CONFIG",
        &[
            "GET <pattern> [<pattern> ...]",
            "    The parameters whose names match any glob-style <pattern>, with their values.",
            "SET <directive> <value> [<directive> <value> ...]",
            "    Change parameters at run time; all of them change or none does.",
            "RESETSTAT",
            "    Zero the counters INFO reports.",
            "REWRITE",
            "    Save the running configuration into the config file the server started with.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_keeps_comments_and_unknown_lines() {
        let dir = std::env::temp_dir().join(format!("quiver-rw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("q.conf");
        std::fs::write(
            &f,
            "# my comment\nmaxmemory 1mb\nsome-unknown-thing 3\nmaxmemory 2mb\n",
        )
        .unwrap();
        let cfg = config::Config::new();
        cfg.set_startup("maxmemory", "5mb").unwrap();
        cfg.set_startup("requirepass", "a b\"c").unwrap();
        cfg.set_startup("save", "").unwrap();
        rewrite_file(&cfg, &f).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("# my comment\nmaxmemory 5242880\nsome-unknown-thing 3\n"));
        assert_eq!(text.matches("maxmemory ").count(), 1, "{text}");
        assert!(text.contains(MARKER));
        assert!(text.contains("requirepass \"a b\\\"c\"\n"), "{text}");
        assert!(text.contains("save \"\"\n"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
