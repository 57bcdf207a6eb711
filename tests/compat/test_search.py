"""Vector and full-text search through redis-py's own search API
(`redis.commands.search`), over RESP2 and RESP3, against Quiver.

Each test builds its index on a fresh database state (FLUSHALL drops every
index, as RediSearch does) and checks what a RediSearch user relies on:
KNN order and distances, prefilters, range queries, TTL expiry leaving the
index, re-indexing on HSET/HDEL, FT.INFO's layout, aggregations, cursors.
"""

import struct
import time

import numpy as np
import pytest
import redis
from redis.commands.search.aggregation import AggregateRequest, Cursor
from redis.commands.search.field import NumericField, TagField, TextField, VectorField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query
from redis.commands.search import reducers

from conftest import start_quiver


@pytest.fixture(scope="module")
def server():
    s = start_quiver()
    yield s
    s.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server):
    client = redis.Redis(port=server.port, protocol=request.param)
    client.flushall()
    yield client
    client.close()


def dec(x):
    return x.decode() if isinstance(x, bytes) else x


def norm(res):
    """(total, [(id, {field: value})]) from FT.SEARCH: redis-py gives a
    Result object over RESP2 and the server's map over RESP3."""
    if isinstance(res, dict):
        d = {dec(k): v for k, v in res.items()}
        rows = []
        for item in d["results"]:
            item = {dec(k): v for k, v in item.items()}
            extra = {dec(k): dec(v) for k, v in item.get("extra_attributes", {}).items()}
            rows.append((dec(item["id"]), extra))
        return d["total_results"], rows
    rows = [
        (d.id, {k: v for k, v in d.__dict__.items() if k not in ("id", "payload")})
        for d in res.docs
    ]
    return res.total, rows


def ids(res):
    return [i for i, _ in norm(res)[1]]


def total(res):
    return norm(res)[0]


def agg_rows(res):
    """FT.AGGREGATE rows as dicts of text, for either protocol."""
    if isinstance(res, dict):
        d = {dec(k): v for k, v in res.items()}
        return [
            {dec(k): dec(v) for k, v in {dec(a): b for a, b in row.items()}["extra_attributes"].items()}
            for row in d["results"]
        ]
    return [{dec(k): dec(v) for k, v in zip(row[::2], row[1::2])} for row in res.rows]


def info_dict(info):
    return {dec(k): v for k, v in info.items()}


def vec(*xs):
    return np.array(xs, dtype=np.float32).tobytes()


def make_vectors(r, metric="L2", algo="HNSW", dim=2):
    attrs = {"TYPE": "FLOAT32", "DIM": dim, "DISTANCE_METRIC": metric}
    schema = (
        TagField("genre"),
        NumericField("year"),
        TextField("title"),
        VectorField("v", algo, attrs),
    )
    r.ft("idx").create_index(
        schema, definition=IndexDefinition(prefix=["doc:"], index_type=IndexType.HASH)
    )
    docs = [
        ("doc:a", "scifi", 1999, "the matrix", (0.0, 0.0)),
        ("doc:b", "scifi", 2010, "inception dreams", (1.0, 0.0)),
        ("doc:c", "drama", 1994, "shawshank redemption", (0.0, 2.0)),
        ("doc:d", "drama", 2019, "parasite", (3.0, 3.0)),
        ("doc:e", "comedy", 2004, "mean girls", (-1.0, -1.0)),
    ]
    for key, genre, year, title, v in docs:
        r.hset(key, mapping={"genre": genre, "year": year, "title": title, "v": vec(*v)})
    return docs


def knn(r, query, k=3, **params):
    q = (
        Query(query)
        .return_fields("genre", "dist")
        .sort_by("dist")
        .paging(0, k)
        .dialect(2)
    )
    return r.ft("idx").search(q, query_params={"vec": vec(0.0, 0.0), **params})


def test_module_is_reported(r):
    mods = r.module_list()
    names = [m.get(b"name", m.get("name")) for m in mods]
    assert b"search" in names or "search" in names
    mods = r.info("modules")["modules"]
    assert ("search", 21005) in [(m["name"], m["ver"]) for m in mods]


@pytest.mark.parametrize("algo", ["HNSW", "FLAT"])
def test_knn_orders_by_distance(r, algo):
    make_vectors(r, algo=algo)
    res = knn(r, "*=>[KNN 3 @v $vec AS dist]")
    assert total(res) == 3
    assert ids(res) == ["doc:a", "doc:b", "doc:e"]
    assert [float(f["dist"]) for _, f in norm(res)[1]] == [0.0, 1.0, 2.0]


def test_knn_with_prefilter_returns_k_matches(r):
    make_vectors(r)
    res = knn(r, "(@genre:{drama})=>[KNN 5 @v $vec AS dist]", k=5)
    assert ids(res) == ["doc:c", "doc:d"]
    assert total(res) == 2
    res = knn(r, "@year:[2000 +inf]=>[KNN 2 @v $vec AS dist]")
    assert ids(res) == ["doc:b", "doc:e"]


def test_cosine_and_ip_distances(r):
    r.ft("idx").create_index(
        (VectorField("v", "FLAT", {"TYPE": "FLOAT32", "DIM": 2, "DISTANCE_METRIC": "COSINE"}),),
        definition=IndexDefinition(prefix=["c:"]),
    )
    r.hset("c:same", mapping={"v": vec(2.0, 0.0)})
    r.hset("c:orth", mapping={"v": vec(0.0, 5.0)})
    r.hset("c:opp", mapping={"v": vec(-1.0, 0.0)})
    q = Query("*=>[KNN 3 @v $q AS d]").sort_by("d").return_fields("d").dialect(2)
    res = r.ft("idx").search(q, query_params={"q": vec(1.0, 0.0)})
    assert ids(res) == ["c:same", "c:orth", "c:opp"]
    assert [round(float(f["d"]), 6) for _, f in norm(res)[1]] == [0.0, 1.0, 2.0]


def test_vector_range_query(r):
    make_vectors(r)
    q = (
        Query("@v:[VECTOR_RANGE $radius $vec]=>{$YIELD_DISTANCE_AS: dist}")
        .return_fields("dist")
        .sort_by("dist")
        .dialect(2)
    )
    res = r.ft("idx").search(q, query_params={"vec": vec(0.0, 0.0), "radius": 2.5})
    assert ids(res) == ["doc:a", "doc:b", "doc:e"]
    with pytest.raises(redis.ResponseError, match="negative radius"):
        r.ft("idx").search(q, query_params={"vec": vec(0.0, 0.0), "radius": -1})


def test_expired_and_deleted_documents_leave_the_index(r):
    make_vectors(r)
    r.pexpire("doc:a", 50)
    r.delete("doc:b")
    time.sleep(0.15)
    res = knn(r, "*=>[KNN 5 @v $vec AS dist]", k=5)
    assert "doc:a" not in ids(res)
    assert "doc:b" not in ids(res)
    assert int(info_dict(r.ft("idx").info())["num_docs"]) == 3


def test_rewrites_reindex(r):
    make_vectors(r)
    r.hset("doc:d", "v", vec(0.0, 0.1))
    res = knn(r, "*=>[KNN 2 @v $vec AS dist]", k=2)
    assert ids(res) == ["doc:a", "doc:d"]
    r.hdel("doc:a", "v")
    res = knn(r, "*=>[KNN 1 @v $vec AS dist]", k=1)
    assert ids(res) == ["doc:d"]
    # Overwrite with another type removes the document.
    r.delete("doc:d")
    r.set("doc:d", "not a hash")
    assert int(info_dict(r.ft("idx").info())["num_docs"]) == 4


def test_bad_blob_counts_an_indexing_failure(r):
    make_vectors(r)
    r.hset("doc:bad", mapping={"genre": "x", "v": b"\x00\x01"})
    info = info_dict(r.ft("idx").info())
    assert int(info["hash_indexing_failures"]) == 1
    assert int(info["num_docs"]) == 5
    with pytest.raises(redis.ResponseError, match="blob size"):
        r.ft("idx").search(
            Query("*=>[KNN 1 @v $vec]").dialect(2), query_params={"vec": b"\x00" * 7}
        )


def test_tag_numeric_text_queries(r):
    make_vectors(r)
    ft = r.ft("idx")
    assert total(ft.search(Query("@genre:{scifi}").dialect(2))) == 2
    assert total(ft.search(Query("@genre:{scifi|comedy}").dialect(2))) == 3
    assert total(ft.search(Query("-@genre:{scifi}").dialect(2))) == 3
    assert total(ft.search(Query("@year:[(1999 2010]").dialect(2))) == 2
    res = ft.search(Query("@year:[-inf 2000]").sort_by("year", asc=False).dialect(2))
    assert ids(res) == ["doc:a", "doc:c"]
    assert total(ft.search(Query("@title:matrix").dialect(2))) == 1
    assert total(ft.search(Query("dream*").dialect(2))) == 1
    res = ft.search(Query("*").paging(0, 0).dialect(2))
    assert total(res) == 5 and ids(res) == []
    res = ft.search(Query("*").no_content().paging(0, 2).dialect(2))
    assert total(res) == 5 and len(ids(res)) == 2


def test_info_layout_and_admin(r):
    make_vectors(r)
    ft = r.ft("idx")
    info = info_dict(ft.info())
    assert dec(info["index_name"]) == "idx"
    attrs = info["attributes"]
    assert len(attrs) == 4
    assert int(info["num_docs"]) == 5
    assert ft.tagvals("genre") is not None
    assert set(map(lambda x: x.decode() if isinstance(x, bytes) else x, ft.tagvals("genre"))) == {
        "scifi",
        "drama",
        "comedy",
    }
    names = r.execute_command("FT._LIST")
    assert [n.decode() if isinstance(n, bytes) else n for n in names] == ["idx"]
    ft.aliasadd("movies")
    assert total(r.ft("movies").search(Query("@genre:{drama}").dialect(2))) == 2
    ft.aliasdel("movies")
    with pytest.raises(redis.ResponseError):
        r.ft("movies").search(Query("*").dialect(2))
    assert ft.explain("@genre:{drama}")
    ft.dropindex(delete_documents=True)
    assert r.exists("doc:a") == 0
    with pytest.raises(redis.ResponseError, match="(?i)unknown index name"):
        ft.info()


def test_flushall_drops_indexes(r):
    make_vectors(r)
    r.flushall()
    assert r.execute_command("FT._LIST") in ([], set())


def test_aggregate_groupby_and_cursor(r):
    make_vectors(r)
    ft = r.ft("idx")
    req = (
        AggregateRequest("*")
        .group_by("@genre", reducers.count().alias("n"), reducers.max("@year").alias("latest"))
        .sort_by("@genre")
        .dialect(2)
    )
    rows = agg_rows(ft.aggregate(req))
    assert rows == [
        {"genre": "comedy", "n": "1", "latest": "2004"},
        {"genre": "drama", "n": "2", "latest": "2019"},
        {"genre": "scifi", "n": "2", "latest": "2010"},
    ]
    # Cursors through raw commands: redis-py parses them differently per protocol.
    first = r.execute_command("FT.AGGREGATE", "idx", "*", "LOAD", "1", "@__key",
                              "WITHCURSOR", "COUNT", "2", "DIALECT", "2")
    batch, cid = first
    seen = len(agg_rows(batch) if isinstance(batch, dict) else batch[1:])
    while cid:
        batch, cid = r.execute_command("FT.CURSOR", "READ", "idx", cid)
        seen += len(agg_rows(batch) if isinstance(batch, dict) else batch[1:])
    assert seen == 5


def test_aggregate_apply_filter(r):
    make_vectors(r)
    req = (
        AggregateRequest("*")
        .load("@year")
        .apply(decade="floor(@year / 10) * 10")
        .filter("@decade >= 2000")
        .sort_by("@year")
        .dialect(2)
    )
    decades = agg_rows(r.ft("idx").aggregate(req))
    assert [int(d["decade"]) for d in decades] == [2000, 2010, 2010]


def test_create_errors(r):
    with pytest.raises(redis.ResponseError, match="Index already exists"):
        make_vectors(r)
        make_vectors(r)
    with pytest.raises(redis.ResponseError, match="Missing mandatory parameter"):
        r.execute_command(
            "FT.CREATE", "bad", "SCHEMA", "v", "VECTOR", "FLAT", "4", "TYPE", "FLOAT32",
            "DISTANCE_METRIC", "L2",
        )
    with pytest.raises(redis.ResponseError, match="no such index"):
        r.execute_command("FT.SEARCH", "nope", "*")
