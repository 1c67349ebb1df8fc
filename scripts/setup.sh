#!/usr/bin/env bash
# Installs what attend needs to build and test on a fresh Debian machine, then configures and
# builds it. Idempotent: packages already present are skipped, and the build is incremental.
#   scripts/setup.sh [build-dir]        (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(
  cmake ninja-build g++ pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libopenblas-dev
  clang libclang-rt-dev libomp-dev python3 python3-dev python3-venv
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python: a virtual environment (.venv) with what the package builds and tests with; the build
# uses its interpreter.
venv=.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import nanobind, numpy, pytest" 2>/dev/null; then
  echo "setup: installing python/requirements-dev.txt into $venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt
fi

# cuDNN's and cudnn-frontend's headers for the cudnn backend (PyPI wheels; nothing is linked).
scripts/fetch-cudnn.sh

jobs=$(nproc)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPython_EXECUTABLE="$PWD/$venv/bin/python" ${ATTEND_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"
