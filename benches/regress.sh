#!/usr/bin/env bash
# Issue 9's "nothing else gets slower": times the commands the scale work must not slow down,
# with the new binary and (ALLOT_BEFORE=/path/to/old/allot) an older one, and prints wall time
# and peak memory side by side with the ratios new/old. Not a test: numbers only (it exits 1 only
# when the new binary fails a command or the setup fails; a failing old binary, or either one
# killed above MEM_CAP_MIB, shows n/a).
#
#   benches/regress.sh                                        # new binary only
#   ALLOT_BEFORE=/tmp/b/allot-before benches/regress.sh       # before/after
#   RULES=1000 LISTINGS_ROWS=100000 RUNS=1 benches/regress.sh # a quick run
#
# Items (ITEMS, comma-separated; default all):
#   check     `allot check` of a generated policy of RULES rules (default 10000;
#             benches/gen-policy.sh writes it: distinct `F<i>-*` selectors, varied buffers,
#             shares, rounding, thresholds, caps and targets; it checks without errors)
#   listings  the All Listings reader on LISTINGS_ROWS rows (default 1000000): a generated report
#             in Amazon's tab-separated layout (one row per inventory SKU, its US seller SKU; 1%
#             FBA with an empty quantity, 0.5% inactive with an empty quantity), read
#               a) by `allot explain` of one SKU with a one-row inventory (the reader alone, near
#                  enough: explain reads the whole report, then traces one SKU),
#               b) by `allot plan benches/plan-1m.allot --inventory <LISTINGS_ROWS SKUs>
#                  --current report.txt --current-marketplace US` (the table to /dev/null), and
#               c) the same plan without --current, for the difference
#   test      `allot test policies` (the shipped policies' test blocks), TEST_REPEAT runs (default
#             20) in one measurement since one takes milliseconds: the wall shown is per run
# RUNS (default 3): runs per item and binary; wall is the best run, peak memory the median.
# ALLOT: the binary measured (default target/release/allot, built here). MEM_CAP_MIB: as in
# benches/peer-duckdb.sh. BENCH_TMP: the scratch directory's parent (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
. benches/lib.sh
RULES=${RULES:-10000}
LISTINGS_ROWS=${LISTINGS_ROWS:-1000000}
RUNS=${RUNS:-3}
ITEMS=${ITEMS:-check,listings,test}
TEST_REPEAT=${TEST_REPEAT:-20}
ALLOT=${ALLOT:-target/release/allot}
ALLOT_BEFORE=${ALLOT_BEFORE:-}
POLICY=benches/plan-1m.allot

has_item() { [[ ",$ITEMS," == *",$1,"* ]]; }
for s in ${ITEMS//,/ }; do
  case $s in check | listings | test) ;; *) echo "unknown item '$s' in ITEMS (check,listings,test)" >&2; exit 2 ;; esac
done
if [ -n "$ALLOT_BEFORE" ] && [ ! -x "$ALLOT_BEFORE" ]; then
  echo "ALLOT_BEFORE=$ALLOT_BEFORE is not an executable" >&2
  exit 2
fi
bench_need_time

cargo build --release --quiet --bin allot --example gen
mkdir -p "${BENCH_TMP:-target}"
tmp=$(mktemp -d "${BENCH_TMP:-target}/bench-regress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

whos=(new)
declare -A bin=([new]=$ALLOT)
if [ -n "$ALLOT_BEFORE" ]; then whos+=(old); bin[old]=$ALLOT_BEFORE; fi
echo "allot: $ALLOT ($("$ALLOT" --version 2> /dev/null || echo '?'))"
if [ -n "$ALLOT_BEFORE" ]; then
  echo "before: $ALLOT_BEFORE ($("$ALLOT_BEFORE" --version 2> /dev/null || echo '?'))"
fi

# Inputs.
if has_item check; then
  benches/gen-policy.sh "$RULES" > "$tmp/big.allot"
  echo "policy: $RULES rules, $(wc -l < "$tmp/big.allot") lines, $(stat -c %s "$tmp/big.allot") bytes"
fi
if has_item listings; then
  inv=$tmp/inventory.csv
  target/release/examples/gen --skus "$LISTINGS_ROWS" --locations 3 > "$inv"
  # Amazon's All Listings report (Inventory > Inventory Reports), tab-separated, one row per
  # inventory SKU under the seller SKU benches/plan-1m.allot publishes on US (`{sku}-US` for
  # apparel and mugs, `{sku}` otherwise: candles and shoes are managed, books and lamps listed but
  # not managed on US).
  awk -F, -v OFS='\t' '
    BEGIN {
      print "item-name", "item-description", "listing-id", "seller-sku", "price", "quantity",
        "open-date", "image-url", "item-is-marketplace", "product-id-type", "zshop-shipping-fee",
        "item-note", "item-condition", "zshop-category1", "zshop-browse-path",
        "zshop-storefront-feature", "asin1", "asin2", "asin3", "will-ship-internationally",
        "expedited-shipping", "zshop-boldface", "product-id", "bid-for-featured-placement",
        "add-delete", "pending-quantity", "fulfillment-channel", "merchant-shipping-group", "status"
    }
    NR == 1 || $1 == last { next }
    {
      last = $1; n++
      split($1, part, "-"); fam = part[1]
      sku = (fam == "YOGA" || fam == "TEE" || fam == "SOCK" || fam == "MUG") ? $1 "-US" : $1
      qty = (n * 7919) % 60; chan = "DEFAULT"; st = "Active"
      if (n % 100 == 17) { qty = ""; chan = "AMAZON_NA" }
      else if (n % 200 == 3) { qty = ""; st = "Inactive" }
      asin = sprintf("B0%08d", n)
      print fam " item " n " by " $6, "A " tolower(fam) " for the benchmark", sprintf("%010dABC", n), sku,
        sprintf("%d.%02d", 5 + n % 90, n % 100), qty, "2024-03-0" (1 + n % 9) " 10:00:00 PST", "",
        "y", "1", "", "", "11", "", "", "", asin, "", "", "1", "N", "", asin, "", "", "0", chan,
        "Migrated Template", st
    }' "$inv" > "$tmp/report.txt"
  head -n 2 "$inv" > "$tmp/one.csv"
  one=$(awk -F, 'NR == 2 {print $1}' "$inv")
  echo "listings: $(( $(wc -l < "$tmp/report.txt") - 1 )) report rows ($(du -h "$tmp/report.txt" | cut -f1)); inventory $LISTINGS_ROWS SKUs, $(( $(wc -l < "$inv") - 1 )) rows"
fi

declare -A walls peaks notes
# run ITEM WHO ARGS...: one measured run of the binary WHO.
# run ITEM WHO --repeat N ARGS...: N runs in a row in one measurement (wall divided by N).
run() {
  local item=$1 who=$2 n=1
  shift 2
  if [ "$1" = --repeat ]; then n=$2; shift 2; fi
  if [ "$n" = 1 ]; then
    measure /dev/null 0 "${bin[$who]}" "$@"
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    measure /dev/null 0 bash -c 'n=$1; shift; for _ in $(seq "$n"); do "$@" || exit 1; done' _ "$n" \
      "${bin[$who]}" "$@"
  fi
  if [ "$status" = ok ]; then
    wall_ms=$(awk -v w="$wall_ms" -v n="$n" 'BEGIN {printf "%.3f", w / n}')
    walls[$item.$who]+="$wall_ms "; peaks[$item.$who]+="$peak_kb "
  elif [ "$who" = new ] && [ "$status" = failed ]; then
    echo "${bin[$who]} $* failed ($status):" >&2
    tail -n 20 "$tmp/stderr" >&2
    exit 1
  else
    notes[$item.$who]=$status
  fi
}
for r in $(seq 1 "$RUNS"); do
  echo "run $r of $RUNS..."
  for who in "${whos[@]}"; do
    if has_item check; then run check "$who" check "$tmp/big.allot"; fi
    if has_item listings; then
      run explain "$who" explain "$POLICY" "$one" --inventory "$tmp/one.csv" \
        --current "$tmp/report.txt" --current-marketplace US
      run plan-current "$who" plan "$POLICY" --inventory "$inv" --current "$tmp/report.txt" \
        --current-marketplace US
      run plan "$who" plan "$POLICY" --inventory "$inv"
    fi
    if has_item test; then
      # Milliseconds a run: TEST_REPEAT runs in one measurement, the wall divided among them.
      run test "$who" --repeat "$TEST_REPEAT" test policies
    fi
  done
done

cell() { # cell KEY.WHO secs|mib
  if [ -n "${notes[$1]:-}" ]; then echo n/a
  elif [ "$2" = secs ]; then awk -v x="$(best "${walls[$1]:-}")" 'BEGIN {printf "%.3f", x / 1000}'
  else mib "$(median "${peaks[$1]:-}")"; fi
}
echo
echo "best wall of $RUNS run(s), median peak; outputs to /dev/null"
hdr=$(printf '%-52s %9s %9s' item "allot s" "allot MiB")
if [ -n "$ALLOT_BEFORE" ]; then
  hdr+=$(printf ' %9s %10s %8s %8s' "before s" "before MiB" "wall x" "mem x")
fi
echo "$hdr"
row() { # row LABEL KEY
  local line
  line=$(printf '%-52s %9s %9s' "$1" "$(cell "$2.new" secs)" "$(cell "$2.new" mib)")
  if [ -n "$ALLOT_BEFORE" ]; then
    local rw=- rp=-
    if [ -z "${notes[$2.old]:-}" ]; then
      rw=$(ratio "$(best "${walls[$2.new]}")" "$(best "${walls[$2.old]}")")
      rp=$(ratio "$(median "${peaks[$2.new]}")" "$(median "${peaks[$2.old]}")")
    fi
    line+=$(printf ' %9s %10s %8s %8s' "$(cell "$2.old" secs)" "$(cell "$2.old" mib)" "$rw" "$rp")
  fi
  echo "$line"
}
if has_item check; then row "check, $RULES-rule policy" check; fi
if has_item listings; then
  row "listings: explain, 1-SKU inv + $LISTINGS_ROWS-row report" explain
  row "listings: plan --current ($LISTINGS_ROWS rows)" plan-current
  row "  the same plan without --current" plan
fi
if has_item test; then row "test policies" test; fi
if [ -n "$ALLOT_BEFORE" ]; then
  echo "(wall x, mem x: new / before. Target (issue 9): nothing gets slower, i.e. <= 1.00; on a shared"
  echo " 2-core machine differences of ~10% are noise: compare several runs)"
fi
for k in "${!notes[@]}"; do echo "n/a: ${k/./ of } (${notes[$k]})"; done | sort
