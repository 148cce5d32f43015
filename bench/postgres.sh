#!/usr/bin/env bash
# Storage figures side by side: SQLite, PostgreSQL with one handle, PostgreSQL with two handles on
# one database (as two `tandem serve` processes): ingest, paging, get-by-id, filtered listing,
# through the Store trait. PostgreSQL is TANDEM_PG_URL or a throw-away local cluster (Debian's
# `postgresql`, as the tests use). Saves the output to bench/results/postgres-<UTC>.txt.
# Usage: bench/postgres.sh [OBJECTS=100000] [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
objects="${1:-100000}"
profile=()
[ "${2:-}" = "--release" ] && profile=(--release)
mkdir -p bench/results
out="bench/results/postgres-$(date -u +%Y%m%dT%H%M%SZ).txt"
cargo run --quiet "${profile[@]}" -p tandem-store-postgres --example bench -- "$objects" | tee "$out"
