#!/usr/bin/env bash
# Fetches the headers the `cudnn` backend compiles against: cuDNN 9's C headers and the
# cudnn-frontend C++ headers, from their PyPI wheels (only the include folders are kept). The
# library itself is loaded at run time (see src/backends/cudnn/loader.cpp), so nothing here is
# linked. Idempotent; a stamp file records the pinned versions.
#   scripts/fetch-cudnn.sh [dest]        (default .deps/cudnn)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.deps/cudnn}
cudnn_version=9.28.1.4
frontend_version=1.32.0
stamp="$dest/versions"
wanted="nvidia-cudnn-cu13==$cudnn_version nvidia-cudnn-frontend==$frontend_version"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
python=${PYTHON:-python3}
[ -x .venv/bin/python ] && python=.venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-cudnn: downloading $wanted" >&2
"$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$tmp" "nvidia-cudnn-cu13==$cudnn_version" "nvidia-cudnn-frontend==$frontend_version"
rm -rf "$dest"
mkdir -p "$dest/include" "$dest/frontend"
"$python" - "$tmp" "$dest" <<'PY'
import pathlib, sys, zipfile
tmp, dest = map(pathlib.Path, sys.argv[1:])
for wheel in tmp.glob("*.whl"):
    # cuDNN keeps its headers in nvidia/cudnn/include, the frontend in include/.
    prefix = "include/" if "frontend" in wheel.name else "nvidia/cudnn/include/"
    out = dest / ("frontend/include" if "frontend" in wheel.name else "include")
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                target = out / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
PY
echo "$wanted" > "$stamp"
echo "fetch-cudnn: headers in $dest" >&2
