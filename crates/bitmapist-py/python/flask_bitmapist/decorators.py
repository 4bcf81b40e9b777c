"""The ``@mark`` decorator: mark an event each time the decorated function runs.

Why: the seed's ``@mark('index:visited', current_user.id)`` evaluates the id once, when the
module is imported; every later call marks that one id. Here the id may also be a callable
(called on every call) or left out (the current Flask-Login user on every call).

How: the wrapper resolves the id, marks through ``flask_bitmapist.marking`` (the app's
system and hourly setting unless given), then calls the function.

Invariants: the mark happens before the function runs, like the original; when the id
resolves to None (nobody logged in, or the callable returned None) nothing is marked and
the function still runs.

What a crash can lose: nothing of its own; the mark is written before the view runs.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Any, Callable, Optional, TypeVar

from .marking import IdSource, evaluate_id, mark_event

F = TypeVar("F", bound=Callable[..., Any])


def mark(
    event_name: str,
    uuid: IdSource = None,
    system: Optional[str] = None,
    now: Optional[datetime] = None,
    track_hourly: Optional[bool] = None,
    use_pipeline: bool = True,
) -> Callable[[F], F]:
    """Mark ``event_name`` for ``uuid`` each time the decorated function is called.

    ``uuid`` is an id (marked on every call), a callable returning the id (called on every
    call), or omitted/None: the current Flask-Login user at call time (anonymous visitors are
    not marked). ``system`` defaults to the app's ``BITMAPIST_REDIS_SYSTEM``,
    ``track_hourly`` to its ``BITMAPIST_TRACK_HOURLY``; ``now`` and ``use_pipeline`` are
    passed to ``mark_event``.
    """
    if not isinstance(event_name, str):
        raise TypeError("mark(): event_name must be a str, got %s" % type(event_name).__name__)
    if not event_name:
        raise ValueError("mark(): event_name must not be empty")
    if uuid is None:
        try:
            import flask_login  # noqa: F401
        except ImportError as exc:
            raise TypeError(
                "mark(): without a user id the current Flask-Login user is marked, "
                "but Flask-Login is not installed (pip install 'Flask-Login>=0.6')"
            ) from exc

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            uid = evaluate_id(uuid)
            if uid is not None:
                mark_event(
                    event_name,
                    uid,
                    system=system,
                    now=now,
                    track_hourly=track_hourly,
                    use_pipeline=use_pipeline,
                )
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
