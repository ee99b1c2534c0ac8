# Shared by the benchmark scripts (sourced, not run): measuring a command's wall time and peak
# memory, with an optional time window and a memory cap, and a few number helpers.
# The caller sets `tmp` (a scratch directory) before calling `measure`.
# shellcheck shell=bash disable=SC2034  # (wall_ms, peak_kb, status: read by the caller)

# /usr/bin/time gives the exact peak resident memory; install it when we can (root + apt).
bench_need_time() {
  if [ ! -x /usr/bin/time ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "installing /usr/bin/time (apt-get install time)"
    { apt-get update -qq && apt-get install -y -qq time; } > /dev/null 2>&1 || true
  fi
}

# The memory cap (KiB) for every measured command: MEM_CAP_MIB, else 80% of the memory available
# when the script starts. A command above it is killed (status `over-cap`), so a run that would
# exhaust the machine (an old binary at 10M SKUs) cannot take other processes down with it.
bench_mem_cap_kb() {
  if [ -n "${MEM_CAP_MIB:-}" ]; then
    echo $(( MEM_CAP_MIB * 1024 ))
  else
    awk '/MemAvailable/ {printf "%d", $2 * 0.8}' /proc/meminfo
  fi
}

# measure OUT LIMIT_S CMD...: runs CMD with stdout to OUT and stderr to $tmp/stderr. Sets
#   wall_ms   wall time (from /usr/bin/time when present: exact; else polled, within ~20 ms)
#   peak_kb   peak resident memory of CMD (VmHWM; /usr/bin/time's maximum resident set size)
#   status    ok | failed (non-zero exit) | cut (LIMIT_S > 0 seconds passed: sent SIGTERM, then
#             SIGKILL 10 s later; the figures cover the window) | over-cap (killed above the cap)
# Never exits the script: the caller decides what a failure means.
measure() {
  local out=$1 limit=$2 start end pid target rc hwm cap deadline el
  shift 2
  cap=${bench_cap_kb:=$(bench_mem_cap_kb)}
  status=ok peak_kb=0
  rm -f "${tmp:?}/time"
  start=$(date +%s%N)
  deadline=$(( start + limit * 1000000000 ))
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$tmp/time" "$@" > "$out" 2> "$tmp/stderr" &
  else
    "$@" > "$out" 2> "$tmp/stderr" &
  fi
  pid=$!
  target=
  while kill -0 "$pid" 2> /dev/null; do
    if [ -z "$target" ]; then
      if [ -x /usr/bin/time ]; then
        target=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2> /dev/null || true)
      else
        target=$pid
      fi
    fi
    if [ -n "$target" ]; then
      hwm=$(awk '/VmHWM/ {print $2}' "/proc/$target/status" 2> /dev/null || true)
      if [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ]; then peak_kb=$hwm; fi
      if [ "$peak_kb" -gt "$cap" ] && [ "$status" = ok ]; then
        status=over-cap
        kill -KILL "$target" 2> /dev/null || true
      fi
      if [ "$limit" -gt 0 ] && [ "$status" = ok ] && [ "$(date +%s%N)" -ge "$deadline" ]; then
        status='cut'
        # SIGTERM, not SIGINT: a background job of a script starts with SIGINT ignored.
        kill -TERM "$target" 2> /dev/null || true
        ( sleep 10; kill -KILL "$target" 2> /dev/null || true ) &
      fi
    fi
    sleep 0.02
  done
  rc=0
  wait "$pid" || rc=$?
  end=$(date +%s%N)
  wall_ms=$(( (end - start) / 1000000 ))
  if [ -s "$tmp/time" ]; then
    hwm=$(awk '/Maximum resident set size/ {print $NF}' "$tmp/time")
    if [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ]; then peak_kb=$hwm; fi
    el=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0
           for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%d", s * 1000}' "$tmp/time")
    if [ -n "$el" ] && [ "$status" != cut ]; then wall_ms=$el; fi
  fi
  if [ "$status" = cut ]; then
    wall_ms=$(( limit * 1000 ))
  elif [ "$status" = ok ] && [ "$rc" != 0 ]; then
    status=failed
  fi
}

# Lowest and median of a space-separated list of numbers (empty when the list is).
best() { tr ' ' '\n' <<< "$1" | { grep . || true; } | sort -n | head -1; }
median() { tr ' ' '\n' <<< "$1" | { grep . || true; } | sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
# secs MS -> "1.23"; mib KB -> "123"; ratio A B -> "0.85" (or "-" when either is missing).
secs() { if [ -n "$1" ]; then awk -v x="$1" 'BEGIN {printf "%.2f", x / 1000}'; else echo n/a; fi; }
mib() { if [ -n "$1" ]; then echo $(( $1 / 1024 )); else echo n/a; fi; }
ratio() {
  if [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ]; then
    awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
  else
    echo -
  fi
}
# le A B: is A <= B (decimal)?
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
