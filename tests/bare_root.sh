# A bare Debian 12 root for the tests that install into one
# (tests/fresh_machine.sh, tests/package_test.sh). Sourced, after the script
# has defined say and die.
#
# The root is made once with debootstrap --variant=minbase (plus git) and
# kept as a tarball in $cache; every run unpacks a new copy, so what a run
# installs never reaches the next one. A root's mounts are undone, and
# checked undone with findmnt, before it is removed with rm --one-file-system.

cache=${SEALDROP_FRESH_CACHE:-/var/cache/sealdrop-test}
mirror=${SEALDROP_FRESH_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/bookworm-minbase-git.tar

# Why this machine cannot make and use a root, or nothing if it can.
bare_root_unusable() {
  [ "$(id -u)" = 0 ] || { echo "needs root"; return; }
  command -v debootstrap >/dev/null ||
    { echo "debootstrap is not installed (deploy/install-deps.sh --test installs it)"; return; }
  command -v chroot >/dev/null && command -v findmnt >/dev/null || { echo "needs chroot and findmnt"; return; }
  command -v curl >/dev/null || { echo "needs curl"; return; }
  mkdir -p "$cache"
  local probe
  probe=$(mktemp -d "$cache/probe.XXXXXX")
  if ! mount -t proc proc "$probe" 2>/dev/null; then
    rmdir "$probe"
    echo "this machine does not allow mounting /proc into a new root"
    return
  fi
  umount "$probe"
  rmdir "$probe"
}

# Mount points at or under $1, deepest first.
mounts_under() {
  findmnt -n -l -o TARGET | awk -v r="$1" '$0 == r || index($0, r "/") == 1' | sort -r
}

# Unmounts whatever is mounted under $1 and removes it, but never while
# anything stays mounted there (rm would cross into it).
remove_root() {
  local dir=$1 m
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  for m in $(mounts_under "$dir"); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ -n "$(mounts_under "$dir")" ]; then
    say "FAILED: still mounted under $dir, so it was not removed:" >&2
    mounts_under "$dir" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

# Makes $tarball if there is none. The root being made is in $made while it
# exists, for the caller's cleanup to remove.
made=""
make_bare_tarball() {
  [ -s "$tarball" ] && return 0
  say "making a bare Debian 12 root with debootstrap (once; kept in $tarball)"
  made=$(mktemp -d "$cache/debootstrap.XXXXXX")
  if ! debootstrap --variant=minbase --include=git bookworm "$made" "$mirror" > "$cache/debootstrap.log" 2>&1; then
    tail -20 "$cache/debootstrap.log" >&2
    die "debootstrap failed (log: $cache/debootstrap.log)"
  fi
  tar -C "$made" --numeric-owner -cf "$tarball.new" .
  mv "$tarball.new" "$tarball"
  remove_root "$made"
  made=""
}

# Unpacks a new copy of the bare root into $1, with what an installed Debian
# has and debootstrap leaves out: a name server and /etc/hosts (without it
# "localhost" does not resolve).
unpack_bare_root() {
  tar -C "$1" --numeric-owner -xf "$tarball"
  # mktemp made the root (and the tarball's top) 0700: users other than
  # root must reach /usr/bin.
  chmod 755 "$1"
  cp /etc/resolv.conf "$1/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$1/etc/hosts"
}
