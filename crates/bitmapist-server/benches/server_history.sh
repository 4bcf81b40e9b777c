#!/usr/bin/env bash
# redis-server, Doist's Go bitmapist-server and ours side by side, in one run:
#   1. SETBIT throughput (redis-benchmark, -P 64 and unpipelined)
#   2. Python bitmapist's 30x30 daily cohort on a fresh server (reference dataset)
#   3. RSS of the empty process; RSS with a big dataset loaded (all bitmaps hot)
#   4. RSS after idle eviction (ours runs with -idle $IDLE; the others keep everything)
#   5. the same cohort after that history: big dataset loaded, then every key deleted
# Usage: server_history.sh RUST_SERVER_BIN BITMAPIST_CLI_BIN BIG_FILE_STORE
#   BIG_FILE_STORE: e.g. file:///tmp/srv_1m.redb from
#     bitmapist --store file:///tmp/srv_1m.redb seed --users 1000000 --days 365 --seed 3
# Env: PY (a Python with bitmapist + redis), REFBENCH (default /work/shared/refbench),
#      IDLE (ours' -idle, default 10s), REPEAT (cohort repeats, default 5).
set -u
RS=$1; BM=$2; BIG=$3
REFBENCH=${REFBENCH:-/work/shared/refbench}; GO=$REFBENCH/bin/bitmapist-server-go
PY=${PY:-python3}; IDLE=${IDLE:-10s}; REPEAT=${REPEAT:-5}
T=$(mktemp -d /tmp/srvhist.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sleep 1; rm -rf $T' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitp() { for _ in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no server on $1"; exit 1; }
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$1/status; }
start() {
  local n=$1 p; p=$(port); mkdir -p $T/$n
  case $n in
    redis) redis-server --port $p --bind 127.0.0.1 --save "" --appendonly no --dir $T/$n >$T/$n.log 2>&1 & ;;
    go) (cd $T/$n && exec $GO -addr 127.0.0.1:$p -db $T/$n/db) >$T/$n.log 2>&1 & ;;
    rust) $RS -addr 127.0.0.1:$p -db $T/$n/db -idle $IDLE >$T/$n.log 2>&1 & ;;
  esac
  local pid=$!; PIDS+=($pid); waitp $p
  eval "PORT_$n=$p PID_$n=$pid"
}
delall() { # delete every key, 500 per DEL
  redis-cli -p $1 keys '*' | xargs -r -d '\n' -n 500 redis-cli -p $1 del >/dev/null
}
cohort() { # median seconds of $REPEAT runs
  $PY $REFBENCH/py_cohort_oracle.py --port $1 time --repeat $REPEAT --time-group days --rows 30 --cols 30 \
    --now 2025-01-13T23:00:00 2>&1 | grep -o '"median_s": [0-9.e-]*' | cut -d' ' -f2
}
reference() { # the reference dataset in every server
  $PY $REFBENCH/py_seed.py --port $PORT_redis --flush >/dev/null 2>&1 || echo "py_seed failed"
  for s in go rust; do
    eval p=\$PORT_$s
    $BM import --from redis://127.0.0.1:$PORT_redis --to redis://127.0.0.1:$p >/dev/null 2>&1 || echo "import into $s failed"
  done
}
for s in redis go rust; do start $s; done
sleep 1
echo "servers: redis $PORT_redis go $PORT_go rust $PORT_rust (ours with -idle $IDLE)"
for s in redis go rust; do eval pid=\$PID_$s; echo "rss_empty_mib $s $(rss $pid)"; done
for s in redis go rust; do eval pid=\$PID_$s; eval "EMPTY_$s=$(rss $pid)"; done

echo "== SETBIT throughput (redis-benchmark -c 50 -r 1000), median of 3, req/s"
for P in 64 1; do
  for s in redis go rust; do
    eval p=\$PORT_$s
    v=$(for i in 1 2 3; do redis-benchmark -p $p -c 50 -n $((P==1?200000:1000000)) -r 1000 -P $P -q setbit bm:__rand_int__ 100000 1 2>/dev/null | grep -o '[0-9.]* requests per second' | cut -d' ' -f1; done | sort -n | sed -n 2p)
    echo "setbit_P$P $s $v"
  done
done
for s in redis go rust; do eval p=\$PORT_$s; delall $p; done

echo "== cohort on fresh servers (median of $REPEAT, s)"
reference
for s in redis go rust; do eval p=\$PORT_$s; echo "cohort_fresh $s $(cohort $p)"; done
for s in redis go rust; do eval p=\$PORT_$s; delall $p; done

echo "== $BIG loaded into each (bitmapist import), RSS MiB"
for s in redis go rust; do
  eval p=\$PORT_$s pid=\$PID_$s
  $BM import --from "$BIG" --to redis://127.0.0.1:$p >$T/imp.$s 2>&1 || { echo "import into $s failed"; tail -2 $T/imp.$s; }
  echo "rss_hot $s $(rss $pid) keys $(redis-cli -p $p dbsize)"
done
redis-cli -p $PORT_go bgsave >/dev/null 2>&1; redis-cli -p $PORT_rust save >/dev/null 2>&1
sleep 3
for s in redis go rust; do eval pid=\$PID_$s; echo "rss_hot_after_3s $s $(rss $pid)"; done
# Idle eviction runs about every IDLE/10 once a bitmap is IDLE old; freed pages are
# returned to the system within jemalloc's decay time.
secs=${IDLE%s}; sleep $((secs * 2 + 12))
for s in redis go rust; do
  eval pid=\$PID_$s empty=\$EMPTY_$s
  now=$(rss $pid)
  echo "rss_after_eviction $s $now (empty $empty, +$(python3 -c "print(round($now-$empty,1))"))"
done

echo "== cohort after the history: every key of $BIG deleted, reference dataset loaded again"
for s in redis go rust; do eval p=\$PORT_$s; delall $p; echo "dbsize_after_delete $s $(redis-cli -p $p dbsize)"; done
reference
for s in redis go rust; do eval p=\$PORT_$s; echo "cohort_history $s $(cohort $p)"; done
