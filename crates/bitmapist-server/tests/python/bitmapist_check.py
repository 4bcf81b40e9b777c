"""Python bitmapist (from PyPI) driving a Redis-protocol server: marks, counts, bit
operations, cohorts, event names, deletes. Asserts the values it knows and prints every
result as JSON, so that the Rust test can also compare two servers' outputs.

Usage: python bitmapist_check.py HOST PORT
"""

import json
import sys
from datetime import datetime, timedelta, timezone

import bitmapist
from bitmapist import (
    BitOpAnd,
    BitOpNot,
    BitOpOr,
    BitOpXor,
    DayEvents,
    HourEvents,
    MonthEvents,
    UniqueEvents,
    WeekEvents,
    YearEvents,
    delete_all_events,
    delete_runtime_bitop_keys,
    get_event_names,
    mark_event,
    mark_unique,
    unmark_event,
)
from bitmapist import cohort


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    bitmapist.setup_redis("default", host, port)
    cli = bitmapist.get_redis()
    delete_all_events()
    out = {"version": getattr(bitmapist, "__version__", "?")}

    day0 = datetime(2026, 11, 16, 12, tzinfo=timezone.utc)  # a Monday
    # Users 1..20 sign up over 5 days; the even ones come back the next day, every third
    # one buys two days later.
    for uid in range(1, 21):
        signed = day0 + timedelta(days=uid % 5)
        mark_event("user:signed_up", uid, now=signed)
        if uid % 2 == 0:
            mark_event("user:active", uid, now=signed + timedelta(days=1), track_hourly=True)
        if uid % 3 == 0:
            mark_event("user:purchased", uid, now=signed + timedelta(days=2))
    mark_event("user:active", 1_000_000, now=day0)
    mark_unique("premium", 7)
    mark_unique("premium", 4_000_000_000)
    mark_event("user:temp", 5, now=day0)
    unmark_event("user:temp", 5, now=day0)

    d = lambda e, n: DayEvents.from_date(e, day0 + timedelta(days=n))
    counts = {
        "signed_day": [len(d("user:signed_up", n)) for n in range(5)],
        "active_day": [len(d("user:active", n)) for n in range(7)],
        "signed_week": len(WeekEvents.from_date("user:signed_up", day0)),
        "signed_month": MonthEvents.from_date("user:signed_up", day0).get_count(),
        "signed_year": len(YearEvents.from_date("user:signed_up", day0)),
        "active_hour": len(HourEvents.from_date("user:active", day0 + timedelta(days=1))),
        "premium": len(UniqueEvents("premium")),
        "temp": len(d("user:temp", 0)),
    }
    out["counts"] = counts
    assert counts["signed_day"] == [4, 4, 4, 4, 4], counts
    assert counts["signed_week"] == 20 and counts["signed_month"] == 20, counts
    assert counts["premium"] == 2 and counts["temp"] == 0, counts
    assert d("user:temp", 0).has_events_marked() is False

    week = WeekEvents.from_date("user:signed_up", day0)
    out["contains"] = [uid in week for uid in (1, 20, 21, 0)]
    assert out["contains"] == [True, True, False, False]
    assert 4_000_000_000 in UniqueEvents("premium")

    signed = WeekEvents.from_date("user:signed_up", day0)
    active = WeekEvents.from_date("user:active", day0)
    bought = WeekEvents.from_date("user:purchased", day0)
    both = BitOpAnd(signed, active)
    either = BitOpOr(active, bought)
    xor = BitOpXor(active, bought)
    nested = BitOpAnd(signed, BitOpOr(active, bought))
    never = BitOpAnd(signed, BitOpNot(active))
    out["bitops"] = {
        "and": sorted(both),
        "or_count": len(either),
        "xor_count": len(xor),
        "nested": sorted(nested),
        "not_count": len(BitOpNot(active)),
        "signed_not_active": sorted(never),
    }
    assert len(both) == len([u for u in range(1, 21) if u % 2 == 0 and (u % 5) + 1 <= 6])
    assert sorted(never) == [u for u in range(1, 21) if u % 2 == 1]
    # NOT pads to whole bytes of the longest written offset (1,000,000 -> 125,001 bytes).
    assert len(BitOpNot(active)) == 125_001 * 8 - len(active)
    delete_runtime_bitop_keys()
    out["bitop_keys_left"] = sorted(k.decode() for k in cli.keys("trackist_bitop_*"))
    assert out["bitop_keys_left"] == []

    out["event_names"] = sorted(get_event_names())
    assert out["event_names"] == [
        "premium",
        "user:active",
        "user:purchased",
        "user:signed_up",
        "user:temp",
    ], out["event_names"]

    rows = cohort.get_dates_data(
        "user:signed_up",
        "user:active",
        time_group="days",
        num_results=5,
        num_of_rows=3,
        start_date="2026-11-16",
        as_percent=False,
    )
    out["cohort_days"] = [[str(r[0].date())] + r[1:] for r in rows]
    assert [r[1] for r in rows] == [4, 4, 4, 4, 4], rows
    weeks = cohort.get_dates_data(
        "user:signed_up",
        "user:purchased",
        select1b="user:active",
        time_group="weeks",
        num_results=2,
        num_of_rows=1,
        start_date="2026-11-16",
    )
    out["cohort_weeks"] = [[str(r[0].date())] + r[1:] for r in weeks]

    delete_all_events()
    out["after_delete"] = sorted(k.decode() for k in cli.keys("trackist_*"))
    assert out["after_delete"] == []
    assert get_event_names() == []
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
