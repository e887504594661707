#!/usr/bin/env bash
# CLI comparison (issue 19 §3): file -> capture -> file through the command-line tools, with
# their defaults, for No-Code, Reed-Solomon GF(2^8) and RaptorQ:
#   ours:  flute send FILE --dest 127.0.0.1:3400 --pcap CAP --no-send --fec S -q
#          flute recv --pcap CAP --out DIR -q
#   peer:  target/release/peer_cli send FILE CAP --fec S
#          target/release/peer_cli recv CAP DIR
# The peer is the `flute` crate 1.11.7 (crates.io), which has no CLI of its own: peer_cli
# (benches/src/bin/peer_cli.rs) is a small one written for this benchmark, the crate's
# Sender (Config::default(), object streamed from the file, Content-MD5 on) and its
# MultiReceiver with its filesystem writer (MD5 checked); the capture is written and read
# with flute-io's PcapWriter/PcapReader, the same code as ours. The crate has no default OTI,
# so it gets what `flute send` picks by default: E = 1436, No-Code B = 64, RS k = 200, RaptorQ
# k <= 1024, 20 % repair for RS and RaptorQ (see peer_cli.rs). Above 73 MB the crate refuses RS
# under FEC Encoding ID 5 (at most 255 source blocks): peer_cli then sends the same RS GF(2^8)
# code as FEC Encoding ID 129, which it allows (ours stays on ID 5, its default).
# Each step is timed (wall clock, and peak RSS, with /usr/bin/time); the output is compared
# with the input (cmp). Targets (issue 19 §3): total time of the peer / ours >= 3x for
# No-Code, >= 2x for RS and RaptorQ. With Content-MD5 on, a last table gives the floor of a
# streaming sender and an MD5-checking receiver, measured in the same run (one MD5 chain per
# side, with python3's hashlib, plus the `--no-md5` send's CPU time over all cores), and both
# totals against it.
# Usage: scripts/bench_cli.sh [MiB]   (default 256; files and captures under /dev/shm)
# NO_MD5=1 adds --no-md5 on both sides (ours: flute send --no-md5; peer_cli send/recv
# --no-md5), to see what Content-MD5 costs; the defaults compute and check it on both.
# SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release.
set -euo pipefail
cd "$(dirname "$0")/.."
mib="${1:-256}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build -q --release -p flute-cli
  cargo build -q --release -p flute-benches --bin peer_cli
fi
flute="$CARGO_TARGET_DIR/release/flute"
peer="$CARGO_TARGET_DIR/release/peer_cli"
work="$(mktemp -d "${TMPDIR:-/dev/shm}/flute-cli-bench.XXXXXX" 2>/dev/null || mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
in="$work/in/bench.bin"
md5=(); [ -n "${NO_MD5:-}" ] && md5=(--no-md5)
head -c $((mib * 1048576)) /dev/urandom > "$in"

# timed NAME CMD...: runs CMD, appends "NAME seconds peak_kib" to $work/times
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" > "$work/log" 2>&1 || { echo "$name failed:"; cat "$work/log"; return 1; }
  echo "$name $(cat "$work/t")" >> "$work/times"
}

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r); ${mib} MiB${NO_MD5:+, --no-md5 on both sides}, files in ${work%/*}"
: > "$work/times"
status=0
for s in nocode rs raptorq; do
  rm -rf "$work/out_ours" "$work/out_peer"
  timed "ours_send_$s" "$flute" send "$in" --dest 127.0.0.1:3400 --pcap "$work/ours.pcap" --no-send --fec "$s" -q "${md5[@]}"
  timed "ours_recv_$s" "$flute" recv --pcap "$work/ours.pcap" --out "$work/out_ours" -q
  ours_ok=no; cmp -s "$in" "$work/out_ours/bench.bin" && ours_ok=yes
  ours_cap=$(stat -c %s "$work/ours.pcap")
  rm -f "$work/ours.pcap"; rm -rf "$work/out_ours"
  timed "peer_send_$s" "$peer" send "$in" "$work/peer.pcap" --fec "$s" "${md5[@]}"
  timed "peer_recv_$s" "$peer" recv "$work/peer.pcap" "$work/out_peer" "${md5[@]}"
  peer_ok=no; cmp -s "$in" "$work/out_peer/bench.bin" && peer_ok=yes
  peer_cap=$(stat -c %s "$work/peer.pcap")
  rm -f "$work/peer.pcap"; rm -rf "$work/out_peer"
  echo "ok_$s $ours_ok $peer_ok $ours_cap $peer_cap" >> "$work/times"
  [ "$ours_ok" = yes ] && [ "$peer_ok" = yes ] || status=1
done
if [ -z "${NO_MD5:-}" ]; then
  # The floor of a sender that streams its file (bounded memory) and a receiver that checks
  # Content-MD5 (docs/benchmarks.md, "Issue 19: last measurements and the floors"): one MD5
  # chain per side (OpenSSL's, over the file already in memory) plus the CPU time of the
  # `--no-md5` send spread over all cores.
  md5s=$(python3 -c 'import hashlib, sys, time
b = open(sys.argv[1], "rb").read()
t = time.perf_counter(); hashlib.md5(b).digest(); print(f"{time.perf_counter() - t:.3f}")' "$in")
  for s in nocode rs raptorq; do
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$flute" send "$in" --dest 127.0.0.1:3400 \
      --pcap "$work/floor.pcap" --no-send --fec "$s" -q --no-md5 > "$work/log" 2>&1 \
      || { echo "floor send $s failed:"; cat "$work/log"; exit 1; }
    rm -f "$work/floor.pcap"
    echo "floor_$s $md5s $(cat "$work/t") $(nproc)" >> "$work/times"
  done
fi
sed "s/^/raw: /" "$work/times"

awk -v mib="$mib" '
  $1 ~ /^(ours|peer)_(send|recv)_/ { split($1, p, "_"); t[p[1], p[2], p[3]] = $2; m[p[1], p[2], p[3]] = $3 }
  $1 ~ /^floor_/ { s = substr($1, 7); fmd5[s] = $2; fcpu[s] = $4 + $5; fcores[s] = $6; fl[s] = 2 * $2 + ($4 + $5) / $6 }
  $1 ~ /^ok_/ { s = substr($1, 4); ok[s] = $2 "/" $3; cap[s] = sprintf("%.0f / %.0f", $4 / 1048576, $5 / 1048576) }
  END {
    name["nocode"] = "No-Code"; name["rs"] = "RS GF(2^8)"; name["raptorq"] = "RaptorQ"
    target["nocode"] = 3; target["rs"] = 2; target["raptorq"] = 2
    printf "\n| scheme | side | ours (s) | flute 1.11.7 (s) | speed-up | ours peak RSS (MiB) | flute 1.11.7 peak RSS (MiB) |\n|---|---|---:|---:|---:|---:|---:|\n"
    n = split("nocode rs raptorq", S, " ")
    for (i = 1; i <= n; i++) {
      s = S[i]
      for (j = 1; j <= 2; j++) {
        side = (j == 1) ? "send" : "recv"
        printf "| %s | %s | %.2f | %.2f | %.2fx | %.0f | %.0f |\n", name[s], side, t["ours", side, s], t["peer", side, s], t["peer", side, s] / t["ours", side, s], m["ours", side, s] / 1024, m["peer", side, s] / 1024
      }
      to = t["ours", "send", s] + t["ours", "recv", s]; tp = t["peer", "send", s] + t["peer", "recv", s]
      printf "| %s | **total** | %.2f | %.2f | **%.2fx** (target >= %dx: %s) | | |\n", name[s], to, tp, tp / to, target[s], (tp / to >= target[s]) ? "met" : "NOT met"
    }
    if (length(fl) > 0) {
      printf "\n| scheme | floor: 2 MD5 chains + `--no-md5` send CPU / cores (s) | ours / floor | flute 1.11.7 / floor |\n|---|---:|---:|---:|\n"
      for (i = 1; i <= n; i++) {
        s = S[i]; if (!(s in fl)) continue
        to = t["ours", "send", s] + t["ours", "recv", s]; tp = t["peer", "send", s] + t["peer", "recv", s]
        printf "| %s | %.2f (MD5 %.2f x 2, send %.2f CPU-s / %d) | %.2fx | %.2fx |\n", name[s], fl[s], fmd5[s], fcpu[s], fcores[s], to / fl[s], tp / fl[s]
      }
    }
    printf "\n| scheme | output identical (ours/peer) | capture MiB (ours / peer) |\n|---|---|---|\n"
    for (i = 1; i <= n; i++) { s = S[i]; printf "| %s | %s | %s |\n", name[s], ok[s], cap[s] }
  }' "$work/times"
exit "$status"
