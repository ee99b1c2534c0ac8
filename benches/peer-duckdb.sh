#!/usr/bin/env bash
# Benchmark against a peer (issue 9): allot with benches/plan-1m.allot against the same allocation
# hand-written in DuckDB SQL (benches/peer-duckdb.sql, 2 threads), on one generated inventory.
# Checks that both publish the same offers (every seller SKU, channel and quantity), then times
# each step and prints wall time and peak memory side by side with the ratios allot/DuckDB and
# the issue's targets. Not a test: numbers only (it exits 1 only when the offers differ, a step of
# the new binary fails or the setup fails; a command killed above MEM_CAP_MIB is shown as such).
#
#   benches/peer-duckdb.sh                                 # 1M SKUs x 3 locations, 3 runs a step
#   SKUS=100000 RUNS=1 benches/peer-duckdb.sh              # a quick run
#   ALLOT_BEFORE=/tmp/b/allot-before benches/peer-duckdb.sh  # plus a before/after column
#   SKUS=10000000 STEPS=out benches/peer-duckdb.sh         # the 10M-SKU target: plan --out < 2 GiB
#
# Steps (STEPS, comma-separated; default all):
#   preview   `allot plan POLICY --inventory F`, the table (and `--format json`, `--format markdown`)
#             to /dev/null, against DuckDB writing its offers to /dev/null
#   out       `allot plan POLICY --inventory F --allow-new --all --out plan.json` (table to
#             /dev/null), against DuckDB writing its offers to a file; prints both file sizes
#   show      `allot show plan.json`, the table to /dev/null
#   validate  `allot apply plan.json --validate-only` against a local `allot sandbox` on 127.0.0.1
#             (rate scale 100000, so the rate limits do not pace it): run for at most
#             VALIDATE_SECS seconds (default 60; 0 = to the end), then stopped (SIGTERM); prints how many
#             operations were validated in that window and the rate
#   apply     `allot apply plan.json` (sending: feed mode, journaled, each run with a fresh journal)
#             against the same sandbox, for at most APPLY_SECS seconds (default 120; 0 = to the
#             end), then stopped; prints how many operations were accepted in that window
#   show, validate and apply are also run on a plan of REF_SKUS SKUs (default 10000): the issue's
#   target is memory that does not grow with the plan, so the peak at SKUS is printed as a
#   multiple of the peak at REF_SKUS.
#
# Other settings: LOCATIONS (default 3, at most 3: the policy knows wh1..wh3); ALLOT (the binary
# measured, default target/release/allot, built here); ALLOT_BEFORE (an older binary run through the
# same steps: a failing step, e.g. a flag it lacks, shows n/a); CHECK (1 or 0: compare the offers
# or not; default: only up to CHECK_MAX_SKUS, 2000000, since the check runs the JSON preview, about
# 3 GB of JSON per 1M SKUs streamed through Python); MEM_CAP_MIB (kill any measured command above
# this; default 80% of the memory available at start); BENCH_TMP (the scratch directory's parent,
# default target/: a 1M-SKU plan is about 0.9 GB, a 10M one about 9 GB, checked before starting).
# DuckDB (the `duckdb` Python package) and ijson (to stream-parse allot's JSON for the check) are
# installed into target/bench-venv on first use; that needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
. benches/lib.sh
SKUS=${SKUS:-1000000}
LOCATIONS=${LOCATIONS:-3}
RUNS=${RUNS:-3}
STEPS=${STEPS:-preview,out,show,validate,apply}
VALIDATE_SECS=${VALIDATE_SECS:-60}
APPLY_SECS=${APPLY_SECS:-120}
REF_SKUS=${REF_SKUS:-10000}
CHECK_MAX_SKUS=${CHECK_MAX_SKUS:-2000000}
ALLOT=${ALLOT:-target/release/allot}
ALLOT_BEFORE=${ALLOT_BEFORE:-}
POLICY=benches/plan-1m.allot
SQL=benches/peer-duckdb.sql

has_step() { [[ ",$STEPS," == *",$1,"* ]]; }
for s in ${STEPS//,/ }; do
  case $s in preview | out | show | validate | apply) ;; *) echo "unknown step '$s' in STEPS (preview,out,show,validate,apply)" >&2; exit 2 ;; esac
done
if [ -z "${CHECK:-}" ]; then
  if [ "$SKUS" -le "$CHECK_MAX_SKUS" ] && { has_step preview || has_step out; }; then CHECK=1; else CHECK=0; fi
fi
if [ -n "$ALLOT_BEFORE" ] && [ ! -x "$ALLOT_BEFORE" ]; then
  echo "ALLOT_BEFORE=$ALLOT_BEFORE is not an executable" >&2
  exit 2
fi

venv=target/bench-venv
py=$venv/bin/python
if ! "$py" -c 'import duckdb, ijson' 2> /dev/null; then
  echo "installing duckdb and ijson into $venv"
  python3 -m venv "$venv"
  "$py" -m pip install --quiet duckdb ijson
fi
bench_need_time

cargo build --release --quiet --bin allot --example gen
mkdir -p "${BENCH_TMP:-target}"
tmp=$(mktemp -d "${BENCH_TMP:-target}/bench-peer.XXXXXX")
sandbox_pid=
cleanup() {
  if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2> /dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# Disk: the inventory (~65 bytes a SKU), each binary's plan (~900), DuckDB's offers and the
# check's two lists (~80 each). Refuse to start when the scratch file system has less.
binaries=1
if [ -n "$ALLOT_BEFORE" ]; then binaries=2; fi
need_mb=$(( SKUS * (65 + 160 * CHECK + 80 + 900 * binaries) / 1000000 + 50 ))
avail_mb=$(df -Pm "$tmp" | awk 'NR == 2 {print $4}')
if [ "$avail_mb" -lt "$need_mb" ]; then
  echo "not enough disk in $tmp: about $need_mb MB needed, $avail_mb MB free (set BENCH_TMP)" >&2
  exit 2
fi

inv=$tmp/inventory.csv
target/release/examples/gen --skus "$SKUS" --locations "$LOCATIONS" > "$inv"
rows=$(( $(wc -l < "$inv") - 1 ))
echo "inventory: $SKUS SKUs x $LOCATIONS locations = $rows rows ($(du -h "$inv" | cut -f1)); steps $STEPS; $RUNS run(s) a step"
echo "allot: $ALLOT ($("$ALLOT" --version 2> /dev/null || echo '?'))"
if [ -n "$ALLOT_BEFORE" ]; then
  echo "before: $ALLOT_BEFORE ($("$ALLOT_BEFORE" --version 2> /dev/null || echo '?'))"
fi
echo "duckdb $("$py" -c 'import duckdb; print(duckdb.__version__)'); memory cap per command $(( $(bench_mem_cap_kb) / 1024 )) MiB; scratch $tmp (${need_mb} MB estimated)"

# The DuckDB side: run the SQL (which defines the view `offers`) on the inventory and write the
# offers as tab-separated seller_sku, channel, quantity to argv[3] (default stdout). All of it is
# timed: Python's start and `import duckdb` (measured alone below), reading the CSV, the query
# and the output.
cat > "$tmp/run_sql.py" << 'EOF'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET VARIABLE inventory = ?", [sys.argv[2]])
con.execute(open(sys.argv[1]).read())
out = sys.argv[3] if len(sys.argv) > 3 else "/dev/stdout"
con.execute("COPY offers TO '" + out.replace("'", "''") + "' (FORMAT csv, HEADER false, DELIMITER '\t')")
EOF
duckdb_run=("$py" "$tmp/run_sql.py" "$SQL" "$inv")

# allot's preview JSON on stdin -> the same tab-separated offers: changes[].seller_sku with each
# of its channels[].channel and .new. Streamed: the JSON of 1M SKUs is about 3 GB.
cat > "$tmp/extract.py" << 'EOF'
import sys, ijson
w = sys.stdout.write
for c in ijson.items(sys.stdin.buffer, "changes.item", use_float=True):
    s = c["seller_sku"]
    for ch in c["channels"]:
        w(f"{s}\t{ch['channel']}\t{ch['new']}\n")
EOF

# 1. Same offers? Untimed: allot's JSON streamed into the extractor, DuckDB's offers to a file,
#    then compared in DuckDB (EXCEPT ALL both ways; differences joined on seller SKU + channel).
if [ "$CHECK" = 1 ]; then
  echo "checking that both publish the same offers..."
  "$ALLOT" plan "$POLICY" --inventory "$inv" --format json 2> "$tmp/allot-stderr" \
    | "$py" "$tmp/extract.py" > "$tmp/allot.tsv" || { cat "$tmp/allot-stderr" >&2; exit 1; }
  "${duckdb_run[@]}" > "$tmp/duckdb.tsv"
  "$py" - "$tmp/allot.tsv" "$tmp/duckdb.tsv" << 'EOF' || exit 1
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
cols = "{'seller_sku': 'VARCHAR', 'channel': 'VARCHAR', 'quantity': 'UBIGINT'}"
for name, path in (("a", sys.argv[1]), ("d", sys.argv[2])):
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, delim = '\t', header = false, "
                f"auto_detect = false, columns = {cols})", [path])
q = lambda sql: con.execute(sql).fetchall()
only_a = q("SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM d)")[0][0]
only_d = q("SELECT count(*) FROM (SELECT * FROM d EXCEPT ALL SELECT * FROM a)")[0][0]
(rows, offers), = q("SELECT count(*), count(DISTINCT seller_sku) FROM a")
if only_a == 0 and only_d == 0:
    print(f"offers agree: {offers} offers, {rows} channel quantities")
    sys.exit(0)
print(f"offers DIFFER: {only_a} channel quantities only in allot's, {only_d} only in DuckDB's")
for dup in ("a", "d"):
    n = q(f"SELECT count(*) FROM (SELECT seller_sku, channel FROM {dup} "
          "GROUP BY seller_sku, channel HAVING count(*) > 1)")[0][0]
    if n:
        print(f"  {n} (seller SKU, channel) pairs appear more than once in "
              f"{'allot' if dup == 'a' else 'DuckDB'}'s")
print(f"  {'seller SKU':<24} {'channel':<38} {'allot':>8} {'DuckDB':>8}")
for s, c, qa, qd in q("""
        SELECT seller_sku, channel, a.quantity, d.quantity FROM a FULL JOIN d USING (seller_sku, channel)
        WHERE a.quantity IS DISTINCT FROM d.quantity ORDER BY seller_sku, channel LIMIT 20"""):
    print(f"  {s:<24} {c:<38} {'-' if qa is None else qa:>8} {'-' if qd is None else qd:>8}")
sys.exit(1)
EOF
  rm -f "$tmp/allot.tsv" "$tmp/duckdb.tsv"
else
  echo "offer check skipped (CHECK=0, or more than CHECK_MAX_SKUS=$CHECK_MAX_SKUS SKUs, or neither preview nor out selected)"
fi

# Results: for each row key, space-separated lists of wall ms and peak KiB per binary ("new",
# "old", "duckdb"); a failed run of the old binary is recorded as "x" (shown n/a).
declare -A walls peaks notes
record() { # record KEY WHO
  if [ "$status" = ok ] || [ "$status" = cut ]; then
    walls[$1.$2]+="$wall_ms "; peaks[$1.$2]+="$peak_kb "
  else
    notes[$1.$2]="$status"
  fi
}
# run_allot KEY WHO BIN OUT LIMIT ARGS...: measures BIN ARGS; a failure of the new binary stops the
# script with its stderr, one of the old binary is noted (n/a) with its first error line.
run_allot() {
  local key=$1 who=$2 bin=$3 out=$4 limit=$5
  shift 5
  measure "$out" "$limit" "$bin" "$@"
  record "$key" "$who"
  if [ "$status" = over-cap ]; then
    echo "  $who: $key killed above the memory cap ($(mib "$bench_cap_kb") MiB)"
  elif [ "$status" = failed ]; then
    if [ "$who" = new ]; then
      echo "$bin $* failed:" >&2
      tail -n 20 "$tmp/stderr" >&2
      exit 1
    fi
    echo "  before: $key failed: $(grep -m1 -i 'error' "$tmp/stderr" || head -n1 "$tmp/stderr")"
  fi
}
# The binaries measured: "new" always, "old" with ALLOT_BEFORE. Each writes and reads its own plan
# (the plan format may have changed between them).
whos=(new)
declare -A bin=([new]=$ALLOT)
if [ -n "$ALLOT_BEFORE" ]; then whos+=(old); bin[old]=$ALLOT_BEFORE; fi

# A plan of REF_SKUS SKUs per binary, for the memory-does-not-grow comparison of show and validate.
ref_inv=$tmp/ref-inventory.csv
if has_step show || has_step validate || has_step apply; then
  target/release/examples/gen --skus "$REF_SKUS" --locations "$LOCATIONS" --seed 7 > "$ref_inv"
  for who in "${whos[@]}"; do
    "${bin[$who]}" plan "$POLICY" --inventory "$ref_inv" --allow-new --all --out "$tmp/ref-$who.json" \
      > /dev/null 2> "$tmp/stderr" || rm -f "$tmp/ref-$who.json"
  done
fi
# The full plans: written by the out step; made here, untimed, when out is not selected.
if ! has_step out && { has_step show || has_step validate || has_step apply; }; then
  for who in "${whos[@]}"; do
    echo "writing $who's plan (untimed: STEPS has no out)..."
    "${bin[$who]}" plan "$POLICY" --inventory "$inv" --allow-new --all --out "$tmp/plan-$who.json" \
      > /dev/null 2> "$tmp/plan-$who.stderr" || rm -f "$tmp/plan-$who.json"
  done
fi

# The sandbox for validate: the new binary's, on a free loopback port, memory only, rate limits
# scaled out of the way, a short request log (its last sequence number counts the requests).
scale=100000
if has_step validate || has_step apply; then
  "$ALLOT" sandbox --addr 127.0.0.1:0 --rate-scale "$scale" --log-limit 10 > "$tmp/sandbox.out" 2>&1 &
  sandbox_pid=$!
  for _ in $(seq 1 100); do
    sb=$(grep -o -m1 'http://127\.0\.0\.1:[0-9]*' "$tmp/sandbox.out" || true)
    if [ -n "$sb" ]; then break; fi
    sleep 0.1
  done
  if [ -z "$sb" ]; then echo "allot sandbox did not start:" >&2; cat "$tmp/sandbox.out" >&2; exit 1; fi
  # The sandbox takes any credentials: these are its documented placeholders, not secrets.
  export LWA_APP_ID=sandbox LWA_CLIENT_SECRET=sandbox SP_API_REFRESH_TOKEN=sandbox
fi
# The number of SP-API requests the sandbox has answered so far.
sandbox_seq() {
  "$py" -c 'import json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1] + "/_sandbox/requests"))
print(log[-1]["seq"] if log else 0)' "$sb"
}
declare -A validated
# validate WHO KEY PLAN LIMIT: one validate-only run, noting how many requests it sent.
validate() {
  local who=$1 key=$2 plan=$3 limit=$4 before
  before=$(sandbox_seq)
  run_allot "$key" "$who" "${bin[$who]}" /dev/null "$limit" apply "$plan" --validate-only \
    --endpoint "$sb" --lwa-endpoint "$sb/auth/o2/token" --rate-scale "$scale" --max-age 24h
  validated[$key.$who]=$(( $(sandbox_seq) - before ))
  if [ "$status" = cut ]; then notes[$key.$who]='cut'; fi
}

declare -A applied
# apply_run WHO KEY PLAN LIMIT: one apply from a fresh journal, noting how many operations it
# journaled accepted.
apply_run() {
  local who=$1 key=$2 plan=$3 limit=$4
  rm -f "$plan.journal"
  # --force: the plan's inputs are this run's scratch files, and its age does not matter here.
  run_allot "$key" "$who" "${bin[$who]}" /dev/null "$limit" apply "$plan" --force \
    --endpoint "$sb" --lwa-endpoint "$sb/auth/o2/token" --rate-scale "$scale"
  applied[$key.$who]=$(grep -c '"status":"accepted"' "$plan.journal" 2> /dev/null || true)
  if [ "$status" = cut ]; then notes[$key.$who]='cut'; fi
  rm -f "$plan.journal"
}

# 2. Timed runs, step by step, each binary in turn; every output to /dev/null except the plans.
for run in $(seq 1 "$RUNS"); do
  echo "timed run $run of $RUNS..."
  if has_step preview; then
    for who in "${whos[@]}"; do
      run_allot preview "$who" "${bin[$who]}" /dev/null 0 plan "$POLICY" --inventory "$inv"
      run_allot preview-json "$who" "${bin[$who]}" /dev/null 0 plan "$POLICY" --inventory "$inv" --format json
      run_allot preview-md "$who" "${bin[$who]}" /dev/null 0 plan "$POLICY" --inventory "$inv" --format markdown
    done
    measure /dev/null 0 "${duckdb_run[@]}"
    record preview duckdb
  fi
  if has_step out; then
    for who in "${whos[@]}"; do
      rm -f "$tmp/plan-$who.json"
      run_allot out "$who" "${bin[$who]}" /dev/null 0 plan "$POLICY" --inventory "$inv" --allow-new --all \
        --out "$tmp/plan-$who.json"
      cp "$tmp/stderr" "$tmp/plan-$who.stderr"
      if [ "$status" != ok ]; then rm -f "$tmp/plan-$who.json"; fi
    done
    rm -f "$tmp/offers.tsv"
    measure /dev/null 0 "${duckdb_run[@]}" "$tmp/offers.tsv"
    record out duckdb
  fi
  if has_step show; then
    for who in "${whos[@]}"; do
      if [ -s "$tmp/plan-$who.json" ]; then
        run_allot show "$who" "${bin[$who]}" /dev/null 0 show "$tmp/plan-$who.json"
      else notes[show.$who]="no plan"; fi
      if [ "$run" = 1 ] && [ -s "$tmp/ref-$who.json" ]; then
        run_allot show-ref "$who" "${bin[$who]}" /dev/null 0 show "$tmp/ref-$who.json"
      fi
    done
  fi
done
# validate runs once per binary (a window, not a repeatable figure), on the full plan and the
# REF_SKUS one (the latter always to the end).
if has_step validate; then
  echo "validate-only runs (at most ${VALIDATE_SECS} s each)..."
  for who in "${whos[@]}"; do
    if [ -s "$tmp/plan-$who.json" ]; then validate "$who" validate "$tmp/plan-$who.json" "$VALIDATE_SECS"
    else notes[validate.$who]="no plan"; fi
    if [ -s "$tmp/ref-$who.json" ]; then validate "$who" validate-ref "$tmp/ref-$who.json" 0; fi
  done
fi
# apply likewise: once per binary, the full plan in a window, the REF_SKUS one to the end.
if has_step apply; then
  echo "apply runs (at most ${APPLY_SECS} s each)..."
  for who in "${whos[@]}"; do
    if [ -s "$tmp/plan-$who.json" ]; then apply_run "$who" apply "$tmp/plan-$who.json" "$APPLY_SECS"
    else notes[apply.$who]="no plan"; fi
    if [ -s "$tmp/ref-$who.json" ]; then apply_run "$who" apply-ref "$tmp/ref-$who.json" 0; fi
  done
fi
measure /dev/null 0 "$py" -c 'import duckdb; duckdb.connect()'
base_ms=$wall_ms base_kb=$peak_kb

# 3. The table. Wall: the best run; peak memory: the median run.
w() { best "${walls[$1]:-}"; }
p() { median "${peaks[$1]:-}"; }
cell() { # cell KEY.WHO FORMAT(secs|mib)
  local v
  if [ "${notes[$1]:-}" = over-cap ]; then
    if [ "$2" = secs ]; then echo killed; else echo ">$(mib "$bench_cap_kb")"; fi
    return
  fi
  if [ -n "${notes[$1]:-}" ] && [ "${notes[$1]}" != cut ]; then echo n/a; return; fi
  if [ "$2" = secs ]; then v=$(w "$1"); secs "$v"; else v=$(p "$1"); mib "$v"; fi
}
# verdict WALL_RATIO WALL_MAX MEM_RATIO MEM_MAX
verdict() {
  if [ "$1" = - ] || [ "$3" = - ]; then echo "NOT met (no figure)"; return; fi
  if le "$1" "$2" && le "$3" "$4"; then echo met; else echo "NOT met"; fi
}
echo
echo "$SKUS SKUs x $LOCATIONS locations ($rows rows); best wall of $RUNS run(s), median peak; outputs to /dev/null"
hdr=$(printf '%-22s %9s %9s' step "allot s" "allot MiB")
if [ -n "$ALLOT_BEFORE" ]; then hdr+=$(printf ' %9s %10s' "before s" "before MiB"); fi
hdr+=$(printf ' %9s %10s %8s %8s  %s' "DuckDB s" "DuckDB MiB" "wall x" "mem x" "target (new binary; issue 9, at 1M SKUs)")
echo "$hdr"
row() { # row LABEL KEY DUCKKEY TARGET_TEXT WALL_MAX MEM_MAX
  local label=$1 key=$2 dk=$3 text=$4 wmax=$5 pmax=$6 line rw=- rp=- v
  line=$(printf '%-22s %9s %9s' "$label" "$(cell "$key.new" secs)" "$(cell "$key.new" mib)")
  if [ -n "$ALLOT_BEFORE" ]; then
    line+=$(printf ' %9s %10s' "$(cell "$key.old" secs)" "$(cell "$key.old" mib)")
  fi
  if [ -n "$dk" ]; then
    rw=$(ratio "$(w "$key.new")" "$(w "$dk.duckdb")") rp=$(ratio "$(p "$key.new")" "$(p "$dk.duckdb")")
    line+=$(printf ' %9s %10s %8s %8s' "$(secs "$(w "$dk.duckdb")")" "$(mib "$(p "$dk.duckdb")")" "$rw" "$rp")
  else
    line+=$(printf ' %9s %10s %8s %8s' - - - -)
  fi
  v=
  if [ -n "$wmax" ]; then v=$(verdict "$rw" "$wmax" "$rp" "$pmax"); fi
  echo "$line  $text${v:+: $v}"
}
if has_step preview; then
  row "plan (table)" preview preview "wall <= 0.8x, memory <= 1x DuckDB's" 0.8 1
  row "plan --format json" preview-json preview "wall <= 0.8x, memory <= 1x DuckDB's" 0.8 1
  row "plan --format markdown" preview-md preview "(the PR comment; no target)" "" ""
fi
if has_step out; then
  row "plan --all --out" out out "wall <= 1.5x, memory <= 2x DuckDB's" 1.5 2
fi
# grow KEY: the peak at SKUS as a multiple of the peak at REF_SKUS, per binary.
grow() {
  local key=$1 who r out=""
  for who in "${whos[@]}"; do
    r=$(ratio "$(p "$key.$who")" "$(p "$key-ref.$who")")
    out+="${out:+, }$who $r"
  done
  echo "$out"
}
if has_step show; then
  row "show (table)" show "" "memory flat in plan size: peak / peak at $REF_SKUS SKUs = $(grow show)" "" ""
fi
if has_step validate; then
  row "apply --validate-only" validate "" "memory flat in plan size: peak / peak at $REF_SKUS SKUs = $(grow validate)" "" ""
fi
if has_step apply; then
  row "apply (feeds)" apply "" "peak / peak at $REF_SKUS SKUs = $(grow apply) (the plan is not held)" "" ""
fi
if has_step preview || has_step out; then
  echo "(DuckDB's figures include starting Python and importing duckdb: $(secs "$base_ms") s and $(mib "$base_kb") MiB on their own)"
fi
if has_step out; then
  for who in "${whos[@]}"; do
    if [ -s "$tmp/plan-$who.json" ]; then
      echo "plan file ($who): $(du -h "$tmp/plan-$who.json" | cut -f1) ($(stat -c %s "$tmp/plan-$who.json") bytes)"
    fi
  done
  if [ -s "$tmp/offers.tsv" ]; then
    echo "DuckDB's offers file: $(du -h "$tmp/offers.tsv" | cut -f1) ($(wc -l < "$tmp/offers.tsv") channel quantities)"
  fi
  pk=$(p out.new)
  if [ -n "$pk" ] && [ "$pk" -lt $(( 2 * 1024 * 1024 )) ]; then v=met; else v="NOT met"; fi
  if [ "$SKUS" -ge 10000000 ]; then
    echo "10M-SKU target: plan --all --out peak $(cell out.new mib) MiB, under 2048 MiB at $SKUS SKUs: $v"
  else
    echo "(the 10M-SKU target, plan --out under 2048 MiB, is judged at SKUS=10000000; here: $(cell out.new mib) MiB)"
  fi
fi
if has_step show || has_step validate || has_step apply; then
  for who in "${whos[@]}"; do
    if [ -s "$tmp/ref-$who.json" ]; then
      line=
      if has_step show; then line+=", show peak $(cell "show-ref.$who" mib) MiB"; fi
      if has_step validate; then line+=", validate peak $(cell "validate-ref.$who" mib) MiB in $(cell "validate-ref.$who" secs) s"; fi
      if has_step apply; then line+=", apply peak $(cell "apply-ref.$who" mib) MiB in $(cell "apply-ref.$who" secs) s (${applied[apply-ref.$who]:-0} accepted)"; fi
      echo "reference plan ($who, $REF_SKUS SKUs): ${line#, }"
    fi
  done
fi
if has_step validate; then
  for who in "${whos[@]}"; do
    n=${validated[validate.$who]:-}
    if [ -z "$n" ] || { [ -n "${notes[validate.$who]:-}" ] && [ "${notes[validate.$who]}" != cut ]; }; then continue; fi
    wl=$(w "validate.$who")
    rate=$(awk -v n="$n" -v ms="$wl" 'BEGIN {printf "%d", (ms > 0) ? n * 1000 / ms : 0}')
    if [ "${notes[validate.$who]:-}" = cut ]; then
      total=$(grep -o -m1 '[0-9][0-9]* operations' "$tmp/plan-$who.stderr" 2> /dev/null | cut -d' ' -f1 || true)
      if [ -n "$total" ] && [ "$rate" -gt 0 ]; then
        total=" of $total (the whole plan would take about $(( total / rate )) s at that rate)"
      elif [ -n "$total" ]; then
        total=" of $total (none in the window: reading the plan took longer)"
      fi
      echo "validate ($who): cut after $VALIDATE_SECS s: $n operations validated ($rate/s)$total; the figures are that window's"
    else
      echo "validate ($who): the whole plan, $n operations validated ($rate/s)"
    fi
  done
  echo "(validate: against allot sandbox at rate scale $scale on 127.0.0.1, 8 requests in flight; the sandbox is the new binary's)"
fi
if has_step apply; then
  for who in "${whos[@]}"; do
    n=${applied[apply.$who]:-}
    if [ -z "$n" ] || { [ -n "${notes[apply.$who]:-}" ] && [ "${notes[apply.$who]}" != cut ]; }; then continue; fi
    if [ "${notes[apply.$who]:-}" = cut ]; then
      echo "apply ($who): cut after $APPLY_SECS s: $n operations journaled accepted; the figures are that window's"
    else
      echo "apply ($who): the whole plan, $n operations journaled accepted in $(cell "apply.$who" secs) s"
    fi
  done
  echo "(apply: feed mode against the same sandbox, 8 documents in flight, from a fresh journal each run)"
fi
for k in "${!notes[@]}"; do
  if [ "${notes[$k]}" != cut ]; then echo "n/a: ${k/./ of } (${notes[$k]})"; fi # cut: a window
done | sort
if [ "$SKUS" != 1000000 ] && { has_step preview || has_step out; }; then
  echo "(the issue's targets are stated for 1M SKUs; this run has $SKUS)"
fi
