#!/usr/bin/env bash
# `tandem migrate` sqlite -> postgres rows/s, two binaries alternating on the same data: a node of
# OBJECTS incidents (imported once with the first binary), copied RUNS times by each binary in
# turn into a fresh database of a throw-away local cluster (Debian's `postgresql`). Prints each
# run's rows, wall time (the whole command: copy and verification) and rows/s, and the load, and saves the output to bench/results/migrate-<UTC>.txt.
# Build both binaries with the same profile (e.g. `cargo build --release -p tandem` at each
# commit, copying target/release/tandem aside: a second checkout sharing the target dir can be
# taken for fresh, so touch its sources or use another target dir).
# Usage: bench/migrate.sh BEFORE_BIN AFTER_BIN [OBJECTS=100000] [RUNS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
before="$1" after="$2" objects="${3:-100000}" runs="${4:-2}"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
work=$(mktemp -d)
as_pg=()
[ "$(id -u)" = 0 ] && { chown postgres "$work"; as_pg=(runuser -u postgres --); }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -A trust -U tandem >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -o "-p $port -k $work -c listen_addresses=127.0.0.1" -l "$work/pg/log" -w start >/dev/null
trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/node" bench/results
printf '[node]\nmember = "USA"\nlisten = "127.0.0.1:0"\ndata_dir = "data"\n\n[[members]]\ncode = "USA"\nname = "United States"\n' >"$work/node/node.toml"
python3 - "$objects" "$work/node/bundle.json" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
objs = [{"type": "incident", "spec_version": "2.1", "id": "incident--5b2e0d4c-7c1a-4f0e-9a55-%012d" % i,
         "created": "2025-11-24T00:00:00.000Z", "modified": "2025-11-24T00:00:00.000Z", "name": "incident %d" % i,
         "description": "Observed near the checkpoint at dawn, reported by a patrol",
         "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]} for i in range(n)]
json.dump({"type": "bundle", "id": "bundle--5b2e0d4c-7c1a-4f0e-9a55-000000000001", "objects": objs}, open(path, "w"))
PY
"$before" import --config "$work/node/node.toml" --quiet "$work/node/bundle.json" >/dev/null 2>&1
out="bench/results/migrate-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
  echo "tandem migrate sqlite -> postgres, $objects incidents, $(nproc) cores; before=$before after=$after"
  n=0
  for r in $(seq "$runs"); do
    for which in before after; do
      n=$((n + 1))
      bin=$before; [ "$which" = after ] && bin=$after
      "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U tandem "m$n"
      t0=$(date +%s%N)
      line=$(RUST_LOG=warn "$bin" migrate --quiet --from "sqlite:$work/node/data" --to "postgres://tandem@127.0.0.1:$port/m$n" 2>/dev/null | grep -E '^copy (resumed and )?completed')
      t1=$(date +%s%N)
      rows=$(echo "$line" | grep -oE '[0-9]+ rows' | head -1 | cut -d' ' -f1)
      secs=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.1f}')")
      rate=$(python3 -c "print(f'{$rows / (($t1 - $t0) / 1e9):.0f}')")
      echo "$which run $r: $rows rows, ${secs} s wall (copy and verification): $rate rows/s  (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    done
  done
} | tee "$out"
