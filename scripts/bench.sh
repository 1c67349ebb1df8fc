#!/usr/bin/env bash
# Sets up, builds, and runs the main job: `attend bench` on the default backend over the named
# workloads (scaled to this machine). Extra arguments go to `attend bench`.
#   scripts/bench.sh [attend bench args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
exec build/tools/cli/attend bench "$@"
