#!/usr/bin/env bash
# Federation benchmarks: two-hop latency, backfill of a newly joined member, idle CPU, and
# (with --simulate) the coalition simulation. Builds the examples in release, runs them, prints
# every figure next to its target, and saves the whole output to bench/results/.
#
#   bench/federation.sh                         # latency 300, backfill 1,000,000, idle 60 s
#   bench/federation.sh --backfill 200000 --idle 20
#   bench/federation.sh --simulate 100000       # also: 90 nodes x N objects (long: see README)
set -euo pipefail
cd "$(dirname "$0")/.."

latency=300
backfill=1000000
idle=60
simulate=""
nodes=90
while [ $# -gt 0 ]; do
  case "$1" in
    --latency) latency="$2"; shift 2 ;;
    --backfill) backfill="$2"; shift 2 ;;
    --idle) idle="$2"; shift 2 ;;
    --simulate) simulate="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p tandem-testkit --examples >&2
mkdir -p bench/results
out="bench/results/$(date -u +%Y-%m-%d-%H%M)-federation-bench.txt"
{
  echo "# tandem federation benchmark $(date -u '+%Y-%m-%d %H:%M:%S') UTC, repository at $(git rev-parse --short HEAD)"
  echo "# machine: $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## latency ($latency objects)"
  "$target/release/examples/latency" "$latency"
  echo "## backfill ($backfill objects)"
  "$target/release/examples/backfill" --objects "$backfill"
  echo "## idle ($idle s)"
  "$target/release/examples/idle" --secs "$idle"
  if [ -n "$simulate" ]; then
    echo "## simulate ($nodes nodes, $simulate objects)"
    "$target/release/examples/simulate" --nodes "$nodes" --objects "$simulate" --timeout-secs 3300
  fi
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} 2>&1 | tee "$out"

echo
echo "| figure | measured | target |"
echo "|---|---|---|"
grep -o 'median [0-9.]* ms, p99 [0-9.]* ms' "$out" | head -1 | sed 's/^/| two-hop latency | /; s/$/ | median < 200 ms, p99 < 1 s |/'
grep -o 'in [0-9.]* s = [0-9]* objects/s' "$out" | head -1 | sed "s/^/| backfill of $backfill objects | /; s/\$/ | 1,000,000 in < 60 s |/"
grep -o '= [0-9.]*% of one core' "$out" | head -1 | sed 's/^= /| idle CPU, 3 nodes | /; s/$/ | near zero |/'
if [ -n "$simulate" ]; then
  grep -o 'full propagation: .* from the start of publishing' "$out" | head -1 | sed 's/^/| simulation | /; s/$/ | (reported) |/'
  grep -o 'bytes between nodes: [0-9.]* [kMG]B' "$out" | head -1 | sed 's/^/| simulation | /; s/$/ | (reported) |/'
fi
echo "saved to $out"
