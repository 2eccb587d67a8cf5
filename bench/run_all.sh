#!/usr/bin/env bash
# Every benchmark workload, one after the other: each script measures its workload side by side with
# its peers and writes its section of docs/benchmarks.md (rules and auth: their own pages), plots included.
#   rest_bench          durable REST writes (64 connections), GET on a 1M-leaf tree, start-up with 1M leaves
#   writes_bench        durable writes over the Firebase protocol and STOMP (64 clients), firebase-server beside
#   mixed_bench         reads and listens while durable writes flow, against writes alone
#   fanout_bench        one writer, N = 1..10,000 subscribers of one path; Redis pub/sub and firebase-server beside
#   stomp_fanout_bench  the same over STOMP/TCP; RabbitMQ's STOMP plugin beside
#   paths_bench         10,000 subscribers on their own paths, random writes; Redis and firebase-server beside
#   query_bench         limitToLast(10) listeners on a 100,000-child list under churn
#   idle_bench          server memory per idle connection (10,000 and 18,000); Redis beside
#   rules_bench         realistic rules against open rules
#   auth_bench          token verification cost, reads beside 50 sign-ins/s
#   instructions_bench  instructions per write (callgrind, exact): the Firebase protocol and STOMP doors
# Usage: bench/run_all.sh [--quick]   (--quick: seconds per workload, results under build/; what the tests run)
# Needs a release build (scripts/build.sh) and scripts/install-deps.sh --bench (wrk, Redis, RabbitMQ, gnuplot,
# firebase-server, valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
for workload in rest writes mixed fanout stomp_fanout paths query idle rules auth instructions; do
  echo "=== bench/${workload}_bench.sh $mode ($(date -u +%H:%M:%S))"
  if [ "$mode" = --quick ]; then
    "bench/${workload}_bench.sh" --quick >/dev/null
  else
    "bench/${workload}_bench.sh"
  fi
done
echo "=== all benchmarks ran ($(date -u +%H:%M:%S))"
