"""Rate limiters as client libraries write them, under 50 concurrent clients,
against Quiver and against a real redis-server, which must agree.

(a) A sliding-window limiter in Lua (ZREMRANGEBYSCORE the entries that left
    the window, ZCARD, then ZADD + PEXPIRE only when under the limit),
    loaded once with SCRIPT LOAD and called with EVALSHA.
(b) A fixed-window counter: INCR and EXPIRE ... NX in one MULTI/EXEC.

Each of 50 threads has its own connection and sends 20 requests at one
limit key; exactly `LIMIT` of the 1000 must be allowed. Atomicity is checked
beyond the total: the sliding window's "remaining" answers of the allowed
requests are each of 0..LIMIT-1 exactly once, and the fixed window's INCR
results are each of 1..1000 exactly once. After the window's key expires a
second window opens and again admits exactly LIMIT.
"""

import threading
import time
import uuid

import pytest
import redis

from conftest import start_quiver, start_redis

CLIENTS = 50
PER_CLIENT = 20
LIMIT = 100
# Generous next to a burst (well under a second even on a debug build), so
# every request of one burst falls in the same window.
WINDOW_MS = 5000

SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - used - 1}
end
return {0, 0}
"""


@pytest.fixture(scope="module")
def servers():
    q, r = start_quiver(), start_redis()
    yield {"quiver": q, "redis": r}
    q.stop()
    r.stop()


def hammer(port, request):
    """Runs `request(conn, client_no, i)` PER_CLIENT times on each of CLIENTS
    threads, each with its own connection, all released at once. Returns
    every result and the burst's wall time."""
    conns = [redis.Redis(port=port, single_connection_client=True) for _ in range(CLIENTS)]
    for c in conns:
        c.ping()  # connect before the start line
    barrier = threading.Barrier(CLIENTS + 1)
    results = [[] for _ in range(CLIENTS)]
    errors = []

    def worker(n):
        barrier.wait()
        try:
            for i in range(PER_CLIENT):
                results[n].append(request(conns[n], n, i))
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    for c in conns:
        c.close()
    assert not errors, errors[:3]
    flat = [x for rs in results for x in rs]
    assert len(flat) == CLIENTS * PER_CLIENT
    return flat, elapsed


def wait_gone(r, key, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.exists(key) == 0:
            return True
        time.sleep(0.05)
    return False


def sliding_burst(port, sha, key):
    run = uuid.uuid4().hex

    def request(conn, n, i):
        now = int(time.time() * 1000)
        allowed, remaining = conn.evalsha(sha, 1, key, now, WINDOW_MS, LIMIT, "%s-%d-%d" % (run, n, i))
        return allowed, remaining

    return hammer(port, request)


def fixed_burst(port, key):
    def request(conn, n, i):
        pipe = conn.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, WINDOW_MS // 1000, nx=True)
        count, _ = pipe.execute()
        return count

    return hammer(port, request)


def test_sliding_window_lua_limiter(servers):
    key = "rl:sliding:%s" % uuid.uuid4().hex
    outcome = {}
    for name, srv in servers.items():
        r = redis.Redis(port=srv.port)
        sha = r.script_load(SLIDING_WINDOW)
        assert r.script_exists(sha) == [True]
        windows = []
        for window in range(2):
            results, elapsed = sliding_burst(srv.port, sha, key)
            assert elapsed < WINDOW_MS / 1000, "%s: burst took %.1fs, longer than the window" % (name, elapsed)
            allowed = [rem for ok, rem in results if ok == 1]
            denied = [x for x in results if x[0] == 0]
            assert len(allowed) == LIMIT, (name, window, len(allowed))
            assert len(denied) == CLIENTS * PER_CLIENT - LIMIT
            # Each allowed request saw a distinct count: no two scripts
            # interleaved between ZCARD and ZADD.
            assert sorted(allowed) == list(range(LIMIT)), (name, window)
            assert r.zcard(key) == LIMIT
            ttl = r.pttl(key)
            assert 0 < ttl <= WINDOW_MS, ttl
            windows.append((len(allowed), len(denied), r.zcard(key)))
            # The key lives one window after its last admitted request;
            # once it is gone, the next burst starts a new window.
            if window == 0:
                assert wait_gone(r, key, WINDOW_MS / 1000 + 5), "%s: limiter key never expired" % name
        outcome[name] = windows
        r.close()
    assert outcome["quiver"] == outcome["redis"] == [(LIMIT, CLIENTS * PER_CLIENT - LIMIT, LIMIT)] * 2


def test_sliding_window_reopens_gradually(servers):
    """Within a live key, entries older than the window are trimmed: after
    the window passes, new requests are admitted even though the key (kept
    alive by a recent ZADD) never expired."""
    outcome = {}
    for name, srv in servers.items():
        r = redis.Redis(port=srv.port)
        sha = r.script_load(SLIDING_WINDOW)
        key = "rl:gradual:%s" % uuid.uuid4().hex
        t0 = 1_000_000
        # Logical clock passed as ARGV[1], as libraries that take the
        # client's time do: no sleeping needed for this one.
        seen = []
        for step, now in enumerate([t0, t0 + 1, t0 + 2, t0 + 3, t0 + 3000, t0 + 5001, t0 + 5001, t0 + 5001]):
            seen.append(r.evalsha(sha, 1, key, now, WINDOW_MS, 3, "m%d" % step))
        outcome[name] = seen
        r.close()
    # 3 admitted, 1 denied, the t0+3000 one denied (window full), then at
    # t0+5001 the two entries scored <= now - window (t0 and t0+1) are
    # trimmed: two admitted, then full again.
    assert outcome["quiver"] == outcome["redis"]
    assert [a for a, _ in outcome["quiver"]] == [1, 1, 1, 0, 0, 1, 1, 0], outcome


def test_fixed_window_incr_expire_nx(servers):
    key = "rl:fixed:%s" % uuid.uuid4().hex
    outcome = {}
    for name, srv in servers.items():
        r = redis.Redis(port=srv.port)
        windows = []
        for window in range(2):
            counts, elapsed = fixed_burst(srv.port, key)
            assert elapsed < WINDOW_MS / 1000, "%s: burst took %.1fs" % (name, elapsed)
            # INCR inside MULTI/EXEC: every request got its own count.
            assert sorted(counts) == list(range(1, CLIENTS * PER_CLIENT + 1)), name
            allowed = sum(1 for c in counts if c <= LIMIT)
            assert allowed == LIMIT, (name, window, allowed)
            # EXPIRE NX set the TTL once, at the first request: later ones
            # did not push the window's end out.
            ttl = r.pttl(key)
            assert 0 < ttl <= WINDOW_MS, ttl
            windows.append((allowed, int(r.get(key))))
            if window == 0:
                assert wait_gone(r, key, WINDOW_MS / 1000 + 5), "%s: window key never expired" % name
        outcome[name] = windows
        r.close()
    assert outcome["quiver"] == outcome["redis"] == [(LIMIT, CLIENTS * PER_CLIENT)] * 2


def test_evalsha_after_script_flush_is_noscript(servers):
    """Libraries fall back to EVAL (or SCRIPT LOAD again) on NOSCRIPT; the
    error must be the one they match on."""
    for name, srv in servers.items():
        r = redis.Redis(port=srv.port)
        sha = r.script_load(SLIDING_WINDOW)
        r.script_flush()
        with pytest.raises(redis.exceptions.NoScriptError) as e:
            r.evalsha(sha, 1, "rl:x", 1, WINDOW_MS, LIMIT, "m")
        assert str(e.value) == "No matching script. Please use EVAL.", (name, str(e.value))
        # Loading it again gives the same SHA1 and the call works.
        assert r.script_load(SLIDING_WINDOW) == sha
        assert r.evalsha(sha, 1, "rl:x", 1, WINDOW_MS, LIMIT, "m") == [1, LIMIT - 1]
        r.delete("rl:x")
        r.close()
