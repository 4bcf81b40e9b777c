#!/usr/bin/env bash
# Per-request cost: redis-server, Doist's Go bitmapist-server and ours side by side,
# in one run, on the two workloads that are one request in flight per connection:
#   0. SETBIT -P 64 (redis-benchmark -c 50 -n 1000000 -r 1000 -P 64), ROUNDS rounds
#   1. SETBIT unpipelined (redis-benchmark -c 50 -n 200000 -r 1000 -P 1), ROUNDS rounds,
#      servers interleaved, with `perf stat` on each server: syscalls, context switches
#      and CPU time per request (PERF=0 skips perf)
#   2. Python bitmapist's 30x30 daily cohort (py_cohort_cost.py beside this script):
#      wall time, the Python client's own CPU time, commands sent, the server's CPU time,
#      and the round trip of a PING loop of as many commands (the floor a zero-time
#      server would still cost)
# Usage: server_latency.sh RUST_SERVER_BIN BITMAPIST_CLI_BIN
# Env: PY (a Python with bitmapist + redis), REFBENCH (default /work/shared/refbench),
#      ROUNDS (default 3), REPEAT (cohorts per server, default 5),
#      EXTRA ("name=FLAG ..." more instances of ours, each with one more flag,
#      e.g. EXTRA="ours_w2=-workers=2").
set -u
RS=$1; BM=$2
HERE=$(cd "$(dirname "$0")" && pwd)
REFBENCH=${REFBENCH:-/work/shared/refbench}; GO=$REFBENCH/bin/bitmapist-server-go
PY=${PY:-python3}; ROUNDS=${ROUNDS:-3}; REPEAT=${REPEAT:-5}; PERF=${PERF:-1}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools"; exit 1; }
[ "$PERF" = 0 ] || command -v perf >/dev/null || { echo "perf missing: apt-get install linux-perf (or PERF=0)"; exit 1; }
T=$(mktemp -d /tmp/srvlat.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sleep 1; rm -rf $T' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitp() { for _ in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no server on $1"; exit 1; }
declare -A PORT PID
start() { # start NAME [FLAG]
  local n=$1 p; local extra=("${@:2}"); p=$(port); mkdir -p $T/$n
  case $n in
    redis) redis-server --port $p --bind 127.0.0.1 --save "" --appendonly no --dir $T/$n >$T/$n.log 2>&1 & ;;
    go) (cd $T/$n && exec $GO -addr 127.0.0.1:$p -db $T/$n/db) >$T/$n.log 2>&1 & ;;
    *) $RS -addr 127.0.0.1:$p -db $T/$n/db "${extra[@]}" >$T/$n.log 2>&1 & ;;
  esac
  local pid=$!; PIDS+=($pid); waitp $p; PORT[$n]=$p; PID[$n]=$pid
}
NAMES="redis go ours"
start redis; start go; start ours
for x in ${EXTRA:-}; do n=${x%%=*}; start $n "${x#*=}"; NAMES="$NAMES $n"; done
echo "servers: $(for n in $NAMES; do printf '%s:%s ' $n ${PORT[$n]}; done)"
echo "load at start: $(uptime)"

echo "== SETBIT -P 64: redis-benchmark -c 50 -n 1000000 -r 1000 -P 64 (req/s)"
for i in $(seq $ROUNDS); do
  for n in $NAMES; do
    v=$(redis-benchmark -p ${PORT[$n]} -c 50 -n 1000000 -r 1000 -P 64 -q setbit bm:__rand_int__ 100000 1 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
    echo "setbit_P64 round $i $n $v"
  done
done
N=200000
echo "== SETBIT unpipelined: redis-benchmark -c 50 -n $N -r 1000 -P 1 (req/s; per request: syscalls, context switches, server CPU us)"
for i in $(seq $ROUNDS); do
  for n in $NAMES; do
    if [ "$PERF" != 0 ]; then
      perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p ${PID[$n]} -o $T/perf.$n 2>/dev/null & pp=$!
      sleep 0.3
    fi
    v=$(redis-benchmark -p ${PORT[$n]} -c 50 -n $N -r 1000 -P 1 -q setbit bm:__rand_int__ 100000 1 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
    if [ "$PERF" != 0 ]; then
      kill -INT $pp; wait $pp 2>/dev/null
      echo "setbit_P1 round $i $n $v $(awk -F, -v n=$N '/sys_enter/{s=$1} /context-switches/{c=$1} /task-clock/{t=$1} END{printf "syscalls/req %.2f cs/req %.3f cpu_us/req %.2f", s/n, c/n, t*1000/n}' $T/perf.$n)"
    else
      echo "setbit_P1 round $i $n $v"
    fi
  done
done
for n in $NAMES; do redis-cli -p ${PORT[$n]} keys 'bm:*' | xargs -r -n 500 redis-cli -p ${PORT[$n]} del >/dev/null; done

echo "== Python cohort 30x30 days, reference dataset (py_seed.py), per cohort, median of $REPEAT"
$PY $REFBENCH/py_seed.py --port ${PORT[redis]} --flush >/dev/null 2>&1 || echo "py_seed failed"
for n in $NAMES; do
  [ $n = redis ] && continue
  $BM import --from redis://127.0.0.1:${PORT[redis]} --to redis://127.0.0.1:${PORT[$n]} >/dev/null 2>&1 || echo "import into $n failed"
done
for i in 1 2; do
  for n in $NAMES; do
    REFBENCH=$REFBENCH $PY $HERE/py_cohort_cost.py --port ${PORT[$n]} --pid ${PID[$n]} --repeat $REPEAT --label $n
  done
done
echo "load at end: $(uptime)"
