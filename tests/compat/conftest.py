"""Fixtures: a Quiver server built from this checkout, and a real
redis-server to compare it with. Both listen on free ports on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUIVER_BIN = os.environ.get("QUIVER_BIN", str(ROOT / "target" / "release" / "quiver-server"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start on port %d" % port)


class Server:
    def __init__(self, argv, port, workdir):
        self.port = port
        self.workdir = workdir
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=workdir)
        wait_port(port, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_quiver(*extra) -> Server:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="quiver-test-")
    # DEBUG is refused unless enabled, in Quiver as in Redis; the reference
    # server below runs with it enabled, so Quiver must too.
    return Server([QUIVER_BIN, "--port", str(port), "--dir", workdir,
                   "--enable-debug-command", "yes", *extra], port, workdir)


def start_redis(*extra) -> Server:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (the test command installs it)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-ref-")
    argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--enable-debug-command", "yes", *extra]
    return Server(argv, port, workdir)


@pytest.fixture(scope="session")
def quiver():
    s = start_quiver()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def redis_ref():
    s = start_redis()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def compat_server():
    """The server the client-compatibility tests (test_redis_py.py) talk to:
    a Quiver of its own, so their CONFIG SET/SELECT/CLIENT SETNAME calls do
    not leak into the differential tests. With QUIVER_COMPAT_TARGET=redis it
    is a real redis-server instead, which checks the tests themselves."""
    s = start_redis() if os.environ.get("QUIVER_COMPAT_TARGET") == "redis" else start_quiver()
    yield s
    s.stop()


# Servers run with a scratch directory as their cwd, so a relative QUIVER_BIN
# (e.g. `QUIVER_BIN=target/debug/quiver-server pytest ...`) must be resolved
# against the directory pytest was started from. start_quiver() reads this
# global at call time.
QUIVER_BIN = os.path.abspath(QUIVER_BIN)
