#!/usr/bin/env bash
# Exports the demo data set and validates it with the real OASIS stix2-validator (PyPI
# `stix2-validator`), applying Tandem's extension schemas from crates/model/schemas.
#
# Usage: crates/demo/scripts/validate_demo.sh [OUT_DIR]
# Environment:
#   PYTHON           a python with stix2-validator installed (default: use `stix2_validator` on PATH)
#   SYNTHETIC_COUNT  synthetic incidents to export and validate (default 2000; the full demo is 30000)
#   SEED             synthetic history seed (default 1)
#   CARGO_TARGET_DIR passed through to cargo
# Exit status: 0 when every file validates with zero errors and a deliberately broken object is
# rejected (proving the extension schemas were applied); non-zero otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
schemas="$root/crates/model/schemas"
out="${1:-$(mktemp -d)}"
count="${SYNTHETIC_COUNT:-2000}"
seed="${SEED:-1}"

if [[ -n "${PYTHON:-}" ]]; then
  validator=("$PYTHON" -m stix2validator.scripts.stix2_validator)
  py="$PYTHON"
elif command -v stix2_validator >/dev/null; then
  validator=(stix2_validator)
  py="python3"
else
  echo "validate_demo: set PYTHON to a python with stix2-validator, or put stix2_validator on PATH" >&2
  exit 2
fi

(cd "$root" && cargo run --quiet --release -p tandem-demo --example export -- "$out" "$count" "$seed")

status=0
for f in definitions.json seed-facts.json synthetic.json; do
  if ! "${validator[@]}" --version 2.1 -s "$schemas" --disable 103,202 "$out/$f" >"$out/$f.validation.txt" 2>&1; then
    echo "validate_demo: $f is INVALID (see $out/$f.validation.txt):" >&2
    grep -E '\[X\]' "$out/$f.validation.txt" | head -20 >&2 || true
    status=1
  else
    echo "validate_demo: $f valid"
  fi
done

# Negative control: break one incident and one marking; the validator must reject them.
"$py" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
inc = next(o for o in json.load(open(out + "/seed-facts.json"))["objects"] if o["type"] == "incident")
mark = next(o for o in json.load(open(out + "/definitions.json"))["objects"] if o["type"] == "marking-definition")
inc["extensions"]["extension-definition--447704c2-c7f8-4c08-993a-83a938df3ee7"]["sub_event_type"] = "Peaceful protest"
mark["extensions"]["extension-definition--7d672761-f8ff-4c5e-9337-dc547165f993"]["rel_to"] = []
json.dump({"type": "bundle", "id": "bundle--0b4d6f2e-8c1a-4e37-9d05-3f6a2c7e1b48", "objects": [inc, mark]},
          open(out + "/broken.json", "w"))
PY
if "${validator[@]}" --version 2.1 -s "$schemas" "$out/broken.json" >"$out/broken.json.validation.txt" 2>&1; then
  echo "validate_demo: broken.json was accepted: the extension schemas were not applied" >&2
  status=1
elif [[ "$(grep -c '\[X\]' "$out/broken.json.validation.txt")" -lt 2 ]]; then
  echo "validate_demo: broken.json rejected, but not for both broken extensions" >&2
  status=1
else
  echo "validate_demo: broken.json rejected as expected"
fi
exit $status
