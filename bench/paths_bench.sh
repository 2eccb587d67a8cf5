#!/usr/bin/env bash
# Many paths: N subscribers, each listening on its own path, and one writer writing to random
# ones of those paths (each write is delivered to one subscriber), over the Firebase protocol for Backside
# (durability fsync and none) and the npm firebase-server, and over Redis pub/sub (a channel per path) as the
# reference; build/backside-loadgen fanout --distinct. Two modes: a fixed rate and full speed (at most $window writes
# not yet delivered).
# Usage: bench/paths_bench.sh [--quick]   (--quick: N = 100, 1 s, one run, build/benchmarks-paths-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"
rate=1000; window=64; payload=64
if [ $quick = 1 ]; then n=100; duration=1; runs=1; drain=5; else n=10000; duration=5; runs=3; drain=10; fi

systems=(backside backside-none redis firebase-server)
declare -A label=([backside]="Backside fsync" [backside-none]="Backside none" [redis]="Redis pub/sub"
                  [firebase-server]="firebase-server")
declare -A dps p50 p99 p999 missing
failures=""
echo "== many paths: $n subscribers on their own paths, random writes"
for run in $(seq 1 $runs); do
  for sys in "${systems[@]}"; do
    start_system $sys
    for mode in rate full; do
      args=(--window $window); [ $mode = rate ] && args=(--rate $rate)
      result=$(timeout $((duration + drain + 300)) "$loadgen" fanout --distinct --proto $proto --port "$port" \
               --subscribers $n --duration $duration --drain $drain --payload $payload \
               --path "bench/paths/$run-$mode" "${args[@]}" 2>"$work/loadgen.log") || true
      if [ -z "$result" ] && [ $sys = firebase-server ]; then
        # The peer failing is a result: recorded, and a fresh one for the next measurement.
        failures+="run $run, $mode: $(firebase_server_failure || true) $(tail -1 "$work/loadgen.log"); "
        echo "  run $run $sys $mode: failed" >&2
        stop_server; start_firebase_server
        continue
      fi
      if [ -z "$result" ]; then echo "loadgen failed:" >&2; cat "$work/loadgen.log" >&2; exit 1; fi
      record_fanout $sys-$mode "$result"
      echo "  run $run $sys $mode: $result"
    done
    stop_server
  done
done
if [ $quick = 1 ]; then check_nothing_missing "many paths"; fi

rows=""
for mode in rate full; do
  ml="fixed $rate writes/s"; [ $mode = full ] && ml="full speed"
  b=$(echo "${dps[backside-$mode]:-}" | median)
  for sys in "${systems[@]}"; do
    k=$sys-$mode
    ratio=$(awk -v a="$b" -v b="$(echo "${dps[$k]:-}" | median)" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}')
    [ $sys = backside ] && ratio="—"
    rows+="| $ml | ${label[$sys]} | $(cell "${dps[$k]:-}") | $ratio | $(cell "${p50[$k]:-}") | $(cell "${p99[$k]:-}") |"
    rows+=" $(cell "${p999[$k]:-}") | $(echo "${missing[$k]:-}" | max) |"$'\n'
  done
done
section=$(cat <<MD
<!-- begin paths (written by bench/paths_bench.sh) -->
## Many paths: $n subscribers, each on its own path, random writes

Produced by \`bench/paths_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
same machine as above. \`build/backside-loadgen fanout --distinct\`: $n connections, subscriber i listening on
\`bench/paths/…/i\` (Redis: SUBSCRIBE to that channel), and one writer writing $payload-byte values to random ones of
those paths: each write reaches one subscriber. Fixed rate: $rate writes/s; full speed: at most $window writes not
yet delivered. Backside with durability \`fsync\` (the default; a write is delivered once on disk) and \`none\`;
firebase-server $(firebase_server_version) (npm, in memory) over the same Firebase protocol; Redis
$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) pub/sub without persistence. $duration s of writes per
run, up to $drain s of drain; runs alternate; median of $runs (min–max). "÷": Backside fsync's deliveries/s over
that server's; "missing": deliveries not made by the end of the drain (the most in one run).

| mode | server | deliveries/s | Backside fsync ÷ | p50 (ms) | p99 (ms) | p99.9 (ms) | missing |
|---|---|---|---|---|---|---|---|
${rows%$'\n'}
${failures:+
firebase-server stopped during these measurements (they have no numbers; it was restarted for the next): ${failures%; }.}
<!-- end paths -->
MD
)
write_section paths "$section" build/benchmarks-paths-quick.md "many paths"
