"""DUMP payloads move between Quiver and a real redis-server in both
directions, through redis-py, for every type and encoding: what Redis
dumps (listpacks, intsets, quicklists, LZF-compressed strings) Quiver
restores, and what Quiver dumps Redis restores, with the same contents,
TTLs and encodings on both sides.
"""

import pytest
import redis


def crc64(data: bytes) -> int:
    """CRC-64 as Redis computes it (Jones polynomial, reflected)."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x95AC9329AC4BC9B5 if crc & 1 else 0)
    return crc


def seal(body: bytes, version: int = 10) -> bytes:
    """A payload around `body` with a valid footer."""
    body = body + version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def test_crc64_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


@pytest.fixture()
def pair(quiver, redis_ref):
    q = redis.Redis(port=quiver.port)
    r = redis.Redis(port=redis_ref.port)
    for c in (q, r):
        c.flushall()
    yield q, r
    for c in (q, r):
        c.flushall()


def load(c):
    """Writes one key of every type and encoding the test moves."""
    c.set("s:int", 12345)
    c.set("s:neg", -70000)
    c.set("s:big", 2**40)
    c.set("s:short", "hello")
    c.set("s:bin", bytes(range(256)))
    c.set("s:lzf", "abc" * 100 + "-tail")
    c.rpush("l:small", "a", "b", 300, -70000, 2**40)
    c.rpush("l:big", *["item-%d" % i for i in range(2000)])
    c.sadd("set:ints", 1, 2, -3, 100000)
    c.sadd("set:big", *range(1000))
    c.sadd("set:strs", *["m%d" % i for i in range(200)])
    c.hset("h:small", mapping={"f1": "v1", "n": 42})
    c.hset("h:big", mapping={"field%d" % i: "value%d" % i for i in range(600)})
    c.hset("h:long", mapping={"f": "x" * 100})
    c.zadd("z:small", {"a": 1.5, "b": -2, "c": float("inf")})
    c.zadd("z:big", {"m%d" % i: i * 0.5 for i in range(300)})
    c.set("s:ttl", "v", px=100000)


def snapshot(c, key):
    t = c.type(key).decode()
    content = {
        "string": lambda: c.get(key),
        "list": lambda: c.lrange(key, 0, -1),
        "set": lambda: sorted(c.smembers(key)),
        "hash": lambda: sorted(c.hgetall(key).items()),
        "zset": lambda: c.zrange(key, 0, -1, withscores=True),
    }[t]()
    return t, content


KEYS = ["s:int", "s:neg", "s:big", "s:short", "s:bin", "s:lzf", "l:small", "l:big",
        "set:ints", "set:big", "set:strs", "h:small", "h:big", "h:long", "z:small",
        "z:big", "s:ttl"]

# Encodings the two servers name alike (Redis 7.0 has no listpack sets, so
# small non-integer sets differ by design; see docs/COMPATIBILITY.md).
SAME_ENCODING = [k for k in KEYS if k != "set:strs"]


@pytest.mark.parametrize("direction", ["redis->quiver", "quiver->redis"])
def test_every_type_moves_with_contents_ttl_and_encoding(pair, direction):
    q, r = pair
    src, dst = (r, q) if direction == "redis->quiver" else (q, r)
    load(src)
    for key in KEYS:
        payload = src.dump(key)
        assert payload, key
        ttl = src.pttl(key)
        assert dst.restore(key, max(ttl, 0), payload)
        assert snapshot(dst, key) == snapshot(src, key), key
    assert 90000 < dst.pttl("s:ttl") <= 100000
    assert dst.pttl("s:int") == -1
    for key in SAME_ENCODING:
        assert dst.object("encoding", key) == src.object("encoding", key), key


def test_small_strings_dump_byte_for_byte_like_redis(pair):
    q, r = pair
    for c in (q, r):
        c.set("a", "hello")
        c.set("b", 7)
        c.set("c", -300)
        c.set("d", 2**33)
        c.set("e", "")
    for k in "abcde":
        assert q.dump(k) == r.dump(k), k


def test_hash_field_ttls_survive_a_round_trip(quiver):
    q = redis.Redis(port=quiver.port)
    q.delete("h", "h2")
    q.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    q.hpexpire("h", 100000, "a")
    q.hpexpire("h", 200000, "b")
    payload = q.dump("h")
    assert q.restore("h2", 0, payload)
    assert sorted(q.hgetall("h2").items()) == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
    assert q.hpexpiretime("h2", "a", "b", "c") == q.hpexpiretime("h", "a", "b", "c")
    q.delete("h", "h2")


def test_restore_options_and_errors_match_redis(pair):
    q, r = pair
    outcomes = []
    for c in pair:
        c.set("k", "v")
        payload = c.dump("k")
        got = []

        def attempt(*args):
            try:
                got.append(("ok", c.execute_command("RESTORE", *args)))
            except redis.ResponseError as e:
                got.append(("err", str(e)))

        attempt("k", 0, payload)                         # BUSYKEY
        attempt("k", -1, payload, "REPLACE")             # negative TTL
        attempt("k", "x", payload, "REPLACE")            # not an integer
        attempt("k", 0, payload[:-1] + b"\0", "REPLACE") # checksum
        attempt("k", 0, seal(b"\x63"), "REPLACE")            # unknown type
        attempt("k", 0, seal(b"\x01\x00"), "REPLACE")        # empty list
        attempt("k", 0, seal(b"\x00\x3fab"), "REPLACE")      # truncated string
        attempt("k", 0, seal(b"\x00\x01a", 99), "REPLACE")   # future RDB version
        attempt("k2", 0, seal(b"\x00\x01a"))                 # a hand-made string
        got.append(("k2", c.get("k2")))
        attempt("k", 0, payload, "REPLACE", "IDLETIME", -1)
        attempt("k", 0, payload, "REPLACE", "FREQ", 256)
        attempt("k", 0, payload, "REPLACE", "IDLETIME", 5, "FREQ", 5)
        attempt("k", 0, payload, "REPLACE", "BOGUS")
        attempt("k", 0, payload, "REPLACE", "IDLETIME", 1000)
        got.append(("idle", c.object("idletime", "k") >= 1000))
        attempt("k", 1, payload, "REPLACE", "ABSTTL")    # already expired: deletes
        got.append(("exists", c.exists("k")))
        attempt("k", 100000, payload)
        got.append(("ttl", 90000 < c.pttl("k") <= 100000))
        got.append(("dump missing", c.dump("nope")))
        outcomes.append(got)
    assert outcomes[0] == outcomes[1]
