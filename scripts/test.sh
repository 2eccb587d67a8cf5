#!/usr/bin/env bash
# The second README command: install what is missing, build, and run every test:
# unit tests (also under AddressSanitizer + UndefinedBehaviorSanitizer) and the end-to-end suites.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

echo "== build"
scripts/build.sh release
echo "== unit tests"
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 300)

if [ "${BACKSIDE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== unit tests under ASan + UBSan"
  scripts/build.sh sanitize unit_tests
  (cd build-sanitize && ctest --output-on-failure -j "$(nproc)" --timeout 600)
fi

if [ "${BACKSIDE_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzzers (libFuzzer, ASan + UBSan), 20 s each on their corpus"
  scripts/fuzz.sh 20
fi

echo "== end-to-end tests"
BACKSIDE_BIN="$PWD/build/backside" node --test --test-concurrency=1 --test-timeout=600000 tests/e2e/
echo "== benchmarks, quick mode (checks that they run, not how fast)"
bench/run_all.sh --quick
echo "== all tests passed"
