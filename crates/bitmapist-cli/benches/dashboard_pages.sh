#!/usr/bin/env bash
# The dashboard's pages on a large seeded store, through HTTP, against `bitmapist serve` and
# `bitmapist serve --read-only`: each page's first request after the server starts (a fresh
# server per page, so nothing another page read is cached) and its later requests, with the
# server's CPU time (user + system, from /proc) for each.
#
# Usage: crates/bitmapist-cli/benches/dashboard_pages.sh [USERS]        (default 10000000)
#   BIN=path/to/bitmapist   the binary (default target/release/bitmapist; build it with
#                           cargo build --release -p bitmapist-cli); several, separated by
#                           spaces, are measured interleaved (each page on each binary in turn)
#   STORE=path.redb         the store; seeded with `seed --users USERS --days 365` when missing
#                           (default target/bench/dashboard_USERS.redb), kept afterwards
#   AGAIN=5                 later requests per page (the median is printed)
#   MODES="serve read-only" which servers to measure
#   ONLY=regex              measure only the pages whose name matches (grep -E), e.g. ONLY=event
#   MARK_TODAY=1            before each server starts, mark a new user of user:logged_in on the
#                           last day (committed by the CLI), as a live app would have: today's
#                           bitmaps then differ from any count the file keeps (kept counts)
# Pages: one per line of PAGES below, "name|path under /bitmapist"; add a line to measure
# another page. Prints one Markdown table row per mode and page. Needs curl, python3.
set -euo pipefail
BIN=${BIN:-target/release/bitmapist}
USERS=${1:-10000000}
STORE=${STORE:-target/bench/dashboard_$USERS.redb}
AGAIN=${AGAIN:-5}
MODES=${MODES:-"serve read-only"}
ONLY=${ONLY:-}
MARK_TODAY=${MARK_TODAY:-}
marked=0
END=2026-11-22T18:00:00Z
NOW=2026-11-22
PAGES="overview|?now=$NOW
overview API|/api/events?now=$NOW
event page|/events/user:logged_in?now=$NOW
trends API (the event page's trends)|/api/trends?event=user:logged_in&days=90&compare=1&now=$NOW
cohort (default)|/cohort?now=$NOW
cohort API (the default page's table)|/api/cohort?primary_event=user:signed_up&secondary_event=user:logged_in&time_group=weeks&retention=on-or-after&as_percent=1&now=$NOW
funnel, 3 steps|/funnel?step=user:signed_up&step=user:logged_in&step=user:purchased&now=$NOW
funnel API, 3 steps|/api/funnel?step=user:signed_up&step=user:logged_in&step=user:purchased&now=$NOW
lifecycle, 26 weeks|/lifecycle?event=user:logged_in&time_group=weeks&periods=26&now=$NOW
cohort 12x12 weeks by plan (5 values)|/cohort?primary_event=user:signed_up&secondary_event=user:logged_in&time_group=weeks&num_rows=12&num_cols=12&breakdown=plan&now=$NOW
lifecycle, 26 weeks by plan (5 values)|/lifecycle?event=user:logged_in&time_group=weeks&periods=26&breakdown=plan&now=$NOW
funnel, 3 steps by plan (5 values)|/funnel?step=user:signed_up&step=user:logged_in&step=user:purchased&breakdown=plan&now=$NOW
overview by plan (5 values)|?breakdown=plan&now=$NOW
event page by plan (5 values)|/events/user:logged_in?breakdown=plan&now=$NOW
trends API by plan (5 values)|/api/trends?event=user:logged_in&days=90&compare=1&breakdown=plan&now=$NOW"

mkdir -p "$(dirname "$STORE")"
if [ ! -f "$STORE" ]; then
    echo "seeding $USERS users x 365 days into $STORE" >&2
    /usr/bin/time -f "seed: %e s wall, peak %M KB" "${BIN%% *}" --store "file://$STORE" seed \
        --users "$USERS" --days 365 --seed 3 --end "$END" --format json >/dev/null
fi
echo "store: $STORE, $(du -h "$STORE" | cut -f1); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

server_pid=
timeout_pid=
stop() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    if [ -n "$timeout_pid" ]; then wait "$timeout_pid" 2>/dev/null || true; fi
    server_pid=; timeout_pid=
}
trap stop EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The server's CPU time so far, in ms (utime + stime of /proc/PID/stat).
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$server_pid/stat"; }
# "wall_ms cpu_ms status" of one request.
request() {
    local before after out
    before=$(cpu_ms)
    out=$(curl -s -o /dev/null -w '%{time_total} %{http_code}' "$1")
    after=$(cpu_ms)
    awk -v o="$out" -v b="$before" -v a="$after" \
        'BEGIN {split(o, f, " "); printf "%.0f %.0f %s\n", f[1] * 1000, a - b, f[2]}'
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "| server | page | binary | first request: wall / server CPU | later requests (median of $AGAIN): wall / server CPU |"
echo "|---|---|---|---|---|"
for mode in $MODES; do
    flags=()
    [ "$mode" = read-only ] && flags=(--read-only)
    while IFS='|' read -r name path; do
      if [ -n "$ONLY" ] && ! grep -qE -- "$ONLY" <<<"$name"; then continue; fi
      for bin in $BIN; do
        port=$(free_port)
        if [ -n "$MARK_TODAY" ]; then
            marked=$((marked + 1))
            "$bin" --store "file://$STORE" mark user:logged_in "$((USERS + marked))" --at "${END%T*}T12:00:00Z" >/dev/null 2>&1
        fi
        setsid timeout 600 "$bin" --store "file://$STORE" serve "${flags[@]}" --listen "127.0.0.1:$port" \
            >/dev/null 2>&1 &
        # The server is the child of `timeout`.
        for _ in $(seq 100); do server_pid=$(pgrep -P "$!" -n || true); [ -n "$server_pid" ] && break; sleep 0.02; done
        timeout_pid=$!
        for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/bitmapist/api" && break; sleep 0.05; done
        url="http://127.0.0.1:$port/bitmapist$path"
        read -r first first_cpu status < <(request "$url")
        [ "$status" = 200 ] || { echo "$name: HTTP $status for $url" >&2; exit 1; }
        walls=(); cpus=()
        for _ in $(seq "$AGAIN"); do
            read -r w c _ < <(request "$url")
            walls+=("$w"); cpus+=("$c")
        done
        printf "| %s | %s | %s | %s / %s ms | %s / %s ms |\n" "$mode" "$name" "$(basename "$bin")" "$first" "$first_cpu" \
            "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
        stop
      done
    done <<<"$PAGES"
done
