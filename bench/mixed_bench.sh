#!/usr/bin/env bash
# Reads and listens while durable writes flow (issues 16 and 17): build/backside-loadgen mixed over the Firebase
# protocol, one Backside with durability fsync (the default), on its embedded store and on PostgreSQL (a private
# server from Debian's packages, scripts/postgres.sh, where a commit is a network round trip). Writers (each writing its own path, one write at a
# time), readers (each reading a random writer's path, one read at a time) and listeners (each listening to a random
# writer's path, waiting for the server's confirmation after the initial value, unlistening, again). Side by side
# in one run: writes alone, and writes with the readers and listeners, so the table shows what reads cost writes
# and what writes cost reads.
# With BACKSIDE_BASELINE_BIN=path/to/an/older/backside (and BACKSIDE_BASELINE_LABEL, e.g. its commit) the same rows are measured for that build too, runs
# alternating, for a before/after of a change (quote that run in docs, not two separate ones).
# Usage: bench/mixed_bench.sh [--quick]   (--quick: 1 s, one run, build/benchmarks-mixed-quick.md)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && quick=1
loadgen=${BACKSIDE_LOADGEN:-build/backside-loadgen}
source bench/lib.sh
writers=32; readers=32; listeners=8; payload=64
if [ $quick = 1 ]; then duration=1; runs=1; else duration=10; runs=3; fi

builds=(current); [ -n "${BACKSIDE_BASELINE_BIN:-}" ] && builds+=(baseline)
stores=(embedded postgresql)

# As root, PostgreSQL runs as its own user: it must reach its directory.
chmod 755 "$work"
scripts/install-deps.sh --test >/dev/null
postgresql=$(scripts/postgres.sh start "$work/pg" "$(free_port)" | tail -n 1)
trap 'scripts/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true; bench_cleanup' EXIT
bin_of() { if [ "$1" = baseline ]; then echo "$BACKSIDE_BASELINE_BIN"; else echo "${BACKSIDE_BIN:-build/backside}"; fi; }
declare -A wps wp50 wp99 rps rp50 rp99 lps lp50 lp99
echo "== mixed: $writers writers alone, then with $readers readers and $listeners listeners (durability fsync)"
for run in $(seq 1 $runs); do
  for store in "${stores[@]}"; do
  for build in "${builds[@]}"; do
    for load in writes mixed; do
      rm -rf "$work/db"
      # Each run its own database (namespace), so that PostgreSQL starts every one empty too.
      ns="mixed$run$build$load"; store_flags=(); [ $store = postgresql ] && store_flags=(--store "$postgresql")
      BACKSIDE_BIN=$(bin_of $build) start_backside "$work/db" --dev "${store_flags[@]+"${store_flags[@]}"}"
      extra=(); [ $load = mixed ] && extra=(--readers $readers --listeners $listeners)
      result=$("$loadgen" mixed --proto firebase --ns "$ns" --port "$port" --clients $writers \
               "${extra[@]+"${extra[@]}"}" --duration $duration --payload $payload --path "bench/mixed" \
               2>"$work/loadgen.log") || {
        echo "  run $run $store $build $load: failed: $result $(tail -3 "$work/loadgen.log")" >&2; exit 1; }
      stop_server
      k="$store-$build-$load"
      wps[$k]+="$(echo "$result" | field writes_per_s) "
      wp50[$k]+="$(echo "$result" | field p50_ms) "
      wp99[$k]+="$(echo "$result" | field p99_ms) "
      if [ $load = mixed ]; then
        rps[$k]+="$(echo "$result" | field reads_per_s) "
        rp50[$k]+="$(echo "$result" | field reads_p50_ms) "
        rp99[$k]+="$(echo "$result" | field reads_p99_ms) "
        lps[$k]+="$(echo "$result" | field listens_per_s) "
        lp50[$k]+="$(echo "$result" | field listens_p50_ms) "
        lp99[$k]+="$(echo "$result" | field listens_p99_ms) "
      fi
      echo "  run $run $store $build $load: $result"
    done
  done
  done
done

rows=""
for store in "${stores[@]}"; do
for build in "${builds[@]}"; do
  label="this build"; [ $build = baseline ] && label="baseline${BACKSIDE_BASELINE_LABEL:+ ($BACKSIDE_BASELINE_LABEL)}"
  store_label="embedded (LMDB)"; [ $store = postgresql ] && store_label="PostgreSQL"
  for load in writes mixed; do
    k="$store-$build-$load"
    if [ $load = writes ]; then what="$writers writers alone"; reads="—"; reads_lat="—"; listens="—"; listens_lat="—"
    else
      what="$writers writers, $readers readers, $listeners listeners"
      reads=$(cell "${rps[$k]}"); reads_lat="$(cell "${rp50[$k]}") / $(cell "${rp99[$k]}")"
      listens=$(cell "${lps[$k]}"); listens_lat="$(cell "${lp50[$k]}") / $(cell "${lp99[$k]}")"
    fi
    rows+="| $store_label | $label | $what | $(cell "${wps[$k]}") | $(cell "${wp50[$k]}") / $(cell "${wp99[$k]}") | $reads | $reads_lat | $listens | $listens_lat |"$'\n'
  done
done
done
section=$(cat <<MD
<!-- begin mixed (written by bench/mixed_bench.sh) -->
## Reads and listens while writes flow

Produced by \`bench/mixed_bench.sh\` on $(date -u +%Y-%m-%d), backside $(git rev-parse --short HEAD 2>/dev/null || echo '?'),
same machine as above. \`build/backside-loadgen mixed\` over the Firebase protocol, durability \`fsync\`: writers each
write $payload-byte values to their own path, one at a time (the next once the previous is acknowledged, i.e. durable);
readers each read a random writer's path (\`g\`), one read at a time; listeners each listen to a random writer's path
(\`q\`), wait for the server's \`ok\` (which follows the initial value), unlisten (\`n\`) and start over. A read or listen
sees the writes before it and is answered once they are durable, released by the committer like a write's
acknowledgement (docs/architecture.md). $duration s per run; median of $runs (min–max); latencies p50 / p99 in ms.

| store | build | load | writes/s | write ms | reads/s | read ms | listens/s | listen ms |
|---|---|---|---|---|---|---|---|---|
${rows%$'\n'}
<!-- end mixed -->
MD
)
write_section mixed "$section" build/benchmarks-mixed-quick.md "reads and listens while writes flow"
