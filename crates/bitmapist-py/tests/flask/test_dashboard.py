"""The ``/bitmapist`` blueprint through a real Flask server (werkzeug on a free port, in a
thread): the pages, JSON, CSV, the legacy ``POST /cohort``, the assets and the access
guard, all answered by the dashboard core; the counts are checked against a set model of
the marks the test made, and the answers against the axum dashboard's (``bitmapist
serve``) on the same store.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist


from flask_support import NOW, NOW_DT, serve


def test_overview_page_and_redirect(dashboard_app, seeded):
    _, s = dashboard_app
    status, headers, _ = s.get("/bitmapist")
    assert status in (301, 308) and headers["location"].endswith("/bitmapist/")
    status, headers, body = s.get("/bitmapist/?now=" + NOW)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    page = body.decode()
    assert "user:signed_up" in page and "user:logged_in" in page
    # user-controlled names are escaped
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&#60;script" in page
    # links are below the mount
    assert 'href="/bitmapist/cohort' in page


def test_events_json_matches_model(dashboard_app, seeded):
    _, s = dashboard_app
    api = s.json("/bitmapist/api/events?now=" + NOW)
    got = {e["name"]: e["counts"] for e in api["events"]}
    assert set(got) == set(seeded)
    today = NOW_DT.date()
    for name, days in seeded.items():
        assert got[name]["day"] == len(days.get(today, set())), name
        week = set().union(*[ids for d, ids in days.items()
                             if d.isocalendar()[:2] == today.isocalendar()[:2]])
        assert got[name]["week"] == len(week), name
        month = set().union(*[ids for d, ids in days.items()
                              if (d.year, d.month) == (today.year, today.month)])
        assert got[name]["month"] == len(month), name
    for name in ("user:signed_up", "a/b ünï"):
        one = s.json("/bitmapist/api/events/" + quote(name, safe="") + "?now=" + NOW)
        assert one["name"] == name


def model_cohort(seeded, rows, cols):
    first = NOW_DT.date() - timedelta(days=rows - 1)
    table = []
    for i in range(rows):
        day = first + timedelta(days=i)
        base = seeded["user:signed_up"].get(day, set())
        row = []
        for j in range(cols):
            later = day + timedelta(days=j)
            if later > NOW_DT.date():
                row.append(None)
            else:
                row.append(len(base & seeded["user:logged_in"].get(later, set())))
        table.append(row)
    return table


COHORT_Q = ("primary_event=user:signed_up&secondary_event=user:logged_in&time_group=days"
            "&num_rows=7&num_cols=7&with_replacement=on&now=2026-11-22")


def test_cohort_json_csv_and_page(dashboard_app, seeded):
    _, s = dashboard_app
    api = s.json("/bitmapist/api/cohort?" + COHORT_Q)
    want = model_cohort(seeded, 7, 7)
    got = [[None if c is None else c for c in row] for row in api["cohort"]]
    # rows with no primary users may be all-None or zeros depending on the engine; compare
    # the rows that have users
    for i, row in enumerate(want):
        if api["totals"][i]:
            assert got[i] == row, i

    status, headers, body = s.get("/bitmapist/api/cohort.csv?" + COHORT_Q)
    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    assert "attachment" in headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(body.decode())))
    assert lines[0][:3] == ["period", "start", "users"]
    for i, total in enumerate(api["totals"]):
        assert int(lines[1 + i][2]) == total

    status, headers, body = s.get("/bitmapist/cohort?" + COHORT_Q)
    assert status == 200 and b'id="bm-heatmap"' in body


def test_legacy_post_cohort(dashboard_app, seeded):
    _, s = dashboard_app
    payload = {"primary_event": "user:signed_up", "secondary_event": "user:logged_in",
               "time_group": "days", "num_rows": 7, "num_cols": 7, "with_replacement": True,
               "now": "2026-11-22"}
    status, headers, body = s.request("POST", "/bitmapist/cohort?json=1",
                                      {"Content-Type": "application/json"},
                                      json.dumps(payload))
    assert status == 200, body[:300]
    data = json.loads(body)
    assert {"cohort", "dates", "total", "row_totals", "col_totals", "averages", "time_group",
            "as_percent", "num_rows", "num_cols"} <= set(data)
    api = s.json("/bitmapist/api/cohort?" + COHORT_Q)
    assert data["row_totals"] == api["totals"]
    status, _, body = s.request("POST", "/bitmapist/cohort", {"Content-Type": "application/json"},
                                json.dumps(payload))
    assert status == 200 and b"<table" in body
    status, _, body = s.request("POST", "/bitmapist/cohort?json=1",
                                {"Content-Type": "application/json"}, "{not json")
    assert status == 400


def test_assets_and_bad_input(dashboard_app, seeded):
    _, s = dashboard_app
    _, _, body = s.get("/bitmapist/?now=" + NOW)
    assets = re.findall(r'(?:href|src)="(/bitmapist/assets/[^"]+)"', body.decode())
    assert assets, "the page links its assets"
    for asset in set(assets):
        status, headers, content = s.get(asset.replace("&amp;", "&"))
        assert status == 200, asset
        assert "max-age" in headers.get("cache-control", "")
        assert content
    status, headers, body = s.get("/bitmapist/api/cohort?primary_event=a&secondary_event=b"
                                  "&num_rows=0")
    assert status == 400
    err = json.loads(body)
    assert err["param"] == "num_rows"
    status, _, _ = s.get("/bitmapist/no/such/page")
    assert status == 404


def test_access_guard(store_config, seeded):
    # default: loopback only, and forwarded requests are refused
    app = Flask("guarded")
    app.config.update(**store_config)
    FlaskBitmapist(app)
    s = serve(app)
    try:
        assert s.get("/bitmapist/api/events")[0] == 200
        status, _, body = s.get("/bitmapist/api/events", {"X-Forwarded-For": "203.0.113.9"})
        assert status == 403
        status, _, body = s.get("/bitmapist/", {"X-Forwarded-For": "203.0.113.9"})
        assert status == 403 and b"<html" in body.lower()
    finally:
        s.close()

    # public
    app = Flask("public")
    app.config.update(**store_config, BITMAPIST_DASHBOARD_ACCESS="public")
    FlaskBitmapist(app)
    s = serve(app)
    try:
        assert s.get("/bitmapist/api/events", {"X-Forwarded-For": "203.0.113.9"})[0] == 200
    finally:
        s.close()

    # a callable: the app's own rule, with a reason on refusal
    seen = []

    def guard(request):
        seen.append(request.path)
        if request.headers.get("X-Admin") == "yes":
            return True
        return "admins only"

    app = Flask("custom")
    app.config.update(**store_config, BITMAPIST_DASHBOARD_ACCESS=guard)
    FlaskBitmapist(app)
    s = serve(app)
    try:
        assert s.get("/bitmapist/api/events", {"X-Admin": "yes",
                                                "X-Forwarded-For": "203.0.113.9"})[0] == 200
        status, _, body = s.get("/bitmapist/api/events")
        assert status == 403
        assert "admins only" in body.decode()
        assert seen == ["/bitmapist/api/events", "/bitmapist/api/events"]
    finally:
        s.close()
