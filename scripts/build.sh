#!/usr/bin/env bash
# Configures and builds Backside. Usage: scripts/build.sh [release|sanitize] [target...]
# (build dirs: build/, build-sanitize/; default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
jobs=${BACKSIDE_BUILD_JOBS:-$(nproc)}
case "$kind" in
  release)  dir=build;          flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=build-sanitize; flags=(-DCMAKE_BUILD_TYPE=Debug -DBACKSIDE_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|sanitize]" >&2; exit 2 ;;
esac
[ -f "$dir/CMakeCache.txt" ] || cmake -S . -B "$dir" -G "Unix Makefiles" "${flags[@]}" >/dev/null
targets=(); for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$jobs" "${targets[@]+"${targets[@]}"}"
