#!/usr/bin/env bash
# Performance near the machine's limit (issue 18): ingest, reads, memory and backfill at three
# store sizes, each figure beside its target and its same-run reference, in one report
# (Markdown + SVG plots) under bench/results/perf-<UTC date-time>/. Not a test: never part of
# scripts/test.sh, and nothing asserts a speed.
#
#   bench/perf.sh                                  # 10k, 100k and 1M objects (~15-25 min)
#   bench/perf.sh --sizes 10000,100000 --backfill-max 100000   # a quicker run
# Needs cargo and python3; creates bench/.venv as bench/run.sh does; builds in release
# (honours CARGO_TARGET_DIR). Options are bench/perf.py's.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import requests' 2>/dev/null; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --disable-pip-version-check medallion requests taxii2-client
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p tandem
cargo build --release -q -p tandem-testkit --example readload --example raw_sqlite --example backfill
out="bench/results/perf-$(date -u +%Y%m%dT%H%MZ)"
mkdir -p "$out"
bench/.venv/bin/python bench/perf.py --out "$out" \
  --tandem "$target/release/tandem" --readload "$target/release/examples/readload" \
  --raw-sqlite "$target/release/examples/raw_sqlite" --backfill "$target/release/examples/backfill" \
  --header "Repository at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'); release build; $(nproc) CPUs." \
  "$@"
echo "report: $out/report.md"
