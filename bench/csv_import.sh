#!/usr/bin/env bash
# Timing of `tandem import --format csv` on a generated ACLED-style CSV (default 1,000,000 rows,
# each an incident and a location: 2,000,000 STIX objects), in release, into a fresh node data
# directory. Prints rows/s, objects/s and the importer's peak memory (GNU time's maximum
# resident set). Not a test: nothing asserts a speed.
#   bench/csv_import.sh            # 1,000,000 rows
#   ROWS=100000 bench/csv_import.sh
#   BIN=target/debug/tandem ROWS=20000 bench/csv_import.sh   # an existing binary, no release build
# Saves the figures in bench/results/csv-import-<UTC date-time>.txt; deletes its data afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
# $BIN, GNU time, and $work with a USA node.toml (removed on exit).
source bench/import_setup.sh
python3 - "$ROWS" "$work/rows.csv" <<'PY'
import csv, random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
types = [("Battles", "Armed clash"), ("Explosions/Remote violence", "Air/drone strike"),
         ("Violence against civilians", "Attack"), ("Strategic developments", "Arrests")]
places = [("Deir ez-Zor", "Thiban", 35.0142, 40.5628), ("Nineveh", "Mosul", 36.335, 43.1189),
          ("Raqqa", "Raqqa", 35.9594, 39.0078), ("Anbar", "Ramadi", 33.4258, 43.2992)]
cols = ["event_id_cnty", "event_date", "time_precision", "event_type", "sub_event_type", "actor1",
        "inter1", "actor2", "inter2", "civilian_targeting", "admin1", "admin2", "admin3", "location",
        "latitude", "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities",
        "tags", "timestamp"]
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    for i in range(rows):
        t, s = types[i % len(types)]
        a1, loc, lat, lon = places[rng.randrange(len(places))]
        day = 1 + i % 28
        w.writerow([f"SYN{i}", f"2024-{1 + i % 12:02d}-{day:02d}", 1 + i % 3, t, s,
                    "Islamic State (Syria)", "Rebel group", "Civilians", "Civilians", "",
                    a1, "", "", loc, round(lat + rng.uniform(-0.05, 0.05), 4),
                    round(lon + rng.uniform(-0.05, 0.05), 4), 1 + i % 3, "Synthetic source",
                    "National", "SYNTHETIC row for the benchmark", rng.randrange(5), "",
                    1704067200 + i])
PY
size=$(du -h "$work/rows.csv" | cut -f1)
mkdir -p bench/results
out="bench/results/csv-import-$(date -u +%Y%m%dT%H%M%SZ).txt"
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$BIN" import --quiet --format csv --batch 2000 --config "$work/node.toml" "$work/rows.csv" > "$work/import.txt"
end=$(date +%s.%N)
peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
stored=$(grep -o 'stored: [0-9]*' "$work/import.txt" | cut -d' ' -f2)
python3 - "$ROWS" "${stored:-0}" "$start" "$end" "$peak_kb" "$size" "$BIN" <<'PY' | tee "$out"
import sys
rows, stored, start, end, peak_kb, size, binary = sys.argv[1:]
secs = float(end) - float(start)
print(f"# tandem import --format csv: {int(rows):,} rows ({size}), binary {binary}")
print(f"stored objects: {int(stored):,} in {secs:.1f} s")
print(f"rows/s: {int(rows) / secs:,.0f}   objects/s: {int(stored) / secs:,.0f}")
print(f"peak memory (max RSS): {int(peak_kb) / 1024:.1f} MiB")
PY
echo "saved $out"
