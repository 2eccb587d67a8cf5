#!/usr/bin/env bash
# Security rules cost: durable REST writes with a realistic rules file (bench/realistic.rules.json: 20
# rules; each write passes `auth.uid == $uid` and four .validate rules) against the same writes on a database with
# open rules, side by side on one server, alternating, 3 runs each. Target: rules >= 80% of open.
# Usage: bench/rules_bench.sh [--quick]   (writes docs/benchmarks-rules.md, or build/benchmarks-rules-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
source bench/lib.sh
if [ $quick = 1 ]; then duration=2s; out=build/benchmarks-rules-quick.md; else duration=10s; out=docs/benchmarks-rules.md; fi

# --dev: unsigned test tokens are accepted (their claims are the identity) and a database without rules is open.
start_backside "$work/data" --dev
admin=$(cat "$work/data/admin-token")
status=$(curl -s -o "$work/put.out" -w '%{http_code}' -X PUT --data-binary @bench/realistic.rules.json \
  "http://127.0.0.1:$port/.settings/rules.json?ns=rules&auth=$admin")
[ "$status" = 200 ] || { echo "setting the rules failed: $(cat "$work/put.out")" >&2; exit 1; }

b64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
token() { echo "$(b64url '{"alg":"none","typ":"JWT"}').$(b64url "{\"sub\":\"$1\",\"user_id\":\"$1\"}")."; }
tokens=(); for i in 0 1; do tokens+=("$(token u$i)"); done

declare -A rps=([open]="" [rules]="")
for run in 1 2 3; do
  for ns in open rules; do
    r=$(wrk -t2 -c64 -d$duration -s bench/rules_put.lua "http://127.0.0.1:$port" -- "$ns" "${tokens[@]}" |
        grep 'Requests/sec' | awk '{printf "%d", $2}')
    rps[$ns]+="$r "
    echo "  run $run $ns rules: $r writes/s"
  done
done
# The writes really were checked: a post by the wrong user and an invalid post are refused.
deny=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"title":"x","body":"y","ts":1}' \
  "http://127.0.0.1:$port/users/u1/posts/x.json?ns=rules&auth=${tokens[0]}")
invalid=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"title":1,"body":"y","ts":1}' \
  "http://127.0.0.1:$port/users/u0/posts/x.json?ns=rules&auth=${tokens[0]}")
[ "$deny" = 401 ] && [ "$invalid" = 401 ] || { echo "rules were not enforced ($deny, $invalid)" >&2; exit 1; }
stop_server

m() { echo $1 | tr ' ' '\n' | grep . | median; }
r() { echo $1 | tr ' ' '\n' | grep . | minmax; }
ratio=$(awk -v a="$(m "${rps[rules]}")" -v b="$(m "${rps[open]}")" 'BEGIN {printf "%.2f", a / b}')
mkdir -p "$(dirname "$out")"
cat >"$out" <<MD
# Benchmark: the cost of security rules

Measured by \`bench/rules_bench.sh\` on $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(date -u +%Y-%m-%d),
backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'). One server
(durability fsync, --dev so that test tokens are accepted), two databases side by side: \`open\` (no rules: open in
--dev) and \`rules\` (bench/realistic.rules.json, 20 rules). Each request is a durable REST PUT of a new post under
the writer's own \`/users/<uid>/posts\` with its token; under the rules each write passes \`.write\`
(\`auth != null && auth.uid == \$uid\`) and four \`.validate\` rules. 64 connections, 2 wrk threads (two users),
$duration per run, runs alternating, median of 3 (min–max). The load generator shares the machine.

| database | durable writes/s |
|---|---|
| open rules | $(m "${rps[open]}") ($(r "${rps[open]}")) |
| realistic rules | $(m "${rps[rules]}") ($(r "${rps[rules]}")) |
| ratio rules / open | **$ratio** (target ≥ 0.80) |

Rules are compiled once per load (parse and type-check); a write evaluates them against the current tree and an
overlay of the write (no copy of the tree).
MD
echo "wrote $out (ratio $ratio)"
