"""The dashboard's cheap route under a storm of heavy cohort requests.

Usage: python3 heavy_dashboard.py BASE_URL HEAVY SECONDS
  BASE_URL  e.g. http://127.0.0.1:8080/bitmapist (a `bitmapist serve` over a seeded store)
  HEAVY     how many 400x400 daily cohorts with 32 chained events run in parallel
  SECONDS   how long to sample `GET /api` meanwhile (one request at a time)
Prints the heavy requests' statuses (200 / 503 ...) and /api latency p50/p99/max.
"""
import sys
import threading
import time
import urllib.error
import urllib.request

base, heavy, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
chain = "".join(
    f"&additional={op}:{ev}"
    for op, ev in [("and", "page:viewed"), ("or", "user:logged_in")] * 16
)
cohort = (
    f"{base}/api/cohort?primary_event=user:signed_up&secondary_event=user:logged_in"
    f"&time_group=days&num_rows=400&num_cols=400{chain}"
)
statuses = {}
lock = threading.Lock()
stop = threading.Event()


def storm():
    while not stop.is_set():
        try:
            with urllib.request.urlopen(cohort, timeout=600) as r:
                r.read()
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
            if code == 503:
                time.sleep(float(e.headers.get("Retry-After", "1")))
        except Exception as e:  # noqa: BLE001 - a benchmark reports, never stops
            code = type(e).__name__
        with lock:
            statuses[code] = statuses.get(code, 0) + 1


threads = [threading.Thread(target=storm, daemon=True) for _ in range(heavy)]
for t in threads:
    t.start()
time.sleep(1.0)
lat = []
end = time.time() + seconds
while time.time() < end:
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"{base}/api", timeout=600) as r:
        r.read()
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.02)
stop.set()
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(
    f"heavy={heavy}: /api n={len(lat)} p50={pct(0.5):.1f} ms p99={pct(0.99):.1f} ms "
    f"max={lat[-1]:.1f} ms; cohort answers so far: {statuses}",
    flush=True,
)
