#!/usr/bin/env bash
# README command 2. As root on Debian 12 it installs what the tests need
# (deploy/install-deps.sh --test: the build packages, Catch2, curl, Python
# with Selenium, Chromium and its driver, clang for the fuzz targets,
# faketime for the retention test, mat2 and qpdf for the scrub test,
# debootstrap and systemd-container, and debhelper and lintian for the
# packages), builds, and runs every test, in stages:
#   1. a Release build and the whole suite: unit, integration, browser and
#      reliability tests (`SEALDROP_QUICK=1` stops after this stage);
#   2. README command 1 on a bare Debian 12: tests/fresh_machine.sh makes a
#      minimal root with debootstrap and runs deploy/quickstart.sh in it
#      (skipped, with a line that says so, where debootstrap cannot run);
#      then tests/systemd_unit.sh boots a copy of that root with
#      systemd-nspawn and runs deploy/sealdrop-server.service under systemd
#      as PID 1 (skipped likewise where a container cannot boot);
#   3. the Debian packages: tests/package_test.sh builds them
#      (deploy/build-deb.sh), runs lintian, installs sealdrop-server with apt
#      into a bare Debian 12 root and makes a submission to it (skipped,
#      with a line that says so, where debootstrap cannot run);
#   4. unit and integration tests again under AddressSanitizer +
#      UndefinedBehaviorSanitizer, built with clang;
#   5. each fuzz target, from that same build, for a bounded time, after
#      replaying its regressions;
#   6. the server's concurrent parts under ThreadSanitizer (built while the
#      fuzz targets of stage 5 run, each on one core).
# Each stage's heading says how long the suite has run when it starts.
# Extra arguments go to the first ctest run (e.g. -R integration).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
deploy/install-deps.sh --test

# Each stage's heading says how long the suite has run so far.
stage() { printf '\n=== %s (at %d min %02d s) ===\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

stage "Release build and full suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSEALDROP_TESTS=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure --timeout 1200 -j2 "$@")

if [ "${SEALDROP_QUICK:-0}" = 1 ]; then
  exit 0
fi

stage "README command 1 on a bare Debian 12 (debootstrap)"
tests/fresh_machine.sh HEAD

stage "The systemd unit under systemd as PID 1 (systemd-nspawn)"
tests/systemd_unit.sh build

stage "Debian packages: build, lintian, install into a bare Debian 12 (debootstrap)"
tests/package_test.sh

stage "AddressSanitizer + UndefinedBehaviorSanitizer (clang): unit and integration tests"
# One clang build serves this stage and the fuzz stage: the libraries carry
# libFuzzer's coverage hooks, which cost the tests little.
# The sanitizers' runtimes make calls the seccomp filter kills: off here.
CC=clang CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSEALDROP_SANITIZE=address,undefined -DSEALDROP_FUZZ=ON -DSEALDROP_TESTS=ON -DSEALDROP_SECCOMP=OFF
cmake --build build-asan -j"$jobs"
(cd build-asan && SEALDROP_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure --timeout 1200 -j2 -L 'unit|integration')

stage "Fuzz targets, ${SEALDROP_FUZZ_SECONDS:-10} s each"
# The fuzz targets run one at a time, each on one core: the last stage's
# ThreadSanitizer build runs beside them, its output in build-tsan/build.log.
mkdir -p build-tsan
(cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALDROP_SANITIZE=thread \
   -DSEALDROP_TESTS=ON -DSEALDROP_SECCOMP=OFF &&
 cmake --build build-tsan -j"$jobs" --target unit_tests sealdrop-server sealdrop-review) \
  > build-tsan/build.log 2>&1 &
tsan_build=$!
trap 'kill "$tsan_build" 2>/dev/null || true' EXIT
SEALDROP_FUZZ_BUILD="$PWD/build-asan" tests/fuzz_run.sh "${SEALDROP_FUZZ_SECONDS:-10}"

stage "ThreadSanitizer: the writer, concurrent uploads, fibers, the live server, parallel extract"
if ! wait "$tsan_build"; then
  tail -40 build-tsan/build.log
  echo "run.sh: the ThreadSanitizer build failed (whole log: build-tsan/build.log)" >&2
  exit 1
fi
trap - EXIT
(cd build-tsan && SEALDROP_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
   ctest --output-on-failure --timeout 1200 -R 'unit\.Concurrent|unit\.Form|unit\.Fiber|integration\.bad_input|integration\.end_to_end|integration\.stream_versions')

stage "All stages passed"
