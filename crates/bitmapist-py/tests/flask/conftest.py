"""Fixtures for the Flask-Bitmapist tests: a real redis-server on a free port, a fresh
Flask app per test with the extension initialised, and SQLite through Flask-SQLAlchemy.

A missing redis-server fails the tests with an install hint; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import bitmapist
from flask_bitmapist import Bitmapistable, FlaskBitmapist


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server():
    """A private redis-server on a free port (no persistence), stopped after the session."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found; install it with: sudo apt-get install -y redis-server")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="flask-bitmapist-redis-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start on port %d" % port)
            time.sleep(0.05)
    yield "redis://127.0.0.1:%d" % port
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def store_url(redis_server):
    """The redis-server, empty (for tests about Redis settings or a second process)."""
    redis.Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture(scope="session")
def embedded_url(tmp_path_factory):
    return "file://%s" % (tmp_path_factory.mktemp("embedded") / "bitmapist.redb")


BACKENDS = ["redis", "embedded"]


@pytest.fixture(params=BACKENDS)
def store_config(request):
    """The settings naming the store the test runs on (each test runs on a redis-server
    and on the embedded store); the store is empty."""
    if request.param == "redis":
        return {"BITMAPIST_REDIS_URL": request.getfixturevalue("store_url")}
    config = {"BITMAPIST_STORE_URL": request.getfixturevalue("embedded_url")}
    cleaner = Flask("cleaner")
    cleaner.config.update(config, BITMAPIST_DISABLE_BLUEPRINT=True)
    FlaskBitmapist(cleaner)
    bitmapist.delete_all_events()
    return config


@pytest.fixture
def app(store_config):
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test-secret", **store_config)
    return app


@pytest.fixture
def bitmap(app):
    return FlaskBitmapist(app)


@pytest.fixture
def client(app, bitmap):
    with app.test_client() as client:
        yield client


@pytest.fixture
def sqlalchemy(app, bitmap, tmp_path):
    """Flask-SQLAlchemy 3 on a SQLite file, with a ``User(db.Model, Bitmapistable)``."""
    class Base(DeclarativeBase):
        pass

    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.fspath(tmp_path / "test.sqlite")
    db = SQLAlchemy(app, model_class=Base)

    class User(db.Model, Bitmapistable):
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    with app.app_context():
        db.create_all()
    yield db, User
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _default_system_restored():
    """Tests repoint bitmapist's systems; put the originals back afterwards."""
    saved = dict(bitmapist.SYSTEMS)
    yield
    bitmapist.SYSTEMS.clear()
    bitmapist.SYSTEMS.update(saved)


# The dashboard fixtures (a served app on a seeded store) live beside the test server.
from flask_support import dashboard_app, seeded  # noqa: E402,F401
