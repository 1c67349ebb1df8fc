#!/usr/bin/env bash
# Builds a CPU-only wheel of the checkout with pip and scikit-build-core (no network: the build
# requirements come from the interpreter's environment), installs it into a scratch directory and
# runs the NumPy API tests against the installed package.
#   wheel_check.sh PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
python=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
"$python" -m pip wheel "$src" -q --no-build-isolation --no-deps --disable-pip-version-check \
  -w "$work/dist" -Cbuild-dir="$work/build" -Ccmake.define.ATTEND_CUDA=OFF
wheel=$(ls "$work"/dist/attend-*.whl)
echo "built $(basename "$wheel")"
"$python" -m pip install -q --no-deps --disable-pip-version-check --target "$work/site" "$wheel"
cd "$work"
export PYTHONPATH="$work/site"
"$python" -c "import attend; assert attend.__file__.startswith('$work/site/'), attend.__file__"
"$python" -m pytest -q -p no:cacheprovider "$src/tests/python/test_api.py" \
  "$src/tests/python/test_arrays.py"
