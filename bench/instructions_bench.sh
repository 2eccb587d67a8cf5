#!/usr/bin/env bash
# Instructions per write (issue 17): an exact, repeatable cost figure where wall-clock throughput is noisy. The server
# runs under `valgrind --tool=callgrind` (default durability fsync, STOMP/TCP on for the STOMP door) and
# `build/backside-loadgen fanout --writes N --window 1` connects one subscriber and one writer to one path and makes
# exactly N small writes (64-byte values), each sent once the previous one was delivered; then the server is stopped
# (SIGTERM) and callgrind's total is read. The same run with 0 writes (start-up, the same two connections and the
# listen, shutdown) is the baseline: instructions per write = (I_N − I_0) / N, every thread of the server counted.
# The per-function inclusive costs of the two profiles, subtracted and divided by N, say where a write's instructions
# go (the top of that list is printed and written to the section; build/instructions/ keeps the profiles for
# callgrind_annotate).
# Usage: bench/instructions_bench.sh [--quick]   (--quick: N = 200, Firebase protocol only, build/benchmarks-instructions-quick.md)
# Environment: BACKSIDE_BIN (the server, default build/backside), BACKSIDE_LOADGEN, INSTRUCTIONS_WRITES (N),
# INSTRUCTIONS_OUT (where the profiles go, default build/instructions), INSTRUCTIONS_DURABILITY (fsync or none). Needs valgrind (scripts/install-deps.sh --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
bin=${BACKSIDE_BIN:-build/backside}
source bench/lib.sh
command -v valgrind >/dev/null || { echo "valgrind is missing: scripts/install-deps.sh --bench" >&2; exit 1; }
payload=64
durability=${INSTRUCTIONS_DURABILITY:-fsync}  # the default: each write its own group commit (WAL record, fdatasync)
if [ $quick = 1 ]; then writes=${INSTRUCTIONS_WRITES:-200}; doors=(firebase); else writes=${INSTRUCTIONS_WRITES:-2000}; doors=(firebase stomp); fi
out=${INSTRUCTIONS_OUT:-build/instructions}
mkdir -p "$out"
declare -A label=([firebase]="Firebase protocol (WebSocket)" [stomp]="STOMP (TCP)")

# Runs the server under callgrind, the fixed workload against it over DOOR with COUNT writes, stops it; sets $total
# to the server's instructions (Ir, every thread). The profile is $out/DOOR-COUNT.callgrind.
profile() {  # profile DOOR COUNT
  local door=$1 count=$2 file="$out/$1-$2.callgrind" log="$work/server-$1-$2.log" port="" stomp_port=""
  rm -rf "$work/db"; cp -a "$work/template" "$work/db"
  local stomp=(--stomp-port 0); [ "$door" = stomp ] && stomp=(--stomp-port "$(free_port)")
  # LMDB's 64 GiB map does not fit in valgrind's address space: 1 GiB (src/store/store_factory.cpp).
  BACKSIDE_LMDB_MAP_SIZE_BYTES=$((1 << 30)) valgrind --tool=callgrind --callgrind-out-file="$file" --fair-sched=yes \
    "$bin" serve --port 0 "${stomp[@]}" --data-dir "$work/db" --dev --durability "$durability" --io-threads 2 \
    >"$log" 2>&1 &
  server=$!; pids+=($server)
  # Under callgrind start-up takes seconds (a minute on a loaded machine).
  for _ in $(seq 1 1200); do
    [ -z "$port" ] && port=$(logged_port "$log")
    [ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/.json?shallow=true" && break
    kill -0 "$server" 2>/dev/null || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }
  local target=$port proto=firebase
  [ "$door" = stomp ] && { target=${stomp[1]}; proto=stomp; }
  local result
  result=$("$loadgen" fanout --proto $proto --port "$target" --subscribers 1 --writes "$count" --window 1 \
           --duration 600 --drain 30 --payload $payload --path bench/instructions 2>"$work/loadgen.log") || {
    echo "loadgen failed: $result" >&2; cat "$work/loadgen.log" >&2; exit 1; }
  [ "$(echo "$result" | field writes)" = "$count" ] && [ "$(echo "$result" | field deliveries)" = "$count" ] || {
    echo "loadgen: not $count writes and deliveries: $result" >&2; exit 1; }
  stop_server
  # callgrind's "totals:" line (or "summary:") is the instruction count over every thread.
  total=$(awk '/^(totals|summary):/ {print $2; exit}' "$file")
  [ -n "$total" ] || { echo "no total in $file" >&2; exit 1; }
}

# Per function: inclusive instructions of the N-write profile less those of the 0-write profile, divided by N; the
# TOP largest, as "instructions<TAB>function".
per_write_functions() {  # per_write_functions FILE_N FILE_0 N TOP
  python3 - "$@" <<'PY'
import re, subprocess, sys
file_n, file_0, n, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def inclusive(path):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100", path],
                          capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        # "  1,234 (12.34%)  file:function [object]": a function's whole cost (the lines without the object are
        # the parts of it inlined from other files).
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+[^:\s]*:(.*) \[[^\]]*\]$", line)
        if not m or re.match(r"0x[0-9a-f]+$", m.group(2)): continue
        name, cost = m.group(2), int(m.group(1).replace(",", ""))
        costs[name] = max(costs.get(name, 0), cost)
    return costs
a, b = inclusive(file_n), inclusive(file_0)
rows = sorted(((a[k] - b.get(k, 0)) / n, k) for k in a)
rows.reverse()
for cost, name in rows[:top]:
    print(f"{cost:.0f}\t{name[:160]}")
PY
}

# A data directory made once, without valgrind, copied for every profiled run: a fresh one would generate the
# server's signing key (RSA) at start-up, hundreds of millions of instructions that vary from run to run.
BACKSIDE_BIN=$bin start_backside "$work/template" --dev --durability "$durability"
stop_server

declare -A total0 totaln per_write
for door in "${doors[@]}"; do
  echo "== $door: 0 writes, then $writes writes, the server under callgrind"
  profile "$door" 0; total0[$door]=$total
  profile "$door" "$writes"; totaln[$door]=$total
  per_write[$door]=$(( (${totaln[$door]} - ${total0[$door]}) / writes ))
  echo "  $door: I_0 = ${total0[$door]}, I_$writes = ${totaln[$door]}: ${per_write[$door]} instructions per write"
done

section="$work/section.md"
{
  echo "<!-- begin instructions (written by bench/instructions_bench.sh) -->"
  echo "## Instructions per write (callgrind: exact, repeatable)"
  echo
  echo "Produced by \`bench/instructions_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
  echo "$(valgrind --version). The server runs under \`valgrind --tool=callgrind\` (durability \`$durability\`, \`--io-threads 2\`);"
  echo "\`backside-loadgen fanout --subscribers 1 --writes N --window 1\` connects one listener and one writer to one path"
  echo "and makes N writes of $payload-byte values, each once the previous one was delivered. I_N: the server's instructions"
  echo "(every thread, start-up to shutdown) with N writes, I_0 the same run with none. Instruction counts do not depend"
  echo "on the machine's load, so they compare across runs and builds where writes/s do not (run both builds with"
  echo "\`BACKSIDE_BIN=...\`)."
  echo
  echo "| door | N | I_N | I_0 | instructions per write (I_N − I_0) / N |"
  echo "|---|---|---|---|---|"
  for door in "${doors[@]}"; do
    echo "| ${label[$door]} | $writes | ${totaln[$door]} | ${total0[$door]} | **${per_write[$door]}** |"
  done
  for door in "${doors[@]}"; do
    echo
    echo "Where one write's instructions go, ${label[$door]}: the 25 functions with the largest inclusive cost per write"
    echo "(inclusive: with everything they call, so the rows overlap; the thread entry points are near 100 %)."
    echo
    echo "| instructions per write | % | function |"; echo "|---|---|---|"
    per_write_functions "$out/$door-$writes.callgrind" "$out/$door-0.callgrind" "$writes" 25 |
      while IFS=$'\t' read -r cost name; do
        pct=$(awk -v a="$cost" -v b="${per_write[$door]}" 'BEGIN {printf "%.1f", 100 * a / b}')
        echo "| $cost | $pct | \`${name//|/\\|}\` |"
      done
  done
  echo "<!-- end instructions -->"
} >"$section"

write_section instructions "$(cat "$section")" build/benchmarks-instructions-quick.md
cat "$section"
