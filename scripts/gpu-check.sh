#!/usr/bin/env bash
# The GPU check, on a machine with a CUDA device (bench/README.md, "On a GPU"):
#   build     use a carried build (ATTEND_BUILD_DIR, default build-gpu: a bundle.tar.xz made by
#             scripts/gpu-bundle.sh is unpacked first) and check that it loads, or build here
#   test      ctest -L gpu, then `attend check --device cuda --quick`
#   sanitize  compute-sanitizer memcheck, racecheck and initcheck on small problems
#   bench     attend bench on flash3, cudnn, flash, flash_varlen, efficient, sage, sage_fp8,
#             cuda_math
#                                                                   -> OUT/attend.json
#   peers     bench/torch_peers.py (PyTorch SDPA backends, flex)   -> OUT/torch.json
#   flex      bench_flex and bench/flex_peers.py (flex's masks beside torch.flex, compile path)
#                                                                   -> OUT/flex-*.json
#   diffusers bench/diffusers_step.py (a Flux-width transformer step, native vs attend)
#                                                                   -> OUT/diffusers.json
#   then      bench/merge_results.py                               -> OUT/<date>-<gpu>.json
# Each step logs to OUT/<step>.log; a failing step does not stop the others, and the script
# exits 1 at the end naming them. The side-by-side table is printed last.
#   scripts/gpu-check.sh [OUT]         (default: $OUT, else gpu-out in the checkout)
# The Python tests and diffusers_step use the build's package; wheels in .whl/
# (scripts/fetch-wheels.sh: diffusers) are installed into the build first.
# GPU_CHECK_STEPS=build,test,sanitize,bench,peers,flex,diffusers picks steps; GPU_CHECK_BENCH_ARGS and
# GPU_CHECK_PEERS_ARGS add arguments (e.g. --workload flux,hd64); ATTEND_CMAKE_ARGS is passed
# to a build made here.
set -uo pipefail
out=${1:-${OUT:-}}
[ -z "$out" ] || { mkdir -p "$out" && out=$(cd "$out" && pwd); } || exit 1
cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=${out:-$root/gpu-out}
mkdir -p "$out" || exit 1
# Python (PyTorch above all) runs with the caller's library path, not the build's.
if [ -n "${LD_LIBRARY_PATH+set}" ]; then
  python=(env "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" python3)
else
  python=(env -u LD_LIBRARY_PATH python3)
fi
build=${ATTEND_BUILD_DIR:-build-gpu}
steps=",${GPU_CHECK_STEPS:-build,test,sanitize,bench,peers,flex,diffusers},"
failures=()
start=$(date +%s)

say() { printf '%s\n' "$*"; }
want() { [[ $steps == *",$1,"* ]]; }
# step NAME TIMEOUT COMMAND...: runs COMMAND (a program or one of the functions below) with its
# output in OUT/NAME.log, and records a failure.
step() {
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" bash -c '"$@"' _ "$@" >"$out/$name.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    say "  $name: ok ($(( $(date +%s) - t0 )) s)"
  else
    [ $rc -eq 124 ] && say "  $name: timed out after $limit s" >>"$out/$name.log"
    say "  $name: FAILED (exit $rc, $(( $(date +%s) - t0 )) s; log $out/$name.log); its tail:"
    tail -n 15 "$out/$name.log" | sed 's/^/    | /'
    failures+=("$name")
  fi
  return $rc
}

# --- the build ----------------------------------------------------------------------------------

# A build dir made on another machine names its checkout by absolute path (test commands,
# plugin paths, rpaths). Point that path at this checkout when it is free.
link_home() {
  local home
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
  [ -n "$home" ] && [ "$home" != "$root" ] || return 0
  if [ -e "$home" ]; then
    [ "$(cd "$home" && pwd -P)" = "$(pwd -P)" ] && return 0
    say "warning: the build was made in $home, which here is another directory; tests that"
    say "         name source paths may fail"
    return 0
  fi
  mkdir -p "$(dirname "$home")" && ln -s "$root" "$home" &&
    say "linked $home -> $root (the build's checkout path)"
}

# Libraries: the build's own, its bundled deps, the CUDA toolkit's; the bundled libstdc++,
# libgcc_s and libgomp only when this machine's cannot satisfy the programs.
set_library_path() {
  local b
  b=$(cd "$build" && pwd)
  local cuda_lib=${CUDA_HOME:-/usr/local/cuda}/lib64
  LD_LIBRARY_PATH="$b:$b/deps:$cuda_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
  if [ -d "$b/deps/fallback" ] && ! "$b/tools/cli/attend" --version >/dev/null 2>&1; then
    LD_LIBRARY_PATH="$b/deps/fallback:$LD_LIBRARY_PATH"
    say "using the bundled libstdc++/libgcc_s/libgomp"
  fi
}

# Made elsewhere (another checkout path, or a bundle without the build graph): run as it is.
carried_build() {
  local home
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt" 2>/dev/null)
  [ -x "$build/tools/cli/attend" ] && { [ ! -f "$build/build.ninja" ] || [ "$home" != "$root" ]; }
}

# A C++ compiler whose shared libraries link the shared C++ runtime. Some toolchains link
# libstdc++.a into every shared library; a second C++ runtime in a process that has one (Python
# with NumPy or PyTorch) then crashes in iostreams. Tried in order: $CXX, c++ on the PATH, g++.
shared_runtime_compiler() {
  local probe candidate
  probe=$(mktemp -d)
  printf '#include <string>\nint f(int i) { return int(std::to_string(i).size()); }\n' >"$probe/p.cpp"
  for candidate in "${CXX:-}" "$(command -v c++)" "$(command -v g++)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -shared -fPIC "$probe/p.cpp" -o "$probe/p.so" 2>/dev/null &&
      ldd "$probe/p.so" | grep -q 'libstdc++'; then
      rm -rf "$probe"
      echo "$candidate"
      return 0
    fi
    say "$candidate links the C++ runtime statically into shared libraries: not used" >&2
  done
  rm -rf "$probe"
  return 1
}

build_here() {
  local cxx cc
  cxx=$(shared_runtime_compiler) || { say "no C++ compiler that links libstdc++ shared"; return 1; }
  # The C compiler and nvcc's host compiler from the same toolchain: their implicit library
  # directories go on every link line, and another toolchain's would bring its libstdc++.a.
  cc=$(dirname "$cxx")/cc
  [ -x "$cc" ] || cc=$(command -v cc)
  say "compilers: $cxx, $cc"
  # shellcheck disable=SC2086  # ATTEND_CMAKE_ARGS is a list of options
  CXX="$cxx" CC="$cc" CUDAHOSTCXX="$cxx" cmake -S . -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DATTEND_CUDA=ON \
    -DATTEND_CUDA_ARCHS="${ATTEND_CUDA_ARCHS:-90a}" -DPython_EXECUTABLE="$(command -v python3)" \
    ${ATTEND_CMAKE_ARGS:-} &&
    cmake --build "$build" -j "$(nproc)"
}

verify_build() {
  local missing
  missing=$(find "$build" -path "$build/CMakeFiles" -prune -o -type f -perm -u+x \
    -exec ldd {} + 2>/dev/null | grep 'not found' | grep -v 'libcuda\.so' | sort -u)
  if [ -n "$missing" ]; then
    say "libraries not found:" "$missing"
    return 1
  fi
  "$attend" --version || return 1
  "$attend" list | grep -A1 -E '^(flash3|cudnn|flash|flash_varlen|efficient|cuda_math) '
  if ! "$attend" list | grep -A1 -E '^flash ' | grep -q 'available   yes'; then
    say "flash is not available here: see \`attend list\` above"
    return 1
  fi
}

attend=$build/tools/cli/attend
export build attend root
export -f say verify_build build_here shared_runtime_compiler

# cuDNN for the cudnn backend: PyTorch's wheels carry it; a set ATTEND_CUDNN_LIBRARY wins.
if [ -z "${ATTEND_CUDNN_LIBRARY:-}" ]; then
  cudnn_lib=$("${python[@]}" -c 'import nvidia.cudnn as c, os
print(os.path.join(list(c.__path__)[0], "lib", "libcudnn.so.9"))' 2>/dev/null)
  if [ -f "$cudnn_lib" ]; then
    export ATTEND_CUDNN_LIBRARY=$cudnn_lib
    say "cuDNN: $cudnn_lib"
  fi
fi

say "gpu-check: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null |
  head -n 1) -> $out"
# A bundle newer than what was last unpacked from one replaces it.
if [ -f "$build/bundle.tar.xz" ] && [ "$build/bundle.tar.xz" -nt "$build/.bundle-unpacked" ]; then
  tar -C "$build" -xJf "$build/bundle.tar.xz" && touch "$build/.bundle-unpacked" &&
    say "unpacked $build/bundle.tar.xz"
fi
if want build; then
  if carried_build; then
    link_home
    set_library_path
    step build 120 verify_build
  else
    step build 1500 build_here && set_library_path
  fi
else
  [ -x "$build/tools/cli/attend" ] && { link_home; set_library_path; }
fi

# --- Python: the build's package, and carried wheels ----------------------------------------------

wheels=("$root"/.whl/*.whl)
if [ -e "${wheels[0]}" ] && { want test || want diffusers; }; then
  if "${python[@]}" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
    --upgrade --target "$build/python-wheels" "${wheels[@]}" >"$out/wheels.log" 2>&1; then
    say "  wheels: installed $(basename -a "${wheels[@]}" | tr '\n' ' ')"
  else
    say "  wheels: FAILED (log $out/wheels.log)"
    failures+=(wheels)
  fi
fi
[ -d "$build/python-wheels" ] &&
  export PYTHONPATH="$(cd "$build/python-wheels" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

# --- tests and sanitizers -----------------------------------------------------------------------

if want test; then
  step test 240 ctest --test-dir "$build" -L gpu --output-on-failure -j 8
  step check 180 "$attend" check --device cuda --quick
fi

sanitizer=""
for candidate in "${COMPUTE_SANITIZER:-}" "$(command -v compute-sanitizer)" \
  "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer" \
  "${CUDA_HOME:-/usr/local/cuda}/compute-sanitizer/compute-sanitizer"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    sanitizer=$candidate
    break
  fi
done
export sanitizer
# Small problems that still cover several tiles, causal, GQA, split keys and packed sequences;
# with "tests", also the GPU test program without its large shapes (flash3's too), graph captures,
# deliberate CUDA errors, and cuda_math's chunking tests (minutes under racecheck).
small_runs() {
  local tool=$1 tests=${2:-} rc=0
  # No leak check: the stream workspace and the cuBLAS handles are caches that live as long as
  # the process, by design.
  local args=(--tool "$tool" --error-exitcode 1 --print-limit 20)
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash --sq 200 --sk 333 \
    --hq 4 --hkv 2 -d 64 --causal --align bottom-right --lse --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash --sq 64 --sk 2048 \
    --hq 2 -d 128 --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash_varlen \
    --varlen 100,0,37/90,129 --hq 2 -d 96 --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash3 --sq 200 --sk 333 \
    --hq 4 --hkv 2 -d 64 --causal --align bottom-right --lse --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash3 --sq 300 --sk 700 \
    --hq 3 -d 256 --window 100,20 --repeat 1 --warmup 0 || rc=1
  # 288 tiles: on 132 SMs the last 156 are cut between blocks, which hand their state over.
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash3 -b 2 --sq 1100 \
    --sk 300 --hq 16 -d 64 --lse --repeat 1 --warmup 0 || rc=1
  # 144 causal tiles: more than 132 SMs, so blocks take them from the tile queue.
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash3 -b 2 --sq 1100 \
    --sk 1100 --hq 8 --hkv 2 -d 128 --causal --lse --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend flash3_varlen \
    --varlen 100,0,37/90,129 --hq 2 -d 96 --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend efficient --sq 200 --sk 77 \
    --hq 4 --hkv 2 -d 64 --mask bool --causal --lse --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend efficient --dtype fp32 \
    --sq 70 --sk 45 --hq 2 -d 96 --mask additive --mask-shape B,1,1,Sk --lse --repeat 1 \
    --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend sage --sq 300 --sk 200 \
    --hq 4 --hkv 2 -d 64 --causal --lse --repeat 1 --warmup 0 || rc=1
  "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend sage_varlen \
    --varlen 300/200,0/5,77/130 --hq 4 --hkv 2 -d 96 --lse --repeat 1 --warmup 0 || rc=1
  # sage_fp8 on both schedule paths: 144 uniform tiles (the shared tail), causal ones (the queue).
  # Not under racecheck: it reports the consumers' reads of a K slot's steps against the slot's
  # next bulk copy, which the slot's mbarriers order (src/backends/sage/NOTES.md, "racecheck").
  if [ "$tool" != racecheck ]; then
    "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend sage_fp8 -b 2 --sq 1100 \
      --sk 300 --hq 8 -d 128 --lse --repeat 1 --warmup 0 || rc=1
    "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend sage_fp8 -b 2 --sq 1100 \
      --sk 1100 --hq 8 --hkv 2 -d 80 --causal --lse --repeat 1 --warmup 0 || rc=1
  fi
  if [ "$tool" = memcheck ]; then  # cuDNN's own kernels are not ours to race-check
    "$sanitizer" "${args[@]}" "$attend" run --device cuda --backend cudnn --sq 200 --sk 333 \
      --hq 4 --hkv 2 -d 64 --causal --lse --repeat 1 --warmup 0 || rc=1
  fi
  if [ -n "$tests" ]; then
    local filter="-*Large*:*Streams*:*CudaErrors*:CudaMath.*Chunks*:Flash3.*:SageAccuracy.*"
    # racecheck: not cuDNN's own kernels (it reports their shared-memory reuse, and they take
    # minutes under it); flex's kernel is flash3's, checked on the document mask only; sage_fp8 as
    # its runs above.
    [ "$tool" = racecheck ] && filter+=":Cudnn.*:*cudnn*:MaskSelection.*:*flex*:Flex.*:*sage_fp8*"
    "$sanitizer" "${args[@]}" "$build/tests/gpu_tests" \
      --gtest_filter="${GPU_SANITIZE_FILTER:-$filter}" || rc=1
    if [ "$tool" = racecheck ] && [ -z "${GPU_SANITIZE_FILTER:-}" ]; then
      "$sanitizer" "${args[@]}" "$build/tests/gpu_tests" --gtest_filter=Flex.DocumentMask || rc=1
    fi
  fi
  return $rc
}
export -f small_runs
if want sanitize; then
  if [ -z "$sanitizer" ]; then
    say "  sanitize: FAILED: compute-sanitizer not found (set COMPUTE_SANITIZER)"
    failures+=(sanitize)
  else
    step sanitize-memcheck 240 small_runs memcheck tests
    step sanitize-racecheck 480 small_runs racecheck tests
    step sanitize-initcheck 120 small_runs initcheck
  fi
fi

# --- benchmarks ---------------------------------------------------------------------------------

if want bench; then
  # shellcheck disable=SC2086  # extra arguments are a list
  step bench 300 "$attend" bench --device cuda --backend flash3,cudnn,flash,flash_varlen,efficient,sage,sage_fp8,cuda_math \
    --json "$out/attend.json" ${GPU_CHECK_BENCH_ARGS:-}
fi
if want peers; then
  # shellcheck disable=SC2086  # extra arguments are a list
  step peers 420 "${python[@]}" bench/torch_peers.py --json "$out/torch.json" \
    ${GPU_CHECK_PEERS_ARGS:-}
fi
if want flex; then
  step flex_attend 300 "$build/bench/bench_flex" "$out/flex-attend.json"
  step flex_peers 420 "${python[@]}" bench/flex_peers.py --json "$out/flex-torch.json"
fi

if want diffusers; then
  # shellcheck disable=SC2086  # extra arguments are a list
  step diffusers 420 env PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}" "${python[@]}" \
    bench/diffusers_step.py --json "$out/diffusers.json" ${GPU_CHECK_DIFFUSERS_ARGS:-}
  [ -f "$out/diffusers.log" ] && grep -A8 '^attention' "$out/diffusers.log"
fi

results=()
for f in "$out/attend.json" "$out/torch.json"; do [ -s "$f" ] && results+=("$f"); done
rm -f "$out/table.txt"
if [ ${#results[@]} -gt 0 ]; then
  "${python[@]}" bench/merge_results.py "${results[@]}" --out-dir "$out" >"$out/table.txt" \
    2>"$out/merge.log" || { say "  merge: FAILED (log $out/merge.log)"; failures+=(merge); }
  cat "$out/merge.log"
fi

say "gpu-check: $(( $(date +%s) - start )) s; logs and results in $out"
[ ${#failures[@]} -eq 0 ] || say "gpu-check: FAILED steps: ${failures[*]}"
[ -s "$out/table.txt" ] && { say ""; cat "$out/table.txt"; }
[ ${#failures[@]} -eq 0 ]
