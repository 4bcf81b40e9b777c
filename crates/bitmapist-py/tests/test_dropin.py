"""The drop-in API against independent set models, on redis-server, bitmapist-server and
the embedded store."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import redis

import bitmapist
from bitmapist import (
    BitOpAnd,
    BitOpNot,
    BitOpOr,
    BitOpXor,
    DayEvents,
    HourEvents,
    MonthEvents,
    UniqueEvents,
    WeekEvents,
    YearEvents,
)

T0 = datetime(2024, 12, 27, 5, 30, tzinfo=timezone.utc)  # the ISO year turns on 2024-12-30


class Model:
    """Keys -> (set of ids, Redis string length in bytes), as SETBIT would leave them."""

    def __init__(self):
        self.keys: dict[str, tuple[set, int]] = {}

    def setbit(self, key: str, uid: int, value: int) -> None:
        bits, length = self.keys.get(key, (set(), 0))
        (bits.add if value else bits.discard)(uid)
        self.keys[key] = (bits, max(length, uid // 8 + 1))

    def mark(self, event, uid, now, hourly, unique, value=1):
        iso_year, iso_week, _ = now.isocalendar()
        suffixes = [f"{now.year}-{now.month}", f"W{iso_year}-{iso_week}", f"{now.year}-{now.month}-{now.day}"]
        if hourly:
            suffixes.append(f"{now.year}-{now.month}-{now.day}-{now.hour}")
        if unique:
            suffixes.append("u")
        for s in suffixes:
            self.setbit(f"trackist_{event}_{s}", uid, value)

    def get(self, key):
        return self.keys.get(key, (set(), 0))


def random_marks(rng, n):
    events = ["active", "signup", "task:done"]
    out = []
    for _ in range(n):
        out.append(
            (
                rng.choice(events),
                rng.choice([rng.randrange(0, 64), rng.randrange(0, 5000)]),
                T0 + timedelta(hours=rng.randrange(0, 24 * 10)),
                rng.random() < 0.3,
                rng.random() < 0.2,
                1 if rng.random() < 0.85 else 0,
            )
        )
    return out


def periods_of(event, t):
    iso_year, iso_week, _ = t.isocalendar()
    return [
        HourEvents(event, t.year, t.month, t.day, t.hour),
        DayEvents(event, t.year, t.month, t.day),
        WeekEvents(event, iso_year, iso_week),
        MonthEvents(event, t.year, t.month),
        UniqueEvents(event),
    ]


def test_marks_match_the_model(backend):
    rng = random.Random(7)
    model = Model()
    for event, uid, t, hourly, unique, value in random_marks(rng, 400):
        if value:
            bitmapist.mark_event(event, uid, now=t, track_hourly=hourly, track_unique=unique)
        else:
            bitmapist.unmark_event(event, uid, now=t, track_hourly=hourly, track_unique=unique)
        model.mark(event, uid, t, hourly, unique, value)
    checked = 0
    for event in ["active", "signup", "task:done"]:
        for h in range(0, 24 * 10, 7):
            for ev in periods_of(event, T0 + timedelta(hours=h)):
                bits, _ = model.get(ev.redis_key)
                assert len(ev) == len(bits), ev.redis_key
                assert list(ev) == sorted(bits), ev.redis_key
                assert ev.has_events_marked() == bool(bits)
                for uid in list(bits)[:5] + [4999, 0, 63]:
                    assert (uid in ev) == (uid in bits)
                checked += 1
    assert checked > 100


def test_year_is_the_union_of_its_months(backend):
    model = Model()
    for month, uid in [(1, 1), (6, 2), (12, 3), (12, 1)]:
        t = datetime(2023, month, 3, tzinfo=timezone.utc)
        bitmapist.mark_event("active", uid, now=t)
        model.mark("active", uid, t, False, False)
    bitmapist.mark_event("active", 9, now=datetime(2024, 1, 1, tzinfo=timezone.utc))
    year = YearEvents("active", 2023)
    assert list(year) == [1, 2, 3]
    assert len(year) == 3 and 2 in year and 9 not in year
    assert year.redis_key == "trackist_bitop_OR_" + "-".join(
        f"trackist_active_2023-{m}" for m in range(1, 13)
    )


def test_batch_marks_match_single_marks(backend):
    rng = random.Random(11)
    marks = [("batch", rng.randrange(0, 10_000), T0 + timedelta(hours=rng.randrange(0, 100))) for _ in range(2000)]
    assert bitmapist.mark_events(marks, track_hourly=True) == len(marks)
    model = Model()
    for event, uid, t in marks:
        model.mark(event, uid, t, True, False)
    for h in range(0, 100, 5):
        for ev in periods_of("batch", T0 + timedelta(hours=h))[:4]:
            assert list(ev) == sorted(model.get(ev.redis_key)[0])
    bitmapist.unmark_events([(e, u, t) for e, u, t in marks[:500]], track_hourly=True)
    for e, u, t in marks[:500]:
        model.mark(e, u, t, True, False, 0)
    for ev in periods_of("batch", T0 + timedelta(hours=50))[:4]:
        assert list(ev) == sorted(model.get(ev.redis_key)[0])


def eval_model(model, node):
    """(ids, byte length) of an expression with Redis BITOP semantics."""
    kind = node[0]
    if kind == "leaf":
        return model.get(node[1].redis_key)
    vals = [eval_model(model, c) for c in node[1]]
    length = max(v[1] for v in vals)
    if kind == "NOT":
        bits, n = vals[0]
        return set(range(n * 8)) - bits, n
    acc = set(vals[0][0])
    for bits, _ in vals[1:]:
        if kind == "AND":
            acc &= bits
        elif kind == "OR":
            acc |= bits
        else:
            acc ^= bits
    return acc, length


def build(node):
    kind = node[0]
    if kind == "leaf":
        return node[1]
    children = [build(c) for c in node[1]]
    cls = {"AND": BitOpAnd, "OR": BitOpOr, "XOR": BitOpXor, "NOT": BitOpNot}[kind]
    return cls(*children)


def random_expr(rng, leaves, depth):
    if depth == 0 or rng.random() < 0.3:
        return ("leaf", rng.choice(leaves))
    kind = rng.choice(["AND", "OR", "XOR", "NOT"])
    if kind == "NOT":
        return ("NOT", [random_expr(rng, leaves, depth - 1)])
    return (kind, [random_expr(rng, leaves, depth - 1) for _ in range(rng.randrange(2, 4))])


def test_nested_bit_operations_match_the_model(backend):
    rng = random.Random(3)
    model = Model()
    events = ["a", "b", "c"]
    for _ in range(300):
        e, uid = rng.choice(events), rng.randrange(0, 300)
        t = T0 + timedelta(days=rng.randrange(0, 3))
        bitmapist.mark_event(e, uid, now=t)
        model.mark(e, uid, t, False, False)
    leaves = [DayEvents(e, 2024, 12, 27 + d) for e in events for d in range(3)]
    leaves += [MonthEvents(e, 2024, 12) for e in events] + [DayEvents("missing", 2024, 12, 27)]
    for _ in range(60):
        node = random_expr(rng, leaves, 3)
        op = build(node)
        expected, _ = eval_model(model, node)
        assert list(op) == sorted(expected)
        assert len(op) == len(expected)
        probe = rng.randrange(0, 400)
        assert (probe in op) == (probe in expected)


def test_operators_and_keys_are_those_of_python_bitmapist(backend):
    for uid in (1, 2):
        bitmapist.mark_event("foo", uid, now=T0)
    for uid in (2, 3):
        bitmapist.mark_event("bar", uid, now=T0)
    foo, bar = DayEvents("foo", 2024, 12, 27), DayEvents("bar", 2024, 12, 27)
    assert (foo & bar).redis_key == "trackist_bitop_AND_trackist_foo_2024-12-27-trackist_bar_2024-12-27"
    nested = BitOpOr(foo & bar, ~foo)
    assert nested.redis_key == (
        "trackist_bitop_OR_trackist_bitop_AND_trackist_foo_2024-12-27-trackist_bar_2024-12-27"
        "-trackist_bitop_NOT_trackist_foo_2024-12-27"
    )
    assert list(foo ^ bar) == [1, 3]
    assert list(~foo & bar) == [3]
    assert list(nested) == [0, 2, 3, 4, 5, 6, 7]


def test_bit_operation_results_are_shared_snapshots(backend):
    bitmapist.mark_event("x", 1, now=T0)
    bitmapist.mark_event("y", 1, now=T0)
    a = BitOpAnd(DayEvents("x", 2024, 12, 27), DayEvents("y", 2024, 12, 27))
    b = BitOpAnd(DayEvents("x", 2024, 12, 27), DayEvents("y", 2024, 12, 27))
    assert a == b and len(a) == len(b) == 1
    bitmapist.mark_event("x", 2, now=T0)
    bitmapist.mark_event("y", 2, now=T0)
    assert len(a) == 1  # a snapshot, as a BITOP result key is
    a.delete()
    assert len(a) == len(b) == 0
    c = BitOpAnd(DayEvents("x", 2024, 12, 27), DayEvents("y", 2024, 12, 27))
    assert len(a) == len(b) == len(c) == 2  # rebuilt: every holder of the key sees it
    bitmapist.delete_runtime_bitop_keys()
    assert len(c) == 0


def test_other_system_and_uniques(backend):
    bitmapist.mark_unique("premium", 5, system="other")
    bitmapist.mark_event("active", 5, now=T0)
    bitmapist.mark_event("active", 6, now=T0)
    op = BitOpAnd("other", UniqueEvents("premium"), DayEvents("active", 2024, 12, 27))
    assert op.system == "other" and list(op) == [5]
    bitmapist.unmark_unique("premium", 5)
    assert list(UniqueEvents("premium")) == []


def test_event_names_and_deletes(backend):
    names = {"foo", "bar", "baz", "with_underscore"}
    for e in names:
        bitmapist.mark_event(e, 1, now=T0)
    BitOpAnd(DayEvents("foo", 2024, 12, 27), DayEvents("bar", 2024, 12, 27))
    assert set(bitmapist.get_event_names()) == names
    assert set(bitmapist.get_event_names(prefix="ba")) == {"bar", "baz"}
    DayEvents("foo", 2024, 12, 27).delete()
    assert len(DayEvents("foo", 2024, 12, 27)) == 0
    assert len(MonthEvents("foo", 2024, 12)) == 1
    bitmapist.delete_all_events()
    assert bitmapist.get_event_names() == []


def test_no_temporary_key_is_written(redis_only):
    r = redis.Redis(port=redis_only)
    for uid in range(50):
        bitmapist.mark_event("a", uid, now=T0)
        bitmapist.mark_event("b", uid * 2, now=T0)
    a, b = DayEvents("a", 2024, 12, 27), DayEvents("b", 2024, 12, 27)
    assert len(BitOpAnd(BitOpOr(a, b), ~a)) > 0
    YearEvents("a", 2024)
    assert r.keys("trackist_bitop_*") == []
    # A key left by Python bitmapist is deleted by delete_temporary_bitop_keys.
    r.bitop("AND", "trackist_bitop_AND_legacy", "trackist_a_2024-12-27")
    bitmapist.delete_temporary_bitop_keys()
    assert r.keys("trackist_bitop_*") == []
    assert len(a) == 50


def test_pipeline_system_queues_marks(redis_only):
    r = redis.Redis(port=redis_only)
    pipe = r.pipeline()
    bitmapist.mark_event("piped", 7, system=pipe, now=T0, use_pipeline=False)
    assert 7 not in DayEvents("piped", 2024, 12, 27)
    pipe.execute()
    assert 7 in DayEvents("piped", 2024, 12, 27)
    bitmapist.mark_event("piped", 8, system=r, now=T0)
    assert list(DayEvents("piped", 2024, 12, 27, system=r)) == [7, 8]


@pytest.mark.parametrize(
    ("uuid", "exc"),
    [
        (-1, redis.exceptions.ResponseError),
        (2**32, redis.exceptions.ResponseError),
        ("12x", redis.exceptions.ResponseError),
        (None, redis.exceptions.DataError),
        (1.5, redis.exceptions.DataError),
    ],
)
def test_bad_ids_raise_what_redis_py_raises(backend, uuid, exc):
    with pytest.raises(exc):
        bitmapist.mark_event("active", uuid)
    with pytest.raises(exc):
        _ = uuid in DayEvents("active")
    assert bitmapist.get_event_names() == []


def test_bad_arguments_name_themselves(backend):
    bitmapist.mark_event("kept", 1, now=T0)
    with pytest.raises(ValueError, match="event"):
        bitmapist.mark_event("", 1)
    with pytest.raises(TypeError, match="event_name"):
        bitmapist.mark_event(42, 1)
    with pytest.raises(TypeError, match="now"):
        bitmapist.mark_event("active", 1, now="yesterday")
    with pytest.raises(ValueError, match="NOT"):
        BitOpNot(DayEvents("a"), DayEvents("b"))
    with pytest.raises(TypeError, match="events"):
        BitOpAnd(DayEvents("a"), 3)
    with pytest.raises(ValueError, match="marks"):
        bitmapist.mark_events([("a",)])
    with pytest.raises(ValueError, match="URL|url"):
        bitmapist.Client("nosuch://x")
    # Nothing recorded was lost.
    assert list(DayEvents("kept", 2024, 12, 27)) == [1]


def test_period_arithmetic_is_python_bitmapists():
    assert HourEvents("e", 2014, 1, 1, 0).prev().redis_key == "trackist_e_2013-12-31-23"
    assert WeekEvents("e", 2014, 1).prev().redis_key == "trackist_e_W2013-52"
    assert WeekEvents("e", 2020, 53).next().redis_key == "trackist_e_W2021-1"
    assert MonthEvents("e", 2014, 12).next().redis_key == "trackist_e_2015-1"
    dt = datetime(2024, 12, 30, 8, tzinfo=timezone.utc)
    assert WeekEvents.from_date("e", dt).redis_key == "trackist_e_W2025-1"
    for cls in (HourEvents, DayEvents, WeekEvents, MonthEvents):
        ev = cls.from_date("e", dt)
        assert ev.period_start() <= dt <= ev.period_end()
