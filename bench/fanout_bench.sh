#!/usr/bin/env bash
# Fan-out benchmark (issues 3 and 7): one writer and N subscribers of one path over the Firebase protocol
# (WebSocket /.ws), driven by build/backside-loadgen, and the same against the npm firebase-server (the same
# protocol) and Redis pub/sub (redis-server from Debian), each started here on 127.0.0.1 and stopped by pid. Each
# written value carries its send time, so every delivery gives a write-to-delivery latency. Modes per N:
#   fixed rate: $rate writes/s (at N = 10,000 that is the 1,000,000 deliveries/s of the target);
#   full speed: at most 8 writes not yet delivered to every subscriber;
#   and at N = 10,000 also $high_rate writes/s (1,500,000 deliveries/s offered: what the server sustains above the target).
# Usage: bench/fanout_bench.sh [--quick]   (--quick: N = 1 and 100, 1 s, one run; writes build/benchmarks-fanout-quick.md)
# Otherwise: median of 3 runs per cell, written into the fan-out section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"

rate=100; high_rate=150; payload=64
# The modes measured at N: the fixed rate and full speed, and at N = 10,000 a fixed rate above the target.
modes() { if [ "$1" = 10000 ]; then echo rate full high; else echo rate full; fi; }
mode_label() {
  case $1 in rate) echo "fixed $rate/s" ;; high) echo "fixed $high_rate/s" ;; *) echo "full speed" ;; esac
}
if [ $quick = 1 ]; then
  ns=(1 100); duration=1; runs=1; drain=5
else
  ns=(1 100 1000 10000); duration=5; runs=3; drain=10
fi

# Backside with the default durability (fsync: a write is delivered once on disk) and with none (the fan-out alone).
# The npm firebase-server (in memory, Node) speaks the same Firebase protocol: the same load generator drives it.
systems=(backside backside-none redis firebase-server); [ $quick = 1 ] && systems=(backside redis firebase-server)
declare -A label=([backside]="Backside fsync" [backside-none]="Backside none" [redis]="Redis"
                  [firebase-server]="firebase-server")
declare -A dps p50 p99 p999 missing
failures=""
echo "== fan-out: 1 writer, N subscribers of one path, $payload-byte values: Backside and firebase-server (Firebase protocol), Redis pub/sub"
for run in $(seq 1 $runs); do
  for sys in "${systems[@]}"; do
    start_system $sys
    for n in "${ns[@]}"; do
      # firebase-server at N = 10,000 took minutes to accept the connections and then aborted out of memory (an
      # 8 GiB heap) in two of three runs of a full run on 2026-11-29: it is measured up to N = 1,000.
      [ $sys = firebase-server ] && [ "$n" -gt 1000 ] && continue
      for mode in $(modes "$n"); do
        args=(--window 8); [ $mode = rate ] && args=(--rate $rate); [ $mode = high ] && args=(--rate $high_rate)
        result=$("$loadgen" fanout --proto $proto --port "$port" --subscribers "$n" --duration $duration --drain $drain \
                 --payload $payload --path "bench/fan/$run-$n-$mode" "${args[@]}" 2>"$work/loadgen.log") || true
        if [ -z "$result" ] && [ $sys = firebase-server ]; then
          # The peer failing is a result: recorded, and a fresh one for the next measurement.
          failures+="run $run, N = $n, $mode: $(firebase_server_failure || true) $(tail -1 "$work/loadgen.log"); "
          echo "  run $run $sys $n $mode: failed" >&2
          stop_server; start_firebase_server
          continue
        fi
        if [ -z "$result" ]; then echo "loadgen failed:" >&2; cat "$work/loadgen.log" >&2; exit 1; fi
        record_fanout $sys-$mode-$n "$result"
        echo "  run $run $sys N=$n $mode: $result"
      done
    done
    stop_server
  done
done

if [ $quick = 1 ]; then check_nothing_missing "fan-out"; fi

# Plots (full mode, gnuplot-nox from scripts/install-deps.sh --bench): throughput and p99 against N.
plots=0
if [ $quick = 0 ] && command -v gnuplot >/dev/null; then
  for n in "${ns[@]}"; do
    row="$n"
    for m in "dps full" "p99 rate" "p99 full"; do
      set -- $m; unset -n arr; declare -n arr=$1
      for sys in "${systems[@]}"; do m=$(echo "${arr[$sys-$2-$n]:-}" | median); row+=" ${m:-NaN}"; done
    done
    echo "$row"
  done >"$work/fanout.dat"
  mkdir -p docs/img
  gnuplot -e "data='$work/fanout.dat'; outdir='docs/img'" bench/plot_fanout.gp && plots=1
fi

section="$work/section.md"
{
  echo "<!-- begin fanout (written by bench/fanout_bench.sh) -->"
  echo "## Fan-out: one writer, N subscribers of one path (Firebase protocol; firebase-server and Redis pub/sub side by side)"
  echo
  echo "Produced by \`bench/fanout_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
  echo "same machine as above. \`build/backside-loadgen fanout\` (C++, one thread) opens N WebSocket connections that"
  echo "listen on one path and one more that writes $payload-byte values (\`{\"seq\":n,\"ts\":<send time>,\"pad\":…}\`) there;"
  echo "latency is from the writer's send to a subscriber's receipt (one clock, one process). Durability \`fsync\`"
  echo "(the default) delivers a write only after its group commit is on disk; \`none\` shows the fan-out alone. $duration s of writes per run, then up to"
  echo "$drain s for outstanding deliveries; deliveries/s = deliveries ÷ (first write to last delivery)."
  echo "**Fixed rate**: $rate writes/s (N × $rate deliveries/s offered; at N = 10,000 also $high_rate writes/s, 1.5 million"
  echo "deliveries/s offered, to see what is sustained above the target). **Full speed**: at most 8 writes not yet delivered"
  echo "to every subscriber. Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) (Debian), started by the script on 127.0.0.1 without persistence, is the"
  echo "reference: the same load generator, N SUBSCRIBE connections to one channel and one that PUBLISHes the same"
  echo "values. The npm firebase-server $(firebase_server_version) (the existing open-source Firebase server: Node, in memory)"
  echo "speaks the Firebase protocol: the same load generator, the same WebSocket clients; it is measured up to N = 1,000"
  echo "(at 10,000 it took minutes to accept the connections and then aborted out of memory with an 8 GiB heap)."
  echo "Each cell: median of $runs runs (min–max); runs alternate between the servers."
  echo
  head="| N | mode"; sep="|---|---"
  for sys in "${systems[@]}"; do head+=" | ${label[$sys]}"; sep+="|---"; done
  echo "Deliveries/s, and the ratios of Backside (default durability) to Redis and to firebase-server:"
  echo
  echo "$head | Backside ÷ Redis | Backside ÷ firebase-server | missing after the drain |"; echo "$sep|---|---|---|"
  for n in "${ns[@]}"; do
    for mode in $(modes "$n"); do
      ml=$(mode_label $mode)
      row="| $n | $ml"; miss=""
      for sys in "${systems[@]}"; do
        row+=" | $(cell "${dps[$sys-$mode-$n]:-}")"
        m=$(echo "${missing[$sys-$mode-$n]:-}" | median); miss+="${miss:+, }${m:-—}"
      done
      b=$(echo "${dps[backside-$mode-$n]:-}" | median)
      ratio() { awk -v a="$b" -v b="$(echo "${dps[$1-$mode-$n]:-}" | median)" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "—"}'; }
      echo "$row | $(ratio redis) | $(ratio firebase-server) | $miss |"
    done
  done
  echo
  echo "Write-to-delivery latency (ms):"
  echo
  echo "| N | mode | server | p50 | p99 | p99.9 |"; echo "|---|---|---|---|---|---|"
  for n in "${ns[@]}"; do
    for mode in $(modes "$n"); do
      ml=$(mode_label $mode)
      for sys in "${systems[@]}"; do
        k=$sys-$mode-$n
        echo "| $n | $ml | ${label[$sys]} | $(cell "${p50[$k]:-}") | $(cell "${p99[$k]:-}") | $(cell "${p999[$k]:-}") |"
      done
    done
  done
  echo
  if [ -n "$failures" ]; then
    echo "firebase-server stopped during these measurements (they have no numbers; it was restarted for the next):"
    echo "${failures%; }."
    echo
  fi
  if [ $plots = 1 ]; then
    echo "![fan-out throughput against N](img/fanout-throughput.png)"
    echo "![fan-out p99 latency against N](img/fanout-latency.png)"
    echo
  fi
  echo "Target: at N = 10,000, at least 1,000,000 deliveries/s with p99 under 50 ms."
  echo "<!-- end fanout -->"
} >"$section"

# The rest of docs/benchmarks.md (other sections, hand-written notes) stays.
write_section fanout "$(cat "$section")" build/benchmarks-fanout-quick.md
cat "$section"
