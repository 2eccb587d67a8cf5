#!/usr/bin/env bash
# The second README command: install what is missing, build (the Release configuration, as packagers build it, with
# warnings as errors), check `cmake --install`, and run every test: unit tests (gcc release build, then clang under
# AddressSanitizer + UndefinedBehaviorSanitizer), the fuzzers (from that same clang build) and the end-to-end suites.
# BACKSIDE_SKIP_SANITIZE=1 / BACKSIDE_SKIP_FUZZ=1 skip the sanitized unit tests / the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

echo "== build"
scripts/build.sh release
echo "== install into a temporary prefix (cmake --install, as packagers run it)"
scripts/check-install.sh build
echo "== unit tests"
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 300)

# One clang build (build-sanitize/: ASan + UBSan, libraries instrumented for libFuzzer) serves the sanitized unit
# tests and the fuzzers.
sanitize_targets=()
[ "${BACKSIDE_SKIP_SANITIZE:-0}" = 1 ] || sanitize_targets+=(unit_tests)
[ "${BACKSIDE_SKIP_FUZZ:-0}" = 1 ] || sanitize_targets+=(fuzzers)
if [ ${#sanitize_targets[@]} -gt 0 ]; then
  echo "== build under ASan + UBSan (clang): ${sanitize_targets[*]}"
  scripts/build.sh sanitize "${sanitize_targets[@]}"
fi
if [ "${BACKSIDE_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== unit tests under ASan + UBSan"
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
