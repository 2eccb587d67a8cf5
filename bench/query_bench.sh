#!/usr/bin/env bash
# Query listeners: N listeners of limitToLast(10) (orderByKey) on a list of $children children,
# under churn: one writer adds new last children, each of which enters every listener's window while the oldest
# child leaves it (the server keeps each window live). Firebase protocol, build/backside-loadgen fanout
# --limit-to-last 10; Backside with durability fsync and none. Two modes: a fixed rate and full speed.
# Usage: bench/query_bench.sh [--quick]   (--quick: 10,000 children, N = 10, 1 s, build/benchmarks-query-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"
rate=100; window=8; payload=64; limit=10
if [ $quick = 1 ]; then children=10000; ns=(10); duration=1; runs=1; drain=5
else children=100000; ns=(100 1000); duration=5; runs=3; drain=10; fi

# The list: {"c000000": {"v": 0}, ...}, written once per server start over REST.
python3 -c "import json,sys; n=int(sys.argv[1]); print(json.dumps({'c%06d' % i: {'v': i} for i in range(n)}))" \
  "$children" >"$work/list.json"

systems=(backside backside-none)
declare -A label=([backside]="Backside fsync" [backside-none]="Backside none")
declare -A dps p50 p99 p999 missing
echo "== query listeners: limitToLast($limit) on $children children under churn"
for run in $(seq 1 $runs); do
  for sys in "${systems[@]}"; do
    start_system $sys
    for n in "${ns[@]}"; do
      for mode in rate full; do
        path="bench/query/$run-$n-$mode"
        status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$work/list.json" \
                 "http://127.0.0.1:$port/$path.json")
        [ "$status" = 200 ] || { echo "writing the list failed: $status" >&2; exit 1; }
        args=(--window $window); [ $mode = rate ] && args=(--rate $rate)
        result=$(timeout $((duration + drain + 300)) "$loadgen" fanout --limit-to-last $limit --proto firebase \
                 --port "$port" --subscribers "$n" --duration $duration --drain $drain --payload $payload \
                 --path "$path" "${args[@]}" 2>"$work/loadgen.log") || true
        if [ -z "$result" ]; then echo "loadgen failed:" >&2; cat "$work/loadgen.log" >&2; exit 1; fi
        record_fanout $sys-$mode-$n "$result"
        echo "  run $run $sys N=$n $mode: $result"
      done
    done
    stop_server
  done
done
if [ $quick = 1 ]; then check_nothing_missing "query listeners"; fi

rows=""
for n in "${ns[@]}"; do
  for mode in rate full; do
    ml="fixed $rate writes/s"; [ $mode = full ] && ml="full speed"
    for sys in "${systems[@]}"; do
      k=$sys-$mode-$n
      rows+="| $n | $ml | ${label[$sys]} | $(cell "${dps[$k]:-}") | $(cell "${p50[$k]:-}") | $(cell "${p99[$k]:-}") |"
      rows+=" $(cell "${p999[$k]:-}") | $(echo "${missing[$k]:-}" | max) |"$'\n'
    done
  done
done
section=$(cat <<MD
<!-- begin query (written by bench/query_bench.sh) -->
## Query listeners: limitToLast($limit) on a list of $children children, under churn

Produced by \`bench/query_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
same machine as above. A list of $children children is written over REST; N Firebase-protocol connections listen to
it with \`orderByKey().limitToLast($limit)\` (\`build/backside-loadgen fanout --limit-to-last $limit\`); one writer adds
$payload-byte children with ever larger keys, so each write enters every window (and the window's oldest child
leaves it: the server keeps each listener's window live and sends both). Deliveries count the new children arriving;
latency is from the write's send to that arrival. Fixed rate: $rate writes/s; full speed: at most $window writes not
yet delivered to every listener. $duration s of writes per run, up to $drain s of drain; median of $runs (min–max).
No peer runs this workload: Redis pub/sub has no queries, and the npm firebase-server ignores a listen's query (it
sends the whole list, and the whole list again on every change).

| N | mode | server | deliveries/s | p50 (ms) | p99 (ms) | p99.9 (ms) | missing |
|---|---|---|---|---|---|---|---|
${rows%$'\n'}
<!-- end query -->
MD
)
write_section query "$section" build/benchmarks-query-quick.md "query listeners"
