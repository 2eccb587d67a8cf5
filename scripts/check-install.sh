#!/usr/bin/env bash
# Checks `cmake --install` as a packager runs it: installs a built tree (default build/) into a temporary prefix and
# checks that the binary, the systemd unit, its sysusers.d entry, the config file and the docs land; that the
# installed binary runs and accepts the installed config file; that installing again (an upgrade) keeps an edited
# config file; and, where systemd-analyze exists, that the unit verifies without a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for file in bin/backside lib/systemd/system/backside.service lib/sysusers.d/backside.conf etc/backside/backside.json \
            share/doc/backside/operations.md share/doc/backside/configuration.md; do
  [ -f "$prefix/$file" ] || fail "$file was not installed"
done
unit=$prefix/lib/systemd/system/backside.service
expected="ExecStart=$prefix/bin/backside serve --config $prefix/etc/backside/backside.json --data-dir /var/lib/backside"
grep -qxF "$expected" "$unit" || fail "the unit does not start the installed binary with the installed config: $(grep ExecStart= "$unit")"
"$prefix/bin/backside" check --config "$prefix/etc/backside/backside.json" --data-dir "$prefix/no-data" >/dev/null \
  || fail "the installed binary does not accept the installed config file"

echo '{"port": 9001}' > "$prefix/etc/backside/backside.json"
cmake --install "$build" --prefix "$prefix" >/dev/null
grep -q 9001 "$prefix/etc/backside/backside.json" || fail "installing again replaced the edited config file"

if command -v systemd-analyze >/dev/null; then
  # It prints what it ignores (a misspelt setting, a bad value) without failing: any output is a failure here.
  out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  verified="verified by systemd-analyze"
else
  verified="not verified: no systemd-analyze here"
fi
echo "install check passed: binary, unit ($verified), sysusers.d entry, config file (kept on upgrade), docs"
