"""JSON documents through redis-py's own JSON API (`r.json()`), over RESP2
and RESP3, against Quiver: the calls RedisVL makes (SET/GET at `$` and
`.`), the legacy-path vs JSONPath reply shapes, and MODULE LIST/INFO
advertising ReJSON so clients enable their JSON support.
"""

import pytest
import redis
from redis.commands.json.path import Path

from conftest import start_quiver


@pytest.fixture(scope="module")
def server():
    s = start_quiver()
    yield s
    s.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server):
    client = redis.Redis(port=server.port, protocol=request.param, decode_responses=True)
    client.flushall()
    yield client
    client.close()


def test_module_list_reports_rejson(r):
    names = {m["name"] for m in r.module_list()}
    assert {"search", "ReJSON"} <= names
    assert any(m["name"] == "ReJSON" for m in r.info("modules").get("modules", []))


def test_redisvl_style_round_trip(r):
    doc = {"name": "route", "references": ["hi", "hello"], "distance_threshold": 0.5, "n": None}
    assert r.json().set("router:route_config", ".", doc)
    assert r.json().get("router:route_config") == doc
    assert r.json().set("k", "$", doc)
    assert r.json().get("k", "$") == [doc]
    assert r.json().get("k", "$.references[*]") == ["hi", "hello"]
    assert r.json().get("k", ".references") == ["hi", "hello"]
    assert r.json().get("missing") is None
    assert r.type("k") == "ReJSON-RL"


def test_member_order_and_unicode_survive(r, server):
    r.json().set("k", "$", {"z": 1, "a": 2, "m": "héllo"})
    assert list(r.json().get("k")) == ["z", "a", "m"]
    # The wire text, without r.json()'s decoding callbacks.
    raw = redis.Redis(port=server.port, decode_responses=True)
    assert raw.execute_command("JSON.GET", "k") == '{"z":1,"a":2,"m":"héllo"}'
    raw.close()
    assert r.json().get("k", no_escape=True)["m"] == "héllo"


def test_paths_and_writes(r):
    r.json().set("d", "$", {"a": [1, 2, 3], "o": {"a": "s"}, "t": True})
    assert r.json().arrappend("d", "$..a", 4) == [4, None]
    assert r.json().arrlen("d", ".a") == 4
    assert r.json().strlen("d", "$..a") == [None, 1]
    assert r.json().toggle("d", "$.t") == [0]
    assert r.json().numincrby("d", "$.a[0]", 10) == [11]
    assert r.json().objkeys("d") == ["a", "o", "t"]
    assert r.json().arrpop("d", ".a") == 4
    assert r.json().delete("d", "$.o") == 1
    assert r.json().get("d") == {"a": [11, 2, 3], "t": False}
    assert r.json().get("d", "$.a[?(@ > 2)]") == [11, 3]
    with pytest.raises(redis.ResponseError, match="does not exist"):
        r.json().get("d", ".nope")
    with pytest.raises(redis.ResponseError, match="created at the root"):
        r.json().set("new", "$.x", 1)


def test_mset_mget_merge(r):
    r.json().mset([("a", "$", {"v": 1}), ("b", "$", {"v": 2})])
    assert r.json().mget(["a", "b", "c"], "$.v") == [[1], [2], None]
    assert r.json().merge("a", "$", {"v": None, "w": {"x": 1}})
    assert r.json().get("a") == {"w": {"x": 1}}


def test_watch_sees_json_writes(r, server):
    other = redis.Redis(port=server.port, decode_responses=True)
    r.json().set("w", "$", {"n": 1})
    with r.pipeline() as p:
        p.watch("w")
        other.json().numincrby("w", "$.n", 1)
        p.multi()
        p.json().set("w", "$.n", 5)
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.json().get("w", "$.n") == [2]
    other.close()
