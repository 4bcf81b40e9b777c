"""The Flask demo app (``examples/flask_demo.py``) through a real server: the first start
seeds the history, sign-up / log-in / log-out / reading / buying mark what the demo says,
and the dashboard at /bitmapist shows them."""

from __future__ import annotations

import http.client
import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

from flask_support import Served

DEMO = Path(__file__).resolve().parents[2] / "examples" / "flask_demo.py"


@pytest.fixture
def demo():
    spec = importlib.util.spec_from_file_location("flask_demo", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Browser:
    """A cookie-keeping client on a served app."""

    def __init__(self, port):
        self.port, self.cookie = port, None

    def go(self, method, path, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        cookie = res.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        out = res.status, res.read()
        conn.close()
        return out


def test_demo_app(demo, store_config, tmp_path):
    store_url = next(iter(store_config.values()))
    import bitmapist

    app = demo.create_app(store_url, "sqlite:///" + str(tmp_path / "demo.sqlite"))
    names = set(bitmapist.get_event_names())
    assert {"user:signed_up", "user:logged_in", "article:read", "user:created"} <= names
    seeded = len(bitmapist.MonthEvents.from_date("user:logged_in",
                                                 datetime.now(timezone.utc)))
    assert seeded > 0
    # a second start does not seed again
    seed, calls = demo.seed, []
    demo.seed = lambda *a, **k: calls.append(a)
    demo.create_app(store_url, "sqlite:///" + str(tmp_path / "demo.sqlite"))
    demo.seed = seed
    assert calls == []

    s = Served(app)
    try:
        b = Browser(s.port)
        assert b.go("GET", "/")[0] == 200
        assert b.go("POST", "/signup", {"username": "<ann>", "password": "pw"})[0] == 302
        status, page = b.go("GET", "/")
        assert status == 200 and b"&lt;ann&gt;" in page and b"<ann>" not in page
        uid = demo.SEEDED_USERS + 1
        now = datetime.now(timezone.utc)
        day = bitmapist.DayEvents.from_date
        for event in ("user:created", "user:signed_up", "user:logged_in"):
            assert uid in day(event, now), event
        assert b.go("GET", "/articles/1")[0] == 200
        assert uid in day("article:read", now)
        assert b.go("POST", "/buy")[0] == 200
        assert uid in day("user:purchased", now)
        assert b.go("GET", "/logout")[0] == 302
        assert uid in day("user:logged_out", now)
        # anonymous reading is not marked; logging back in is
        assert b.go("GET", "/articles/0")[0] == 200
        assert b.go("POST", "/login", {"username": "<ann>", "password": "bad"})[0] == 401
        assert b.go("POST", "/login", {"username": "<ann>", "password": "pw"})[0] == 302
        status, body = b.go("GET", "/bitmapist/api/events")
        assert status == 200
        counts = {e["name"]: e["counts"]["day"] for e in json.loads(body)["events"]}
        assert counts["user:purchased"] == len(day("user:purchased", now))
        assert b.go("GET", "/bitmapist/")[0] == 200
    finally:
        s.close()
