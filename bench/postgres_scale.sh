#!/usr/bin/env bash
# SQLite, PostgreSQL with one `tandem serve` and PostgreSQL with two, side by side, over TAXII
# against real processes (issue 14's benchmark): ingest (envelopes of 500, 1 and 4 connections),
# server CPU per object (the tandem processes and the PostgreSQL cluster), full paging walks as
# USA and IRQ, get-by-id p50/p99 with 1 and 8 clients, filtered listings, resident memory.
# PostgreSQL is a throw-away cluster of Debian's postgresql (initdb/pg_ctl) under a temporary
# directory on a free port, durable (fsync, synchronous_commit, full_page_writes on). Not a test:
# nothing asserts a speed. Writes bench/results/postgres-scale-<UTC>.md (and .json beside it).
#
#   bench/postgres_scale.sh                     # 100,000 objects
#   bench/postgres_scale.sh 1000000             # 1,000,000 (about 15-30 min on 2 cores)
#   bench/postgres_scale.sh 100000 --targets pg1,pg2 --pg-stat-statements
# Needs cargo, python3 and PostgreSQL (apt-get install postgresql); creates bench/.venv as
# bench/perf.sh does; builds in release (honours CARGO_TARGET_DIR). Options after the size are
# bench/postgres_scale.py's.
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${1:-100000}"
shift || true

if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import requests' 2>/dev/null; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q --disable-pip-version-check medallion requests taxii2-client
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL is not installed: apt-get install postgresql" >&2
  exit 1
fi
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p tandem
cargo build --release -q -p tandem-testkit --example readload
mkdir -p bench/results
out="bench/results/postgres-scale-$(date -u +%Y%m%dT%H%MZ).md"
bench/.venv/bin/python bench/postgres_scale.py --objects "$objects" --out "$out" \
  --tandem "$target/release/tandem" --readload "$target/release/examples/readload" \
  --command "bench/postgres_scale.sh $objects${*:+ $*}" \
  --header "Repository at $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)'); release build of \`tandem\`." \
  "$@"
echo "report: $out"
