#!/usr/bin/env bash
# GET of a dense 512 MiB bitmap (SETBIT big 4294967295 1; BITOP NOT dbig big), ours vs
# redis-server, in one run: wall time of one GET, of four
# concurrent GETs (a Python client reading into a 1 MiB buffer and discarding), the round
# trip of a PING sent while a GET streams, and each server's peak RSS (VmHWM) after
# building the key and after the GETs.
# Usage: dense_get.sh RUST_SERVER_BIN   Env: ROUNDS (default 3)
set -u
RS=$1; ROUNDS=${ROUNDS:-3}
command -v redis-cli >/dev/null || { echo "redis-cli missing: apt-get install redis-tools"; exit 1; }
T=$(mktemp -d /tmp/densebench.XXXXXX); PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; sleep 1; rm -rf $T' EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitp() { for _ in $(seq 200); do redis-cli -p $1 ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no server on $1"; exit 1; }
hwm() { awk '/VmHWM/{printf "%.0f MiB", $2/1024}' /proc/$1/status; }
now() { date +%s.%N; }
# get PORT: GET dbig, reading and discarding the whole reply.
get() { python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET dbig\r\n")
buf = bytearray(1 << 20); head = b""
while not head.endswith(b"\r\n"):
    head += s.recv(1)
left = int(head[1:-2]) + 2
view = memoryview(buf)
while left > 0:
    n = s.recv_into(view, min(left, len(buf)))
    if n == 0:
        sys.exit("connection closed early")
    left -= n
PY
}
declare -A PORT PID
P=$(port); redis-server --port $P --bind 127.0.0.1 --save "" --appendonly no --dir $T >$T/redis.log 2>&1 &
PIDS+=($!); PID[redis]=$!; PORT[redis]=$P; waitp $P
P=$(port); $RS -addr 127.0.0.1:$P -db $T/ours.db >$T/ours.log 2>&1 &
PIDS+=($!); PID[ours]=$!; PORT[ours]=$P; waitp $P
echo "load at start: $(uptime)"
for n in redis ours; do
  redis-cli -p ${PORT[$n]} setbit big 4294967295 1 >/dev/null
  redis-cli -p ${PORT[$n]} bitop not dbig big >/dev/null
  echo "$n: key built, strlen $(redis-cli -p ${PORT[$n]} strlen dbig), peak RSS $(hwm ${PID[$n]})"
done
for i in $(seq $ROUNDS); do
  for n in redis ours; do
    p=${PORT[$n]}
    t0=$(now); get $p; t1=$(now)
    get $p & g=$!
    sleep 0.05; t2=$(now); redis-cli -p $p ping >/dev/null; t3=$(now); wait $g; t4=$(now)
    echo "round $i $n: GET $(echo "$t1 - $t0" | bc) s; PING during a GET $(echo "($t3 - $t2) * 1000" | bc) ms (that GET $(echo "$t4 - $t2" | bc) s)"
  done
done
for n in redis ours; do
  p=${PORT[$n]}; t0=$(now)
  G=(); for k in 1 2 3 4; do get $p & G+=($!); done; wait "${G[@]}"
  echo "$n: 4 concurrent GETs $(echo "$(now) - $t0" | bc) s; peak RSS $(hwm ${PID[$n]})"
done
echo "load at end: $(uptime)"
