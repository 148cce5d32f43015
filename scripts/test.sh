#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Rust unit, conformance and integration tests, then
# the interoperability tests with the real Python clients against a running node.
# Installs what it needs itself (a virtualenv under .venv with the pinned PyPI packages).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tools"
command -v cargo >/dev/null || { echo "cargo is required (rustup)"; exit 1; }
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }

echo "== python virtualenv (.venv) for the interop tests"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import taxii2client, stix2, stix2validator, pytest' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r tests/interop/requirements.txt
fi
export TANDEM_PYTHON="$PWD/.venv/bin/python"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== rust tests"
cargo build --workspace --quiet
cargo test --workspace --quiet --no-fail-fast 2>&1 | tee target/rust-tests.log | grep -E '^(test result|running|error|failures:|---- )' || true
if grep -qE '^test result: FAILED|^error' target/rust-tests.log || ! grep -q '^test result' target/rust-tests.log; then
  echo "rust tests failed"; exit 1
fi

echo "== interop tests (taxii2-client, stix2, stix2-validator against a real node)"
.venv/bin/python -m pytest -q tests/interop
