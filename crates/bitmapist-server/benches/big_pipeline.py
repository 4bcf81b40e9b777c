"""Very large redis-py pipelines, timed against any Redis-protocol servers.

Usage: $PY big_pipeline.py NAME=PORT [NAME=PORT ...]
For each server: deletes `big` and `tx`, sets every 7th bit of `big` (1.5M bits), then times
  - a plain pipeline (transaction=False) of 1,500,000 GETBITs, checking every reply;
  - a MULTI pipeline (redis-py's default) of 800,000 SETBITs, checking BITCOUNT after.
A server that stops reading while its replies are pending deadlocks here: each run has a
socket timeout (BENCH_TIMEOUT, default 120 s) and reports "timeout" instead of a time.
"""
import os
import sys
import time

import redis

TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "120"))
N_GET = 1_500_000
N_SET = 800_000


def run(name, port):
    r = redis.Redis(port=port, socket_timeout=TIMEOUT)
    r.delete("big", "tx")
    seed = r.pipeline(transaction=False)
    for o in range(3, N_GET, 7):
        seed.setbit("big", o, 1)
    seed.execute()
    out = {}
    try:
        p = r.pipeline(transaction=False)
        for o in range(N_GET):
            p.getbit("big", o)
        t = time.perf_counter()
        got = p.execute()
        out["getbit"] = time.perf_counter() - t
        assert all(v == (1 if o % 7 == 3 else 0) for o, v in enumerate(got))
    except redis.exceptions.TimeoutError:
        out["getbit"] = None
    try:
        r2 = redis.Redis(port=port, socket_timeout=TIMEOUT)
        p = r2.pipeline()
        for o in range(N_SET):
            p.setbit("tx", o * 3, 1)
        t = time.perf_counter()
        p.execute()
        out["multi"] = time.perf_counter() - t
        assert r2.bitcount("tx") == N_SET
    except redis.exceptions.TimeoutError:
        out["multi"] = None
    fmt = lambda v: "timeout" if v is None else f"{v:.2f} s"
    print(f"{name:>12}: {N_GET:,} GETBITs {fmt(out['getbit'])}, MULTI of {N_SET:,} SETBITs {fmt(out['multi'])}", flush=True)


for arg in sys.argv[1:]:
    name, port = arg.split("=")
    run(name, int(port))
