#!/usr/bin/env bash
# Multi-path update size: one REST PATCH of N keys under rules that every key passes
# (.write and .validate per key, looking at data, newData and newData's parent), against a production-configured
# server (rules file and admin token, no --dev). The time is the whole request: upload, parse, rules, commit.
# Usage: bench/update_keys_bench.sh [N...]   (default 1000 10000 48000; prints a markdown table)
# Extra server flags in BENCH_SERVER_FLAGS (the server refuses updates over max_update_keys, default 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 48000)

cat >"$work/rules.json" <<'EOF'
{"rules": {"items": {"$k": {
  ".write": "auth == null && !data.exists() && newData.parent().hasChildren()",
  ".validate": "newData.child('n').isNumber() && newData.child('n').val() >= 0"}}}}
EOF
# shellcheck disable=SC2086
start_backside "$work/data" --rules "$work/rules.json" --admin-token bench-admin-token-0123456789 \
  ${BENCH_SERVER_FLAGS:-}

echo "| keys | PATCH status | PATCH time (s) |"
echo "|---|---|---|"
for n in "${sizes[@]}"; do
  python3 -c "import json,sys; n=int(sys.argv[1]); print(json.dumps({f'u{n}k{i}': {'n': i} for i in range(n)}))" \
    "$n" >"$work/body.json"
  curl -s -o "$work/patch.out" -w '%{http_code} %{time_total}\n' -X PATCH --data-binary @"$work/body.json" \
    "http://127.0.0.1:$port/items.json?print=silent" >"$work/patch.timing"
  read -r status total <"$work/patch.timing"
  echo "| $n | $status | $total |"
done
stop_server 2>/dev/null || true
