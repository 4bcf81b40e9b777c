"""Shared by the dashboard tests: a real Flask server (werkzeug, threaded, free port) and a
seeded store with a set model of what was marked."""

from __future__ import annotations

import http.client
import socket
import json
import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from werkzeug.serving import make_server

from flask_bitmapist import FlaskBitmapist, mark_event

NOW = "2026-11-22T12:00:00Z"
NOW_DT = datetime(2026, 11, 22, 12, 0, 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    def __init__(self, app: Flask):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
        finally:
            conn.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers)

    def json(self, path):
        status, headers, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        assert headers["content-type"].startswith("application/json")
        return json.loads(body)

    def close(self):
        self.server.shutdown()
        self.thread.join(10)


def serve(app):
    return Served(app)


@pytest.fixture
def seeded(store_config):
    """Marks on the store: a model {event: {day: set(ids)}} of what was marked."""
    app = Flask("seed")
    app.config.update(**store_config, BITMAPIST_DISABLE_BLUEPRINT=True)
    FlaskBitmapist(app)
    model = {}

    def mark(event, uid, when):
        mark_event(event, uid, now=when)
        model.setdefault(event, {}).setdefault(when.date(), set()).add(uid)

    for uid in range(1, 31):
        joined = NOW_DT - timedelta(days=uid % 7)
        mark("user:signed_up", uid, joined)
        for later in range(0, 7):
            when = joined + timedelta(days=later)
            if when <= NOW_DT and (uid * 7 + later) % 3 != 0:
                mark("user:logged_in", uid, when)
    mark("<script>alert(1)</script>", 3, NOW_DT)
    mark("a/b ünï", 4, NOW_DT)
    return model


@pytest.fixture
def dashboard_app(store_config, seeded):
    app = Flask("dash")
    app.config.update(**store_config)
    FlaskBitmapist(app)
    served = serve(app)
    yield app, served
    served.close()
