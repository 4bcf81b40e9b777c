#!/usr/bin/env bash
# Peak memory of a 30x30 daily cohort on 1M users x 60 days: bitmapist-rs (Python) against
# the `bitmapist` CLI, on the same Redis and the same data.
#
#   bash crates/bitmapist-py/benches/memory.sh [PYTHON] [CLI]
#
# PYTHON: a venv's python with bitmapist-rs installed (default target/pyvenv-rs/bin/python);
# CLI: the `bitmapist` binary (default target/release/bitmapist). Seeds the data with
# `bitmapist seed` into a redis-server started here on a free port, then measures each
# side's peak RSS (getrusage / GNU time's "Maximum resident set size") three times,
# interleaved, and prints them. Python is measured configured with redis-py
# (`setup_redis`, the drop-in way) and with the store URL alone (`setup_store`), since
# importing redis-py alone costs about 23 MB of RSS.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PY=${1:-target/pyvenv-rs/bin/python}
CLI=${2:-target/release/bitmapist}
USERS=${USERS:-1000000}
NOW=2026-11-22T18:00:00Z
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
setsid timeout 1800 redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
URL="redis://127.0.0.1:$PORT/0"
"$CLI" --store "$URL" seed --users "$USERS" --days 60 --seed 3 --end "$NOW" >/dev/null 2>&1
echo "seeded $USERS users x 60 days: $(redis-cli -p "$PORT" dbsize) keys, used_memory $(redis-cli -p "$PORT" info memory | grep '^used_memory_human' | tr -d '\r')"

py_peak() {
  $PY - "$PORT" "$1" <<'EOF'
import resource, sys
import bitmapist
from bitmapist.cohort import get_dates_data
port, what = int(sys.argv[1]), sys.argv[2]
if what == "dates_data_store":
    # The same server as a store URL: the engine alone, redis-py never loaded.
    bitmapist.setup_store("default", f"redis://127.0.0.1:{port}/0")
    what = "dates_data"
else:
    bitmapist.setup_redis("default", "127.0.0.1", port)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if what == "dates_data":
    rows = get_dates_data("user:signed_up", "user:logged_in", time_group="days",
                          num_results=30, num_of_rows=29, start_date="2026-10-24")
    assert len(rows) == 30 and sum(r[1] for r in rows) > 0
else:
    c = bitmapist.open(f"redis://127.0.0.1:{port}/0")
    from datetime import datetime, timezone
    t = c.retention("user:signed_up", "user:logged_in", rows=30, cols=30,
                    now=datetime(2026, 11, 22, 18, tzinfo=timezone.utc), criterion="on")
    assert len(t["cohort"]) == 30
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
EOF
}

cli_peak() {
  /usr/bin/time -f '%M' "$CLI" --store "$URL" cohort user:signed_up user:logged_in \
    --time-group days --rows 30 --cols 30 --now "$NOW" --with-replacement --format json 2>&1 >/dev/null | tail -1
}

echo "round  cli_peak_kb  py_base_kb  py_dates_data_peak_kb  py_retention_peak_kb  py_store_base_kb  py_store_dates_data_peak_kb"
for r in 1 2 3; do
  cli=$(cli_peak)
  read -r base dd <<<"$(py_peak dates_data)"
  read -r _ rt <<<"$(py_peak retention)"
  read -r sbase sdd <<<"$(py_peak dates_data_store)"
  echo "$r  $cli  $base  $dd  $rt  $sbase  $sdd"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
