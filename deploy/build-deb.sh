#!/usr/bin/env bash
# Builds sealdrop's Debian packages (debian/) into a directory:
#
#   deploy/build-deb.sh OUTDIR
#
# writes sealdrop-server, sealdrop-review and sealdrop-courier (.deb), their
# debug symbols (.ddeb), and the .buildinfo and .changes into OUTDIR.
#
# As root it first installs what debian/control's Build-Depends lists, if
# anything is missing (apt-get build-dep), and fetches the patched
# cpp-httplib into .deps/ if it is not there (deploy/install-deps.sh); those
# two steps need the network, the build itself does not. Elsewhere it
# expects both done.
#
# The build runs on a copy of the tree in a temporary directory (the files
# git tracks or would track, plus .deps/cpp-httplib), so the tree itself
# stays as it was, build/ and all. DEB_BUILD_OPTIONS is passed on (nocheck,
# noddebs, parallel=N); without parallel=N it uses every core.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'build-deb: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 2; }
[ $# = 1 ] || die "usage: deploy/build-deb.sh OUTDIR"
mkdir -p "$1"
out=$(cd "$1" && pwd)
git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  die "$here is not a git checkout; the copy it builds is made from git's list of files"

export DEBIAN_FRONTEND=noninteractive
if ! (cd "$here" && dpkg-checkbuilddeps) 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    (cd "$here" && dpkg-checkbuilddeps) || true
    die "build dependencies are missing (as root this script installs them)"
  fi
  say "installing the build dependencies (apt-get build-dep)"
  apt-get update -q >/dev/null
  apt-get build-dep -y -q "$here" >/dev/null
fi
if ! grep -qs 'sealdrop close-after-refusal v2' "$here/.deps/cpp-httplib/httplib.h"; then
  [ "$(id -u)" = 0 ] || die "no patched cpp-httplib in .deps/: run deploy/install-deps.sh as root"
  "$here/deploy/install-deps.sh"
fi

version=$(cd "$here" && dpkg-parsechangelog -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/sealdrop-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/sealdrop-$version
mkdir "$src"
# Tracked files (as they are in the tree, changes included) and new ones
# git does not ignore; files deleted from the tree are left out.
(cd "$here" && git ls-files -z --cached --others --exclude-standard |
   while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
   tar --null -T - -cf -) | tar -C "$src" -xf -
mkdir -p "$src/.deps"
cp -a "$here/.deps/cpp-httplib" "$src/.deps/"

case " ${DEB_BUILD_OPTIONS:-} " in
  *" parallel="*) ;;
  *) export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$(nproc)" ;;
esac
say "building sealdrop $version (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS), log in $out/build.log"
t0=$SECONDS
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1; then
  tail -30 "$out/build.log" >&2
  die "dpkg-buildpackage failed (whole log: $out/build.log)"
fi
shopt -s nullglob
made=("$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes)
mv -f "${made[@]}" "$out/"
say "built in $((SECONDS - t0)) s:"
for f in "${made[@]}"; do printf '  %s\n' "$out/$(basename "$f")"; done
