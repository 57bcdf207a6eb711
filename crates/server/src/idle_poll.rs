//! Polling an I/O thread's sockets for a short while before it sleeps.
//!
//! Why: a request/response client sends its next request a few tens of
//! microseconds after it reads a reply. If the I/O thread has gone to sleep
//! in `epoll_wait` by then, the request waits for the thread to be woken —
//! on a virtual machine that is a halt and an inter-processor interrupt
//! through the hypervisor, measured at 50–100 µs here (more than a whole
//! KNN search). Polling the thread's own sockets with `poll(2)` for up to
//! `io-poll-us` microseconds before parking catches that next request on a
//! CPU that never went idle. The spin is adaptive so an idle or slow-paced
//! server does not burn CPU: after a spin that caught nothing, the thread
//! parks without spinning until a wake-up arrives soon enough that a spin
//! would have caught it. Nor does it spin while an HNSW graph builder has
//! a backlog: on a small machine that builder needs the CPU more.
//!
//! Sockets are registered per thread by the connection task that owns them
//! (see [`watch`]); the hooks run on the same thread from tokio's
//! `on_thread_park` / `on_thread_unpark`.

use quiver_commands::ServerState;
use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// More sockets than this and the thread parks at once: each `poll(2)`
/// call scans them all. Up to here spinning pays even with many clients:
/// redis-benchmark's 50 clients at pipeline 1 (client-bound) measured
/// 0.94–1.31× Redis over the collection rows with it (5-round medians) and
/// 0.84–1.02× with the limit at 16 (3 rounds), for 1–2 µs more CPU per
/// request.
const MAX_POLLED: usize = 64;

thread_local! {
    static FDS: RefCell<Vec<libc::pollfd>> = const { RefCell::new(Vec::new()) };
    /// Whether the next park spins first (see the module docs).
    static SPIN: Cell<bool> = const { Cell::new(true) };
    /// When the thread parked without spinning, to judge the wake-up gap.
    static PARKED_AT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Deregisters a socket from its thread's poll set when dropped.
pub struct Watch {
    fd: i32,
}

/// Adds `fd` to the current thread's poll set for as long as the returned
/// guard lives; create it on the thread that serves the socket.
pub fn watch(fd: i32) -> Watch {
    if fd >= 0 {
        FDS.with_borrow_mut(|v| {
            v.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
        });
    }
    Watch { fd }
}

/// How many sockets this thread serves (those registered with [`watch`]).
pub fn watched() -> usize {
    FDS.with_borrow(|v| v.len())
}

impl Drop for Watch {
    fn drop(&mut self) {
        let fd = self.fd;
        FDS.with_borrow_mut(|v| {
            if let Some(i) = v.iter().position(|p| p.fd == fd) {
                v.swap_remove(i);
            }
        });
    }
}

/// Installs the park/unpark hooks on a runtime builder. The budget is read
/// from `io-poll-us` at every park, so CONFIG SET applies at once.
pub fn install<'b>(
    builder: &'b mut tokio::runtime::Builder,
    state: &Arc<ServerState>,
) -> &'b mut tokio::runtime::Builder {
    let (a, b) = (state.clone(), state.clone());
    builder
        .on_thread_park(move || before_park(a.config.hot.io_poll_us.load(Ordering::Relaxed)))
        .on_thread_unpark(move || after_unpark(b.config.hot.io_poll_us.load(Ordering::Relaxed)))
}

fn before_park(budget_us: u64) {
    if budget_us == 0 {
        return;
    }
    // A vector-graph builder with a backlog needs CPU more than we need to
    // shave a wake-up: park at once (the adaptive state is left alone).
    if quiver_search::vector::hnsw::builders_busy() {
        return;
    }
    if !SPIN.get() {
        PARKED_AT.set(Some(Instant::now()));
        return;
    }
    let budget = Duration::from_micros(budget_us);
    let caught = FDS.with_borrow_mut(|fds| {
        if fds.is_empty() || fds.len() > MAX_POLLED {
            // Not a miss: nothing to poll, so the adaptive state stays.
            return true;
        }
        let start = Instant::now();
        loop {
            // SAFETY: `fds` is a live, exclusively borrowed slice of
            // pollfd whose length we pass; a zero timeout never blocks.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
            if n != 0 {
                // Ready (or an error such as EINTR): let epoll report it.
                return true;
            }
            if start.elapsed() >= budget {
                return false;
            }
            std::hint::spin_loop();
        }
    });
    if !caught {
        SPIN.set(false);
        PARKED_AT.set(Some(Instant::now()));
    }
}

fn after_unpark(budget_us: u64) {
    if let Some(at) = PARKED_AT.take() {
        // Resume spinning once wake-ups come soon after parking. The gap
        // includes the wake-up latency the spin is there to avoid, hence
        // the slack over the budget itself.
        if at.elapsed() <= Duration::from_micros(budget_us.saturating_mul(4)) {
            SPIN.set(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    fn reset() {
        SPIN.set(true);
        PARKED_AT.set(None);
    }

    #[test]
    fn watch_registers_until_dropped() {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let wa = watch(a.as_raw_fd());
        let wb = watch(b.as_raw_fd());
        FDS.with_borrow(|v| assert_eq!(v.len(), 2));
        drop(wa);
        FDS.with_borrow(|v| {
            assert_eq!(v.len(), 1);
            assert_eq!(v[0].fd, b.as_raw_fd());
        });
        drop(wb);
        FDS.with_borrow(|v| assert!(v.is_empty()));
    }

    #[test]
    fn a_readable_socket_ends_the_spin_and_keeps_spinning_on() {
        reset();
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let _w = watch(a.as_raw_fd());
        b.write_all(b"PING\r\n").expect("write");
        // A huge budget: only the ready socket can end this spin.
        before_park(3_600_000_000);
        assert!(SPIN.get());
        assert!(PARKED_AT.get().is_none());
    }

    #[test]
    fn a_spin_that_catches_nothing_disables_spinning_until_a_quick_wakeup() {
        reset();
        let (a, _b) = UnixStream::pair().expect("socketpair");
        let _w = watch(a.as_raw_fd());
        before_park(1);
        assert!(!SPIN.get());
        assert!(PARKED_AT.get().is_some());
        // A slow wake-up (long after the budget) keeps it off...
        std::thread::sleep(Duration::from_millis(5));
        after_unpark(1);
        assert!(!SPIN.get());
        // ...the next park does not spin, and a wake-up within the budget
        // turns it back on.
        before_park(1);
        assert!(PARKED_AT.get().is_some());
        after_unpark(3_600_000_000);
        assert!(SPIN.get());
    }

    #[test]
    fn zero_budget_never_spins() {
        reset();
        let (a, _b) = UnixStream::pair().expect("socketpair");
        let _w = watch(a.as_raw_fd());
        before_park(0);
        assert!(SPIN.get());
        assert!(PARKED_AT.get().is_none());
    }
}
