"""Differential tests: every script under tests/diff/ is replayed against a
real redis-server and against Quiver, and the replies must be identical,
byte for byte.

Script syntax, one command per line, written as you would type it in
redis-cli (double quotes with \\n, \\xHH escapes; single quotes):

    SET k v                plain command: replies compared byte for byte
    ~ RANDOMKEY            compare only the reply's RESP type
    @sorted KEYS *         compare after sorting the elements of an array reply
    @sleep 0.05            pause (for expiry tests)
    @raw "*1\\r\\n$x\\r\\n"   send raw bytes; compare all output for 0.3 s, then reconnect
    @reconnect             open fresh connections to both servers
    @conn 2                switch to connection 2 (opened on first use; the
                           script starts on connection 1): pub/sub needs a
                           subscriber and a publisher
    @read                  read one more reply (a pushed message, the rest of
                           a multi-reply SUBSCRIBE) on the current connection
                           and compare it
    # comment

Each script starts with FLUSHALL on fresh connections.
"""

import time
from pathlib import Path

import pytest

from resp_client import RawConn, parse_reply, split_args

DIFF_DIR = Path(__file__).resolve().parents[1] / "diff"
SCRIPTS = sorted(DIFF_DIR.glob("*.redis"))


def normalise_sorted(raw: bytes):
    kind, items = parse_reply(raw)
    if isinstance(items, list):
        return kind, sorted(items, key=repr)
    return kind, items


def run_script(path: Path, ref_port: int, q_port: int):
    ref, q = RawConn(ref_port), RawConn(q_port)
    # Extra connections opened by @conn, by number; 1 is (ref, q).
    conns = {}
    failures = []
    try:
        for c in (ref, q):
            c.call("FLUSHALL")
        current = 1
        for lineno, raw_line in enumerate(path.read_text().splitlines(), 1):
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            where = "%s:%d: %s" % (path.name, lineno, line)
            if line.startswith("@sleep"):
                time.sleep(float(line.split()[1]))
                continue
            if line == "@reconnect":
                ref.close(), q.close()
                for a, b in conns.values():
                    a.close(), b.close()
                conns = {}
                ref, q = RawConn(ref_port), RawConn(q_port)
                continue
            if line.startswith("@conn "):
                n = int(line.split()[1])
                conns.setdefault(current, (ref, q))
                if n not in conns:
                    conns[n] = (RawConn(ref_port), RawConn(q_port))
                ref, q = conns[n]
                current = n
                continue
            if line == "@read":
                a, b = ref.read_reply(), q.read_reply()
                if a != b:
                    failures.append("%s\n  redis:  %r\n  quiver: %r" % (where, a[:300], b[:300]))
                continue
            if line.startswith("@raw "):
                data = split_args(line[5:])[0]
                for c in (ref, q):
                    c.send(data)
                a, b = ref.read_available(), q.read_available()
                if a != b:
                    failures.append("%s\n  redis:  %r\n  quiver: %r" % (where, a, b))
                ref.close(), q.close()
                ref, q = RawConn(ref_port), RawConn(q_port)
                continue
            mode = "exact"
            if line.startswith("~ "):
                mode, line = "type", line[2:]
            elif line.startswith("@sorted "):
                mode, line = "sorted", line[8:]
            args = split_args(line)
            a, b = ref.call(*args), q.call(*args)
            if mode == "type":
                same = a[:1] == b[:1]
            elif mode == "sorted":
                same = normalise_sorted(a) == normalise_sorted(b)
            else:
                same = a == b
            if not same:
                failures.append("%s\n  redis:  %r\n  quiver: %r" % (where, a[:300], b[:300]))
    finally:
        ref.close()
        q.close()
        for a, b in conns.values():
            a.close(), b.close()
    return failures


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(script, redis_ref, quiver):
    failures = run_script(script, redis_ref.port, quiver.port)
    assert not failures, "%d mismatches:\n%s" % (len(failures), "\n".join(failures))
