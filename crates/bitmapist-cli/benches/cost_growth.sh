#!/usr/bin/env bash
# How the embedded file store's costs grow with users: for each size,
# `bitmapist seed --days 365` into a fresh file (wall time, marks, peak RSS, file size), then
# the whole `bitmapist cohort` process for a 30x30 and a 90x90 daily table (hyperfine), and
# the dashboard overview (`bitmapist serve`, then curl of /bitmapist/api/events and
# /bitmapist, first and second request). Prints one Markdown table row per size.
#
# Usage: crates/bitmapist-cli/benches/cost_growth.sh [SIZES...]    (default: 100000 1000000 10000000)
#   BIN=path/to/bitmapist   the binary (default: target/release/bitmapist; build it with
#                           cargo build --release -p bitmapist-cli)
#   DIR=/tmp/cost_growth    where the store files go (deleted at the end unless KEEP=1)
#   RUNS=10                 hyperfine runs per cohort
# Needs GNU time (/usr/bin/time), hyperfine, jq, curl.
set -euo pipefail

BIN=${BIN:-target/release/bitmapist}
DIR=${DIR:-/tmp/cost_growth}
RUNS=${RUNS:-10}
END=2026-11-22T18:00:00Z
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(100000 1000000 10000000)
mkdir -p "$DIR"

server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    [ "${KEEP:-0}" = 1 ] || rm -f "$DIR"/s*.redb
}
trap cleanup EXIT

# Milliseconds of one curl request.
curl_ms() { curl -s -o /dev/null -w '%{time_total}' "$1" | awk '{printf "%.0f", $1 * 1000}'; }

echo "| users | marks | seed | marks/s | peak RSS (seed) | file | cohort 30x30 days | cohort 90x90 days | peak RSS (90x90) | overview API first / again | overview page |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for n in "${SIZES[@]}"; do
    store="$DIR/s$n.redb"
    rm -f "$store"
    /usr/bin/time -v -o "$DIR/time.txt" "$BIN" --store "file://$store" seed --users "$n" --days 365 \
        --seed 3 --end "$END" --format json >"$DIR/seed.json"
    rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$DIR/time.txt")
    secs=$(jq '.seconds' "$DIR/seed.json")
    marks=$(jq '.marks' "$DIR/seed.json")
    size=$(stat -c %s "$store")
    cohort() {
        echo "$BIN --store file://$store cohort user:signed_up user:logged_in --time-group days --rows $1 --cols $1 --now $END --format json"
    }
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$DIR/h.json" "$(cohort 30)" "$(cohort 90)" >/dev/null 2>&1
    c30=$(jq '.results[0].mean * 1000' "$DIR/h.json")
    c90=$(jq '.results[1].mean * 1000' "$DIR/h.json")
    # shellcheck disable=SC2046
    /usr/bin/time -v -o "$DIR/time90.txt" $(cohort 90) >/dev/null
    rss90_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$DIR/time90.txt")

    port=$((20000 + RANDOM % 20000))
    "$BIN" --store "file://$store" serve --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/bitmapist/api" && break; sleep 0.1; done
    api="http://127.0.0.1:$port/bitmapist/api/events?now=2026-11-22"
    first=$(curl_ms "$api")
    again=$(curl_ms "$api")
    page=$(curl_ms "http://127.0.0.1:$port/bitmapist?now=2026-11-22")
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=

    printf "| %'d | %'d | %.1f s | %.2f M/s | %.0f MB | %.0f MB | %.0f ms | %.0f ms | %.0f MB | %s / %s ms | %s ms |\n" \
        "$n" "$marks" "$secs" "$(echo "$marks / $secs / 1000000" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)" \
        "$(echo "$size / 1048576" | bc -l)" "$c30" "$c90" "$(echo "$rss90_kb / 1024" | bc -l)" "$first" "$again" "$page"
    [ "${KEEP:-0}" = 1 ] || rm -f "$store"
done
