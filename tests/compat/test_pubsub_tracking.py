"""redis-py against Quiver: pub/sub through the client library, and
redis-py's RESP3 client-side cache, which relies on CLIENT TRACKING
invalidations to never serve a value another client has changed."""

import time

import pytest
import redis

try:
    from redis.cache import CacheConfig
except ImportError:  # redis-py without client-side caching
    CacheConfig = None


def test_pubsub_roundtrip(quiver):
    r = redis.Redis(port=quiver.port)
    p = r.pubsub()
    p.subscribe("chan")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    assert r.publish("chan", "hello") == 1
    msg = p.get_message(timeout=1)
    assert msg["type"] == "message" and msg["data"] == b"hello"
    p.close()


@pytest.mark.skipif(CacheConfig is None, reason="redis-py has no client-side cache")
def test_client_side_cache_is_never_stale(quiver):
    try:
        cached = redis.Redis(port=quiver.port, protocol=3, cache_config=CacheConfig())
        cached.ping()
    except redis.exceptions.ConnectionError as e:
        # redis-py only enables its cache against servers reporting 7.4+;
        # Quiver reports 7.0.15 (the version its differential tests use).
        if "7.4" in str(e):
            pytest.skip(str(e))
        raise
    writer = redis.Redis(port=quiver.port)
    writer.set("csc:k", "v1")
    assert cached.get("csc:k") == b"v1"
    assert cached.get("csc:k") == b"v1"  # served from the cache now
    for i in range(2, 20):
        writer.set("csc:k", "v%d" % i)
        # The invalidation is pushed right after the write; redis-py reads
        # pending pushes before serving from its cache.
        deadline = time.time() + 2
        while cached.get("csc:k") != b"v%d" % i:
            assert time.time() < deadline, "stale value served after invalidation"
            time.sleep(0.01)
    writer.delete("csc:k")
    deadline = time.time() + 2
    while cached.get("csc:k") is not None:
        assert time.time() < deadline
        time.sleep(0.01)
    cached.close()
