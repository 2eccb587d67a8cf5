#!/usr/bin/env bash
# A private RabbitMQ from Debian's package, for the tests and for trying a cluster (docs/cluster.md): its own
# directories, configuration, Erlang cookie and epmd under DIR, every port on 127.0.0.1 only, no plugins (no
# management), no system service. Stopped by the pids it keeps in DIR.
#
#   scripts/rabbitmq.sh start DIR PORT   starts a node named backside-PORT@localhost with AMQP on 127.0.0.1:PORT and
#                                        prints the broker URL as its last line:
#                                        amqp://backside:backside@127.0.0.1:PORT/%2f
#   scripts/rabbitmq.sh stop DIR         stops that node (SIGTERM, up to 30 s, then SIGKILL) and the epmd it started
#
# The user backside/backside (full permissions on the vhost "/") is made on the node's first start by the
# configuration's default_user; guest is not used because RabbitMQ limits it to loopback and the URL should not
# depend on that. The node's own epmd listens on a private port (ERL_EPMD_PORT), so it never meets a system epmd or
# another test's node, and can be stopped by its pid. HOME is DIR, so /var/lib/rabbitmq's cookie is never read.
# As root, RabbitMQ runs as the `rabbitmq` user (made by Debian's package) and DIR is given to it. Exit status 3:
# rabbitmq-server is not installed (scripts/install-deps.sh --test installs it).
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2

bin=/usr/lib/rabbitmq/bin
if [ ! -x "$bin/rabbitmq-server" ] || [ ! -x "$bin/rabbitmqctl" ] || ! command -v epmd >/dev/null; then
  echo "rabbitmq.sh: rabbitmq-server is not installed (apt-get install rabbitmq-server, or scripts/install-deps.sh" \
       "--test)" >&2
  exit 3
fi

# A prefix, not a function: "${as_owner[@]}" cmd & forks and execs cmd, so $! is its pid (a function would run in a
# subshell of its own); setpriv execs the command itself (runuser would stay as its parent).
as_owner=()
[ "$(id -u)" -ne 0 ] || as_owner=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups --)

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Stops the process whose pid is in file $1: SIGTERM, up to 30 s, then SIGKILL.
stop_pid_file() {
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "rabbitmq.sh: pid $pid did not stop within 30 s; killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$file"
}

case "$action" in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/rabbitmq.pid" ] && alive "$(cat "$dir/rabbitmq.pid")"; then
      echo "rabbitmq.sh: a node of $dir is already running (pid $(cat "$dir/rabbitmq.pid"))" >&2
      exit 1
    fi
    node=backside-$port@localhost
    epmd_port=$(free_port)
    dist_port=$(free_port)
    mkdir -p "$dir/mnesia" "$dir/log"
    if [ ! -f "$dir/.erlang.cookie" ]; then
      (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/.erlang.cookie")
    fi
    chmod 400 "$dir/.erlang.cookie"
    echo '[].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"  # instead of /etc/rabbitmq/rabbitmq-env.conf
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$port
default_user = backside
default_pass = backside
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
# A test machine's disk may be nearly full; the default alarm (50 MB) would block every publisher.
disk_free_limit.absolute = 8MB
EOF
    [ "$(id -u)" -ne 0 ] || chown -R rabbitmq: "$dir"
    # What the server, epmd and rabbitmqctl share; kept in DIR for the stop and for trying the node by hand
    # (". DIR/env; rabbitmqctl -n \$RABBITMQ_NODENAME status").
    cat >"$dir/env" <<EOF
export HOME='$dir'
export RABBITMQ_NODENAME='$node'
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist_port
export RABBITMQ_MNESIA_BASE='$dir/mnesia'
export RABBITMQ_LOG_BASE='$dir/log'
export RABBITMQ_PID_FILE='$dir/rabbitmq.pid'
export RABBITMQ_CONFIG_FILE='$dir/rabbitmq.conf'
export RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins'
export RABBITMQ_CONF_ENV_FILE='$dir/rabbitmq-env.conf'
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export ERL_EPMD_ADDRESS=127.0.0.1
export ERL_EPMD_PORT=$epmd_port
EOF
    # shellcheck source=/dev/null
    . "$dir/env"
    # The node's own epmd, started here so that its pid is known (one the VM started itself would be a daemon).
    "${as_owner[@]}" epmd -address 127.0.0.1 -port "$epmd_port" </dev/null >"$dir/log/epmd.log" 2>&1 &
    echo $! >"$dir/epmd.pid"
    for _ in $(seq 100); do epmd -port "$epmd_port" -names >/dev/null 2>&1 && break; sleep 0.1; done
    # setsid: the node is not in the caller's process group (a test runner's ^C stops it through `stop` only);
    # no output to the caller's pipe, which would otherwise stay open as long as the node runs.
    "${as_owner[@]}" setsid "$bin/rabbitmq-server" </dev/null >"$dir/log/startup.log" 2>&1 &
    wrapper=$!
    started=false
    for _ in $(seq 90); do
      if "${as_owner[@]}" "$bin/rabbitmqctl" -n "$node" -q await_startup --timeout 5 >/dev/null 2>&1; then
        started=true
        break
      fi
      alive "$wrapper" || break
      sleep 1
    done
    if ! $started; then
      echo "rabbitmq.sh: the node $node did not start; its log:" >&2
      tail -n 40 "$dir/log/startup.log" "$dir/log/$node.log" >&2 2>/dev/null || true
      stop_pid_file "$dir/rabbitmq.pid"
      if alive "$wrapper"; then kill "$wrapper" 2>/dev/null || true; fi
      stop_pid_file "$dir/epmd.pid"
      exit 1
    fi
    echo "amqp://backside:backside@127.0.0.1:$port/%2f"
    ;;
  stop)
    dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0  # no such directory: nothing runs
    # The pid file holds the Erlang VM's own pid; the rabbitmq-server shell above it exits with it.
    stop_pid_file "$dir/rabbitmq.pid"
    stop_pid_file "$dir/epmd.pid"
    ;;
  *) usage ;;
esac
