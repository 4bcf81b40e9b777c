"""The Flask demo app: sign-up, log-in and log-out (Flask-Login, users in SQLite through
Flask-SQLAlchemy), marked routes, and the bitmapist dashboard at /bitmapist.

    pip install './crates/bitmapist-py[flask]'
    python crates/bitmapist-py/examples/flask_demo.py

then open http://127.0.0.1:5000/ (the dashboard: http://127.0.0.1:5000/bitmapist/).

On first start with an empty store it seeds 90 days of activity for 2,000 users, so the
dashboard has something to show. ``PORT`` (default 5000), ``HOST`` (default 127.0.0.1),
``DEMO_DB`` (default ``sqlite:///<cwd>/bitmapist-flask-demo.sqlite``) and
``BITMAPIST_STORE_URL`` (default ``file://<cwd>/bitmapist-flask-demo.redb``, the embedded
store; ``redis://localhost:6379`` for a Redis) apply.

All four ways to mark are used: signing up creates a ``User(db.Model, Bitmapistable)``
(``user:created``, the ORM mixin) and marks ``user:signed_up`` with ``mark_event``;
logging in and out is tracked through Flask-Login (``user:logged_in``,
``user:logged_out``); reading an article is a route decorated with ``@mark`` (the current
user, at each call); buying calls ``mark_event`` (``user:purchased``).
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone

from flask import Flask, abort, current_app, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from werkzeug.security import check_password_hash, generate_password_hash

import bitmapist
from flask_bitmapist import Bitmapistable, FlaskBitmapist, mark, mark_event

#: The seeded history uses ids 1..SEEDED_USERS; people signing up get the ids after.
SEEDED_USERS = 2_000
SEEDED_DAYS = 90
ARTICLES = ["Bitmaps in one page", "Cohorts without tears", "Why retention matters"]

db = SQLAlchemy()


class User(db.Model, UserMixin, Bitmapistable):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)
    password_hash = db.Column(db.String(256), nullable=False)


PAGE = """<!doctype html>
<title>Flask-Bitmapist demo</title>
<p>{% if current_user.is_authenticated %}Logged in as <b>{{ current_user.username }}</b>
(id {{ current_user.id }}) · <a href="{{ url_for('logout') }}">log out</a>
{% else %}<a href="{{ url_for('signup') }}">sign up</a> ·
<a href="{{ url_for('login') }}">log in</a>{% endif %}
· <a href="{{ url_for('bitmapist.index') }}">dashboard</a></p>
{% if message %}<p><i>{{ message }}</i></p>{% endif %}
{% if form %}<form method="post">
<label>user name <input name="username" required></label>
<label>password <input name="password" type="password" required></label>
<button>{{ form }}</button></form>{% endif %}
<ul>{% for title in articles %}
<li><a href="{{ url_for('article', n=loop.index0) }}">{{ title }}</a></li>{% endfor %}</ul>
{% if article %}<h2>{{ article }}</h2><p>(article:read is marked for you.)</p>
<form method="post" action="{{ url_for('buy') }}"><button>Buy the book</button></form>{% endif %}
"""


def page(**kw):
    kw.setdefault("articles", ARTICLES)
    return render_template_string(PAGE, **kw)


def create_app(store_url: str, db_url: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or os.urandom(16).hex(),
        SQLALCHEMY_DATABASE_URI=db_url,
        BITMAPIST_STORE_URL=store_url,
    )
    db.init_app(app)
    FlaskBitmapist(app)
    login_manager = LoginManager(app)
    login_manager.login_view = "login"

    @login_manager.user_loader
    def load_user(uid):
        return db.session.get(User, int(uid))

    @app.route("/")
    def home():
        return page()

    @app.route("/signup", methods=["GET", "POST"])
    def signup():
        if request.method == "GET":
            return page(form="Sign up")
        name = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not name or not password:
            return page(form="Sign up", message="user name and password are needed"), 400
        if db.session.execute(db.select(User).filter_by(username=name)).scalar():
            return page(form="Sign up", message="that name is taken"), 400
        last = db.session.execute(db.select(db.func.max(User.id))).scalar() or 0
        user = User(
            id=max(last, SEEDED_USERS) + 1,
            username=name,
            password_hash=generate_password_hash(password),
        )
        db.session.add(user)
        db.session.commit()  # user:created (the mixin)
        mark_event("user:signed_up", user.id)  # a direct call
        login_user(user)  # user:logged_in (Flask-Login)
        return redirect(url_for("home"))

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            return page(form="Log in")
        name = request.form.get("username", "")
        user = db.session.execute(db.select(User).filter_by(username=name)).scalar()
        if user is None or not check_password_hash(user.password_hash,
                                                   request.form.get("password", "")):
            return page(form="Log in", message="wrong user name or password"), 401
        login_user(user)
        return redirect(url_for("home"))

    @app.route("/logout")
    def logout():
        logout_user()  # user:logged_out
        return redirect(url_for("home"))

    @app.route("/articles/<int:n>")
    @mark("article:read")  # the current user, at each call; anonymous readers are not marked
    def article(n):
        if not 0 <= n < len(ARTICLES):
            abort(404)
        return page(article=ARTICLES[n])

    @app.route("/buy", methods=["POST"])
    @login_required
    def buy():
        mark_event("user:purchased", current_user.id)
        return page(message="Thank you! user:purchased is marked.")

    with app.app_context():
        db.create_all()
        if not bitmapist.get_event_names(app.extensions["bitmapist"].system):
            seed()
    return app


def seed(users: int = SEEDED_USERS, days: int = SEEDED_DAYS, rng_seed: int = 19) -> int:
    """Fake history: sign-ups spread over ``days``, each user logging in (less often as
    weeks pass), reading, sometimes buying. Written with one batch call; returns the
    number of marks."""
    rng = random.Random(rng_seed)
    today = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    marks = []
    for uid in range(1, users + 1):
        joined = rng.randrange(days)
        day = today - timedelta(days=days - 1 - joined)
        marks += [("user:created", uid, day), ("user:signed_up", uid, day),
                  ("user:logged_in", uid, day)]
        loyalty = rng.random()
        for later in range(1, days - joined):
            if rng.random() < loyalty * 0.5 / (1 + later / 7):
                when = day + timedelta(days=later, hours=rng.randrange(12))
                marks.append(("user:logged_in", uid, when))
                if rng.random() < 0.6:
                    marks.append(("article:read", uid, when))
                if rng.random() < 0.05:
                    marks.append(("user:purchased", uid, when))
                if rng.random() < 0.3:
                    marks.append(("user:logged_out", uid, when))
    return bitmapist.mark_events(marks, system=current_app.extensions["bitmapist"].system)


def main() -> None:
    cwd = os.getcwd()
    store = os.environ.get("BITMAPIST_STORE_URL") or "file://%s/bitmapist-flask-demo.redb" % cwd
    dburl = os.environ.get("DEMO_DB") or "sqlite:///%s/bitmapist-flask-demo.sqlite" % cwd
    app = create_app(store, dburl)
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))


if __name__ == "__main__":
    main()
