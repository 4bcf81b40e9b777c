#!/usr/bin/env python3
"""Where the wall time of Python bitmapist's cohort goes: client CPU, server CPU, round trips.

Runs the reference cohort (get_cohort of ../shared/refbench/py_cohort_oracle.py, imported
from REFBENCH) against one server, REPEAT times, and reports per cohort (medians):

  wall_s          wall time of one get_cohort call
  client_cpu_s    this Python process's CPU time (user + sys, time.process_time()) in it
  commands        Redis commands the client sent (counted in redis-py's execute_command)
  server_cpu_s    the server's CPU time (utime + stime of /proc/PID/stat, all threads)
  wait_s          wall - client_cpu: the time the client was blocked on the server

and, for the same number of round trips, a null workload: redis-py PINGs, one at a time
(ping_wall_s, ping_client_cpu_s, ping_server_cpu_s). A server answering every cohort
command in zero time still costs the client its own CPU plus, per command, the
kernel's round trip (send, wake the server, its read and write, wake the client); the
PING loop measures that round trip on this server.

Usage: py_cohort_cost.py --port PORT --pid SERVER_PID [--repeat 5] [--label NAME]
Prints one JSON line.
"""
import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime

REFBENCH = os.environ.get("REFBENCH", "/work/shared/refbench")
sys.path.insert(0, REFBENCH)

import bitmapist  # noqa: E402
import redis  # noqa: E402
import py_cohort_oracle as oracle  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
COUNT = [0]
_orig_execute = redis.Redis.execute_command


def _counting_execute(self, *args, **kwargs):
    COUNT[0] += 1
    return _orig_execute(self, *args, **kwargs)


redis.Redis.execute_command = _counting_execute


def server_cpu(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(pid, fn):
    COUNT[0] = 0
    s0 = server_cpu(pid)
    c0 = time.process_time()
    w0 = time.perf_counter()
    fn()
    w1 = time.perf_counter()
    c1 = time.process_time()
    s1 = server_cpu(pid)
    return {"wall_s": w1 - w0, "client_cpu_s": c1 - c0, "server_cpu_s": s1 - s0,
            "commands": COUNT[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    bitmapist.setup_redis("default", "127.0.0.1", a.port)
    cli = bitmapist.get_redis("default")
    cli.ping()
    now = datetime.fromisoformat("2025-01-13T23:00:00")

    def cohort():
        oracle.get_cohort("user:signed_up", "user:active", time_group="days",
                          num_rows=30, num_cols=30, now=now)

    cohort()  # warm up (bitmaps loaded, connection open)
    runs = [measure(a.pid, cohort) for _ in range(a.repeat)]
    n = runs[0]["commands"]

    def pings():
        for _ in range(n):
            cli.ping()

    pings()
    nulls = [measure(a.pid, pings) for _ in range(a.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    pmed = {k: statistics.median(r[k] for r in nulls) for k in nulls[0]}
    out = {
        "server": a.label,
        "commands": n,
        "wall_s": round(med["wall_s"], 4),
        "client_cpu_s": round(med["client_cpu_s"], 4),
        "wait_s": round(med["wall_s"] - med["client_cpu_s"], 4),
        "server_cpu_s": round(med["server_cpu_s"], 4),
        "ping_wall_s": round(pmed["wall_s"], 4),
        "ping_client_cpu_s": round(pmed["client_cpu_s"], 4),
        "ping_server_cpu_s": round(pmed["server_cpu_s"], 4),
        "rtt_us": round((pmed["wall_s"] - pmed["client_cpu_s"]) / n * 1e6, 1),
        "all_wall_s": [round(r["wall_s"], 4) for r in runs],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
