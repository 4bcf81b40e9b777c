"""Marking events from a Flask app: the app's system and hourly setting, the current user.

Why: ``bitmapist.mark_event`` knows nothing of Flask. Inside an app that ran
``FlaskBitmapist.init_app``, marks made through this package go to the system named by
``BITMAPIST_REDIS_SYSTEM`` and follow ``BITMAPIST_TRACK_HOURLY``; outside any app they
behave exactly like ``bitmapist.mark_event`` (system ``"default"``, bitmapist's own
``TRACK_HOURLY``).

How: every function here resolves ``system=None`` / ``track_hourly=None`` against
``current_app.extensions["bitmapist"]`` at call time, then calls the drop-in ``bitmapist``
functions, which write synchronously (a mark is visible to the next read).

Invariants: an explicit ``system`` or ``track_hourly`` argument always wins; nothing here
keeps state of its own, so two apps in one process each use their own settings.

What a crash can lose: nothing of its own; a mark returns after the store has it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Optional, Union

import bitmapist as _bitmapist
from flask import current_app, has_app_context

EXTENSION_KEY = "bitmapist"

UserId = Union[int, str]


def _extension() -> Any:
    if not has_app_context():
        return None
    return current_app.extensions.get(EXTENSION_KEY)


def resolve_system(system: Optional[str]) -> str:
    """The system to use: ``system`` if given, else the current app's, else ``"default"``."""
    if system is not None:
        return system
    ext = _extension()
    return ext.system if ext is not None else "default"


def resolve_track_hourly(track_hourly: Optional[bool]) -> Optional[bool]:
    """``track_hourly`` if given, else the current app's ``BITMAPIST_TRACK_HOURLY``, else
    None (bitmapist's own ``TRACK_HOURLY`` then decides)."""
    if track_hourly is not None:
        return track_hourly
    ext = _extension()
    return ext.TRACK_HOURLY if ext is not None else None


def mark_event(
    event_name: str,
    uuid: UserId,
    system: Optional[str] = None,
    now: Optional[datetime] = None,
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
    use_pipeline: bool = True,
) -> None:
    """Mark ``event_name`` for ``uuid`` (``bitmapist.mark_event`` on the app's system)."""
    _bitmapist.mark_event(
        event_name,
        uuid,
        system=resolve_system(system),
        now=now,
        track_hourly=resolve_track_hourly(track_hourly),
        track_unique=track_unique,
        use_pipeline=use_pipeline,
    )


def unmark_event(
    event_name: str,
    uuid: UserId,
    system: Optional[str] = None,
    now: Optional[datetime] = None,
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
    use_pipeline: bool = True,
) -> None:
    """Remove the mark ``mark_event`` makes (``bitmapist.unmark_event`` on the app's system)."""
    _bitmapist.unmark_event(
        event_name,
        uuid,
        system=resolve_system(system),
        now=now,
        track_hourly=resolve_track_hourly(track_hourly),
        track_unique=track_unique,
        use_pipeline=use_pipeline,
    )


def current_user_id() -> Optional[UserId]:
    """The id of Flask-Login's current user, or None when nobody is logged in (or outside a
    request). Raises RuntimeError when Flask-Login is not installed."""
    try:
        import flask_login
    except ImportError as exc:  # pragma: no cover - exercised only without Flask-Login
        raise RuntimeError(
            "marking the current user needs Flask-Login: pip install 'Flask-Login>=0.6'"
        ) from exc
    user = flask_login.current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user_id_of(user)


def user_id_of(user: Any) -> UserId:
    """``user.id``; Flask-Login's string ``get_id()`` when the object has no ``id``."""
    uid = getattr(user, "id", None)
    if uid is None and hasattr(user, "get_id"):
        uid = user.get_id()
    if isinstance(uid, str) and uid.isdigit():
        return int(uid)
    return uid


IdSource = Union[UserId, Callable[[], Optional[UserId]], None]


def evaluate_id(source: IdSource) -> Optional[UserId]:
    """The id to mark now: a callable is called, None means the current Flask-Login user."""
    if source is None:
        return current_user_id()
    if callable(source):
        return source()
    return source
