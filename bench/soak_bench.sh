#!/usr/bin/env bash
# Soak: a production-configured server (rules, admin token, a 256 MiB memory budget) under mixed load
# for M minutes — Firebase-protocol and REST writers, a STOMP fan-out to 100 readers — while bench/soak_hostile.mjs
# keeps up slow readers, silent connections and oversized or stalled requests, and an admin client records every
# write the server acknowledged. The server's RSS is sampled every 10 s. Afterwards the server is SIGKILLed,
# started again on its data, and every acknowledged write must be there.
# What it checks (exit 1 otherwise): the server never exits; the good clients lose no delivery or connection;
# anonymous RSS stays under the budget plus 64 MiB (the tree, sessions and code, which the budget does not cover)
# and is flat (the median of the last quarter within 10 % of the median of the second); every acknowledged write
# survives. Not part of CI (30 minutes); results go to
# docs/reliability.md by hand, with the machine's load.
# Usage: bench/soak_bench.sh [--minutes M] (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=30
[ "${1:-}" = "--minutes" ] && minutes=$2
seconds=$((minutes * 60))
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
budget=$((256 << 20))
token=soak-admin-token-0123456789abcdef
cat >"$work/rules.json" <<'EOF'
{"rules": {"bench": {".read": true, ".write": true},
           "private": {".read": false, ".write": "auth != null && auth.uid == 'owner'"}}}
EOF
stomp_port=$(free_port)
start_backside "$work/db" --rules "$work/rules.json" --admin-token "$token" --stomp-port "$stomp_port" \
  --max-buffered-bytes $budget
# Anonymous memory is what the budget bounds; file-backed pages (the LMDB map, the log) are the page cache's.
rss_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
file_kib() { awk '/^RssFile/ {print $2}' "/proc/$1/status"; }
start_rss=$(rss_kib "$server")
echo "== soak: $minutes min, server pid $server, start RSS $((start_rss / 1024)) MiB, budget $((budget >> 20)) MiB"

"$loadgen" writes --proto firebase --port "$port" --ns default --clients 16 --duration "$seconds" --payload 200 \
  --path bench/writes >"$work/writes.out" 2>"$work/writes.err" &
writes=$!
"$loadgen" writes --proto rest --port "$port" --ns default --clients 4 --duration "$seconds" --payload 200 \
  --path bench/rest >"$work/rest.out" 2>"$work/rest.err" &
rest=$!
"$loadgen" fanout --proto stomp --port "$stomp_port" --ns default --subscribers 100 --rate 200 \
  --duration "$seconds" --drain 10 --payload 200 --path bench/fanout >"$work/fanout.out" 2>"$work/fanout.err" &
fanout=$!
node bench/soak_hostile.mjs --port "$port" --stomp-port "$stomp_port" --token "$token" --seconds "$seconds" \
  --acked "$work/acked.txt" >"$work/hostile.out" 2>"$work/hostile.err" &
hostile=$!

: >"$work/rss.txt"
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
  kill -0 "$server" 2>/dev/null || { echo "the server exited:" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  echo "$((SECONDS)) $(rss_kib "$server") $(file_kib "$server")" >>"$work/rss.txt"
  sleep 10
done
failed=0
for job in writes rest fanout hostile; do
  wait "${!job}" || { echo "$job failed: $(cat "$work/$job.out") $(tail -3 "$work/$job.err")" >&2; failed=1; }
done
kill -0 "$server" 2>/dev/null || { echo "the server exited" >&2; exit 1; }

# Durability: SIGKILL, start again on the same data, every acknowledged write is there.
kill -9 "$server"; wait "$server" 2>/dev/null || true
start_backside "$work/db" --rules "$work/rules.json" --admin-token "$token" --stomp-port "$(free_port)"
acked=$(wc -l <"$work/acked.txt")
stored=$(curl -s "http://127.0.0.1:$port/soak/acked.json?shallow=true" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin) or {}))')
missing=$(curl -s "http://127.0.0.1:$port/soak/acked.json" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys
data = json.load(sys.stdin) or {}
acked = [int(line) for line in open(sys.argv[1])]
print(sum(1 for n in acked if data.get("k%d" % n) != n))' "$work/acked.txt")
stop_server

samples=$(wc -l <"$work/rss.txt")
quarter=$((samples / 4))
second_q=$(sed -n "$((quarter + 1)),$((2 * quarter))p" "$work/rss.txt" | awk '{print $2}' | median)
last_q=$(tail -n "$quarter" "$work/rss.txt" | awk '{print $2}' | median)
peak=$(awk '{print $2}' "$work/rss.txt" | max)
file_peak=$(awk '{print $3}' "$work/rss.txt" | max)
drift=$(awk -v a="$second_q" -v b="$last_q" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
echo "load: firebase writes $(cat "$work/writes.out")"
echo "      rest writes $(cat "$work/rest.out")"
echo "      stomp fan-out $(cat "$work/fanout.out")"
echo "hostile: $(cat "$work/hostile.out")"
echo "anonymous RSS: start $((start_rss / 1024)) MiB, peak $((peak / 1024)) MiB, median 2nd quarter" \
  "$((second_q / 1024)) MiB, last quarter $((last_q / 1024)) MiB (drift ${drift} %), budget $((budget >> 20)) MiB;" \
  "file-backed RSS (LMDB map, log) peak $((file_peak / 1024)) MiB"
echo "durability after SIGKILL: $acked acknowledged, $stored stored, $missing missing"
# The budget bounds what clients make the server buffer; the tree, the sessions and the code are beside it.
[ "$peak" -lt $(((budget >> 10) + (64 << 10))) ] || { echo "RSS over the budget + 64 MiB" >&2; failed=1; }
awk -v d="$drift" 'BEGIN {exit !(d <= 10 && d >= -10)}' || { echo "RSS not flat within 10 %" >&2; failed=1; }
[ "$missing" = 0 ] && [ "$acked" -gt 0 ] || { echo "acknowledged writes missing" >&2; failed=1; }
[ $failed = 0 ] && echo "soak passed"
exit $failed
