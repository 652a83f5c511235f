#!/usr/bin/env bash
# README command 1 on a bare Debian 12, as a new operator meets it.
#
#   tests/fresh_machine.sh [COMMIT]          (as root; COMMIT defaults to HEAD)
#   tests/fresh_machine.sh --suite [COMMIT]  README command 2 instead, by hand
#
# Makes a minimal Debian 12 root (debootstrap --variant=minbase, plus git),
# puts a clean clone of COMMIT in it and runs deploy/quickstart.sh there as
# root. From the host it then:
#   1. waits until the demo answers over HTTPS: GET / is the landing page, and
#      one submission is sealed;
#   2. stops the demo with SIGINT, as Ctrl-C would;
#   3. runs the quickstart a second time and checks that it reuses the demo
#      (same keys and configuration, the submission still there) and serves;
#   4. stops it again and runs `sealdrop-server check` on the instance.
#
# The bare root is made once and kept as a tarball in $SEALDROP_FRESH_CACHE
# (default /var/cache/sealdrop-test/); every run unpacks a new copy, so what a
# run installs never reaches the next one. Only /proc is mounted into the
# root. On every exit path the script unmounts what it mounted, checks with
# findmnt that nothing is left mounted under the root, and only then removes
# it with rm --one-file-system.
#
# --suite runs tests/run.sh inside the root instead of the quickstart checks,
# to prove README command 2 on a bare machine. That takes as long as the suite
# and needs the host's /dev (loop devices, ptys, /dev/shm for Chromium) and a
# read-only /sys, bound into the root. tests/run.sh does not run it.
#
# Where the machine cannot run debootstrap (not root, no debootstrap or
# chroot, or mounting is not allowed) it prints one SKIPPED line and exits 0.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
suite=0
if [ "${1:-}" = "--suite" ]; then suite=1; shift; fi
commit=$(git -C "$here" rev-parse "${1:-HEAD}")
url=https://127.0.0.1:8443
# A first run installs packages and builds everything.
first_wait=${SEALDROP_FRESH_WAIT:-2400}

say() { printf 'fresh_machine: %s\n' "$*"; }
skip() { say "SKIPPED: $* (README command 1 was not tried on a bare Debian 12)"; exit 0; }
die() { say "FAILED: $*" >&2; exit 1; }

. "$here/tests/bare_root.sh"
why=$(bare_root_unusable)
[ -z "$why" ] || skip "$why"

root="" pid=""

stop_demo() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=""
}

cleanup() {
  local rc=$?
  stop_demo
  remove_root "$made" || rc=1
  remove_root "$root" || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bare root, made once -------------------------------------------------------
make_bare_tarball

# --- a fresh copy for this run ------------------------------------------------------
root=$(mktemp -d "$cache/root.XXXXXX")
log=$cache/$(basename "$root").log
unpack_bare_root "$root"
git clone -q --no-local --no-hardlinks "$here" "$root/root/sealdrop"
git -C "$root/root/sealdrop" checkout -q --detach "$commit"
git -C "$root/root/sealdrop" remote remove origin
mount -t proc proc "$root/proc"
say "root $root, commit ${commit:0:12}, log $log"

if curl -sk -o /dev/null --max-time 3 "$url/"; then
  die "something already answers at $url: stop it first"
fi

# Runs README command 1 inside the root in a session of its own, so that
# SIGINT can go to its process group the way a terminal's Ctrl-C does.
start_demo() {
  setsid chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd /root/sealdrop && exec deploy/quickstart.sh' >> "$log" 2>&1 < /dev/null &
  pid=$!
}

# Waits until GET / answers with the landing page.
wait_ready() {
  local until=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$until" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -30 "$log" >&2
      die "README command 1 ended before the demo served (log above, whole in $log)"
    fi
    if curl -sk --max-time 5 "$url/" 2>/dev/null | grep -q 'action="/submit?lang=en&amp;csrf='; then
      return 0
    fi
    sleep 2
  done
  tail -30 "$log" >&2
  die "the demo did not answer at $url/ within $1 s"
}

# Stops the demo with SIGINT and checks that it stopped cleanly.
interrupt_demo() {
  kill -INT -- "-$pid"
  local rc=0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && die "the demo did not stop within 30 s of SIGINT"
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" = 0 ] || { tail -20 "$log" >&2; die "the demo exited with status $rc after SIGINT"; }
  tail -1 "$log" | grep -q 'sealdrop-server: stopped' || die "the demo's last line is not 'stopped'"
}

demo_files() {
  (cd "$root/root/sealdrop/demo" && sha256sum reviewer.key reviewer.key.pub reviewer.passphrase \
     instance/config.toml instance/instance.key instance/tls/cert.pem instance/tls/key.pem)
}

if [ "$suite" = 1 ]; then
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  mount -t sysfs -o ro sysfs "$root/sys"
  t0=$SECONDS
  say "README command 2: tests/run.sh inside the root (output also in $log)"
  # In a session of its own, so that stopping this script stops it too.
  setsid chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd /root/sealdrop && tests/run.sh' >> "$log" 2>&1 < /dev/null &
  pid=$!
  tail -n +1 -f --pid="$pid" "$log" &
  rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" = 0 ] || die "tests/run.sh failed inside the root (status $rc; log $log)"
  say "README command 2 passed inside the root in $((SECONDS - t0)) s"
  rm -f "$log"
  exit 0
fi

t0=$SECONDS
say "run 1: deploy/quickstart.sh (installs, builds, serves)"
start_demo
wait_ready "$first_wait"
say "run 1 serves after $((SECONDS - t0)) s"
# init --name reached the page: sources see whom they are writing to.
curl -sk --max-time 10 "$url/" | grep -q '>sealdrop demo<' ||
  die "the landing page does not name the demo instance (init --name)"

body=$root/tmp/evidence.bin
page=$root/tmp/receipt.html
head -c 100000 /dev/urandom > "$body"
# As a browser would: the form's cookie, and the token its form carries.
jar=$root/tmp/cookies
token=$(curl -sk --max-time 10 -c "$jar" "$url/" | grep -o 'csrf=[0-9a-f]*' | head -1 | cut -d= -f2)
[ -n "$token" ] || die "the landing page has no form token"
code=$(curl -sk -o "$page" -w '%{http_code}' --max-time 60 -b "$jar" \
         -F 'message=a first submission from a bare machine' -F "files=@$body;filename=evidence.bin" \
         "$url/submit?csrf=$token")
[ "$code" = 200 ] || die "the submission was answered with HTTP $code"
grep -q '<h1>Received</h1>' "$page" && grep -q '>1 file<' "$page" ||
  die "the answer to the submission is not a receipt for one file"
grep -q '<p class="words" lang="en" dir="ltr">[a-z-]*\( [a-z-]*\)\{6\}</p>' "$page" ||
  die "the receipt of a first submission shows no seven-word codename"
rm -f "$body" "$page"
say "one submission sealed"

interrupt_demo
say "run 1 stopped cleanly on SIGINT"
before=$(demo_files)

t1=$SECONDS
start_demo
wait_ready 600
say "run 2 serves after $((SECONDS - t1)) s"
interrupt_demo
after=$(demo_files)
[ "$before" = "$after" ] || die "run 2 did not reuse the demo: its keys or configuration changed"
[ "$(grep -c '^initialised ' "$log")" = 1 ] || die "run 2 made a new instance"
say "run 2 reused the demo and stopped cleanly"

report=$(chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
           /bin/bash -c 'cd /root/sealdrop && build/server/sealdrop-server check demo/instance' 2>&1) ||
  { echo "$report" >&2; die "sealdrop-server check failed on the demo instance"; }
echo "$report" | grep -qx 'submissions: 1' || { echo "$report" >&2; die "the store does not hold the one submission"; }
echo "$report" | grep -q '^source records' && { echo "$report" >&2; die "the store holds source records"; }
echo "$report" | grep -qx 'ok' || { echo "$report" >&2; die "sealdrop-server check did not say ok"; }
say "sealdrop-server check: ok, 1 submission"
say "passed in $((SECONDS - t0)) s"
rm -f "$log"
