#!/usr/bin/env bash
# Downloads the wheels the GPU check needs beyond a PyTorch machine's own packages (diffusers and
# what it needs that such a machine lacks) into .whl/, for a GPU machine without network access;
# scripts/gpu-check.sh installs them from there. Run where PyPI is reachable.
#   scripts/fetch-wheels.sh [python-version]      (default 3.12, the GPU machine's)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-3.12}
python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version "$version" --implementation cp -d .whl -r python/requirements-gpu.txt
ls -1 .whl
