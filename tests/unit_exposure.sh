#!/usr/bin/env bash
# deploy/sealdrop-server.service as systemd scores it: `systemd-analyze
# security --offline=true` reads the unit file alone (no systemd as PID 1,
# nothing installed) and gives an exposure level from 0 (confined) to 10.
# It must stay at or under MAX; the unit also keeps allowing the seccomp
# call, without which the server dies installing its own filter.
#   tests/unit_exposure.sh <unit file> <max>
set -euo pipefail
unit=$1 max=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "FAIL: systemd-analyze not found (deploy/install-deps.sh --test installs systemd)"
  exit 1
fi
out=$(systemd-analyze security --offline=true "$unit" 2>&1) || {
  echo "FAIL: systemd-analyze could not read $unit:"; echo "$out"; exit 1; }
score=$(printf '%s\n' "$out" | sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
if [ -z "$score" ]; then
  echo "FAIL: no exposure level in systemd-analyze's output:"; echo "$out"; exit 1
fi
# What still counts against it.
printf '%s\n' "$out" | grep '✗' || true
if ! grep -Eq '^SystemCallFilter=.*\bseccomp\b' "$unit"; then
  echo "FAIL: $unit does not allow the seccomp call (SystemCallFilter=seccomp)"; exit 1
fi
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
  echo "FAIL: exposure $score is above $max"; exit 1
fi
echo "ok: exposure $score (at most $max)"
