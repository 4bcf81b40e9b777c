"""The Flask blueprint answers exactly what the axum dashboard answers: the same store is
served by ``bitmapist serve`` (the command-line tool, axum) and by a Flask app, and every
page, JSON, CSV, asset and error answer is compared (status, content type, security
headers and body).

Needs the ``bitmapist`` binary: ``cargo build -p bitmapist-cli`` (``BITMAPIST_CLI``
overrides the path); a missing binary fails the test with that hint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from flask_support import NOW, Served, free_port

REPO = Path(__file__).resolve().parents[4]
SAME_HEADERS = ("content-type", "content-security-policy", "x-content-type-options",
                "referrer-policy", "cache-control", "content-disposition", "retry-after")


def cli_binary() -> str:
    exe = os.environ.get("BITMAPIST_CLI") or str(REPO / "target" / "debug" / "bitmapist")
    if not os.path.exists(exe):
        exe = shutil.which("bitmapist") or ""
    if not exe:
        pytest.fail("the bitmapist binary is missing; build it with: cargo build -p bitmapist-cli")
    return exe


@pytest.fixture
def axum(store_url, seeded):
    port = free_port()
    proc = subprocess.Popen(
        [cli_binary(), "--store", store_url, "serve", "--listen", "127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    server = Served.__new__(Served)
    server.port = port
    deadline = time.monotonic() + 30
    while True:
        try:
            server.get("/bitmapist/api")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("bitmapist serve did not start: %s" % proc.stderr.read().decode())
            time.sleep(0.1)
    yield server
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def store_config(store_url):
    """Redis only: the embedded file cannot be opened by two processes."""
    return {"BITMAPIST_REDIS_URL": store_url}


COHORT = ("primary_event=user:signed_up&secondary_event=user:logged_in&time_group=days"
          "&num_rows=7&num_cols=7&now=2026-11-22")

PATHS = [
    "/?now=" + NOW,
    "/?q=logged&now=" + NOW,
    "/cohort?" + COHORT,
    "/cohort?" + COHORT + "&as_percent=on",
    "/api",
    "/api/events?now=" + NOW,
    "/api/events/user%3Alogged_in?now=" + NOW,
    "/events/user%3Asigned_up?now=" + NOW,
    "/events/a%2Fb%20%C3%BCn%C3%AF?now=" + NOW,
    "/api/events/a%2Fb%20%C3%BCn%C3%AF?now=" + NOW,
    "/api/cohort?" + COHORT,
    "/api/cohort.csv?" + COHORT,
    "/api/cohort?primary_event=a&secondary_event=b&num_rows=0",
    "/api/cohort?primary_event=a&secondary_event=b&time_group=fortnights",
    "/cohort?primary_event=a&secondary_event=b&num_rows=999",
    "/no/such/page",
]


def test_same_answers_as_axum(dashboard_app, axum):
    _, flask_server = dashboard_app
    _, _, page = axum.get("/bitmapist?now=" + NOW)
    assets = sorted(set(re.findall(r'(?:href|src)="/bitmapist(/assets/[^"]+)"', page.decode())))
    assert assets
    for path in PATHS + [a.replace("&amp;", "&") for a in assets]:
        # the overview is /bitmapist under axum, /bitmapist/ under Flask (strict slashes)
        a_path = path[1:] if path.startswith("/?") else path
        a_status, a_headers, a_body = axum.get("/bitmapist" + a_path)
        f_status, f_headers, f_body = flask_server.get("/bitmapist" + path)
        assert f_status == a_status, path
        for h in SAME_HEADERS:
            assert f_headers.get(h) == a_headers.get(h), (path, h)
        assert f_body == a_body, path
