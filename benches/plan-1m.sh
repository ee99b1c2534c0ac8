#!/usr/bin/env bash
# Benchmark: `allot plan` on 1M SKUs x 3 locations with a 5-marketplace policy, in release
# mode. Prints wall time, inventory rows per second and peak memory. Not a test: numbers only.
#   SKUS=100000 benches/plan-1m.sh     # a smaller run
set -euo pipefail
cd "$(dirname "$0")/.."
SKUS=${SKUS:-1000000}
LOCATIONS=${LOCATIONS:-3}

cargo build --release --quiet --bin allot --example gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

target/release/examples/gen --skus "$SKUS" --locations "$LOCATIONS" > "$tmp/inventory.csv"
rows=$(( $(wc -l < "$tmp/inventory.csv") - 1 ))
size=$(du -h "$tmp/inventory.csv" | cut -f1)
echo "inventory: $SKUS SKUs x $LOCATIONS locations = $rows rows ($size)"

start=$(date +%s%N)
peak_kb=""
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v target/release/allot plan benches/plan-1m.allot --inventory "$tmp/inventory.csv" \
    > /dev/null 2> "$tmp/stderr" || { cat "$tmp/stderr"; exit 1; }
  peak_kb=$(grep "Maximum resident set size" "$tmp/stderr" | awk '{print $NF}')
else
  target/release/allot plan benches/plan-1m.allot --inventory "$tmp/inventory.csv" \
    > /dev/null 2> "$tmp/stderr" &
  pid=$!
  peak_kb=0
  while kill -0 "$pid" 2> /dev/null; do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
    if [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ]; then peak_kb=$hwm; fi
    sleep 0.05
  done
  wait "$pid" || { cat "$tmp/stderr"; exit 1; }
fi
end=$(date +%s%N)

ms=$(( (end - start) / 1000000 ))
rps=$(( rows * 1000 / (ms > 0 ? ms : 1) ))
echo "allot plan (table to /dev/null): wall ${ms} ms, ${rps} rows/s, peak memory $(( peak_kb / 1024 )) MiB"
