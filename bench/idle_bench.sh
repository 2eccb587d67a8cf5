#!/usr/bin/env bash
# Idle connections (issues 3 and 7): server memory per connection with N WebSocket connections (Firebase protocol),
# each with one listen on its own path, against Redis with N connections each SUBSCRIBEd to its own channel.
# Memory = resident set of the server process after the connections are up minus before, divided by N.
# One process may hold at most 20,000 open files on this machine (a hard limit), so N stops at 18,000: this
# measures what fits in one server process. Writes a section of docs/benchmarks.md (kept by the other scripts).
# Usage: bench/idle_bench.sh [--quick]   (--quick: N = 1,000, one run, build/benchmarks-idle-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
if [ $quick = 1 ]; then sizes=(1000); runs=1; else sizes=(10000 18000); runs=3; fi
ulimit -n "$(ulimit -Hn)"

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# One measurement: KiB per connection for $1 (backside|redis) at $2 connections.
measure() {
  local who=$1 n=$2 proto=firebase
  if [ $who = redis ]; then start_redis; proto=redis; else rm -rf "$work/db"; start_backside "$work/db" --dev --durability none; fi
  sleep 0.3  # the baseline: a started server with no connections
  local before; before=$(rss_kib "$server")
  "$loadgen" idle --proto $proto --port "$port" --subscribers "$n" --distinct --path bench/idle >"$work/idle.out" 2>"$work/idle.err" &
  local gen=$!; pids+=($gen)
  for _ in $(seq 1 6000); do grep -q '^ready' "$work/idle.out" && break; sleep 0.05; done
  grep -q '^ready' "$work/idle.out" || { echo "idle clients did not connect:" >&2; cat "$work/idle.err" >&2; exit 1; }
  sleep 1  # let the last listens settle
  local after; after=$(rss_kib "$server")
  kill -9 $gen 2>/dev/null; wait $gen 2>/dev/null || true
  stop_server
  awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN {printf "%.2f", (a - b) / n}'
}

rows=""
for n in "${sizes[@]}"; do
  declare -A kib=([backside]="" [redis]="")
  for run in $(seq 1 $runs); do
    for who in backside redis; do
      k=$(measure $who $n)
      kib[$who]+="$k "
      echo "  run $run $who N=$n: $k KiB per connection"
    done
  done
  ratio=$(awk -v a="$(echo "${kib[backside]}" | median)" -v b="$(echo "${kib[redis]}" | median)" 'BEGIN {printf "%.2f", a / b}')
  rows+="| $n | $(cell "${kib[backside]}") | $(cell "${kib[redis]}") | $ratio |"$'\n'
done

section=$(cat <<MD
<!-- begin idle (written by bench/idle_bench.sh) -->
## Idle connections: server memory per connection

Produced by \`bench/idle_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
$(redis-server --version | awk '{print $1, $2, $3}'). \`backside-loadgen idle\` opens N WebSocket connections (Firebase
protocol), each listening on its own path (\`bench/idle/<i>\`, an empty location); Redis gets N connections each
SUBSCRIBEd to its own channel. Memory per connection = (server RSS with the connections − RSS before) ÷ N. A process
may hold at most 20,000 open files here (a hard limit), so N stops at 18,000: this is what fits in one server process.
Median of $runs (min–max); runs alternate. Target: ≤ 10 KiB per connection.

| N | Backside KiB/connection | Redis KiB/connection | Backside ÷ Redis |
|---|---|---|---|
${rows%$'\n'}
<!-- end idle -->
MD
)
write_section idle "$section" build/benchmarks-idle-quick.md "idle section"
