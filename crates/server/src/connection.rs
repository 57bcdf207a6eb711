//! One client connection: read, execute every complete request in the
//! buffer, flush once, repeat.
//!
//! Replies for a pipelined batch accumulate in one output buffer and go out
//! in a single write once no complete request is left in the read buffer,
//! which is what makes pipelining cheap. Before that write the task yields
//! (unless it is its thread's only client), so the replies of all clients
//! ready at once go out together and a long pipeline is served a read at a
//! time, interleaved with the thread's other clients.

use bytes::{Buf, BytesMut};
use quiver_commands::blocking::BlockRequest;
use quiver_commands::clients::{ClientHandle, Unblock};
use quiver_commands::dispatch::{execute, resolve};
use quiver_commands::spec::flag;
use quiver_commands::{ServerState, Session};
use quiver_resp::{parse_request, ArgsBuf, Limits, Proto, ReplyBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

const READ_CHUNK: usize = 16 * 1024;
/// Flush mid-batch once this much output is pending, to bound memory.
const FLUSH_THRESHOLD: usize = 1 << 20;

/// Most input a blocked client may send before we stop reading from it
/// (it is answered once the blocking command is served).
const BLOCKED_READ_LIMIT: usize = 64 * 1024;

/// Serves one client until it disconnects, is killed or quits. The stream is
/// a plain TCP socket or a TLS session over one: the listener has already
/// set TCP options.
pub async fn serve<S>(state: Arc<ServerState>, mut stream: S, handle: Arc<ClientHandle>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // No AUTH needed only while the default user is open (no password,
    // no access key): the ACL layer decides.
    let auth_needed = !state.acl.default_open(&state.config);
    let mut session = Session::new(handle.clone(), !auth_needed);
    session.defer_scripts = true;
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut reply = ReplyBuf::new(Proto::Resp2);
    let mut args = ArgsBuf::new();
    let mut monitor: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>> = None;

    'conn: loop {
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 2 {
            rbuf.reserve(READ_CHUNK);
        }
        let idle = state.config.hot.timeout.load(Ordering::Relaxed);
        let monitoring = monitor.is_some();
        let read = tokio::select! {
            r = stream.read_buf(&mut rbuf) => r,
            _ = handle.killed() => break 'conn,
            _ = handle.outbox_ready() => {
                if let Some(out) = handle.take_outbox() {
                    if write_out(&state, &mut stream, &out).await.is_err() {
                        break 'conn;
                    }
                }
                continue;
            }
            line = async {
                match monitor.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(line) = line {
                    if write_out(&state, &mut stream, &line).await.is_err() {
                        break 'conn;
                    }
                }
                continue;
            }
            _ = async {
                if idle > 0 && !monitoring {
                    tokio::time::sleep(Duration::from_secs(idle)).await
                } else {
                    std::future::pending().await
                }
            } => break 'conn,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                state
                    .stats
                    .net_input_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
                state.stats.total_reads.fetch_add(1, Ordering::Relaxed);
            }
        }
        let qlimit = state
            .config
            .hot
            .client_query_buffer_limit
            .load(Ordering::Relaxed);
        if rbuf.len() > qlimit {
            tracing::warn!(
                client = handle.id,
                "closing client that reached max query buffer length"
            );
            break;
        }

        let mut pos = 0;
        let mut protocol_error = false;
        let mut executed = 0usize;
        loop {
            let limits = Limits {
                proto_max_bulk_len: state.config.hot.proto_max_bulk_len.load(Ordering::Relaxed),
                authenticated: session.authenticated,
            };
            match parse_request(&rbuf[pos..], &mut args, &limits) {
                Ok(Some(n)) => {
                    let view = args.view(&rbuf[pos..]);
                    if state.pause.until_ms.load(Ordering::Relaxed) != 0 && !view.is_empty() {
                        wait_while_paused(&state, &view).await;
                    }
                    // A running script holds every other command back
                    // (atomicity) and, past busy-reply-threshold, answers -BUSY.
                    let busy = if state.scripting.busy() && !view.is_empty() {
                        quiver_commands::scripting::gate(&state, &view).await.err()
                    } else {
                        None
                    };
                    match busy {
                        Some(e) => reply.error(&e.to_string()),
                        None => execute(&state, &mut session, &mut reply, view),
                    }
                    executed += 1;
                    if let Some(job) = session.script_job.take() {
                        quiver_commands::scripting::run_deferred(state.clone(), &mut reply, *job)
                            .await;
                    }
                    if let Some(req) = session.block.take() {
                        // Everything before the blocking command is answered
                        // now; later pipelined commands wait, as in Redis.
                        if flush(&state, &mut stream, &mut reply, &handle)
                            .await
                            .is_err()
                        {
                            break 'conn;
                        }
                        let mut early = BytesMut::new();
                        if !wait_blocked(
                            &state,
                            &mut stream,
                            &handle,
                            &mut session,
                            &mut reply,
                            view,
                            req,
                            &mut early,
                        )
                        .await
                        {
                            break 'conn;
                        }
                        // Input that arrived while blocked joins the queue.
                        rbuf.extend_from_slice(&early);
                    }
                    pos += n;
                    if session.close_after_reply || handle.is_killed() {
                        break;
                    }
                    if reply.len() >= FLUSH_THRESHOLD
                        && flush(&state, &mut stream, &mut reply, &handle)
                            .await
                            .is_err()
                    {
                        break 'conn;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    reply.error(&format!("ERR {e}"));
                    protocol_error = true;
                    break;
                }
            }
        }
        rbuf.advance(pos);
        handle.query_buf.store(rbuf.len(), Ordering::Relaxed);
        if executed > 1 || (executed == 1 && crate::idle_poll::watched() > 1) {
            // The reply waits until every other client of this thread that
            // is ready has been served, as Redis writes all replies of an
            // event-loop pass together: `yield_now` parks the task until
            // the runtime has run its ready tasks and polled for I/O. A
            // client then finds many replies per wake-up instead of being
            // woken once per reply — measured with redis-benchmark at
            // pipeline 16 (INCR), its epoll_waits per 1M requests fell
            // from ~90k to ~15k (Redis: ~10k) — and the server sends fewer
            // wake-ups across CPUs. A thread with one client skips it (the
            // round trip would only get longer).
            //
            // It is also what keeps pipelines fair: a pipelining client
            // gets one read's worth of commands per turn, then the other
            // clients get theirs. Otherwise its whole pipeline would run
            // before anyone else, since its next read is always ready (a
            // KNN query behind a pipeline of HSETs into an indexed prefix
            // waited for all of them).
            tokio::task::yield_now().await;
        }
        if flush(&state, &mut stream, &mut reply, &handle)
            .await
            .is_err()
        {
            break;
        }
        if protocol_error || session.close_after_reply || handle.is_killed() {
            break;
        }
        if session.start_monitor && monitor.is_none() {
            session.start_monitor = false;
            monitor = Some(state.monitors.add(handle.id));
        }
    }
    let _ = stream.shutdown().await;
    if monitor.is_some() {
        state.monitors.remove(handle.id);
    }
    session.unwatch_all(&state);
    quiver_commands::tracking::disconnect(&state, &mut session.tracking);
    state.clients.unregister(handle.id);
}

/// Parks a client on the keys of its blocking command until a writer wakes
/// it and the re-run command is served, the timeout passes, or the client
/// goes away. Returns false if the connection must close.
///
/// The socket is still read while blocked, only to notice a hang-up: bytes
/// that arrive go to `early` (up to [`BLOCKED_READ_LIMIT`]) and are executed
/// after the blocking command, as Redis does with pipelined input.
#[allow(clippy::too_many_arguments)]
async fn wait_blocked<S>(
    state: &ServerState,
    stream: &mut S,
    handle: &ClientHandle,
    session: &mut Session,
    reply: &mut ReplyBuf,
    args: quiver_resp::Args<'_>,
    req: BlockRequest,
    early: &mut BytesMut,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let notify = Arc::new(Notify::new());
    let db = session.db;
    state.blocking.register(db, &req.keys, handle.id, &notify);
    let deadline = req.deadline_ms.map(|ms| {
        let now = quiver_engine::now_ms();
        tokio::time::Instant::now() + Duration::from_millis(ms.saturating_sub(now))
    });
    let mut watch_socket = true;
    let mut served = false;
    handle
        .blocked
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let keep = loop {
        tokio::select! {
            mode = handle.unblocked() => {
                match mode {
                    Unblock::Timeout => reply.null_array(),
                    Unblock::Error => reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
                }
                break true;
            }
            _ = notify.notified() => {
                session.woken = true;
                execute(state, session, reply, args);
                session.woken = false;
                if session.block.take().is_none() {
                    served = true;
                    break true;
                }
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                reply.null_array();
                break true;
            }
            _ = handle.killed() => break false,
            _ = handle.outbox_ready() => {
                if let Some(out) = handle.take_outbox() {
                    if write_out(state, stream, &out).await.is_err() {
                        break false;
                    }
                }
            }
            read = stream.read_buf(early), if watch_socket => {
                match read {
                    // The client hung up while blocked.
                    Ok(0) | Err(_) => break false,
                    // Pipelined input waits until we are unblocked; past the
                    // limit it waits in the socket instead.
                    Ok(_) => watch_socket = early.len() < BLOCKED_READ_LIMIT,
                }
            }
        }
    };
    handle
        .blocked
        .store(false, std::sync::atomic::Ordering::SeqCst);
    state.blocking.unregister(db, &req.keys, handle.id);
    if served {
        // Pass the wake-up on: data may remain for the next client in line.
        for k in &req.keys {
            state.blocking.signal(db, k);
        }
    }
    keep
}

/// Writes the pending replies, then any out-of-band messages queued for this
/// client meanwhile (so a message never splits a reply).
async fn flush<S>(
    state: &ServerState,
    stream: &mut S,
    reply: &mut ReplyBuf,
    handle: &ClientHandle,
) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    if !reply.is_empty() {
        let res = write_out(state, stream, &reply.out).await;
        reply.clear();
        // Give back memory after a huge reply (KEYS *, big MGET).
        if reply.out.capacity() > 4 * FLUSH_THRESHOLD {
            reply.out = Vec::with_capacity(READ_CHUNK);
        }
        res?;
    }
    match handle.take_outbox() {
        Some(out) => write_out(state, stream, &out).await,
        None => Ok(()),
    }
}

/// Writes `bytes` and flushes the stream (a TLS session buffers records
/// until flushed), counting them in INFO stats.
async fn write_out<S>(state: &ServerState, stream: &mut S, bytes: &[u8]) -> std::io::Result<()>
where
    S: AsyncWrite + Unpin,
{
    let mut res = stream.write_all(bytes).await;
    if res.is_ok() {
        res = stream.flush().await;
    }
    state
        .stats
        .net_output_bytes
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    state.stats.total_writes.fetch_add(1, Ordering::Relaxed);
    res
}

/// CLIENT PAUSE: hold the command until the pause ends (or, in WRITE mode,
/// only if the command may write).
async fn wait_while_paused(state: &ServerState, args: &quiver_resp::Args<'_>) {
    let affected = match resolve(args) {
        Ok(entry) => {
            let spec = entry.spec;
            !state.pause.writes_only.load(Ordering::Relaxed)
                || spec.has(flag::WRITE)
                || spec.has(flag::MAY_REPLICATE)
        }
        Err(_) => false,
    };
    if !affected {
        return;
    }
    loop {
        let until = state.pause.until_ms.load(Ordering::Relaxed);
        let now = quiver_engine::now_ms();
        if until == 0 || until <= now {
            return;
        }
        let wait = Duration::from_millis((until - now).min(100));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.pause.notify.notified() => {}
        }
    }
}
