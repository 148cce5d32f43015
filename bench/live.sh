#!/usr/bin/env bash
# Live-side figures: alert-evaluation cost per incident at 100..100,000 zones (grid index and a
# scan), and write-to-alert latency (median, p99) with N stream clients and Z zones, in-process.
# Usage: bench/live.sh [CLIENTS=1000] [ZONES=10000] [INCIDENTS=200]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet -p tandem-live --example live_bench -- "${1:-1000}" "${2:-10000}" "${3:-200}"
