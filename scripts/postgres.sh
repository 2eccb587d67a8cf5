#!/usr/bin/env bash
# A private PostgreSQL from Debian's packages, for the tests and for trying the shared store (docs/cluster.md): its
# own data directory, listening on 127.0.0.1 only, its unix socket inside that directory, trust authentication
# (loopback and the private socket only), no system service. Stopped by the pid in its data directory.
#
#   scripts/postgres.sh start DIR PORT   initializes DIR (on first use), starts the server, creates the database
#                                        "backside" and prints the store URL: postgresql://backside@127.0.0.1:PORT/backside
#   scripts/postgres.sh stop DIR         stops the server of DIR (pg_ctl stop: the postmaster pid in DIR/data)
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (made by Debian's package), and
# DIR is given to that user. Exit status 3: PostgreSQL's server binaries are not installed (scripts/install-deps.sh
# --test installs them).
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "postgres.sh: PostgreSQL's server binaries are not installed (apt-get install postgresql; or scripts/install-deps.sh --test)" >&2
  exit 3
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$action" in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      # --no-sync: a fresh test cluster need not survive a power loss while it is being made.
      as_owner "$bin/initdb" -D "$dir/data" -U backside --auth=trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200" \
        start >/dev/null; then
      cat "$dir/postgres.log" >&2 || true
      exit 1
    fi
    if ! as_owner "$bin/psql" -h "$dir" -p "$port" -U backside -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'backside'" | grep -q 1; then
      as_owner "$bin/createdb" -h "$dir" -p "$port" -U backside backside
    fi
    echo "postgresql://backside@127.0.0.1:$port/backside"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0  # not running
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    ;;
  *) usage ;;
esac
