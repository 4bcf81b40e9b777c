"""Flask-Login 0.6: ``user:logged_in`` and ``user:logged_out`` marked on its signals.

Why: the seed promises login and logout events with nothing to set up beyond Flask-Login
itself.

How: importing this module (``flask_bitmapist`` does when Flask-Login is installed)
connects ``mark_login`` and ``mark_logout`` to Flask-Login's ``user_logged_in`` and
``user_logged_out`` signals. They mark ``user.id`` on the app's system.

Invariants: connected once per process (blinker keeps one receiver per function); a user
without an id is not marked.

What a crash can lose: nothing of its own; the mark is written inside ``login_user`` /
``logout_user``.
"""

from __future__ import annotations

from typing import Any

from flask_login import user_logged_in, user_logged_out

from ..marking import mark_event, user_id_of


@user_logged_in.connect
def mark_login(sender: Any, user: Any, **extra: Any) -> None:
    """Mark ``user:logged_in`` for the user Flask-Login just logged in."""
    uid = user_id_of(user)
    if uid is not None:
        mark_event("user:logged_in", uid)


@user_logged_out.connect
def mark_logout(sender: Any, user: Any, **extra: Any) -> None:
    """Mark ``user:logged_out`` for the user Flask-Login just logged out."""
    if user is None:
        return
    uid = user_id_of(user)
    if uid is not None:
        mark_event("user:logged_out", uid)
