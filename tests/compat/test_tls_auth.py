"""The Azure-like start as a client sees it: `quiver-server --tls-port N`
with no certificate generates a CA (clients trust `quiver-ca.crt` in `dir`)
and a primary access key (`quiver-access-key`), and redis-py and redis-cli
connect over TLS with that key. Also key rotation in both directions and
access keys taken from the environment.

Run: cargo build && QUIVER_BIN=target/debug/quiver-server \
     .venv/bin/python -m pytest -q tests/compat/test_tls_auth.py
"""

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from conftest import QUIVER_BIN, Server, free_port


def start_tls(**env):
    """Quiver with only a TLS port (plain port off) in a scratch dir."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="quiver-tls-")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        srv = Server([QUIVER_BIN, "--port", "0", "--tls-port", str(port), "--dir", workdir], port, workdir)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return srv


@pytest.fixture
def azure():
    srv = start_tls()
    yield srv
    srv.stop()
    shutil.rmtree(srv.workdir, ignore_errors=True)


def ca_of(srv):
    return str(Path(srv.workdir) / "quiver-ca.crt")


def key_of(srv):
    return (Path(srv.workdir) / "quiver-access-key").read_text().strip()


def connect(srv, password, **kw):
    """A client of the TLS port trusting the generated CA. Failures are
    expected in these tests, so redis-py's retries (seconds of backoff on
    AuthenticationError, a ConnectionError) are off."""
    kw.setdefault("retry", None)
    return redis.Redis(host="127.0.0.1", port=srv.port, ssl=True, ssl_ca_certs=ca_of(srv),
                       decode_responses=True, password=password, **kw)


def test_generated_ca_and_key(azure):
    key_file = Path(azure.workdir) / "quiver-access-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_of(azure)
    assert len(key) == 64
    r = redis.Redis(host="127.0.0.1", port=azure.port, ssl=True, ssl_ca_certs=ca_of(azure),
                    decode_responses=True, password=key)
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == "hello"
    assert r.acl_whoami() == "default"
    # Without the key nothing but AUTH/HELLO works.
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(azure, None).get("greeting")
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(azure, "not-the-key").ping()
    # Without trusting the CA the handshake fails.
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(host="127.0.0.1", port=azure.port, ssl=True, password=key, retry=None).ping()


def test_key_rotation_both_ways(azure):
    key1 = key_of(azure)
    admin = connect(azure, key1)
    assert admin.config_set("access-key-secondary", "second-key") is True
    on1 = connect(azure, key1, single_connection_client=True)
    on2 = connect(azure, "second-key", single_connection_client=True)
    id1, id2 = on1.client_id(), on2.client_id()

    # Rotate key 2: both live connections stay, the old key 2 is refused.
    assert admin.config_set("access-key-secondary", "second-key-v2") is True
    assert on1.set("a", "1") and on2.set("b", "2")
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(azure, "second-key").ping()
    assert connect(azure, "second-key-v2").ping() is True

    # Rotate key 1 the other way round.
    assert connect(azure, "second-key-v2").config_set("access-key-primary", "first-key-v2") is True
    assert on1.get("b") == "2" and on2.get("a") == "1"
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(azure, key1).ping()
    assert connect(azure, "first-key-v2").ping() is True
    # Same connections throughout.
    assert (on1.client_id(), on2.client_id()) == (id1, id2)
    # The failures are in ACL LOG, without the keys.
    log = repr(admin.acl_log())
    assert "AUTH" in log and key1 not in log and "second-key" not in log


def test_redis_cli_round_trip(azure):
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed")
    out = subprocess.run(
        [cli, "--tls", "-h", "127.0.0.1", "-p", str(azure.port), "--cacert", ca_of(azure),
         "-a", key_of(azure), "--no-auth-warning", "PING"],
        capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PONG"
    out = subprocess.run(
        [cli, "--tls", "-h", "127.0.0.1", "-p", str(azure.port), "--cacert", ca_of(azure),
         "-a", "wrong", "--no-auth-warning", "PING"],
        capture_output=True, text=True, timeout=20)
    assert "WRONGPASS" in out.stdout + out.stderr


def test_access_keys_from_the_environment():
    srv = start_tls(QUIVER_ACCESS_KEY_PRIMARY="env-key-1", QUIVER_ACCESS_KEY_SECONDARY="env-key-2")
    try:
        # Keys were configured, so none is generated.
        assert not (Path(srv.workdir) / "quiver-access-key").exists()
        assert (Path(srv.workdir) / "quiver-ca.crt").exists()
        r1 = connect(srv, "env-key-1")
        r2 = connect(srv, "env-key-2")
        assert r1.set("k", "v") is True
        assert r2.get("k") == "v"
        with pytest.raises(redis.exceptions.AuthenticationError):
            connect(srv, "env-key-3").ping()
        # CONFIG GET shows them to an authenticated client, as Redis shows
        # requirepass.
        assert r1.config_get("access-key-primary") == {"access-key-primary": "env-key-1"}
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)
