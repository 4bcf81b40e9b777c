"""One measurement, run inside either package's venv (both import as ``bitmapist``).

    python worker.py TASK PORT [ARG]

Prints one JSON object. Tasks:

- ``cohort``: the 30x30 daily ``get_dates_data`` table on the Redis at PORT; seconds per
  table (median of 5 after one warm-up), and the ``trackist_bitop_*`` keys left behind.
- ``cohort-file``: the same table on the embedded store ARG (``bitmapist-rs`` only).
- ``marks``: 100,000 ``mark_event`` calls on the Redis at PORT, one by one.
- ``marks-batch``: the same 100,000 marks in one ``mark_events`` call (``bitmapist-rs``).
- ``copy-file``: copies the Redis data into the embedded store ARG (``bitmapist-rs``).
- ``cohort-rss``: one 30x30 table (rows/cols from ARG ``rows,start``); prints the peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from datetime import datetime, timezone

import redis

import bitmapist
from bitmapist.cohort import get_dates_data

N_MARKS = int(os.environ.get("BENCH_MARKS", "100000"))
TABLE = dict(select1="user:signed_up", select2="user:active", time_group="days",
             num_results=30, num_of_rows=29, start_date="2024-12-15")


def timed(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    task, port = sys.argv[1], int(sys.argv[2])
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    r = redis.Redis(host="127.0.0.1", port=port)
    bitmapist.setup_redis("default", "127.0.0.1", port)
    out: dict = {"task": task}
    if task == "cohort":
        out["seconds"] = timed(lambda: get_dates_data(**TABLE))
        out["bitop_keys_left"] = len(r.keys("trackist_bitop_*"))
        out["table"] = [row[1:] for row in get_dates_data(**TABLE)]
    elif task == "cohort-file":
        bitmapist.setup_store("default", arg)
        out["seconds"] = timed(lambda: get_dates_data(**TABLE))
        out["table"] = [row[1:] for row in get_dates_data(**TABLE)]
    elif task == "copy-file":
        client = bitmapist.open(arg)
        out["keys"] = client.copy_from_redis(r)
    elif task in ("marks", "marks-batch"):
        now = datetime(2025, 2, 1, 12, tzinfo=timezone.utc)
        r.delete(*r.keys("trackist_bench:*") or ["none"])
        t = time.perf_counter()
        if task == "marks":
            for uid in range(N_MARKS):
                bitmapist.mark_event("bench:mark", uid, now=now)
        else:
            bitmapist.mark_events(("bench:mark", uid, now) for uid in range(N_MARKS))
        out["seconds"] = time.perf_counter() - t
        out["count"] = bitmapist.DayEvents("bench:mark", 2025, 2, 1).get_count()
        r.delete(*r.keys("trackist_bench:*") or ["none"])
    elif task == "cohort-rss":
        rows, start = arg.split(",")
        table = get_dates_data("user:signed_up", "user:active", time_group="days",
                               num_results=int(rows), num_of_rows=int(rows) - 1, start_date=start)
        out["rows"] = len(table)
        out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
