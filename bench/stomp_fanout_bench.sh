#!/usr/bin/env bash
# STOMP fan-out: one writer and N subscribers of one destination over STOMP 1.2 on raw TCP, Backside's
# STOMP door side by side with RabbitMQ's STOMP plugin (Debian's rabbitmq-server, a topic destination), the
# reference. Backside twice: durability fsync (the default: a write reaches subscribers once it is on disk) and
# durability none (what RabbitMQ's topic messages have: nothing is persisted), so that the comparison is also made
# at equal durability. The same load generator
# (build/backside-loadgen --proto stomp | stomp-rabbitmq), the same values with their send time inside; SEND with a
# receipt. RabbitMQ is started here on 127.0.0.1 (its own epmd, data and config in a temporary directory) and
# stopped by pid. Two modes per N: fixed rate ($rate writes/s) and full speed (at most 8 writes not yet delivered).
# Usage: bench/stomp_fanout_bench.sh [--quick]   (--quick: N = 1 and 100, 1 s, one run: build/benchmarks-stomp-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
bin=${BACKSIDE_BIN:-build/backside}
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"

rate=100; payload=64
if [ $quick = 1 ]; then
  ns=(1 100); duration=1; runs=1; drain=5
else
  ns=(1 100 1000 10000); duration=5; runs=3; drain=10
fi

wait_port() {  # wait_port PORT PID LOG
  for _ in $(seq 1 600); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "nothing listens on port $1:" >&2; cat "$3" >&2; exit 1
}

start_backside() {  # start_backside fsync|none; sets $port (the STOMP port) and $stop_pids
  rm -rf "$work/db"
  port=$(free_port)
  "$bin" serve --dev --port 0 --stomp-port "$port" --data-dir "$work/db" --durability "$1" >"$work/server.log" 2>&1 &
  pids+=($!); stop_pids=($!)
  wait_port "$port" "$!" "$work/server.log"
}

start_rabbitmq() {  # a private node: its own epmd, config, plugins file and data directory
  local dir="$work/rabbitmq" epmd_port amqp_port dist_port
  rm -rf "$dir"; mkdir -p "$dir"
  epmd_port=$(free_port); amqp_port=$(free_port); dist_port=$(free_port); port=$(free_port)
  echo '[rabbitmq_stomp].' >"$dir/enabled_plugins"
  printf 'listeners.tcp.default = 127.0.0.1:%s\nstomp.listeners.tcp.1 = 127.0.0.1:%s\nloopback_users = none\n' \
    "$amqp_port" "$port" >"$dir/rabbitmq.conf"
  epmd -address 127.0.0.1 -port "$epmd_port" >"$dir/epmd.log" 2>&1 &
  pids+=($!); local epmd_pid=$!
  HOME="$dir" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$epmd_port" RABBITMQ_NODENAME="bench@localhost" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_PID_FILE="$dir/pid" \
    /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/out.log" 2>&1 &
  pids+=($!); local server_pid=$!
  wait_port "$port" "$server_pid" "$dir/out.log"
  # The script runs the Erlang VM as a child: stop the VM, the script, then epmd, each by pid.
  local beam; beam=$(pgrep -P "$server_pid" beam.smp || true)
  pids+=($beam); stop_pids=($beam $server_pid $epmd_pid)
}

stop_all() {
  kill -TERM "${stop_pids[@]}" 2>/dev/null || true
  for p in "${stop_pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}


systems=(fsync none rabbitmq)
declare -A dps p50 p99 missing
echo "== STOMP fan-out: Backside (durability fsync and none) and RabbitMQ"
for run in $(seq 1 $runs); do
  for sys in "${systems[@]}"; do
    if [ $sys = rabbitmq ]; then start_rabbitmq; proto=stomp-rabbitmq; else start_backside $sys; proto=stomp; fi
    for n in "${ns[@]}"; do
      for mode in rate full; do
        args=(--window 8); [ $mode = rate ] && args=(--rate $rate)
        # Bounded: a broker that resets connections must not hang the run. Then a pause, so that N closing
        # connections are gone before the next N connect (RabbitMQ resets new ones while old ones close).
        result=$(timeout $((duration + drain + 180)) "$loadgen" fanout --proto $proto --port "$port" --subscribers "$n" \
                 --duration $duration --drain $drain --payload $payload --path "bench/fan/$run-$n-$mode" "${args[@]}" \
                 2>"$work/loadgen.log") || true
        [ "$n" -ge 1000 ] && sleep 5
        if [ -z "$result" ]; then
          echo "  run $run $sys N=$n $mode: no result ($(tail -1 "$work/loadgen.log"))" >&2
          [ $quick = 1 ] && exit 1
          continue
        fi
        k=$sys-$mode-$n
        dps[$k]+="$(echo "$result" | field deliveries_per_s) "
        p50[$k]+="$(echo "$result" | field p50_ms) "
        p99[$k]+="$(echo "$result" | field p99_ms) "
        missing[$k]+="$(( $(echo "$result" | field expected) - $(echo "$result" | field deliveries) )) "
        echo "  run $run $sys N=$n $mode: $result"
      done
    done
    stop_all
  done
done

if [ $quick = 1 ]; then check_nothing_missing "STOMP fan-out"; fi

rows=""
for n in "${ns[@]}"; do
  for mode in rate full; do
    ml="fixed $rate/s"; [ $mode = full ] && ml="full speed"
    r=$(echo "${dps[rabbitmq-$mode-$n]:-}" | median)
    ratio() { awk -v a="$(echo "${dps[$1-$mode-$n]:-}" | median)" -v b="$r" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
    rows+="| $n | $ml | $(cell "${dps[fsync-$mode-$n]:-}") | $(cell "${dps[none-$mode-$n]:-}") |"
    rows+=" $(cell "${dps[rabbitmq-$mode-$n]:-}") | $(ratio fsync) | $(ratio none) | $(cell "${p99[fsync-$mode-$n]:-}") |"
    rows+=" $(cell "${p99[none-$mode-$n]:-}") | $(cell "${p99[rabbitmq-$mode-$n]:-}") |"
    rows+=" $(echo "${missing[fsync-$mode-$n]:-}" | max), $(echo "${missing[none-$mode-$n]:-}" | max),"
    rows+=" $(echo "${missing[rabbitmq-$mode-$n]:-}" | max) |"$'\n'
  done
done
section=$(cat <<MD
<!-- begin stomp-fanout (written by bench/stomp_fanout_bench.sh) -->
## STOMP fan-out: one writer, N subscribers of one destination (Backside and RabbitMQ side by side)

Produced by \`bench/stomp_fanout_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo '?') (Debian; its STOMP plugin, topic
destination \`/topic/bench.fan...\`), on the same machine in the same run, runs alternating. STOMP 1.2 over TCP from
\`build/backside-loadgen\` (one thread): N connections SUBSCRIBE, one more SENDs $payload-byte JSON values with a
receipt. Backside runs twice: with durability \`fsync\` (the default: a write is delivered only once it is on disk)
and with \`none\` (nothing persisted — what RabbitMQ's topic messages have: the comparison at equal durability).
Fixed rate: $rate writes/s; full speed: at most 8 writes not yet delivered to every subscriber. $duration s of writes
per run, up to $drain s of drain. Median of $runs (min–max); "missing": deliveries not made by the end of the drain
(the most in one run).

| N | mode | Backside fsync deliveries/s | Backside none deliveries/s | RabbitMQ deliveries/s | fsync ÷ RabbitMQ | none ÷ RabbitMQ | Backside fsync p99 (ms) | Backside none p99 (ms) | RabbitMQ p99 (ms) | missing (fsync, none, RabbitMQ) |
|---|---|---|---|---|---|---|---|---|---|---|
${rows%$'\n'}
<!-- end stomp-fanout -->
MD
)
write_section stomp-fanout "$section" build/benchmarks-stomp-quick.md "STOMP fan-out section"
