#!/usr/bin/env bash
# Configures and builds Backside. Usage: scripts/build.sh [release|sanitize] [target...] (default: every target)
#   release   build/           gcc, Release (-O3, NDEBUG) as packagers build it, plus -g for debuggers and profiles:
#                              the server the end-to-end tests and benchmarks run
#   sanitize  build-sanitize/  clang, Debug, ASan + UBSan, libraries instrumented for libFuzzer (BACKSIDE_FUZZ):
#                              one build for unit_tests and the fuzzers (target `fuzzers`; scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
jobs=${BACKSIDE_BUILD_JOBS:-$(nproc)}
compilers=()
case "$kind" in
  release)  dir=build;          flags=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-g) ;;
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
# Warnings are errors here and in CI (BACKSIDE_WERROR), not for users. The compiler is chosen at the first configure
# only (CMake cannot switch it in place); the other settings are applied every time, so a build/ configured by an
# older version of this script follows it (a changed build type rebuilds everything once).
flags+=(-DBACKSIDE_WERROR=ON)
if [ -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
else
  cmake -S . -B "$dir" -G "Unix Makefiles" "${flags[@]}" "${compilers[@]+"${compilers[@]}"}" >/dev/null
fi
targets=(); for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]+"${targets[@]}"}"
