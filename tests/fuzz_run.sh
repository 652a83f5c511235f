#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + ASan + UBSan) in build-fuzz, or
# in the tree SEALDROP_FUZZ_BUILD names (configured with -DSEALDROP_FUZZ=ON:
# tests/run.sh shares its sanitizer build this way), and
# runs each for a bounded time over a copy of its seed corpus
# (fuzz/corpus/<target>/, left unmodified) plus fuzz/regressions/<target>/,
# with fuzz/dict/<target>.dict as dictionary when there is one.
# Every input in fuzz/regressions/<target>/ is first replayed on its own.
# Exits non-zero if a regression input fails or fuzzing finds a crash, hang,
# leak or out-of-memory; the crashing input and the logs are then in
# <build>/fuzz-run/<target>/. At the end one line per target gives the
# executions and executions per second of its fuzzing run.
#
#   tests/fuzz_run.sh [seconds-per-target] [target...]
#     seconds   default 20; 0 only replays the corpus and the regressions
#     targets   default: every *_fuzz.cc in fuzz/
#   FUZZ_ARGS="-jobs=2 ..."  extra libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

secs=${1:-20}
[ $# -gt 0 ] && shift
case "$secs" in '' | *[!0-9]*) echo "fuzz_run: seconds must be a number, not '$secs'" >&2; exit 2 ;; esac
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi

# --- toolchain and build ---------------------------------------------------------
if [ "$(id -u)" = 0 ] && ! dpkg -s clang libclang-rt-14-dev >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q clang libclang-rt-14-dev ||
    { apt-get update -q && apt-get install -y -q clang libclang-rt-14-dev; }
fi
if [ ! -f .deps/cpp-httplib/httplib.h ]; then
  deploy/install-deps.sh  # the top-level CMakeLists needs the patched header
fi
build=${SEALDROP_FUZZ_BUILD:-$root/build-fuzz}
if [ -z "${SEALDROP_FUZZ_BUILD:-}" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DSEALDROP_FUZZ=ON -DSEALDROP_TESTS=OFF \
    -DSEALDROP_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

# --- runs ------------------------------------------------------------------------
work="$build/fuzz-run"
rm -rf "$work"
mkdir -p "$work"
# The targets' scratch files (form_fuzz's store, config_fuzz's config.toml)
# go to tmpfs when there is one: syncing a store on disk slows form_fuzz
# several times over. Removed at exit, also what a crashed target left.
scratch=$(mktemp -d /dev/shm/sealdrop-fuzz.XXXXXX 2>/dev/null || mktemp -d "$work/tmp.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  out="$work/$t"
  mkdir -p "$out/corpus" "$out/regressions"
  if [ -d "fuzz/corpus/$t" ]; then cp -R "fuzz/corpus/$t/." "$out/corpus/"; fi
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")

  # Each regression input on its own, so that every one that fails is named.
  regress=ok
  nreg=0
  nfail=0
  for r in fuzz/regressions/"$t"/*; do
    [ -f "$r" ] || continue
    nreg=$((nreg + 1))
    name=$(basename "$r")
    if ! "$bin" -timeout=10 -rss_limit_mb=2048 "$root/$r" >"$out/regressions/$name.log" 2>&1; then
      regress=FAILED
      nfail=$((nfail + 1))
      failed=1
      echo "fuzz_run: $t FAILED on regression $r (log $out/regressions/$name.log):" >&2
      grep -aE 'ERROR:|runtime error|INVARIANT|SUMMARY' "$out/regressions/$name.log" | head -5 >&2 || true
    fi
  done

  # Fuzzing over the corpus copy; with the regressions too while they pass
  # (a failing one would stop libFuzzer before it fuzzes anything).
  dirs=("$out/corpus")
  [ "$regress" = ok ] && [ "$nreg" -gt 0 ] && dirs+=("$root/fuzz/regressions/$t")
  if [ "$secs" = 0 ]; then limit=(-runs=0); else limit=(-max_total_time="$secs"); fi
  echo "fuzz_run: $t for ${secs}s over ${dirs[*]}"
  rc=0
  # shellcheck disable=SC2086
  "$bin" "${limit[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/" ${FUZZ_ARGS:-} "${dirs[@]}" >"$out/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log" | tail -1)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    result="CRASHED (exit $rc)"
    failed=1
    echo "fuzz_run: $t CRASHED; log $out/log; input:" >&2
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* >&2 2>/dev/null || true
    grep -aE 'ERROR:|runtime error|INVARIANT|SUMMARY|^ *#[0-9]+ ' "$out/log" | head -40 >&2 || true
  fi
  summary+=("$(printf '%-14s %12s executions %8s exec/s  fuzzing %-18s regressions %d/%d failed' \
    "$t" "${execs:-?}" "${speed:-?}" "$result" "$nfail" "$nreg")")
done

echo
for line in "${summary[@]}"; do echo "$line"; done
exit "$failed"
