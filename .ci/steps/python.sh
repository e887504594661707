#!/usr/bin/env bash
# Python binding (crates/flute-py, import name flute_rs): builds and installs the extension
# into a fresh virtualenv the way users do (`pip install ./crates/flute-py`), then runs its
# pytest suite, the README doctest and the interop tests against flute-alc 1.11.7 from
# PyPI. pytest's exit code 5 (no tests collected) is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"  # maturin's build backend runs `maturin` from PATH
py="$work/venv/bin/python"
"$py" -m pip install -q "maturin>=1.9.4,<2" "pytest>=7" "flute-alc==1.11.7" mypy

# Release build (the RaptorQ and RS codecs are far too slow in debug builds for the
# interop cases); maturin sets PYO3_BUILD_EXTENSION_MODULE itself.
"$py" -m pip install -q --no-build-isolation ./crates/flute-py
"$py" -c 'import flute_rs, flute; print("flute_rs", flute_rs.__version__, "and flute-alc installed")'

# The installed package type-checks with its stubs (_flute_rs.pyi, py.typed).
(cd "$work" && "$py" -m mypy --strict --no-incremental -p flute_rs)

cd crates/flute-py
set +e
# Run from a directory where `flute_rs` resolves to the installed package only.
"$py" -m pytest -q -p no:cacheprovider --doctest-glob=README.md tests README.md
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
