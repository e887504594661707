#!/usr/bin/env bash
# Loopback performance of the flute tools, in one run:
#  1. the raw loopback UDP limit: a minimal batched sender/receiver pair with no protocol
#     work (crates/flute-io/examples/raw_loopback.rs), with UDP GSO/GRO and with plain
#     sendmmsg/recvmmsg;
#  2. `flute send` -> `flute recv` over 127.0.0.1, No-Code, Content-MD5 on (both tools'
#     default; NO_MD5=1 passes --no-md5), the highest rate at which the file arrives complete:
#     receiver goodput and its ratio to the raw sendmmsg limit (issue 19 §3 target: >= 80%)
#     and to the raw GSO/GRO limit;
#  3. pacing accuracy of `flute send --rate` at 100 Mbit/s and 1 Gbit/s (target: within 2%).
# Loopback only. Usage: scripts/bench_loopback.sh [SECONDS]   (default 3)
# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build -q --release -p flute-io --example raw_loopback
  cargo build -q --release -p flute-cli
fi
raw="$CARGO_TARGET_DIR/release/examples/raw_loopback"
flute="$CARGO_TARGET_DIR/release/flute"
work="$(mktemp -d "${TMPDIR:-/dev/shm}/flute-bench.XXXXXX" 2>/dev/null || mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in" "$work/out"
port=$((20000 + RANDOM % 20000))
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
echo "== 1. raw loopback UDP limit (1400-byte datagrams, ${secs}s each)"
raw_gso_line="$("$raw" 1400 "$secs" gso)"; echo "$raw_gso_line"
raw_mmsg_line="$("$raw" 1400 "$secs" mmsg)"; echo "$raw_mmsg_line"
raw_gso="$(echo "$raw_gso_line" | field goodput_mbps)"
raw_mmsg="$(echo "$raw_mmsg_line" | field goodput_mbps)"

md5_arg=(); md5_label="Content-MD5 on"
if [ -n "${NO_MD5:-}" ]; then md5_arg=(--no-md5); md5_label="--no-md5"; fi
echo "== 2. flute send -> flute recv, No-Code, $md5_label, 127.0.0.1 (highest rate with the file complete)"
size_mb=$(( secs * 150 ))
head -c $((size_mb * 1000000)) /dev/urandom > "$work/in/bench.bin"
flute_mbps=0; flute_rate="none"; first_mbps=""
for rate in max 8G 6G 5G 4G 3.5G 3G 2.5G 2G 1.5G 1G 500M; do
  "$flute" recv --listen "127.0.0.1:$port" --out "$work/out" --once --timeout 10 -q > "$work/recv.txt" 2>&1 &
  rpid=$!
  sleep 0.5
  if [ "$rate" = max ]; then rate_arg=(); else rate_arg=(--rate "$rate"); fi
  "$flute" send "$work/in/bench.bin" --dest "127.0.0.1:$port" "${md5_arg[@]}" -q "${rate_arg[@]}" > "$work/send.txt"
  wait "$rpid" || true
  mbps="$(sed -n 's/^active [0-9.]* s: \([0-9.]*\) \([GMk]\)bit\/s UDP payload.*/\1 \2/p' "$work/recv.txt" | awk '{ print ($2 == "G") ? $1 * 1000 : ($2 == "k" ? $1 / 1000 : $1) }')"
  ok="incomplete"; cmp -s "$work/in/bench.bin" "$work/out/bench.bin" && ok="complete"
  rm -f "$work/out/bench.bin"
  echo "rate $rate: sender: $(sed -n 's/.* in \([0-9.]* s\): \(.*\) payload.*/\1, \2/p' "$work/send.txt"); receiver: ${mbps:-0} Mbit/s UDP payload, file $ok"
  [ -z "$first_mbps" ] && first_mbps="${mbps:-0}"
  if [ "$ok" = complete ]; then flute_mbps="${mbps:-0}"; flute_rate="$rate"; break; fi
done
complete="$flute_rate"

echo "== 3. pacing accuracy (flute send --rate, wire rate incl. IP+UDP headers)"
pacing() {
  local rate="$1" bytes="$2"
  head -c "$bytes" /dev/urandom > "$work/in/pace.bin"
  "$flute" recv --listen "127.0.0.1:$port" --out "$work/out" --once --timeout 10 -q > /dev/null 2>&1 &
  local rp=$!
  sleep 0.3
  local line; line="$("$flute" send "$work/in/pace.bin" --dest "127.0.0.1:$port" --rate "$rate" --no-md5 -q)"
  wait "$rp" || true
  rm -f "$work/out/pace.bin"
  echo "$line" >&2
  echo "$line" | sed -n 's/.*, \([0-9.]*\) \([GM]\)bit\/s on the wire.*/\1 \2/p' | awk '{ print ($2 == "G") ? $1 * 1000 : $1 }'
}
p100="$(pacing 100M $(( secs * 12500000 )))"
p1g="$(pacing 1G $(( secs * 125000000 )))"

echo "== summary"
echo "flute send -> recv at full speed (file incomplete, receiver overrun): ${first_mbps} Mbit/s UDP payload at the receiver"
awk -v g="$raw_gso" -v m="$raw_mmsg" -v f="$flute_mbps" -v c="$complete" -v a="$p100" -v b="$p1g" -v l="$md5_label" 'BEGIN {
  printf "raw loopback limit, GSO/GRO:        %8.0f Mbit/s\n", g
  printf "raw loopback limit, sendmmsg only:  %8.0f Mbit/s\n", m
  printf "flute send -> recv, No-Code:        %8.0f Mbit/s UDP payload, file complete (send rate %s, %s)\n", f, c, l
  printf "ratio flute / raw sendmmsg:         %8.1f %%   (target >= 80%%: %s)\n", 100 * f / m, (f >= 0.8 * m) ? "met" : "NOT met"
  printf "ratio flute / raw GSO:              %8.1f %%\n", 100 * f / g
  printf "pacing at 100 Mbit/s:               %8.1f Mbit/s, error %+.2f %%   (target within 2%%)\n", a, 100 * (a - 100) / 100
  printf "pacing at 1 Gbit/s:                 %8.1f Mbit/s, error %+.2f %%\n", b, 100 * (b - 1000) / 1000
}'
