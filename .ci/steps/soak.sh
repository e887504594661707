#!/usr/bin/env bash
# Operator's soak test, short: `flute send --watch` -> `flute recv --out` over loopback
# (multicast on lo when it delivers, else 127.0.0.1) for 90 s with a file every 0.25 s, every
# file checked byte for byte, RSS / fds / threads of both processes checked for growth, both
# stopped with SIGINT and checked for a clean exit (scripts/soak.sh explains the checks).
# Needs python3 (standard library only). Fails loudly; never skips.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v python3 >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3) >/dev/null
fi
python3 --version
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p flute-cli
# A small carousel (KEEP 32 at 4 files/s) fills in 8 s, so the 23 s warm-up leaves 67 s of
# samples, one a second, to judge growth on.
KEEP=32 FILE_EVERY=0.25 SAMPLE_EVERY=1 SEED=1 bash scripts/soak.sh "${SOAK_MINUTES:-1.5}"
