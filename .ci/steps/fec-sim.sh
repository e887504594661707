#!/usr/bin/env bash
# CI step for flute-fec-sim (issue 18 §1): the release-only validation run and the
# "done when" command, timed. Needs nothing beyond cargo and crates.io: the plots draw
# their text with a font embedded in the binary (no fontconfig, freetype or system fonts).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "=== flute-fec-sim: RFC 6330 §1 failure probabilities, 100 000 trials per K (release)"
cargo test --release -p flute-fec-sim --test validation -- --ignored --nocapture

echo "=== flute-fec-sim: the issue's command (raptorq,rs, K=256, Gilbert-Elliott, 10 000 trials)"
cargo build --release -q -p flute-fec-sim
out="$(mktemp -d)"
start=$(date +%s)
target/release/flute-fec-sim --fec raptorq,rs --k 256 --loss ge:0.05,0.3 --trials 10000 --out "$out" --quiet
secs=$(( $(date +%s) - start ))
echo "took ${secs}s"
for f in results.csv results.jsonl overhead.csv fail_vs_overhead.svg fail_vs_overhead.png fail_vs_loss.svg fail_vs_loss.png; do
  test -s "$out/$f" || { echo "missing output $f" >&2; exit 1; }
done
test "$(wc -l < "$out/results.csv")" -eq 3 || { echo "results.csv should hold a header and 2 cases" >&2; exit 1; }
rm -rf "$out"
if [ "$secs" -ge 60 ]; then
  echo "the issue's command took ${secs}s, the target is under a minute" >&2
  exit 1
fi
