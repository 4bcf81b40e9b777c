"""Fixtures: real stores on free ports, one per backend.

- ``redis``: a ``redis-server`` started here (from ``PATH``).
- ``server``: our ``bitmapist-server`` (``BITMAPIST_SERVER_BIN``, else the workspace's
  ``target/release`` or ``target/debug`` build).
- ``embedded``: the embedded store, a ``file://`` redb file in a temporary directory.

A missing binary fails the test with the command that installs it; nothing is skipped.
Every test gets a clean store: ``delete_all_events`` runs before it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import bitmapist

WORKSPACE = Path(__file__).resolve().parents[3]
BACKENDS = ["redis", "server", "embedded"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


def redis_server_bin() -> str:
    path = shutil.which("redis-server")
    if not path:
        pytest.fail("redis-server is not installed; install with: sudo apt-get install -y redis-server")
    return path


def bitmapist_server_bin() -> str:
    env = os.environ.get("BITMAPIST_SERVER_BIN")
    candidates = [Path(env)] if env else []
    candidates += [WORKSPACE / "target/release/bitmapist-server", WORKSPACE / "target/debug/bitmapist-server"]
    for c in candidates:
        if c.is_file():
            return str(c)
    pytest.fail(
        "bitmapist-server is not built; build it with: cargo build --release -p bitmapist-server "
        "(or set BITMAPIST_SERVER_BIN)"
    )
    raise AssertionError("unreachable")


class Started:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc = proc
        self.port = port

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start(cmd: list[str], port: int) -> Started:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
    except Exception:
        proc.kill()
        raise
    return Started(proc, port)


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory):
    binary = redis_server_bin()
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    s = start([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d), "--save", "", "--appendonly", "no"], port)
    yield port
    s.stop()


@pytest.fixture(scope="session")
def server_port(tmp_path_factory):
    binary = bitmapist_server_bin()
    port = free_port()
    d = tmp_path_factory.mktemp("bitmapist-server")
    s = start([binary, "-addr", f"127.0.0.1:{port}", "-db", str(d / "bitmapist.db")], port)
    yield port
    s.stop()


@pytest.fixture(scope="session")
def embedded_url(tmp_path_factory):
    d = tmp_path_factory.mktemp("embedded")
    return f"file://{d / 'bitmapist.redb'}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Makes ``default`` (and ``other``, the same store by another name) point at the
    backend; yields its name. The store is empty when the test starts."""
    name = request.param
    if name == "redis":
        port = request.getfixturevalue("redis_port")
        bitmapist.setup_redis("default", "127.0.0.1", port)
        bitmapist.setup_redis("other", "127.0.0.1", port)
    elif name == "server":
        port = request.getfixturevalue("server_port")
        bitmapist.setup_redis("default", "127.0.0.1", port)
        bitmapist.setup_redis("other", "127.0.0.1", port)
    else:
        url = request.getfixturevalue("embedded_url")
        client = _embedded(url)
        bitmapist.SYSTEMS["default"] = client
        bitmapist.SYSTEMS["other"] = client
    bitmapist.delete_all_events()
    yield name
    bitmapist.delete_all_events()


_EMBEDDED: dict[str, bitmapist.Client] = {}


def _embedded(url: str) -> bitmapist.Client:
    # One process may open an embedded file once: share the client across tests.
    if url not in _EMBEDDED:
        _EMBEDDED[url] = bitmapist.Client(url)
    return _EMBEDDED[url]


@pytest.fixture
def redis_only(request):
    """A redis-server backend only (for what needs redis-py on the same server)."""
    port = request.getfixturevalue("redis_port")
    bitmapist.setup_redis("default", "127.0.0.1", port)
    bitmapist.delete_all_events()
    yield port
    bitmapist.delete_all_events()
