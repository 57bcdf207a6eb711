//! ACL rules: parsing `on`, `>pass`, `+@read`, `~key*`, `%R~…`, `&chan*`,
//! `(selector)` … into a [`User`], the per-command check, and describing a
//! user back in ACL LIST / GETUSER form.

use super::{hex, sha256, Denied, User};
use crate::registry::registry;
use crate::spec::{acl, flag, CommandSpec};
use quiver_engine::glob_match;
use quiver_resp::Args;

/// One key pattern and the access it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

/// A set of permissions: the user's root one, or one `(…)` selector.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    /// One bit per registry entry (commands and subcommands).
    allowed: Vec<u64>,
    /// `+@all` also covers commands added later (Redis's "future commands"
    /// bit): it is what decides whether the description starts with
    /// `+@all` or `-@all`.
    all_future: bool,
    pub keys: Vec<KeyPattern>,
    /// `~*` / `allkeys`.
    pub all_keys: bool,
    pub channels: Vec<Vec<u8>>,
    pub all_channels: bool,
}

impl Selector {
    fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        let n = registry().len().div_ceil(64);
        if self.allowed.len() < n {
            self.allowed.resize(n, 0);
        }
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
        }
    }

    /// Every command, key and channel allowed.
    pub fn unrestricted(&self) -> bool {
        self.all_keys && self.all_channels && (0..registry().len()).all(|i| self.bit(i))
    }

    fn set_all(&mut self, on: bool) {
        for i in 0..registry().len() {
            self.set_bit(i, on);
        }
        self.all_future = on;
    }

    fn set_category(&mut self, cat: u64, on: bool) {
        for e in &registry().entries {
            if e.spec.acl_categories() & cat != 0 {
                self.set_bit(e.id, on);
            }
        }
    }

    /// `+cmd` on a container covers its subcommands; `+cmd|sub` one of them.
    fn set_command(&mut self, name: &[u8], on: bool) -> Result<(), String> {
        let reg = registry();
        let lower = name.to_ascii_lowercase();
        let (top, sub) = match lower.iter().position(|&b| b == b'|') {
            Some(p) => (&lower[..p], Some(&lower[p + 1..])),
            None => (&lower[..], None),
        };
        let entry = reg.lookup(top).ok_or_else(unknown)?;
        match sub {
            None => {
                self.set_bit(entry.id, on);
                if let Some(subs) = &entry.subs {
                    for &id in subs.values() {
                        self.set_bit(id, on);
                    }
                }
            }
            Some(sub) => {
                if entry.subs.is_none() {
                    // First-argument rules (+select|0) are not supported.
                    return Err(unknown());
                }
                let s = reg.lookup_sub(entry, sub).ok_or_else(unknown)?;
                if on
                    && self.bit(entry.id)
                    && entry
                        .subs
                        .as_ref()
                        .is_some_and(|m| m.values().all(|&i| self.bit(i)))
                {
                    return Err("Adding a subcommand of a command already fully added is not allowed. Remove the command to start. Or just add the command by itself.".into());
                }
                self.set_bit(s.id, on);
            }
        }
        Ok(())
    }

    /// Checks one command against this selector.
    pub fn check(&self, id: usize, spec: &CommandSpec, args: &Args<'_>) -> Result<(), Denied> {
        if !self.bit(id) {
            return Err(Denied::Command);
        }
        if !self.all_keys {
            let (need_r, need_w) = key_access(spec);
            for i in crate::introspection::key_positions(spec, args) {
                let key = args.get(i);
                let ok = self.keys.iter().any(|p| {
                    (!need_r || p.read)
                        && (!need_w || p.write)
                        && glob_match(&p.pattern, key, false)
                });
                if !ok {
                    return Err(Denied::Key(i));
                }
            }
        }
        if !self.all_channels {
            let (from, literal) = match spec.name {
                "publish" | "spublish" => (1, false),
                "subscribe" | "ssubscribe" => (1, false),
                "psubscribe" => (1, true),
                _ => (0, false),
            };
            if from > 0 {
                let to = if spec.name.ends_with("publish") {
                    2
                } else {
                    args.len()
                };
                for i in from..to.min(args.len()) {
                    let ch = args.get(i);
                    let ok = self.channels.iter().any(|p| {
                        if literal {
                            p.as_slice() == ch
                        } else {
                            glob_match(p, ch, false)
                        }
                    });
                    if !ok {
                        return Err(Denied::Channel(i));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The key access a command needs, from its key specs: `access` means
/// reading, `insert`/`update`/`delete` writing (as Redis's %R/%W rules
/// read them). Without key-spec metadata the command flags decide.
fn key_access(spec: &CommandSpec) -> (bool, bool) {
    let (mut r, mut w) = (false, false);
    if let Some((_, specs)) = crate::command_meta::lookup(spec.name) {
        for ks in specs {
            for f in ks.flags {
                match *f {
                    "access" => r = true,
                    "insert" | "update" | "delete" => w = true,
                    _ => {}
                }
            }
        }
    }
    if !r && !w {
        r = spec.has(flag::READONLY) || !spec.has(flag::WRITE);
        w = spec.has(flag::WRITE);
    }
    (r, w)
}

fn unknown() -> String {
    "Unknown command or category name in ACL".into()
}

fn category(name: &[u8]) -> Option<u64> {
    if name.eq_ignore_ascii_case(b"all") {
        return Some(u64::MAX);
    }
    acl::NAMES
        .iter()
        .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
        .map(|(c, _)| *c)
}

/// Splits a rule string (aclfile line, policy) on spaces, keeping
/// `( … )` selectors together.
pub fn split_rules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ' ' | '\t' if depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Applies one rule to a user. The error is the reason text Redis puts
/// after `Error in ACL SETUSER modifier '…': `.
pub fn apply(u: &mut User, rule: &[u8]) -> Result<(), String> {
    let lower = rule.to_ascii_lowercase();
    match lower.as_slice() {
        b"on" => u.enabled = true,
        b"off" => u.enabled = false,
        b"nopass" => {
            u.nopass = true;
            u.passwords.clear();
        }
        b"resetpass" => {
            u.nopass = false;
            u.passwords.clear();
        }
        b"reset" => {
            let name = std::mem::take(&mut u.name);
            *u = User::new(&name);
            apply_selector(&mut u.root, b"resetkeys")?;
            apply_selector(&mut u.root, b"resetchannels")?;
            apply_selector(&mut u.root, b"-@all")?;
            // Redis 7.0's `reset` includes `sanitize-payload`.
            u.sanitize_payload = Some(true);
        }
        b"sanitize-payload" => u.sanitize_payload = Some(true),
        b"skip-sanitize-payload" => u.sanitize_payload = Some(false),
        b"clearselectors" => u.selectors.clear(),
        _ => match rule.first() {
            Some(b'>') => {
                let h = sha256(&rule[1..]);
                if !u.passwords.contains(&h) {
                    u.passwords.push(h);
                }
                u.nopass = false;
            }
            Some(b'<') => {
                let h = sha256(&rule[1..]);
                u.passwords.retain(|p| *p != h);
                u.nopass = false;
            }
            Some(b'#') | Some(b'!') => {
                let h = parse_hash(&rule[1..])?;
                if rule[0] == b'#' {
                    if !u.passwords.contains(&h) {
                        u.passwords.push(h);
                    }
                } else {
                    if !u.passwords.contains(&h) {
                        return Err("Syntax error".into());
                    }
                    u.passwords.retain(|p| *p != h);
                }
                u.nopass = false;
            }
            Some(b'(') => {
                if rule.last() != Some(&b')') {
                    return Err("Unmatched parenthesis in acl selector starting at '('.".into());
                }
                let inner = String::from_utf8_lossy(&rule[1..rule.len() - 1]).into_owned();
                let mut s = Selector::default();
                s.set_all(false);
                for r in inner.split_whitespace() {
                    apply_selector(&mut s, r.as_bytes())?;
                }
                u.selectors.push(s);
            }
            _ => apply_selector(&mut u.root, rule)?,
        },
    }
    Ok(())
}

fn parse_hash(h: &[u8]) -> Result<[u8; 32], String> {
    let bad = || {
        "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters".to_string()
    };
    if h.len() != 64
        || !h
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let s = std::str::from_utf8(&h[i * 2..i * 2 + 2]).map_err(|_| bad())?;
        *o = u8::from_str_radix(s, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Rules that apply to a selector (root or parenthesised).
fn apply_selector(s: &mut Selector, rule: &[u8]) -> Result<(), String> {
    let lower = rule.to_ascii_lowercase();
    match lower.as_slice() {
        b"allkeys" => return apply_selector(s, b"~*"),
        b"resetkeys" => {
            s.keys.clear();
            s.all_keys = false;
            return Ok(());
        }
        b"allchannels" => return apply_selector(s, b"&*"),
        b"resetchannels" => {
            s.channels.clear();
            s.all_channels = false;
            return Ok(());
        }
        b"allcommands" => return apply_selector(s, b"+@all"),
        b"nocommands" => return apply_selector(s, b"-@all"),
        _ => {}
    }
    match rule.first() {
        Some(b'~') | Some(b'%') => {
            let (read, write, pat) = if rule[0] == b'~' {
                (true, true, &rule[1..])
            } else {
                let tilde = rule
                    .iter()
                    .position(|&b| b == b'~')
                    .ok_or_else(|| "Syntax error".to_string())?;
                let perms = &rule[1..tilde];
                let mut r = false;
                let mut w = false;
                for p in perms {
                    match p.to_ascii_uppercase() {
                        b'R' => r = true,
                        b'W' => w = true,
                        _ => return Err("Syntax error".into()),
                    }
                }
                if !r && !w {
                    return Err("Syntax error".into());
                }
                (r, w, &rule[tilde + 1..])
            };
            if s.all_keys {
                return Err("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns".into());
            }
            if read && write && pat == b"*" {
                s.all_keys = true;
                s.keys.clear();
                return Ok(());
            }
            match s.keys.iter_mut().find(|k| k.pattern == pat) {
                Some(k) => {
                    k.read |= read;
                    k.write |= write;
                }
                None => s.keys.push(KeyPattern {
                    pattern: pat.to_vec(),
                    read,
                    write,
                }),
            }
        }
        Some(b'&') => {
            if s.all_channels {
                return Err("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels".into());
            }
            let pat = &rule[1..];
            if pat == b"*" {
                s.all_channels = true;
                s.channels.clear();
            } else if !s.channels.iter().any(|c| c == pat) {
                s.channels.push(pat.to_vec());
            }
        }
        Some(b'+') | Some(b'-') => {
            let on = rule[0] == b'+';
            let body = &rule[1..];
            if let Some(cat) = body.strip_prefix(b"@") {
                let c = category(cat).ok_or_else(unknown)?;
                if c == u64::MAX {
                    s.set_all(on);
                } else {
                    s.set_category(c, on);
                }
            } else {
                s.set_command(body, on)?;
            }
        }
        _ => return Err("Syntax error".into()),
    }
    Ok(())
}

/// The command part of a description, derived from the bitmap as Redis 7.0
/// does: start from `+@all` or `-@all`, apply the category that covers the
/// most still-undescribed commands while most of its commands agree, then
/// fix the rest with single commands (in command-table order; Redis uses
/// its hash-table order there, which no one can reproduce).
pub fn describe_commands(s: &Selector) -> String {
    let reg = registry();
    let n = reg.len();
    let additive = !s.all_future;
    let mut fake = Selector::default();
    fake.set_all(!additive);
    let mut out = String::from(if additive { "-@all" } else { "+@all" });
    let mut used = vec![false; acl::NAMES.len()];
    loop {
        let mut best: Option<(usize, usize)> = None;
        for (ci, (cat, _)) in acl::NAMES.iter().enumerate() {
            if used[ci] {
                continue;
            }
            let members: Vec<usize> = reg
                .entries
                .iter()
                .filter(|e| e.spec.acl_categories() & cat != 0)
                .map(|e| e.id)
                .collect();
            let matching = members.iter().filter(|&&i| s.bit(i) == additive).count();
            if matching * 2 <= members.len() {
                continue;
            }
            // Worth a category only if it sets at least two commands the
            // description does not cover yet (otherwise a single command
            // says it better, as Redis's output shows).
            let gain = members
                .iter()
                .filter(|&&i| s.bit(i) == additive && fake.bit(i) != additive)
                .count();
            if gain >= 2 && best.is_none_or(|(_, g)| gain > g) {
                best = Some((ci, gain));
            }
        }
        let Some((ci, _)) = best else { break };
        used[ci] = true;
        fake.set_category(acl::NAMES[ci].0, additive);
        out.push_str(if additive { " +@" } else { " -@" });
        out.push_str(acl::NAMES[ci].1);
    }
    for e in reg.top_level() {
        let subs: Vec<usize> = e
            .subs
            .as_ref()
            .map(|m| {
                let mut v: Vec<usize> = m.values().copied().collect();
                v.sort_unstable();
                v
            })
            .unwrap_or_default();
        let whole = std::iter::once(e.id).chain(subs.iter().copied());
        let want = s.bit(e.id);
        if e.id < n
            && s.bit(e.id) != fake.bit(e.id)
            && (subs.is_empty() || whole.clone().all(|i| s.bit(i) == want))
        {
            out.push_str(if want { " +" } else { " -" });
            out.push_str(e.spec.name);
            for i in whole {
                fake.set_bit(i, want);
            }
            continue;
        }
        for &i in &subs {
            if s.bit(i) != fake.bit(i) {
                out.push_str(if s.bit(i) { " +" } else { " -" });
                out.push_str(reg.entries[i].spec.name);
                fake.set_bit(i, s.bit(i));
            }
        }
    }
    out
}

/// `~a %R~b` (empty when no key is allowed).
pub fn describe_keys(s: &Selector) -> String {
    if s.all_keys {
        return "~*".into();
    }
    let parts: Vec<String> = s
        .keys
        .iter()
        .map(|k| {
            let p = String::from_utf8_lossy(&k.pattern);
            match (k.read, k.write) {
                (true, true) => format!("~{p}"),
                (true, false) => format!("%R~{p}"),
                _ => format!("%W~{p}"),
            }
        })
        .collect();
    parts.join(" ")
}

/// `&a &b` (empty when no channel is allowed).
pub fn describe_channels(s: &Selector) -> String {
    if s.all_channels {
        return "&*".into();
    }
    let parts: Vec<String> = s
        .channels
        .iter()
        .map(|c| format!("&{}", String::from_utf8_lossy(c)))
        .collect();
    parts.join(" ")
}

/// A selector as ACL LIST prints it: keys, channels, commands.
pub fn describe_selector(s: &Selector) -> String {
    let mut out = String::new();
    let keys = describe_keys(s);
    if !keys.is_empty() {
        out.push_str(&keys);
        out.push(' ');
    }
    if s.all_channels {
        out.push_str("&* ");
    } else {
        out.push_str("resetchannels ");
        let ch = describe_channels(s);
        if !ch.is_empty() {
            out.push_str(&ch);
            out.push(' ');
        }
    }
    out.push_str(&describe_commands(s));
    out
}

/// The payload-sanitizing flag as ACL LIST and ACL GETUSER name it.
pub fn sanitize_flag(u: &User) -> Option<&'static str> {
    u.sanitize_payload.map(|on| {
        if on {
            "sanitize-payload"
        } else {
            "skip-sanitize-payload"
        }
    })
}

/// The whole user as one ACL LIST line (without the `user name` prefix).
pub fn describe_user(u: &User) -> String {
    let mut out = String::from(if u.enabled { "on" } else { "off" });
    if u.nopass {
        out.push_str(" nopass");
    }
    if let Some(flag) = sanitize_flag(u) {
        out.push(' ');
        out.push_str(flag);
    }
    for p in &u.passwords {
        out.push_str(" #");
        out.push_str(&hex(p));
    }
    out.push(' ');
    out.push_str(&describe_selector(&u.root));
    for s in &u.selectors {
        out.push_str(" (");
        out.push_str(&describe_selector(s));
        out.push(')');
    }
    out
}
