#!/usr/bin/env bash
# Durable writes over every door (bench/rest_bench.sh also drives REST with wrk): 64 clients,
# each writing to its own path one value at a time (the next once the previous is acknowledged — for Backside, once
# it is on disk), over the Firebase protocol (WebSocket), STOMP 1.2 (TCP and WebSocket, SEND with a receipt) and
# REST (PUT on a keep-alive connection), driven by build/backside-loadgen writes. Side by side in one run: Backside with durability fsync (the default) and none,
# and the npm firebase-server over the same Firebase protocol (in memory: nothing is durable there).
# Usage: bench/writes_bench.sh [--quick]   (--quick: 1 s, one run, build/benchmarks-writes-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
clients=64; payload=64
if [ $quick = 1 ]; then duration=1; runs=1; else duration=10; runs=3; fi

# What is measured: "server protocol".
setups=("fsync firebase" "fsync stomp" "fsync stomp-ws" "fsync rest" "none firebase" "none stomp"
        "firebase-server firebase")
declare -A wps p50 p99
echo "== durable writes: $clients clients over every door; Backside (fsync, none) and firebase-server"
for run in $(seq 1 $runs); do
  for setup in "${setups[@]}"; do
    set -- $setup; sys=$1; proto=$2
    if [ $sys = firebase-server ]; then
      start_firebase_server; target=$port
    else
      rm -rf "$work/db"; stomp_port=$(free_port)
      start_backside "$work/db" --dev --durability $sys --stomp-port "$stomp_port"
      target=$port; [ $proto = stomp ] && target=$stomp_port
    fi
    result=$("$loadgen" writes --proto $proto --port "$target" --clients $clients --duration $duration \
             --payload $payload --path "bench/writes/$run" 2>"$work/loadgen.log") || {
      echo "  run $run $setup: failed: $result $(tail -3 "$work/loadgen.log")" >&2; exit 1; }
    stop_server
    k="$sys-$proto"
    wps[$k]+="$(echo "$result" | field writes_per_s) "
    p50[$k]+="$(echo "$result" | field p50_ms) "
    p99[$k]+="$(echo "$result" | field p99_ms) "
    echo "  run $run $sys $proto: $result"
  done
done

rows=""
for setup in "${setups[@]}"; do
  set -- $setup; k="$1-$2"
  case $1 in
    fsync) server="Backside, durability fsync (default)" ;;
    none) server="Backside, durability none" ;;
    *) server="firebase-server $(firebase_server_version) (in memory)" ;;
  esac
  ratio=$(awk -v a="$(echo "${wps[$k]}" | median)" -v b="$(echo "${wps[firebase-server-firebase]}" | median)" \
          'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}')
  [ $2 = firebase ] || ratio="—"
  case $2 in
    firebase) proto_label="Firebase protocol (WebSocket)" ;;
    stomp) proto_label="STOMP 1.2 (TCP)" ;;
    stomp-ws) proto_label="STOMP 1.2 (WebSocket)" ;;
    rest) proto_label="REST (PUT, keep-alive)" ;;
  esac
  rows+="| $proto_label | $server | $(cell "${wps[$k]}") | $ratio | $(cell "${p50[$k]}") | $(cell "${p99[$k]}") |"$'\n'
done
section=$(cat <<MD
<!-- begin writes (written by bench/writes_bench.sh) -->
## Durable writes over every door ($clients clients, one write at a time each)

Produced by \`bench/writes_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
same machine as above. \`build/backside-loadgen writes\`: $clients connections, each writing $payload-byte JSON values to
its own path, one at a time — the next once the server has acknowledged the previous (Firebase protocol: the \`p\`
request's \`ok\`; STOMP: the SEND's RECEIPT; REST: the PUT's response). With durability \`fsync\` (the default) Backside acknowledges a write
once its group commit is on disk; \`none\` shows the protocol path alone. The npm firebase-server keeps its data in
memory (nothing is durable), over the same Firebase protocol and load generator. $duration s per run; runs alternate;
median of $runs (min–max). Latency: from the write's send to its acknowledgement. (REST with wrk: see above.)

| protocol | server | writes/s | ÷ firebase-server | p50 (ms) | p99 (ms) |
|---|---|---|---|---|---|
${rows%$'\n'}

Target: at least 20,000 durable writes/s.
<!-- end writes -->
MD
)
write_section writes "$section" build/benchmarks-writes-quick.md "durable writes over the realtime protocols"
