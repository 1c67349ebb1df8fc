#!/usr/bin/env bash
# Builds attend for a GPU machine that may lack the build's dependencies, and packs what
# scripts/gpu-check.sh needs to run there without building:
#   build-gpu/                 Release, sm80 + sm90a, every flash head dim (a normal build dir)
#   build-gpu/deps/            the shared libraries the programs load that are not part of glibc
#                              or CUDA (fmt, OpenBLAS, gfortran, benchmark, gtest, ...)
#   build-gpu/deps/fallback/   libstdc++, libgcc_s, libgomp: used there only if its own are older
#   build-gpu/bundle.tar.xz    the run-time part of all that (no objects), small enough to carry
# On the GPU machine, with build-gpu/bundle.tar.xz (or all of build-gpu) in the checkout:
#   ATTEND_BUILD_DIR=build-gpu scripts/gpu-check.sh
# Usage: scripts/gpu-bundle.sh [build-dir]   (default build-gpu; ATTEND_CMAKE_ARGS adds options,
# JOBS sets the build's parallelism)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-gpu}
start=$(date +%s)

# shellcheck disable=SC2086  # ATTEND_CMAKE_ARGS is a list of options
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTEND_CUDA=ON \
  -DATTEND_CUDA_ARCHS="80;90a" -DATTEND_FLASH_HEAD_DIMS="32;64;96;128;192;256" \
  ${ATTEND_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"

# Every ELF program and library of the build, and what the loader resolves for them.
mapfile -t elves < <(find "$build_dir" -path "$build_dir/deps" -prune -o -type f \
  \( -perm -u+x -o -name '*.so*' \) -print | while read -r f; do
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && echo "$f"
  done)
# glibc and the CUDA driver and toolkit are the GPU machine's own; the build's libraries are
# found through LD_LIBRARY_PATH there.
system='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libutil|libresolv|libcuda|libcudart|libcublas|libcublasLt|libnvrtc|libnvJitLink|libcudnn|libattend)\.so'
fallback='^(libstdc\+\+|libgcc_s|libgomp)\.so'
rm -rf "$build_dir/deps"
mkdir -p "$build_dir/deps/fallback"
missing=()
while read -r name path; do
  if [[ $name =~ $system ]]; then continue; fi
  if [ "$path" = "not" ]; then missing+=("$name"); continue; fi
  if [[ $name =~ $fallback ]]; then
    cp -L "$path" "$build_dir/deps/fallback/$name"
  else
    cp -L "$path" "$build_dir/deps/$name"
  fi
done < <(for f in "${elves[@]}"; do ldd "$f" 2>/dev/null || true; done |
  awk '$2 == "=>" { print $1, $3 }' | sort -u)
if [ ${#missing[@]} -gt 0 ]; then
  echo "gpu-bundle: not found here (the GPU machine must have them): ${missing[*]}" >&2
fi

# The run-time part: programs, libraries, test lists, deps; no objects, no build graph. Written
# outside the folder it reads, then moved in.
part=$(mktemp "${TMPDIR:-/tmp}/attend-bundle.XXXXXX")
trap 'rm -f "$part"' EXIT
tar -C "$build_dir" -cJf "$part" \
  --exclude='*.o' --exclude='*.a' --exclude='CMakeFiles' --exclude='.ninja_*' \
  --exclude='build.ninja' --exclude='bundle.tar.xz' --exclude='.bundle-unpacked' \
  --exclude='compile_commands.json' .
mv "$part" "$build_dir/bundle.tar.xz"
chmod 644 "$build_dir/bundle.tar.xz"

echo "gpu-bundle: $build_dir built and bundled in $(( $(date +%s) - start )) s"
echo "gpu-bundle: deps: $(cd "$build_dir/deps" && find . -type f -printf '%P ' )"
du -sh "$build_dir" "$build_dir/deps" "$build_dir/bundle.tar.xz"
