#!/usr/bin/env bash
# Try a cluster on one machine (docs/cluster.md): a private PostgreSQL and a private RabbitMQ from Debian's packages
# (loopback, data under DIR), and N Backside nodes on ports 9000, 9001, ... (STOMP on 61613, 61614, ...), all on the
# shared store and the broker. The first node owns the databases; the others hold replicas and forward writes.
#
#   scripts/cluster.sh start [N] [DIR] [-- serve options...]   N nodes (default 3) under DIR (default ./backside-cluster)
#   scripts/cluster.sh stop [DIR]                             stops the nodes, RabbitMQ and PostgreSQL, by pid
#
# As root, PostgreSQL and RabbitMQ run as their own users: DIR's parent directories must let them through (a
# directory from mktemp -d is 0700: chmod 755 it).
# Example: scripts/cluster.sh start 3 -- --dev; curl -X PUT -d '"hi"' http://127.0.0.1:9001/greeting.json;
#          curl http://127.0.0.1:9002/greeting.json
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-}
shift || true

stop_cluster() {
  local dir=$1
  for pidfile in "$dir"/node-*/backside.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  [ -d "$dir/rabbitmq" ] && scripts/rabbitmq.sh stop "$dir/rabbitmq" || true
  [ -d "$dir/postgres" ] && scripts/postgres.sh stop "$dir/postgres" || true
}

case "$action" in
  start)
    nodes=3
    dir=./backside-cluster
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then nodes=$1; shift; fi
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then dir=$1; shift; fi
    [ "${1:-}" = "--" ] && shift
    [[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "cluster.sh: N must be 1 to 99" >&2; exit 2; }
    scripts/install-deps.sh --test >/dev/null
    scripts/build.sh release backside >/dev/null
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    store=$(scripts/postgres.sh start "$dir/postgres" 55432 | tail -n 1)
    broker=$(scripts/rabbitmq.sh start "$dir/rabbitmq" 55672 | tail -n 1)
    # One admin token for every node (each would otherwise make its own in its data dir).
    if [ ! -s "$dir/admin-token" ]; then
      (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/admin-token")
    fi
    export BACKSIDE_ADMIN_TOKEN=${BACKSIDE_ADMIN_TOKEN:-$(cat "$dir/admin-token")}
    for i in $(seq 0 $((nodes - 1))); do
      node="$dir/node-$i"
      mkdir -p "$node"
      build/backside serve --data-dir "$node" --port $((9000 + i)) --stomp-port $((61613 + i)) \
        --store "$store" --broker "$broker" "$@" >"$node/backside.log" 2>&1 &
      echo $! >"$node/backside.pid"
      # The first node takes the leases before the others start, so that it owns the databases.
      for _ in $(seq 1 150); do grep -q "listening on" "$node/backside.log" && break; sleep 0.1; done
      grep -q "listening on" "$node/backside.log" || { cat "$node/backside.log" >&2; stop_cluster "$dir"; exit 1; }
      echo "node $i: http://127.0.0.1:$((9000 + i)) (stomp 127.0.0.1:$((61613 + i))), log $node/backside.log"
    done
    echo "admin token (every node's): $dir/admin-token"
    echo "stop with: scripts/cluster.sh stop $dir"
    ;;
  stop)
    dir=${1:-./backside-cluster}
    [ -d "$dir" ] || { echo "cluster.sh: no cluster in $dir" >&2; exit 1; }
    stop_cluster "$(cd "$dir" && pwd)"
    ;;
  *)
    echo "usage: $0 start [N] [DIR] [-- serve options...] | stop [DIR]" >&2
    exit 2
    ;;
esac
