#!/usr/bin/env bash
# The first README command: install what is missing, build, and start the server on its embedded store.
# Extra arguments go to `backside serve` (e.g. --port 9001 --data-dir /var/lib/backside).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
exec build/backside serve "$@"
