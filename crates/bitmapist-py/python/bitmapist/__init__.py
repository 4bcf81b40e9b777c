"""bitmapist: bitmap-based user analytics, on a Rust engine.

A drop-in for Python bitmapist 3.119: the same functions, classes, key names and
semantics (``setup_redis``, ``mark_event``, ``MonthEvents``, ``BitOpAnd``...), with the
work done by the Rust engine underneath:

- redis-py clients stay the configuration (``SYSTEMS``, ``setup_redis``, ``get_redis``);
  the engine opens its own connection to the same server, derived from the client's
  connection settings (host, port, db, username, password, TLS).
- Marks, counts, membership and iteration are single engine calls with the GIL released.
- Bit operations (``BitOpAnd`` ...) fetch their operands in one round trip and combine
  them in memory: no ``trackist_bitop_*`` key is written. As in Python bitmapist, a bit
  operation is a snapshot taken when it is built; ``delete()`` empties it (for every
  object naming the same result), and building it again recomputes it.
- ``bitmapist.cohort.get_dates_data`` reads a whole table in two batched fetches.

Beyond the original, :class:`bitmapist.Client` (``bitmapist.open(url)``) opens any store
URL (``file://`` embedded, ``redis://``, ``redis+cluster://``) with the engine's own API:
retention modes, funnels, stickiness, external ids, time zones; ``setup_store`` makes such
a store a system for the drop-in functions; ``mark_events`` marks a batch in one call.
"""

from __future__ import annotations

import abc
import calendar
import os
import threading
import weakref
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Optional, Union
from urllib.parse import quote

import redis

from . import _native
from .client import Client, open  # noqa: A004 - `bitmapist.open(url)` is the documented name

if TYPE_CHECKING:
    from redis.client import Pipeline, Redis

local_thread = threading.local()

# --- Systems related

SYSTEMS: dict[str, Any] = {"default": redis.StrictRedis(host="localhost", port=6379)}

# Should hourly be tracked as default?
TRACK_HOURLY = False

# Should unique events be tracked as default?
TRACK_UNIQUE = False

PREFIX = "trackist_"


def setup_redis(name: str, host: str, port: int, **kw: Any) -> None:
    """Set up a redis system: ``SYSTEMS[name] = redis.StrictRedis(host=host, port=port, **kw)``.

    ``redis_client`` (keyword) replaces ``redis.StrictRedis``.
    """
    redis_client = kw.pop("redis_client", redis.StrictRedis)
    SYSTEMS[name] = redis_client(host=host, port=port, **kw)


def setup_store(name: str, url: str, timezone: Optional[str] = None) -> Client:
    """Make the store at ``url`` the system ``name`` (any store URL: ``file://PATH``,
    ``redis://``, ``redis+cluster://``, ``memory://``). Returns its :class:`Client`.

    Example::

        setup_store("default", "file:///var/lib/app/bitmapist.redb")
        mark_event("active", 1)
    """
    client = Client(url, timezone=timezone)
    SYSTEMS[name] = client
    return client


def get_redis(system: Any = "default") -> Union[Redis, Pipeline, Client]:
    """The redis-py client (or :class:`Client`) of ``system``: a name from ``SYSTEMS``, or a
    client given directly."""
    if isinstance(system, (redis.StrictRedis, Client)):
        return system
    return SYSTEMS[system]


def store_url(client: Any) -> str:
    """The engine's store URL for a redis-py client (or a :class:`Client`): the same server,
    database and credentials."""
    if isinstance(client, Client):
        return client.url
    if hasattr(client, "get_nodes") and not isinstance(client, redis.StrictRedis):
        nodes = client.get_nodes()
        kw = nodes[0].redis_connection.connection_pool.connection_kwargs if nodes else {}
        hosts = ",".join(f"{n.host}:{n.port}" for n in nodes)
        scheme = "rediss+cluster" if kw.get("ssl") else "redis+cluster"
        return f"{scheme}://{_auth(kw)}{hosts}"
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        raise TypeError(
            f"system: expected a redis.Redis client or a bitmapist.Client, got {type(client).__name__}"
        )
    kw = pool.connection_kwargs
    if "path" in kw:
        raise ValueError(
            "system: a Redis client on a unix socket is not supported; connect it by host and port"
        )
    scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
    host = kw.get("host") or "localhost"
    port = kw.get("port") or 6379
    db = kw.get("db") or 0
    return f"{scheme}://{_auth(kw)}{host}:{port}/{db}"


def _auth(kw: dict) -> str:
    user, password = kw.get("username"), kw.get("password")
    if not password and not user:
        return ""
    user_part = quote(str(user), safe="") if user else ""
    pass_part = ":" + quote(str(password), safe="") if password else ""
    return f"{user_part}{pass_part}@"


_HANDLES: dict[tuple[int, str], _native.Handle] = {}
_HANDLES_LOCK = threading.Lock()


def _handle_for_url(url: str) -> _native.Handle:
    key = (os.getpid(), url)
    h = _HANDLES.get(key)
    if h is None:
        with _HANDLES_LOCK:
            h = _HANDLES.get(key)
            if h is None:
                h = _native.Handle(url, PREFIX)
                _HANDLES[key] = h
    return h


def _handle(system: Any) -> _native.Handle:
    """The engine handle of ``system`` (opened once per process and server)."""
    client = get_redis(system)
    if isinstance(client, Client):
        return client._handle
    cached = client.__dict__.get("_bitmapist_rs")
    if cached is not None and cached[0] == os.getpid():
        return cached[1]
    h = _handle_for_url(store_url(client))
    client.__dict__["_bitmapist_rs"] = (os.getpid(), h)
    return h


def _system_id(system: Any) -> str:
    """Which store a system names (the scope of bit-operation results)."""
    return _handle(system).url()


# --- Argument checks (the exceptions Python bitmapist raises through redis-py)


def _uid(uuid: Any) -> int:
    if isinstance(uuid, int):
        value = uuid
    elif isinstance(uuid, (str, bytes)):
        text = uuid.decode() if isinstance(uuid, bytes) else uuid
        if not text.isdigit():
            raise redis.exceptions.ResponseError("bit offset is not an integer or out of range")
        value = int(text)
    else:
        raise redis.exceptions.DataError(
            f"Invalid input of type: '{type(uuid).__name__}'. "
            "Convert to a bytes, string, int or float first."
        )
    if not 0 <= value < 2**32:
        raise redis.exceptions.ResponseError("bit offset is not an integer or out of range")
    return value


def _wall_clock(now: Any, hourly: bool) -> tuple[int, int, int, int, int, int]:
    if not isinstance(now, date):
        raise TypeError(f"now: expected a datetime or a date, got {type(now).__name__}")
    if isinstance(now, datetime):
        return (now.year, now.month, now.day, now.hour, now.minute, now.second)
    if hourly:
        raise TypeError("now: a date has no hour; pass a datetime to track hourly")
    return (now.year, now.month, now.day, 0, 0, 0)


def _is_pipeline(client: Any) -> bool:
    return isinstance(client, redis.client.Pipeline)


# --- Events marking and deleting


def mark_event(
    event_name: str,
    uuid: int,
    system: Any = "default",
    now: Optional[datetime] = None,
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
    use_pipeline: bool = True,
) -> None:
    """Marks an event for hours, days, weeks and months (and the unique key when tracked).

    :param event_name: the event, e.g. ``"active"`` or ``"tasks:completed"``
    :param uuid: the user id (0 <= uuid < 2**32)
    :param system: a system name, a redis-py client or pipeline, or a :class:`Client`
    :param now: when (default: now, UTC); the datetime's own wall clock names the periods
    :param track_hourly: also the hour key (default ``bitmapist.TRACK_HOURLY``)
    :param track_unique: also the unique key (default ``bitmapist.TRACK_UNIQUE``)
    :param use_pipeline: with a pipeline as ``system``, ``False`` leaves executing it to you
    """
    _mark(event_name, uuid, system, now, track_hourly, track_unique, use_pipeline, 1)


def unmark_event(
    event_name: str,
    uuid: int,
    system: Any = "default",
    now: Optional[datetime] = None,
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
    use_pipeline: bool = True,
) -> None:
    """Clears what :func:`mark_event` sets, with the same arguments."""
    _mark(event_name, uuid, system, now, track_hourly, track_unique, use_pipeline, 0)


def _mark(event_name, uuid, system, now, track_hourly, track_unique, use_pipeline, value):
    if track_hourly is None:
        track_hourly = TRACK_HOURLY
    if track_unique is None:
        track_unique = TRACK_UNIQUE
    if not isinstance(event_name, str):
        raise TypeError(f"event_name: expected a str, got {type(event_name).__name__}")
    uid = _uid(uuid)
    client = get_redis(system)
    if _is_pipeline(client):
        # A pipeline the caller manages: queue the SETBITs on it, as Python bitmapist does.
        if now is None:
            now = datetime.now(tz=timezone.utc)
        classes: list[Any] = [MonthEvents, WeekEvents, DayEvents]
        if track_hourly:
            classes.append(HourEvents)
        if track_unique:
            classes.append(UniqueEvents)
        pipe = client.pipeline() if use_pipeline else client
        for cls in classes:
            pipe.setbit(cls.from_date(event_name, now).redis_key, uid, value)
        if use_pipeline:
            pipe.execute()
        return
    at = None if now is None else _wall_clock(now, bool(track_hourly))
    _handle(system).mark(event_name, uid, at, bool(track_hourly), bool(track_unique), bool(value))


def mark_events(
    marks: Iterable[tuple],
    system: Any = "default",
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
) -> int:
    """Marks many events in one call (one round trip): ``marks`` yields
    ``(event_name, uuid)`` or ``(event_name, uuid, now)``. Returns how many were marked.

    Example::

        mark_events(("page:viewed", uid) for uid in range(100_000))
    """
    return _mark_many(marks, system, track_hourly, track_unique, True)


def unmark_events(
    marks: Iterable[tuple],
    system: Any = "default",
    track_hourly: Optional[bool] = None,
    track_unique: Optional[bool] = None,
) -> int:
    """Clears many marks in one call (the counterpart of :func:`mark_events`)."""
    return _mark_many(marks, system, track_hourly, track_unique, False)


def _mark_many(marks, system, track_hourly, track_unique, value) -> int:
    if track_hourly is None:
        track_hourly = TRACK_HOURLY
    if track_unique is None:
        track_unique = TRACK_UNIQUE
    batch = []
    for m in marks:
        if len(m) == 2:
            event_name, uuid = m
            at = None
        elif len(m) == 3:
            event_name, uuid, now = m
            at = None if now is None else _wall_clock(now, bool(track_hourly))
        else:
            raise ValueError(
                "marks: each mark is (event_name, uuid) or (event_name, uuid, now)"
            )
        if not isinstance(event_name, str):
            raise TypeError(f"event_name: expected a str, got {type(event_name).__name__}")
        batch.append((event_name, _uid(uuid), at))
    return _handle(system).mark_many(batch, bool(track_hourly), bool(track_unique), value)


def mark_unique(event_name: str, uuid: int, system: Any = "default") -> None:
    """Marks a unique event (a user flag that does not depend on the date)."""
    _handle(system).mark_unique(event_name, _uid(uuid), True)


def unmark_unique(event_name: str, uuid: int, system: Any = "default") -> None:
    """Clears a unique event's mark."""
    _handle(system).mark_unique(event_name, _uid(uuid), False)


def get_event_names(system: Any = "default", prefix: str = "", batch: int = 10000) -> list[str]:
    """All event names, in no particular order; only those starting with ``prefix`` when
    given. (``batch`` is accepted for compatibility: the engine lists keys its own way.)"""
    ret = set()
    for key in _handle(system).keys(f"{PREFIX}{prefix}"):
        chunks = key.split("_")
        event_name = "_".join(chunks[1:-1])
        if not event_name.startswith("bitop_"):
            ret.add(event_name)
    return list(ret)


def delete_all_events(system: Any = "default") -> None:
    """Delete all events from the database (every ``trackist_*`` key)."""
    h = _handle(system)
    h.delete_prefix(PREFIX)
    _clear_results(h.url())


def delete_temporary_bitop_keys(system: Any = "default") -> None:
    """Delete the results of bit operations: ``trackist_bitop_*`` keys left by Python
    bitmapist, and the results held in this process."""
    h = _handle(system)
    h.delete_prefix(f"{PREFIX}bitop_")
    _clear_results(h.url())


def delete_runtime_bitop_keys() -> None:
    """Delete the results of the bit operations built in this thread."""
    bitop_keys = _bitop_keys()
    for system, keys in bitop_keys.items():
        if keys:
            h = _handle(system)
            h.delete(list(keys))
            for key in keys:
                cell = _RESULTS.get((h.url(), key))
                if cell is not None:
                    cell.clear()
    bitop_keys.clear()


# --- Results of bit operations, held in this process

# (store URL, redis_key) -> the shared result; an entry lives as long as some object
# holds it (as a BITOP key lives until deleted, but without outliving its users).
_RESULTS: "weakref.WeakValueDictionary[tuple[str, str], _native.Bits]" = (
    weakref.WeakValueDictionary()
)
_RESULTS_LOCK = threading.Lock()


def _publish(url: str, key: str, bits: _native.Bits) -> _native.Bits:
    """Stores a new result under ``key``: every object naming it sees the new value."""
    with _RESULTS_LOCK:
        cell = _RESULTS.get((url, key))
        if cell is None:
            _RESULTS[(url, key)] = bits
            return bits
        cell.assign(bits)
        return cell


def _clear_results(url: str) -> None:
    with _RESULTS_LOCK:
        cells = [c for (u, _), c in list(_RESULTS.items()) if u == url]
    for c in cells:
        c.clear()


# --- Events


class MixinIter:
    """``obj.get_uuids()``: the ids in the bitmap, ascending (decoded by the engine)."""

    def get_uuids(self):
        cell = self._cell()
        ids = cell.ids() if cell is not None else _handle(self.system).ids(self.redis_key)
        yield from ids

    def __iter__(self):
        yield from self.get_uuids()


class MixinBitOperations:
    def __invert__(self):
        return BitOpNot(self)

    def __or__(self, other):
        return BitOpOr(self, other)

    def __and__(self, other):
        return BitOpAnd(self, other)

    def __xor__(self, other):
        return BitOpXor(self, other)


class MixinEventsMisc:
    """``obj.has_events_marked()``, ``obj.delete()``, equality by ``redis_key``."""

    def _cell(self) -> Optional[_native.Bits]:
        return None

    def _operand(self):
        cell = self._cell()
        return cell if cell is not None else self.redis_key

    def has_events_marked(self):
        return self.get_count() > 0

    def delete(self):
        cell = self._cell()
        if cell is not None:
            cell.clear()
        _handle(self.system).delete([self.redis_key])

    def __eq__(self, other):
        other_key = getattr(other, "redis_key", None)
        if other_key is None:
            return NotImplemented
        return self.redis_key == other_key

    def __hash__(self):
        return hash(self.redis_key)


class MixinCounts:
    """``obj.get_count()`` and ``len(obj)``: how many ids are set."""

    def get_count(self):
        cell = self._cell()
        if cell is not None:
            return cell.count()
        return _handle(self.system).count(self.redis_key)

    def __len__(self) -> int:
        return self.get_count()


class MixinContains:
    """``uuid in obj``."""

    def __contains__(self, uuid):
        uid = _uid(uuid)
        cell = self._cell()
        if cell is not None:
            return cell.contains(uid)
        return _handle(self.system).contains(self.redis_key, uid)


class UniqueEvents(MixinIter, MixinCounts, MixinContains, MixinEventsMisc, MixinBitOperations):
    @classmethod
    def from_date(cls, event_name, dt=None, system="default"):
        return cls(event_name, system=system)

    def __init__(self, event_name, system="default"):
        self.event_name = event_name
        self.system = system
        self.redis_key = _prefix_key(event_name, "u")

    def next(self):
        return self

    def prev(self):
        return self


class GenericPeriodEvents(
    MixinIter, MixinCounts, MixinContains, MixinEventsMisc, MixinBitOperations, abc.ABC
):
    """Base class of the period classes; subclasses set ``redis_key``."""

    def __init__(self, event_name: str, *, system: Any = "default"):
        self.event_name = event_name
        self.system = system

    @abc.abstractmethod
    def delta(self, value: int):
        """Return a new instance with the period offset by value."""

    @abc.abstractmethod
    def period_start(self) -> datetime:
        """Return the start datetime of this period."""

    @abc.abstractmethod
    def period_end(self) -> datetime:
        """Return the end datetime of this period."""

    def next(self):
        """Next object in a datetime line"""
        return self.delta(value=1)

    def prev(self):
        """Prev object in a datetime line"""
        return self.delta(value=-1)


class YearEvents(GenericPeriodEvents):
    """Events for a year: the OR of its twelve months, taken when built.

    Example::

        YearEvents("active", 2012)
    """

    @classmethod
    def from_date(cls, event_name, dt: Optional[Union[date, datetime]] = None, system="default"):
        dt = dt or datetime.now(tz=timezone.utc)
        return cls(event_name, dt.year, system=system)

    def __init__(self, event_name, year=None, system="default"):
        now = datetime.now(tz=timezone.utc)
        self.event_name = event_name
        self.year = not_none(year, now.year)
        self.system = system
        months = [MonthEvents(event_name, self.year, m, system) for m in range(1, 13)]
        self._op = BitOpOr(system, *months)
        self.redis_key = self._op.redis_key

    def _cell(self):
        return self._op._bits

    def delta(self, value):
        return self.__class__(self.event_name, self.year + value, self.system)

    def period_start(self):
        return datetime(self.year, 1, 1, tzinfo=timezone.utc)

    def period_end(self):
        return datetime(self.year, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


class MonthEvents(GenericPeriodEvents):
    """Events for a month.

    Example::

        MonthEvents("active", 2012, 10)
    """

    @classmethod
    def from_date(cls, event_name, dt: Optional[Union[date, datetime]] = None, system="default"):
        dt = dt or datetime.now(tz=timezone.utc)
        return cls(event_name, dt.year, dt.month, system=system)

    def __init__(self, event_name, year=None, month=None, system="default"):
        super().__init__(event_name, system=system)
        now = datetime.now(tz=timezone.utc)
        self.year = not_none(year, now.year)
        self.month = not_none(month, now.month)
        self.redis_key = _prefix_key(event_name, f"{self.year}-{self.month}")

    def delta(self, value):
        year, month = add_month(self.year, self.month, value)
        return self.__class__(self.event_name, year, month, self.system)

    def period_start(self):
        return datetime(self.year, self.month, 1, tzinfo=timezone.utc)

    def period_end(self):
        _, day = calendar.monthrange(self.year, self.month)
        return datetime(self.year, self.month, day, 23, 59, 59, 999999, tzinfo=timezone.utc)


class WeekEvents(GenericPeriodEvents):
    """Events for an ISO week.

    Example::

        WeekEvents("active", 2012, 48)
    """

    @classmethod
    def from_date(cls, event_name: str, dt: Optional[Union[date, datetime]] = None, system="default"):
        dt = dt or datetime.now(tz=timezone.utc)
        dt_year, dt_week, _ = dt.isocalendar()
        return cls(event_name, dt_year, dt_week, system=system)

    def __init__(self, event_name: str, year=None, week=None, system="default"):
        super().__init__(event_name, system=system)
        now = datetime.now(tz=timezone.utc)
        now_year, now_week, _ = now.isocalendar()
        self.year = not_none(year, now_year)
        self.week = not_none(week, now_week)
        self.redis_key = _prefix_key(event_name, f"W{self.year}-{self.week}")

    def delta(self, value):
        dt = iso_to_gregorian(self.year, self.week + value, 1)
        year, week, _ = dt.isocalendar()
        return self.__class__(self.event_name, year, week, self.system)

    def period_start(self):
        s = iso_to_gregorian(self.year, self.week, 1)
        return datetime(s.year, s.month, s.day, tzinfo=timezone.utc)

    def period_end(self):
        e = iso_to_gregorian(self.year, self.week, 7)
        return datetime(e.year, e.month, e.day, 23, 59, 59, 999999, tzinfo=timezone.utc)


class DayEvents(GenericPeriodEvents):
    """Events for a day.

    Example::

        DayEvents("active", 2012, 10, 23)
    """

    @classmethod
    def from_date(cls, event_name: str, dt: Optional[Union[date, datetime]] = None, system="default"):
        dt = dt or datetime.now(tz=timezone.utc)
        return cls(event_name, dt.year, dt.month, dt.day, system=system)

    def __init__(self, event_name, year=None, month=None, day=None, system="default"):
        super().__init__(event_name, system=system)
        now = datetime.now(tz=timezone.utc)
        self.year = not_none(year, now.year)
        self.month = not_none(month, now.month)
        self.day = not_none(day, now.day)
        self.redis_key = _prefix_key(event_name, f"{self.year}-{self.month}-{self.day}")

    def delta(self, value):
        dt = date(self.year, self.month, self.day) + timedelta(days=value)
        return self.__class__(self.event_name, dt.year, dt.month, dt.day, self.system)

    def period_start(self) -> datetime:
        return datetime(self.year, self.month, self.day, tzinfo=timezone.utc)

    def period_end(self) -> datetime:
        return datetime(self.year, self.month, self.day, 23, 59, 59, 999999, tzinfo=timezone.utc)


class HourEvents(GenericPeriodEvents):
    """Events for an hour.

    Example::

        HourEvents("active", 2012, 10, 23, 13)
    """

    @classmethod
    def from_date(cls, event_name: str, dt: Optional[datetime] = None, system="default"):
        dt = dt or datetime.now(tz=timezone.utc)
        return cls(event_name, dt.year, dt.month, dt.day, dt.hour, system=system)

    def __init__(
        self,
        event_name: str,
        year: Optional[int] = None,
        month: Optional[int] = None,
        day: Optional[int] = None,
        hour: Optional[int] = None,
        system: Any = "default",
    ):
        super().__init__(event_name, system=system)
        now = datetime.now(tz=timezone.utc)
        self.year = not_none(year, now.year)
        self.month = not_none(month, now.month)
        self.day = not_none(day, now.day)
        self.hour = not_none(hour, now.hour)
        self.redis_key = _prefix_key(event_name, f"{self.year}-{self.month}-{self.day}-{self.hour}")

    def delta(self, value):
        dt = datetime(self.year, self.month, self.day, self.hour, tzinfo=timezone.utc) + timedelta(
            hours=value
        )
        return self.__class__(self.event_name, dt.year, dt.month, dt.day, dt.hour, self.system)

    def period_start(self) -> datetime:
        return datetime(self.year, self.month, self.day, self.hour, tzinfo=timezone.utc)

    def period_end(self) -> datetime:
        return datetime(
            self.year, self.month, self.day, self.hour, 59, 59, 999999, tzinfo=timezone.utc
        )


# --- Bit operations


class BitOperation(MixinIter, MixinContains, MixinCounts, MixinEventsMisc, MixinBitOperations):
    """Base class of bit operations (AND, OR, XOR, NOT), nestable.

    The operands are read in one batch and combined in memory when the operation is built;
    the result is held in this process under ``redis_key`` (the key Python bitmapist would
    have written: ``trackist_bitop_AND_<operand keys joined by '-'>``), shared by every
    operation of the same key, until ``delete()`` or the last such object goes away.

    Example::

        active_2_months = BitOpAnd(
            MonthEvents("active", last_month.year, last_month.month),
            MonthEvents("active", now.year, now.month),
        )
    """

    def __init__(self, op_name: str, system_or_event, *events):
        if hasattr(system_or_event, "redis_key"):
            events = (system_or_event, *events)
            system = self.system = "default"
        else:
            system = self.system = system_or_event
        for ev in events:
            if not hasattr(ev, "redis_key"):
                raise TypeError(
                    f"events: expected bitmapist events or bit operations, got {type(ev).__name__}"
                )
        self.redis_key = "trackist_bitop_{}_{}".format(op_name, "-".join(ev.redis_key for ev in events))
        h = _handle(system)
        bits = h.bitop(op_name, [ev._operand() for ev in events])
        self._bits = _publish(h.url(), self.redis_key, bits)
        _bitop_keys()[system].add(self.redis_key)

    def _cell(self):
        return self._bits


class BitOpAnd(BitOperation):
    def __init__(self, system_or_event, *events):
        BitOperation.__init__(self, "AND", system_or_event, *events)


class BitOpOr(BitOperation):
    def __init__(self, system_or_event, *events):
        BitOperation.__init__(self, "OR", system_or_event, *events)


class BitOpXor(BitOperation):
    def __init__(self, system_or_event, *events):
        BitOperation.__init__(self, "XOR", system_or_event, *events)


class BitOpNot(BitOperation):
    def __init__(self, system_or_event, *events):
        BitOperation.__init__(self, "NOT", system_or_event, *events)


# --- Private


def _prefix_key(event_name: str, date: str) -> str:
    return f"trackist_{event_name}_{date}"


# --- Helper functions


def add_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """Adds ``delta`` months to ``(year, month)``."""
    year, month = divmod(year * 12 + month + delta, 12)
    if month == 0:
        month = 12
        year = year - 1
    return year, month


def not_none(*keys):
    """The first value that is not None."""
    for key in keys:
        if key is not None:
            return key
    return None


def iso_year_start(iso_year: int) -> date:
    """The gregorian calendar date of the first day of the given ISO year"""
    fourth_jan = date(iso_year, 1, 4)
    delta = timedelta(fourth_jan.isoweekday() - 1)
    return fourth_jan - delta


def iso_to_gregorian(iso_year: int, iso_week: int, iso_day: int) -> date:
    """Gregorian calendar date for the given ISO year, week and day"""
    year_start = iso_year_start(iso_year)
    return year_start + timedelta(days=iso_day - 1, weeks=iso_week - 1)


def _bitop_keys():
    """The bit operations built in this thread, per system."""
    v = getattr(local_thread, "bitop_keys", None)
    if v is None:
        v = defaultdict(set)
        local_thread.bitop_keys = v
    return v
