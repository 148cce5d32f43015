# Shared by the import benchmarks (csv_import.sh, misp_import.sh), sourced after `cd` to the
# repository: $BIN (an existing binary, or a release build of `tandem`), GNU time for the peak
# memory, and $work, a throw-away directory with a USA node's node.toml, removed on exit.
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -p tandem
  BIN="$target/release/tandem"
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/node.toml" <<TOML
[node]
member = "USA"
listen = "127.0.0.1:1"
data_dir = "./data"

[[members]]
code = "USA"
name = "United States"
TOML
