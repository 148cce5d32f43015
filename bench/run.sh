#!/usr/bin/env bash
# Tandem vs medallion benchmarks: TAXII ingest, paging, and the cost of releasability filtering.
# Not a test: never part of scripts/test.sh. Usage: bench/run.sh [bench.py options]
#   e.g. bench/run.sh --objects 100000 --clients 4 --releasability-objects 1000000
# Needs cargo and python3. Creates bench/.venv (medallion, requests, taxii2-client), builds
# `tandem` in release (honours CARGO_TARGET_DIR), prints a table and saves it to
# bench/results/<date>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import medallion, requests, taxii2client' 2>/dev/null; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --disable-pip-version-check medallion requests taxii2-client
fi

if [ -z "${TANDEM_BIN:-}" ]; then
  cargo build --release -q -p tandem
  TANDEM_BIN="${CARGO_TARGET_DIR:-target}/release/tandem"
  built="built from the working tree"
else
  built="prebuilt: $TANDEM_BIN ${TANDEM_BIN_NOTE:-}"
fi

mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d-%H%M).txt"
{
  echo "# tandem $("$TANDEM_BIN" --version 2>/dev/null), repository at $(git rev-parse --short HEAD 2>/dev/null || echo '?'), binary $built"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  bench/.venv/bin/python bench/bench.py --tandem "$TANDEM_BIN" "$@"
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out"
echo "saved to $out"
