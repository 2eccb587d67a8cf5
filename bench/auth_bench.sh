#!/usr/bin/env bash
# Authentication cost, on one server without --dev, a database whose rules require a signed-in user:
#  1. Reads with a user's ID token against reads with the admin token, side by side: a verified ID token is cached
#     for its lifetime, so a burst with one token costs one RSA signature check (the unit test
#     IdTokens.ABurstWithOneTokenCostsOneSignatureCheck counts them) and should cost about what the admin token does.
#  2. p99 latency of a read-only load alone, and with 50 password sign-ins per second beside it (Argon2id runs on
#     worker threads, never on the I/O threads); the sign-ins' own latency too.
# Usage: bench/auth_bench.sh [--quick]   (writes docs/benchmarks-auth.md, or build/benchmarks-auth-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
source bench/lib.sh
if [ $quick = 1 ]; then duration=2; runs=1; out=build/benchmarks-auth-quick.md; else duration=10; runs=3; out=docs/benchmarks-auth.md; fi

start_backside "$work/data"
base="http://127.0.0.1:$port"
admin=$(cat "$work/data/admin-token")
curl -sf -o /dev/null -X PUT -d '{"rules":{".read":"auth != null",".write":"auth != null"}}' \
  "$base/.settings/rules.json?auth=$admin"
curl -sf -o /dev/null -X PUT -d '{"name":"Ann","age":30,"city":"Oslo"}' "$base/users/u1.json?auth=$admin"
identity="$base/identitytoolkit.googleapis.com/v1/accounts"
signup=$(curl -sf -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench secret","returnSecureToken":true}' "$identity:signUp?key=k")
token=$(echo "$signup" | python3 -c 'import json,sys; print(json.load(sys.stdin)["idToken"])')
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/users/u1.json")" = 401 ] || { echo "rules not enforced" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/users/u1.json?auth=$token")" = 200 ] || { echo "token refused" >&2; exit 1; }

wrk_rps() { grep 'Requests/sec' | awk '{printf "%d", $2}'; }
wrk_ms() {  # latency percentile ($1 = 50%, 99%) in ms
  grep -E "^ +$1" | awk '{v=$2; if (v ~ /us$/) {sub(/us/,"",v); printf "%.2f", v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); printf "%.2f", v} else {sub(/s/,"",v); printf "%.2f", v*1000}}'
}

# Sign-ins at 50/s for $1 seconds: 4 threads, each on its own schedule of 12.5/s, one connection per sign-in (as an
# SDK after a cold start); prints "p50 p99 count" of their latency in ms.
sign_ins() {
  python3 - "$port" "$1" <<'PY'
import http.client, json, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
body = json.dumps({"email": "bench@example.com", "password": "bench secret", "returnSecureToken": True})
lat, lock, failures = [], threading.Lock(), []
start = time.monotonic()
def worker(offset):
    n = 0
    while True:
        due = start + offset + n / 12.5
        if due - start >= seconds: return
        if time.monotonic() < due: time.sleep(due - time.monotonic())
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=k", body,
                  {"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); c.close()
        with lock:
            (lat if r.status == 200 else failures).append((time.monotonic() - t0) * 1000)
        n += 1
threads = [threading.Thread(target=worker, args=(i * 0.02,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
if failures: sys.exit("%d sign-ins failed" % len(failures))
lat.sort()
print("%.2f %.2f %d" % (lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], len(lat)))
PY
}

declare -A rps=() p99=()
for run in $(seq 1 $runs); do
  for who in admin id_token; do
    credential=$admin; [ $who = id_token ] && credential=$token
    result=$(wrk -t2 -c16 -d${duration}s --latency "$base/users/u1.json?auth=$credential")
    rps[$who]+="$(echo "$result" | wrk_rps) "
    echo "  run $run reads with the $who: $(echo "$result" | wrk_rps) req/s"
  done
  for mode in alone with_sign_ins; do
    if [ $mode = with_sign_ins ]; then sign_ins $((duration + 1)) >"$work/sign_ins.out" & signer=$!; sleep 0.5; fi
    result=$(wrk -t1 -c8 -d${duration}s --latency "$base/users/u1.json?auth=$token")
    if [ $mode = with_sign_ins ]; then wait $signer; signin+="$(cat "$work/sign_ins.out") ;"; fi
    p99[$mode]+="$(echo "$result" | wrk_ms 99%) "
    echo "  run $run reads $mode: p99 $(echo "$result" | wrk_ms 99%) ms"
  done
done
signin_p50=$(echo "$signin" | tr ';' '\n' | awk 'NF {print $1}' | tr '\n' ' ')
signin_p99=$(echo "$signin" | tr ';' '\n' | awk 'NF {print $2}' | tr '\n' ' ')
signin_n=$(echo "$signin" | tr ';' '\n' | awk 'NF {s += $3} END {print s}')
ratio=$(awk -v a="$(echo "${rps[id_token]}" | median)" -v b="$(echo "${rps[admin]}" | median)" 'BEGIN {printf "%.2f", a / b}')

mkdir -p "$(dirname "$out")"
cat >"$out" <<MD
# Benchmark: authentication

Measured by \`bench/auth_bench.sh\` on $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(date -u +%Y-%m-%d),
backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'). One server
(not --dev; rules \`.read: auth != null\`), GET \`/users/u1.json\` (a 3-field object), ${duration} s per run, runs
alternating, median of $runs (min–max). The load generators share the machine with the server.

## Reads with one user's ID token against reads with the admin token

wrk, 2 threads, 16 keep-alive connections, every request carrying the credential as \`?auth=\`. The ID token's RS256
signature is checked once and the identity cached until the token expires (the unit test
\`IdTokens.ABurstWithOneTokenCostsOneSignatureCheck\` counts 1 check for 10,000 verifications).

| credential | requests/s |
|---|---|
| admin token (a constant-time comparison) | $(cell "${rps[admin]}") |
| ID token (cached after the first check) | $(cell "${rps[id_token]}") |
| ratio ID token / admin | **$ratio** |

The admin token also skips rule evaluation; the ID token's requests evaluate \`.read\` and look the token up in the
verified-token cache (a map keyed by the ~900-byte token, under a mutex).

## Read latency with 50 password sign-ins per second beside it

wrk, 1 thread, 8 connections, reads with the ID token; beside it, a client signing in with email and password 50
times a second (4 client threads; Argon2id with OWASP's parameters, 12 MiB and 3 passes, on 2 server worker threads).
$signin_n sign-ins in all.

| reads | p99 latency (ms) |
|---|---|
| alone | $(cell "${p99[alone]}") |
| with 50 sign-ins/s | $(cell "${p99[with_sign_ins]}") |

Sign-in latency (ms) under that load: p50 $(cell "$signin_p50"), p99 $(cell "$signin_p99").
MD
echo "wrote $out (ID token / admin $ratio)"
