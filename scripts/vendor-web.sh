#!/usr/bin/env bash
# Copies the pinned browser libraries (crates/web/package-lock.json) into crates/web/assets/vendor/
# with their licences, and cuts the region's country outlines out of world-atlas into
# crates/web/assets/data/countries.json (GeoJSON). The UI has no build step: these files are
# committed and embedded in the binary.
#
#   scripts/vendor-web.sh          refresh the vendored files (after changing package.json)
#   scripts/vendor-web.sh --check  fail when the committed files differ from what the lockfile installs
set -euo pipefail
cd "$(dirname "$0")/../crates/web"
check=0
[ "${1:-}" = "--check" ] && check=1

npm ci --no-audit --no-fund --silent >/dev/null
out=assets
if [ "$check" -eq 1 ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/vendor/leaflet/images" "$out/vendor/world-atlas" "$out/data"
cp node_modules/leaflet/dist/leaflet-src.esm.js node_modules/leaflet/dist/leaflet.css "$out/vendor/leaflet/"
cp node_modules/leaflet/dist/images/*.png "$out/vendor/leaflet/images/"
cp node_modules/leaflet/LICENSE "$out/vendor/leaflet/LICENSE"
cp node_modules/world-atlas/LICENSE "$out/vendor/world-atlas/LICENSE"
cp node_modules/topojson-client/LICENSE "$out/vendor/world-atlas/LICENSE.topojson-client"

# Syria, Iraq and their neighbours (ISO 3166-1 numeric ids as world-atlas names them), with
# coordinates rounded to 1e-3 degrees (~100 m: outlines at 1:50m carry no more).
node - "$out/data/countries.json" <<'JS'
const fs = require("fs");
const topojson = require("topojson-client");
const world = JSON.parse(fs.readFileSync("node_modules/world-atlas/countries-50m.json", "utf8"));
const keep = { "760": "SY", "368": "IQ", "792": "TR", "400": "JO", "422": "LB", "376": "IL",
  "275": "PS", "682": "SA", "364": "IR", "414": "KW", "196": "CY", "818": "EG" };
const all = topojson.feature(world, world.objects.countries);
const round = (c) => (typeof c[0] === "number" ? [Math.round(c[0] * 1e3) / 1e3, Math.round(c[1] * 1e3) / 1e3] : c.map(round));
const features = all.features
  .filter((f) => keep[f.id])
  .sort((a, b) => a.id.localeCompare(b.id))
  .map((f) => ({ type: "Feature", id: keep[f.id],
    properties: { code: keep[f.id], name: f.properties.name, focus: f.id === "760" || f.id === "368" },
    geometry: { type: f.geometry.type, coordinates: round(f.geometry.coordinates) } }));
const fc = { type: "FeatureCollection",
  attribution: "Natural Earth 1:50m via world-atlas (ISC); public domain outlines", features };
fs.writeFileSync(process.argv[2], JSON.stringify(fc) + "\n");
JS

if [ "$check" -eq 1 ]; then
  for f in $(cd "$out" && find . -type f | sort); do
    cmp -s "$out/$f" "assets/$f" || { echo "vendored file differs from the lockfile's: crates/web/assets/${f#./} (run scripts/vendor-web.sh)"; exit 1; }
  done
  echo "vendored web files match the lockfile"
fi
