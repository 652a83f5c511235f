#!/usr/bin/env bash
# deploy/sealdrop-server.service under systemd as PID 1, in a container.
#
#   tests/systemd_unit.sh BUILD_DIR     (as root; BUILD_DIR holds a Release build)
#
# CI runs without systemd as PID 1, so the unit's settings (its own system
# call filter, PrivateNetwork, PrivateUsers, the runtime directory, the
# socket's group) meet a real systemd only here: systemd-nspawn boots a copy
# of the bare Debian 12 root that tests/fresh_machine.sh keeps, with systemd
# and the server's run-time libraries added, and the unit installed as
# docs/OPERATIONS.md says (a sealdrop user, the debian-tor group, an
# instance on a Unix socket). A unit of the test's own then starts the
# server, checks that it is confined (seccomp filter mode, no_new_privs, no
# core dumps), sends a submission through the socket, asks for the counts
# (SIGUSR1), stops it, runs `check` and powers the container off. The host
# reads what it wrote.
#
# Prints one SKIPPED line and exits 0 where it cannot run: not root, no
# systemd-nspawn (package systemd-container), no bare root yet (run
# tests/fresh_machine.sh first), or a container that cannot boot here.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: tests/systemd_unit.sh BUILD_DIR}" && pwd)
cache=${SEALDROP_FRESH_CACHE:-/var/cache/sealdrop-test}
tarball=$cache/bookworm-minbase-git.tar

say() { printf 'systemd_unit: %s\n' "$*"; }
skip() { say "SKIPPED: $* (the unit was not tried under systemd)"; exit 0; }
die() { say "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (deploy/install-deps.sh --test installs systemd-container)"
[ -s "$tarball" ] || skip "no bare Debian 12 root in $tarball (tests/fresh_machine.sh makes it)"
for f in "$build/server/sealdrop-server" "$build/review/sealdrop-review"; do
  [ -x "$f" ] || die "$f is not built"
done

root=$(mktemp -d "$cache/unit.XXXXXX")
work=$(mktemp -d)
cleanup() {
  # systemd-nspawn has unmounted what it mounted by the time it returns.
  if [ -n "$(findmnt -n -l -o TARGET | awk -v r="$root" 'index($0, r) == 1')" ]; then
    say "FAILED: still mounted under $root, so it was not removed" >&2
  else
    rm -rf --one-file-system "$root"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
tar -C "$root" --numeric-owner -xf "$tarball"
chmod 755 "$root"  # the root directory of the container: others must enter it
cp /etc/resolv.conf "$root/etc/resolv.conf"

nspawn() { systemd-nspawn -D "$root" --register=no --keep-unit -q "$@"; }

say "adding systemd and the server's libraries to a copy of the bare root"
nspawn /bin/sh -c '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null &&
  apt-get install -y -q --no-install-recommends systemd systemd-sysv curl libsodium23 \
    liblmdb0 libssl3 libseccomp2 libtomlplusplus3 >/dev/null 2>&1' ||
  skip "systemd-nspawn cannot run a command in a container here, or apt failed inside it"

# As docs/OPERATIONS.md installs it.
install -m 755 "$build/server/sealdrop-server" "$root/usr/local/bin/sealdrop-server"
cp "$here/deploy/sealdrop-server.service" "$root/etc/systemd/system/"
echo "systemd unit test passphrase" > "$work/pass"
"$build/review/sealdrop-review" keygen --out "$work/reviewer.key" --passphrase-file "$work/pass" >/dev/null
mkdir -p "$root/var/lib/reviewer"
cp "$work/reviewer.key.pub" "$work/reviewer.key.sign.pub" "$root/var/lib/reviewer/"
chmod -R a+rX "$root/var/lib/reviewer"
nspawn /bin/sh -c '
  groupadd -r debian-tor &&
  useradd -r -M -d /nonexistent -s /usr/sbin/nologin sealdrop &&
  install -d -m 700 -o sealdrop -g sealdrop /var/lib/sealdrop &&
  runuser -u sealdrop -- sealdrop-server init /var/lib/sealdrop/instance \
    --recipient /var/lib/reviewer/reviewer.key.pub --listen unix:/run/sealdrop/http.sock' \
  > "$work/init.log" 2>&1 || { cat "$work/init.log"; die "init inside the container failed"; }

# The test's own unit, booted instead of the default target (which would
# wait on logins and D-Bus for nothing).
cat > "$root/root/drive.sh" <<'DRIVE'
#!/bin/bash
exec > /root/drive.log 2>&1
sock=/run/sealdrop/http.sock
systemctl start sealdrop-server.service
for _ in $(seq 100); do [ -S $sock ] && break; sleep 0.1; done
pid=$(systemctl show -p MainPID --value sealdrop-server)
echo "socket: $(stat -c '%A %U:%G' $sock)"
grep -E '^(Seccomp|NoNewPrivs):' /proc/"$pid"/status
grep '^Max core file size' /proc/"$pid"/limits
curl -s -o /dev/null -w 'GET / %{http_code}\n' --unix-socket $sock http://onion/
token=$(curl -s -c /tmp/jar --unix-socket $sock http://onion/ | grep -o 'csrf=[0-9a-f]\{64\}' | head -1)
curl -s -o /tmp/receipt -w 'POST /submit %{http_code}\n' -b /tmp/jar --unix-socket $sock \
  -F 'message=sent under systemd' "http://onion/submit?$token"
grep -q Received /tmp/receipt && echo "receipt: Received"
systemctl kill -s USR1 sealdrop-server
sleep 0.5
systemctl stop sealdrop-server
systemctl show -p Result -p ExecMainStatus sealdrop-server
runuser -u sealdrop -- sealdrop-server check /var/lib/sealdrop/instance | grep -E '^(submissions: .*|ok)$'
journalctl -b -u sealdrop-server --no-pager -o cat | sed 's/^/journal: /'
echo "done"
systemctl --no-block poweroff
DRIVE
chmod 755 "$root/root/drive.sh"
cat > "$root/etc/systemd/system/sealdrop-test.service" <<'UNIT'
[Unit]
Description=drive sealdrop-server.service
After=basic.target
[Service]
Type=oneshot
ExecStart=/root/drive.sh
UNIT
cat > "$root/etc/systemd/system/sealdrop-test.target" <<'UNIT'
[Unit]
Description=the systemd unit test
Requires=basic.target sealdrop-test.service
After=basic.target
UNIT

say "booting the container (systemd-nspawn -b)"
timeout 300 systemd-nspawn -D "$root" --register=no --keep-unit -b --console=read-only \
  systemd.unit=sealdrop-test.target < /dev/null > "$work/boot.log" 2>&1 || true
[ -s "$root/root/drive.log" ] || { tail -20 "$work/boot.log"; skip "the container did not boot here"; }
log=$(cat "$root/root/drive.log")
printf '%s\n' "$log" | sed 's/^/  /'
grep -q '^done$' <<<"$log" || die "the test unit did not finish"
for want in 'socket: srw-rw---- sealdrop:debian-tor' $'Seccomp:\t2' $'NoNewPrivs:\t1' \
            'GET / 200' 'POST /submit 200' 'receipt: Received' 'Result=success' \
            'ExecMainStatus=0' 'submissions: 1' 'journal: sealdrop-server: listening on' \
            'journal: sealdrop-server: today so far:' 'journal: sealdrop-server: stopped'; do
  grep -qF -- "$want" <<<"$log" || die "no '$want' in what the test unit saw"
done
grep -Eq '^Max core file size +0 +0 ' <<<"$log" || die "core dumps are not off"
grep -qx 'ok' <<<"$log" || die "check is not clean"
say "ok: the unit starts the server under systemd, confined; it serves, counts, stops cleanly"
