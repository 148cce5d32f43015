#!/usr/bin/env bash
# Timing of `tandem import --format misp` on a generated MISP restSearch answer
# (`{"response": [{"Event": …}, …]}`, default 20,000 events, each an incident with three
# attributes: an ip-dst and a domain indicator and a text note, with their `indicates`
# relationships, and an organisation description of PAD bytes, default 2,000, that the import
# drops: it makes the file large without making the store large), in release, into a fresh node
# data directory. Prints events/s, objects/s, the file's size and the importer's peak memory
# (GNU time's maximum resident set): the reader holds one event at a time, so the peak should not
# grow with the file. Not a test: nothing asserts a speed.
#   bench/misp_import.sh                                         # 20,000 events
#   EVENTS=5000 PAD=20000 bench/misp_import.sh
#   BIN=target/debug/tandem EVENTS=2000 bench/misp_import.sh     # an existing binary, no release build
# Saves the figures in bench/results/misp-import-<UTC date-time>.txt; deletes its data afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-20000}"
PAD="${PAD:-2000}"
# $BIN, GNU time, and $work with a USA node.toml (removed on exit).
source bench/import_setup.sh
python3 - "$EVENTS" "$PAD" "$work/events.json" <<'PY'
import json, sys, uuid
events, pad, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ns = uuid.UUID("6b1f3c1e-0000-4000-8000-000000000000")
def u(*parts):
    return str(uuid.uuid5(ns, "/".join(map(str, parts))))
with open(path, "w") as f:
    f.write('{"response": [')
    for i in range(events):
        ts = str(1763000000 + i)
        event = {"Event": {
            "uuid": u("event", i), "info": f"Synthetic event {i}", "date": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "timestamp": ts, "distribution": "0", "threat_level_id": "2", "analysis": "1",
            "Orgc": {"name": "Synthetic benchmark org", "description": "x" * pad},
            "Tag": [{"name": "tlp:amber"}],
            "Attribute": [
                {"uuid": u("ip", i), "type": "ip-dst", "category": "Network activity",
                 "value": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "to_ids": True,
                 "timestamp": ts, "distribution": "5"},
                {"uuid": u("domain", i), "type": "domain", "category": "Network activity",
                 "value": f"host{i}.example.org", "to_ids": True, "timestamp": ts, "distribution": "5"},
                {"uuid": u("text", i), "type": "text", "category": "Other",
                 "value": f"SYNTHETIC note {i}", "to_ids": False, "timestamp": ts, "distribution": "5"},
            ]}}
        if i:
            f.write(",\n")
        json.dump(event, f)
    f.write("]}\n")
PY
size=$(du -h "$work/events.json" | cut -f1)
mkdir -p bench/results
out="bench/results/misp-import-$(date -u +%Y%m%dT%H%M%SZ).txt"
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$BIN" import --quiet --format misp --batch 2000 --config "$work/node.toml" "$work/events.json" > "$work/import.txt"
end=$(date +%s.%N)
peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
stored=$(grep -o 'stored: [0-9]*' "$work/import.txt" | cut -d' ' -f2)
python3 - "$EVENTS" "${stored:-0}" "$start" "$end" "$peak_kb" "$size" "$BIN" "$PAD" <<'PY' | tee "$out"
import sys
events, stored, start, end, peak_kb, size, binary, pad = sys.argv[1:]
secs = float(end) - float(start)
print(f"# tandem import --format misp: {int(events):,} events ({size}, {int(pad):,} B of padding each), binary {binary}")
print(f"stored objects: {int(stored):,} in {secs:.1f} s")
print(f"events/s: {int(events) / secs:,.0f}   objects/s: {int(stored) / secs:,.0f}")
print(f"peak memory (max RSS): {int(peak_kb) / 1024:.1f} MiB")
PY
uptime | tee -a "$out"
echo "saved $out"
