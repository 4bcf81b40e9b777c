"""The engine's own API, beside the drop-in: :class:`Client` on any store URL.

Store URLs: ``file://PATH`` (the embedded store, one process at a time),
``redis://[:password@]host[:port][/db]``, ``rediss://...`` (TLS),
``redis+cluster://h1:p1,h2:p2``, ``memory://`` (this process only).

Example::

    import bitmapist

    bm = bitmapist.open("file:///tmp/analytics.redb", timezone="Europe/Berlin")
    bm.mark_event("signed_up", 1)
    bm.mark_events([("active", uid) for uid in range(1000)])
    table = bm.retention("signed_up", "active", rows=7, cols=7, criterion="on-or-after")
    funnel = bm.funnel(["visited", "signed_up", "paid"], rows=14, window=7)
    bm.mark_external("active", "user-4f2c")  # any string id, through the store's id map
"""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, Iterable, Optional

from . import _native


def _epoch(t: Optional[datetime], name: str) -> Optional[int]:
    if t is None:
        return None
    if not isinstance(t, datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(t).__name__}")
    if t.tzinfo is None:
        raise ValueError(f"{name}: a naive datetime is ambiguous; give it a tzinfo")
    return int(t.timestamp())


def _at(t: Any, name: str = "at"):
    if t is None:
        return None
    if not isinstance(t, datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(t).__name__}")
    if t.tzinfo is not None:
        t = t.astimezone(dt_timezone.utc)
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


def _uid(uid: Any) -> int:
    if isinstance(uid, bool) or not isinstance(uid, int):
        raise TypeError(f"uid: expected an int, got {type(uid).__name__}")
    if not 0 <= uid < 2**32:
        raise ValueError(f"uid: {uid} is not in 0..2**32")
    return uid


class Client:
    """A store opened by URL, with the engine's API.

    :param url: the store URL (see the module docs)
    :param timezone: the IANA zone periods follow (default UTC; checked against the zone
        recorded in the store)
    :param track_hourly: marks also write the hour key by default
    :param track_unique: marks also write the unique key by default
    """

    def __init__(
        self,
        url: str,
        timezone: Optional[str] = None,
        track_hourly: bool = False,
        track_unique: bool = False,
    ):
        if not isinstance(url, str):
            raise TypeError(f"url: expected a str, got {type(url).__name__}")
        self._handle = _native.Handle(url, "trackist_", timezone, track_hourly, track_unique)
        self.url = url

    def __repr__(self) -> str:
        return f"bitmapist.Client({self._handle.url()!r}, timezone={self.timezone!r})"

    @property
    def timezone(self) -> str:
        """The zone's IANA name."""
        return self._handle.timezone()

    # --- marking

    def mark_event(self, event: str, uid: int, at: Optional[datetime] = None, hourly=None, unique=None):
        """Marks ``event`` for ``uid`` at ``at`` (an aware datetime; default now)."""
        self._handle.mark(event, _uid(uid), _at(at), hourly, unique, True)

    def unmark_event(self, event: str, uid: int, at: Optional[datetime] = None, hourly=None, unique=None):
        """Clears what :meth:`mark_event` sets."""
        self._handle.mark(event, _uid(uid), _at(at), hourly, unique, False)

    def mark_events(self, marks: Iterable[tuple], hourly=None, unique=None) -> int:
        """Marks many ``(event, uid)`` or ``(event, uid, at)`` in one round trip."""
        batch = []
        for m in marks:
            if len(m) == 2:
                batch.append((m[0], _uid(m[1]), None))
            elif len(m) == 3:
                batch.append((m[0], _uid(m[1]), _at(m[2])))
            else:
                raise ValueError("marks: each mark is (event, uid) or (event, uid, at)")
        return self._handle.mark_many(batch, hourly, unique, True)

    def mark_unique(self, event: str, uid: int) -> None:
        """Sets ``uid`` in the date-less key of ``event``."""
        self._handle.mark_unique(event, _uid(uid), True)

    def mark_external(self, event: str, external_id: str, at: Optional[datetime] = None) -> int:
        """Marks ``event`` for any string id (UUID, e-mail...), mapped to a dense id by the
        store's id map. Returns the dense id."""
        if not isinstance(external_id, str):
            raise TypeError(f"external_id: expected a str, got {type(external_id).__name__}")
        return self._handle.mark_external(event, external_id, _at(at), True)

    def resolve_ids(self, dense: Iterable[int]) -> list[Optional[str]]:
        """The external ids of dense ids (``None`` for ids never handed out)."""
        return self._handle.resolve_ids([_uid(d) for d in dense])

    # --- reading

    def event_names(self, prefix: Optional[str] = None) -> list[str]:
        """Every event name, sorted."""
        return self._handle.event_names(prefix)

    def ids(self, event: str, period: tuple) -> list[int]:
        """The users of ``event`` in ``period``: ``("D", 2026, 11, 2)``, ``("W", 2026, 45)``,
        ``("M", 2026, 11)``, ``("Y", 2026)``, ``("H", 2026, 11, 2, 13)``."""
        return self._handle.period_ids(event, period)

    def count(self, event: str, period: tuple) -> int:
        """How many users ``event`` has in ``period`` (see :meth:`ids`)."""
        return self._handle.period_count(event, period)

    def retention(
        self,
        primary: str,
        secondary: str,
        time_group: str = "days",
        rows: int = 10,
        cols: int = 10,
        now: Optional[datetime] = None,
        additional: Iterable[tuple[str, str]] = (),
        kind: str = "recurring",
        criterion: str = "first-return",
        average: str = "simple",
        complete_only: bool = False,
    ) -> dict:
        """A retention table: ``kind`` recurring or first-time, ``criterion`` first-return,
        on or on-or-after, ``average`` simple or weighted; ``additional`` chains
        ``("and"|"or", event)`` to the secondary event. Returns the engine's table as a dict
        (``table.cohort``, ``table.totals``, ``table.average_fractions``...)."""
        return json.loads(
            self._handle.retention(
                primary, secondary, time_group, rows, cols, _epoch(now, "now"),
                list(additional), kind, criterion, average, complete_only,
            )
        )

    def funnel(
        self,
        steps: list[str],
        time_group: str = "days",
        rows: int = 30,
        window: int = 14,
        strict: bool = False,
        now: Optional[datetime] = None,
    ) -> dict:
        """A conversion funnel over ``steps`` (2 to 32 events) as a dict."""
        return json.loads(self._handle.funnel(list(steps), time_group, rows, window, strict, _epoch(now, "now")))

    def stickiness(self, event: str, time_group: str = "weeks", at: Optional[datetime] = None) -> dict:
        """Stickiness of ``event`` in the week or month containing ``at`` (default now)."""
        return json.loads(self._handle.stickiness(event, time_group, _epoch(at, "at")))

    def delete_all(self) -> int:
        """Deletes every event; returns how many keys existed."""
        return self._handle.delete_prefix("trackist_")


def open(url: str, timezone: Optional[str] = None, **kw: Any) -> Client:  # noqa: A001
    """Opens the store ``url`` names (see :class:`Client`)."""
    return Client(url, timezone=timezone, **kw)


__all__ = ["Client", "open"]
