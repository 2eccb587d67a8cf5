#!/usr/bin/env bash
# Installs what Backside needs to build and test, from Debian bookworm packages and npm only.
# Idempotent: installs only what is missing. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
  build-essential cmake pkg-config git curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  liblmdb-dev lmdb-utils libssl-dev libsodium-dev libre2-dev
  libspdlog-dev libfmt-dev libcli11-dev
  libpq-dev librabbitmq-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  nodejs npm python3
)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  apt_packages+=(python3-stomp openssl wrk lmdb-utils chromium clang libclang-rt-14-dev redis-server rabbitmq-server
                postgresql valgrind)
fi
if [ "${1:-}" = "--bench" ]; then  # the full benchmarks (bench/*.sh without --quick): plots
  apt_packages+=(gnuplot-nox)
fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from outside apt (as on the dev machines); do not fight it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Debian starts a daemon package's service on install (redis-server, rabbitmq-server, postgresql); the tests and
  # benchmarks start their own instances on loopback (scripts/postgres.sh) and stop them by pid, so keep the system
  # ones from starting.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  # The end-to-end tests' npm packages, the JavaScript client's own dependency (tests import it from there), and
  # the benchmarks' Node peer (the npm firebase-server).
  for dir in tests clients/js bench/peers; do
    [ -f "$dir/package.json" ] || continue
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  done
fi
