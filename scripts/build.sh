#!/usr/bin/env bash
# Configures and builds Backside. Usage: scripts/build.sh [release|sanitize] [target...] (default: every target)
#   release   build/           gcc, RelWithDebInfo: the server the end-to-end tests and benchmarks run
#   sanitize  build-sanitize/  clang, Debug, ASan + UBSan, libraries instrumented for libFuzzer (BACKSIDE_FUZZ):
#                              one build for unit_tests and the fuzzers (target `fuzzers`; scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
jobs=${BACKSIDE_BUILD_JOBS:-$(nproc)}
compilers=()
case "$kind" in
  release)  dir=build;          flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=build-sanitize; flags=(-DCMAKE_BUILD_TYPE=Debug -DBACKSIDE_SANITIZE=ON -DBACKSIDE_FUZZ=ON)
            compilers=(-DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|sanitize] [target...]" >&2; exit 2 ;;
esac
# A build-sanitize/ configured before it became the clang fuzz build (gcc, no BACKSIDE_FUZZ) cannot be switched
# in place (CMake keeps the compiler of the first configure): start it over.
if [ "$kind" = sanitize ] && [ -f "$dir/CMakeCache.txt" ] && ! grep -q '^BACKSIDE_FUZZ:BOOL=ON$' "$dir/CMakeCache.txt"; then
  echo "reconfiguring $dir as the clang sanitizer + fuzz build"
  rm -rf "$dir"
fi
[ -f "$dir/CMakeCache.txt" ] || cmake -S . -B "$dir" -G "Unix Makefiles" "${flags[@]}" "${compilers[@]+"${compilers[@]}"}" >/dev/null
targets=(); for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]+"${targets[@]}"}"
