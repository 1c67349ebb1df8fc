#!/usr/bin/env bash
# Builds the libFuzzer target with clang (ASan + UBSan + coverage) and fuzzes the public entry
# point for a fixed time. New inputs go to a scratch directory; the committed seed corpus is only
# read. A crash leaves its input in build-fuzz/ (add it to tests/fuzz/regressions/ once fixed).
#   scripts/fuzz.sh [seconds]      (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/setup.sh build >/dev/null  # packages (clang, libclang-rt, libomp) and the main build

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DATTEND_FUZZ=ON -DATTEND_SANITIZE=address,undefined -DATTEND_CUDA=OFF \
  -DATTEND_BUILD_TOOLS=OFF -DATTEND_BUILD_BENCH=OFF -DATTEND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_attention

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd build-fuzz
echo "fuzz: ${seconds}s over the public entry point" >&2
OMP_NUM_THREADS=2 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ./tests/fuzz/fuzz_attention -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 "$scratch" ../tests/fuzz/corpus
