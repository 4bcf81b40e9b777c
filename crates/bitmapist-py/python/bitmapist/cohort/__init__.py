"""bitmapist.cohort: cohort tables over the data stored in bitmapist.

The API of Python bitmapist 3.119's ``bitmapist.cohort``: ``get_dates_data`` (the table),
``render_html_form`` (the query form, with its stylesheet), ``render_html_data`` (the table
as HTML) and ``render_csv_data`` (as CSV), ``set_custom_handler``.

``get_dates_data`` hands the whole table to the engine: it reads the rows' bitmaps in one
batch and the returning events' in another (restricted to the rows' users) and counts
every cell in memory, where Python bitmapist issues one ``BITOP`` per cell and leaves the
result keys behind. Only an event with a custom handler (whose events are arbitrary
Python objects) is evaluated cell by cell, with in-memory bit operations.

Example::

    from bitmapist import mark_event
    from bitmapist import cohort

    mark_event("active", 123)
    mark_event("song:play", 123)

    html_form = cohort.render_html_form(
        action_url="/_Cohort",
        selections1=[("Are Active", "active")],
        selections2=[("Played song", "song:play")],
        time_group="days",
        select1="active",
        select2="song:play",
    )
    dates_data = cohort.get_dates_data(select1="active", select2="song:play", time_group="days")
    html_data = cohort.render_html_data(dates_data, time_group="days")
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Literal, Optional, Union

from dateutil.relativedelta import relativedelta

from bitmapist import (
    BitOpAnd,
    DayEvents,
    GenericPeriodEvents,
    MonthEvents,
    WeekEvents,
    YearEvents,
    _handle,
    delete_runtime_bitop_keys,
)

from ._render import render_csv_data, render_html_data, render_html_form

TimeGroup = Literal["days", "weeks", "months", "years"]

# --- Data


def get_dates_data(
    select1,
    select2,
    select1b=None,
    select2b=None,
    time_group: TimeGroup = "days",
    system="default",
    as_percent: bool = True,
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: Optional[str] = None,
):
    """The cohort table: one row per period, ``[period start, users, cells...]``.

    :param select1: the event whose users make a row (e.g. ``"active"``)
    :param select1b: a second event the row's users must also have (optional)
    :param select2: the event counted in the cells (e.g. ``"song:played"``)
    :param select2b: a second event the cell's users must also have (optional)
    :param time_group: ``days``, ``weeks``, ``months`` or ``years`` (years: 3 rows)
    :param system: the bitmapist system
    :param as_percent: cells as percents of the row's users (default) or as counts
    :param num_results: how many rows (periods), the last one containing now or, with
        ``start_date``, the first one starting there
    :param num_of_rows: how many periods after each row's own (the row has one more cell)
    :param start_date: ``YYYY-MM-DD``, the first row's date
    :return: ``[[datetime, count, cell, ...], ...]``; a cell is ``""`` when the row has no
        users or the counted event has none in that period, ``0.0`` when none of the row's
        users are among them, else a percent (``as_percent``) or a count
    """
    num_results = int(num_results)
    num_of_rows = int(num_of_rows)
    if num_results < 0 or num_of_rows < 0:
        raise ValueError("num_results and num_of_rows must not be negative")

    if start_date:
        now = datetime.strptime(start_date, "%Y-%m-%d").replace(tzinfo=timezone.utc)
        now = now + timedelta(days=num_results - 1)
    else:
        now = datetime.now(tz=timezone.utc)

    if time_group == "days":
        fn_get_events = _day_events_fn
        now = now - timedelta(days=num_results - 1)

        def timedelta_inc(delta: int) -> Union[relativedelta, timedelta]:
            return timedelta(days=delta)

    elif time_group == "weeks":
        fn_get_events = _weeks_events_fn
        now = now - relativedelta(weeks=num_results - 1)

        def timedelta_inc(delta: int) -> Union[relativedelta, timedelta]:
            return relativedelta(weeks=delta)

    elif time_group == "months":
        fn_get_events = _month_events_fn
        now = now - relativedelta(months=num_results - 1)
        now -= timedelta(days=now.day - 1)

        def timedelta_inc(delta: int) -> Union[relativedelta, timedelta]:
            return relativedelta(months=delta)

    elif time_group == "years":
        fn_get_events = _year_events_fn
        num_results = 3
        now = now - relativedelta(years=num_results - 1)

        def timedelta_inc(delta: int) -> Union[relativedelta, timedelta]:
            return relativedelta(years=delta)

    else:
        raise ValueError(
            f"time_group: {time_group!r} is not one of days, weeks, months, years"
        )

    names = [select1, select1b, select2, select2b]
    if any(n in CUSTOM_HANDLERS for n in names if n):
        return _dates_data_by_cells(
            select1, select1b, select2, select2b, fn_get_events, timedelta_inc,
            now, system, as_percent, num_results, num_of_rows,
        )

    # The engine's table: consecutive periods from the first row's on.
    starts = [now + timedelta_inc(k) for k in range(num_results + num_of_rows)]
    periods = [_PERIOD_OF[time_group](d) for d in starts]
    counted = _handle(system).dates_data(
        select1, select1b or None, select2, select2b or None,
        periods, num_results, num_of_rows + 1,
    )
    dates = []
    for i, (total, cells) in enumerate(counted):
        result: list[Any] = [starts[i], total]
        for both in cells:
            if total == 0 or both is None:
                result.append("")
            elif both == 0:
                result.append(0.0)
            elif as_percent:
                result.append((float(both) / float(total)) * 100)
            else:
                result.append(both)
        dates.append(result)
    return dates


def _dates_data_by_cells(
    select1, select1b, select2, select2b, fn_get_events, timedelta_inc,
    now, system, as_percent, num_results, num_of_rows,
):
    """``get_dates_data`` cell by cell, for events with custom handlers."""
    dates = []
    for _i in range(num_results):
        result: list[Any] = [now]
        select1_events = fn_get_events(select1, now, system)
        if select1b:
            select1b_events = fn_get_events(select1b, now, system)
            select1_events = BitOpAnd(system, select1_events, select1b_events)
        select1_count = len(select1_events)
        result.append(select1_count)
        for t_delta in range(num_of_rows + 1):
            if select1_count == 0:
                result.append("")
                continue
            delta_now = now + timedelta_inc(t_delta)
            select2_events = fn_get_events(select2, delta_now, system)
            if select2b:
                select2b_events = fn_get_events(select2b, delta_now, system)
                select2_events = BitOpAnd(system, select2_events, select2b_events)
            if not select2_events.has_events_marked():
                result.append("")
                continue
            both_count = len(BitOpAnd(system, select1_events, select2_events))
            if both_count == 0:
                result.append(0.0)
            elif as_percent:
                result.append((float(both_count) / float(select1_count)) * 100)
            else:
                result.append(both_count)
        dates.append(result)
        now = now + timedelta_inc(1)
    delete_runtime_bitop_keys()
    return dates


def _day_period(d: date) -> tuple:
    return ("D", d.year, d.month, d.day)


def _week_period(d: date) -> tuple:
    iso_year, iso_week, _ = d.isocalendar()
    return ("W", iso_year, iso_week)


def _month_period(d: date) -> tuple:
    return ("M", d.year, d.month)


def _year_period(d: date) -> tuple:
    return ("Y", d.year)


_PERIOD_OF = {
    "days": _day_period,
    "weeks": _week_period,
    "months": _month_period,
    "years": _year_period,
}

# --- Custom handlers

CUSTOM_HANDLERS: dict[str, Callable[..., Any]] = {}


def set_custom_handler(event_name: str, callback) -> None:
    """Set a custom handler for ``event_name``: ``callback(key, cls, cls_args)`` returns the
    events (e.g. ``cls("active", *cls_args) & (cls("web", *cls_args) | cls("ios", *cls_args))``)
    where ``cls`` is DayEvents, WeekEvents, MonthEvents or YearEvents."""
    CUSTOM_HANDLERS[event_name] = callback


# --- Private


def _dispatch(key: str, cls: type[GenericPeriodEvents], cls_args):
    if key in CUSTOM_HANDLERS:
        return CUSTOM_HANDLERS[key](key, cls, cls_args)
    return cls(key, *cls_args)


def _day_events_fn(key: str, date: date, system: str):
    return _dispatch(key, DayEvents, (date.year, date.month, date.day, system))


def _weeks_events_fn(key: str, date: date, system: str):
    iso_year, iso_week, _ = date.isocalendar()
    return _dispatch(key, WeekEvents, (iso_year, iso_week, system))


def _month_events_fn(key: str, date: date, system: str):
    return _dispatch(key, MonthEvents, (date.year, date.month, system))


def _year_events_fn(key: str, date: date, system: str):
    return _dispatch(key, YearEvents, (date.year, system))


__all__ = ["get_dates_data", "render_csv_data", "render_html_data", "render_html_form"]
