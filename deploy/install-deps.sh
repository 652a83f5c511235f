#!/usr/bin/env bash
# Installs what sealdrop needs on Debian 12 and fetches cpp-httplib.
#   deploy/install-deps.sh            build and run
#   deploy/install-deps.sh --laptop   also the tools `extract --scrub` runs
#                                     on the air-gapped laptop (mat2, qpdf, file)
#   deploy/install-deps.sh --test     also what the test suite needs
#
# cpp-httplib: bookworm's libcpp-httplib-dev (0.11.4) has unpatched request
# smuggling and unbounded-body bugs, so we build against the header that
# Debian's security team maintains for trixie (0.18.7+deb13u1 or later),
# fetched as a Debian source package through a private sources list: apt
# checks its signature; the system's own sources are not touched.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want_tests=0 want_laptop=0
case "${1:-}" in
  --test) want_tests=1 want_laptop=1 ;;
  --laptop) want_laptop=1 ;;
  "") ;;
  *) echo "install-deps: unknown option $1 (try --laptop or --test)" >&2; exit 2 ;;
esac

pkgs=(build-essential cmake pkg-config ca-certificates openssl dpkg-dev patch
      libsodium-dev liblmdb-dev libssl-dev libcli11-dev libtomlplusplus-dev
      nlohmann-json3-dev iso-codes libseccomp-dev)
if [ "$want_laptop" = 1 ]; then
  pkgs+=(mat2 qpdf file)
fi
if [ "$want_tests" = 1 ]; then
  pkgs+=(catch2 curl lmdb-utils python3 python3-selenium chromium chromium-driver
        clang libclang-rt-14-dev debootstrap fonts-dejavu-core faketime python3-nacl tor
        debhelper lintian systemd
        systemd-container onionbalance)
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${pkgs[@]}"
else
  echo "install-deps: not root; assuming these are installed: ${pkgs[*]}" >&2
fi

# --- cpp-httplib ---------------------------------------------------------------
dest="$here/.deps/cpp-httplib"
if [ -f "$dest/httplib.h" ] && grep -q 'sealdrop close-after-refusal v2' "$dest/httplib.h"; then
  exit 0
fi
mirror=$(grep -hoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+' \
           /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
           /etc/apt/sources.list.d/*.list 2>/dev/null |
         awk '{print $2}' | grep -v security | grep -i debian | head -1 || true)
security=$(grep -hoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+' \
           /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
           /etc/apt/sources.list.d/*.list 2>/dev/null |
         awk '{print $2}' | grep -i debian-security | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
key=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$work/sources.list" <<SRC
deb-src [signed-by=$key] $mirror trixie main
deb-src [signed-by=$key] $security trixie-security main
SRC
aptopt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
        -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
apt-get "${aptopt[@]}" update -q >/dev/null
(cd "$work" && apt-get "${aptopt[@]}" source --download-only cpp-httplib >/dev/null)
dsc=$(ls "$work"/cpp-httplib_*.dsc | head -1)
# apt has checked every file against the signed Sources index, so the .dsc
# signature (debian-keyring, not installed) adds nothing here.
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
version=$(sed -n 's/^#define CPPHTTPLIB_VERSION "\(.*\)"/\1/p' "$work/src/httplib.h")
case "$version" in
  0.1[89].*|0.[2-9][0-9].*) ;;
  *) echo "install-deps: cpp-httplib $version is older than 0.18.7; refusing" >&2; exit 1 ;;
esac
(cd "$work/src" && patch -p1 --forward --quiet < "$here/deploy/httplib/close-after-refusal.patch")
mkdir -p "$dest"
cp "$work/src/httplib.h" "$work/src/LICENSE" "$dest/"
echo "$(basename "$dsc" .dsc)" > "$dest/VERSION"
echo "install-deps: cpp-httplib $(cat "$dest/VERSION") in $dest"
