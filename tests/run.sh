#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --test
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure --timeout 1200 "$@"
