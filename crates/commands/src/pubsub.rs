//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE
//! counterparts, PUBLISH, SPUBLISH and PUBSUB introspection.
//!
//! The server-wide [`Hub`] maps channels (and patterns, and shard channels)
//! to subscribers; each connection keeps its own [`ClientSubs`] so that
//! replies can count its subscriptions without locking the hub. Messages
//! reach a subscriber through [`ClientHandle::push`], encoded once per
//! protocol per PUBLISH and only for the protocols actually present.
//!
//! A subscriber that does not read its socket makes its outbox grow; the
//! `pubsub` class of `client-output-buffer-limit` bounds that: past the hard
//! limit, or past the soft limit for longer than its seconds, the client is
//! disconnected as Redis does.
//!
//! Cleanup is tied to the session: [`ClientSubs`] holds the hub and removes
//! every subscription when dropped, so a disconnect (the session ends) can
//! never leave a dead client subscribed.

use crate::clients::ClientHandle;
use crate::context::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::introspection::help_reply;
use crate::spec::{acl, flag, CommandSpec, KeySpec, NO_KEYS};
use crate::state::ServerState;
use hashbrown::HashMap;
use parking_lot::RwLock;
use quiver_resp::{Args, Proto, ReplyBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const PS: u32 = flag::PUBSUB | flag::LOADING | flag::STALE;
const PSN: u32 = PS | flag::NOSCRIPT;
const ACL: u64 = acl::PUBSUB;
const SHARD_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};
const SPUBLISH_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 1,
    step: 1,
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Listens for messages published to channels.",
        since: "2.0.0",
        ..CommandSpec::new("subscribe", -2, PSN, NO_KEYS, ACL, "pubsub", subscribe)
    },
    CommandSpec {
        summary: "Stops listening to messages posted to channels.",
        since: "2.0.0",
        ..CommandSpec::new("unsubscribe", -1, PSN, NO_KEYS, ACL, "pubsub", unsubscribe)
    },
    CommandSpec {
        summary: "Listens for messages published to channels that match one or more patterns.",
        since: "2.0.0",
        ..CommandSpec::new("psubscribe", -2, PSN, NO_KEYS, ACL, "pubsub", psubscribe)
    },
    CommandSpec {
        summary:
            "Stops listening to messages published to channels that match one or more patterns.",
        since: "2.0.0",
        ..CommandSpec::new(
            "punsubscribe",
            -1,
            PSN,
            NO_KEYS,
            ACL,
            "pubsub",
            punsubscribe,
        )
    },
    CommandSpec {
        summary: "Posts a message to a channel.",
        since: "2.0.0",
        ..CommandSpec::new(
            "publish",
            3,
            PS | flag::FAST,
            NO_KEYS,
            ACL,
            "pubsub",
            publish_cmd,
        )
    },
    CommandSpec {
        summary: "Listens for messages published to shard channels.",
        since: "7.0.0",
        ..CommandSpec::new("ssubscribe", -2, PSN, SHARD_KEYS, ACL, "pubsub", ssubscribe)
    },
    CommandSpec {
        summary: "Stops listening to messages posted to shard channels.",
        since: "7.0.0",
        ..CommandSpec::new(
            "sunsubscribe",
            -1,
            PSN,
            SHARD_KEYS,
            ACL,
            "pubsub",
            sunsubscribe,
        )
    },
    CommandSpec {
        summary: "Post a message to a shard channel",
        since: "7.0.0",
        ..CommandSpec::new(
            "spublish",
            3,
            PS | flag::FAST,
            SPUBLISH_KEYS,
            ACL,
            "pubsub",
            spublish_cmd,
        )
    },
    CommandSpec {
        summary: "A container for Pub/Sub commands.",
        since: "2.8.0",
        subcommands: SUBCOMMANDS,
        ..CommandSpec::new("pubsub", -2, 0, NO_KEYS, 0, "pubsub", container)
    },
];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        summary: "Returns the active channels.",
        since: "2.8.0",
        ..CommandSpec::new("pubsub|channels", -2, PS, NO_KEYS, ACL, "pubsub", channels)
    },
    CommandSpec {
        summary: "Returns a count of unique pattern subscriptions.",
        since: "2.8.0",
        ..CommandSpec::new("pubsub|numpat", 2, PS, NO_KEYS, ACL, "pubsub", numpat)
    },
    CommandSpec {
        summary: "Returns a count of subscribers to channels.",
        since: "2.8.0",
        ..CommandSpec::new("pubsub|numsub", -2, PS, NO_KEYS, ACL, "pubsub", numsub)
    },
    CommandSpec {
        summary: "Returns the active shard channels.",
        since: "7.0.0",
        ..CommandSpec::new(
            "pubsub|shardchannels",
            -2,
            PS,
            NO_KEYS,
            ACL,
            "pubsub",
            shardchannels,
        )
    },
    CommandSpec {
        summary: "Returns the count of subscribers of shard channels.",
        since: "7.0.0",
        ..CommandSpec::new(
            "pubsub|shardnumsub",
            -2,
            PS,
            NO_KEYS,
            ACL,
            "pubsub",
            shardnumsub,
        )
    },
    CommandSpec {
        summary: "Returns helpful text about the different subcommands.",
        since: "6.2.0",
        ..CommandSpec::new(
            "pubsub|help",
            2,
            flag::LOADING | flag::STALE,
            NO_KEYS,
            0,
            "pubsub",
            help,
        )
    },
];

/// One subscribed client as the hub sees it. Shared by every channel the
/// client listens to, so the soft-limit clock is per client, as in Redis.
pub struct Subscriber {
    pub handle: Arc<ClientHandle>,
    /// Unix ms since when the outbox has been above the soft limit (0: not).
    soft_since: AtomicU64,
}

type Table = HashMap<Box<[u8]>, Vec<Arc<Subscriber>>>;

/// Patterns and their subscribers, in the order the patterns were first
/// subscribed.
type PatternList = Vec<(Box<[u8]>, Vec<Arc<Subscriber>>)>;

/// Every subscription on the server.
#[derive(Default)]
pub struct Hub {
    channels: RwLock<Table>,
    /// Patterns in the order they were first subscribed.
    patterns: RwLock<PatternList>,
    shard: RwLock<Table>,
}

/// Which of the three subscription namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

impl Hub {
    /// Channels, patterns and shard channels with at least one subscriber
    /// (INFO `pubsub_channels`, `pubsub_patterns`, `pubsubshard_channels`).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.channels.read().len(),
            self.patterns.read().len(),
            self.shard.read().len(),
        )
    }

    fn add(&self, kind: Kind, name: &[u8], sub: &Arc<Subscriber>) {
        match kind {
            Kind::Channel => add_to(&mut self.channels.write(), name, sub),
            Kind::Shard => add_to(&mut self.shard.write(), name, sub),
            Kind::Pattern => {
                let mut p = self.patterns.write();
                match p.iter_mut().find(|(n, _)| &**n == name) {
                    Some((_, subs)) => subs.push(sub.clone()),
                    None => p.push((name.into(), vec![sub.clone()])),
                }
            }
        }
    }

    fn remove(&self, kind: Kind, name: &[u8], id: u64) {
        match kind {
            Kind::Channel => remove_from(&mut self.channels.write(), name, id),
            Kind::Shard => remove_from(&mut self.shard.write(), name, id),
            Kind::Pattern => {
                let mut p = self.patterns.write();
                if let Some(i) = p.iter().position(|(n, _)| &**n == name) {
                    p[i].1.retain(|s| s.handle.id != id);
                    if p[i].1.is_empty() {
                        p.remove(i);
                    }
                }
            }
        }
    }
}

fn add_to(t: &mut Table, name: &[u8], sub: &Arc<Subscriber>) {
    match t.get_mut(name) {
        Some(v) => v.push(sub.clone()),
        None => {
            t.insert(name.into(), vec![sub.clone()]);
        }
    }
}

fn remove_from(t: &mut Table, name: &[u8], id: u64) {
    if let Some(v) = t.get_mut(name) {
        v.retain(|s| s.handle.id != id);
        if v.is_empty() {
            t.remove(name);
        }
    }
}

/// One namespace of a client's subscriptions, remembering the order they
/// were made in (a bare UNSUBSCRIBE answers in that order).
#[derive(Default)]
struct NameSet {
    names: HashMap<Box<[u8]>, u64>,
    seq: u64,
}

impl NameSet {
    fn insert(&mut self, name: &[u8]) -> bool {
        if self.names.contains_key(name) {
            return false;
        }
        self.seq += 1;
        self.names.insert(name.into(), self.seq);
        true
    }

    fn remove(&mut self, name: &[u8]) -> bool {
        self.names.remove(name).is_some()
    }

    fn ordered(&self) -> Vec<Box<[u8]>> {
        let mut v: Vec<(&Box<[u8]>, &u64)> = self.names.iter().collect();
        v.sort_by_key(|(_, s)| **s);
        v.into_iter().map(|(n, _)| n.clone()).collect()
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// A connection's subscriptions. Dropping it (disconnect) unsubscribes
/// everything.
#[derive(Default)]
pub struct ClientSubs {
    hub: Option<Arc<Hub>>,
    me: Option<Arc<Subscriber>>,
    channels: NameSet,
    patterns: NameSet,
    shard: NameSet,
}

impl ClientSubs {
    /// Channel plus pattern subscriptions: what (P)SUBSCRIBE replies count.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Every subscription, shard channels included: while non-zero a RESP2
    /// client is in subscribed mode.
    #[inline]
    pub fn total(&self) -> usize {
        self.count() + self.shard.len()
    }

    fn set(&mut self, kind: Kind) -> &mut NameSet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    fn reply_count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.count(),
        }
    }

    fn publish_counters(&self) {
        if let Some(me) = &self.me {
            let h = &me.handle;
            h.subscriptions
                .store(self.channels.len(), Ordering::Relaxed);
            h.psubscriptions
                .store(self.patterns.len(), Ordering::Relaxed);
            h.ssubscriptions.store(self.shard.len(), Ordering::Relaxed);
        }
    }

    /// Drops every subscription at once (RESET, disconnect) without replying.
    pub fn clear(&mut self) {
        if let (Some(hub), Some(me)) = (&self.hub, &self.me) {
            let id = me.handle.id;
            for (kind, set) in [
                (Kind::Channel, &self.channels),
                (Kind::Pattern, &self.patterns),
                (Kind::Shard, &self.shard),
            ] {
                for name in set.names.keys() {
                    hub.remove(kind, name, id);
                }
            }
        }
        self.channels = NameSet::default();
        self.patterns = NameSet::default();
        self.shard = NameSet::default();
        self.publish_counters();
    }
}

impl Drop for ClientSubs {
    fn drop(&mut self) {
        self.clear();
    }
}

/// True when a RESP2 client is subscribed: only (P|S)(UN)SUBSCRIBE, PING,
/// QUIT and RESET may run then (checked by dispatch).
#[inline]
pub fn resp2_subscribed(ctx_session: &crate::context::Session, proto: Proto) -> bool {
    proto == Proto::Resp2 && ctx_session.pubsub.total() > 0
}

/// Commands a RESP2 client in subscribed mode may still send.
pub fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "psubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// The error Redis gives for any other command in subscribed mode.
pub fn subscribed_mode_error(name: &str) -> CmdError {
    CmdError::err(format!(
        "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn do_subscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    let subs = &mut ctx.session.pubsub;
    if subs.me.is_none() {
        subs.me = Some(Arc::new(Subscriber {
            handle: ctx.session.handle.clone(),
            soft_since: AtomicU64::new(0),
        }));
    }
    subs.hub.get_or_insert_with(|| hub.clone());
    for name in args.iter().skip(1) {
        if subs.set(kind).insert(name) {
            if let Some(me) = &subs.me {
                hub.add(kind, name, me);
            }
        }
        ctx.reply.push(3);
        ctx.reply.bulk(kind.sub_name());
        ctx.reply.bulk(name);
        ctx.reply.int(subs.reply_count(kind) as i64);
    }
    subs.publish_counters();
    Ok(())
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    let subs = &mut ctx.session.pubsub;
    let id = ctx.session.handle.id;
    let names: Vec<Box<[u8]>> = if args.len() > 1 {
        args.iter().skip(1).map(Box::from).collect()
    } else {
        subs.set(kind).ordered()
    };
    if names.is_empty() {
        ctx.reply.push(3);
        ctx.reply.bulk(kind.unsub_name());
        ctx.reply.null();
        ctx.reply.int(subs.reply_count(kind) as i64);
        return Ok(());
    }
    for name in names {
        if subs.set(kind).remove(&name) {
            hub.remove(kind, &name, id);
        }
        ctx.reply.push(3);
        ctx.reply.bulk(kind.unsub_name());
        ctx.reply.bulk(&name);
        ctx.reply.int(subs.reply_count(kind) as i64);
    }
    subs.publish_counters();
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_subscribe(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_subscribe(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_subscribe(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    do_unsubscribe(ctx, args, Kind::Shard)
}

/// A message encoded lazily, once per protocol.
struct Encoded<'a> {
    parts: &'a [&'a [u8]],
    r2: Option<Vec<u8>>,
    r3: Option<Vec<u8>>,
}

impl<'a> Encoded<'a> {
    fn new(parts: &'a [&'a [u8]]) -> Self {
        Encoded {
            parts,
            r2: None,
            r3: None,
        }
    }

    fn get(&mut self, resp: u8) -> &[u8] {
        let (slot, proto) = if resp >= 3 {
            (&mut self.r3, Proto::Resp3)
        } else {
            (&mut self.r2, Proto::Resp2)
        };
        let parts = self.parts;
        slot.get_or_insert_with(|| {
            let mut r = ReplyBuf::new(proto);
            r.push(parts.len());
            for p in parts {
                r.bulk(p);
            }
            r.out
        })
    }
}

/// The `pubsub` output-buffer limits: hard bytes, soft bytes, soft seconds.
fn limits(server: &ServerState) -> (u64, u64, u64) {
    let h = &server.config.hot;
    (
        h.pubsub_obl_hard.load(Ordering::Relaxed),
        h.pubsub_obl_soft.load(Ordering::Relaxed),
        h.pubsub_obl_secs.load(Ordering::Relaxed),
    )
}

/// Queues `bytes` for one subscriber and enforces the pubsub output-buffer
/// limits on it.
fn deliver(sub: &Subscriber, bytes: &[u8], lim: (u64, u64, u64), now: u64) {
    let h = &sub.handle;
    if h.is_killed() {
        return;
    }
    let pending = h.push(bytes) as u64;
    let (hard, soft, secs) = lim;
    if hard > 0 && pending >= hard {
        h.kill();
        return;
    }
    if soft > 0 && pending >= soft {
        let since = sub.soft_since.load(Ordering::Relaxed);
        if since == 0 {
            sub.soft_since.store(now.max(1), Ordering::Relaxed);
        } else if now.saturating_sub(since) >= secs * 1000 {
            h.kill();
        }
    } else {
        sub.soft_since.store(0, Ordering::Relaxed);
    }
}

/// Sends `msg` to everyone subscribed to `channel` or to a pattern matching
/// it; returns how many deliveries were made (PUBLISH's reply: a client
/// matching through two patterns counts twice).
pub fn publish(server: &ServerState, channel: &[u8], msg: &[u8]) -> usize {
    let hub = &server.pubsub;
    let lim = limits(server);
    let now = quiver_engine::now_ms();
    let mut n = 0;
    {
        let parts: [&[u8]; 3] = [b"message", channel, msg];
        let mut enc = Encoded::new(&parts);
        let chans = hub.channels.read();
        if let Some(subs) = chans.get(channel) {
            for s in subs {
                deliver(s, enc.get(s.handle.resp.load(Ordering::Relaxed)), lim, now);
                n += 1;
            }
        }
    }
    let pats = hub.patterns.read();
    for (pat, subs) in pats.iter() {
        if !quiver_engine::glob_match(pat, channel, false) {
            continue;
        }
        let parts: [&[u8]; 4] = [b"pmessage", pat, channel, msg];
        let mut enc = Encoded::new(&parts);
        for s in subs {
            deliver(s, enc.get(s.handle.resp.load(Ordering::Relaxed)), lim, now);
            n += 1;
        }
    }
    n
}

/// Sends raw pre-built message parts to the subscribers of `channel` only
/// (no patterns): used for tracking invalidations, whose payload is an
/// array rather than a bulk string. `encode` writes the message for one
/// protocol.
pub fn publish_with(server: &ServerState, channel: &[u8], encode: &dyn Fn(&mut ReplyBuf)) -> usize {
    let lim = limits(server);
    let now = quiver_engine::now_ms();
    let chans = server.pubsub.channels.read();
    let Some(subs) = chans.get(channel) else {
        return 0;
    };
    let (mut r2, mut r3): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    for s in subs {
        let resp = s.handle.resp.load(Ordering::Relaxed);
        let (slot, proto) = if resp >= 3 {
            (&mut r3, Proto::Resp3)
        } else {
            (&mut r2, Proto::Resp2)
        };
        let bytes = slot.get_or_insert_with(|| {
            let mut r = ReplyBuf::new(proto);
            encode(&mut r);
            r.out
        });
        deliver(s, bytes, lim, now);
    }
    subs.len()
}

/// Whether anyone is subscribed to `channel` directly (tracking redirection
/// to a RESP2 client needs it subscribed to `__redis__:invalidate`).
pub fn is_subscribed(server: &ServerState, channel: &[u8], id: u64) -> bool {
    server
        .pubsub
        .channels
        .read()
        .get(channel)
        .is_some_and(|v| v.iter().any(|s| s.handle.id == id))
}

fn spublish(server: &ServerState, channel: &[u8], msg: &[u8]) -> usize {
    let lim = limits(server);
    let now = quiver_engine::now_ms();
    let parts: [&[u8]; 3] = [b"smessage", channel, msg];
    let mut enc = Encoded::new(&parts);
    let shard = server.pubsub.shard.read();
    let Some(subs) = shard.get(channel) else {
        return 0;
    };
    for s in subs {
        deliver(s, enc.get(s.handle.resp.load(Ordering::Relaxed)), lim, now);
    }
    subs.len()
}

fn publish_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let n = publish(ctx.server, args.get(1), args.get(2));
    ctx.reply.int(n as i64);
    Ok(())
}

fn spublish_cmd(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let n = spublish(ctx.server, args.get(1), args.get(2));
    ctx.reply.int(n as i64);
    Ok(())
}

fn container(_ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    Err(CmdError::WrongArity("pubsub".into()))
}

/// The error Redis gives a PUBSUB subcommand called with too many arguments.
fn sub_arity(args: &Args<'_>) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(args.get(1))
    ))
}

fn list_names(ctx: &mut Ctx<'_>, args: Args<'_>, table: &RwLock<Table>) -> CmdResult {
    if args.len() > 3 {
        return Err(sub_arity(&args));
    }
    let pat = args.try_get(2);
    let t = table.read();
    let names: Vec<&Box<[u8]>> = t
        .keys()
        .filter(|n| pat.is_none_or(|p| quiver_engine::glob_match(p, n, false)))
        .collect();
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk(n);
    }
    Ok(())
}

fn channels(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    list_names(ctx, args, &hub.channels)
}

fn shardchannels(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    list_names(ctx, args, &hub.shard)
}

fn count_subs(ctx: &mut Ctx<'_>, args: Args<'_>, table: &RwLock<Table>) -> CmdResult {
    let t = table.read();
    // A flat array in both protocols, as Redis 7.0 replies.
    ctx.reply.array((args.len() - 2) * 2);
    for name in args.iter().skip(2) {
        ctx.reply.bulk(name);
        ctx.reply.int(t.get(name).map_or(0, |v| v.len()) as i64);
    }
    Ok(())
}

fn numsub(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    count_subs(ctx, args, &hub.channels)
}

fn shardnumsub(ctx: &mut Ctx<'_>, args: Args<'_>) -> CmdResult {
    let hub = ctx.server.pubsub.clone();
    count_subs(ctx, args, &hub.shard)
}

fn numpat(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    let n = ctx.server.pubsub.patterns.read().len();
    ctx.reply.int(n as i64);
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _args: Args<'_>) -> CmdResult {
    help_reply(
        ctx.reply,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Channels with at least one subscriber, optionally only those matching <pattern>.",
            "NUMPAT",
            "    How many distinct patterns have subscribers.",
            "NUMSUB [<channel> ...]",
            "    Subscriber count of each channel (pattern subscriptions not counted).",
            "SHARDCHANNELS [<pattern>]",
            "    Shard channels with at least one subscriber, optionally matching <pattern>.",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Subscriber count of each shard channel.",
            "HELP",
            "    Print this help.",
        ],
    );
    Ok(())
}

/// PING in RESP2 subscribed mode replies `["pong", <message or "">]`.
/// Returns true when it wrote that reply.
pub fn subscribed_ping(ctx: &mut Ctx<'_>, args: &Args<'_>) -> bool {
    if !resp2_subscribed(ctx.session, ctx.reply.proto) {
        return false;
    }
    ctx.reply.array(2);
    ctx.reply.bulk(b"pong");
    ctx.reply.bulk(args.try_get(1).unwrap_or(b""));
    true
}
