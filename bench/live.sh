#!/usr/bin/env bash
# Live-side figures: alert-evaluation cost per incident at 100..100,000 zones (grid index and a
# scan), and write-to-alert latency (median, p99) with N stream clients and Z zones, in-process.
# Then, over real HTTP between three nodes (USA - IRQ - SYR): POST-to-alert latency on the node
# posted to and two hops away, with the same zones and stream clients.
# Usage: bench/live.sh [CLIENTS=1000] [ZONES=10000] [INCIDENTS=200]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p tandem-live --example live_bench -- "${1:-1000}" "${2:-10000}" "${3:-200}"
cargo run --quiet --release -p tandem-testkit --example latency -- "${3:-200}" --alerts --zones "${2:-10000}" \
  --clients "${1:-1000}"
