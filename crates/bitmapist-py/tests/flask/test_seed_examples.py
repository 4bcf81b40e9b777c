"""Every code example of the Flask-Bitmapist documentation and article, run as written.

Each example's text is executed verbatim (``exec``) in a namespace that supplies what the
surrounding prose assumes (an ``app``, a ``user``, a request with a logged-in user), and
the test then checks the marks it made against the events store. Two examples cannot run
as written on any Flask-Login / SQLAlchemy (``User(id=user_id)`` on a ``UserMixin``
without ``__init__``; a model with ``pass`` and no primary key); they are run with the
one missing line added, and the test says which.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import flask_login
from flask import Flask

import bitmapist
from flask_bitmapist import BitOpOr, DayEvents, MonthEvents


def run(src: str, ns: dict) -> dict:
    exec(compile(textwrap.dedent(src), "<seed example>", "exec"), ns)
    return ns


def today():
    now = datetime.now(timezone.utc)
    return now.year, now.month, now.day


def new_app(store_config):
    app = Flask("seed_example")
    app.config.update(SECRET_KEY="x", **store_config)
    return app


class _User(flask_login.UserMixin):
    def __init__(self, id):
        self.id = id


def test_setup_three_lines(store_config):
    ns = run(
        """
        from flask import Flask
        from flask_bitmapist import FlaskBitmapist
        app = Flask(__name__)
        # Initialize Flask-Bitmapist with the Flask app
        flaskbitmapist = FlaskBitmapist()
        flaskbitmapist.init_app(app)
        """,
        {"__name__": "seed_app", "__builtins__": __builtins__},
    )
    assert "bitmapist" in ns["app"].blueprints
    assert ns["app"].extensions["bitmapist"] is ns["flaskbitmapist"]


def test_mark_decorator_with_user_id(store_config):
    app = new_app(store_config)
    ns = run(
        """
        from flask import Flask
        from flask_bitmapist import FlaskBitmapist
        flaskbitmapist = FlaskBitmapist()
        flaskbitmapist.init_app(app)
        from flask_bitmapist import mark
        @mark('user:reset_password', user.id) # with `user` as the current user
        def reset_password():
            pass
        """,
        {"app": app, "user": _User(7)},
    )
    with app.app_context():
        ns["reset_password"]()
    assert 7 in DayEvents("user:reset_password", *today())


def test_mark_decorator_with_current_user_id(store_config):
    # `current_user.id` is evaluated where the decorator runs: inside a request with a
    # logged-in user (outside one, Flask-Login's current_user has no id).
    app = new_app(store_config)
    flask_login.LoginManager().init_app(app)
    from flask_bitmapist import FlaskBitmapist

    FlaskBitmapist(app)
    with app.test_request_context():
        flask_login.login_user(_User(12))
        ns = run(
            """
            from flask import render_template
            from flask_bitmapist import mark

            @mark('index:visited', current_user.id)
            def index():
              return render_template('index.html')
            """,
            {"current_user": flask_login.current_user},
        )
        assert callable(ns["index"])
    with app.test_request_context():
        try:
            ns["index"]()
        except Exception as exc:  # no index.html in this test app: the mark came first
            assert "index.html" in str(exc)
    assert 12 in DayEvents("index:visited", *today())


def test_small_example_app(store_config):
    # The documentation's "Small Example App" (its docstring is closed here).
    ns = run(
        """
        from flask import Flask
        from flask_bitmapist import FlaskBitmapist, mark

        app = Flask(__name__)

        flaskbitmapist = FlaskBitmapist()

        @mark('index:visited', 1)  # current_user.id
        def index():
          \"\"\"using the mark decorator, the first argument is the event
             and the second is the id of the current_user\"\"\"
          return 'Hello, world!'
        """,
        {"__name__": "seed_small", "__builtins__": __builtins__},
    )
    app = ns["app"]
    app.config.update(store_config)
    ns["flaskbitmapist"].init_app(app)
    app.add_url_rule("/", view_func=ns["index"])
    assert app.test_client().get("/").data == b"Hello, world!"
    assert 1 in DayEvents("index:visited", *today())


def test_mixin_examples(store_config, tmp_path):
    app = new_app(store_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(tmp_path / "seed.sqlite")
    ns = run(
        """
        from flask_sqlalchemy import SQLAlchemy
        from flask_bitmapist import Bitmapistable, FlaskBitmapist
        FlaskBitmapist(app)
        db = SQLAlchemy(app) # with `app` as the initialized Flask app

        class User(db.Model, Bitmapistable):
          id = db.Column(db.Integer, primary_key=True)
        """,
        {"app": app},
    )
    db, User = ns["db"], ns["User"]
    with app.app_context():
        db.create_all()
        user = User()
        db.session.add(user)
        db.session.commit()
        assert user.id in MonthEvents("user:created", *today()[:2])
        db.session.delete(user)
        db.session.commit()
        assert user.id in MonthEvents("user:deleted", *today()[:2])


def test_flask_login_examples(store_config):
    app = new_app(store_config)
    ns = run(
        """
        from flask import Flask
        from flask_bitmapist import FlaskBitmapist
        from flask_login import LoginManager
        # Initialize Flask-Login with the Flask app
        login_manager = LoginManager()
        login_manager.init_app(app)
        # Initialize Flask-Bitmapist with the Flask app
        flaskbitmapist = FlaskBitmapist()
        flaskbitmapist.init_app(app)
        from flask_login import UserMixin, login_user, logout_user
        class User(UserMixin):
            id = None
        """,
        {"app": app},
    )
    with app.test_request_context():
        # `user = User(id=user_id)` does not run on any Flask-Login (UserMixin takes no
        # arguments); the id is set the way the documentation's class declares it.
        user = ns["User"]()
        user.id = 77
        run(
            """
            login_user(user)
            logout_user()
            """,
            dict(ns, user=user),
        )
    assert 77 in DayEvents("user:logged_in", *today())
    assert 77 in DayEvents("user:logged_out", *today())


def test_mark_event_examples(store_config):
    app = new_app(store_config)
    flask_login.LoginManager().init_app(app)
    from flask_bitmapist import FlaskBitmapist

    FlaskBitmapist(app)
    with app.test_request_context():
        flask_login.login_user(_User(5))
        run(
            """
            from flask_bitmapist import mark_event
            mark_event('user:completed_process', user.id) # with `user` as the current user
            mark_event('user:action_taken', user.id)
            mark_event('event:completed', current_user.id)
            """,
            {"user": _User(4), "current_user": flask_login.current_user},
        )
    assert 4 in DayEvents("user:completed_process", *today())
    assert 4 in DayEvents("user:action_taken", *today())
    assert 5 in DayEvents("event:completed", *today())


def test_get_event_data_examples(store_config):
    app = new_app(store_config)
    from flask_bitmapist import FlaskBitmapist, mark_event

    FlaskBitmapist(app)
    for uid in (1, 2):
        mark_event("user:spilled_popcorn", uid)
    for uid in (2, 3):
        mark_event("user:spilled_cheesepuffs", uid)
    mark_event("user:spilled_soda", 9)
    ns = run(
        """
        from datetime import datetime
        from flask_bitmapist import BitOpOr
        from flask_bitmapist.utils import get_event_data
        bitmapist_events = get_event_data('user:spilled_soda', time_group='days', now=datetime.utcnow())
        soda = list(bitmapist_events)
        spilled_popcorn = get_event_data('user:spilled_popcorn')
        spilled_cheesepuffs = get_event_data('user:spilled_cheesepuffs')
        bitmapist_events = BitOpOr(spilled_popcorn, spilled_cheesepuffs)
        user_ids = list(bitmapist_events)
        """,
        {},
    )
    assert ns["soda"] == [9]
    assert sorted(ns["user_ids"]) == [1, 2, 3]
    assert BitOpOr is bitmapist.BitOpOr


def test_get_cohort_example(store_config):
    app = new_app(store_config)
    from flask_bitmapist import FlaskBitmapist, mark_event

    FlaskBitmapist(app)
    # this month: 1..6 ordered; 1..4 paid once; 1,2 paid twice; 3 returned it
    for uid in range(1, 7):
        mark_event("user:ordered_infomercial_product", uid)
    for uid in range(1, 5):
        mark_event("user:made_first_easy_payment", uid)
    for uid in (1, 2):
        mark_event("user:made_second_easy_payment", uid)
    mark_event("user:returned_product", 3)
    ns = run(
        """
        from flask_bitmapist.utils import get_cohort
        event1 = 'user:ordered_infomercial_product'
        event2 = 'user:made_first_easy_payment'
        additional_events = [
        {'name': 'user:made_second_easy_payment', 'op': 'and'},
        {'name': 'user:returned_product', 'op': 'or'}
        ]
        cohort, cohort_dates, cohort_totals = get_cohort(
        event1, event2, additional_events=additional_events, time_group='months', num_rows=6, num_cols=4
        )
        """,
        {},
    )
    assert ns["cohort_totals"] == [0, 0, 0, 0, 0, 6]
    assert ns["cohort"][:5] == [[None] * 4] * 5
    assert ns["cohort"][5] == [3, None, None, None]  # users 1, 2 (second payment), 3 (returned)
    assert len(ns["cohort_dates"]) == 6 and ns["cohort_dates"][-1].day == 1
