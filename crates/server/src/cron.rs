//! Periodic work on the main I/O thread (`hz` times a second): the active
//! expiry cycle, so that keys nobody reads again still free their memory,
//! and eviction when memory is over `maxmemory` while no command runs.

use quiver_commands::ServerState;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entries examined per step of the active expiry cycle.
const EXPIRE_STEP: usize = 2000;

pub async fn run(state: Arc<ServerState>) {
    // Where the hash-field expiry sweep resumes in each database.
    let mut hash_cursors = Vec::new();
    loop {
        let hz = state.config.hot.hz.load(Ordering::Relaxed).clamp(1, 500);
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        if state.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        // DEBUG SET-ACTIVE-EXPIRE 0 turns the cycle off (tests use it to
        // observe lazy expiry alone).
        if state.active_expire.load(Ordering::Relaxed) {
            active_expire(&state, period);
            let effort = state
                .config
                .hot
                .active_expire_effort
                .load(Ordering::Relaxed)
                .clamp(1, 10) as usize;
            quiver_commands::hash_ttl::active_expire_fields(
                &state,
                &mut hash_cursors,
                1000 * effort,
            );
        }
        pause_expiry(&state);
        // Memory over `maxmemory` is normally brought down before the next
        // command runs; this covers the time when none comes, e.g. right
        // after CONFIG SET lowered the limit (Redis evicts from a timer
        // then too). Cheap when under the limit: one cached reading.
        if state.config.hot.maxmemory.load(Ordering::Relaxed) != 0 {
            quiver_commands::evict::perform(&state);
        }
    }
}

/// Deletes expired keys for up to a quarter of the cron period (scaled by
/// `active-expire-effort`), stopping early once few of the examined keys
/// turn out to be expired, like Redis's adaptive cycle.
fn active_expire(state: &ServerState, period: Duration) {
    let effort = state
        .config
        .hot
        .active_expire_effort
        .load(Ordering::Relaxed)
        .clamp(1, 10) as u32;
    let budget = period * (25 + 2 * (effort - 1)) / 100;
    let start = Instant::now();
    loop {
        let now = quiver_engine::now_ms();
        let mut examined = 0;
        let mut deleted = 0;
        for db in 0..state.keyspace.db_count() {
            let (e, d) = state.keyspace.db(db).expire_step(
                &state.keyspace.stats,
                now,
                EXPIRE_STEP * effort as usize,
            );
            examined += e;
            deleted += d;
        }
        quiver_commands::events::drain_expired(state);
        if examined == 0 || deleted * 10 < examined || start.elapsed() >= budget {
            break;
        }
    }
}

/// Ends a CLIENT PAUSE whose time is up and wakes the paused clients.
fn pause_expiry(state: &ServerState) {
    let until = state.pause.until_ms.load(Ordering::Relaxed);
    if until != 0 && until <= quiver_engine::now_ms() {
        state.pause.until_ms.store(0, Ordering::Relaxed);
        state.pause.notify.notify_waiters();
    }
}
