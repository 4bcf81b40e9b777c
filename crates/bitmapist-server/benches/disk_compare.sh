#!/usr/bin/env bash
# The disk part of /work/shared/refbench/server_compare.sh alone (same commands): the same bitmaps
# imported into redis-server, the Go server and ours; disk after SAVE/BGSAVE.
set -u
RS=$1; BM=$2; BIG=$3
GO=${GO:-/work/shared/refbench/bin/bitmapist-server-go}
T=$(mktemp -d /tmp/fsdisk.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sleep 1; rm -rf $T' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitp() { for _ in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no server on $1"; exit 1; }
start() {
  local n=$1 p; p=$(port); mkdir -p $T/$n
  case $n in
    redis) redis-server --port $p --bind 127.0.0.1 --save "" --appendonly no --dir $T/$n >$T/$n.log 2>&1 & ;;
    go) (cd $T/$n && exec $GO -addr 127.0.0.1:$p -db $T/$n/db) >$T/$n.log 2>&1 & ;;
    rust) $RS -addr 127.0.0.1:$p -db $T/$n/db >$T/$n.log 2>&1 & ;;
  esac
  local pid=$!; PIDS+=($pid); waitp $p
  eval "PORT_$n=$p PID_$n=$pid"
}
for s in redis go rust; do start $s; done
for s in redis go rust; do
  eval p=\$PORT_$s
  t0=$(date +%s.%N); $BM import --from "$BIG" --to redis://127.0.0.1:$p >$T/imp.$s 2>&1 || { echo "import into $s failed"; tail -2 $T/imp.$s; }
  t1=$(date +%s.%N)
  echo "$s load_s $(python3 -c "print(round($t1-$t0,1))")"
done
du -b $T/rust/db | cut -f1 | sed 's/^/rust file bytes before BGSAVE: /'
redis-cli -p $PORT_redis save >/dev/null
redis-cli -p $PORT_go bgsave >/dev/null 2>&1
t0=$(date +%s.%N); redis-cli -p $PORT_rust bgsave; t1=$(date +%s.%N)
echo "rust BGSAVE (with compaction) s $(python3 -c "print(round($t1-$t0,2))")"
sleep 5
echo "disk_mib redis $(du -m $T/redis/dump.rdb | cut -f1) go $(du -m $T/go/db | cut -f1) rust $(du -m $T/rust/db | cut -f1)"
echo "disk_bytes redis $(stat -c %s $T/redis/dump.rdb) go $(stat -c %s $T/go/db) rust $(stat -c %s $T/rust/db)"
redis-cli -p $PORT_rust info persistence | grep -E '^db_' | tr -d '\r'
