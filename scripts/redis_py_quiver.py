"""pytest plugin used by scripts/redis-py-suite when it runs redis-py's own
test suite against Quiver.

It does two things that the suite itself cannot:

* restricts the run to the command families Quiver claims to implement,
  by file and by test-function name (see FAMILIES below), so the numbers
  mean something while the server is still growing; and
* records each test's final outcome (with a one-line reason for failures)
  into a JSON file that the driver compares with the allow-list of
  expected failures.

Loaded with `-p redis_py_quiver` (the driver puts scripts/ on PYTHONPATH).
"""

import json
import re

# Families, in match order: the first family whose pattern matches a test
# wins. Patterns apply to the test function name without the `test_` prefix
# and without parameters. Whole files listed in FILE_FAMILIES need no
# pattern: every test in them belongs to that family.
FAMILIES = [
    (
        "strings",
        r"append|decr|decrby|incr|incrby|incrbyfloat|increx_.*|get_and_set|getdel"
        r"|getex.*|getitem_.*|getrange|getset|get_set_bit|mget|mset|mset_.*|msetex_.*"
        r"|msetnx|psetex.*|set_.*|setex|setnx|setrange|strlen|substr|lcs|stralgo_.*"
        r"|delex_.*|digest_.*|local_digest_.*|pipeline_digest|bitcount.*|bitop_.*"
        r"|bitpos.*|bitfield_.*|binary_get_set|large_responses|floating_point_encoding"
        r"|command_on_invalid_key_type|never_decode_option|empty_response_option",
    ),
    ("expiry", r"expire.*|pexpire.*|ttl.*|pttl.*|persist.*"),
    (
        "keys",
        r"delete.*|delitem|unlink.*|exists.*|keys|randomkey|rename|renamenx|type|copy.*"
        r"|dump_and_restore.*|restore.*|object|scan|scan_type|scan_iter|touch|move",
    ),
    (
        "server",
        r"auth|response_callbacks|case_insensitive_command_names|client_.*|hello_.*"
        r"|config_(get|set|resetstat)(_multi_params)?|dbsize|echo|info|info_multi_sections"
        r"|22_info|lastsave|lolwut.*|reset|ping|quit|role|select|slowlog_.*|time|bgsave"
        r"|memory_.*|latency_.*|command|command_(count|docs|list|getkeys|getkeysandflags)"
        r"|swapdb|flushall|flushdb|interrupted_command|shutdown.*|failover|replicaof"
        r"|sync|psync",
    ),
    (
        "hashes",
        r"h(del|exists|get|getall|getdel|getex|incrby|incrbyfloat|keys|len|mget|mset|randfield"
        r"|scan|scan_iter|set|setex|setnx|strlen|vals)(_.*)?|hget_and_hset.*|hexpire.*|hpexpire.*"
        r"|hpersist.*|httl.*|hpttl.*|hexpiretime.*|hpexpiretime.*",
    ),
    (
        "lists",
        r"binary_lists|lists_with_.*|blmove.*|blmpop|blpop|brpop|brpoplpush.*|lindex|linsert|llen"
        r"|lmove.*|lmpop|lpop.*|lpos|lpush.*|lrange|lrem|lset|ltrim|rpop.*|rpoplpush|rpush.*",
    ),
    (
        "sets",
        r"sadd|scard|sdiff|sdiffcard|sdiffstore|sinter|sintercard|sinterstore|sismember|smembers"
        r"|smismember|smove|spop.*|srandmember.*|srem|sscan|sscan_iter|sunion|sunioncard|sunionstore",
    ),
    ("sort", r"sort_.*"),
    ("zsets", r"bz(mpop|popmax|popmin)|z[a-z]+(_.*)?"),
]
FAMILY_RE = [(name, re.compile("(?:%s)$" % pat)) for name, pat in FAMILIES]

# Files taken whole. They exercise the client/connection layer (handshake,
# CLIENT SETINFO, pools, retries, encoding) and pipelines/transactions.
FILE_FAMILIES = {
    "tests/test_connection.py": "connection",
    "tests/test_connection_pool.py": "connection",
    "tests/test_encoding.py": "connection",
    "tests/test_retry.py": "connection",
    "tests/test_multiprocessing.py": "connection",
    "tests/test_client.py": "connection",
    "tests/test_pipeline.py": "pipeline",
    # The asyncio client has its own parser and connection code paths.
    "tests/test_asyncio/test_connection.py": "connection",
    "tests/test_asyncio/test_connection_pool.py": "connection",
    "tests/test_asyncio/test_encoding.py": "connection",
    "tests/test_asyncio/test_retry.py": "connection",
    "tests/test_asyncio/test_pipeline.py": "pipeline",
    # Hash field expiration (HEXPIRE & co., HGETDEL/HGETEX/HSETEX).
    "tests/test_hash.py": "hashes",
    "tests/test_asyncio/test_hash.py": "hashes",
    # FT.* through redis.commands.search (the built-in search module).
    "tests/test_search.py": "search",
    # Pub/sub, client-side caching, Lua scripting and functions, JSON.*,
    # MONITOR and the lock helper (built on SET NX PX + Lua).
    "tests/test_pubsub.py": "pubsub",
    "tests/test_asyncio/test_pubsub.py": "pubsub",
    "tests/test_cache.py": "tracking",
    "tests/test_scripting.py": "scripting",
    "tests/test_asyncio/test_scripting.py": "scripting",
    "tests/test_function.py": "scripting",
    "tests/test_json.py": "json",
    "tests/test_asyncio/test_json.py": "json",
    "tests/test_monitor.py": "server",
    "tests/test_lock.py": "scripting",
}
COMMAND_FILES = {"tests/test_commands.py", "tests/test_asyncio/test_commands.py"}

# What the driver passes on the command line (`--pyargs` style paths).
SELECTED_FILES = sorted(COMMAND_FILES | set(FILE_FAMILIES))


def family_of(nodeid: str):
    """The family a test belongs to, or None when it is out of scope."""
    path = nodeid.split("::", 1)[0]
    if path in FILE_FAMILIES:
        return FILE_FAMILIES[path]
    if path not in COMMAND_FILES:
        return None
    func = nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
    if not func.startswith("test_"):
        return None
    func = func[5:]
    for name, rx in FAMILY_RE:
        if rx.match(func):
            return name
    return None


def pytest_addoption(parser):
    group = parser.getgroup("quiver")
    group.addoption("--quiver-report", default=None, help="write per-test outcomes to this JSON file")
    group.addoption(
        "--quiver-families",
        default="",
        help="comma-separated families to keep (default: all of %s)"
        % ", ".join(sorted({f for f, _ in FAMILIES} | set(FILE_FAMILIES.values()))),
    )


def pytest_collection_modifyitems(session, config, items):
    wanted = {f.strip() for f in config.getoption("--quiver-families").split(",") if f.strip()}
    keep, drop = [], []
    for item in items:
        fam = family_of(item.nodeid)
        if fam is None or (wanted and fam not in wanted):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class Recorder:
    """Collects one final outcome per test id across setup/call/teardown."""

    def __init__(self, path):
        self.path = path
        self.tests = {}

    def pytest_runtest_logreport(self, report):
        rec = self.tests.setdefault(
            report.nodeid,
            {"outcome": "passed", "family": family_of(report.nodeid), "reason": "", "duration": 0.0},
        )
        rec["duration"] += getattr(report, "duration", 0.0)
        if hasattr(report, "wasxfail"):
            # xfailed counts as skipped; a non-strict xpass as passed.
            if report.skipped:
                rec["outcome"] = "skipped"
                rec["reason"] = "xfail: %s" % report.wasxfail
            return
        if report.skipped:
            if rec["outcome"] == "passed":
                rec["outcome"] = "skipped"
                rec["reason"] = one_line(skip_reason(report))
            return
        if report.failed:
            # A failure in setup/teardown is an error; the first one wins
            # (a teardown error after a failed call keeps the call's reason).
            if rec["outcome"] in ("failed", "error"):
                return
            rec["outcome"] = "failed" if report.when == "call" else "error"
            rec["reason"] = one_line(crash_message(report))

    def pytest_sessionfinish(self, session, exitstatus):
        counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for rec in self.tests.values():
            counts[rec["outcome"]] += 1
        with open(self.path, "w") as f:
            json.dump({"exitstatus": int(exitstatus), "counts": counts, "tests": self.tests}, f, indent=1)


def skip_reason(report):
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return str(lr)


def crash_message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(report.longrepr)


def one_line(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pytest_configure(config):
    path = config.getoption("--quiver-report")
    if path:
        config.pluginmanager.register(Recorder(path), "quiver-recorder")
