#!/usr/bin/env bash
# The cost of recording INFO commandstats/latencystats on the hot path: two builds of
# bitmapist-server side by side (BEFORE without the recording, AFTER with it), with
# redis-server for reference, rounds interleaved:
#   SETBIT -P 64: redis-benchmark -c 50 -n 1000000 -r 1000 -P 64
#   SETBIT -P 1:  redis-benchmark -c 50 -n 200000 -r 1000 -P 1
# Usage: stats_cost.sh BEFORE_BIN AFTER_BIN   Env: ROUNDS (default 5)
set -u
B=$1; A=$2; ROUNDS=${ROUNDS:-5}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install redis-tools"; exit 1; }
T=$(mktemp -d /tmp/statscost.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sleep 1; rm -rf $T' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitp() { for _ in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no server on $1"; exit 1; }
declare -A PORT
P=$(port); redis-server --port $P --bind 127.0.0.1 --save "" --appendonly no --dir $T >$T/redis.log 2>&1 &
PIDS+=($!); PORT[redis]=$P; waitp $P
P=$(port); $B -addr 127.0.0.1:$P -db $T/before.db >$T/before.log 2>&1 &
PIDS+=($!); PORT[before]=$P; waitp $P
P=$(port); $A -addr 127.0.0.1:$P -db $T/after.db >$T/after.log 2>&1 &
PIDS+=($!); PORT[after]=$P; waitp $P
echo "load at start: $(uptime)"
for i in $(seq $ROUNDS); do
  for n in before after redis; do
    v=$(redis-benchmark -p ${PORT[$n]} -c 50 -n 1000000 -r 1000 -P 64 -q setbit bm:__rand_int__ 100000 1 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
    echo "setbit_P64 round $i $n $v"
  done
  for n in before after redis; do
    v=$(redis-benchmark -p ${PORT[$n]} -c 50 -n 200000 -r 1000 -P 1 -q setbit bm:__rand_int__ 100000 1 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
    echo "setbit_P1 round $i $n $v"
  done
done
echo "load at end: $(uptime)"
