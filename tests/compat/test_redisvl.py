"""RedisVL (pinned in requirements.txt) against Quiver, unmodified: a
SearchIndex with every query class, `from_existing` round-trips, the
SemanticCache (store/check, TTL, filters) and the SemanticRouter.

Embeddings come from a small deterministic bag-of-words vectorizer, so the
tests need no model download: texts sharing words are close in cosine
distance, unrelated texts are far apart.
"""

import time
import zlib

import numpy as np
import pytest
import redis

from conftest import start_quiver

from redisvl.extensions.cache.llm import SemanticCache
from redisvl.extensions.router import Route, SemanticRouter
from redisvl.index import SearchIndex
from redisvl.query import CountQuery, FilterQuery, TextQuery, VectorQuery, VectorRangeQuery
from redisvl.query.filter import Num, Tag
from redisvl.utils.vectorize import CustomVectorizer

DIM = 64


def embed(text: str) -> list:
    v = np.zeros(DIM, dtype=np.float32)
    for w in text.lower().replace("?", " ").replace(",", " ").split():
        v[zlib.crc32(w.encode()) % DIM] += 1.0
    n = np.linalg.norm(v)
    return (v / n if n else v).tolist()


def embed_many(texts):
    return [embed(t) for t in texts]


@pytest.fixture(scope="module")
def server():
    s = start_quiver()
    yield s
    s.stop()


@pytest.fixture
def client(server):
    c = redis.Redis(port=server.port)
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def vectorizer():
    return CustomVectorizer(embed=embed, embed_many=embed_many)


SCHEMA = {
    "index": {"name": "users", "prefix": "rvl", "storage_type": "hash"},
    "fields": [
        {"name": "user", "type": "tag"},
        {"name": "job", "type": "text"},
        {"name": "age", "type": "numeric"},
        {
            "name": "emb",
            "type": "vector",
            "attrs": {"dims": 3, "distance_metric": "cosine", "algorithm": "hnsw", "datatype": "float32"},
        },
    ],
}

DATA = [
    {"user": "john", "job": "engineer", "age": 18, "emb": [0.1, 0.1, 0.5]},
    {"user": "mary", "job": "doctor", "age": 44, "emb": [0.1, 0.1, 0.5]},
    {"user": "joe", "job": "dentist", "age": 35, "emb": [0.9, 0.9, 0.1]},
    {"user": "tyler", "job": "engineer", "age": 100, "emb": [0.1, 0.3, 0.5]},
]


def as_bytes(rows):
    out = []
    for d in rows:
        d = dict(d)
        d["emb"] = np.array(d["emb"], dtype=np.float32).tobytes()
        out.append(d)
    return out


@pytest.fixture
def index(client):
    idx = SearchIndex.from_dict(SCHEMA, redis_client=client)
    idx.create(overwrite=True)
    idx.load(as_bytes(DATA))
    yield idx
    idx.delete(drop=True)


def test_index_exists_and_info(index):
    assert index.exists()
    info = index.info()
    assert int(info["num_docs"]) == 4


def test_vector_query_with_filter(index):
    q = VectorQuery([0.1, 0.1, 0.5], "emb", return_fields=["user", "age"], num_results=3)
    res = index.query(q)
    assert [r["user"] for r in res][:2] in (["john", "mary"], ["mary", "john"])
    assert float(res[0]["vector_distance"]) == pytest.approx(0.0, abs=1e-6)
    q = VectorQuery(
        [0.1, 0.1, 0.5], "emb", return_fields=["user"], filter_expression=Tag("user") == "joe"
    )
    res = index.query(q)
    assert [r["user"] for r in res] == ["joe"]
    q = VectorQuery(
        [0.1, 0.1, 0.5], "emb", return_fields=["user"], filter_expression=Num("age") > 40
    )
    assert sorted(r["user"] for r in index.query(q)) == ["mary", "tyler"]


def test_range_filter_count_text_queries(index):
    q = VectorRangeQuery([0.1, 0.1, 0.5], "emb", return_fields=["user"], distance_threshold=0.1)
    assert sorted(r["user"] for r in index.query(q)) == ["john", "mary", "tyler"]
    fq = FilterQuery(filter_expression=Tag("user") == "mary", return_fields=["user", "age"])
    assert [r["age"] for r in index.query(fq)] == ["44"]
    assert index.query(CountQuery(filter_expression=Num("age") >= 35)) == 3
    tq = TextQuery("engineer", text_field_name="job", return_fields=["user"])
    assert sorted(r["user"] for r in index.query(tq)) == ["john", "tyler"]


def test_from_existing_round_trip(index, client):
    again = SearchIndex.from_existing("users", redis_client=client)
    assert again.schema.to_dict() == index.schema.to_dict()


def test_paginate_and_clear(index):
    q = FilterQuery(filter_expression=Tag("user") != "nobody", return_fields=["user"])
    seen = []
    for batch in index.paginate(q, page_size=2):
        seen.extend(r["user"] for r in batch)
    assert sorted(seen) == ["joe", "john", "mary", "tyler"]
    assert index.clear() == 4
    assert int(index.info()["num_docs"]) == 0


def test_semantic_cache(client, vectorizer):
    cache = SemanticCache(
        name="llmcache",
        vectorizer=vectorizer,
        redis_client=client,
        distance_threshold=0.2,
        filterable_fields=[{"name": "user", "type": "tag"}],
        overwrite=True,
    )
    cache.store("what is the capital of france", "Paris", filters={"user": "a"})
    hit = cache.check(prompt="what is the capital of france")
    assert hit and hit[0]["response"] == "Paris"
    hit = cache.check(prompt="the capital of france is what")
    assert hit and hit[0]["response"] == "Paris"
    assert cache.check(prompt="how do I bake bread") == []
    assert cache.check(prompt="what is the capital of france", filter_expression=Tag("user") == "b") == []
    # A second cache object on the same index reads the schema back.
    again = SemanticCache(
        name="llmcache",
        vectorizer=vectorizer,
        redis_client=client,
        distance_threshold=0.2,
        filterable_fields=[{"name": "user", "type": "tag"}],
    )
    assert again.check(prompt="what is the capital of france")
    cache.clear()
    assert cache.check(prompt="what is the capital of france") == []
    cache.delete()


def test_semantic_cache_ttl(client, vectorizer):
    cache = SemanticCache(
        name="ttlcache", vectorizer=vectorizer, redis_client=client, ttl=1, overwrite=True
    )
    cache.store("short lived prompt", "answer")
    assert cache.check(prompt="short lived prompt")
    time.sleep(2.2)
    assert cache.check(prompt="short lived prompt") == []
    cache.delete()


def test_semantic_router(client, vectorizer):
    routes = [
        Route(name="greeting", references=["hello there", "hi how are you"], distance_threshold=0.5),
        Route(name="weather", references=["what is the weather today", "will it rain"], distance_threshold=0.5),
    ]
    router = SemanticRouter(
        name="router", routes=routes, vectorizer=vectorizer, redis_client=client, overwrite=True
    )
    assert router("hello there friend").name == "greeting"
    assert router("is the weather today sunny").name == "weather"
    assert router("quantum chromodynamics lecture").name is None
    router.delete()


def test_json_storage_index(client):
    schema = {
        "index": {"name": "jusers", "prefix": "jrvl", "storage_type": "json"},
        "fields": [
            {"name": "user", "type": "tag"},
            {"name": "age", "type": "numeric"},
            {
                "name": "emb",
                "type": "vector",
                "attrs": {"dims": 3, "distance_metric": "cosine", "algorithm": "flat", "datatype": "float32"},
            },
        ],
    }
    idx = SearchIndex.from_dict(schema, redis_client=client)
    idx.create(overwrite=True)
    idx.load(DATA)
    q = VectorQuery([0.9, 0.9, 0.1], "emb", return_fields=["user", "age"], num_results=2)
    res = idx.query(q)
    assert res[0]["user"] == "joe"
    assert idx.query(CountQuery(filter_expression=Num("age") > 40)) == 2
    again = SearchIndex.from_existing("jusers", redis_client=client)
    assert again.schema.to_dict() == idx.schema.to_dict()
    idx.delete(drop=True)
