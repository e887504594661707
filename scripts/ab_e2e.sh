#!/usr/bin/env bash
# A/B of two (or more) builds of the e2e bench on the same machine, alternating them so
# that the load of other work falls on both alike: for each binary the best and the median
# MiB/s of `e2e --schemes SCHEME --impl ours --size SIZE` over N runs.
# Usage: scripts/ab_e2e.sh N SIZE SCHEME BIN1 BIN2 ...
#   e.g. cp target/release/e2e /tmp/e2e.before; (change, rebuild);
#        scripts/ab_e2e.sh 9 64M nocode /tmp/e2e.before target/release/e2e
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 N SIZE SCHEME BIN1 BIN2 ..." >&2; exit 2; }
n=$1; size=$2; scheme=$3; shift 3
out=$(mktemp); trap 'rm -f "$out"' EXIT
for _ in $(seq "$n"); do
  for b in "$@"; do
    v=$("$b" --schemes "$scheme" --impl ours --size "$size" 2>&1 | awk -F'|' '$5 ~ /mem/ && $6 ~ /flute-sender/ {gsub(/ /, "", $8); print $8}')
    [ -n "$v" ] || { echo "$b: no result" >&2; exit 1; }
    echo "$b $v" >> "$out"
  done
done
for b in "$@"; do
  grep -F "$b " "$out" | awk '{print $2}' | sort -n | awk -v b="$b" '{v[NR]=$1} END {printf "%s: best %.1f median %.1f MiB/s (n=%d)\n", b, v[NR], v[int((NR+1)/2)], NR}'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
