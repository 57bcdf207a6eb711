//! The quiver-server binary's machinery: start-up options, listeners,
//! connections and background tasks around the command engine.
//!
//! Connections run on `current_thread` tokio runtimes, one per I/O thread
//! (`io-threads`), fed round-robin by a single acceptor; see
//! `docs/ARCHITECTURE.md` for the measurements behind that choice.

pub mod connection;
pub mod cron;
pub mod huge_pages;
pub mod idle_poll;
pub mod options;
pub mod tls;

use quiver_commands::clients::ClientHandle;
use quiver_commands::ServerState;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A connection accepted and handed to an I/O thread (true: on the TLS port).
type Accepted = (TcpStream, SocketAddr, bool);

/// Binds the listeners named by `bind` and `port`; port 0 picks a free one.
///
/// With `tls-port` set, TLS listeners follow the plain ones (which `port 0`
/// then disables, as in Redis); a missing certificate is generated
/// (see [`tls::self_signed_start`]). The `aclfile` is loaded here too.
pub async fn bind(state: &ServerState) -> std::io::Result<Vec<TcpListener>> {
    access_keys_from_env(state).map_err(std::io::Error::other)?;
    if !state.config.get("aclfile").is_empty() {
        quiver_commands::acl::command::load_file(state).map_err(std::io::Error::other)?;
    }
    let _ = quiver_commands::state::TLS_CHECK.set(tls::check);
    let tls_port = state.config.get_i64("tls-port") as u16;
    let mut listeners = if tls_port != 0 && state.config.get_i64("port") == 0 {
        Vec::new()
    } else {
        bind_port(state, state.config.get_i64("port") as u16).await?
    };
    if let Some(l) = listeners.first() {
        state
            .tcp_port
            .store(l.local_addr()?.port() as u64, Ordering::Relaxed);
    }
    if tls_port != 0 {
        tls::self_signed_start(state).map_err(std::io::Error::other)?;
        // Fail at start-up, not at the first handshake.
        tls::build(state).map_err(std::io::Error::other)?;
        let tls_listeners = bind_port(state, tls_port).await?;
        state.tls_port.store(tls_port as u64, Ordering::Relaxed);
        listeners.extend(tls_listeners);
    }
    Ok(listeners)
}

/// Access keys may come from the environment (`QUIVER_ACCESS_KEY_PRIMARY`,
/// `QUIVER_ACCESS_KEY_SECONDARY`), which keeps them off the command line,
/// where `ps` shows them to every local user, and out of config files. A
/// directive given explicitly wins over the environment. Applied before the
/// self-signed start, which generates a key only when none is configured.
fn access_keys_from_env(state: &ServerState) -> Result<(), String> {
    for (var, directive) in [
        ("QUIVER_ACCESS_KEY_PRIMARY", "access-key-primary"),
        ("QUIVER_ACCESS_KEY_SECONDARY", "access-key-secondary"),
    ] {
        let Ok(value) = std::env::var(var) else {
            continue;
        };
        if !value.is_empty() && state.config.get(directive).is_empty() {
            state.config.set_startup(directive, &value)?;
        }
    }
    Ok(())
}

async fn bind_port(state: &ServerState, port: u16) -> std::io::Result<Vec<TcpListener>> {
    let binds = state.config.get("bind");
    let mut listeners = Vec::new();
    for addr in binds.split_whitespace() {
        // Redis's `-` prefix marks an optional address.
        let (optional, addr) = match addr.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, addr),
        };
        let host = if addr == "*" { "0.0.0.0" } else { addr };
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        match TcpListener::bind(&target).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => tracing::warn!("skipping optional bind address {addr}: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(listeners)
}

/// Runs the server until SHUTDOWN: accepts on `listeners`, serves on
/// `io_threads` runtimes, and runs the cron on this one.
pub async fn serve(state: Arc<ServerState>, listeners: Vec<TcpListener>) {
    // Initial scans of large databases for FT.CREATE run here, off the I/O
    // threads; the thread ends when the server state is dropped.
    let weak = Arc::downgrade(&state);
    let _ = std::thread::Builder::new()
        .name("quiver-indexer".into())
        .spawn(move || quiver_commands::search::sync::run_indexer(weak));
    let io_threads = state.config.get_i64("io-threads").max(1) as usize;
    // One TLS acceptor per server (not per process: tests and embedders run
    // several servers side by side), shared by its I/O threads.
    let tls = Arc::new(tls::Tls::default());
    // Extra I/O threads each run their own current_thread runtime.
    let mut workers: Vec<mpsc::UnboundedSender<Accepted>> = Vec::new();
    for i in 1..io_threads {
        let (tx, mut rx) = mpsc::unbounded_channel::<Accepted>();
        let st = state.clone();
        let tls = tls.clone();
        std::thread::Builder::new()
            .name(format!("quiver-io-{i}"))
            .spawn(move || {
                let mut builder = tokio::runtime::Builder::new_current_thread();
                let rt = match idle_poll::install(&mut builder, &st).enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("cannot start I/O thread: {e}");
                        return;
                    }
                };
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async move {
                    while let Some((stream, peer, is_tls)) = rx.recv().await {
                        start_connection(&st, &tls, stream, peer, is_tls);
                    }
                });
            })
            .expect("spawning an I/O thread at start-up");
        workers.push(tx);
    }
    tokio::spawn(cron::run(state.clone()));
    tokio::spawn(auth_watch(state.clone()));
    let (acc_tx, mut acc_rx) = mpsc::unbounded_channel::<Accepted>();
    let tls_port = state.tls_port.load(Ordering::Relaxed);
    for listener in listeners {
        let tx = acc_tx.clone();
        let is_tls = tls_port != 0
            && listener
                .local_addr()
                .is_ok_and(|a| a.port() as u64 == tls_port);
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((s, p)) => {
                        if tx.send((s, p, is_tls)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
    drop(acc_tx);
    let mut next = 0usize;
    loop {
        tokio::select! {
            conn = acc_rx.recv() => {
                let Some((stream, peer, is_tls)) = conn else { break };
                // Round-robin over this thread (index 0) and the workers.
                let target = next % io_threads;
                next = next.wrapping_add(1);
                if target == 0 {
                    start_connection(&state, &tls, stream, peer, is_tls);
                } else if let Err(mpsc::error::SendError((stream, peer, is_tls))) = workers[target - 1].send((stream, peer, is_tls)) {
                    start_connection(&state, &tls, stream, peer, is_tls);
                }
            }
            _ = state.shutdown.notified() => break,
        }
    }
}

/// Closes connections whose authentication no longer holds: token
/// deadlines passed without a re-AUTH (checked four times a second, so
/// within a second of `exp`), and key-authenticated clients once key
/// authentication is disabled (Azure semantics; a rotated key alone keeps
/// its connections, as Redis does for requirepass).
async fn auth_watch(state: Arc<ServerState>) {
    use quiver_commands::acl::auth_kind;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        tick.tick().await;
        if state.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        state.acl.sync(&state.config);
        let keys_off = !state.acl.keys_active();
        let now = quiver_engine::now_ms();
        for c in state.clients.all() {
            let kind = c.auth_kind.load(Ordering::Relaxed);
            let deadline = c.token_deadline_ms.load(Ordering::Acquire);
            let expired = kind == auth_kind::TOKEN && deadline != 0 && now >= deadline;
            if expired || (kind == auth_kind::ACCESS_KEY && keys_off) {
                c.kill();
            }
        }
    }
}

/// Admission checks (maxclients, protected mode), then the connection task
/// (after the TLS handshake for `tls` connections).
fn start_connection(
    state: &Arc<ServerState>,
    acceptors: &tls::Tls,
    stream: TcpStream,
    peer: SocketAddr,
    tls: bool,
) {
    let _ = stream.set_nodelay(true);
    let maxclients = state.config.hot.maxclients.load(Ordering::Relaxed);
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if state.clients.connected.load(Ordering::Relaxed) >= maxclients {
        state
            .clients
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(reject(stream, b"-ERR max number of clients reached\r\n"));
        return;
    }
    if state.config.hot.protected_mode.load(Ordering::Relaxed)
        && state.acl.default_unprotected(&state.config)
        && !peer.ip().is_loopback()
    {
        state
            .clients
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(reject(
            stream,
            b"-DENIED Quiver is running in protected mode: no password is set, so only loopback clients are served. Set requirepass, or disable protected-mode from a loopback connection.\r\n",
        ));
        return;
    }
    let fd = raw_fd(&stream);
    let handle = Arc::new(ClientHandle::new(
        state.clients.next_id(),
        peer.to_string(),
        laddr,
        fd,
        quiver_engine::now_ms(),
    ));
    apply_keepalive(state, &stream);
    if !tls {
        state.clients.register(handle.clone());
        let polled = idle_poll::watch(fd);
        let st = state.clone();
        tokio::task::spawn_local(async move {
            connection::serve(st, stream, handle).await;
            drop(polled);
        });
        return;
    }
    let acceptor = match acceptors.acceptor(state) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("TLS connection refused: {e}");
            return;
        }
    };
    let st = state.clone();
    tokio::task::spawn_local(async move {
        // A client that does not speak TLS (or stalls) fails the handshake
        // and is dropped; it never reaches the command layer.
        let hs = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream));
        match hs.await {
            Ok(Ok(tls_stream)) => {
                st.clients.register(handle.clone());
                let polled = idle_poll::watch(fd);
                connection::serve(st, tls_stream, handle).await;
                drop(polled);
            }
            Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
            Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
        }
    });
}

async fn reject(mut stream: TcpStream, msg: &'static [u8]) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(msg).await;
    let _ = stream.shutdown().await;
}

#[cfg(unix)]
fn raw_fd(stream: &TcpStream) -> i32 {
    use std::os::fd::AsRawFd;
    stream.as_raw_fd()
}

#[cfg(not(unix))]
fn raw_fd(_stream: &TcpStream) -> i32 {
    -1
}

#[cfg(unix)]
fn apply_keepalive(state: &ServerState, stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let secs = state.config.get_i64("tcp-keepalive");
    if secs <= 0 {
        return;
    }
    let fd = stream.as_raw_fd();
    let on: libc::c_int = 1;
    let idle: libc::c_int = secs as libc::c_int;
    // SAFETY: fd is a live socket owned by `stream`; the option values are
    // plain integers whose size we pass.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const libc::c_void,
            4,
        );
        #[cfg(target_os = "linux")]
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            4,
        );
    }
}

#[cfg(not(unix))]
fn apply_keepalive(_state: &ServerState, _stream: &TcpStream) {}

/// A server running on its own thread, for tests and embedding.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: Arc<ServerState>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Starts a server on 127.0.0.1 with an ephemeral port and the given
    /// directives applied on top of the defaults.
    pub fn start(directives: &[(&str, &str)]) -> std::io::Result<RunningServer> {
        let config = quiver_commands::config::Config::new();
        config
            .set_startup("port", "0")
            .map_err(std::io::Error::other)?;
        for (k, v) in directives {
            config.set_startup(k, v).map_err(std::io::Error::other)?;
        }
        let state = Arc::new(ServerState::new(config));
        let (tx, rx) = std::sync::mpsc::channel();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            let rt = match idle_poll::install(&mut builder, &st).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                match bind(&st).await {
                    Ok(listeners) => {
                        let addr = listeners[0].local_addr();
                        let _ = tx.send(addr);
                        serve(st, listeners).await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        });
        let addr = rx.recv().map_err(std::io::Error::other)??;
        Ok(RunningServer {
            addr,
            state,
            thread: Some(thread),
        })
    }

    /// redis:// URL of this server.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.state.shutting_down.store(true, Ordering::SeqCst);
        self.state.shutdown.notify_one();
        for c in self.state.clients.all() {
            c.kill();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
