#!/usr/bin/env bash
# Benchmark against a peer: `allot plan` with benches/plan-1m.allot against the same allocation
# hand-written in DuckDB SQL (benches/peer-duckdb.sql, 2 threads), on one generated inventory.
# Checks that both publish the same offers (every seller SKU, channel and quantity), then prints
# wall time and peak memory side by side with the ratios allot/DuckDB. Not a test: numbers only
# (it exits 1 only when the offers differ or a run fails).
#   benches/peer-duckdb.sh                       # 1M SKUs x 3 locations, 3 timed runs per tool
#   SKUS=100000 RUNS=1 benches/peer-duckdb.sh    # a quick run
# LOCATIONS (default 3) is at most 3: the policy knows wh1..wh3.
# DuckDB (the `duckdb` Python package) and ijson (to stream-parse allot's JSON for the check) are
# installed into target/bench-venv on first use; that needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
SKUS=${SKUS:-1000000}
LOCATIONS=${LOCATIONS:-3}
RUNS=${RUNS:-3}
POLICY=benches/plan-1m.allot
SQL=benches/peer-duckdb.sql

venv=target/bench-venv
py=$venv/bin/python
if ! "$py" -c 'import duckdb, ijson' 2> /dev/null; then
  echo "installing duckdb and ijson into $venv"
  python3 -m venv "$venv"
  "$py" -m pip install --quiet duckdb ijson
fi
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing /usr/bin/time (apt-get install time)"
  { apt-get update -qq && apt-get install -y -qq time; } > /dev/null 2>&1 || true
fi

cargo build --release --quiet --bin allot --example gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inv=$tmp/inventory.csv

target/release/examples/gen --skus "$SKUS" --locations "$LOCATIONS" > "$inv"
rows=$(( $(wc -l < "$inv") - 1 ))
echo "inventory: $SKUS SKUs x $LOCATIONS locations = $rows rows ($(du -h "$inv" | cut -f1))"
echo "duckdb $("$py" -c 'import duckdb; print(duckdb.__version__)'), $(target/release/allot --version 2> /dev/null || echo allot)"

# The DuckDB side: run the SQL (which defines the view `offers`) on the inventory and write the
# offers to stdout as tab-separated seller_sku, channel, quantity. All of it is timed: Python's
# start and `import duckdb` (measured alone below), reading the CSV, the query and the output.
cat > "$tmp/run_sql.py" << 'EOF'
import sys, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET VARIABLE inventory = ?", [sys.argv[2]])
con.execute(open(sys.argv[1]).read())
con.execute("COPY offers TO '/dev/stdout' (FORMAT csv, HEADER false, DELIMITER '\t')")
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

# measure OUT CMD...: runs CMD with stdout to OUT; sets wall_ms and peak_kb (the peak resident
# memory, from /usr/bin/time -v, else the VmHWM of the process polled every 50 ms).
measure() {
  local out=$1 start end pid hwm
  shift
  start=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" > "$out" 2> "$tmp/stderr" || { cat "$tmp/stderr" >&2; exit 1; }
    peak_kb=$(awk '/Maximum resident set size/ {print $NF}' "$tmp/stderr")
  else
    "$@" > "$out" 2> "$tmp/stderr" &
    pid=$!
    peak_kb=0
    while kill -0 "$pid" 2> /dev/null; do
      hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
      if [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ]; then peak_kb=$hwm; fi
      sleep 0.05
    done
    wait "$pid" || { cat "$tmp/stderr" >&2; exit 1; }
  fi
  end=$(date +%s%N)
  wall_ms=$(( (end - start) / 1000000 ))
}

# 1. Same offers? Untimed: allot's JSON streamed into the extractor, DuckDB's offers to a file,
#    then compared in DuckDB (EXCEPT ALL both ways; differences joined on seller SKU + channel).
echo "checking that both publish the same offers..."
target/release/allot plan "$POLICY" --inventory "$inv" --format json 2> "$tmp/allot-stderr" \
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

# 2. Timed runs, the tools in turn. Every run writes its whole output to /dev/null: allot the
#    table (what benches/plan-1m.sh measures: the main figure) and the JSON, DuckDB its offers.
declare -A walls peaks
tools=("allot plan (table)" "allot plan --format json" "DuckDB SQL, 2 threads")
for run in $(seq 1 "$RUNS"); do
  echo "timed run $run of $RUNS..."
  measure /dev/null target/release/allot plan "$POLICY" --inventory "$inv"
  walls[${tools[0]}]+="$wall_ms "; peaks[${tools[0]}]+="$peak_kb "
  measure /dev/null target/release/allot plan "$POLICY" --inventory "$inv" --format json
  walls[${tools[1]}]+="$wall_ms "; peaks[${tools[1]}]+="$peak_kb "
  measure /dev/null "${duckdb_run[@]}"
  walls[${tools[2]}]+="$wall_ms "; peaks[${tools[2]}]+="$peak_kb "
done
measure /dev/null "$py" -c 'import duckdb; duckdb.connect()'
base_ms=$wall_ms base_kb=$peak_kb

# Lowest and median of a list of numbers.
best() { tr ' ' '\n' <<< "$1" | grep . | sort -n | head -1; }
median() { tr ' ' '\n' <<< "$1" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

d_wall=$(best "${walls[${tools[2]}]}")
d_peak=$(median "${peaks[${tools[2]}]}")
echo
echo "$SKUS SKUs x $LOCATIONS locations ($rows rows), $RUNS timed runs per tool, output to /dev/null"
printf '%-26s %12s %14s %10s %16s %17s\n' tool "best wall s" "median wall s" "peak MiB" \
  "wall allot/DDB" "memory allot/DDB"
for t in "${tools[@]}"; do
  w=$(best "${walls[$t]}") m=$(median "${walls[$t]}") p=$(median "${peaks[$t]}")
  if [ "$t" = "${tools[2]}" ]; then rw=- rp=-; else
    rw=$(awk -v a="$w" -v b="$d_wall" 'BEGIN {printf "%.2f", a / b}')
    rp=$(awk -v a="$p" -v b="$d_peak" 'BEGIN {printf "%.2f", a / b}')
  fi
  printf '%-26s %12.2f %14.2f %10d %16s %17s\n' "$t" "$(awk -v x="$w" 'BEGIN {print x / 1000}')" \
    "$(awk -v x="$m" 'BEGIN {print x / 1000}')" $(( p / 1024 )) "$rw" "$rp"
done
echo "(peak: median over the runs; DuckDB's figures include starting Python and importing duckdb:"
echo " $(awk -v x="$base_ms" 'BEGIN {printf "%.2f", x / 1000}') s and $(( base_kb / 1024 )) MiB on their own)"
