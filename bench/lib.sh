# Shared by the bench/*.sh scripts (sourced after `cd` to the repository root).

# A work directory and the pids to kill on exit (scripts append to `pids`).
work=$(mktemp -d)
pids=()
bench_cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap bench_cleanup EXIT

# Statistics over a list of numbers, separated by spaces or newlines.
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
minmax() { tr ' ' '\n' | grep . | sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%s–%s", min, max}'; }
max() { tr ' ' '\n' | grep . | sort -g | tail -1; }
cell() { echo "$(echo "$1" | median) ($(echo "$1" | minmax))"; }  # "median (min–max)"
field() { tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }               # a key=value of backside-loadgen's result

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The HTTP port a `backside serve --port 0` logged, once it has ("" until then).
logged_port() { grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" | grep -o '[0-9]*$' || true; }

# Replaces the <!-- begin NAME ... --> ... <!-- end NAME --> section of docs/benchmarks.md with TEXT (or appends it).
replace_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, section = sys.argv[1], sys.argv[2]
path = "docs/benchmarks.md"
text = open(path).read()
pattern = re.compile(r"<!-- begin " + re.escape(name) + r" .*?<!-- end " + re.escape(name) + r" -->", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
}
