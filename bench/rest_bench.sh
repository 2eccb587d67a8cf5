#!/usr/bin/env bash
# Core benchmarks: durable REST writes, GET latency on a 1M-leaf tree, start-up with 1M leaves.
# Usage: bench/rest_bench.sh [--quick]   (--quick: seconds, smaller tree, writes build/benchmarks-quick.md)
# Needs build/backside and wrk (scripts/install-deps.sh --bench). Every number is the median of 3 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
source bench/lib.sh

if [ $quick = 1 ]; then duration=2s; leaves=100000; out=build/benchmarks-quick.md; else duration=10s; leaves=1000000; out=docs/benchmarks.md; fi

wrk_rps() { grep 'Requests/sec' | awk '{printf "%d", $2}'; }
wrk_p50() {  # median latency in microseconds
  grep -E '^ +50%' | awk '{v=$2; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'
}

echo "== durable writes over REST: 64 keep-alive connections, fsync vs none, side by side"
declare -A rps
for mode in fsync none; do rps[$mode]=""; done
for run in 1 2 3; do
  for mode in fsync none; do
    rm -rf "$work/w"
    start_backside "$work/w" --dev --durability $mode
    r=$(wrk -t2 -c64 -d$duration -s bench/put.lua "http://127.0.0.1:$port" | wrk_rps)
    stop_server
    rps[$mode]+="$r "
    echo "  run $run durability=$mode: $r writes/s"
  done
done

echo "== GET of a small subpath of a $leaves-leaf tree, 1 connection"
python3 bench/make_tree.py $leaves > "$work/tree.json"
"${BACKSIDE_BIN:-build/backside}" import --data-dir "$work/big" "$work/tree.json" 2>/dev/null
get_p50=""; get_rps=""; startup=""; rss=""
for run in 1 2 3; do
  t0=$(date +%s%N)
  start_backside "$work/big" --dev
  t1=$(date +%s%N)
  startup+="$(( (t1 - t0) / 1000000 )) "
  rss+="$(( $(ps -o rss= -p "$server") / 1024 )) "
  result=$(wrk -t1 -c1 -d$duration --latency "http://127.0.0.1:$port/users/u4321.json")
  get_p50+="$(echo "$result" | wrk_p50) "
  get_rps+="$(echo "$result" | wrk_rps) "
  stop_server
  echo "  run $run: start-up $(echo $startup | awk '{print $NF}') ms, GET p50 $(echo $get_p50 | awk '{print $NF}') µs"
done

m() { echo $1 | tr ' ' '\n' | grep . | median; }
r() { echo $1 | tr ' ' '\n' | grep . | minmax; }
ratio=$(awk -v a="$(m "${rps[fsync]}")" -v b="$(m "${rps[none]}")" 'BEGIN {printf "%.2f", a / b}')
mkdir -p "$(dirname "$out")"
# Sections that other bench scripts wrote (<!-- begin NAME --> ... <!-- end NAME -->) are kept, after ours.
kept=$(awk '/^<!-- begin /,/^<!-- end /' "$out" 2>/dev/null || true)
cat >"$out" <<MD
# Benchmarks

Produced by \`bench/rest_bench.sh\` on $(date -u +%Y-%m-%d) — $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),
$(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r); backside $(git rev-parse --short HEAD 2>/dev/null || echo unknown),
wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'). The load generator runs on the same 2 cores as the server, and the
machine is shared: compare numbers from one run side by side, not across runs. Each cell: median of 3 runs (min–max).

## Durable writes over REST

\`wrk -t2 -c64\` (64 keep-alive connections), \`PUT /bench/t<thread>/k<n>.json\` with a 25-byte object, $duration per run.
\`fsync\` is the default: a write is answered only after its group commit is on disk.

| durability | writes/s | target |
|---|---|---|
| fsync (default) | $(m "${rps[fsync]}") ($(r "${rps[fsync]}")) | ≥ 20,000 |
| none (benchmarks only) | $(m "${rps[none]}") ($(r "${rps[none]}")) | — |
| ratio fsync / none | $ratio | |

## Reads and start-up with a $leaves-leaf store

A tree of $leaves leaves (\`bench/make_tree.py\`: $((leaves / 4)) users × 4 fields), imported with \`backside import\`.

| measure | result | target |
|---|---|---|
| start-up: process start to first answered request (ms) | $(m "$startup") ($(r "$startup")) | < 2,000 |
| resident memory after start-up (MiB) | $(m "$rss") ($(r "$rss")) | — |
| GET /users/u4321.json, 1 connection: median latency (µs) | $(m "$get_p50") ($(r "$get_p50")) | < 1,000 |
| GET /users/u4321.json, 1 connection: requests/s | $(m "$get_rps") ($(r "$get_rps")) | — |
MD
if [ -n "$kept" ]; then printf '\n%s\n' "$kept" >>"$out"; fi
echo "wrote $out"
cat "$out"
