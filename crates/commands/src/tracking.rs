//! Client-side caching: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO and
//! the invalidation messages.
//!
//! In the default mode the server remembers which clients *read* which keys
//! (dispatch calls [`remember_reads`] after each successful read-only
//! command) and, when such a key is written, expires or is flushed, tells
//! those clients once and forgets the pair: a client must read the key
//! again to hear about it again. In BCAST mode nothing is remembered: every
//! write to a key under one of the client's prefixes is announced.
//!
//! As in Redis the table is keyed by key name alone (not by database), so a
//! write in any database invalidates the name everywhere: a spurious
//! invalidation only costs a re-read, a missed one would serve stale data.
//!
//! Messages are `>2 invalidate [keys]` pushes to RESP3 clients; a RESP2
//! client can only receive them through REDIRECT to a connection in
//! subscribed mode, as `message __redis__:invalidate [keys]`. A flush sends a
//! null instead of the key array.

use crate::clients::ClientHandle;
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::state::ServerState;
use crate::util::{eq_ic, parse_i64};
use hashbrown::{HashMap, HashSet};
use parking_lot::Mutex;
use quiver_resp::{Args, ReplyBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The channel RESP2 redirect targets receive invalidations on.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// One tracking client's options, as the server-wide table sees them.
struct Tracked {
    handle: Arc<ClientHandle>,
    /// Client receiving the messages instead (0: the client itself).
    redirect: u64,
    bcast: bool,
    noloop: bool,
    /// The redirect target went away; reported once to RESP3 clients.
    broken: AtomicBool,
    prefixes: Vec<Box<[u8]>>,
}

#[derive(Default)]
struct Inner {
    clients: HashMap<u64, Tracked>,
    /// Key → clients that read it since its last invalidation.
    keys: HashMap<Box<[u8]>, HashSet<u64>>,
    /// (key, client) pairs in `keys` (INFO `tracking_total_items`).
    items: usize,
    /// BCAST prefix → clients listening to it.
    prefixes: HashMap<Box<[u8]>, HashSet<u64>>,
}

/// BCAST invalidations gathered during one command, per prefix: the keys
/// and who wrote each (0 when unknown or written by several clients, so a
/// NOLOOP client still hears of it).
type Pending = HashMap<Box<[u8]>, Vec<(Box<[u8]>, u64)>>;

/// The server-wide tracking table.
#[derive(Default)]
pub struct Table {
    inner: Mutex<Inner>,
    /// BCAST keys waiting for [`flush_bcast`]. Redis sends broadcast
    /// invalidations once per event-loop turn, one message per prefix with
    /// every key written under it; Quiver batches per command.
    pending: Mutex<Pending>,
    /// Whether `pending` holds anything (read without locking).
    has_pending: AtomicBool,
    /// Tracking clients (INFO `tracking_clients`); non-zero means writes must
    /// be announced here.
    pub clients: AtomicUsize,
}

impl Table {
    /// Whether any client tracks anything (one atomic load).
    #[inline]
    pub fn active(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    /// INFO: (`tracking_total_keys`, `tracking_total_items`,
    /// `tracking_total_prefixes`).
    pub fn totals(&self) -> (usize, usize, usize) {
        let i = self.inner.lock();
        (i.keys.len(), i.items, i.prefixes.len())
    }

    fn remove_client(&self, id: u64) {
        let mut i = self.inner.lock();
        if let Some(t) = i.clients.remove(&id) {
            for p in &t.prefixes {
                if let Some(set) = i.prefixes.get_mut(p) {
                    set.remove(&id);
                    if set.is_empty() {
                        i.prefixes.remove(p);
                    }
                }
            }
            self.clients.store(i.clients.len(), Ordering::Relaxed);
        }
        // Keys it read stay until invalidated (as in Redis): sending to a
        // client that is gone is skipped then.
    }
}

/// This connection's tracking switches.
#[derive(Default)]
pub struct SessionTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub redirect: u64,
    /// CLIENT CACHING YES/NO, valid for the next command only.
    pub caching: Option<bool>,
    table: Option<Arc<Table>>,
    id: u64,
}

impl SessionTracking {
    /// Turns tracking off (CLIENT TRACKING OFF, RESET, disconnect).
    pub fn disable(&mut self) {
        if let Some(t) = self.table.take() {
            t.remove_client(self.id);
        }
        self.on = false;
        self.bcast = false;
        self.optin = false;
        self.optout = false;
        self.noloop = false;
        self.redirect = 0;
        self.caching = None;
    }
}

impl Drop for SessionTracking {
    fn drop(&mut self) {
        if let Some(t) = self.table.take() {
            t.remove_client(self.id);
        }
    }
}

/// After a successful read-only command: remember the keys it read for a
/// tracking client (default mode, subject to OPTIN/OPTOUT).
pub fn remember_reads(
    server: &ServerState,
    session: &crate::context::Session,
    spec: &crate::spec::CommandSpec,
    args: &Args<'_>,
) {
    let t = &session.tracking;
    if !t.on || t.bcast {
        return;
    }
    if (t.optin && t.caching != Some(true)) || (t.optout && t.caching == Some(false)) {
        return;
    }
    let positions = crate::introspection::key_positions(spec, args);
    if positions.is_empty() {
        return;
    }
    let id = session.id;
    let mut evict = Vec::new();
    {
        let mut i = server.tracking.inner.lock();
        for p in positions {
            let key = args.get(p);
            let added = match i.keys.get_mut(key) {
                Some(set) => set.insert(id),
                None => {
                    let mut set = HashSet::new();
                    set.insert(id);
                    i.keys.insert(key.into(), set);
                    true
                }
            };
            if added {
                i.items += 1;
            }
        }
        // tracking-table-max-keys: forget (and invalidate) keys beyond the
        // limit, so the table stays bounded.
        let max = server
            .config
            .hot
            .tracking_table_max_keys
            .load(Ordering::Relaxed) as usize;
        if max > 0 && i.keys.len() > max {
            let excess = i.keys.len() - max;
            let victims: Vec<Box<[u8]>> = i.keys.keys().take(excess).cloned().collect();
            for k in victims {
                if let Some(ids) = i.keys.remove(&k) {
                    i.items -= ids.len();
                    evict.push((k, ids));
                }
            }
        }
    }
    for (k, ids) in evict {
        let i = server.tracking.inner.lock();
        for cid in ids {
            if let Some(c) = i.clients.get(&cid) {
                send(server, c, Some(&[&k]));
            }
        }
    }
}

/// `key` was written by client `writer` (0: by the server itself, e.g.
/// expiry): invalidate it for everyone tracking it.
pub fn invalidate_key(server: &ServerState, key: &[u8], writer: u64) {
    let mut i = server.tracking.inner.lock();
    let inner = &mut *i;
    if let Some(ids) = inner.keys.remove(key) {
        inner.items -= ids.len();
        for cid in ids {
            if let Some(c) = inner.clients.get(&cid) {
                // BCAST clients hear through their prefixes instead.
                if !(c.bcast || (c.noloop && cid == writer)) {
                    send(server, c, Some(&[key]));
                }
            }
        }
    }
    if inner.prefixes.is_empty() {
        return;
    }
    let table = &server.tracking;
    let mut pending = table.pending.lock();
    for prefix in inner.prefixes.keys() {
        if !key.starts_with(prefix) {
            continue;
        }
        let keys = pending.entry_ref(&**prefix).or_default();
        match keys.iter_mut().find(|(k, _)| &**k == key) {
            // Written again: by someone else, nobody may skip it.
            Some((_, w)) if *w != writer => *w = 0,
            Some(_) => {}
            None => keys.push((key.into(), writer)),
        }
        table.has_pending.store(true, Ordering::Release);
    }
}

/// Sends the BCAST invalidations gathered since the last call: for each
/// prefix, one message per listening client with every key written under
/// it (less, for a NOLOOP client, the keys only it wrote). Called once a
/// command is done (see `events::drain_expired`); one atomic load when
/// nothing is pending.
pub fn flush_bcast(server: &ServerState) {
    let table = &server.tracking;
    if !table.has_pending.swap(false, Ordering::AcqRel) {
        return;
    }
    let pending = std::mem::take(&mut *table.pending.lock());
    let inner = table.inner.lock();
    let mut keys: Vec<&[u8]> = Vec::new();
    for (prefix, written) in &pending {
        let Some(ids) = inner.prefixes.get(prefix) else {
            continue;
        };
        for cid in ids {
            let Some(c) = inner.clients.get(cid) else {
                continue;
            };
            keys.clear();
            keys.extend(
                written
                    .iter()
                    .filter(|(_, w)| !(c.noloop && w == cid))
                    .map(|(k, _)| &**k),
            );
            if !keys.is_empty() {
                send(server, c, Some(&keys));
            }
        }
    }
}

/// A connection closes: its tracking ends, and (unlike Redis, which leaves
/// them until the keys are next written) the keys it read are forgotten at
/// once, so the table does not keep entries no one will ever be told about.
/// That walks the whole key table, under its lock, but only for a client
/// that was tracking reads.
pub fn disconnect(server: &ServerState, t: &mut SessionTracking) {
    if t.on && !t.bcast {
        let id = t.id;
        let mut i = server.tracking.inner.lock();
        let inner = &mut *i;
        let mut dropped = 0;
        inner.keys.retain(|_, ids| {
            if ids.remove(&id) {
                dropped += 1;
            }
            !ids.is_empty()
        });
        inner.items -= dropped;
    }
    t.disable();
}

/// FLUSHDB/FLUSHALL: every tracking client gets a null invalidation and the
/// table is emptied.
pub fn invalidate_all(server: &ServerState) {
    let mut i = server.tracking.inner.lock();
    i.keys.clear();
    i.items = 0;
    for c in i.clients.values() {
        send(server, c, None);
    }
}

/// Sends one invalidation (`keys` None: a flush) to a tracking client or
/// its redirect target.
fn send(server: &ServerState, c: &Tracked, keys: Option<&[&[u8]]>) {
    let write = |r: &mut ReplyBuf| match keys {
        Some(ks) => {
            r.array(ks.len());
            for k in ks {
                r.bulk(k);
            }
        }
        None => r.null(),
    };
    if c.redirect != 0 {
        let Some(target) = server.clients.get(c.redirect) else {
            if !c.broken.swap(true, Ordering::Relaxed) && c.handle.resp.load(Ordering::Relaxed) >= 3
            {
                let mut r = ReplyBuf::new(quiver_resp::Proto::Resp3);
                r.push(2);
                r.bulk(b"tracking-redir-broken");
                r.int(c.redirect as i64);
                c.handle.push(&r.out);
            }
            return;
        };
        if target.resp.load(Ordering::Relaxed) >= 3 {
            push_invalidate(&target, &write);
        } else if target.subscriptions.load(Ordering::Relaxed)
            + target.psubscriptions.load(Ordering::Relaxed)
            + target.ssubscriptions.load(Ordering::Relaxed)
            > 0
        {
            let mut r = ReplyBuf::new(quiver_resp::Proto::Resp2);
            r.array(3);
            r.bulk(b"message");
            r.bulk(INVALIDATE_CHANNEL);
            write(&mut r);
            target.push(&r.out);
        }
        return;
    }
    if c.handle.resp.load(Ordering::Relaxed) >= 3 {
        push_invalidate(&c.handle, &write);
    }
    // A RESP2 client without redirection cannot receive pushes.
}

fn push_invalidate(h: &ClientHandle, write: &dyn Fn(&mut ReplyBuf)) {
    let mut r = ReplyBuf::new(quiver_resp::Proto::Resp3);
    r.push(2);
    r.bulk(b"invalidate");
    write(&mut r);
    h.push(&r.out);
}

fn parse_on_off(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let on = if eq_ic(args.get(2), "on") {
        true
    } else if eq_ic(args.get(2), "off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let mut redirect = 0u64;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let a = args.get(i);
        let more = i + 1 < args.len();
        if eq_ic(a, "redirect") && more {
            i += 1;
            let id = parse_i64(args.get(i))?;
            // Redis checks the id refers to a live client right away.
            if id <= 0 || ctx.server.clients.get(id as u64).is_none() {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            redirect = id as u64;
        } else if eq_ic(a, "bcast") {
            bcast = true;
        } else if eq_ic(a, "optin") {
            optin = true;
        } else if eq_ic(a, "optout") {
            optout = true;
        } else if eq_ic(a, "noloop") {
            noloop = true;
        } else if eq_ic(a, "prefix") && more {
            i += 1;
            prefixes.push(args.get(i));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let t = &ctx.session.tracking;
    if !on {
        ctx.session.tracking.disable();
        ctx.reply.ok();
        return Ok(());
    }
    if !bcast && !prefixes.is_empty() {
        return Err(CmdError::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if t.on && t.bcast != bcast {
        return Err(CmdError::err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if optin && optout {
        return Err(CmdError::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if bcast && (optin || optout) {
        return Err(CmdError::err(
            "OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if t.on && ((optin && t.optout) || (optout && t.optin)) {
        return Err(CmdError::err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    // Prefixes must not overlap each other nor those already registered.
    let id = ctx.session.id;
    let existing: Vec<Box<[u8]>> = ctx
        .server
        .tracking
        .inner
        .lock()
        .clients
        .get(&id)
        .map(|c| c.prefixes.clone())
        .unwrap_or_default();
    for (n, p) in prefixes.iter().enumerate() {
        for e in &existing {
            if p.starts_with(e) || e.starts_with(p) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(e)
                )));
            }
        }
        for q in prefixes.iter().skip(n + 1) {
            if p.starts_with(q) || q.starts_with(p) {
                return Err(CmdError::err(format!(
                    "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(q)
                )));
            }
        }
    }
    if bcast && prefixes.is_empty() {
        prefixes.push(b"");
    }
    let table = ctx.server.tracking.clone();
    {
        let mut inner = table.inner.lock();
        let entry = inner.clients.entry(id).or_insert_with(|| Tracked {
            handle: ctx.session.handle.clone(),
            redirect: 0,
            bcast,
            noloop,
            broken: AtomicBool::new(false),
            prefixes: Vec::new(),
        });
        entry.redirect = redirect;
        entry.bcast = bcast;
        entry.noloop = noloop;
        entry.broken.store(false, Ordering::Relaxed);
        let mut added = Vec::new();
        for p in &prefixes {
            if !entry.prefixes.iter().any(|e| &**e == *p) {
                entry.prefixes.push((*p).into());
                added.push(*p);
            }
        }
        for p in added {
            inner.prefixes.entry(p.into()).or_default().insert(id);
        }
        table.clients.store(inner.clients.len(), Ordering::Relaxed);
    }
    let s = &mut ctx.session.tracking;
    s.on = true;
    s.bcast = bcast;
    s.optin = optin;
    s.optout = optout;
    s.noloop = noloop;
    s.redirect = redirect;
    s.caching = None;
    s.id = id;
    s.table = Some(table);
    ctx.reply.ok();
    Ok(())
}

/// CLIENT TRACKING (ON|OFF) [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]
pub fn client_tracking(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    parse_on_off(ctx, &args)?;
    // Expired keys must now (or no longer) reach the tracking table.
    crate::events::update_listening(ctx.server);
    Ok(())
}

/// CLIENT CACHING (YES|NO): the next command's reads are (not) tracked.
pub fn client_caching(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let t = &mut ctx.session.tracking;
    if !t.on {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    let v = args.get(2);
    if eq_ic(v, "yes") {
        if !t.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
        t.caching = Some(true);
    } else if eq_ic(v, "no") {
        if !t.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
        t.caching = Some(false);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.reply.ok();
    Ok(())
}

/// CLIENT GETREDIR: -1 when not tracking, else the redirect id (0: none).
pub fn client_getredir(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let t = &ctx.session.tracking;
    ctx.reply.int(if t.on { t.redirect as i64 } else { -1 });
    Ok(())
}

/// The redirect CLIENT LIST shows (`redir=`) and the flag letters it adds
/// (`t` tracking, `B` bcast, `R` broken redirect).
pub fn list_fields(server: &ServerState, id: u64) -> (i64, &'static str) {
    let i = server.tracking.inner.lock();
    match i.clients.get(&id) {
        None => (-1, ""),
        Some(c) => {
            let broken = c.broken.load(Ordering::Relaxed);
            let flags = match (c.bcast, broken) {
                (false, false) => "t",
                (true, false) => "tB",
                (false, true) => "tR",
                (true, true) => "tRB",
            };
            (c.redirect as i64, flags)
        }
    }
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes.
pub fn client_trackinginfo(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let t = &ctx.session.tracking;
    let id = ctx.session.id;
    let mut flags: Vec<&str> = Vec::new();
    let (prefixes, broken) = if t.on {
        let i = ctx.server.tracking.inner.lock();
        match i.clients.get(&id) {
            Some(c) => (c.prefixes.clone(), c.broken.load(Ordering::Relaxed)),
            None => (Vec::new(), false),
        }
    } else {
        (Vec::new(), false)
    };
    if !t.on {
        flags.push("off");
    } else {
        flags.push("on");
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching == Some(true) {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching == Some(false) {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        if broken {
            flags.push("broken_redirect");
        }
    }
    let redirect = if t.on { t.redirect as i64 } else { -1 };
    let r = &mut *ctx.reply;
    r.map(3);
    r.bulk(b"flags");
    r.set(flags.len());
    for f in flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"redirect");
    r.int(redirect);
    r.bulk(b"prefixes");
    r.array(prefixes.len());
    for p in prefixes {
        r.bulk(&p);
    }
    Ok(())
}
