"""redis-py (pinned in requirements.txt) against Quiver, in RESP2 and RESP3.

These check what a real application sees through the most used Python
client: that replies parse into the Python types redis-py documents (bool,
int, float, bytes, dict, datetime), that options map to the right wire
arguments, and that pipelines and transactions behave. Every assertion
holds against redis-server 7.0; run them against it with
`QUIVER_COMPAT_TARGET=redis .venv/bin/python -m pytest tests/compat/test_redis_py.py`.
"""

import datetime
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

PROTOCOLS = [2, 3]

# setex/psetex/substr are deprecated aliases in redis-py; servers still serve them.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=PROTOCOLS, ids=["resp2", "resp3"])
def r(request, compat_server):
    """A bytes-returning client on db 0 of a flushed server."""
    client = redis.Redis(host="127.0.0.1", port=compat_server.port, protocol=request.param)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def rd(r):
    """The same server and protocol, with decode_responses=True."""
    kw = r.connection_pool.connection_kwargs
    client = redis.Redis(host="127.0.0.1", port=kw["port"], protocol=kw["protocol"], decode_responses=True)
    yield client
    client.close()


def resp(client):
    return int(client.connection_pool.connection_kwargs["protocol"])


# ------------------------------------------------------------------ strings
class TestStrings:
    def test_set_get_binary_safe(self, r):
        value = bytes(range(256)) * 3
        assert r.set(b"k\x00\xff", value) is True
        assert r.get(b"k\x00\xff") == value
        assert r.get("missing") is None
        assert r.strlen(b"k\x00\xff") == 768

    def test_large_value_round_trip(self, r):
        value = b"x" * (3 * 1024 * 1024 + 7)
        r.set("big", value)
        assert r.get("big") == value
        assert r.strlen("big") == len(value)

    def test_set_nx_xx(self, r):
        assert r.set("k", "1", nx=True) is True
        assert r.set("k", "2", nx=True) is None
        assert r.get("k") == b"1"
        assert r.set("other", "1", xx=True) is None
        assert r.exists("other") == 0
        assert r.set("k", "3", xx=True) is True
        assert r.get("k") == b"3"

    def test_set_get_option(self, r):
        assert r.set("k", "new", get=True) is None
        assert r.get("k") == b"new"
        assert r.set("k", "newer", get=True) == b"new"
        assert r.get("k") == b"newer"

    def test_set_expiry_options(self, r):
        r.set("ex", "v", ex=100)
        assert 99 <= r.ttl("ex") <= 100
        r.set("px", "v", px=100000)
        assert 99000 < r.pttl("px") <= 100000
        r.set("exat", "v", exat=int(time.time()) + 100)
        assert 98 <= r.ttl("exat") <= 100
        r.set("pxat", "v", pxat=datetime.datetime.now() + datetime.timedelta(seconds=100))
        assert 98000 < r.pttl("pxat") <= 100000
        r.set("td", "v", ex=datetime.timedelta(seconds=50))
        assert 49 <= r.ttl("td") <= 50

    def test_set_keepttl(self, r):
        r.set("k", "v", ex=100)
        r.set("k", "w", keepttl=True)
        assert r.get("k") == b"w"
        assert 99 <= r.ttl("k") <= 100
        r.set("k", "x")
        assert r.ttl("k") == -1

    def test_set_invalid_expire_is_an_error(self, r):
        with pytest.raises(redis.ResponseError, match="invalid expire time"):
            r.set("k", "v", ex=0)
        with pytest.raises(redis.ResponseError, match="invalid expire time"):
            r.set("k", "v", px=-5)
        assert r.exists("k") == 0

    def test_getex(self, r):
        assert r.getex("missing", ex=10) is None
        r.set("k", "v")
        assert r.getex("k") == b"v"
        assert r.ttl("k") == -1
        assert r.getex("k", ex=100) == b"v"
        assert 99 <= r.ttl("k") <= 100
        assert r.getex("k", px=50000) == b"v"
        assert 49000 < r.pttl("k") <= 50000
        assert r.getex("k", exat=int(time.time()) + 30) == b"v"
        assert 28 <= r.ttl("k") <= 30
        assert r.getex("k", persist=True) == b"v"
        assert r.ttl("k") == -1

    def test_getdel_getset(self, r):
        r.set("k", "v")
        assert r.getdel("k") == b"v"
        assert r.exists("k") == 0
        assert r.getdel("k") is None
        assert r.getset("k", "a") is None
        assert r.getset("k", "b") == b"a"
        assert r.get("k") == b"b"

    def test_append_strlen_ranges(self, r):
        assert r.append("k", "Hello") == 5
        assert r.append("k", " World") == 11
        assert r.strlen("k") == 11
        assert r.getrange("k", 0, 4) == b"Hello"
        assert r.getrange("k", -5, -1) == b"World"
        assert r.getrange("k", 20, 30) == b""
        assert r.setrange("k", 6, "Redis") == 11
        assert r.get("k") == b"Hello Redis"
        assert r.setrange("pad", 3, "x") == 4
        assert r.get("pad") == b"\x00\x00\x00x"
        assert r.substr("k", 0, 4) == b"Hello"

    def test_counters(self, r):
        assert r.incr("n") == 1
        assert r.incr("n", 10) == 11
        assert r.incrby("n", -2) == 9
        assert r.decr("n") == 8
        assert r.decrby("n", 8) == 0
        assert r.get("n") == b"0"
        r.set("big", str(2**63 - 1))
        with pytest.raises(redis.ResponseError, match="increment or decrement would overflow"):
            r.incr("big")
        r.set("s", "abc")
        with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
            r.incr("s")

    def test_incrbyfloat_returns_float(self, r):
        value = r.incrbyfloat("f", 1.5)
        assert isinstance(value, float) and value == 1.5
        assert r.incrbyfloat("f", "2.25") == 3.75
        assert r.get("f") == b"3.75"
        r.set("i", "10")
        assert r.incrbyfloat("i", 0.1) == pytest.approx(10.1)
        assert r.get("i") == b"10.1"
        r.set("s", "x")
        with pytest.raises(redis.ResponseError, match="value is not a valid float"):
            r.incrbyfloat("s", 1)

    def test_mset_mget_msetnx(self, r):
        assert r.mset({"a": "1", "b": "2", "c": b"\x00"}) is True
        assert r.mget("a", "missing", "b", "c") == [b"1", None, b"2", b"\x00"]
        assert r.mget(["c", "a"]) == [b"\x00", b"1"]
        assert r.msetnx({"x": "1", "a": "9"}) is False
        assert r.exists("x") == 0
        assert r.msetnx({"x": "1", "y": "2"}) is True
        assert r.mget("x", "y") == [b"1", b"2"]

    def test_setnx_setex_psetex(self, r):
        assert r.setnx("k", "1") is True
        assert r.setnx("k", "2") is False
        assert r.setex("e", 100, "v") is True
        assert 99 <= r.ttl("e") <= 100
        assert r.psetex("p", 100000, "v") is True
        assert 99000 < r.pttl("p") <= 100000
        assert r.get("p") == b"v"

    def test_decode_responses(self, rd):
        rd.set("k", "héllo")
        assert rd.get("k") == "héllo"
        assert rd.strlen("k") == 6
        assert rd.mget("k", "none") == ["héllo", None]


# ---------------------------------------------------------------- keys, TTL
class TestKeysAndExpiry:
    def test_ttl_sentinels(self, r):
        assert r.ttl("missing") == -2
        assert r.pttl("missing") == -2
        r.set("k", "v")
        assert r.ttl("k") == -1
        assert r.pttl("k") == -1

    def test_expire_family(self, r):
        assert r.expire("missing", 10) is False
        r.set("k", "v")
        assert r.expire("k", 100) is True
        assert 99 <= r.ttl("k") <= 100
        assert r.pexpire("k", 200000) is True
        assert 199000 < r.pttl("k") <= 200000
        at = int(time.time()) + 300
        assert r.expireat("k", at) is True
        assert r.expiretime("k") == at
        assert r.pexpireat("k", at * 1000 + 500) is True
        assert r.pexpiretime("k") == at * 1000 + 500
        assert r.expireat("k", datetime.datetime.now() + datetime.timedelta(seconds=60)) is True
        assert 58 <= r.ttl("k") <= 60
        assert r.persist("k") is True
        assert r.persist("k") is False
        assert r.ttl("k") == -1
        assert r.expiretime("k") == -1
        assert r.expiretime("missing") == -2

    def test_expire_conditions(self, r):
        r.set("k", "v")
        assert r.expire("k", 100, xx=True) is False
        assert r.expire("k", 100, nx=True) is True
        assert r.expire("k", 200, nx=True) is False
        assert r.expire("k", 50, gt=True) is False
        assert r.expire("k", 200, gt=True) is True
        assert r.expire("k", 300, lt=True) is False
        assert r.expire("k", 10, lt=True) is True
        assert 9 <= r.ttl("k") <= 10
        with pytest.raises(redis.ResponseError, match="NX and XX, GT or LT options at the same time are not compatible"):
            r.execute_command("EXPIRE", "k", 10, "NX", "XX")

    def test_keys_really_expire(self, r):
        r.set("k", "v", px=50)
        r.set("keep", "v")
        assert r.exists("k") == 1
        time.sleep(0.12)
        assert r.get("k") is None
        assert r.exists("k", "keep") == 1
        assert r.ttl("k") == -2
        assert r.dbsize() == 1

    def test_expire_in_the_past_deletes(self, r):
        r.set("k", "v")
        assert r.expire("k", -1) is True
        assert r.exists("k") == 0

    def test_exists_delete_unlink_touch(self, r):
        r.mset({"a": 1, "b": 2, "c": 3})
        assert r.exists("a", "a", "missing", "b") == 3
        assert r.touch("a", "b", "missing") == 2
        assert r.delete("a", "missing") == 1
        assert r.unlink("b", "c", "missing") == 2
        assert r.dbsize() == 0
        assert r.delete("nothing") == 0

    def test_type_and_object(self, r):
        r.set("int", "12345")
        r.set("short", "hello")
        r.set("long", "x" * 100)
        assert r.type("int") == b"string"
        assert r.type("missing") == b"none"
        assert r.object("encoding", "int") == b"int"
        assert r.object("encoding", "short") == b"embstr"
        assert r.object("encoding", "long") == b"raw"
        assert r.object("encoding", "missing") is None
        assert isinstance(r.object("idletime", "int"), int)
        assert r.object("refcount", "long") == 1

    def test_rename_copy(self, r):
        r.set("a", "1", ex=100)
        assert r.rename("a", "b") is True
        assert r.exists("a") == 0 and r.get("b") == b"1"
        assert 99 <= r.ttl("b") <= 100
        with pytest.raises(redis.ResponseError, match="no such key"):
            r.rename("missing", "x")
        r.set("c", "2")
        assert r.renamenx("b", "c") is False
        assert r.renamenx("b", "d") is True
        assert r.copy("d", "e") is True
        assert r.copy("d", "c") is False
        assert r.copy("d", "c", replace=True) is True
        assert r.mget("c", "d", "e") == [b"1", b"1", b"1"]

    def test_copy_and_move_across_databases(self, r):
        r.set("k", "v")
        assert r.copy("k", "k", destination_db=1) is True
        db1 = redis.Redis(port=r.connection_pool.connection_kwargs["port"], db=1, protocol=resp(r))
        try:
            assert db1.get("k") == b"v"
            assert r.move("k", 1) is False  # already there
            r.set("m", "x")
            assert r.move("m", 1) is True
            assert r.exists("m") == 0 and db1.get("m") == b"x"
        finally:
            db1.close()

    def test_keys_randomkey_dbsize(self, rd):
        assert rd.randomkey() is None
        rd.mset({"user:1": 1, "user:2": 2, "item:1": 3, "u": 4})
        assert sorted(rd.keys("user:*")) == ["user:1", "user:2"]
        assert sorted(rd.keys("u*")) == ["u", "user:1", "user:2"]
        assert sorted(rd.keys()) == ["item:1", "u", "user:1", "user:2"]
        assert rd.randomkey() in {"user:1", "user:2", "item:1", "u"}
        assert rd.dbsize() == 4

    def test_scan_iter_sees_every_key_once(self, rd):
        names = ["key:%d" % i for i in range(700)]
        pipe = rd.pipeline(transaction=False)
        for n in names:
            pipe.set(n, "v")
        pipe.set("other", "v")
        pipe.execute()
        seen = list(rd.scan_iter(match="key:*", count=50))
        assert sorted(seen) == sorted(names)
        assert sorted(rd.scan_iter(match="other")) == ["other"]
        assert len(list(rd.scan_iter(_type="string"))) == 701
        assert list(rd.scan_iter(_type="list")) == []
        cursor, batch = rd.scan(0, count=10)
        assert isinstance(cursor, int) and isinstance(batch, list)

    def test_select_and_swap(self, r):
        port = r.connection_pool.connection_kwargs["port"]
        db2 = redis.Redis(port=port, db=2, protocol=resp(r))
        try:
            db2.set("k", "in2")
            assert r.get("k") is None
            assert r.swapdb(0, 2) is True
            assert r.get("k") == b"in2"
            assert db2.get("k") is None
            with pytest.raises(redis.ResponseError, match="DB index is out of range"):
                r.execute_command("SELECT", 16)
        finally:
            db2.flushdb()
            db2.close()


# ------------------------------------------------ pipelines and transactions
class TestPipelines:
    def test_pipeline_without_transaction(self, r):
        pipe = r.pipeline(transaction=False)
        pipe.set("a", "1").incr("a").get("a").exists("a", "b").ttl("a")
        assert pipe.execute() == [True, 2, b"2", 1, -1]

    def test_transaction(self, r):
        with r.pipeline() as pipe:
            pipe.set("a", "1").incrby("a", 5).getdel("a").get("a")
            assert pipe.execute() == [True, 6, b"6", None]

    def test_transaction_runtime_error(self, r):
        pipe = r.pipeline()
        pipe.set("x", "v").incr("x").get("x")
        with pytest.raises(redis.ResponseError, match="value is not an integer"):
            pipe.execute()
        pipe.set("x", "v").incr("x").get("x")
        res = pipe.execute(raise_on_error=False)
        assert res[0] is True and res[2] == b"v"
        assert isinstance(res[1], redis.ResponseError)

    def test_transaction_queue_error_discards_everything(self, r):
        pipe = r.pipeline()
        pipe.set("y", "v").execute_command("NOSUCHCOMMAND", "arg")
        with pytest.raises(redis.ResponseError, match="unknown command"):
            pipe.execute()
        assert r.exists("y") == 0

    def test_watch_conflict(self, r):
        other = redis.Redis(port=r.connection_pool.connection_kwargs["port"], protocol=resp(r))
        try:
            r.set("w", "1")
            with r.pipeline() as pipe:
                pipe.watch("w")
                assert pipe.get("w") == b"1"  # immediate mode after WATCH
                other.set("w", "2")
                pipe.multi()
                pipe.set("w", "3")
                with pytest.raises(redis.WatchError):
                    pipe.execute()
            assert r.get("w") == b"2"
            # Without interference the same sequence commits.
            with r.pipeline() as pipe:
                pipe.watch("w")
                pipe.multi()
                pipe.set("w", "4")
                assert pipe.execute() == [True]
            assert r.get("w") == b"4"
        finally:
            other.close()

    def test_transaction_helper_retries(self, r):
        r.set("counter", "0")

        def bump(pipe):
            value = int(pipe.get("counter"))
            pipe.multi()
            pipe.set("counter", value + 1)

        for _ in range(5):
            r.transaction(bump, "counter")
        assert r.get("counter") == b"5"

    def test_long_pipeline(self, r):
        pipe = r.pipeline(transaction=False)
        for i in range(5000):
            pipe.set("k%d" % i, i)
        for i in range(5000):
            pipe.get("k%d" % i)
        res = pipe.execute()
        assert res[:5000] == [True] * 5000
        assert res[5000:] == [str(i).encode() for i in range(5000)]


# ------------------------------------------------------ server / connection
class TestServerAndConnection:
    def test_ping_echo(self, r):
        assert r.ping() is True
        assert r.echo("hi\x00there") == b"hi\x00there"

    def test_hello_reports_protocol(self, r):
        reply = r.execute_command("HELLO")
        if resp(r) == 2:
            reply = dict(zip(reply[::2], reply[1::2]))
        assert reply[b"proto"] == resp(r)
        assert reply[b"server"] == b"redis"
        assert reply[b"mode"] == b"standalone"
        assert reply[b"role"] == b"master"
        assert isinstance(reply[b"id"], int)
        assert reply[b"version"].count(b".") == 2

    def test_info_parses(self, r):
        r.set("a", "1")
        r.set("b", "2", ex=100)
        info = r.info()
        assert isinstance(info["redis_version"], str) and info["redis_version"].count(".") == 2
        assert info["tcp_port"] == r.connection_pool.connection_kwargs["port"]
        assert isinstance(info["connected_clients"], int) and info["connected_clients"] >= 1
        assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
        assert info["role"] == "master"
        assert info["db0"]["keys"] == 2 and info["db0"]["expires"] == 1
        server = r.info("server")
        assert "redis_version" in server and "used_memory" not in server
        both = r.info("memory", "clients")
        assert "used_memory" in both and "connected_clients" in both and "redis_version" not in both
        assert r.info("keyspace") == {"db0": {"keys": 2, "expires": 1, "avg_ttl": r.info("keyspace")["db0"]["avg_ttl"]}}
        assert isinstance(r.info("stats")["total_commands_processed"], int)

    def test_config_get_set(self, rd):
        everything = rd.config_get("*")
        assert isinstance(everything, dict) and len(everything) > 50
        assert everything["port"] == str(rd.connection_pool.connection_kwargs["port"])
        assert everything["maxmemory"] == "0"
        assert everything["appendonly"] == "no"
        assert set(rd.config_get("maxmemory*")) >= {"maxmemory", "maxmemory-policy", "maxmemory-samples"}
        assert rd.config_get("no-such-parameter") == {}
        old = rd.config_get("maxmemory-policy")["maxmemory-policy"]
        try:
            assert rd.config_set("maxmemory-policy", "allkeys-lru") is True
            assert rd.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        finally:
            rd.config_set("maxmemory-policy", old)
        with pytest.raises(redis.ResponseError, match="Unknown option or number of arguments for CONFIG SET"):
            rd.config_set("no-such-parameter", "1")
        assert rd.config_resetstat() is True

    def test_client_commands(self, rd):
        cid = rd.client_id()
        assert isinstance(cid, int)
        assert rd.client_getname() is None
        assert rd.client_setname("compat-test") is True
        assert rd.client_getname() == "compat-test"
        clients = rd.client_list()
        mine = [c for c in clients if c["name"] == "compat-test"]
        assert len(mine) == 1
        assert mine[0]["id"] == str(cid)
        assert mine[0]["db"] == "0"
        assert mine[0]["cmd"] == "client|list"
        assert ":" in mine[0]["addr"]
        assert mine[0]["resp"] == str(resp(rd))
        info = rd.client_info()
        assert info["id"] == cid and info["name"] == "compat-test"
        assert all(c["id"] == str(cid) for c in rd.client_list(client_id=[cid]))
        with pytest.raises(redis.ResponseError):
            rd.client_setname("has space")

    def test_client_kill(self, r):
        port = r.connection_pool.connection_kwargs["port"]
        victim = redis.Redis(port=port, protocol=resp(r), single_connection_client=True)
        try:
            victim.ping()
            vid = victim.client_id()
            assert r.client_kill_filter(_id=vid) == 1
            assert r.client_kill_filter(_id=vid) == 0
        finally:
            victim.close()

    def test_server_misc(self, r):
        secs, micros = r.time()
        assert abs(secs - time.time()) < 5 and 0 <= micros < 1_000_000
        assert isinstance(r.lastsave(), datetime.datetime)
        r.set("a", "1")
        assert r.dbsize() == 1
        assert r.flushdb() is True
        assert r.dbsize() == 0
        r.set("a", "1")
        assert r.flushall(asynchronous=True) is True
        assert r.dbsize() == 0

    def test_command_introspection(self, rd):
        count = rd.command_count()
        assert isinstance(count, int) and count > 20
        table = rd.command()
        assert len(table) == count
        assert table["get"]["arity"] == 2
        assert table["set"]["arity"] == -3
        assert rd.command_getkeys("MSET", "a", "1", "b", "2") == ["a", "b"]

    def test_memory_usage(self, r):
        r.set("k", "x" * 1000)
        usage = r.memory_usage("k")
        assert isinstance(usage, int) and 1000 <= usage < 2000
        assert r.memory_usage("missing") is None

    def test_slowlog(self, r):
        old = r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
        try:
            assert r.slowlog_reset() is True
            r.config_set("slowlog-log-slower-than", 0)
            r.set("slow", "v")
            entries = r.slowlog_get()
            assert r.slowlog_len() >= 1
            cmds = [e["command"] for e in entries]
            assert b"SET slow v" in cmds
            assert all(isinstance(e["id"], int) and isinstance(e["duration"], int) for e in entries)
        finally:
            r.config_set("slowlog-log-slower-than", old)

    def test_errors_map_to_exceptions(self, r):
        with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
            r.execute_command("NOSUCH")
        with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
            r.execute_command("GET")
        # The connection is still usable after errors.
        assert r.ping() is True

    def test_auth_when_no_password_is_set(self, r):
        # No retries: redis-py treats AuthenticationError as a connection
        # error and would otherwise back off and retry for seconds.
        client = redis.Redis(port=r.connection_pool.connection_kwargs["port"], protocol=resp(r),
                             retry=Retry(NoBackoff(), 0))
        try:
            with pytest.raises(redis.AuthenticationError):
                client.auth("nope")
        finally:
            client.close()

    def test_reset_connection_state(self, r):
        if resp(r) == 3:
            pytest.skip("redis-py itself stalls 5 s after RESET on a RESP3 connection (RESET reverts to RESP2)")
        conn = redis.Redis(port=r.connection_pool.connection_kwargs["port"], protocol=resp(r),
                           single_connection_client=True)
        try:
            conn.execute_command("SELECT", 3)
            conn.client_setname("before-reset")
            assert conn.execute_command("RESET") in (b"RESET", "RESET")
            assert conn.client_getname() is None
            assert conn.client_info()["db"] == 0
        finally:
            conn.close()
