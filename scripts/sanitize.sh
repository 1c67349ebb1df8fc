#!/usr/bin/env bash
# Sanitizer builds: ASan + UBSan over the whole test suite, then TSan over the tests where
# threads select, switch and register backends concurrently (registry, scopes, layers, plugins).
#   scripts/sanitize.sh [address|thread|all]      (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
scripts/setup.sh build >/dev/null
jobs=$(nproc)
# CUDA off: nvcc takes no sanitizer flags, and these builds check the host code paths.
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTEND_BUILD_BENCH=OFF -DATTEND_CUDA=OFF)

if [ "$which" = all ] || [ "$which" = address ]; then
  cmake -S . -B build-asan "${common[@]}" -DATTEND_SANITIZE=address,undefined >/dev/null
  cmake --build build-asan -j "$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j "$jobs" -LE install)
fi

if [ "$which" = all ] || [ "$which" = thread ]; then
  cmake -S . -B build-tsan "${common[@]}" -DATTEND_SANITIZE=thread -DATTEND_BUILD_TOOLS=OFF \
    -DATTEND_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-tsan -j "$jobs" --target unit_tests plugin_tests
  # OpenMP's runtime is not TSan-instrumented: one thread keeps it out of the picture, while the
  # tests' own std::threads exercise the dispatcher.
  (cd build-tsan && OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" -R '^(Registry|ScopeTest|LayerTest|Explain|Plugin|Malformed)')
fi
