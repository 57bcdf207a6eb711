"""The search pattern of the seed application, verbatim: a HASH index over
`doc:` keys with a TEXT title and a 1536-dimensional FLOAT32 HNSW vector
under cosine distance, filled with a few hundred documents, queried for the
single nearest neighbour with raw `execute_command` calls (no
`redis.commands.search` helpers), over RESP2 and RESP3.

The seed reads the reply itself, so its exact shape matters: in RESP2
`[total, key, [field, value, ...]]` with the RETURN fields in RETURN order,
in RESP3 a map with `total_results` and `results` (each with `id` and
`extra_attributes`).
"""

import numpy as np
import pytest
import redis

from conftest import start_quiver

DIM = 1536
DOCS = 300
CREATE = ("FT.CREATE idx:docs ON HASH PREFIX 1 doc: SCHEMA title TEXT "
          "embedding VECTOR HNSW 6 TYPE FLOAT32 DIM 1536 DISTANCE_METRIC COSINE")
QUERY = "*=>[KNN 1 @embedding $blob AS score]"


@pytest.fixture(scope="module")
def server():
    s = start_quiver()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def embeddings():
    # Random directions in 1536 dimensions are nearly orthogonal: every
    # stored vector is at cosine distance ~1 from the others, so the nearest
    # neighbour of a stored vector (or a slightly perturbed copy) is
    # unambiguous even for an approximate index.
    rng = np.random.default_rng(20240601)
    return rng.standard_normal((DOCS, DIM)).astype(np.float32)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server, embeddings):
    client = redis.Redis(port=server.port, protocol=request.param)
    client.flushall()
    assert client.execute_command(*CREATE.split()) in (b"OK", "OK", True)
    pipe = client.pipeline(transaction=False)
    for i, e in enumerate(embeddings):
        pipe.hset("doc:%d" % i, mapping={
            "title": "document number %d" % i,
            "response": "answer %d \u2713" % i,
            "embedding": e.tobytes(),
        })
    assert all(n == 3 for n in pipe.execute())
    yield client
    client.close()


def dec(x):
    return x.decode() if isinstance(x, bytes) else x


def search(r, blob):
    return r.execute_command(
        "FT.SEARCH", "idx:docs", QUERY, "PARAMS", 2, "blob", blob,
        "RETURN", 2, "response", "score", "DIALECT", 2)


def hits(res):
    """(total, [(key, [(field, value), ...])]) with fields in reply order,
    read the way the seed reads either protocol."""
    if isinstance(res, dict):
        d = {dec(k): v for k, v in res.items()}
        rows = []
        for item in d["results"]:
            item = {dec(k): v for k, v in item.items()}
            rows.append((dec(item["id"]), [(dec(k), v) for k, v in item["extra_attributes"].items()]))
        return d["total_results"], rows
    assert isinstance(res, list), res
    total, rest = res[0], res[1:]
    rows = []
    for key, fields in zip(rest[::2], rest[1::2]):
        rows.append((dec(key), [(dec(k), v) for k, v in zip(fields[::2], fields[1::2])]))
    return total, rows


def cosine_distance(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("i", [0, 137, DOCS - 1])
def test_stored_vector_finds_itself(r, embeddings, i):
    total, rows = hits(search(r, embeddings[i].tobytes()))
    assert total == 1
    assert len(rows) == 1
    key, fields = rows[0]
    assert key == "doc:%d" % i
    # RETURN 2 response score: exactly those, in that order.
    assert [f for f, _ in fields] == ["response", "score"]
    values = dict(fields)
    assert values["response"].decode("utf-8") == "answer %d \u2713" % i
    assert abs(float(values["score"])) < 1e-5, values["score"]


def test_nearby_query_scores_its_cosine_distance(r, embeddings):
    rng = np.random.default_rng(7)
    target = 42
    q = (embeddings[target] + 0.3 * rng.standard_normal(DIM)).astype(np.float32)
    # Scaling a query does not change cosine distances.
    q *= np.float32(3.5)
    total, rows = hits(search(r, q.tobytes()))
    assert total == 1
    key, fields = rows[0]
    assert key == "doc:%d" % target
    score = float(dict(fields)["score"])
    expected = cosine_distance(q, embeddings[target])
    assert 0.01 < expected < 0.2  # a real distance, not ~0
    assert abs(score - expected) < 1e-4, (score, expected)
    # And it is the true nearest neighbour, checked by brute force.
    dists = [cosine_distance(q, e) for e in embeddings]
    assert int(np.argmin(dists)) == target


def test_updates_are_searchable_at_once(r, embeddings):
    """The seed overwrites a document's embedding and response with HSET;
    the next query must see the new vector and text."""
    new = embeddings[5].copy()
    r.hset("doc:9", mapping={"embedding": new.tobytes(), "response": "replaced"})
    # doc:5 and doc:9 now hold the same vector: either is a valid nearest
    # neighbour at distance 0, but a vector only doc:9 had must no longer
    # find doc:9.
    total, rows = hits(search(r, new.tobytes()))
    assert rows[0][0] in ("doc:5", "doc:9")
    assert abs(float(dict(rows[0][1])["score"])) < 1e-5
    total, rows = hits(search(r, embeddings[9].tobytes()))
    assert rows[0][0] != "doc:9"
    assert float(dict(rows[0][1])["score"]) > 0.5
    r.delete("doc:5")
    total, rows = hits(search(r, new.tobytes()))
    assert rows[0][0] == "doc:9"
    assert dict(rows[0][1])["response"] == b"replaced"


def test_wrong_blob_size_is_an_error(r, embeddings):
    # A float64 blob (the classic numpy mistake) is twice the expected size.
    with pytest.raises(redis.ResponseError, match="blob size"):
        search(r, embeddings[0].astype(np.float64).tobytes())


def test_index_info_counts_the_documents(r):
    info = r.execute_command("FT.INFO", "idx:docs")
    if isinstance(info, list):
        info = dict(zip(info[::2], info[1::2]))
    info = {dec(k): v for k, v in info.items()}
    assert dec(info["index_name"]) == "idx:docs"
    assert int(info["num_docs"]) == DOCS
    with pytest.raises(redis.ResponseError, match="(?i)index already exists"):
        r.execute_command(*CREATE.split())
