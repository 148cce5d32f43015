#!/usr/bin/env bash
# Timing of Tandem's analytics (trends, spikes, hot spots, correlation) over synthetic incidents,
# in release. Not a test: nothing asserts a speed. Options go to the example:
#   bench/analytics.sh                                  # 10k, 100k, 1M in memory; 100k through the store
#   bench/analytics.sh --pure 100000 --store 20000      # quicker
# Prints the figures and saves them in bench/results/analytics-<UTC date-time>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
out="bench/results/analytics-$(date -u +%Y%m%dT%H%M%SZ).txt"
cargo build --release -p tandem-analytics --example bench
target="${CARGO_TARGET_DIR:-target}"
{
  echo "# tandem analytics benchmark, $(date -u), $(nproc) cores"
  "$target/release/examples/bench" "$@"
} | tee "$out"
echo "saved $out"
