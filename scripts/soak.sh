#!/usr/bin/env bash
# Operator's soak test: `flute recv` (continuous, --out DIR) and a live `flute send --watch DIR`
# over loopback for MINUTES (default 3), with a generator adding files all along.
#
# Usage: scripts/soak.sh [MINUTES]
#
# What it checks (scripts/soak.py does the work, Python 3 standard library only):
#  - every generated file (mixed sizes, random content, written under a hidden name and
#    renamed into place) arrives byte-identical (MD5); files added in the last EXCLUDE_LAST
#    seconds may still be in flight and are left out of the check (the summary says how many);
#  - RSS of both processes does not grow: the mean of the last quarter of the samples taken
#    after WARMUP must stay under RSS_RATIO x the first quarter's mean + RSS_SLACK_MIB (the
#    slack absorbs allocator and page-cache noise of a few MiB, and the ratio the carousel's
#    size, which varies with the sizes of the KEEP newest files);
#  - open fds and threads stay flat: the last quarter's maximum is at most the first quarter's
#    maximum + FD_SLACK / THREAD_SLACK (an fd per file being read or written, a hashing thread);
#  - both processes are alive at the end, stop on SIGINT within STOP_TIMEOUT s (the sender
#    first: files sent whole leave the carousel, a file still in its first pass finishes it,
#    it closes the session and exits 0; the receiver prints its summary and exits 130, or 1
#    if an object failed), and wrote no panic to stderr.
# It exits 1 naming what failed, and prints files, bytes, rate, RSS min/max and quarter means,
# fd and thread ranges. Samples (RSS, fds, threads every SAMPLE_EVERY s) go to samples.csv in
# the work dir, which is removed at the end unless KEEP_WORK=1 or the soak failed.
#
# Knobs (environment):
#  FLUTE          the flute binary (default: $CARGO_TARGET_DIR/release/flute, built if missing)
#  MODE           auto (multicast on lo if a probe datagram arrives, else 127.0.0.1), multicast,
#                 unicast (default auto)
#  GROUP, PORT    multicast group (239.255.77.77) and port (random 20000-39999)
#  RATE           flute send --rate (30M)          FEC, REPAIR   --fec raptorq, --repair 20%
#  KEEP, KEEP_FOR --keep 64, --keep-for 60
#  FILE_EVERY     seconds between two new files (0.5)
#  MIN_SIZE, MAX_SIZE   file sizes in bytes, log-uniform (1 .. 4194304)
#  SAMPLE_EVERY   seconds between samples (5)
#  WARMUP         seconds not judged (default: the carousel's fill time min(KEEP x FILE_EVERY,
#                 KEEP_FOR) + 15 s; until then RSS and fds rise by design)
#  EXCLUDE_LAST   seconds (10)                     SEED    generator seed (time)
#  RSS_RATIO, RSS_SLACK_MIB, FD_SLACK, THREAD_SLACK   growth limits (1.25, 4, 4, 2)
#  RSS_TREND_MIB_H  runs with RSS_TREND_AFTER_MIN (30) minutes or more after the warm-up also
#                 fail if either RSS's least-squares trend exceeds this many MiB per hour (4)
#  CLEAN_INPUT    1: delete each input file once received intact (keeps disk use bounded)
#  STOP_TIMEOUT   seconds each process may take to stop after SIGINT (30; at a slow RATE the
#                 sender finishes the first pass of the newest file first)
#  KEEP_WORK      1: keep the work dir          TMPDIR  where the work dir goes (/tmp)
set -euo pipefail
# The body is one compound command, read whole before it runs: editing this file while a soak
# runs (hours) cannot change what the running one does.
{
cd "$(dirname "$0")/.."
minutes="${1:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
flute="${FLUTE:-$CARGO_TARGET_DIR/release/flute}"
if [ ! -x "$flute" ]; then
  cargo build -q --release -p flute-cli
fi
command -v python3 >/dev/null || { echo "soak: python3 is required" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/flute-soak.XXXXXX")"
status=0
cleanup() {
  # soak.py stops its processes itself; this catches whatever a crash of it left behind.
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$work/pids"
  fi
  if [ "$status" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$work"
  else
    echo "soak: work dir kept: $work (samples.csv, recv/send stdout and stderr)" >&2
  fi
}
trap cleanup EXIT
python3 scripts/soak.py "$flute" "$work" "$minutes" || status=$?
exit "$status"
}
