#!/usr/bin/env bash
# Sets up, builds and runs every test (CPU machines skip the GPU ones).
#   scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
