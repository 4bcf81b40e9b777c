"""The ``Bitmapistable`` mixin: ``{model}:created`` / ``updated`` / ``deleted`` events.

Why: the seed's ORM integration; ``class User(db.Model, Bitmapistable)`` marks
``user:created`` when a new user is committed, ``user:updated`` and ``user:deleted`` on
update and delete (SQLAlchemy 2, Flask-SQLAlchemy 3; SQLAlchemy 1.4 works too).

How: ``__declare_last__`` (called by SQLAlchemy's declarative setup once the class is
mapped) listens to the mapper's ``after_insert``, ``before_update`` and ``before_delete``.
Those run inside a flush, so they only queue ``(event, id, system, hourly)`` in the
session's ``info``; a session ``after_commit`` listener marks the queue, and a rollback
drops it. The event prefix is the class name in lower case; the id is ``target.id`` (or the
single primary key when the model has no ``id``).

Invariants: a rolled-back insert, update or delete marks nothing; a committed one marks
exactly once per flush that touched the row (SQLAlchemy calls ``before_update`` for every
flush of a dirty row, as in the original). The app's system and hourly setting are read at
flush time, inside the request that made the change.

What a crash can lose: the marks of a transaction whose commit returned in the database but
whose process died before ``after_commit`` finished marking (the rows exist, the events
don't). A failing store raises from ``commit()`` after the database committed.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

from .marking import mark_event, resolve_system, resolve_track_hourly

_PENDING = "flask_bitmapist.pending"

Pending = Tuple[str, Any, str, Optional[bool]]


def _target_id(target: Any) -> Any:
    uid = getattr(target, "id", None)
    if uid is None:
        key = inspect(target).identity
        if key is not None and len(key) == 1:
            uid = key[0]
    return uid


def _queue(kind: str, target: Any) -> None:
    uid = _target_id(target)
    if uid is None:
        return
    name = "%s:%s" % (target.__class__.__name__.lower(), kind)
    item: Pending = (name, uid, resolve_system(None), resolve_track_hourly(None))
    session = object_session(target)
    if session is None:  # not reachable from a flush; mark at once rather than lose it
        _mark(item)
        return
    session.info.setdefault(_PENDING, []).append(item)


def _mark(item: Pending) -> None:
    name, uid, system, hourly = item
    mark_event(name, uid, system=system, track_hourly=hourly)


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    pending: List[Pending] = session.info.pop(_PENDING, [])
    for item in pending:
        _mark(item)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Bitmapistable:
    """A mixin making a declarative model Bitmapist-ready (see the module docs)."""

    @staticmethod
    def bitmapist_after_insert(mapper: Any, connection: Any, target: Any) -> None:
        _queue("created", target)

    @staticmethod
    def bitmapist_before_update(mapper: Any, connection: Any, target: Any) -> None:
        _queue("updated", target)

    @staticmethod
    def bitmapist_before_delete(mapper: Any, connection: Any, target: Any) -> None:
        _queue("deleted", target)

    @classmethod
    def __declare_last__(cls) -> None:
        event.listen(cls, "after_insert", cls.bitmapist_after_insert)
        event.listen(cls, "before_update", cls.bitmapist_before_update)
        event.listen(cls, "before_delete", cls.bitmapist_before_delete)
