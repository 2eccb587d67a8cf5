#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each on its corpus for N seconds (default 20).
# Usage: scripts/fuzz.sh [seconds]. New interesting inputs are kept in build-fuzz/corpus/<name>/ (copy the ones worth
# keeping into fuzz/corpus/<name>/); a crash stops the run with the crashing input saved in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Debug -DBACKSIDE_FUZZ=ON \
    -DBACKSIDE_SANITIZE=ON -DBACKSIDE_TESTS=OFF >/dev/null
fi
cmake --build build-fuzz -j "${BACKSIDE_BUILD_JOBS:-$(nproc)}"
for fuzzer in build-fuzz/fuzz_*; do
  name=${fuzzer#build-fuzz/fuzz_}
  mkdir -p "build-fuzz/corpus/$name"
  echo "fuzzing $name for ${seconds}s"
  (cd build-fuzz && "./fuzz_$name" -max_total_time="$seconds" -print_final_stats=0 -rss_limit_mb=4096 \
      "corpus/$name" "../fuzz/corpus/$name" 2>&1 | grep -E '^#[0-9]+ +DONE|ERROR|SUMMARY' || true)
  # libFuzzer exits non-zero on a crash; rerun the corpus to fail loudly if any saved input crashes.
  (cd build-fuzz && "./fuzz_$name" -runs=0 "corpus/$name" "../fuzz/corpus/$name" >/dev/null 2>&1) || {
    echo "fuzzer $name found a crash: see build-fuzz/crash-*" >&2; exit 1; }
  ls build-fuzz/crash-* >/dev/null 2>&1 && { echo "fuzzer $name found a crash: $(ls build-fuzz/crash-*)" >&2; exit 1; }
done
echo "fuzzing done"
