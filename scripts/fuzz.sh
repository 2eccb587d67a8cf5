#!/usr/bin/env bash
# Builds the libFuzzer targets in build-sanitize/ (scripts/build.sh sanitize: clang, ASan + UBSan, the same
# instrumented libraries as its unit_tests) and runs each on its corpus for N seconds (default 20).
# Usage: scripts/fuzz.sh [seconds] [name...] (default: every fuzzer). New interesting inputs are kept in
# build-sanitize/corpus/<name>/ (copy the ones worth keeping into fuzz/corpus/<name>/); a crash stops the run with
# the crashing input saved in build-sanitize/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
scripts/build.sh sanitize fuzzers
dir=build-sanitize
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for fuzzer in "$dir"/fuzz_*; do names+=("${fuzzer#"$dir"/fuzz_}"); done
fi
for name in "${names[@]}"; do
  mkdir -p "$dir/corpus/$name"
  options=()
  # The HTTP fuzzer's server threads allocate between inputs: libFuzzer's per-input leak check would rerun most
  # inputs (LeakSanitizer still checks the whole run at exit), and the entropic schedule's bookkeeping over their
  # coverage took half the time (19 inputs/s with both, 150 without).
  [ "$name" = http_request ] && options=(-detect_leaks=0 -entropic=0)
  echo "fuzzing $name for ${seconds}s"
  (cd "$dir" && "./fuzz_$name" -max_total_time="$seconds" -print_final_stats=0 -rss_limit_mb=4096 \
      "${options[@]+"${options[@]}"}" "corpus/$name" "../fuzz/corpus/$name" 2>&1 |
      grep -E '^#[0-9]+[[:space:]]+DONE|ERROR|SUMMARY' || true)
  # libFuzzer exits non-zero on a crash; rerun the corpus to fail loudly if any saved input crashes.
  (cd "$dir" && "./fuzz_$name" -runs=0 "${options[@]+"${options[@]}"}" "corpus/$name" "../fuzz/corpus/$name" >/dev/null 2>&1) || {
    echo "fuzzer $name found a crash: see $dir/crash-*" >&2; exit 1; }
  ls "$dir"/crash-* >/dev/null 2>&1 && { echo "fuzzer $name found a crash: $(ls "$dir"/crash-*)" >&2; exit 1; }
done
echo "fuzzing done"
