//! The registry of connected clients, for CLIENT LIST/INFO/KILL, INFO
//! clients and MONITOR.
//!
//! Each connection owns its `Session`; what other connections may need to
//! read or signal lives in a shared [`ClientHandle`] made of atomics and
//! small locks, so listing clients never blocks a connection.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// What other connections can see of, and do to, one client.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: u64,
    pub name: Mutex<Vec<u8>>,
    pub lib_name: Mutex<Vec<u8>>,
    pub lib_ver: Mutex<Vec<u8>>,
    pub db: AtomicUsize,
    pub last_interaction_ms: AtomicU64,
    /// Registry index of the last command run (for CLIENT LIST `cmd=`).
    pub last_cmd: AtomicUsize,
    pub resp: AtomicU8,
    /// -1 outside MULTI, else the number of queued commands.
    pub multi: AtomicU64,
    pub monitor: AtomicBool,
    pub no_evict: AtomicBool,
    pub no_touch: AtomicBool,
    pub query_buf: AtomicUsize,
    pub out_buf: AtomicUsize,
    pub is_master_or_replica: bool,
    /// Channel, pattern and shard-channel subscriptions (CLIENT LIST
    /// `sub`/`psub`/`ssub`; a client with any is of type `pubsub`).
    pub subscriptions: AtomicUsize,
    pub psubscriptions: AtomicUsize,
    pub ssubscriptions: AtomicUsize,
    killed: AtomicBool,
    kill_notify: Notify,
    /// Keys this client WATCHes (CLIENT LIST `watch=`).
    pub watching: AtomicUsize,
    /// True while the client waits in a blocking command.
    pub blocked: AtomicBool,
    /// A pending CLIENT UNBLOCK (0 none, 1 timeout, 2 error).
    unblock_mode: AtomicU8,
    unblock_notify: Notify,
    /// Out-of-band messages for this client (pub/sub messages, tracking
    /// invalidations, keyspace notifications), already encoded for its
    /// protocol. Other connections append here; the client's own connection
    /// task writes it out after its pending replies, so a message never lands
    /// inside another reply.
    outbox: Mutex<Vec<u8>>,
    /// Bytes waiting in `outbox` (CLIENT LIST `omem`, output-buffer limits).
    pub outbox_bytes: AtomicUsize,
    outbox_notify: Notify,
    /// The ACL user this connection is authenticated as (CLIENT LIST
    /// `user=`, ACL DELUSER).
    pub user: Mutex<String>,
    /// How it authenticated (`acl::auth_kind`): key-authenticated clients
    /// are closed when key authentication is disabled.
    pub auth_kind: AtomicU8,
    /// Unix ms at which a token-authenticated connection must close unless
    /// a re-AUTH moves it (0: no deadline).
    pub token_deadline_ms: AtomicU64,
}

/// How CLIENT UNBLOCK ends a blocked command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unblock {
    /// Reply as if the timeout had passed.
    Timeout,
    /// Reply `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    Error,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, now_ms: u64) -> Self {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            name: Mutex::new(Vec::new()),
            lib_name: Mutex::new(Vec::new()),
            lib_ver: Mutex::new(Vec::new()),
            db: AtomicUsize::new(0),
            last_interaction_ms: AtomicU64::new(now_ms),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            multi: AtomicU64::new(u64::MAX),
            monitor: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            query_buf: AtomicUsize::new(0),
            out_buf: AtomicUsize::new(0),
            is_master_or_replica: false,
            subscriptions: AtomicUsize::new(0),
            psubscriptions: AtomicUsize::new(0),
            ssubscriptions: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            blocked: AtomicBool::new(false),
            watching: AtomicUsize::new(0),
            unblock_mode: AtomicU8::new(0),
            unblock_notify: Notify::new(),
            outbox: Mutex::new(Vec::new()),
            outbox_bytes: AtomicUsize::new(0),
            outbox_notify: Notify::new(),
            user: Mutex::new("default".to_string()),
            auth_kind: AtomicU8::new(0),
            token_deadline_ms: AtomicU64::new(0),
        }
    }

    /// Asks the connection to close (CLIENT KILL); it notices at once.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kill_notify.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Asks a blocked client to stop waiting; false if it is not blocked.
    pub fn unblock(&self, mode: Unblock) -> bool {
        if !self.blocked.load(Ordering::SeqCst) {
            return false;
        }
        let code = match mode {
            Unblock::Timeout => 1,
            Unblock::Error => 2,
        };
        self.unblock_mode.store(code, Ordering::SeqCst);
        self.unblock_notify.notify_one();
        true
    }

    /// Resolves when CLIENT UNBLOCK targets this client; yields the mode and
    /// clears the request.
    pub async fn unblocked(&self) -> Unblock {
        loop {
            match self.unblock_mode.swap(0, Ordering::SeqCst) {
                1 => return Unblock::Timeout,
                2 => return Unblock::Error,
                _ => self.unblock_notify.notified().await,
            }
        }
    }

    /// Queues an out-of-band message (encoded for this client's protocol)
    /// and wakes the connection. Returns the bytes now waiting, so the
    /// sender can enforce an output-buffer limit (and [`kill`](Self::kill)
    /// a client that cannot keep up).
    pub fn push(&self, msg: &[u8]) -> usize {
        // The counter changes only under the lock, so it never claims an
        // empty outbox while bytes wait (take_outbox trusts it).
        let pending = {
            let mut out = self.outbox.lock();
            out.extend_from_slice(msg);
            self.outbox_bytes.store(out.len(), Ordering::Relaxed);
            out.len()
        };
        self.outbox_notify.notify_one();
        pending
    }

    /// Takes everything queued by [`push`](Self::push), if anything.
    pub fn take_outbox(&self) -> Option<Vec<u8>> {
        if self.outbox_bytes.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let out = {
            let mut out = self.outbox.lock();
            self.outbox_bytes.store(0, Ordering::Relaxed);
            std::mem::take(&mut *out)
        };
        (!out.is_empty()).then_some(out)
    }

    /// Resolves when something may have been pushed since the last
    /// [`take_outbox`](Self::take_outbox).
    pub async fn outbox_ready(&self) {
        if self.outbox_bytes.load(Ordering::Relaxed) != 0 {
            return;
        }
        self.outbox_notify.notified().await;
    }

    /// Resolves when [`kill`](Self::kill) is called.
    pub async fn killed(&self) {
        while !self.is_killed() {
            self.kill_notify.notified().await;
        }
    }
}

/// All connected clients, by id.
#[derive(Default)]
pub struct ClientRegistry {
    next_id: AtomicU64,
    clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    pub connected: AtomicUsize,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn register(&self, handle: Arc<ClientHandle>) {
        self.clients.lock().insert(handle.id, handle);
        self.connected.fetch_add(1, Ordering::Relaxed);
        self.total_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unregister(&self, id: u64) {
        if self.clients.lock().remove(&id).is_some() {
            self.connected.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.clients.lock().get(&id).cloned()
    }

    /// A snapshot of every client, in id order.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.lock().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
