//! Per-connection state ([`Session`]) and the context a handler runs in
//! ([`Ctx`]).

use crate::clients::ClientHandle;
use crate::spec::CommandSpec;
use crate::state::ServerState;
use quiver_engine::View;
use quiver_resp::{ArgsBuf, ReplyBuf};
use std::sync::Arc;

/// CLIENT REPLY modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress the reply of the next command only.
    Skip,
    /// Set by CLIENT REPLY SKIP itself: the mode becomes `Skip` after it.
    SkipNext,
}

/// A MULTI block being queued.
#[derive(Debug, Default)]
pub struct Multi {
    pub queued: Vec<ArgsBuf>,
    /// A queued command was rejected: EXEC must abort.
    pub dirty: bool,
}

/// What one connection remembers between commands.
pub struct Session {
    pub id: u64,
    pub db: usize,
    pub authenticated: bool,
    pub user: String,
    pub handle: Arc<ClientHandle>,
    pub multi: Option<Multi>,
    pub reply_mode: ReplyMode,
    /// Close the connection once the current replies are flushed (QUIT).
    pub close_after_reply: bool,
    /// Switch the connection into MONITOR mode after this command.
    pub start_monitor: bool,
    pub no_touch: bool,
    pub no_evict: bool,
    /// Set by a blocking command that found nothing to serve: the
    /// connection parks the client on these keys and runs the command again
    /// when woken (see `blocking`).
    pub block: Option<crate::blocking::BlockRequest>,
    /// True while EXEC runs queued commands: blocking commands must then
    /// behave as if their timeout had expired, as in Redis.
    pub in_exec: bool,
    /// Commands run by `redis.call` from a script (MONITOR shows `lua`).
    pub from_script: bool,
    /// True while a blocked client re-runs its command after a wake-up:
    /// keys of the wrong type then count as not ready instead of failing.
    pub woken: bool,
    /// Keys this client WATCHes (db, key, whether it existed at WATCH time).
    pub watched: Vec<(usize, Vec<u8>, bool)>,
    /// Set by writers touching a watched key: EXEC must then fail.
    pub watch_dirty: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Pub/sub subscriptions (dropped with the session on disconnect).
    pub pubsub: crate::pubsub::ClientSubs,
    /// CLIENT TRACKING state (dropped with the session on disconnect).
    pub tracking: crate::tracking::SessionTracking,
    /// The ACL user's compiled permissions, refreshed when the ACL epoch
    /// moves (so ACL SETUSER reaches live connections). `None` until the
    /// first command looks it up.
    pub acl_user: Option<Arc<crate::acl::User>>,
    pub acl_epoch: u64,
    /// The user may run anything: dispatch skips the check.
    pub acl_unrestricted: bool,
    /// Set by the connection: EVAL/FCALL may hand their run back to it
    /// (`script_job`) to execute off the I/O thread (see `scripting`).
    pub defer_scripts: bool,
    /// A script run the connection must execute after this command.
    pub script_job: Option<Box<crate::scripting::Job>>,
}

impl Session {
    /// Drops every WATCH of this client (EXEC, DISCARD, UNWATCH, RESET, disconnect).
    pub fn unwatch_all(&mut self, server: &ServerState) {
        self.handle
            .watching
            .store(0, std::sync::atomic::Ordering::Relaxed);
        if !self.watched.is_empty() {
            let keys: Vec<(usize, Vec<u8>)> =
                self.watched.drain(..).map(|(d, k, _)| (d, k)).collect();
            server.watches.unwatch(self.id, &keys);
        }
        self.watch_dirty
            .store(false, std::sync::atomic::Ordering::Release);
    }

    /// Marks the session authenticated as `authed.user` (AUTH, HELLO AUTH).
    pub fn login(&mut self, authed: crate::acl::Authed) {
        use std::sync::atomic::Ordering;
        self.authenticated = true;
        self.user.clone_from(&authed.user.name);
        *self.handle.user.lock() = authed.user.name.clone();
        self.handle.auth_kind.store(authed.kind, Ordering::Relaxed);
        self.handle
            .token_deadline_ms
            .store(authed.deadline_ms, Ordering::Release);
        self.acl_user = Some(authed.user);
        self.acl_epoch = 0;
    }

    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        Session {
            id: handle.id,
            db: 0,
            authenticated,
            user: "default".to_string(),
            handle,
            multi: None,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            start_monitor: false,
            no_touch: false,
            no_evict: false,
            block: None,
            in_exec: false,
            from_script: false,
            woken: false,
            watched: Vec::new(),
            watch_dirty: Default::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            acl_user: None,
            acl_epoch: 0,
            acl_unrestricted: false,
            defer_scripts: false,
            script_job: None,
        }
    }
}

/// Everything a handler may touch while it runs.
pub struct Ctx<'a> {
    pub server: &'a ServerState,
    pub session: &'a mut Session,
    pub reply: &'a mut ReplyBuf,
    /// The command's clock in unix ms, read once per command.
    pub now: u64,
    pub spec: &'static CommandSpec,
}

impl<'a> Ctx<'a> {
    /// Locks the shard of `key` in the selected database.
    #[inline]
    pub fn view(&self, key: &[u8]) -> View<'a> {
        self.server
            .keyspace
            .lock_key(self.session.db, key, self.now)
    }

    /// Locks the shards of all `keys` in the selected database.
    pub fn view_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> View<'a> {
        self.server
            .keyspace
            .lock_keys(self.session.db, keys, self.now)
    }

    /// Locks the whole selected database.
    pub fn view_all(&self) -> View<'a> {
        self.server.keyspace.lock_all(self.session.db, self.now)
    }

    /// The current compact-encoding limits for collections.
    #[inline]
    pub fn limits(&self) -> quiver_engine::types::Limits {
        self.server.config.hot.encoding_limits()
    }

    /// Wakes clients blocked on `key` in the selected database (call after
    /// a write that may satisfy BLPOP, BZPOPMIN, …).
    #[inline]
    pub fn signal_key(&self, key: &[u8]) {
        self.server.blocking.signal(self.session.db, key);
    }

    /// Counts one data change (for INFO's `rdb_changes_since_last_save`).
    pub fn dirty(&self, n: u64) {
        self.server
            .dirty
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}
