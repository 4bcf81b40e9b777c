"""bitmapist.cohort against a set model of Python bitmapist's algorithm, against its own
cell-by-cell path, and against Python bitmapist 3.119 itself (in its own interpreter)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from dateutil.relativedelta import relativedelta

import bitmapist
from bitmapist import cohort

WORKSPACE = Path(__file__).resolve().parents[3]
START = "2024-12-10"


def seed(rng, start, days, users):
    """Marks random sign-ups and activity; returns the model: key -> set of ids."""
    model: dict[str, set] = {}
    marks = []
    for uid in range(users):
        t = start + timedelta(days=rng.randrange(0, days), hours=rng.randrange(0, 24))
        marks.append(("signup", uid, t))
        for k in range(0, days):
            if rng.random() < 0.25:
                marks.append(("active", uid, t + timedelta(days=k)))
            if rng.random() < 0.05:
                marks.append(("paid", uid, t + timedelta(days=k)))
    bitmapist.mark_events(marks)
    for event, uid, t in marks:
        iso_year, iso_week, _ = t.isocalendar()
        for s in (f"{t.year}-{t.month}", f"W{iso_year}-{iso_week}", f"{t.year}-{t.month}-{t.day}"):
            model.setdefault(f"trackist_{event}_{s}", set()).add(uid)
    return model


def model_ids(model, event, group, d):
    if group == "days":
        return model.get(f"trackist_{event}_{d.year}-{d.month}-{d.day}", set())
    if group == "weeks":
        y, w, _ = d.isocalendar()
        return model.get(f"trackist_{event}_W{y}-{w}", set())
    if group == "months":
        return model.get(f"trackist_{event}_{d.year}-{d.month}", set())
    out = set()
    for m in range(1, 13):
        out |= model.get(f"trackist_{event}_{d.year}-{m}", set())
    return out


def model_table(model, s1, s1b, s2, s2b, group, as_percent, num_results, num_of_rows, start_date):
    """Python bitmapist 3.119's get_dates_data, on sets."""
    now = datetime.strptime(start_date, "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=num_results - 1)
    inc = {
        "days": lambda n: timedelta(days=n),
        "weeks": lambda n: relativedelta(weeks=n),
        "months": lambda n: relativedelta(months=n),
        "years": lambda n: relativedelta(years=n),
    }[group]
    if group == "years":
        num_results = 3
    now = now - inc(num_results - 1)
    if group == "months":
        now -= timedelta(days=now.day - 1)
    rows = []
    for _ in range(num_results):
        a = model_ids(model, s1, group, now)
        if s1b:
            a = a & model_ids(model, s1b, group, now)
        row = [now, len(a)]
        for j in range(num_of_rows + 1):
            if not a:
                row.append("")
                continue
            b = model_ids(model, s2, group, now + inc(j))
            if s2b:
                b = b & model_ids(model, s2b, group, now + inc(j))
            if not b:
                row.append("")
                continue
            both = len(a & b)
            row.append(0.0 if both == 0 else (both / len(a) * 100 if as_percent else both))
        rows.append(row)
        now = now + inc(1)
    return rows


CASES = [
    ("signup", None, "active", None, "days", True, 14, 10),
    ("signup", None, "active", None, "days", False, 7, 3),
    ("signup", "active", "active", "paid", "days", True, 10, 5),
    ("signup", None, "active", None, "weeks", True, 6, 4),
    ("signup", None, "paid", None, "months", False, 3, 2),
    ("signup", None, "active", None, "years", True, 3, 2),
    ("nobody", None, "active", None, "days", True, 5, 5),
    ("signup", None, "nobody", None, "days", True, 5, 5),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[4]}-{c[6]}x{c[7]}")
def test_dates_data_matches_the_model(backend, case):
    s1, s1b, s2, s2b, group, pct, n, rows = case
    model = seed(random.Random(5), datetime(2024, 12, 10, tzinfo=timezone.utc), 21, 300)
    got = cohort.get_dates_data(s1, s2, s1b, s2b, group, "default", pct, n, rows, START)
    assert got == model_table(model, s1, s1b, s2, s2b, group, pct, n, rows, START)


def test_custom_handlers_take_the_cell_by_cell_path(backend):
    model = seed(random.Random(9), datetime(2024, 12, 10, tzinfo=timezone.utc), 14, 200)
    fast = cohort.get_dates_data("signup", "active", time_group="days", num_results=10, num_of_rows=6, start_date=START)
    cohort.set_custom_handler("active_or_paid", lambda key, cls, args: cls("active", *args) | cls("paid", *args))
    try:
        plain = cohort.get_dates_data("signup", "active", time_group="days", num_results=10, num_of_rows=6, start_date=START)
        custom = cohort.get_dates_data("signup", "active_or_paid", time_group="days", num_results=10, num_of_rows=6, start_date=START)
    finally:
        cohort.CUSTOM_HANDLERS.clear()
    assert plain == fast
    merged = {k: v for k, v in model.items()}
    for k in list(model):
        if k.startswith("trackist_active_"):
            suffix = k[len("trackist_active_"):]
            merged[f"trackist_active_or_paid_{suffix}"] = model[k] | model.get(f"trackist_paid_{suffix}", set())
    for k in list(model):
        if k.startswith("trackist_paid_"):
            suffix = k[len("trackist_paid_"):]
            merged.setdefault(f"trackist_active_or_paid_{suffix}", set()).update(model[k])
    assert custom == model_table(merged, "signup", None, "active_or_paid", None, "days", True, 10, 6, START)


def test_renderers_escape_and_carry_the_table(backend):
    seed(random.Random(1), datetime(2024, 12, 10, tzinfo=timezone.utc), 7, 50)
    data = cohort.get_dates_data("signup", "active", num_results=7, num_of_rows=3, start_date=START, as_percent=False)
    html = cohort.render_html_data(data, as_percent=False, num_of_rows=3)
    assert html.count("<tr>") == 1 + len(data)
    for row in data:
        assert f"<td>{row[1]}</td>" in html
    csv_text = cohort.render_csv_data(data, as_percent=False, num_of_rows=3)
    lines = csv_text.strip().split("\n")
    assert lines[0] == "Date,Total,0,1,2,3"
    assert [int(line.split(",")[1]) for line in lines[1:]] == [r[1] for r in data]
    evil = '<script>alert("x")</script>'
    form = cohort.render_html_form(
        action_url='/c?a="b"', selections1=[(evil, evil)], select1=evil, start_date=evil
    )
    assert "<script>" not in form and "&lt;script&gt;" in form
    assert 'selected="selected">&lt;script&gt;' in form
    assert "<style>" in form and 'name="select2b"' in form


def reference_python() -> str:
    p = os.environ.get("BITMAPIST_PYTHON") or str(WORKSPACE / "target/pyvenv/bin/python")
    if not Path(p).exists():
        pytest.fail(
            f"no Python with bitmapist 3.119 at {p}; install with: python3 -m venv target/pyvenv && "
            "target/pyvenv/bin/pip install bitmapist==3.119 (or set BITMAPIST_PYTHON)"
        )
    return p


def test_same_table_as_python_bitmapist_3_119(redis_only):
    seed(random.Random(13), datetime(2024, 12, 10, tzinfo=timezone.utc), 21, 300)
    script = textwrap.dedent(
        """
        import json, sys
        import bitmapist
        from bitmapist.cohort import get_dates_data
        bitmapist.setup_redis("default", "127.0.0.1", int(sys.argv[1]))
        out = []
        for args in json.loads(sys.argv[2]):
            rows = get_dates_data(*args)
            out.append([[r[0].isoformat()] + r[1:] for r in rows])
        bitmapist.delete_temporary_bitop_keys()
        print(json.dumps(out))
        """
    )
    cases = [[c[0], c[2], c[1], c[3], c[4], "default", c[5], c[6], c[7], START] for c in CASES]
    ref = subprocess.run(
        [reference_python(), "-c", script, str(redis_only), json.dumps(cases)],
        capture_output=True, text=True, check=False,
    )
    assert ref.returncode == 0, ref.stderr
    theirs = json.loads(ref.stdout)
    ours = [[[r[0].isoformat()] + r[1:] for r in cohort.get_dates_data(*c)] for c in cases]
    assert ours == theirs
    assert redis.Redis(port=redis_only).keys("trackist_bitop_*") == []
    assert sys.version_info >= (3, 9)
