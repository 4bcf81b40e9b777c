"""Flask-Bitmapist's behaviour on the current stack (Flask 3, Flask-Login 0.6,
Flask-SQLAlchemy 3 / SQLAlchemy 2), case by case after the original extension's suite,
with expected values from independent set models instead of hand-written tables.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import redis
from dateutil.relativedelta import relativedelta
from flask import request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

import bitmapist
from flask_bitmapist import (
    DayEvents,
    FlaskBitmapist,
    HourEvents,
    MonthEvents,
    WeekEvents,
    chain_events,
    get_cohort,
    get_event_data,
    mark,
    mark_event,
    unmark_event,
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------- models

EVENTS = {
    "i": "user:logged_in",
    "o": "user:logged_out",
    "c": "user:created",
    "u": "user:updated",
    "d": "user:deleted",
}


def mark_users(users, now):
    """users: {uid: "iocud"-style letters}; marks each letter's event at ``now``."""
    for uid, letters in users.items():
        for letter in letters:
            mark_event(EVENTS[letter], uid, now=now)


def model_chain(users, base, chain):
    """Who matches ``base`` chained with ``chain`` (OR binds to its direct predecessor)."""

    def who(letter):
        return {uid for uid, letters in users.items() if letter in letters}

    groups = [who(base)]
    for op, letter in chain:
        if op == "or":
            groups[-1] = groups[-1] | who(letter)
        else:
            groups.append(who(letter))
    result = groups[0]
    for g in groups[1:]:
        result &= g
    return result


def chained_ids(result):
    return set() if result == "" else set(result)


def random_users(rng, n=40, first=1):
    return {
        uid: "".join(l for l in "iocud" if rng.random() < 0.5) for uid in range(first, first + n)
    }


# ---------------------------------------------------------------- cohorts


def model_cohort(primary, secondary, rows, cols, with_replacement):
    """primary[i]: ids in row period i; secondary[k]: ids in period k (same indexing, the
    last row is the current period). Returns (table, totals) the way get_cohort counts."""
    table, totals = [], []
    for i in range(rows):
        base = set(primary[i])
        totals.append(len(base))
        if not base:
            table.append([None] * cols)
            continue
        row = []
        for j in range(cols):
            k = i + j
            if k >= rows:
                row.append(None)
                continue
            hit = base & set(secondary[k])
            row.append(len(hit))
            if not with_replacement:
                base -= hit
        table.append(row)
    return table, totals


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_get_cohort_contents(bitmap, seed):
    rng = random.Random(seed)
    rows = cols = 5
    now = utcnow()
    primary, secondary = [], []
    for i in range(rows):
        day = now - timedelta(days=rows - 1 - i)
        p = {rng.randrange(100, 140) for _ in range(rng.choice([0, 5, 12]))}
        s = {rng.randrange(100, 140) for _ in range(15)}
        primary.append(p)
        secondary.append(s)
        for uid in p:
            mark_event("user:popped", uid, now=day)
        for uid in s:
            mark_event("user:locked", uid, now=day)

    for with_replacement in (False, True):
        table, dates, totals = get_cohort(
            "user:popped", "user:locked", time_group="days", num_rows=rows, num_cols=cols,
            with_replacement=with_replacement,
        )
        want, want_totals = model_cohort(primary, secondary, rows, cols, with_replacement)
        assert table == want
        assert totals == want_totals
        assert [d.date() for d in dates] == [
            (now - timedelta(days=rows - 1 - i)).date() for i in range(rows)
        ]
    # no temporary BitOp key is left behind
    client = bitmapist.get_redis()
    if isinstance(client, redis.Redis):
        assert not client.keys("trackist_bitop_*")


@pytest.mark.parametrize(
    "time_group,rows,cols", [("weeks", 4, 4), ("months", 6, 5), ("years", 2, 3), ("day", 3, 2)]
)
def test_get_cohort_structure(bitmap, time_group, rows, cols):
    now = utcnow()
    plural = time_group if time_group.endswith("s") else time_group + "s"
    # one user per period so every row has a total
    for i in range(rows):
        mark_event("A", i + 1, now=now - relativedelta(**{plural: rows - 1 - i}))
        mark_event("B", i + 1, now=now - relativedelta(**{plural: rows - 1 - i}))
    table, dates, totals = get_cohort("A", "B", time_group=time_group, num_rows=rows,
                                      num_cols=cols)
    assert len(table) == len(dates) == len(totals) == rows
    assert all(len(r) == cols for r in table)
    assert totals == [1] * rows
    for i, d in enumerate(dates):
        want = now - relativedelta(**{plural: rows - 1 - i})
        if plural == "weeks":
            assert d.isocalendar()[:2] == want.isocalendar()[:2]
        elif plural == "months":
            assert (d.year, d.month, d.day) == (want.year, want.month, 1)
        elif plural == "years":
            assert d.year == want.year
        else:
            assert d.date() == want.date()
        # the diagonal: each user did B in the same period as A; later columns in the
        # future are None
        assert table[i][0] == 1
        for j in range(1, cols):
            assert table[i][j] == (None if i + j >= rows else 0)


def test_get_cohort_bad_arguments(bitmap):
    with pytest.raises(ValueError, match="time_group"):
        get_cohort("A", "B", time_group="fortnights")
    with pytest.raises(ValueError, match="num_rows"):
        get_cohort("A", "B", num_rows=0)
    with pytest.raises(ValueError, match="num_cols"):
        get_cohort("A", "B", num_cols="3")
    with pytest.raises(ValueError, match="op"):
        get_cohort("A", "B", additional_events=[{"name": "C", "op": "xor"}])
    with pytest.raises(TypeError, match="name"):
        chain_events("A", [{"op": "and"}], utcnow(), "days")


# ---------------------------------------------------------------- chain_events

CHAINS = {
    "none": [],
    "and": [("and", "o")],
    "and_and": [("and", "o"), ("and", "c")],
    "and_and_and": [("and", "o"), ("and", "c"), ("and", "d")],
    "or": [("or", "o")],
    "or_or": [("or", "o"), ("or", "u")],
    "or_or_or": [("or", "o"), ("or", "u"), ("or", "d")],
    "and_or": [("and", "o"), ("or", "c")],
    "or_and": [("or", "o"), ("and", "c")],
    "and_and_or": [("and", "o"), ("and", "c"), ("or", "d")],
    "and_or_and": [("and", "o"), ("or", "c"), ("and", "d")],
    "or_and_and": [("or", "o"), ("and", "c"), ("and", "d")],
    "or_or_and": [("or", "u"), ("or", "c"), ("and", "d")],
    "or_and_or": [("or", "u"), ("and", "c"), ("or", "d")],
    "and_or_or": [("and", "u"), ("or", "c"), ("or", "d")],
}

# The original suite's nine users (id: letters) plus random ones.
SEED_USERS = {11: "iocud", 22: "iocd", 33: "iou", 44: "icd", 55: "io", 66: "ocud",
              77: "cud", 88: "od", 99: "d"}


def _check_chain(name, base="i"):
    now = utcnow()
    users = dict(SEED_USERS)
    users.update(random_users(random.Random(name), first=200))
    mark_users(users, now)
    chain = [{"name": EVENTS[l], "op": op} for op, l in CHAINS[name]]
    given = [dict(c) for c in chain]
    got = chain_events(EVENTS[base], chain, now, "days")
    assert chained_ids(got) == model_chain(users, base, CHAINS[name])
    assert chain == given  # the caller's list is not modified
    return got


def test_chain_events(bitmap):
    got = _check_chain("none")
    assert set(got) == set(get_event_data("user:logged_in", "days", utcnow()))


@pytest.mark.parametrize("name", ["and", "and_and", "and_and_and"])
def test_chain_events_with_and(bitmap, name):
    _check_chain(name)


@pytest.mark.parametrize("name", ["or", "or_or", "or_or_or"])
def test_chain_events_with_or(bitmap, name):
    _check_chain(name)


@pytest.mark.parametrize("name", ["and_or", "or_and"])
def test_chain_events_with_1_and_1_or(bitmap, name):
    _check_chain(name)


@pytest.mark.parametrize("name", ["and_and_or", "and_or_and", "or_and_and"])
def test_chain_events_with_2_and_1_or(bitmap, name):
    _check_chain(name)


@pytest.mark.parametrize("name", ["or_or_and", "or_and_or", "and_or_or"])
def test_chain_events_with_1_and_2_or(bitmap, name):
    _check_chain(name)


def test_chain_events_empty_base_with_or(bitmap):
    # an OR on the first chained event applies to the (empty) base event
    now = utcnow()
    mark_event("user:logged_out", 5, now=now)
    got = chain_events("never:marked", [{"name": "user:logged_out", "op": "or"}], now, "days")
    assert set(got) == {5}
    assert chain_events("never:marked", [], now, "days") == ""


def test_cohort_with_additional_events(bitmap):
    now = utcnow()
    users = random_users(random.Random(7), n=60)
    mark_users(users, now)
    for uid in users:
        mark_event("signup", uid, now=now)
    extra = [{"name": "user:logged_out", "op": "and"}, {"name": "user:created", "op": "or"}]
    table, _, totals = get_cohort("signup", "user:logged_in", additional_events=extra,
                                  num_rows=1, num_cols=1)
    assert totals == [len(users)]
    assert table == [[len(model_chain(users, "i", [("and", "o"), ("or", "c")]))]]
    assert extra[1]["op"] == "or" and len(extra) == 2


# ---------------------------------------------------------------- Flask-Login


class User(UserMixin):
    def __init__(self, uid):
        self.id = uid


def test_flask_login_user_login(app, bitmap):
    LoginManager().init_app(app)
    now = utcnow()
    with app.test_request_context():
        user = User(4242)
        login_user(user)
        assert current_user.is_authenticated
        assert current_user == user
        assert 4242 in MonthEvents("user:logged_in", now.year, now.month)
        assert 4242 not in MonthEvents("user:logged_out", now.year, now.month)


def test_flask_login_user_logout(app, bitmap):
    LoginManager().init_app(app)
    now = utcnow()
    with app.test_request_context():
        user = User(4343)
        login_user(user)
        logout_user()
        assert not current_user.is_authenticated
        assert 4343 in MonthEvents("user:logged_out", now.year, now.month)


# ---------------------------------------------------------------- SQLAlchemy


def test_sqlalchemy_after_insert(app, sqlalchemy):
    db, User = sqlalchemy
    now = utcnow()
    with app.app_context():
        user = User(name="Test User")
        db.session.add(user)
        db.session.commit()
        assert user.id is not None
        assert user.id in MonthEvents("user:created", now.year, now.month)
        assert user.id not in MonthEvents("user:updated", now.year, now.month)


def test_sqlalchemy_before_update(app, sqlalchemy):
    db, User = sqlalchemy
    now = utcnow()
    with app.app_context():
        user = User(name="Test User")
        db.session.add(user)
        db.session.commit()
        assert user.id not in MonthEvents("user:updated", now.year, now.month)
        user.name = "New Name"
        assert db.session.is_modified(user)
        db.session.commit()
        assert not db.session.is_modified(user)
        assert user.id in MonthEvents("user:updated", now.year, now.month)


def test_sqlalchemy_before_delete(app, sqlalchemy):
    db, User = sqlalchemy
    now = utcnow()
    with app.app_context():
        user = User(name="Test User")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
        db.session.delete(user)
        db.session.commit()
        assert db.session.get(User, user_id) is None
        assert user_id in MonthEvents("user:deleted", now.year, now.month)


def test_sqlalchemy_rollback_marks_nothing(app, sqlalchemy):
    db, User = sqlalchemy
    now = utcnow()
    with app.app_context():
        user = User(name="Rolled back")
        db.session.add(user)
        db.session.flush()
        assert user.id is not None
        db.session.rollback()
        assert len(MonthEvents("user:created", now.year, now.month)) == 0


# ---------------------------------------------------------------- configuration


def test_redis_url_config(store_url):
    from flask import Flask

    app = Flask(__name__)
    app.config["BITMAPIST_REDIS_URL"] = store_url
    bitmap = FlaskBitmapist(app)
    assert bitmap.redis_url == app.config["BITMAPIST_REDIS_URL"]
    mark_event("configured", 3)
    host, port = app.config["BITMAPIST_REDIS_URL"].rsplit("/", 1)[-1].split(":")
    assert bitmapist.get_redis("default").connection_pool.connection_kwargs["port"] == int(port)
    assert 3 in DayEvents.from_date("configured", utcnow())


def test_redis_system_name_config(store_config):
    from flask import Flask

    app = Flask(__name__)
    app.config.update(**store_config, BITMAPIST_REDIS_SYSTEM="analytics")
    bitmap = FlaskBitmapist(app)
    assert "analytics" in bitmap.SYSTEMS.keys()
    assert bitmap.system == "analytics"
    with app.app_context():
        mark_event("on_analytics", 8)
    now = utcnow()
    assert 8 in DayEvents("on_analytics", now.year, now.month, now.day, system="analytics")


def test_track_hourly_config(app, store_config):
    bitmap = FlaskBitmapist(app)
    assert bitmap.TRACK_HOURLY is False
    now = utcnow()
    with app.app_context():
        mark_event("not_hourly", 1)
    assert 1 not in HourEvents("not_hourly", now.year, now.month, now.day, now.hour)

    from flask import Flask

    hourly = Flask(__name__)
    hourly.config.update(**store_config, BITMAPIST_TRACK_HOURLY=True)
    assert FlaskBitmapist(hourly).TRACK_HOURLY is True
    with hourly.app_context():
        mark_event("hourly", 1)
    now = utcnow()
    assert 1 in HourEvents("hourly", now.year, now.month, now.day, now.hour)


def test_bad_config_is_named(store_config):
    from flask import Flask

    for key, value in [
        ("BITMAPIST_STORE_URL", "ftp://localhost/"),
        ("BITMAPIST_REDIS_URL", "http://localhost:6379"),
        ("BITMAPIST_TRACK_HOURLY", "yes"),
        ("BITMAPIST_DASHBOARD_ACCESS", "everyone"),
        ("BITMAPIST_REDIS_SYSTEM", ""),
    ]:
        app = Flask(__name__)
        if key != "BITMAPIST_REDIS_URL":  # a store URL overrides the Redis URL
            app.config.update(**store_config)
        app.config[key] = value
        with pytest.raises((ValueError, TypeError), match=key):
            FlaskBitmapist(app)


def test_blueprint_registered_once_and_disabled(app, store_config):
    bitmap = FlaskBitmapist(app)
    bitmap.init_app(app)
    FlaskBitmapist(app)
    assert list(app.blueprints) == ["bitmapist"]

    from flask import Flask

    bare = Flask(__name__)
    bare.config.update(**store_config, BITMAPIST_DISABLE_BLUEPRINT=True)
    FlaskBitmapist(bare)
    assert "bitmapist" not in bare.blueprints
    assert bare.extensions["bitmapist"].system == "default"


def test_index(app, bitmap):
    with app.test_request_context("/bitmapist/"):
        assert request.endpoint == "bitmapist.index"


def test_cohort(app, bitmap):
    with app.test_request_context("/bitmapist/cohort"):
        assert request.endpoint == "bitmapist.cohort"


# ---------------------------------------------------------------- marking


def test_mark_decorator(app, client):
    @app.route("/")
    @mark("test", 1)
    def index():
        return ""

    @app.route("/hourly")
    @mark("test_hourly", 2, track_hourly=True)
    def index_hourly():
        return ""

    client.get("/")
    now = utcnow()
    assert 1 in MonthEvents("test", now.year, now.month)
    assert 2 not in MonthEvents("test", now.year, now.month)
    assert 1 in WeekEvents("test", now.year, now.isocalendar()[1])
    assert 1 in DayEvents("test", now.year, now.month, now.day)
    assert 1 not in HourEvents("test", now.year, now.month, now.day, now.hour)

    client.get("/hourly")
    now = utcnow()
    assert 2 in HourEvents("test_hourly", now.year, now.month, now.day, now.hour)
    assert 1 not in HourEvents("test_hourly", now.year, now.month, now.day, now.hour)


def test_mark_decorator_evaluates_id_per_call(app, client):
    LoginManager().init_app(app)
    users = {}

    @app.login_manager.user_loader
    def load(uid):
        return users.get(int(uid))

    calls = iter([31, 32])

    @app.route("/callable")
    @mark("by_callable", lambda: next(calls))
    def by_callable():
        return ""

    @app.route("/visited")
    @mark("visited")
    def visited():
        return ""

    @app.route("/login/<int:uid>")
    def login(uid):
        users[uid] = User(uid)
        login_user(users[uid])
        return ""

    client.get("/callable")
    client.get("/callable")
    client.get("/visited")  # anonymous: nothing marked
    client.get("/login/41")
    client.get("/visited")
    client.get("/login/42")
    client.get("/visited")
    now = utcnow()
    assert set(DayEvents("by_callable", now.year, now.month, now.day)) == {31, 32}
    assert set(DayEvents("visited", now.year, now.month, now.day)) == {41, 42}


def test_mark_bad_event_name():
    with pytest.raises(TypeError, match="event_name"):
        mark(42, 1)
    with pytest.raises(ValueError, match="event_name"):
        mark("", 1)


def test_mark_function(app, bitmap):
    mark_event("active", 125)
    now = utcnow()
    assert 125 in MonthEvents("active", now.year, now.month)


def test_unmark_function(app, bitmap):
    mark_event("active", 126)
    now = utcnow()
    assert 126 in MonthEvents("active", now.year, now.month)
    unmark_event("active", 126)
    assert 126 not in MonthEvents("active", now.year, now.month)
