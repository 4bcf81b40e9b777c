"""The engine's API beside the drop-in: bitmapist.Client on store URLs, against set models."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

import bitmapist

DAY0 = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)


@pytest.fixture(params=["embedded", "redis", "server"])
def client(request, tmp_path):
    if request.param == "embedded":
        c = bitmapist.open(f"file://{tmp_path / 'c.redb'}")
    else:
        port = request.getfixturevalue("redis_port" if request.param == "redis" else "server_port")
        c = bitmapist.open(f"redis://127.0.0.1:{port}/0")
    c.delete_all()
    yield c
    c.delete_all()


def test_retention_on_matches_the_model(client):
    rng = random.Random(2)
    signup: dict[int, set] = {d: set() for d in range(7)}
    active: dict[int, set] = {d: set() for d in range(7)}
    marks = []
    for uid in range(400):
        d = rng.randrange(0, 7)
        signup[d].add(uid)
        marks.append(("signup", uid, DAY0 + timedelta(days=d)))
        for k in range(d, 7):
            if rng.random() < 0.3:
                active[k].add(uid)
                marks.append(("active", uid, DAY0 + timedelta(days=k)))
    assert client.mark_events(marks) == len(marks)
    r = client.retention("signup", "active", rows=7, cols=7, now=DAY0 + timedelta(days=6), criterion="on")
    cells = r["table"]["cohort"]
    for i in range(7):
        for j in range(7):
            expected = None if i + j > 6 or not signup[i] else len(signup[i] & active[i + j])
            assert cells[i][j] == expected, (i, j)
    assert r["table"]["totals"] == [len(signup[i]) for i in range(7)]


def test_external_ids_map_to_dense_ids(client):
    ids = [f"user-{i}@example.com" for i in range(20)]
    dense = [client.mark_external("visited", x, at=DAY0) for x in ids]
    assert len(set(dense)) == 20
    assert client.resolve_ids(dense) == ids
    assert client.ids("visited", ("D", 2026, 11, 2)) == sorted(dense)
    assert client.mark_external("visited", ids[0], at=DAY0) == dense[0]


def test_funnel_and_stickiness(client):
    for uid in range(10):
        client.mark_event("visited", uid, at=DAY0)
    for uid in range(6):
        client.mark_event("signed_up", uid, at=DAY0 + timedelta(days=1))
    for uid in range(2):
        client.mark_event("paid", uid, at=DAY0 + timedelta(days=2))
    f = client.funnel(["visited", "signed_up", "paid"], rows=3, window=3, now=DAY0 + timedelta(days=2))
    assert f["rows"][0]["counts"] == [10, 6, 2]
    s = client.stickiness("visited", "weeks", at=DAY0 + timedelta(days=3))
    assert sum(s["days"]) == 10


def test_time_zone_buckets_on_the_local_clock(tmp_path):
    c = bitmapist.open(f"file://{tmp_path / 'tz.redb'}", timezone="America/New_York")
    # 03:00 UTC on Nov 3 is still Nov 2 in New York.
    c.mark_event("active", 1, at=datetime(2026, 11, 3, 3, tzinfo=timezone.utc))
    assert c.ids("active", ("D", 2026, 11, 2)) == [1]
    assert c.ids("active", ("D", 2026, 11, 3)) == []
    assert c.timezone == "America/New_York"


def test_bad_input_is_a_clear_error(tmp_path):
    c = bitmapist.open(f"file://{tmp_path / 'bad.redb'}")
    with pytest.raises(ValueError, match="time_group"):
        c.retention("a", "b", time_group="fortnights")
    with pytest.raises(ValueError, match="rows"):
        c.retention("a", "b", rows=0)
    with pytest.raises(ValueError, match="criterion|retention"):
        c.retention("a", "b", criterion="sometimes")
    with pytest.raises(ValueError, match="uid"):
        c.mark_event("a", -1)
    with pytest.raises(ValueError, match="period"):
        c.ids("a", ("Q", 2026, 1))
    with pytest.raises(ValueError, match="time zone"):
        bitmapist.open(f"file://{tmp_path / 'z.redb'}", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="steps"):
        c.funnel(["only-one"])
