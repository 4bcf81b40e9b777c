"""Reading events back: ``get_event_data``, ``chain_events`` and ``get_cohort``.

Why: the seed documents these three functions (signatures, defaults and return shapes)
as the way to read what the app marked.

How: they combine the drop-in period classes (``DayEvents`` ... ``YearEvents``) with its
``BitOpAnd`` / ``BitOpOr`` / ``BitOpXor``, which our ``bitmapist`` evaluates in memory
(no temporary keys are written). ``get_cohort`` walks the table the way the original does:
row ``i`` is the primary event in period ``i``; cell ``(i, j)`` counts its users who match
the chained secondary events ``j`` periods later; without replacement a user counts in
the first matching column only. Cells after the current period are None, as are whole
rows whose primary period is empty.

Invariants: ``chain_events`` applies each OR to its direct predecessor only
(``A and B and C or D`` is ``A and B and (C or D)``) and never modifies the caller's list;
an OR on the first added event applies to the base event. ``time_group`` takes
``days``/``weeks``/``months``/``years`` (or the singular); anything else is a ValueError
naming it, as are row/column counts below 1.

What a crash can lose: nothing; these functions only read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

from dateutil.relativedelta import relativedelta

from bitmapist import (  # noqa: F401 (HourEvents is re-exported for callers)
    BitOpAnd,
    BitOpOr,
    BitOpXor,
    DayEvents,
    HourEvents,
    MonthEvents,
    WeekEvents,
    YearEvents,
    delete_runtime_bitop_keys,
)

_TIME_GROUPS = {
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _time_group(time_group: Any) -> str:
    plural = _TIME_GROUPS.get(time_group) if isinstance(time_group, str) else None
    if plural is None:
        raise ValueError(
            "time_group must be one of days, weeks, months, years (got %r)" % (time_group,)
        )
    return plural


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be an int >= 1 (got %r)" % (name, value))
    return value


def _get_redis_connection(redis_url: Optional[str] = None) -> Tuple[Optional[str], Optional[int]]:
    """Host and port of a ``redis://`` URL (the original's function, kept for its callers)."""
    url = urlparse(redis_url or "")
    return url.hostname, url.port


def redis_kwargs(redis_url: str) -> Dict[str, Any]:
    """``setup_redis`` arguments for a ``redis://`` / ``rediss://`` / ``unix://`` URL:
    host and port (defaults localhost:6379), and db, username, password and TLS when the
    URL names them."""
    url = urlparse(redis_url)
    if url.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            "BITMAPIST_REDIS_URL must be a redis://, rediss:// or unix:// URL (got %r)"
            % (redis_url,)
        )
    kw: Dict[str, Any] = {}
    if url.scheme == "unix":
        kw["unix_socket_path"] = unquote(url.path)
        kw["host"], kw["port"] = "localhost", 6379
    else:
        try:
            port = url.port
        except ValueError as exc:
            raise ValueError("BITMAPIST_REDIS_URL has a bad port: %r" % (redis_url,)) from exc
        kw["host"] = url.hostname or "localhost"
        kw["port"] = port or 6379
        db = url.path.lstrip("/")
        if db:
            if not db.isdigit():
                raise ValueError("BITMAPIST_REDIS_URL has a bad db number: %r" % (redis_url,))
            kw["db"] = int(db)
        if url.scheme == "rediss":
            kw["ssl"] = True
    if url.username:
        kw["username"] = unquote(url.username)
    if url.password:
        kw["password"] = unquote(url.password)
    return kw


def get_event_data(
    event_name: str,
    time_group: str = "days",
    now: Optional[datetime] = None,
    system: str = "default",
) -> Any:
    """The users with ``event_name`` in the day/week/month/year containing ``now``
    (default: the current UTC time), as a bitmapist events collection."""
    now = now or _utcnow()
    return _events_fn(time_group)(event_name, now, system)


def _events_fn(time_group: str = "days") -> Any:
    return {
        "days": _day_events_fn,
        "weeks": _week_events_fn,
        "months": _month_events_fn,
        "years": _year_events_fn,
    }[_time_group(time_group)]


def get_cohort(
    primary_event_name: str,
    secondary_event_name: str,
    additional_events: Sequence[Dict[str, str]] = (),
    time_group: str = "days",
    num_rows: int = 10,
    num_cols: int = 10,
    system: str = "default",
    with_replacement: bool = False,
) -> Tuple[List[List[Optional[int]]], List[datetime], List[int]]:
    """The cohort table for the primary event and the chained secondary events.

    Returns ``(cohort, dates, totals)``: ``num_rows`` rows of ``num_cols`` counts (None in
    the future and for empty rows), the start of each row's period (oldest first, the last
    one the current period), and the primary event's user count per row.
    """
    time_group = _time_group(time_group)
    num_rows = _count("num_rows", num_rows)
    num_cols = _count("num_cols", num_cols)
    additional = _checked_chain(additional_events)

    cohort: List[List[Optional[int]]] = []
    dates: List[datetime] = []
    primary_event_totals: List[int] = []
    fn_get_events = _events_fn(time_group)

    def increment_delta(t: int) -> relativedelta:
        return relativedelta(**{time_group: t})

    now = _utcnow()
    event_time = now - relativedelta(**{time_group: num_rows - 1})
    if time_group == "months":
        event_time -= relativedelta(days=event_time.day - 1)

    for _ in range(num_rows):
        row: List[Optional[int]] = []
        primary_event = fn_get_events(primary_event_name, event_time, system)
        primary_total = len(primary_event)
        primary_event_totals.append(primary_total)
        dates.append(event_time)

        if not primary_total:
            row = [None] * num_cols
        else:
            for j in range(num_cols):
                incremented = event_time + increment_delta(j)
                combined_total: Optional[int]
                if incremented > now:
                    combined_total = None
                else:
                    chained = chain_events(
                        secondary_event_name, additional, incremented, time_group, system
                    )
                    if chained:
                        combined = _bitop(BitOpAnd, system, chained, primary_event)
                        combined_total = len(combined)
                        if not with_replacement:
                            primary_event = _bitop(BitOpXor, system, primary_event, combined)
                    else:
                        combined_total = 0
                row.append(combined_total)

        cohort.append(row)
        event_time += increment_delta(1)

    delete_runtime_bitop_keys()
    return cohort, dates, primary_event_totals


def _bitop(op: Any, system: str, *events: Any) -> Any:
    # bitmapist's BitOps take the system as an optional first argument ("default" when
    # left out); leave it out for "default" so the call has the original's shape.
    return op(*events) if system == "default" else op(system, *events)


def _checked_chain(events_to_chain: Any) -> List[Dict[str, str]]:
    if events_to_chain is None:
        return []
    if isinstance(events_to_chain, (str, bytes, dict)):
        raise TypeError("additional events must be a list of {'name': ..., 'op': ...} dicts")
    checked = []
    for i, item in enumerate(events_to_chain):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise TypeError("additional event %d must be a dict with a str 'name'" % i)
        op = item.get("op", "and")
        if op not in ("and", "or"):
            raise ValueError("additional event %d: op must be 'and' or 'or' (got %r)" % (i, op))
        checked.append({"name": item["name"], "op": op})
    return checked


def chain_events(
    base_event_name: str,
    events_to_chain: Sequence[Dict[str, str]],
    now: datetime,
    time_group: str,
    system: str = "default",
) -> Any:
    """The base event combined with the chained events in the period containing ``now``.

    Each entry of ``events_to_chain`` is ``{'name': ..., 'op': 'and' | 'or'}``; an OR
    applies to its direct predecessor only. Returns a bitmapist events collection, or ``''``
    (empty, as the original) when nothing can match.
    """
    chain = _checked_chain(events_to_chain)
    fn_get_events = _events_fn(time_group)
    base_event = fn_get_events(base_event_name, now, system)

    # Group each OR with its predecessor: a list of alternatives, AND-ed together.
    groups: List[List[Any]] = [[base_event]]
    for item in chain:
        ev = fn_get_events(item["name"], now, system)
        if item["op"] == "or":
            groups[-1].append(ev)
        else:
            groups.append([ev])

    combined = []
    for alternatives in groups:
        present = [ev for ev in alternatives if ev.has_events_marked()]
        if not present:
            return ""  # an empty AND operand: nothing matches
        group = present[0]
        for ev in present[1:]:
            group = _bitop(BitOpOr, system, group, ev)
        combined.append(group)

    result = combined[0]
    for group in combined[1:]:
        result = _bitop(BitOpAnd, system, result, group)
    return result


def _day_events_fn(key: str, date: datetime, system: str) -> Any:
    return DayEvents(key, date.year, date.month, date.day, system)


def _week_events_fn(key: str, date: datetime, system: str) -> Any:
    iso = date.isocalendar()
    return WeekEvents(key, iso[0], iso[1], system)


def _month_events_fn(key: str, date: datetime, system: str) -> Any:
    return MonthEvents(key, date.year, date.month, system)


def _year_events_fn(key: str, date: datetime, system: str) -> Any:
    return YearEvents(key, date.year, system)
