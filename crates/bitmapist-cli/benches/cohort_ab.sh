#!/usr/bin/env bash
# The whole `bitmapist cohort` process (a daily table of user:signed_up / user:logged_in on a
# seeded file store), several binaries side by side, interleaved: each round runs every binary
# once, so machine load hits them alike. Prints, per binary, the median and range of wall
# time, CPU time (user + system) and peak RSS over the rounds, and checks that every binary
# prints the same table.
#
# Usage: crates/bitmapist-cli/benches/cohort_ab.sh STORE_FILE BIN...
#   ROWS=90        rows and columns of the table
#   ROUNDS=9       rounds (one run of each binary per round, after one warm-up run each)
#   NOW=2026-11-22T18:00:00Z
# The store: bitmapist --store file://STORE_FILE seed --users 10000000 --days 365 --seed 3 \
#                --end 2026-11-22T18:00:00Z
# Needs GNU time (/usr/bin/time).
set -euo pipefail

STORE=$1
shift
ROWS=${ROWS:-90}
ROUNDS=${ROUNDS:-9}
NOW=${NOW:-2026-11-22T18:00:00Z}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run() {
    "$1" --store "file://$STORE" cohort user:signed_up user:logged_in --time-group days \
        --rows "$ROWS" --cols "$ROWS" --now "$NOW" --format json
}

i=0
for bin in "$@"; do
    run "$bin" >"$TMP/out$i.json"
    if ! cmp -s "$TMP/out0.json" "$TMP/out$i.json"; then
        echo "$bin prints a different table than $1" >&2
        exit 1
    fi
    i=$((i + 1))
done
for _ in $(seq "$ROUNDS"); do
    i=0
    for bin in "$@"; do
        /usr/bin/time -f "%e %U %S %M" -a -o "$TMP/t$i" "$bin" --store "file://$STORE" cohort \
            user:signed_up user:logged_in --time-group days --rows "$ROWS" --cols "$ROWS" \
            --now "$NOW" --format json >/dev/null
        i=$((i + 1))
    done
done
echo "${ROWS}x${ROWS} daily cohort, $ROUNDS interleaved rounds, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| binary | wall, median (min-max) | CPU user+sys, median (min-max) | peak RSS, median |"
echo "|---|---|---|---|"
i=0
for bin in "$@"; do
    awk -v bin="$bin" '
        { wall[NR] = $1 * 1000; cpu[NR] = ($2 + $3) * 1000; rss[NR] = $4 / 1024 }
        function median(a, n,   i, j, t) {
            for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        END {
            n = NR
            mw = median(wall, n); lw = wall[1]; hw = wall[n]
            mc = median(cpu, n); lc = cpu[1]; hc = cpu[n]
            mr = median(rss, n)
            printf "| %s | %.0f ms (%.0f-%.0f) | %.0f ms (%.0f-%.0f) | %.0f MB |\n", bin, mw, lw, hw, mc, lc, hc, mr
        }' "$TMP/t$i"
    i=$((i + 1))
done
