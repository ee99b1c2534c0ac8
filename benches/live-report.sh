#!/usr/bin/env bash
# Benchmark of `allot plan --current live` at scale (issue 12): N listings in a local
# `allot sandbox` at Amazon's published rates (--rate-scale 1), read by All Listings report, against
# reading them one by one with getListingsItem at Amazon's 5 a second (measured on a sample of
# ITEMS SKUs, then the whole at that rate). Prints wall time and peak memory. Not a test:
# numbers only (it exits 1 when a step fails or the counts are wrong).
#
#   benches/live-report.sh                  # 100,000 listings
#   SKUS=1000000 benches/live-report.sh     # a million
#
# Settings: SKUS (default 100000), ITEMS (the sample read item by item, default 100: 20 s at
# 5/s), REPORT_DELAY_MS (the sandbox's --report-delay: how long a report stays IN_QUEUE, then
# IN_PROGRESS; default 1000; Amazon publishes no figure, minutes are common), PORT (default 18787).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
. benches/lib.sh
SKUS=${SKUS:-100000}
ITEMS=${ITEMS:-100}
REPORT_DELAY_MS=${REPORT_DELAY_MS:-1000}
PORT=${PORT:-18787}
bench_need_time
cargo build --release --quiet --bin allot
allot=target/release/allot
tmp=$(mktemp -d target/bench-live.XXXXXX)
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2> /dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

seller=A1PP0FEH11RW77
# SKU i: i % 70 units in stock; on Amazon every 100th is FBA, the others show i % 60.
awk -v n="$SKUS" 'BEGIN { print "sku,location,on_hand,reserved"
  for (i = 0; i < n; i++) printf "S-%07d,wh,%d,0\n", i, i % 70 }' > "$tmp/inv.csv"
awk -v n="$SKUS" -v s="$seller" 'BEGIN { printf "{\"sellerId\": \"%s\", \"listings\": [", s
  for (i = 0; i < n; i++) {
    ch = (i % 100 == 7) ? "AMAZON_NA" : "DEFAULT"
    printf "%s{\"sku\": \"S-%07d\", \"marketplaceIds\": [\"ATVPDKIKX0DER\"], \"fulfillmentAvailability\": [{\"fulfillmentChannelCode\": \"%s\", \"quantity\": %d}]}", (i ? "," : ""), i, ch, i % 60
  }
  print "]}" }' > "$tmp/listings.json"
cat > "$tmp/p.allot" << EOF
policy "bench-live"
seller "$seller"
marketplaces US
location wh
rule "all" {
  match any
  cap 50
  publish US
}
EOF
"$allot" sandbox --addr "127.0.0.1:$PORT" --listings "$tmp/listings.json" \
  --report-delay "$REPORT_DELAY_MS" > "$tmp/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 600); do
  if grep -q "127.0.0.1:$PORT" "$tmp/sandbox.log" 2> /dev/null; then break; fi
  if ! kill -0 "$sandbox_pid" 2> /dev/null; then cat "$tmp/sandbox.log" >&2; exit 1; fi
  sleep 0.1
done
export LWA_APP_ID=sandbox LWA_CLIENT_SECRET=sandbox SP_API_REFRESH_TOKEN=sandbox
conn=(--endpoint "http://127.0.0.1:$PORT" --lwa-endpoint "http://127.0.0.1:$PORT/auth/o2/token")
echo "$SKUS listings in the sandbox at Amazon's rates; report delay ${REPORT_DELAY_MS} ms a phase"

measure "$tmp/out.json" 0 "$allot" plan "$tmp/p.allot" --inventory "$tmp/inv.csv" \
  --current live --live-read report --format json "${conn[@]}"
if [ "$status" != ok ]; then cat "$tmp/stderr" >&2; exit 1; fi
report_ms=$wall_ms report_kb=$peak_kb
python3 - "$tmp/out.json" "$SKUS" << 'EOF'
import json, sys
v = json.load(open(sys.argv[1])); n = int(sys.argv[2]); s = v["summary"]
fba = sum(1 for i in range(n) if i % 100 == 7)
same = sum(1 for i in range(n) if i % 100 != 7 and min(i % 70, 50) == i % 60)
got = (s.get("offers_fulfilled_by_amazon", 0), s.get("offers_unchanged", 0), s.get("offers_new", 0))
if got != (fba, same, 0):
    sys.exit(f"wrong counts: (fba, unchanged, new) = {got}, expected {(fba, same, 0)}")
print("  counts right:", fba, "FBA held,", same, "unchanged,", n - fba - same, "changed;", v["current_source"])
EOF

# The sample, item by item, at 5 a second.
head -n $(( ITEMS + 1 )) "$tmp/inv.csv" > "$tmp/inv-sample.csv"
measure "$tmp/out-items.txt" 0 "$allot" plan "$tmp/p.allot" --inventory "$tmp/inv-sample.csv" \
  --current live --live-read items "${conn[@]}"
if [ "$status" != ok ]; then cat "$tmp/stderr" >&2; exit 1; fi
items_ms=$wall_ms
per_item=$(awk -v ms="$items_ms" -v n="$ITEMS" 'BEGIN { printf "%.3f", ms / 1000 / n }')
all_items_s=$(awk -v p="$per_item" -v n="$SKUS" 'BEGIN { printf "%d", p * n }')
printf '%-44s %10s %10s\n' "step" "wall" "peak MiB"
printf '%-44s %9.1fs %10d\n' "by report ($SKUS listings)" "$(awk -v m="$report_ms" 'BEGIN{print m/1000}')" $(( report_kb / 1024 ))
printf '%-44s %9.1fs\n' "item by item, sample of $ITEMS" "$(awk -v m="$items_ms" 'BEGIN{print m/1000}')"
printf '%-44s %9ds  (%.1f h; %s s a read)\n' "item by item, $SKUS at that rate" "$all_items_s" \
  "$(awk -v s="$all_items_s" 'BEGIN{print s/3600}')" "$per_item"
printf 'report / items: %.4f\n' "$(awk -v a="$report_ms" -v b="$all_items_s" 'BEGIN{print a/1000/b}')"
