#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds, and runs every
# test: the whole suite on a Release build, then unit and integration tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, the server's
# concurrent parts under ThreadSanitizer, and each fuzz target for a bounded
# time. Extra arguments go to the first ctest run (e.g. -R integration).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
deploy/install-deps.sh --test

stage() { printf '\n=== %s ===\n' "$*"; }

stage "Release build and full suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure --timeout 1200 -j2 "$@")

if [ "${SEALDROP_QUICK:-0}" = 1 ]; then
  exit 0
fi

stage "AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALDROP_SANITIZE=address,undefined
cmake --build build-asan -j"$jobs" --target unit_tests sealdrop-server sealdrop-review
(cd build-asan && SEALDROP_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure --timeout 1200 -L 'unit|integration')

stage "ThreadSanitizer: the writer, concurrent uploads, fibers, the live server, parallel extract"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALDROP_SANITIZE=thread
cmake --build build-tsan -j"$jobs" --target unit_tests sealdrop-server sealdrop-review
(cd build-tsan && SEALDROP_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
   ctest --output-on-failure --timeout 1200 -R 'unit\.Concurrent|unit\.Form|unit\.Fiber|integration\.bad_input|integration\.end_to_end|integration\.stream_versions')

if [ -x tests/fuzz_run.sh ]; then
  stage "Fuzz targets, ${SEALDROP_FUZZ_SECONDS:-15} s each"
  tests/fuzz_run.sh "${SEALDROP_FUZZ_SECONDS:-15}"
fi
