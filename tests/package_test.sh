#!/usr/bin/env bash
# The Debian packages, built and installed as an operator would.
#
#   tests/package_test.sh            (as root)
#
# 1. builds the packages from this tree (deploy/build-deb.sh) and runs
#    lintian on them: any error fails;
# 2. in a bare Debian 12 root (tests/bare_root.sh: debootstrap's minbase,
#    made once and shared with tests/fresh_machine.sh) installs
#    sealdrop-server with `apt-get install ./sealdrop-server_*.deb tor`, its
#    dependencies coming from Debian, and checks what it made: the system
#    user, its private and empty state directory, the two units (neither
#    enabled), the man page, the examples;
# 3. checks that sealdrop-review, with everything it recommends, pulls in
#    nothing networked, then installs it and sealdrop-courier;
# 4. makes a reviewer key (sealdrop-review keygen) and, as the sealdrop
#    user, an instance listening on a Unix socket as behind tor; serves it
#    as the units would (user sealdrop, group debian-tor), makes one
#    submission with curl (form cookie and token from GET /), stops it with
#    SIGTERM, and checks that sealdrop-server check counts the submission;
# 5. purges sealdrop-server: the binary goes, the instance stays.
#
# Nothing in the root starts a service (a policy-rc.d says no), so tor, which
# sealdrop-server recommends, is installed but never runs. Where the machine
# cannot run debootstrap it prints one SKIPPED line and exits 0.
# SEALDROP_DEB_DIR=<dir> takes the packages from <dir> instead of building
# them (and still runs lintian). It builds them with DEB_BUILD_OPTIONS
# "noopt noddebs" unless DEB_BUILD_OPTIONS is set.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

say() { printf 'package_test: %s\n' "$*"; }
skip() { say "SKIPPED: $* (the Debian packages were not built or installed)"; exit 0; }
die() { say "FAILED: $*" >&2; exit 1; }

. "$here/tests/bare_root.sh"
why=$(bare_root_unusable)
[ -z "$why" ] || skip "$why"
command -v dpkg-buildpackage >/dev/null || skip "needs dpkg-dev"
command -v lintian >/dev/null || skip "lintian is not installed (deploy/install-deps.sh --test installs it)"

work="" root="" pid=""
cleanup() {
  local rc=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  remove_root "$made" || rc=1
  remove_root "$root" || rc=1
  [ -z "$work" ] || rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/sealdrop-package-test.XXXXXX")
# What runs in the root writes here; kept after a failure.
mkdir -p "$cache"
log=$cache/package_test.log
: > "$log"

# --- 1. build and lintian ---------------------------------------------------
if [ -n "${SEALDROP_DEB_DIR:-}" ]; then
  debs=$(cd "$SEALDROP_DEB_DIR" && pwd)
  say "packages from $debs"
else
  debs=$work/debs
  # Unoptimised and without debug packages: what is tested is the packaging,
  # and this halves the build (84 s instead of 173 s on two cores). The
  # Release stage tests the optimised code.
  DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-noopt noddebs}" "$here/deploy/build-deb.sh" "$debs"
fi
tb=$SECONDS
for p in sealdrop-server sealdrop-review sealdrop-courier; do
  ls "$debs"/${p}_*.deb >/dev/null 2>&1 || die "no $p package in $debs"
done
# (lintian's remark that it runs as root is not about the packages.)
tags=$(lintian --fail-on error --tag-display-limit 0 "$debs"/*.changes 2>&1) ||
  { echo "$tags" >&2; die "lintian found errors in the packages"; }
tags=$(echo "$tags" | grep -v '^running with root privileges' || true)
if [ -n "$tags" ]; then
  say "lintian: no errors; what it said:"
  echo "$tags" | sed 's/^/  /'
else
  say "lintian: nothing to say"
fi

# --- 2. sealdrop-server into a bare root -------------------------------------
make_bare_tarball
root=$(mktemp -d "$cache/root.XXXXXX")
unpack_bare_root "$root"
# A root has no running init: no maintainer script may start a service.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir "$root/tmp/debs"
cp "$debs"/*.deb "$root/tmp/debs/"
mount -t proc proc "$root/proc"
say "root $root"

# Runs a command in the root, its output to the log.
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
logged() {
  echo "+ $*" >> "$log"
  in_root "$@" >> "$log" 2>&1 || { tail -30 "$log" >&2; die "failed in the root: $* (log: $log)"; }
}

ta=$SECONDS
logged apt-get update -q
# tor by name, as the package recommends it, but not what tor and systemd
# recommend in turn (cron, an MTA, dbus): a server has its own choice of
# those, and exim's postinst fails in a bare root.
logged sh -c 'cd /tmp/debs && apt-get install -y -q --no-install-recommends ./sealdrop-server_*.deb tor'
say "sealdrop-server installed with apt in $((SECONDS - ta)) s"

passwd=$(in_root getent passwd sealdrop) || die "no user sealdrop"
[ "$(echo "$passwd" | cut -d: -f6)" = /var/lib/sealdrop ] || die "sealdrop's home is not /var/lib/sealdrop: $passwd"
case "$(echo "$passwd" | cut -d: -f7)" in
  */nologin|/bin/false) ;;
  *) die "sealdrop can log in: $passwd" ;;
esac
[ "$(echo "$passwd" | cut -d: -f3)" -lt 1000 ] || die "sealdrop is not a system user: $passwd"
in_root getent group debian-tor >/dev/null || die "no group debian-tor (tor, which sealdrop-server recommends)"
# (stat inside the root: its users are not the host's.)
state=$(in_root stat -c '%a %U %G' /var/lib/sealdrop)
[ "$state" = "700 sealdrop sealdrop" ] || die "/var/lib/sealdrop is $state, not 700 sealdrop sealdrop"
[ -z "$(ls -A "$root/var/lib/sealdrop")" ] || die "the package put files in /var/lib/sealdrop: $(ls -A "$root/var/lib/sealdrop")"
say "user sealdrop (system, no login), /var/lib/sealdrop 0700 and empty"

for unit in sealdrop-server:serve sealdrop-api:api; do
  file=$root/lib/systemd/system/${unit%:*}.service
  [ -f "$file" ] || die "no unit ${unit%:*}.service"
  grep -qx "ExecStart=/usr/bin/sealdrop-server ${unit#*:} /var/lib/sealdrop/instance" "$file" ||
    die "${unit%:*}.service does not run /usr/bin/sealdrop-server ${unit#*:}"
  grep -qx 'User=sealdrop' "$file" && grep -qx 'Group=debian-tor' "$file" ||
    die "${unit%:*}.service does not run as sealdrop:debian-tor"
  if find "$root/etc/systemd/system" -name "${unit%:*}.service" 2>/dev/null | grep -q .; then
    die "${unit%:*}.service was enabled on install, before there is an instance"
  fi
done
# The API's unit is the server's with four lines changed: the hardening of
# the two must not drift apart.
changed=$( (diff <(grep -v '^#' "$root/lib/systemd/system/sealdrop-server.service") \
               <(grep -v '^#' "$root/lib/systemd/system/sealdrop-api.service") || true) |
          grep '^>' | sed 's/=.*//' | sort | tr '\n' ' ')
[ "$changed" = "> Description > ExecStart > ReadWritePaths > RuntimeDirectory " ] ||
  die "sealdrop-api.service differs from sealdrop-server.service in more than the expected lines: $changed"
# systemd came as a dependency (for sysusers): it reads both units as it
# would load them, with the packaged binary in place.
verify=$(in_root systemd-analyze verify --man=no /lib/systemd/system/sealdrop-server.service \
           /lib/systemd/system/sealdrop-api.service 2>&1) && [ -z "$verify" ] ||
  { echo "$verify" >&2; die "systemd-analyze verify finds fault with the units"; }
[ -f "$root/usr/lib/sysusers.d/sealdrop-server.conf" ] || die "no sysusers.d entry"
zcat "$root/usr/share/man/man8/sealdrop-server.8.gz" | grep -q '^\.SS import\\-outbox$' ||
  die "sealdrop-server(8) lacks its COMMANDS section"
for f in examples/torrc examples/apparmor-system_tor OPERATIONS.md.gz copyright; do
  [ -f "$root/usr/share/doc/sealdrop-server/$f" ] || die "no /usr/share/doc/sealdrop-server/$f"
done
say "units (not enabled), sysusers.d, man page and examples in place"

# --- 3. sealdrop-review pulls in nothing networked ----------------------------
pulled=$(in_root sh -c 'cd /tmp/debs && apt-get install --simulate -q ./sealdrop-review_*.deb' |
         awk '$1 == "Inst" { print $2 }')
{ echo "+ what sealdrop-review pulls in with its recommends:"; echo $pulled; } >> "$log"
echo "$pulled" | grep -qx sealdrop-review || die "apt would not install sealdrop-review"
echo "$pulled" | grep -qx mat2 && echo "$pulled" | grep -qx qpdf ||
  die "sealdrop-review does not bring mat2 and qpdf (for extract --scrub)"
# Programs and services that reach a network. Libraries that mat2's PDF and
# image stack links (libcups2, libavahi-client3) do come, and run nothing.
networked=$(echo "$pulled" | grep -E '^(tor|torsocks|obfs4proxy|curl|wget|openssh-.*|ssh|rsync|netcat.*|socat|network-manager.*|isc-dhcp-.*|dhcpcd.*|wpasupplicant|avahi-.*|bluez.*|cups.*|exim4.*|postfix)$' || true)
[ -z "$networked" ] || die "installing sealdrop-review would pull in networked packages: $(echo $networked)"
say "sealdrop-review with its recommends pulls in $(echo "$pulled" | wc -l) packages, none networked"
logged sh -c 'cd /tmp/debs && apt-get install -y -q --no-install-recommends ./sealdrop-review_*.deb ./sealdrop-courier_*.deb'
in_root sealdrop-courier --help >/dev/null || die "sealdrop-courier does not run"

# --- 4. an instance, served as the units would, and one submission ------------
head -c 24 /dev/urandom | base64 > "$root/root/passphrase"
logged sealdrop-review keygen --out /root/reviewer.key --passphrase-file /root/passphrase
install -m 644 "$root/root/reviewer.key.pub" "$root/root/reviewer.key.sign.pub" "$root/tmp/"
logged runuser -u sealdrop -- sealdrop-server init /var/lib/sealdrop/instance \
  --recipient /tmp/reviewer.key.pub --listen unix:/run/sealdrop/http.sock --name "sealdrop package test"
# What RuntimeDirectory= would make.
install -d -m 0750 -o "$(stat -c %u "$root/var/lib/sealdrop")" \
  -g "$(in_root getent group debian-tor | cut -d: -f3)" "$root/run/sealdrop"
sock=$root/run/sealdrop/http.sock
serve_log=$cache/package_test.serve.log
# setpriv, not runuser: it becomes the server rather than waiting on it as
# a parent, so that SIGTERM reaches the server alone, as systemd's would.
setsid chroot "$root" /usr/bin/env -i LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  setpriv --reuid=sealdrop --regid=debian-tor --clear-groups \
  sealdrop-server serve /var/lib/sealdrop/instance \
  > "$serve_log" 2>&1 < /dev/null &
pid=$!
for _ in $(seq 150); do
  [ -S "$sock" ] && curl -s --max-time 5 --unix-socket "$sock" http://localhost/ -o /dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$serve_log" >&2; die "sealdrop-server serve ended at start"; }
  sleep 0.2
done
[ -S "$sock" ] || { cat "$serve_log" >&2; die "sealdrop-server serve made no socket in 30 s"; }
mode=$(in_root stat -c '%a %G' /run/sealdrop/http.sock)
[ "$mode" = "660 debian-tor" ] || die "the socket is $mode, not 660 debian-tor (tor could not reach it)"
say "serving on unix:/run/sealdrop/http.sock as sealdrop:debian-tor"

jar=$work/cookies page=$work/receipt.html body=$work/evidence.bin
head -c 100000 /dev/urandom > "$body"
token=$(curl -s --max-time 10 --unix-socket "$sock" -c "$jar" http://localhost/ |
        grep -o 'csrf=[0-9a-f]*' | head -1 | cut -d= -f2)
[ -n "$token" ] || die "the landing page has no form token"
code=$(curl -s -o "$page" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -b "$jar" \
         -F 'message=a submission to a packaged server' -F "files=@$body;filename=evidence.bin" \
         "http://localhost/submit?csrf=$token")
[ "$code" = 200 ] || die "the submission was answered with HTTP $code"
grep -q '<h1>Received</h1>' "$page" && grep -q '>1 file<' "$page" ||
  die "the answer to the submission is not a receipt for one file"
say "one submission sealed"

kill -TERM -- "-$pid"
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && die "sealdrop-server did not stop within 30 s of SIGTERM"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || { cat "$serve_log" >&2; die "sealdrop-server exited with status $rc after SIGTERM"; }
report=$(in_root runuser -u sealdrop -- sealdrop-server check /var/lib/sealdrop/instance 2>&1) ||
  { echo "$report" >&2; die "sealdrop-server check failed"; }
echo "$report" | grep -qx 'submissions: 1' || { echo "$report" >&2; die "check does not count the one submission"; }
echo "$report" | grep -qx 'ok' || { echo "$report" >&2; die "check did not say ok"; }
say "sealdrop-server check: ok, 1 submission"

# --- 5. purge ---------------------------------------------------------------
logged apt-get purge -y -q sealdrop-server
[ ! -e "$root/usr/bin/sealdrop-server" ] || die "sealdrop-server is still there after purge"
[ -f "$root/var/lib/sealdrop/instance/instance.key" ] || die "purge deleted the operator's instance"
say "purged: the binary is gone, the instance stays"

rm -f "$log" "$serve_log"
say "passed in $((SECONDS - t0)) s (packages $((tb - t0)) s, lintian and the root $((SECONDS - tb)) s)"
