#!/usr/bin/env bash
# Two server binaries side by side in one run (a change's before and after): the fan-out (one writer, N subscribers
# of one path, full speed) over the Firebase protocol and STOMP (TCP), and durable writes (64 clients, one write at
# a time each) over the Firebase protocol, STOMP and REST. Both binaries are driven by the same load generator;
# runs alternate A, B, A, B... so that the machine's noise falls on both; medians of $runs.
# Usage: bench/compare.sh BEFORE_BINARY AFTER_BINARY [runs]   (prints a Markdown table; writes nothing)
# COMPARE_WORKLOADS="fanout-firebase-1000 writes-rest" measures only those.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BINARY AFTER_BINARY [runs]" >&2; exit 2; }
before=$1; after=$2; runs=${3:-3}
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"
duration=3; payload=64

# workload -> the loadgen command for it (after --port); "fanout-<proto>-<n>" or "writes-<proto>"
workloads=(fanout-firebase-100 fanout-firebase-1000 fanout-stomp-100 fanout-stomp-1000
           writes-firebase writes-stomp writes-rest)
[ -n "${COMPARE_WORKLOADS:-}" ] && read -r -a workloads <<<"$COMPARE_WORKLOADS"  # a subset, e.g. "fanout-stomp-1000"
declare -A results
for run in $(seq 1 "$runs"); do
  for which in before after; do
    bin=$before; [ $which = after ] && bin=$after
    for workload in "${workloads[@]}"; do
      IFS=- read -r kind proto n <<<"$workload"
      rm -rf "$work/db"; stomp_port=$(free_port)
      durability=none; [ "$kind" = writes ] && durability=fsync
      BACKSIDE_BIN=$bin start_backside "$work/db" --dev --durability $durability --stomp-port "$stomp_port"
      target=$port; [ "$proto" = stomp ] && target=$stomp_port
      if [ "$kind" = fanout ]; then
        out=$("$loadgen" fanout --proto "$proto" --port "$target" --subscribers "$n" --duration $duration --drain 5 \
              --payload $payload --path "bench/cmp/$run" --window 8 2>"$work/loadgen.log") || out=""
        value=$(echo "$out" | field deliveries_per_s); latency=$(echo "$out" | field p50_ms)
      else
        out=$("$loadgen" writes --proto "$proto" --port "$target" --clients 64 --duration $duration \
              --payload $payload --path "bench/cmp/$run" 2>"$work/loadgen.log") || out=""
        value=$(echo "$out" | field writes_per_s); latency=$(echo "$out" | field p50_ms)
      fi
      stop_server
      [ -n "$value" ] || { echo "  $which $workload: failed: $(tail -2 "$work/loadgen.log")" >&2; continue; }
      results[$which-$workload]+="$value "; results[$which-$workload-p50]+="$latency "
      echo "  run $run $which $workload: $value/s p50 ${latency} ms" >&2
    done
  done
done

echo "| workload | before (/s) | after (/s) | after ÷ before | p50 before (ms) | p50 after (ms) |"
echo "|---|---|---|---|---|---|"
for workload in "${workloads[@]}"; do
  b=$(echo "${results[before-$workload]:-}" | median); a=$(echo "${results[after-$workload]:-}" | median)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}')
  echo "| $workload | $(cell "${results[before-$workload]:-}") | $(cell "${results[after-$workload]:-}") | $ratio |" \
       "$(echo "${results[before-$workload-p50]:-}" | median) | $(echo "${results[after-$workload-p50]:-}" | median) |"
done
