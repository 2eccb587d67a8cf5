# Shared by the bench/*.sh scripts (sourced after `cd` to the repository root).

# A work directory and the pids to kill on exit (scripts append to `pids`).
work=$(mktemp -d)
pids=()
bench_cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap bench_cleanup EXIT

# Statistics over a list of numbers, separated by spaces or newlines.
# An empty list gives "" (and success: the scripts run with set -e and pipefail).
numbers() { tr ' ' '\n' | { grep . || true; } | sort -g; }
median() { numbers | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minmax() { numbers | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }
max() { numbers | tail -1; }
cell() {  # "median (min–max)"; "—" without any value (every run failed)
  if [ -z "${1// /}" ]; then echo "—"; else echo "$(echo "$1" | median) ($(echo "$1" | minmax))"; fi
}
field() { tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }               # a key=value of backside-loadgen's result

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The HTTP port a `backside serve --port 0` logged, once it has ("" until then).
logged_port() { grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" | grep -o '[0-9]*$' || true; }

# Starts `backside serve` (build/backside, or $BACKSIDE_BIN) on free ports with its data in DIR and more flags
# (--dev, --durability ...); returns once it answers, with $port (HTTP) and $server (pid) set.
start_backside() {  # start_backside DIR [flags...]
  local dir=$1 log="$work/server.log"; shift
  local stomp=(--stomp-port 0); [[ " $* " == *" --stomp-port "* ]] && stomp=()  # STOMP/TCP only when asked for
  "${BACKSIDE_BIN:-build/backside}" serve "${stomp[@]+"${stomp[@]}"}" --port 0 --data-dir "$dir" "$@" >"$log" 2>&1 &
  server=$!; pids+=($server); port=""
  for _ in $(seq 1 1000); do
    [ -z "$port" ] && port=$(logged_port "$log")
    [ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/.json?shallow=true" && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.01
  done
  echo "server did not start" >&2; cat "$log" >&2; exit 1
}

# Redis (Debian's redis-server) on 127.0.0.1 without persistence, the pub/sub reference; sets $port and $server.
start_redis() {
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
      --maxclients $(( $(ulimit -n) - 100 )) >"$work/redis.log" 2>&1 &
    server=$!; pids+=($server)
    for _ in $(seq 1 500); do
      grep -q 'Ready to accept' "$work/redis.log" && return 0
      kill -0 "$server" 2>/dev/null || break
      sleep 0.01
    done
    kill -9 "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
  done
  echo "redis-server did not start" >&2; cat "$work/redis.log" >&2; exit 1
}

# The npm firebase-server (bench/peers, installed by scripts/install-deps.sh --test) on 127.0.0.1; sets $port and
# $server.
start_firebase_server() {
  port=$(free_port)
  # A bigger heap than Node's default, so that it is not memory that stops it first at 10,000 connections.
  node --max-old-space-size=8192 bench/peers/firebase_server.js "$port" >"$work/firebase-server.log" 2>&1 &
  server=$!; pids+=($server)
  for _ in $(seq 1 1000); do
    grep -q 'listening' "$work/firebase-server.log" && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.01
  done
  echo "firebase-server did not start" >&2; cat "$work/firebase-server.log" >&2; exit 1
}
# Why the firebase-server stopped, if it did: the last line of its log ("" while it runs).
firebase_server_failure() {
  kill -0 "$server" 2>/dev/null && return 0
  grep -v '^\s*$' "$work/firebase-server.log" | grep -iE 'error|fatal|abort' | head -1 | cut -c1-160
}
firebase_server_version() { node -p 'require("./bench/peers/node_modules/firebase-server/package.json").version'; }

# Starts one of the systems the fan-out workloads compare: backside (durability fsync), backside-none, redis,
# firebase-server. Sets $port, $server and $proto (backside-loadgen's --proto for it).
start_system() {  # start_system NAME
  case $1 in
    backside) rm -rf "$work/db"; start_backside "$work/db" --dev; proto=firebase ;;
    backside-none) rm -rf "$work/db"; start_backside "$work/db" --dev --durability none; proto=firebase ;;
    redis) start_redis; proto=redis ;;
    firebase-server) start_firebase_server; proto=firebase ;;
    *) echo "unknown system $1" >&2; exit 2 ;;
  esac
}

# Adds the numbers of a `backside-loadgen fanout` result to the caller's associative arrays dps, p50, p99, p999 and
# missing (deliveries not made by the end of the drain) under KEY.
record_fanout() {  # record_fanout KEY RESULT
  dps[$1]+="$(echo "$2" | field deliveries_per_s) "
  p50[$1]+="$(echo "$2" | field p50_ms) "
  p99[$1]+="$(echo "$2" | field p99_ms) "
  p999[$1]+="$(echo "$2" | field p999_ms) "
  missing[$1]+="$(( $(echo "$2" | field expected) - $(echo "$2" | field deliveries) )) "
}

# Quick mode checks that a workload runs end to end: no peer failed (the caller's $failures, if it keeps one) and every
# write reached every subscriber (nothing in the caller's associative array missing, as record_fanout fills it).
# Exits with an error naming WHAT otherwise.
check_nothing_missing() {  # check_nothing_missing WHAT
  [ -z "${failures:-}" ] || { echo "firebase-server failed: $failures" >&2; exit 1; }
  local k m
  for k in "${!missing[@]}"; do
    for m in ${missing[$k]:-}; do [ "$m" = 0 ] || { echo "$1 $k: $m deliveries missing" >&2; exit 1; }; done
  done
}

# Stops what start_backside / start_redis / start_firebase_server started last.
stop_server() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }

# Replaces the <!-- begin NAME ... --> ... <!-- end NAME --> section of docs/benchmarks.md with TEXT (or appends it).
replace_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, section = sys.argv[1], sys.argv[2]
path = "docs/benchmarks.md"
text = open(path).read()
pattern = re.compile(r"<!-- begin " + re.escape(name) + r" .*?<!-- end " + re.escape(name) + r" -->", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
}

# Writes a script's results: with $quick = 1 to QUICK_FILE (the tests' run; docs untouched), else as section NAME of
# docs/benchmarks.md (replace_section; WHAT, if given, says which in the message).
write_section() {  # write_section NAME TEXT QUICK_FILE [WHAT]
  if [ "$quick" = 1 ]; then
    mkdir -p "$(dirname "$3")"; printf '%s\n' "$2" >"$3"; echo "wrote $3"
  else
    replace_section "$1" "$2"
    echo "wrote docs/benchmarks.md${4:+ ($4)}"
  fi
}
